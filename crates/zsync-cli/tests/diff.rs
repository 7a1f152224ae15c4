//! `zsync diff` through the real binaries and a real zsyncd: the three
//! modes, GNU's format and comparison options, and svn's layout for
//! added, removed, binary and property changes.

mod common;

use common::{Client, Server};

const STORY: &str = "one\ntwo\nthree\nfour\nfive\nsix\nseven\neight\nnine\nten\n";
const RULE: &str = "===================================================================";

/// The revision in `Committed revision N.`.
fn committed(stdout: &str) -> u64 {
    stdout
        .lines()
        .filter_map(|l| l.strip_prefix("Committed revision "))
        .filter_map(|l| l.strip_suffix('.'))
        .find_map(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no revision in {stdout:?}"))
}

/// A checkout `w` of /demo holding a committed `story.txt`; returns the
/// revision that added it.
fn checkout_with_story(server: &Server, c: &Client) -> u64 {
    c.run(&["co", &server.url("demo"), "w"]).ok();
    c.write("w/demo/story.txt", STORY);
    c.run(&["add", "w/demo/story.txt"]).ok();
    committed(&c.run(&["ci", "-m", "story", "w"]).ok().stdout)
}

fn set_prop(c: &Client, path: &str, key: &str, value: &str) {
    c.run(&["propset", key, value, path]).ok();
}

#[test]
fn local_changes_in_every_format() {
    let server = Server::demo();
    let c = Client::new();
    let rev = checkout_with_story(&server, &c);
    assert_eq!(c.run(&["diff", "w"]).ok().stdout, "");

    c.write("w/demo/story.txt", &STORY.replace("three", "THREE"));
    let expected = format!(
        "Index: w/demo/story.txt\n{RULE}\n\
         --- w/demo/story.txt\t(revision {rev})\n\
         +++ w/demo/story.txt\t(working copy)\n\
         @@ -1,6 +1,6 @@\n one\n two\n-three\n+THREE\n four\n five\n six\n"
    );
    assert_eq!(c.run(&["diff", "w"]).ok().stdout, expected);
    assert_eq!(c.run(&["diff", "-1", "w"]).ok().stdout, expected);
    assert_eq!(
        c.run(&["di", "-u", "w/demo/story.txt"]).ok().stdout,
        expected
    );

    assert_eq!(
        c.run(&["diff", "-U", "0", "w"]).ok().stdout,
        format!(
            "Index: w/demo/story.txt\n{RULE}\n\
             --- w/demo/story.txt\t(revision {rev})\n\
             +++ w/demo/story.txt\t(working copy)\n\
             @@ -3 +3 @@\n-three\n+THREE\n"
        )
    );
    assert_eq!(
        c.run(&["diff", "-c", "w"]).ok().stdout,
        format!(
            "Index: w/demo/story.txt\n{RULE}\n\
             *** w/demo/story.txt\t(revision {rev})\n\
             --- w/demo/story.txt\t(working copy)\n\
             ***************\n\
             *** 1,6 ****\n  one\n  two\n! three\n  four\n  five\n  six\n\
             --- 1,6 ----\n  one\n  two\n! THREE\n  four\n  five\n  six\n"
        )
    );
    let c1 = c.run(&["diff", "-C", "1", "w"]).ok().stdout;
    assert!(
        c1.contains("*** 2,4 ****\n  two\n! three\n  four\n"),
        "{c1}"
    );
    assert_eq!(
        c.run(&["diff", "--context", "1", "w"]).ok().stdout,
        c1,
        "--context N is -C N"
    );

    assert_eq!(
        c.run(&["diff", "--brief", "w"]).ok().stdout,
        format!(
            "Files w/demo/story.txt (revision {rev}) and w/demo/story.txt (working copy) differ\n"
        )
    );
    // -i hides a change of case only.
    assert_eq!(c.run(&["diff", "-i", "w"]).ok().stdout, "");
    assert_eq!(c.run(&["diff", "-q", "-i", "w"]).ok().stdout, "");

    // -b hides a change of white space only; -B one of blank lines only.
    c.write(
        "w/demo/story.txt",
        &STORY.replace("three", "three   ").replace("five", "fi  ve"),
    );
    let plain = c.run(&["diff", "w"]).ok().stdout;
    assert!(plain.contains("-three\n+three   \n"), "{plain}");
    assert!(
        c.run(&["diff", "-b", "w"])
            .ok()
            .stdout
            .contains("-five\n+fi  ve\n"),
        "a space inside a word is a change under -b"
    );
    c.write("w/demo/story.txt", &STORY.replace("three", "three \t"));
    assert_eq!(c.run(&["diff", "-b", "w"]).ok().stdout, "");
    assert_eq!(
        c.run(&["diff", "--ignore-space-change", "--brief", "w"])
            .ok()
            .stdout,
        ""
    );
    c.write("w/demo/story.txt", &STORY.replace("three\n", "three\n\n\n"));
    assert_ne!(c.run(&["diff", "w"]).ok().stdout, "");
    assert_eq!(c.run(&["diff", "-B", "w"]).ok().stdout, "");
    assert_eq!(
        c.run(&["diff", "--ignore-blank-lines", "-q", "w"])
            .ok()
            .stdout,
        ""
    );
}

#[test]
fn bad_options_exit_2() {
    let c = Client::new();
    for args in [
        &["diff", "-1", "-3"][..],
        &["diff", "-c", "-U", "2"],
        &["diff", "-U", "many"],
        &["diff", "--no-such-option"],
    ] {
        let out = c.run(args).fails(2);
        assert!(out.stdout.is_empty(), "{args:?}: {}", out.stdout);
    }
    // Not a working copy: an error, exit 1.
    c.run(&["diff", "."]).fails(1);
}

#[test]
fn added_files_props_and_new_file() {
    let server = Server::demo();
    let c = Client::new();
    let rev = checkout_with_story(&server, &c);

    c.write("w/demo/new.txt", "fresh\nlines\n");
    c.run(&["add", "w/demo/new.txt"]).ok();
    let out = c.run(&["diff", "w"]).ok().stdout;
    // Its initial properties (guessed from the name) show as added.
    let expected = format!(
        "Index: w/demo/new.txt\n{RULE}\n\
         --- w/demo/new.txt\t(nonexistent)\n\
         +++ w/demo/new.txt\t(working copy)\n\
         @@ -0,0 +1,2 @@\n+fresh\n+lines\n\
         \nProperty changes on: w/demo/new.txt\n\
         ___________________________________________________________________\n\
         Added: content_type\n## -0,0 +1 ##\n+text/plain\n\\ No newline at end of property\n"
    );
    assert_eq!(out, expected);

    // A file deleted without `zsync rm` is skipped, unless -N.
    std::fs::remove_file(c.path("w/demo/story.txt")).unwrap();
    assert_eq!(c.run(&["diff", "w/demo/story.txt"]).ok().stdout, "");
    let removed = c.run(&["diff", "-N", "w/demo/story.txt"]).ok().stdout;
    assert!(
        removed.starts_with(&format!(
            "Index: w/demo/story.txt\n{RULE}\n\
             --- w/demo/story.txt\t(revision {rev})\n\
             +++ w/demo/story.txt\t(working copy)\n\
             @@ -1,10 +0,0 @@\n-one\n"
        )),
        "{removed}"
    );
    assert_eq!(
        c.run(&["diff", "--new-file", "--brief", "w/demo/story.txt"])
            .ok()
            .stdout,
        format!(
            "Files w/demo/story.txt (revision {rev}) and w/demo/story.txt (working copy) differ\n"
        )
    );
    // A scheduled removal is always shown, against (nonexistent).
    c.run(&["revert", "w/demo/story.txt"]).ok();
    c.run(&["rm", "w/demo/story.txt"]).ok();
    let removed = c.run(&["diff", "w/demo/story.txt"]).ok().stdout;
    assert!(
        removed.contains("+++ w/demo/story.txt\t(nonexistent)\n@@ -1,10 +0,0 @@\n"),
        "{removed}"
    );
}

#[test]
fn binary_files_are_named_not_shown() {
    let server = Server::demo();
    let c = Client::new();
    c.run(&["co", &server.url("demo"), "w"]).ok();
    let png = c.path("w/demo/images");
    let name = common::ls(&png)
        .into_iter()
        .find(|n| !n.starts_with('.'))
        .expect("the demo has an image");
    std::fs::write(png.join(&name), b"\x89PNG\r\n\x1a\n\0changed").unwrap();
    let out = c.run(&["diff", "w"]).ok().stdout;
    let shown = format!("w/demo/images/{name}");
    assert!(
        out.starts_with(&format!(
            "Index: {shown}\n{RULE}\nBinary files {shown} (revision "
        )),
        "{out}"
    );
    assert!(
        out.ends_with(&format!(") and {shown} (working copy) differ\n")),
        "{out}"
    );
    let brief = c.run(&["diff", "--brief", "w"]).ok().stdout;
    assert!(
        brief.starts_with(&format!("Files {shown} (revision ")),
        "{brief}"
    );
}

#[test]
fn server_modes_after_another_checkout_commits() {
    let server = Server::demo();
    let a = Client::new();
    let base = checkout_with_story(&server, &a);
    let b = Client::new();
    b.run(&["co", &server.url("demo"), "w"]).ok();

    // a changes a line and a property, and adds a file.
    a.write("w/demo/story.txt", &STORY.replace("two", "TWO"));
    a.write("w/demo/extra.txt", "extra\n");
    a.run(&["add", "w/demo/extra.txt"]).ok();
    set_prop(&a, "w/demo/story.txt", "title", "A Story");
    let newest = committed(&a.run(&["ci", "-m", "two", "w"]).ok().stdout);

    // b has not updated: nothing changed locally...
    assert_eq!(b.run(&["diff", "w"]).ok().stdout, "");
    // ...-3 shows what the update will bring...
    let incoming = b.run(&["diff", "-3", "w"]).ok().stdout;
    let story = format!(
        "Index: w/demo/story.txt\n{RULE}\n\
         --- w/demo/story.txt\t(revision {base})\n\
         +++ w/demo/story.txt\t(revision {newest})\n\
         @@ -1,5 +1,5 @@\n one\n-two\n+TWO\n three\n four\n five\n\
         \nProperty changes on: w/demo/story.txt\n\
         ___________________________________________________________________\n\
         Added: title\n## -0,0 +1 ##\n+A Story\n\\ No newline at end of property\n"
    );
    assert!(incoming.contains(&story), "{incoming}");
    assert!(
        incoming.contains(&format!(
            "--- w/demo/extra.txt\t(nonexistent)\n\
             +++ w/demo/extra.txt\t(revision {newest})\n\
             @@ -0,0 +1 @@\n+extra\n"
        )),
        "{incoming}"
    );
    // ...and -2 the same, reversed, from the newest to the working copy.
    let outgoing = b.run(&["diff", "-2", "w/demo/story.txt"]).ok().stdout;
    assert_eq!(
        outgoing,
        format!(
            "Index: w/demo/story.txt\n{RULE}\n\
             --- w/demo/story.txt\t(revision {newest})\n\
             +++ w/demo/story.txt\t(working copy)\n\
             @@ -1,5 +1,5 @@\n one\n-TWO\n+two\n three\n four\n five\n\
             \nProperty changes on: w/demo/story.txt\n\
             ___________________________________________________________________\n\
             Deleted: title\n## -1 +0,0 ##\n-A Story\n\\ No newline at end of property\n"
        )
    );
    let whole = b.run(&["diff", "-2", "w"]).ok().stdout;
    assert!(
        whole.contains("--- w/demo/extra.txt\t(revision ")
            && whole.contains("+++ w/demo/extra.txt\t(nonexistent)\n@@ -1 +0,0 @@\n-extra\n"),
        "{whole}"
    );

    // A local edit of the same file: -2 shows both, -3 still only theirs.
    b.write("w/demo/story.txt", &STORY.replace("nine", "NINE"));
    let both = b.run(&["diff", "-2", "w/demo/story.txt"]).ok().stdout;
    assert!(both.contains("-TWO\n+two\n"), "{both}");
    assert!(both.contains("-nine\n+NINE\n"), "{both}");
    assert_eq!(
        b.run(&["diff", "-3", "w/demo/story.txt"]).ok().stdout,
        story
    );
    assert_eq!(
        b.run(&["diff", "-3", "--brief", "w/demo/story.txt"])
            .ok()
            .stdout,
        format!(
            "Files w/demo/story.txt (revision {base}) and w/demo/story.txt (revision {newest}) differ\n\
             Properties of w/demo/story.txt (revision {base}) and w/demo/story.txt (revision {newest}) differ\n"
        )
    );

    // After the update, -3 has nothing left to show and -2 shows mine.
    b.run(&["up", "w"]).ok();
    assert_eq!(b.run(&["diff", "-3", "w"]).ok().stdout, "");
    let mine = b.run(&["diff", "-2", "w"]).ok().stdout;
    assert!(
        mine.contains(&format!("--- w/demo/story.txt\t(revision {newest})\n")),
        "{mine}"
    );
    assert!(
        mine.contains("-nine\n+NINE\n") && !mine.contains("TWO\n+two"),
        "{mine}"
    );
    // The base is now the newest, so -1 says the same.
    assert_eq!(b.run(&["diff", "w"]).ok().stdout, mine);
}

#[test]
fn local_property_changes_only() {
    let server = Server::demo();
    let c = Client::new();
    let rev = checkout_with_story(&server, &c);
    set_prop(&c, "w/demo/story.txt", "title", "Mine");
    c.write("value.txt", "two\nlines\n");
    c.run(&["propset", "-F", "value.txt", "notes", "w/demo/story.txt"])
        .ok();
    c.run(&["propdel", "content_type", "w/demo/story.txt"]).ok();
    // Only properties changed: svn still names both versions.
    assert_eq!(
        c.run(&["diff", "w"]).ok().stdout,
        format!(
            "Index: w/demo/story.txt\n{RULE}\n\
             --- w/demo/story.txt\t(revision {rev})\n\
             +++ w/demo/story.txt\t(working copy)\n\
             \nProperty changes on: w/demo/story.txt\n\
             ___________________________________________________________________\n\
             Deleted: content_type\n## -1 +0,0 ##\n-text/plain\n\\ No newline at end of property\n\
             Added: notes\n## -0,0 +1,2 ##\n+two\n+lines\n\
             Added: title\n## -0,0 +1 ##\n+Mine\n\\ No newline at end of property\n"
        )
    );
    // Folders have properties too.
    set_prop(&c, "w/demo", "title", "Renamed");
    let out = c.run(&["diff", "w/demo"]).ok().stdout;
    assert!(
        out.starts_with(&format!("Index: w/demo\n{RULE}\n--- w/demo\t(revision "))
            && out.contains("Modified: title\n## -1 +1 ##\n-"),
        "{out}"
    );
}
