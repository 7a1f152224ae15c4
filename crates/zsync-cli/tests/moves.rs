//! `zsync move` (alias `mv`) through the real binaries: the move keeps the
//! object's id, shows in `status` as svn shows it, commits as one move,
//! reverts, and arrives in another working copy with its local edits.

mod common;

use common::{Client, Server, contains_line};

fn oid(client: &Client, path: &str) -> String {
    client
        .run(&["info", path])
        .ok()
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("Object ID: ").map(str::to_owned))
        .unwrap()
}

#[test]
fn a_move_keeps_the_object_and_travels_as_one_change() {
    let server = Server::demo();
    let c = Client::new();
    c.run(&["co", &server.url("demo"), "w"]).ok();
    let notes_oid = oid(&c, "w/demo/notes.txt");
    let about_oid = oid(&c, "w/demo/pages/about.html");

    // A rename with an edit, and a folder moved into another folder.
    c.write("w/demo/notes.txt", "moved and edited\n");
    let out = c.run(&["mv", "w/demo/notes.txt", "w/demo/todo.txt"]).ok();
    assert!(
        contains_line(&out.stdout, "A         w/demo/todo.txt"),
        "{}",
        out.stdout
    );
    assert!(
        contains_line(&out.stdout, "D         w/demo/notes.txt"),
        "{}",
        out.stdout
    );
    c.run(&["move", "w/demo/pages", "w/demo/images"]).ok();
    assert!(c.exists("w/demo/images/pages/about.html"));
    assert!(!c.exists("w/demo/pages"));

    let status = c.run(&["status", "w"]).ok().stdout;
    for line in [
        "A  +    w/demo/todo.txt",
        "        > moved from w/demo/notes.txt",
        "D       w/demo/notes.txt",
        "        > moved to w/demo/todo.txt",
        "A  +    w/demo/images/pages",
        "        > moved from w/demo/pages",
        "D       w/demo/pages",
        "D       w/demo/pages/about.html",
    ] {
        assert!(contains_line(&status, line), "{line:?} in\n{status}");
    }
    // What moved along with its folder is unchanged, so it is not listed.
    assert!(!status.contains("images/pages/about.html"), "{status}");
    // The object is the same one, before and after the commit.
    assert_eq!(oid(&c, "w/demo/todo.txt"), notes_oid);

    let out = c.run(&["ci", "-m", "reorganise", "w"]).ok().stdout;
    assert!(
        contains_line(&out, "Moving         w/demo/todo.txt"),
        "{out}"
    );
    assert!(
        contains_line(&out, "Moving         w/demo/images/pages"),
        "{out}"
    );
    assert_eq!(c.run(&["status", "w"]).ok().stdout, "");
    assert_eq!(oid(&c, "w/demo/todo.txt"), notes_oid);
    assert_eq!(oid(&c, "w/demo/images/pages/about.html"), about_oid);

    // A fresh checkout has the new layout, with the same objects.
    let other = Client::new();
    other.run(&["co", &server.url("demo"), "o"]).ok();
    assert_eq!(other.read("o/demo/todo.txt"), "moved and edited\n");
    assert!(!other.exists("o/demo/notes.txt"));
    assert_eq!(oid(&other, "o/demo/images/pages/about.html"), about_oid);

    // The log follows the file across the rename and says where from.
    let log = c.run(&["log", "-v", "w/demo/todo.txt"]).ok().stdout;
    assert!(
        contains_line(&log, "   R /demo/todo.txt (from /demo/notes.txt)"),
        "{log}"
    );
    assert!(log.contains("reorganise"), "{log}");
    assert!(log.contains("   A /demo/notes.txt"), "{log}");
    let log = c.run(&["log", "-v", "w/demo/images/pages"]).ok().stdout;
    assert!(
        contains_line(&log, "   R /demo/images/pages (from /demo/pages)"),
        "{log}"
    );
}

