//! Conflicts done properly: every `--accept` choice, `update --accept`, the
//! interactive prompt, property conflicts and tree conflicts, through the
//! real binaries.

mod common;

use std::process::Command;

use common::{Client, Server, contains_line, ls, zsync_bin};

const BASE: &str = "one\ntwo\nthree\nfour\nfive\nsix\n";

/// Two checkouts sharing `f.txt` = BASE, then a conflicting pair of edits:
/// `a` commits changes to lines 2 and 6, `b` edits lines 2 and 4 (line 2
/// conflicts; the others are separated by an unchanged line, so they merge).
fn conflicted(server: &Server) -> (Client, Client) {
    let a = Client::new();
    a.run(&["co", &server.url("demo"), "a"]).ok();
    a.write("a/demo/f.txt", BASE);
    a.run(&["add", "a/demo/f.txt"]).ok();
    a.run(&["ci", "-m", "f", "a"]).ok();
    let b = Client::new();
    b.run(&["co", &server.url("demo"), "b"]).ok();
    a.write("a/demo/f.txt", "one\nTWO-a\nthree\nfour\nfive\nSIX\n");
    a.run(&["ci", "-m", "a", "a"]).ok();
    b.write("b/demo/f.txt", "one\nTWO-b\nthree\nFOUR\nfive\nsix\n");
    (a, b)
}

#[test]
fn every_accept_choice_rebuilds_its_version() {
    let cases = [
        ("base", BASE),
        ("mine-full", "one\nTWO-b\nthree\nFOUR\nfive\nsix\n"),
        ("theirs-full", "one\nTWO-a\nthree\nfour\nfive\nSIX\n"),
        ("mine-conflict", "one\nTWO-b\nthree\nFOUR\nfive\nSIX\n"),
        ("theirs-conflict", "one\nTWO-a\nthree\nFOUR\nfive\nSIX\n"),
    ];
    let server = Server::demo();
    for (accept, expected) in cases {
        let (_a, b) = conflicted(&server);
        b.run(&["up", "b"]).fails(1);
        // Editing the file meanwhile does not change what a choice rebuilds.
        b.write("b/demo/f.txt", "scribbled\n");
        let out = b.run(&["resolve", "--accept", accept, "b/demo/f.txt"]).ok();
        assert!(
            out.stdout
                .contains("Resolved conflicted state of 'b/demo/f.txt'"),
            "{}",
            out.stdout
        );
        assert_eq!(b.read("b/demo/f.txt"), expected, "--accept {accept}");
        assert_eq!(
            ls(&b.path("b/demo"))
                .iter()
                .filter(|n| n.starts_with("f.txt."))
                .count(),
            0
        );
        let st = b.run(&["st", "b/demo/f.txt"]).ok().stdout;
        assert!(!st.starts_with('C'), "{st}");
        // Start over for the next case: the server keeps moving on.
        let _ = std::fs::remove_dir_all(b.path("b"));
        _a.write("a/demo/f.txt", BASE);
        _a.run(&["ci", "-m", "reset", "a"]).ok();
        _a.run(&["rm", "a/demo/f.txt"]).ok();
        _a.run(&["ci", "-m", "reset", "a"]).ok();
    }
}

#[test]
fn update_accept_settles_conflicts_for_scripts() {
    let server = Server::demo();
    let (_a, b) = conflicted(&server);
    let out = b.run(&["up", "--accept", "theirs-conflict", "b"]).ok();
    assert!(
        contains_line(&out.stdout, "C    b/demo/f.txt"),
        "{}",
        out.stdout
    );
    assert_eq!(
        b.read("b/demo/f.txt"),
        "one\nTWO-a\nthree\nFOUR\nfive\nSIX\n"
    );
    assert_eq!(b.run(&["st", "b"]).ok().stdout, "M       b/demo/f.txt\n");
    // postpone leaves it in conflict
    let (_a2, c) = {
        let c = Client::new();
        c.run(&["co", &server.url("demo"), "c"]).ok();
        _a.write("a/demo/f.txt", "x\n");
        _a.run(&["ci", "-m", "x", "a"]).ok();
        c.write("c/demo/f.txt", "y\n");
        ((), c)
    };
    c.run(&["up", "--accept", "postpone", "c"]).fails(1);
    assert!(
        c.run(&["st", "c"])
            .ok()
            .stdout
            .starts_with("C       c/demo/f.txt")
    );
}

