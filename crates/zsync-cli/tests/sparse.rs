//! Sparse working copies through the real binaries: `checkout --depth`,
//! `update --set-depth` to widen and narrow (never dropping local edits),
//! a checkout of any subtree, and status and commit that leave what lies
//! outside the depth alone.

mod common;

use common::{Client, Server, contains_line};

#[test]
fn depths_hold_what_they_say_and_widen_and_narrow() {
    let server = Server::demo();
    let c = Client::new();

    c.run(&["co", "--depth", "empty", &server.url("demo"), "e"])
        .ok();
    assert!(c.exists("e/demo"));
    assert_eq!(std::fs::read_dir(c.path("e/demo")).unwrap().count(), 1); // .zsync

    c.run(&["co", "--depth", "files", &server.url("demo"), "f"])
        .ok();
    assert!(c.exists("f/demo/notes.txt"));
    assert!(!c.exists("f/demo/pages"));
    // Nothing outside the depth is missing, and status -u does not offer it.
    let st = c.run(&["status", "f"]).ok().stdout;
    assert!(st.trim().is_empty(), "{st}");
    let st = c.run(&["status", "-u", "f"]).ok().stdout;
    assert!(!st.contains("pages"), "{st}");

    c.run(&["co", "--depth", "immediates", &server.url("demo"), "i"])
        .ok();
    assert!(c.exists("i/demo/pages"));
    assert!(!c.exists("i/demo/pages/about.html"));

    // A commit from the sparse copy changes only what it holds.
    c.write("f/demo/notes.txt", "from the sparse copy\n");
    c.run(&["ci", "-m", "sparse edit", "f"]).ok();
    c.run(&["co", &server.url("demo"), "full"]).ok();
    assert!(c.exists("full/demo/pages/about.html"));
    assert_eq!(c.read("full/demo/notes.txt"), "from the sparse copy\n");

    // Updates bring new items only within the depth.
    c.run(&["mkdir", "full/demo/more"]).ok();
    c.write("full/demo/more/x.txt", "x\n");
    c.run(&["add", "full/demo/more/x.txt"]).ok();
    c.write("full/demo/top.txt", "top\n");
    c.run(&["add", "full/demo/top.txt"]).ok();
    c.run(&["ci", "-m", "more", "full"]).ok();
    c.run(&["up", "f"]).ok();
    assert!(c.exists("f/demo/top.txt"));
    assert!(!c.exists("f/demo/more"));
    c.run(&["up", "i"]).ok();
    assert!(c.exists("i/demo/more"));
    assert!(!c.exists("i/demo/more/x.txt"));

    // Widening one folder, then the whole copy.
    c.run(&["up", "--set-depth", "infinity", "i/demo/pages"])
        .ok();
    assert!(c.exists("i/demo/pages/about.html"));
    assert!(!c.exists("i/demo/more/x.txt"));
    c.run(&["up", "--set-depth", "infinity", "f/demo"]).ok();
    assert!(c.exists("f/demo/pages/about.html"));
    assert!(c.exists("f/demo/more/x.txt"));

    // Narrowing refuses to drop a local edit, and changes nothing then.
    c.write("f/demo/pages/about.html", "my edit\n");
    let out = c.run(&["up", "--set-depth", "files", "f/demo"]).fails(1);
    assert!(out.stderr.contains("local changes"), "{}", out.stderr);
    assert!(out.stderr.contains("about.html"), "{}", out.stderr);
    assert_eq!(c.read("f/demo/pages/about.html"), "my edit\n");
    assert!(c.exists("f/demo/more/x.txt"));
    c.run(&["revert", "f/demo/pages/about.html"]).ok();
    // Unversioned files keep their folder.
    c.write("f/demo/more/mine.txt", "mine\n");
    let out = c.run(&["up", "--set-depth", "files", "f/demo"]).ok();
    assert!(!c.exists("f/demo/pages"), "{}", out.stdout);
    assert!(!c.exists("f/demo/more/x.txt"));
    assert_eq!(c.read("f/demo/more/mine.txt"), "mine\n");
    assert!(out.stderr.contains("unversioned"), "{}", out.stderr);
    assert!(c.exists("f/demo/notes.txt"));
    // Status shows the kept folder as unversioned, nothing as missing.
    let st = c.run(&["status", "f"]).ok().stdout;
    assert!(!st.contains('!'), "{st}");
    // A commit after narrowing deletes nothing on the server.
    c.write("f/demo/notes.txt", "after narrowing\n");
    c.run(&["ci", "-m", "after narrowing", "f"]).ok();
    c.run(&["up", "full"]).ok();
    assert!(c.exists("full/demo/pages/about.html"));
    assert!(c.exists("full/demo/more/x.txt"));
    assert_eq!(c.read("full/demo/notes.txt"), "after narrowing\n");
}

#[test]
fn any_subtree_checks_out_on_its_own() {
    let server = Server::demo();
    let c = Client::new();
    c.run(&["co", &server.url("demo/pages"), "w"]).ok();
    assert!(c.exists("w/pages/about.html"));
    assert!(!c.exists("w/pages/notes.txt"));
    c.write("w/pages/about.html", "changed\n");
    let st = c.run(&["status", "w"]).ok().stdout;
    assert!(contains_line(&st, "M       w/pages/about.html"), "{st}");
    c.run(&["ci", "-m", "subtree edit", "w"]).ok();
    c.run(&["co", &server.url("demo"), "full"]).ok();
    assert_eq!(c.read("full/demo/pages/about.html"), "changed\n");
}