#[test]
fn revert_undoes_a_move_from_either_end() {
    let server = Server::demo();
    let c = Client::new();
    c.run(&["co", &server.url("demo"), "w"]).ok();
    c.run(&["mv", "w/demo/notes.txt", "w/demo/todo.txt"]).ok();
    c.write("w/demo/todo.txt", "edited\n");
    c.run(&["mv", "w/demo/pages", "w/demo/moved"]).ok();
    c.write("w/demo/moved/about.html", "<p>edited</p>\n");

    // By the new place: the file goes back and its edit is undone.
    let out = c.run(&["revert", "w/demo/todo.txt"]).ok().stdout;
    assert!(out.contains("Reverted 'w/demo/todo.txt'"), "{out}");
    assert!(!c.exists("w/demo/todo.txt"));
    assert!(c.read("w/demo/notes.txt").starts_with("Notes"));
    // By the old place: the folder comes back with everything in it.
    c.run(&["revert", "w/demo/pages"]).ok();
    assert!(!c.exists("w/demo/moved"));
    assert!(c.read("w/demo/pages/about.html").contains("About"));
    assert_eq!(c.run(&["status", "w"]).ok().stdout, "");

    // A move back to where it came from is no move at all.
    c.run(&["mv", "w/demo/README.md", "w/demo/R.md"]).ok();
    c.run(&["mv", "w/demo/R.md", "w/demo/README.md"]).ok();
    assert_eq!(c.run(&["status", "w"]).ok().stdout, "");

    // Something new in the old place keeps the move from being undone.
    c.run(&["mv", "w/demo/notes.txt", "w/demo/todo.txt"]).ok();
    c.write("w/demo/notes.txt", "new\n");
    let err = c.run(&["revert", "w/demo/todo.txt"]).fails(1).stderr;
    assert!(err.contains("is in the way"), "{err}");
    assert!(c.exists("w/demo/todo.txt"));
    assert_eq!(c.read("w/demo/notes.txt"), "new\n");
}

#[test]
fn bad_moves_are_refused_and_change_nothing() {
    let server = Server::demo();
    let c = Client::new();
    c.run(&["co", &server.url("demo"), "w"]).ok();
    c.run(&["co", &server.url("demo"), "w2"]).ok();
    c.write("w/demo/loose.txt", "x\n");
    let cases: [(&[&str], &str); 6] = [
        (
            &["mv", "w/demo/notes.txt", "w/demo/index.html"],
            "already exists",
        ),
        (
            &["mv", "w/demo/notes.txt", "w/demo/loose.txt"],
            "already exists",
        ),
        (
            &["mv", "w/demo/notes.txt", "w2/demo/notes.txt"],
            "another working copy",
        ),
        (&["mv", "w/demo/pages", "w/demo/pages/sub"], "into itself"),
        (
            &["mv", "w/demo/loose.txt", "w/demo/l.txt"],
            "not under version control",
        ),
        (
            &["mv", "w/demo/notes.txt", "w/demo/nowhere/n.txt"],
            "not a versioned folder",
        ),
    ];
    for (args, message) in cases {
        let err = c.run(args).fails(1).stderr;
        assert!(err.contains(message), "{args:?}: {err}");
    }
    // Outside any working copy.
    let err = c
        .run(&["mv", "w/demo/notes.txt", "elsewhere.txt"])
        .fails(1)
        .stderr;
    assert!(err.contains("working copy"), "{err}");
    assert!(c.exists("w/demo/notes.txt"));
    assert_eq!(
        c.run(&["status", "w"]).ok().stdout,
        "?       w/demo/loose.txt\n"
    );
}

