//! Properties and annotations end to end: propedit (through an EDITOR
//! script), proplist -v, propset -F, namespaced annotations through commit,
//! update and merge, read-only properties, and info's last change.

mod common;

use common::{Client, Server};

/// An image committed by the test, so the server derived its size.
const LOGO: &str = "w/demo/images/pic.png";

/// An `EDITOR` that saves what it was shown to `seen.toml` and replaces
/// it with `new.toml` (both in the client's work directory).
fn editor(c: &Client) -> String {
    let script = c.path("editor.sh");
    std::fs::write(
        &script,
        format!(
            "cp \"$1\" '{0}/seen.toml' && cp '{0}/new.toml' \"$1\"\n",
            c.dir.path().display()
        ),
    )
    .unwrap();
    format!("sh '{}'", script.display())
}

#[test]
fn propedit_schedules_changes_and_refuses_bad_or_read_only_edits() {
    let server = Server::demo();
    let c = Client::new();
    c.run(&["co", &server.url("demo"), "w"]).ok();
    std::fs::copy(c.path("w/demo/images/logo.png"), c.path(LOGO)).unwrap();
    c.run(&["add", LOGO]).ok();
    c.run(&["ci", "-m", "picture", "w"]).ok();
    let ed = editor(&c);
    let env = [("EDITOR", ed.as_str())];

    // What the editor shows: editable properties, then the derived ones.
    c.write("new.toml", "");
    let before = c.run(&["proplist", "-v", LOGO]).ok().stdout;
    c.write(
        "new.toml",
        "title = \"Logo\"\n\"dc:creator\" = \"Ann \\\"A\\\" Smith\"\n",
    );
    let out = c.run_env(&env, &["propedit", LOGO]).ok().stdout;
    let seen = c.read("seen.toml");
    assert!(seen.contains("content_type = \"image/png\"\n"), "{seen}");
    assert!(seen.contains("[read-only]\n"), "{seen}");
    for name in ["width", "height", "size"] {
        let line = seen
            .lines()
            .skip_while(|l| *l != "[read-only]")
            .find(|l| l.starts_with(&format!("{name} = ")));
        assert!(line.is_some(), "{name} not shown read-only:\n{seen}");
    }
    assert!(before.contains("  width\n"), "{before}");
    assert!(
        out.contains(&format!("property 'dc:creator' set on '{LOGO}'")),
        "{out}"
    );
    assert!(
        out.contains(&format!("property 'content_type' deleted from '{LOGO}'")),
        "{out}"
    );
    assert_eq!(c.run(&["st", "w"]).ok().stdout, format!(" M      {LOGO}\n"));
    let after = c.run(&["proplist", "-v", LOGO]).ok().stdout;
    assert!(
        after.contains("  dc:creator\n    Ann \"A\" Smith\n"),
        "{after}"
    );
    assert!(!after.contains("content_type"), "{after}");
    // Derived properties stay, untouched by the edit.
    assert!(after.contains("  width\n"), "{after}");

    // Unchanged text: nothing to do.
    let out = c.run_env(&[("EDITOR", "true")], &["propedit", LOGO]).ok();
    assert_eq!(
        out.stdout,
        format!("No changes to properties on '{LOGO}'.\n")
    );

    // Bad TOML: located, nothing applied, the text kept.
    c.write("new.toml", "title = \"Logo 2\"\nbroken = \n");
    let out = c.run_env(&env, &["propedit", LOGO]).fails(1);
    assert!(out.stderr.contains("line 2, column 10"), "{}", out.stderr);
    let kept = out
        .stderr
        .split("your text is kept in ")
        .nth(1)
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|| panic!("no kept file named: {}", out.stderr));
    assert_eq!(
        std::fs::read_to_string(&kept).unwrap(),
        "title = \"Logo 2\"\nbroken = \n"
    );
    std::fs::remove_file(&kept).unwrap();
    assert_eq!(c.run(&["propget", "title", LOGO]).ok().stdout, "Logo\n");

    // A read-only property: refused clearly, nothing applied.
    let seen = c.read("seen.toml");
    let width_line = seen
        .lines()
        .find(|l| l.starts_with("width = "))
        .unwrap()
        .to_owned();
    c.write(
        "new.toml",
        &seen
            .replace(&width_line, "width = \"999\"")
            .replace("Logo", "Changed"),
    );
    let out = c.run_env(&env, &["propedit", LOGO]).fails(1);
    assert!(
        out.stderr.contains("\"width\" is read-only"),
        "{}",
        out.stderr
    );
    let kept = out
        .stderr
        .split("your text is kept in ")
        .nth(1)
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|| panic!("no kept file named: {}", out.stderr));
    assert!(
        std::fs::read_to_string(&kept)
            .unwrap()
            .contains("width = \"999\"")
    );
    std::fs::remove_file(&kept).unwrap();
    assert_eq!(c.run(&["propget", "title", LOGO]).ok().stdout, "Logo\n");
    let out = c.run(&["propset", "height", "3", LOGO]).fails(1);
    assert!(
        out.stderr
            .contains("property \"height\" is read-only: the server derives it from the body"),
        "{}",
        out.stderr
    );
    let out = c.run(&["propdel", "width", LOGO]).fails(1);
    assert!(out.stderr.contains("is read-only"), "{}", out.stderr);

    // No editor at all: a clear error.
    let out = c.run(&["propedit", LOGO]).fails(1);
    assert!(out.stderr.contains("$EDITOR"), "{}", out.stderr);

    // The edit travels with the commit.
    c.run(&["ci", "-m", "annotate", "w"]).ok();
    let other = Client::new();
    other.run(&["co", &server.url("demo"), "x"]).ok();
    assert_eq!(
        other
            .run(&["propget", "dc:creator", "x/demo/images/pic.png"])
            .ok()
            .stdout,
        "Ann \"A\" Smith\n"
    );
    // A change of properties alone keeps what the server derived from the
    // body, which did not change.
    for (client, path) in [(&other, "x/demo/images/pic.png"), (&c, LOGO)] {
        client.run(&["up", path]).ok();
        let width = client.run(&["propget", "width", path]).ok().stdout;
        assert_eq!(width, "16\n", "{path}");
    }
}

