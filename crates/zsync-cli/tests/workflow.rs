//! The core loop through the real binaries: checkout, status, diff, add,
//! mkdir, remove, revert, commit, update, against a real zsyncd.

mod common;

use common::{Client, Server, contains_line, ls};

const STORY: &str = "one\ntwo\nthree\nfour\nfive\nsix\nseven\neight\nnine\nten\n";

/// Two checkouts of /demo that share a committed `story.txt`.
fn two_checkouts(server: &Server) -> (Client, Client) {
    let a = Client::new();
    a.run(&["checkout", &server.url("demo"), "a"]).ok();
    a.write("a/demo/story.txt", STORY);
    a.run(&["add", "a/demo/story.txt"]).ok();
    a.run(&["commit", "-m", "story", "a"]).ok();
    let b = Client::new();
    b.run(&["co", &server.url("demo"), "b"]).ok();
    (a, b)
}

#[test]
fn the_flow_from_the_readme() {
    let server = Server::demo();
    let c = Client::new();
    let out = c
        .run(&["checkout", &server.url("demo"), "./parts/checkout"])
        .ok();
    assert!(
        out.stdout.contains("A    parts/checkout/demo/index.html"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .lines()
            .last()
            .unwrap()
            .starts_with("Checked out revision ")
    );
    assert_eq!(
        ls(&c.path("parts/checkout/demo")),
        vec![
            ".zsync",
            "README.md",
            "images",
            "index.html",
            "notes.txt",
            "pages"
        ]
    );
    // The password is never stored in the working copy.
    let index = std::fs::read(c.path("parts/checkout/demo/.zsync/index")).unwrap();
    assert!(!String::from_utf8_lossy(&index).contains("zsync:zsync"));

    c.run(&["status", "parts/checkout"]).ok();
    assert_eq!(c.run(&["status", "parts/checkout"]).ok().stdout, "");

    let html = c.read("parts/checkout/demo/index.html");
    c.write(
        "parts/checkout/demo/index.html",
        &html.replacen("<title>", "<title>Fixed: ", 1),
    );
    let st = c.run(&["status", "parts/checkout"]).ok();
    assert_eq!(st.stdout, "M       parts/checkout/demo/index.html\n");
    // Paths are relative to the current directory.
    let st = c.run_in("parts/checkout/demo", &["st"]).ok();
    assert_eq!(st.stdout, "M       index.html\n");

    let diff = c.run(&["diff", "parts/checkout"]).ok().stdout;
    assert!(
        diff.starts_with("Index: parts/checkout/demo/index.html\n====="),
        "{diff}"
    );
    assert!(
        diff.contains("--- parts/checkout/demo/index.html\t(revision "),
        "{diff}"
    );
    assert!(
        diff.contains("+++ parts/checkout/demo/index.html\t(working copy)"),
        "{diff}"
    );
    assert!(diff.contains("+  <title>Fixed: Welcome"), "{diff}");

    let ci = c.run(&["commit", "-m", "fix title", "parts/checkout"]).ok();
    assert!(
        ci.stdout
            .contains("Sending        parts/checkout/demo/index.html"),
        "{}",
        ci.stdout
    );
    let rev: u64 = ci
        .stdout
        .lines()
        .last()
        .and_then(|l| l.strip_prefix("Committed revision "))
        .and_then(|l| l.strip_suffix('.'))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no revision in {:?}", ci.stdout));
    assert_eq!(c.run(&["status", "parts/checkout"]).ok().stdout, "");

    let other = Client::new();
    other.run(&["checkout", &server.url("demo"), "other"]).ok();
    assert!(
        other
            .read("other/demo/index.html")
            .contains("<title>Fixed: ")
    );
    let up = other.run(&["update", "other"]).ok();
    assert_eq!(up.stdout, format!("At revision {rev}.\n"));

    // A change made in the first copy arrives in the second with `U`.
    c.write("parts/checkout/demo/notes.txt", "new notes\n");
    c.run(&["ci", "-m", "notes", "parts/checkout"]).ok();
    let up = other.run(&["up", "other"]).ok();
    assert!(
        contains_line(&up.stdout, "U    other/demo/notes.txt"),
        "{}",
        up.stdout
    );
    assert_eq!(other.read("other/demo/notes.txt"), "new notes\n");
}

#[test]
fn checkout_url_forms() {
    let server = Server::demo();
    let c = Client::new();
    // A trailing slash names the same object; TARGETDIR defaults to `.`.
    c.run(&["checkout", &server.url("demo/")]).ok();
    assert!(c.exists("demo/index.html"));
    // -u supplies the user when the URL has none; no password and no
    // terminal fails clearly.
    let c2 = Client::new();
    let out = c2.run(&[
        "checkout",
        "-u",
        "zsync",
        &server.url_as("", "demo").replace("@", ""),
        "x",
    ]);
    let out = out.fails(1);
    assert!(
        out.stderr.contains("no password for zsync"),
        "{}",
        out.stderr
    );
    assert!(!c2.exists("x/demo"));
    // Checking out a subfolder names the working copy after it.
    c2.run(&["checkout", &server.url("demo/pages"), "sub"]).ok();
    assert!(c2.exists("sub/pages/about.html"));
}

#[test]
fn later_commands_use_the_stored_login_not_a_password() {
    let server = Server::demo();
    let c = Client::new();
    c.run(&["checkout", &server.url("demo"), "w"]).ok();
    let tokens = std::fs::read_to_string(c.config.path().join("tokens.toml")).unwrap();
    assert!(!tokens.contains("zsync:zsync") && tokens.contains("token"));
    c.write("w/demo/notes.txt", "edited\n");
    c.run(&["commit", "-m", "x", "w"]).ok();
    // After logout the stored token is gone and revoked.
    c.run(&["logout", &server.url_as("zsync", "")]).ok();
    let out = c.run(&["update", "w"]).fails(1);
    assert!(
        out.stderr.contains("authentication required"),
        "{}",
        out.stderr
    );
}

#[test]
fn add_mkdir_commit_single_file_remove_revert() {
    let server = Server::demo();
    let c = Client::new();
    c.run(&["checkout", &server.url("demo"), "w"]).ok();
    c.run(&["mkdir", "w/demo/docs"]).ok();
    c.write("w/demo/docs/a.md", "# A\n");
    c.write("w/demo/docs/b.txt", "b\n");
    c.write_bytes("w/demo/pic.png", b"\x89PNG\r\n\x1a\nfake");
    let out = c
        .run(&[
            "add",
            "w/demo/docs/a.md",
            "w/demo/docs/b.txt",
            "w/demo/pic.png",
        ])
        .ok();
    assert!(
        out.stdout.contains("A         w/demo/docs/a.md"),
        "{}",
        out.stdout
    );
    let st = c.run(&["st", "w"]).ok().stdout;
    assert_eq!(
        st,
        "A       w/demo/docs\nA       w/demo/docs/a.md\nA       w/demo/docs/b.txt\nA       w/demo/pic.png\n"
    );
    // A new file can be committed by naming only it; its new folder comes along.
    let ci = c.run(&["ci", "-m", "a", "w/demo/docs/a.md"]).ok();
    assert!(
        ci.stdout.contains("Adding         w/demo/docs\n"),
        "{}",
        ci.stdout
    );
    assert!(
        ci.stdout.contains("Adding         w/demo/docs/a.md\n"),
        "{}",
        ci.stdout
    );
    let st = c.run(&["st", "w"]).ok().stdout;
    assert_eq!(st, "A       w/demo/docs/b.txt\nA       w/demo/pic.png\n");
    // Revert of an addition keeps the file, unversioned.
    c.run(&["revert", "w/demo/pic.png"]).ok();
    assert_eq!(
        c.run(&["st", "w/demo/pic.png"]).ok().stdout,
        "?       w/demo/pic.png\n"
    );
    c.run(&["ci", "-m", "b", "w"]).ok();

    // remove deletes the file and schedules the deletion; revert undoes it.
    c.run(&["rm", "w/demo/notes.txt"]).ok();
    assert!(!c.exists("w/demo/notes.txt"));
    assert_eq!(
        c.run(&["st", "w/demo/notes.txt"]).ok().stdout,
        "D       w/demo/notes.txt\n"
    );
    c.run(&["revert", "w/demo/notes.txt"]).ok();
    assert!(c.exists("w/demo/notes.txt"));
    assert_eq!(c.run(&["st", "w"]).ok().stdout, "?       w/demo/pic.png\n");

    // remove refuses local changes unless forced.
    c.write("w/demo/README.md", "changed\n");
    let out = c.run(&["rm", "w/demo/README.md"]).fails(1);
    assert!(out.stderr.contains("has local changes"), "{}", out.stderr);
    assert!(c.exists("w/demo/README.md"));
    c.run(&["revert", "w/demo/README.md"]).ok();
    assert_ne!(c.read("w/demo/README.md"), "changed\n");

    // Deleting a folder commits, and another checkout no longer has it.
    c.run(&["rm", "w/demo/docs"]).ok();
    c.run(&["ci", "-m", "rm docs", "w"]).ok();
    let d = Client::new();
    d.run(&["co", &server.url("demo"), "x"]).ok();
    assert!(!d.exists("x/demo/docs"));
    assert!(d.exists("x/demo/index.html"));
}

#[test]
fn update_merges_clean_edits_and_reports_conflicts() {
    let server = Server::demo();
    let (a, b) = two_checkouts(&server);
    a.write("a/demo/story.txt", &STORY.replace("one", "ONE"));
    a.run(&["ci", "-m", "first line", "a"]).ok();
    b.write("b/demo/story.txt", &STORY.replace("ten", "TEN"));
    let up = b.run(&["up", "b"]).ok();
    assert!(
        contains_line(&up.stdout, "G    b/demo/story.txt"),
        "{}",
        up.stdout
    );
    assert_eq!(
        b.read("b/demo/story.txt"),
        STORY.replace("one", "ONE").replace("ten", "TEN")
    );
    assert_eq!(
        b.run(&["st", "b"]).ok().stdout,
        "M       b/demo/story.txt\n"
    );
    b.run(&["ci", "-m", "last line", "b"]).ok();

    // Overlapping edits: markers, side files, C in status, exit 1.
    a.run(&["up", "a"]).ok();
    a.write(
        "a/demo/story.txt",
        &STORY
            .replace("one", "ONE")
            .replace("five", "FIVE-a")
            .replace("ten", "TEN"),
    );
    a.run(&["ci", "-m", "a", "a"]).ok();
    b.write(
        "b/demo/story.txt",
        &STORY
            .replace("one", "ONE")
            .replace("five", "FIVE-b")
            .replace("ten", "TEN"),
    );
    let up = b.run(&["up", "b"]).fails(1);
    assert!(
        contains_line(&up.stdout, "C    b/demo/story.txt"),
        "{}",
        up.stdout
    );
    assert!(up.stdout.contains("Text conflicts: 1"), "{}", up.stdout);
    let text = b.read("b/demo/story.txt");
    assert!(text.contains("<<<<<<< .mine\nFIVE-b\n||||||| .r"), "{text}");
    assert!(text.contains("=======\nFIVE-a\n>>>>>>> .r"), "{text}");
    let names = ls(&b.path("b/demo"));
    assert!(names.contains(&"story.txt.mine".to_string()), "{names:?}");
    assert_eq!(
        names
            .iter()
            .filter(|n| n.starts_with("story.txt.r"))
            .count(),
        2,
        "{names:?}"
    );
    assert!(
        b.run(&["st", "b/demo/story.txt"])
            .ok()
            .stdout
            .starts_with("C       b/demo/story.txt")
    );

    // A second update does not nest markers.
    b.run(&["up", "b"]).fails(1);
    assert_eq!(b.read("b/demo/story.txt"), text);

    // Commit refuses while the conflict remains; resolved clears it.
    let out = b.run(&["ci", "-m", "x", "b"]).fails(1);
    assert!(out.stderr.contains("remains in conflict"), "{}", out.stderr);
    b.write(
        "b/demo/story.txt",
        &STORY
            .replace("one", "ONE")
            .replace("five", "FIVE-ab")
            .replace("ten", "TEN"),
    );
    b.run(&["resolved", "b/demo/story.txt"]).ok();
    assert!(
        !ls(&b.path("b/demo"))
            .iter()
            .any(|n| n.starts_with("story.txt."))
    );
    b.run(&["ci", "-m", "merged", "b"]).ok();
    a.run(&["up", "a"]).ok();
    assert!(a.read("a/demo/story.txt").contains("FIVE-ab"));
}

#[test]
fn revert_of_a_conflict_restores_base_and_keeps_mine() {
    let server = Server::demo();
    let (a, b) = two_checkouts(&server);
    a.write("a/demo/story.txt", "theirs\n");
    a.run(&["ci", "-m", "a", "a"]).ok();
    b.write("b/demo/story.txt", "mine\n");
    b.run(&["up", "b"]).fails(1);
    b.run(&["revert", "b/demo/story.txt"]).ok();
    assert_eq!(b.read("b/demo/story.txt"), "theirs\n");
    assert_eq!(b.read("b/demo/story.txt.mine"), "mine\n");
    assert_eq!(b.run(&["st", "-q", "b"]).ok().stdout, "");
}

#[test]
fn binary_bodies_never_merge() {
    let server = Server::demo();
    let a = Client::new();
    a.run(&["co", &server.url("demo"), "a"]).ok();
    let b = Client::new();
    b.run(&["co", &server.url("demo"), "b"]).ok();
    a.write("a/demo/images/logo.png", "GIF89a\u{10}\0\u{10}\0\0theirs");
    a.run(&["ci", "-m", "a", "a"]).ok();
    b.write("b/demo/images/logo.png", "GIF89a\u{10}\0\u{10}\0\0mine");
    let up = b.run(&["up", "b"]).fails(1);
    // Column 2 shows the server-derived image size arriving too.
    assert!(
        contains_line(&up.stdout, "CU   b/demo/images/logo.png"),
        "{}",
        up.stdout
    );
    assert_eq!(
        b.read("b/demo/images/logo.png"),
        "GIF89a\u{10}\0\u{10}\0\0mine"
    );
    let names = ls(&b.path("b/demo/images"));
    let theirs = names
        .iter()
        .find(|n| n.starts_with("logo.png.r"))
        .expect("logo.png.rNEW");
    assert_eq!(
        b.read(&format!("b/demo/images/{theirs}")),
        "GIF89a\u{10}\0\u{10}\0\0theirs"
    );
    b.run(&[
        "resolve",
        "--accept",
        "theirs-full",
        "b/demo/images/logo.png",
    ])
    .ok();
    assert_eq!(
        b.read("b/demo/images/logo.png"),
        "GIF89a\u{10}\0\u{10}\0\0theirs"
    );
    assert_eq!(b.run(&["st", "b"]).ok().stdout, "");
}

#[test]
fn stale_commit_is_refused_whole_listing_every_path() {
    let server = Server::demo();
    let (a, b) = two_checkouts(&server);
    a.write("a/demo/story.txt", "a\n");
    a.write("a/demo/notes.txt", "a\n");
    a.run(&["ci", "-m", "a", "a"]).ok();
    b.write("b/demo/story.txt", "b\n");
    b.write("b/demo/notes.txt", "b\n");
    b.write("b/demo/README.md", "b\n");
    let out = b.run(&["ci", "-m", "b", "b"]).fails(1);
    assert!(out.stderr.contains("commit refused"), "{}", out.stderr);
    assert!(out.stderr.contains("  b/demo/story.txt"), "{}", out.stderr);
    assert!(out.stderr.contains("  b/demo/notes.txt"), "{}", out.stderr);
    assert!(!out.stderr.contains("README"), "{}", out.stderr);
    assert!(out.stderr.contains("zsync update"), "{}", out.stderr);
    // Nothing of the refused commit reached the server, nothing changed here.
    let c = Client::new();
    c.run(&["co", &server.url("demo"), "c"]).ok();
    assert_ne!(c.read("c/demo/README.md"), "b\n");
    assert_eq!(b.run(&["st", "b"]).ok().stdout.lines().count(), 3);
    // Nothing is left pending either: the next commands do not ask.
    assert!(!b.path("b/demo/.zsync/pending-commit").exists());
    let up = b.run(&["up", "b"]).fails(1);
    assert!(!up.stderr.contains("commit"), "{}", up.stderr);
    assert!(up.stdout.contains("Text conflicts: 2"), "{}", up.stdout);
}

#[test]
fn edited_here_deleted_there_is_kept_as_a_tree_conflict() {
    let server = Server::demo();
    let (a, b) = two_checkouts(&server);
    a.run(&["rm", "a/demo/story.txt"]).ok();
    a.run(&["ci", "-m", "rm", "a"]).ok();
    b.write("b/demo/story.txt", "precious\n");
    let up = b.run(&["up", "b"]).fails(1);
    assert!(
        contains_line(&up.stdout, "   C b/demo/story.txt"),
        "{}",
        up.stdout
    );
    assert!(up.stdout.contains("Tree conflicts: 1"), "{}", up.stdout);
    assert_eq!(b.read("b/demo/story.txt"), "precious\n");
    assert_eq!(
        b.run(&["st", "b"]).ok().stdout,
        "A     C b/demo/story.txt\n      >   local edit, incoming delete upon update\n"
    );
    // Keeping it re-adds it on commit.
    b.run(&["resolved", "b/demo/story.txt"]).ok();
    b.run(&["ci", "-m", "keep", "b"]).ok();
    a.run(&["up", "a"]).ok();
    assert_eq!(a.read("a/demo/story.txt"), "precious\n");
}

#[test]
fn an_unversioned_file_is_never_overwritten_by_an_incoming_add() {
    let server = Server::demo();
    let (a, b) = two_checkouts(&server);
    a.write("a/demo/new.txt", "from a\n");
    a.run(&["add", "a/demo/new.txt"]).ok();
    a.run(&["ci", "-m", "new", "a"]).ok();
    b.write("b/demo/new.txt", "local\n");
    let up = b.run(&["up", "b"]).fails(1);
    assert!(
        contains_line(&up.stdout, "   C b/demo/new.txt"),
        "{}",
        up.stdout
    );
    assert_eq!(b.read("b/demo/new.txt"), "local\n");
    // The local file is now a local modification of the server's.
    assert_eq!(
        b.run(&["st", "b"]).ok().stdout,
        "M     C b/demo/new.txt\n      >   local unversioned, incoming add upon update\n"
    );
    b.run(&["resolve", "--accept", "theirs-full", "b/demo/new.txt"])
        .ok();
    assert_eq!(b.read("b/demo/new.txt"), "from a\n");
}

#[test]
fn server_deletions_arrive_with_d() {
    let server = Server::demo();
    let (a, b) = two_checkouts(&server);
    a.run(&["rm", "a/demo/pages"]).ok();
    a.run(&["ci", "-m", "rm pages", "a"]).ok();
    let up = b.run(&["up", "b"]).ok();
    assert!(
        contains_line(&up.stdout, "D    b/demo/pages"),
        "{}",
        up.stdout
    );
    assert!(!b.exists("b/demo/pages"));
}

#[test]
fn status_verbose_and_unversioned() {
    let server = Server::demo();
    let c = Client::new();
    c.run(&["co", &server.url("demo"), "w"]).ok();
    c.write("w/demo/stray.txt", "x");
    std::fs::remove_file(c.path("w/demo/README.md")).unwrap();
    let st = c.run(&["st", "w"]).ok().stdout;
    assert_eq!(st, "!       w/demo/README.md\n?       w/demo/stray.txt\n");
    assert_eq!(
        c.run(&["st", "-q", "w"]).ok().stdout,
        "!       w/demo/README.md\n"
    );
    let v = c.run(&["st", "-v", "w"]).ok().stdout;
    assert!(
        v.lines()
            .any(|l| l.ends_with(" zsync        w/demo/index.html") && l.starts_with("        ")),
        "{v}"
    );
    assert!(v.lines().count() >= 8, "{v}");
    // update brings back what was deleted by hand.
    let up = c.run(&["up", "w"]).ok();
    assert!(
        up.stdout.contains("Restored 'w/demo/README.md'"),
        "{}",
        up.stdout
    );
    assert!(c.exists("w/demo/README.md"));
    // An item's path may be given from inside the copy, too.
    assert_eq!(
        c.run_in("w/demo", &["st", "stray.txt"]).ok().stdout,
        "?       stray.txt\n"
    );
}

/// Status keeps what each folder held (`.zsync/listings`) and does not
/// read a folder again while it is unchanged; a name added or removed on
/// disk, or an entry the index no longer holds, still shows.
#[test]
fn status_trusts_a_folder_listing_only_while_nothing_changed() {
    // Past the racy window: a folder changed within it is not recorded.
    let settle = || std::thread::sleep(std::time::Duration::from_millis(200));
    let server = Server::demo();
    let c = Client::new();
    c.run(&["co", &server.url("demo"), "w"]).ok();
    c.write("w/demo/pages/stray.txt", "x");
    settle();
    let stray = "?       w/demo/pages/stray.txt\n";
    assert_eq!(c.run(&["st", "w"]).ok().stdout, stray);
    assert!(c.exists("w/demo/.zsync/listings"));
    assert_eq!(c.run(&["st", "w"]).ok().stdout, stray);

    c.write("w/demo/new.txt", "n");
    std::fs::remove_file(c.path("w/demo/pages/stray.txt")).unwrap();
    let new = "?       w/demo/new.txt\n";
    assert_eq!(c.run(&["st", "w"]).ok().stdout, new);

    // Removed from version control but kept: the folder is unchanged on
    // disk, and only the index says the file is no longer versioned.
    c.run(&["rm", "--keep-local", "w/demo/notes.txt"]).ok();
    settle();
    let st = c.run(&["st", "w"]).ok().stdout;
    assert_eq!(st, format!("{new}D       w/demo/notes.txt\n"));
    c.run(&["ci", "-m", "unversion notes", "w"]).ok();
    let st = c.run(&["st", "w"]).ok().stdout;
    assert_eq!(st, format!("{new}?       w/demo/notes.txt\n"));

    // A damaged listing is ignored, not believed.
    std::fs::write(c.path("w/demo/.zsync/listings"), "zsynclst junk").unwrap();
    assert_eq!(c.run(&["st", "w"]).ok().stdout, st);
}

#[test]
fn checkin_creates_a_folder_and_a_working_copy() {
    let server = Server::demo();
    let c = Client::new();
    c.write("site/index.html", "<p>hi</p>\n");
    c.write("site/css/main.css", "p{}\n");
    c.write_bytes(
        "site/logo.png",
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01",
    );
    let out = c
        .run(&["checkin", "-m", "import", &server.url("demo/site"), "site"])
        .ok();
    assert!(
        out.stdout.contains("Adding         site/css/main.css"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .lines()
            .last()
            .unwrap()
            .starts_with("Committed revision ")
    );
    // The directory is now a clean working copy of the new folder.
    assert_eq!(c.run(&["st", "site"]).ok().stdout, "");
    c.write("site/index.html", "<p>hello</p>\n");
    c.run(&["ci", "-m", "edit", "site"]).ok();
    let d = Client::new();
    d.run(&["co", &server.url("demo/site"), "x"]).ok();
    assert_eq!(d.read("x/site/index.html"), "<p>hello</p>\n");
    assert_eq!(
        d.run(&["propget", "content_type", "x/site/logo.png"])
            .ok()
            .stdout,
        "image/png\n"
    );
    // A second checkin to the same URL is refused and leaves the tree alone.
    c.write("again/a.txt", "a\n");
    let out = c
        .run(&["checkin", &server.url("demo/site"), "again"])
        .fails(1);
    assert!(out.stderr.contains("already exists"), "{}", out.stderr);
    assert!(!c.exists("again/.zsync"));
}

#[test]
fn ignore_rules_keep_droppings_out_of_status_and_add() {
    let server = Server::demo();
    let c = Client::new();
    c.run(&["co", &server.url("demo"), "w"]).ok();
    c.write("w/demo/notes.txt~", "backup");
    c.write("w/demo/.zsyncignore", "*.log\nbuild/\n");
    c.write("w/demo/run.log", "log");
    c.write("w/demo/build/out.bin", "x");
    c.write("w/demo/src/a.txt", "a");
    c.write("w/demo/src/a.txt.swp", "swap");
    assert_eq!(
        c.run(&["st", "w"]).ok().stdout,
        "?       w/demo/.zsyncignore\n?       w/demo/src\n"
    );
    let all = c.run(&["st", "--no-ignore", "w"]).ok().stdout;
    assert!(all.contains("I       w/demo/run.log\n"), "{all}");
    assert!(all.contains("I       w/demo/build\n"), "{all}");
    assert!(all.contains("I       w/demo/notes.txt~\n"), "{all}");
    // Recursive add leaves ignored files out; --no-ignore takes them.
    let out = c.run(&["add", "w/demo/src"]).ok().stdout;
    assert!(
        out.contains("w/demo/src/a.txt\n") && !out.contains(".swp"),
        "{out}"
    );
    c.run(&["revert", "w/demo/src"]).ok();
    let out = c.run(&["add", "--no-ignore", "w/demo/src"]).ok().stdout;
    assert!(out.contains("w/demo/src/a.txt.swp"), "{out}");
}

/// Status looks at each item from its folder: a file turned folder, a
/// folder turned file (its items then count as missing), a symlink, a
/// removed folder with its items, and an edit that keeps the size.
#[cfg(unix)]
#[test]
fn status_sees_changed_kinds_and_removed_folders() {
    let server = Server::demo();
    let c = Client::new();
    c.run(&["co", &server.url("demo"), "w"]).ok();
    let before = c.run(&["st", "-v", "w"]).ok().stdout;
    let readme = c.read("w/demo/README.md");
    c.write("w/demo/README.md", &readme.to_uppercase());
    assert_eq!(c.read("w/demo/README.md").len(), readme.len());
    std::fs::remove_file(c.path("w/demo/index.html")).unwrap();
    std::fs::create_dir(c.path("w/demo/index.html")).unwrap();
    std::fs::remove_dir_all(c.path("w/demo/pages")).unwrap();
    c.write("w/demo/pages", "now a file\n");
    std::fs::remove_dir_all(c.path("w/demo/images")).unwrap();
    std::fs::remove_file(c.path("w/demo/notes.txt")).unwrap();
    std::os::unix::fs::symlink("README.md", c.path("w/demo/notes.txt")).unwrap();

    let st = c.run(&["st", "w"]).ok().stdout;
    let mut expected = vec![
        "M       w/demo/README.md".to_string(),
        "~       w/demo/index.html".to_string(),
        "~       w/demo/pages".to_string(),
        "!       w/demo/images".to_string(),
        "~       w/demo/notes.txt".to_string(),
    ];
    // Every item that was inside the two folders is missing.
    for line in before.lines() {
        let path = line.rsplit(' ').next().unwrap();
        if path.starts_with("w/demo/pages/") || path.starts_with("w/demo/images/") {
            expected.push(format!("!       {path}"));
        }
    }
    assert!(expected.len() > 6, "{before}");
    for line in &expected {
        assert!(contains_line(&st, line), "{line} in\n{st}");
    }
    assert_eq!(st.lines().count(), expected.len(), "{st}");
}
