//! `zsync copy` (alias `cp`) through the real binaries: recursive and
//! `-l` copies, the `copied_from` record, and refusals that change nothing.

mod common;

use common::{Client, Server, contains_line, ls};

#[test]
fn copies_are_new_objects_that_remember_their_source() {
    let server = Server::demo();
    let c = Client::new();
    c.run(&["co", &server.url("demo"), "w"]).ok();
    let rev_line = c.run(&["info", "w/demo/notes.txt"]).ok().stdout;
    let rev = rev_line
        .lines()
        .find_map(|l| l.strip_prefix("Last Changed Rev: "))
        .unwrap()
        .to_owned();
    // A local edit is copied with the file, as svn does.
    c.write("w/demo/notes.txt", "edited\n");

    let out = c
        .run(&["cp", "w/demo/notes.txt", "w/demo/notes2.txt"])
        .ok()
        .stdout;
    assert!(out.contains("notes2.txt"), "{out}");
    assert_eq!(c.read("w/demo/notes2.txt"), "edited\n");
    // Recursive by default; into an existing folder under the source's name.
    c.run(&["copy", "w/demo/pages", "w/demo/images"]).ok();
    assert_eq!(ls(&c.path("w/demo/images/pages")), ["about.html"]);
    // -l copies the folder alone.
    c.run(&["copy", "-l", "w/demo/pages", "w/demo/pages2"]).ok();
    assert!(ls(&c.path("w/demo/pages2")).is_empty());

    let status = c.run(&["status", "w"]).ok().stdout;
    for path in [
        "w/demo/notes2.txt",
        "w/demo/images/pages",
        "w/demo/images/pages/about.html",
        "w/demo/pages2",
    ] {
        assert!(
            contains_line(&status, &format!("A       {path}")),
            "{status}"
        );
    }
    let info = c.run(&["info", "w/demo/notes2.txt"]).ok().stdout;
    assert!(
        contains_line(&info, &format!("Copied From: /demo/notes.txt@{rev}")),
        "{info}"
    );

    c.run(&[
        "ci",
        "-m",
        "copies",
        "w/demo/notes2.txt",
        "w/demo/images",
        "w/demo/pages2",
    ])
    .ok();
    let other = Client::new();
    other.run(&["co", &server.url("demo"), "o"]).ok();
    assert_eq!(other.read("o/demo/notes2.txt"), "edited\n");
    assert!(other.exists("o/demo/images/pages/about.html"));
    let from = other
        .run(&["propget", "copied_from", "o/demo/images/pages/about.html"])
        .ok()
        .stdout;
    assert!(from.starts_with("/demo/pages/about.html@"), "{from}");
    // A copy is a new object: its own oid.
    let oid = |client: &Client, path: &str| {
        client
            .run(&["info", path])
            .ok()
            .stdout
            .lines()
            .find_map(|l| l.strip_prefix("Object ID: ").map(str::to_owned))
            .unwrap()
    };
    assert_ne!(
        oid(&other, "o/demo/notes.txt"),
        oid(&other, "o/demo/notes2.txt")
    );
}

#[test]
fn bad_copies_are_refused_and_change_nothing() {
    let server = Server::demo();
    let c = Client::new();
    c.run(&["co", &server.url("demo"), "w"]).ok();
    c.run(&["co", &server.url("demo"), "x"]).ok();
    c.write("w/demo/loose.txt", "not versioned\n");
    let before = c.run(&["status", "w"]).ok().stdout;

    let cases: [(&[&str], &str); 5] = [
        (
            &["cp", "w/demo/notes.txt", "w/demo/README.md"],
            "already exists",
        ),
        (&["cp", "w/demo/pages", "w/demo/pages/inner"], "into itself"),
        (
            &["cp", "w/demo/loose.txt", "w/demo/l2.txt"],
            "not under version control",
        ),
        (
            &["cp", "w/demo/notes.txt", "x/demo/n.txt"],
            "another working copy",
        ),
        (
            &["cp", "w/demo/notes.txt", "w/demo/nope/n.txt"],
            "not a versioned folder",
        ),
    ];
    for (args, message) in cases {
        let out = c.run(args).fails(1);
        assert!(out.stderr.contains(message), "{args:?}: {}", out.stderr);
    }
    assert_eq!(c.run(&["status", "w"]).ok().stdout, before);
    assert!(!c.exists("w/demo/pages/inner"));
    assert!(!c.exists("w/demo/l2.txt"));
    assert!(!c.exists("x/demo/n.txt"));
    assert!(c.run(&["status", "x"]).ok().stdout.is_empty());
}