#[test]
fn the_interactive_prompt_offers_svn_choices() {
    let server = Server::demo();
    let (_a, b) = conflicted(&server);
    let mut cmd = Command::new(zsync_bin());
    cmd.args(["update", "b"])
        .current_dir(b.dir.path())
        .env("ZSYNC_CONFIG_DIR", b.config.path());
    let mut p = rexpect::session::spawn_command(cmd, Some(20_000)).unwrap();
    p.exp_string("Conflict discovered in 'b/demo/f.txt'.")
        .unwrap();
    p.exp_string("(mc) my side of conflict").unwrap();
    p.exp_string(": ").unwrap();
    p.send_line("df").unwrap();
    p.exp_string("+<<<<<<< .mine").unwrap();
    p.exp_string("Select:").unwrap();
    p.send_line("mc").unwrap();
    p.exp_string("Resolved conflicted state of 'b/demo/f.txt'")
        .unwrap();
    p.exp_string("Updated to revision").unwrap();
    p.exp_eof().unwrap();
    assert_eq!(
        b.read("b/demo/f.txt"),
        "one\nTWO-b\nthree\nFOUR\nfive\nSIX\n"
    );
}

#[test]
fn property_conflicts_show_in_column_two_and_resolve() {
    let server = Server::demo();
    let a = Client::new();
    a.run(&["co", &server.url("demo"), "a"]).ok();
    let b = Client::new();
    b.run(&["co", &server.url("demo"), "b"]).ok();
    a.run(&["propset", "title", "From A", "a/demo/index.html"])
        .ok();
    a.run(&["propset", "owner", "ann", "a/demo/notes.txt"]).ok();
    assert_eq!(
        a.run(&["st", "a"]).ok().stdout,
        " M      a/demo/index.html\n M      a/demo/notes.txt\n"
    );
    a.run(&["ci", "-m", "props", "a"]).ok();

    b.run(&["propset", "title", "From B", "b/demo/index.html"])
        .ok();
    // A different key on the same item merges cleanly.
    b.run(&["propset", "reviewer", "bob", "b/demo/notes.txt"])
        .ok();
    let up = b.run(&["up", "b"]).fails(1);
    assert!(
        contains_line(&up.stdout, " C   b/demo/index.html"),
        "{}",
        up.stdout
    );
    assert!(
        contains_line(&up.stdout, " G   b/demo/notes.txt"),
        "{}",
        up.stdout
    );
    assert!(up.stdout.contains("Property conflicts: 1"), "{}", up.stdout);
    assert_eq!(
        b.run(&["propget", "owner", "b/demo/notes.txt"]).ok().stdout,
        "ann\n"
    );
    assert_eq!(
        b.run(&["propget", "reviewer", "b/demo/notes.txt"])
            .ok()
            .stdout,
        "bob\n"
    );
    assert!(
        b.run(&["st", "b"])
            .ok()
            .stdout
            .contains(" C      b/demo/index.html\n")
    );
    let pl = b.run(&["proplist", "-v", "b/demo/index.html"]).ok().stdout;
    assert!(pl.contains("Property conflict on 'title':"), "{pl}");
    assert!(
        pl.contains("theirs: From A") && pl.contains("mine:   From B"),
        "{pl}"
    );
    let out = b.run(&["ci", "-m", "x", "b"]).fails(1);
    assert!(out.stderr.contains("remains in conflict"), "{}", out.stderr);
    b.run(&["resolve", "--accept", "theirs-full", "b/demo/index.html"])
        .ok();
    assert_eq!(
        b.run(&["propget", "title", "b/demo/index.html"])
            .ok()
            .stdout,
        "From A\n"
    );
    b.run(&["ci", "-m", "merged props", "b"]).ok();
    a.run(&["up", "a"]).ok();
    assert_eq!(
        a.run(&["propget", "reviewer", "a/demo/notes.txt"])
            .ok()
            .stdout,
        "bob\n"
    );
}