#[test]
fn annotations_travel_merge_key_by_key_and_show_in_info() {
    let server = Server::demo();
    server.add_user("ann", "ann-secret", "Editor");
    let c = Client::new();
    let a = Client::new();
    c.run(&["co", &server.url("demo"), "w"]).ok();
    a.run(&["co", &server.url_as("ann:ann-secret", "demo"), "x"])
        .ok();
    const W: &str = "w/demo/index.html";
    const X: &str = "x/demo/index.html";

    // -F: any text, byte for byte; binary data or NUL is refused clearly.
    c.write("value.txt", "two lines, ü\n\tand a tab\n");
    c.run(&["propset", "dc:description", "-F", "value.txt", W])
        .ok();
    assert_eq!(
        c.run(&["propget", "dc:description", W]).ok().stdout,
        "two lines, ü\n\tand a tab\n\n"
    );
    c.write_bytes("binary.bin", &[0x89, b'P', 0xff, 0x00, 0x01]);
    let out = c
        .run(&["propset", "dc:thumb", "-F", "binary.bin", W])
        .fails(1);
    assert!(
        out.stderr.contains("binary.bin: not UTF-8 text"),
        "{}",
        out.stderr
    );
    c.write_bytes("nul.txt", b"a\0b");
    let out = c.run(&["propset", "dc:thumb", "-F", "nul.txt", W]).fails(1);
    assert!(out.stderr.contains("NUL"), "{}", out.stderr);
    let out = c
        .run(&["propset", "dc:thumb", "-F", "missing.txt", W])
        .fails(1);
    assert!(
        out.stderr
            .contains("cannot read the value from missing.txt"),
        "{}",
        out.stderr
    );

    c.run(&["propset", "dc:creator", "Ann", W]).ok();
    let list = c.run(&["proplist", "-v", W]).ok().stdout;
    assert!(list.contains("  dc:creator\n    Ann\n"), "{list}");
    assert!(!list.contains("dc:thumb"), "{list}");
    let plain = c.run(&["proplist", W]).ok().stdout;
    assert!(
        plain.contains("  dc:creator\n") && !plain.contains("Ann"),
        "{plain}"
    );
    c.run(&["ci", "-m", "annotate", "w"]).ok();

    // A local annotation elsewhere survives an update bringing others.
    a.run(&["propset", "dc:subject", "Docs", X]).ok();
    a.run(&["up", "x"]).ok();
    assert_eq!(a.run(&["propget", "dc:creator", X]).ok().stdout, "Ann\n");
    assert_eq!(a.run(&["propget", "dc:subject", X]).ok().stdout, "Docs\n");
    assert_eq!(a.run(&["st", "x"]).ok().stdout, format!(" M      {X}\n"));
    let r = a.run(&["ci", "-m", "subject", "x"]).ok().stdout;
    let rev: u64 = r
        .lines()
        .last()
        .unwrap_or_default()
        .strip_prefix("Committed revision ")
        .and_then(|s| s.strip_suffix('.'))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{r}"));

    // info: the last change's revision and author, once updated.
    c.run(&["up", "w"]).ok();
    let info = c.run(&["info", W]).ok().stdout;
    assert!(
        info.contains(&format!("Last Changed Rev: {rev}\n")),
        "{info}"
    );
    assert!(info.contains("Last Changed Author: ann\n"), "{info}");

    // Different values for one key on both sides: a property conflict on
    // that key only; the others merge.
    c.run(&["propset", "dc:creator", "Carol", W]).ok();
    c.run(&["propset", "dc:rights", "CC-BY", W]).ok();
    c.run(&["ci", "-m", "carol", "w"]).ok();
    a.run(&["propset", "dc:creator", "Bob", X]).ok();
    a.run(&["propset", "dc:language", "en", X]).ok();
    let out = a.run(&["up", "--accept", "postpone", "x"]).fails(1);
    assert!(
        out.stdout.contains("  Property conflicts: 1"),
        "{}",
        out.stdout
    );
    assert_eq!(a.run(&["st", "x"]).ok().stdout, format!(" C      {X}\n"));
    assert_eq!(a.run(&["propget", "dc:rights", X]).ok().stdout, "CC-BY\n");
    assert_eq!(a.run(&["propget", "dc:language", X]).ok().stdout, "en\n");
    let list = a.run(&["proplist", "-v", X]).ok().stdout;
    assert!(
        list.contains(
            "Property conflict on 'dc:creator':\n  base:   Ann\n  mine:   Bob\n  theirs: Carol\n"
        ),
        "{list}"
    );
}
