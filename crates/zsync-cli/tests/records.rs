//! The `record` content type through the real binaries: JSON documents
//! checked on commit against the JSON Schema in their folder's `schema`
//! property, every violation printed as `path:line:col: message`.

mod common;

use common::{Client, Server};

const SCHEMA: &str = r#"{"type": "object", "required": ["title"],
  "properties": {"title": {"type": "string"}, "year": {"type": "integer", "minimum": 1900}}}"#;

#[test]
fn records_are_checked_against_their_folders_schema() {
    let server = Server::demo();
    let c = Client::new();
    c.run(&["co", &server.url("demo"), "w"]).ok();
    c.run(&["mkdir", "w/demo/books"]).ok();
    c.run(&["propset", "schema", SCHEMA, "w/demo/books"]).ok();
    c.write(
        "w/demo/books/good.json",
        "{\"title\": \"Dune\", \"year\": 1965}\n",
    );
    c.write(
        "w/demo/books/bad.json",
        "{\n  \"year\": 1850,\n  \"title\": 42\n}\n",
    );
    c.write("w/demo/books/broken.json", "{\n  \"title\": \"x\",,\n}\n");
    c.run(&["add", "-t", "record", "w/demo/books/good.json"])
        .ok();
    c.run(&["add", "-t", "record", "w/demo/books/bad.json"])
        .ok();
    c.run(&["add", "-t", "record", "w/demo/books/broken.json"])
        .ok();

    // The folder and its schema come in the same commit as the records.
    let err = c.run(&["ci", "-m", "books", "w"]).fails(1).stderr;
    for line in [
        "  w/demo/books/bad.json:2:11: /year: 1850 is less than the minimum of 1900",
        "  w/demo/books/bad.json:3:12: /title: 42 is not of type \"string\"",
    ] {
        assert!(err.lines().any(|l| l == line), "{line:?} in\n{err}");
    }
    assert!(
        err.lines()
            .any(|l| l.starts_with("  w/demo/books/broken.json:2:16: not valid JSON")),
        "{err}"
    );
    assert!(!err.contains("good.json"), "{err}");
    // Nothing was committed.
    let other = Client::new();
    other.run(&["co", &server.url("demo"), "o"]).ok();
    assert!(!other.exists("o/demo/books"));

    c.write(
        "w/demo/books/bad.json",
        "{\"title\": \"Ok\", \"year\": 1950}\n",
    );
    c.write("w/demo/books/broken.json", "{\"title\": \"Fixed\"}\n");
    c.run(&["ci", "-m", "books", "w"]).ok();

    // A record in a committed folder is checked against the stored schema.
    c.write("w/demo/books/good.json", "{\"year\": 2000}\n");
    let err = c.run(&["ci", "-m", "edit", "w"]).fails(1).stderr;
    assert!(
        err.lines()
            .any(|l| l == "  w/demo/books/good.json:1:1: /: \"title\" is a required property"),
        "{err}"
    );
}