#[test]
fn tree_conflicts_are_described_and_settled() {
    let server = Server::demo();
    let a = Client::new();
    a.run(&["co", &server.url("demo"), "a"]).ok();
    let b = Client::new();
    b.run(&["co", &server.url("demo"), "b"]).ok();

    // Deleted here, edited there.
    a.write("a/demo/notes.txt", "edited by a\n");
    // Added on both sides with the same name.
    a.write("a/demo/both.txt", "a's\n");
    a.run(&["add", "a/demo/both.txt"]).ok();
    // A folder arrives where a local file sits.
    a.run(&["mkdir", "a/demo/thing"]).ok();
    a.write("a/demo/thing/inner.txt", "inner\n");
    a.run(&["add", "a/demo/thing/inner.txt"]).ok();
    a.run(&["ci", "-m", "a", "a"]).ok();

    b.run(&["rm", "b/demo/notes.txt"]).ok();
    b.write("b/demo/both.txt", "b's\n");
    b.run(&["add", "b/demo/both.txt"]).ok();
    b.write("b/demo/thing", "a file\n");
    let up = b.run(&["up", "b"]).fails(1);
    for p in ["notes.txt", "both.txt", "thing"] {
        assert!(
            contains_line(&up.stdout, &format!("   C b/demo/{p}")),
            "{p}: {}",
            up.stdout
        );
    }
    assert!(up.stdout.contains("Tree conflicts: 3"), "{}", up.stdout);
    let st = b.run(&["st", "b"]).ok().stdout;
    assert!(
        st.contains(
            "D     C b/demo/notes.txt\n      >   local delete, incoming edit upon update\n"
        ),
        "{st}"
    );
    assert!(
        st.contains("M     C b/demo/both.txt\n      >   local add, incoming add upon update\n"),
        "{st}"
    );
    assert!(st.contains("~     C b/demo/thing\n"), "{st}");
    let info = b.run(&["info", "b/demo/both.txt"]).ok().stdout;
    assert!(
        info.contains("Tree conflict: local add, incoming add upon update"),
        "{info}"
    );

    // base does not apply to a tree conflict: refused, nothing changes.
    let out = b
        .run(&["resolve", "--accept", "base", "b/demo/both.txt"])
        .fails(1);
    assert!(out.stderr.contains("tree conflict"), "{}", out.stderr);
    assert_eq!(b.read("b/demo/both.txt"), "b's\n");

    b.run(&["resolve", "--accept", "working", "b/demo/notes.txt"])
        .ok();
    b.run(&["resolve", "--accept", "working", "b/demo/both.txt"])
        .ok();
    b.run(&["resolve", "--accept", "theirs-full", "b/demo/thing"])
        .ok();
    assert!(b.path("b/demo/thing").is_dir());
    b.run(&["up", "b"]).ok();
    assert_eq!(b.read("b/demo/thing/inner.txt"), "inner\n");
    b.run(&["ci", "-m", "b", "b"]).ok();
    a.run(&["up", "a"]).ok();
    assert!(!a.exists("a/demo/notes.txt"));
    assert_eq!(a.read("a/demo/both.txt"), "b's\n");
}

#[test]
fn bad_resolve_input() {
    let server = Server::demo();
    let c = Client::new();
    c.run(&["co", &server.url("demo"), "w"]).ok();
    c.run(&["resolve", "--accept", "nonsense", "w/demo/notes.txt"])
        .fails(2);
    let out = c
        .run(&["resolve", "--accept", "working", "w/demo/notes.txt"])
        .fails(1);
    assert!(out.stderr.contains("is not in conflict"), "{}", out.stderr);
    c.run(&["update", "--accept", "nonsense", "w"]).fails(2);
}

#[test]
fn merge_applies_another_checkouts_changes_once() {
    let server = Server::demo();
    let src = Client::new();
    src.run(&["co", &server.url("demo"), "src"]).ok();
    let dst = Client::new();
    dst.run(&["co", &server.url("demo"), "dst"]).ok();

    // Changes made in the source checkout: an edit, an addition, a
    // deletion and a property.
    src.write("src/demo/notes.txt", "notes from src\n");
    src.write("src/demo/new.md", "# new\n");
    src.run(&["add", "src/demo/new.md"]).ok();
    src.run(&["rm", "src/demo/README.md"]).ok();
    src.run(&["propset", "title", "Merged", "src/demo/index.html"])
        .ok();

    let out = dst
        .run_in(
            "dst/demo",
            &["merge", &src.path("src/demo").display().to_string()],
        )
        .ok();
    assert!(
        contains_line(&out.stdout, "U    notes.txt"),
        "{}",
        out.stdout
    );
    assert!(contains_line(&out.stdout, "A    new.md"), "{}", out.stdout);
    assert!(
        contains_line(&out.stdout, "D    README.md"),
        "{}",
        out.stdout
    );
    assert!(
        contains_line(&out.stdout, " U   index.html"),
        "{}",
        out.stdout
    );
    assert_eq!(dst.read("dst/demo/notes.txt"), "notes from src\n");
    let st = dst.run(&["st", "dst"]).ok().stdout;
    assert_eq!(
        st,
        "D       dst/demo/README.md\n M      dst/demo/index.html\nA       dst/demo/new.md\nM       dst/demo/notes.txt\n"
    );

    // Merging again applies nothing twice.
    let source = src.path("src/demo").display().to_string();
    let again = dst.run(&["merge", &source, "dst/demo"]).ok();
    assert!(
        again.stdout.contains("Nothing to merge."),
        "{}",
        again.stdout
    );

    // A later source edit that overlaps a target edit conflicts, as update does.
    src.write("src/demo/notes.txt", "notes from src, again\n");
    dst.write("dst/demo/notes.txt", "notes edited in dst\n");
    let out = dst.run(&["merge", &source, "dst/demo"]).fails(1);
    assert!(
        contains_line(&out.stdout, "C    dst/demo/notes.txt"),
        "{}",
        out.stdout
    );
    assert!(dst.read("dst/demo/notes.txt").contains("<<<<<<< .working"));
    dst.run(&["resolve", "--accept", "theirs-full", "dst/demo/notes.txt"])
        .ok();
    assert_eq!(dst.read("dst/demo/notes.txt"), "notes from src, again\n");

    // Nothing was committed by merge; committing the target sends it all.
    dst.run(&["ci", "-m", "merged from src", "dst"]).ok();
    let check = Client::new();
    check.run(&["co", &server.url("demo"), "c"]).ok();
    assert_eq!(check.read("c/demo/new.md"), "# new\n");
    assert!(!check.exists("c/demo/README.md"));
}