#[test]
fn update_moves_items_with_their_local_edits() {
    let server = Server::demo();
    let a = Client::new();
    let b = Client::new();
    a.run(&["co", &server.url("demo"), "w"]).ok();
    b.run(&["co", &server.url("demo"), "w"]).ok();

    // b edits what a moves (a file, and a file inside a moved folder).
    b.write("w/demo/notes.txt", "Notes edited in b\n");
    let about = b.read("w/demo/pages/about.html");
    b.write("w/demo/pages/about.html", &format!("{about}<!-- b -->\n"));
    a.run(&["mv", "w/demo/notes.txt", "w/demo/todo.txt"]).ok();
    a.run(&["mkdir", "w/demo/site"]).ok();
    a.run(&["mv", "w/demo/pages", "w/demo/site/pages"]).ok();
    a.run(&["ci", "-m", "moves", "w"]).ok();

    let out = b.run(&["up", "w"]).ok().stdout;
    assert!(contains_line(&out, "D    w/demo/notes.txt"), "{out}");
    assert!(contains_line(&out, "A    w/demo/todo.txt"), "{out}");
    assert_eq!(b.read("w/demo/todo.txt"), "Notes edited in b\n");
    assert!(!b.exists("w/demo/notes.txt"));
    assert!(
        b.read("w/demo/site/pages/about.html")
            .ends_with("<!-- b -->\n")
    );
    assert!(!b.exists("w/demo/pages"));
    let status = b.run(&["status", "w"]).ok().stdout;
    assert_eq!(
        status,
        "M       w/demo/site/pages/about.html\nM       w/demo/todo.txt\n"
    );
    // The edits commit against the moved objects.
    b.run(&["ci", "-m", "edits", "w"]).ok();
    a.run(&["up", "w"]).ok();
    assert_eq!(a.read("w/demo/todo.txt"), "Notes edited in b\n");
}

#[test]
fn an_occupied_destination_is_a_tree_conflict() {
    let server = Server::demo();
    let a = Client::new();
    let b = Client::new();
    a.run(&["co", &server.url("demo"), "w"]).ok();
    b.run(&["co", &server.url("demo"), "w"]).ok();
    a.run(&["mv", "w/demo/notes.txt", "w/demo/todo.txt"]).ok();
    a.run(&["ci", "-m", "rename", "w"]).ok();

    // b has an unversioned file where the item is to go.
    b.write("w/demo/todo.txt", "mine, unversioned\n");
    b.write("w/demo/notes.txt", "Notes edited in b\n");
    let out = b.run(&["up", "--accept", "postpone", "w"]).fails(1).stdout;
    assert!(contains_line(&out, "   C w/demo/notes.txt"), "{out}");
    assert_eq!(b.read("w/demo/todo.txt"), "mine, unversioned\n");
    assert_eq!(b.read("w/demo/notes.txt"), "Notes edited in b\n");
    let status = b.run(&["status", "w"]).ok().stdout;
    assert!(
        status.contains("incoming move to w/demo/todo.txt"),
        "{status}"
    );
    // Nothing was lost; once the way is clear, moving it there settles it.
    std::fs::remove_file(b.path("w/demo/todo.txt")).unwrap();
    b.run(&["resolved", "w/demo/notes.txt"]).ok();
    b.run(&["mv", "w/demo/notes.txt", "w/demo/todo.txt"]).ok();
    assert_eq!(
        b.run(&["status", "w"]).ok().stdout,
        "M       w/demo/todo.txt\n"
    );
    b.run(&["ci", "-m", "edit", "w"]).ok();
}

#[test]
fn a_local_move_receives_incoming_edits() {
    let server = Server::demo();
    let a = Client::new();
    let b = Client::new();
    a.run(&["co", &server.url("demo"), "w"]).ok();
    b.run(&["co", &server.url("demo"), "w"]).ok();
    a.write("w/demo/notes.txt", "Notes from a\n");
    a.write("w/demo/pages/new.txt", "new in a\n");
    a.run(&["add", "w/demo/pages/new.txt"]).ok();
    a.run(&["ci", "-m", "edit", "w"]).ok();

    b.run(&["mv", "w/demo/notes.txt", "w/demo/todo.txt"]).ok();
    b.run(&["mv", "w/demo/pages", "w/demo/p"]).ok();
    b.run(&["up", "w"]).ok();
    assert_eq!(b.read("w/demo/todo.txt"), "Notes from a\n");
    assert_eq!(b.read("w/demo/p/new.txt"), "new in a\n");
    assert!(!b.exists("w/demo/notes.txt"));
    assert!(!b.exists("w/demo/pages"));
    let out = b.run(&["ci", "-m", "moves", "w"]).ok().stdout;
    assert!(contains_line(&out, "Moving         w/demo/p"), "{out}");
    a.run(&["up", "w"]).ok();
    assert_eq!(a.read("w/demo/p/new.txt"), "new in a\n");
    assert_eq!(a.read("w/demo/todo.txt"), "Notes from a\n");
}