#[test]
fn merge_refuses_unrelated_trees_and_changes_nothing() {
    let server = Server::demo();
    let c = Client::new();
    c.run(&["co", &server.url("demo"), "a"]).ok();
    c.run(&["co", &server.url("demo/pages"), "b"]).ok();
    let out = c.run(&["merge", "a/demo", "b/pages"]).fails(1);
    assert!(out.stderr.contains("unrelated"), "{}", out.stderr);
    assert_eq!(c.run(&["st", "b"]).ok().stdout, "");
    c.run(&["merge", "nowhere", "b/pages"]).fails(1);
}

#[test]
fn merge_a_revision_range_of_a_server_folder() {
    let server = Server::demo();
    let dev = Client::new();
    dev.run(&["co", &server.url("demo"), "dev"]).ok();
    // A second folder (say, "live") starts as a copy of demo.
    let live = Client::new();
    std::fs::create_dir_all(live.path("src")).unwrap();
    for name in ["index.html", "notes.txt", "README.md"] {
        std::fs::copy(
            dev.path(&format!("dev/demo/{name}")),
            live.path(&format!("src/{name}")),
        )
        .unwrap();
    }
    live.run(&["checkin", "-m", "live", &server.url("live"), "src"])
        .ok();

    // Two revisions of work on demo.
    dev.write("dev/demo/notes.txt", "notes v2\n");
    let r1 = dev.run(&["ci", "-m", "notes", "dev"]).ok().stdout;
    let first: u64 = r1
        .trim()
        .rsplit(' ')
        .next()
        .unwrap()
        .trim_end_matches('.')
        .parse()
        .unwrap();
    dev.write("dev/demo/extra.txt", "extra\n");
    dev.run(&["add", "dev/demo/extra.txt"]).ok();
    dev.run(&["rm", "dev/demo/README.md"]).ok();
    dev.run(&["ci", "-m", "more", "dev"]).ok();

    let range = format!("{}:HEAD", first - 1);
    let out = live
        .run(&["merge", "-r", &range, &server.url("demo"), "src"])
        .ok();
    assert!(
        contains_line(&out.stdout, "U    src/notes.txt"),
        "{}",
        out.stdout
    );
    assert!(
        contains_line(&out.stdout, "A    src/extra.txt"),
        "{}",
        out.stdout
    );
    assert!(
        contains_line(&out.stdout, "D    src/README.md"),
        "{}",
        out.stdout
    );
    assert_eq!(live.read("src/notes.txt"), "notes v2\n");
    // Merging the same range again applies nothing; so does merging "since last time".
    let again = live
        .run(&["merge", "-r", &range, &server.url("demo"), "src"])
        .ok();
    assert!(
        again.stdout.contains("Nothing to merge."),
        "{}",
        again.stdout
    );
    let since = live.run(&["merge", &server.url("demo"), "src"]).ok();
    assert!(
        since.stdout.contains("Nothing to merge."),
        "{}",
        since.stdout
    );
    live.run(&["ci", "-m", "merged from demo", "src"]).ok();

    // Bad ranges are usage errors; a URL that was never merged needs -r.
    live.run(&["merge", "-r", "x", &server.url("demo"), "src"])
        .fails(2);
    let out = live
        .run(&["merge", &server.url("demo/pages"), "src"])
        .fails(1);
    assert!(out.stderr.contains("-r N:M"), "{}", out.stderr);
}