#[test]
fn a_moved_folder_commits_with_changes_inside_it() {
    let server = Server::demo();
    let a = Client::new();
    let b = Client::new();
    a.run(&["co", &server.url("demo"), "w"]).ok();
    a.write("w/demo/pages/gone.txt", "gone\n");
    a.write("w/demo/pages/old.txt", "renamed\n");
    a.run(&["mkdir", "w/demo/pages/sub"]).ok();
    a.write("w/demo/pages/sub/deep.txt", "deep\n");
    a.run(&["add", "w/demo/pages/gone.txt", "w/demo/pages/old.txt"])
        .ok();
    a.run(&["add", "w/demo/pages/sub/deep.txt"]).ok();
    a.run(&["ci", "-m", "content", "w"]).ok();
    b.run(&["co", &server.url("demo"), "w"]).ok();
    let about_oid = oid(&a, "w/demo/pages/about.html");
    let old_oid = oid(&a, "w/demo/pages/old.txt");

    // Everything svn allows in one commit with a moved folder: edit, add,
    // remove and rename inside it, and edit deeper down.
    a.run(&["mv", "w/demo/pages", "w/demo/site"]).ok();
    a.write("w/demo/site/about.html", "<p>edited after the move</p>\n");
    a.write("w/demo/site/new.txt", "new\n");
    a.run(&["add", "w/demo/site/new.txt"]).ok();
    a.run(&["rm", "w/demo/site/gone.txt"]).ok();
    a.run(&["mv", "w/demo/site/old.txt", "w/demo/site/renamed.txt"])
        .ok();
    a.write("w/demo/site/sub/deep.txt", "deep, edited\n");
    let out = a.run(&["ci", "-m", "reorganise", "w"]).ok().stdout;
    assert!(contains_line(&out, "Moving         w/demo/site"), "{out}");
    assert!(
        contains_line(&out, "Sending        w/demo/site/about.html"),
        "{out}"
    );
    assert_eq!(a.run(&["status", "w"]).ok().stdout, "");
    assert_eq!(oid(&a, "w/demo/site/about.html"), about_oid);
    assert_eq!(oid(&a, "w/demo/site/renamed.txt"), old_oid);

    // Another copy receives all of it, and so does a fresh checkout.
    for (client, wc) in [(&b, "w"), (&Client::new(), "fresh")] {
        if wc == "w" {
            client.run(&["up", "w"]).ok();
        } else {
            client.run(&["co", &server.url("demo"), wc]).ok();
        }
        let at = |p: &str| format!("{wc}/demo/{p}");
        assert_eq!(
            client.read(&at("site/about.html")),
            "<p>edited after the move</p>\n"
        );
        assert_eq!(client.read(&at("site/new.txt")), "new\n");
        assert_eq!(client.read(&at("site/renamed.txt")), "renamed\n");
        assert_eq!(client.read(&at("site/sub/deep.txt")), "deep, edited\n");
        assert!(!client.exists(&at("site/gone.txt")));
        assert!(!client.exists(&at("site/old.txt")));
        assert!(!client.exists(&at("pages")));
        assert_eq!(client.run(&["status", wc]).ok().stdout, "");
        assert_eq!(oid(client, &at("site/about.html")), about_oid);
    }

    // The edited file's log and diff show the move and the edit as one
    // revision.
    let log = a.run(&["log", "-v", "w/demo/site/about.html"]).ok().stdout;
    assert!(
        contains_line(
            &log,
            "   R /demo/site/about.html (from /demo/pages/about.html)"
        ),
        "{log}"
    );
    let diff = a
        .run(&["diff", "-r", "2:3", "w/demo/site/about.html"])
        .ok()
        .stdout;
    assert!(diff.contains("+<p>edited after the move</p>"), "{diff}");
}
