//! `status -u` and `update` ask the server's change feed (one small request)
//! instead of fetching the whole manifest.

mod common;

use common::{Client, Server};

/// The revision in the last line of a checkout, commit or update.
fn rev_of(stdout: &str) -> u64 {
    stdout
        .lines()
        .last()
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|n| n.strip_suffix('.'))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no revision in {stdout:?}"))
}

/// A `status -u` line of an item with column 1 `text` and column 9 `star`.
fn line(text: char, star: char, wrev: Option<u64>, path: &str) -> String {
    let wrev = wrev.map(|w| w.to_string()).unwrap_or_default();
    format!("{text}       {star}   {wrev:>6}   {path}")
}

fn against(rev: u64) -> String {
    format!("Status against revision: {rev:>6}")
}

#[test]
fn status_u_marks_what_is_newer_on_the_server() {
    let server = Server::demo();
    let a = Client::new();
    a.run(&["checkout", &server.url("demo"), "a"]).ok();
    let b = Client::new();
    let base = rev_of(&b.run(&["checkout", &server.url("demo"), "b"]).ok().stdout);

    // Up to date: nothing but the server's revision.
    let st = b.run(&["status", "-u", "b"]).ok();
    assert_eq!(st.stdout, format!("{}\n", against(base)));

    // Another checkout changes a file and adds one.
    let html = a.read("a/demo/index.html");
    a.write("a/demo/index.html", &format!("{html}<!-- a -->\n"));
    a.write("a/demo/new.txt", "new\n");
    a.run(&["add", "a/demo/new.txt"]).ok();
    let rev = rev_of(&a.run(&["commit", "-m", "a", "a"]).ok().stdout);
    assert!(rev > base);

    // A local edit in b shows beside the server's news.
    b.write("b/demo/notes.txt", "mine\n");
    let st = b.run(&["status", "--show-updates", "b"]).ok();
    assert_eq!(
        st.stdout,
        [
            line(' ', '*', Some(base), "b/demo/index.html"),
            line(' ', '*', None, "b/demo/new.txt"),
            line('M', ' ', Some(base), "b/demo/notes.txt"),
            against(rev),
            String::new(),
        ]
        .join("\n")
    );
    // Plain status stays offline and unchanged.
    assert_eq!(
        b.run(&["status", "b"]).ok().stdout,
        "M       b/demo/notes.txt\n"
    );

    // The committing copy knows its own commit is no news, even though its
    // other items are still at the older revision.
    let st = a.run(&["status", "-u", "a"]).ok();
    assert_eq!(st.stdout, format!("{}\n", against(rev)));

    // After an update b is up to date again; the edit stays.
    let up = b.run(&["update", "b"]).ok();
    assert!(
        up.stdout
            .ends_with(&format!("Updated to revision {rev}.\n")),
        "{}",
        up.stdout
    );
    let st = b.run(&["status", "-u", "b"]).ok();
    assert_eq!(
        st.stdout,
        [
            line('M', ' ', Some(rev), "b/demo/notes.txt"),
            against(rev),
            String::new(),
        ]
        .join("\n")
    );
}

#[test]
fn update_with_nothing_new_says_at_revision() {
    let server = Server::demo();
    let a = Client::new();
    let base = rev_of(&a.run(&["checkout", &server.url("demo"), "a"]).ok().stdout);
    let up = a.run(&["update", "a"]).ok();
    assert_eq!(up.stdout, format!("At revision {base}.\n"));

    // Its own commit is no news, as in svn: nothing to fetch.
    a.write("a/demo/notes.txt", "changed\n");
    let rev = rev_of(&a.run(&["commit", "-m", "n", "a"]).ok().stdout);
    let up = a.run(&["update", "a"]).ok();
    assert_eq!(up.stdout, format!("At revision {rev}.\n"));
    let up = a.run(&["up", "a"]).ok();
    assert_eq!(up.stdout, format!("At revision {rev}.\n"));

    // A file deleted by hand is not "nothing to do": update restores it.
    std::fs::remove_file(a.path("a/demo/README.md")).unwrap();
    let up = a.run(&["update", "a"]).ok();
    assert!(
        up.stdout
            .ends_with(&format!("Updated to revision {rev}.\n")),
        "{}",
        up.stdout
    );
    assert!(a.exists("a/demo/README.md"));
    let up = a.run(&["update", "a"]).ok();
    assert_eq!(up.stdout, format!("At revision {rev}.\n"));
}

/// A no-op update answers from the index's header and the folders' ctimes
/// (debug builds announce it at a fault point); whatever was removed by
/// hand since, even with its folder's mtime set back, takes the long way
/// and comes back.
#[test]
fn a_no_op_update_at_a_glance_still_restores_what_was_deleted() {
    if !cfg!(debug_assertions) {
        return;
    }
    let server = Server::demo();
    let a = Client::new();
    let rev = rev_of(&a.run(&["checkout", &server.url("demo"), "a"]).ok().stdout);
    let glance = [
        ("ZSYNC_FAULT", "update-at-a-glance"),
        ("ZSYNC_FAULT_PAUSE_MS", "0"),
    ];
    let at_a_glance = |a: &Client| {
        let up = a.run_env(&glance, &["update", "a"]).ok();
        assert_eq!(up.stdout, format!("At revision {rev}.\n"));
        up.stderr.contains("zsync-fault: update-at-a-glance")
    };
    // The checkout leaves a glance, so even the first no-op update is
    // answered at one.
    assert!(at_a_glance(&a));
    assert!(at_a_glance(&a));
    // A new file changes its folder, but nothing versioned is missing
    // (whether the glance lists the folder's children depends on timing).
    a.write("a/demo/pages/unversioned.txt", "new\n");
    at_a_glance(&a);

    let removals: [&dyn Fn(); 3] = [
        &|| std::fs::remove_file(a.path("a/demo/pages/about.html")).unwrap(),
        &|| std::fs::remove_dir_all(a.path("a/demo/images")).unwrap(),
        &|| {
            // rsync -t style: the folder's mtime put back afterwards.
            let dir = a.path("a/demo/pages");
            let mtime = std::fs::metadata(&dir).unwrap().modified().unwrap();
            std::fs::remove_file(dir.join("about.html")).unwrap();
            std::fs::File::open(&dir)
                .unwrap()
                .set_modified(mtime)
                .unwrap();
        },
    ];
    for remove in removals {
        // Only the first no-op after a long one may need to save a glance.
        assert!(at_a_glance(&a) || at_a_glance(&a));
        remove();
        let up = a.run_env(&glance, &["update", "a"]).ok();
        assert!(!up.stderr.contains("zsync-fault"), "{}", up.stderr);
        assert!(a.exists("a/demo/pages/about.html"));
        assert!(a.exists("a/demo/images"));
    }
}

/// An update receiving news with a glance that still holds stats no item;
/// one whose glance no longer holds (a file deleted by hand since the
/// checkout) also restores what is missing.
#[test]
fn an_update_with_news_restores_what_was_deleted_since_the_glance() {
    let server = Server::demo();
    let a = Client::new();
    let b = Client::new();
    a.run(&["co", &server.url("demo"), "w"]).ok();
    b.run(&["co", &server.url("demo"), "w"]).ok();
    for round in 0..2 {
        if round == 1 {
            std::fs::remove_file(a.path("w/demo/pages/about.html")).unwrap();
        }
        b.write("w/demo/index.html", &format!("<p>round {round}</p>\n"));
        b.run(&["ci", "-m", "edit", "w"]).ok();
        let out = a.run(&["up", "w"]).ok().stdout;
        assert!(
            common::contains_line(&out, "U    w/demo/index.html"),
            "{out}"
        );
        assert!(a.exists("w/demo/pages/about.html"), "round {round}: {out}");
        assert_eq!(
            a.read("w/demo/index.html"),
            format!("<p>round {round}</p>\n")
        );
    }
    assert_eq!(a.run(&["status", "w"]).ok().stdout, "");
}

/// Every file below `dir` (but the admin folder) with its content.
fn tree(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            if e.file_name() == ".zsync" {
                continue;
            }
            if p.is_dir() {
                out.push((
                    p.strip_prefix(dir).unwrap().display().to_string() + "/",
                    vec![],
                ));
                todo.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().display().to_string();
                out.push((rel, std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// An update that follows the feed fetches only the changed paths: adds
/// (a file, a folder with a file), edits, a property change and deletes
/// (a file, later a folder) all arrive, a local edit elsewhere stays, and
/// the result equals a fresh checkout.
#[test]
fn update_of_a_few_changed_paths_matches_a_fresh_checkout() {
    let server = Server::demo();
    let a = Client::new();
    let b = Client::new();
    a.run(&["co", &server.url("demo"), "w"]).ok();
    b.run(&["co", &server.url("demo"), "w"]).ok();
    b.write("w/demo/notes.txt", "b's own notes\n");

    a.write("w/demo/index.html", "<p>changed by a</p>\n");
    a.write("w/demo/pages/new.html", "<p>new</p>\n");
    a.run(&["add", "w/demo/pages/new.html"]).ok();
    a.run(&["mkdir", "w/demo/sub"]).ok();
    a.write("w/demo/sub/x.txt", "x\n");
    a.run(&["add", "w/demo/sub/x.txt"]).ok();
    a.run(&["rm", "w/demo/README.md"]).ok();
    a.run(&["propset", "title", "About us", "w/demo/pages/about.html"])
        .ok();
    let rev = rev_of(&a.run(&["ci", "-m", "several", "w"]).ok().stdout);

    let out = b.run(&["up", "w"]).ok().stdout;
    for line in [
        "U    w/demo/index.html",
        "A    w/demo/pages/new.html",
        "A    w/demo/sub",
        "A    w/demo/sub/x.txt",
        "D    w/demo/README.md",
        " U   w/demo/pages/about.html",
    ] {
        assert!(common::contains_line(&out, line), "{line} in\n{out}");
    }
    assert!(
        out.ends_with(&format!("Updated to revision {rev}.\n")),
        "{out}"
    );
    assert_eq!(
        b.run(&["status", "w"]).ok().stdout,
        "M       w/demo/notes.txt\n"
    );
    assert_eq!(
        b.run(&["propget", "title", "w/demo/pages/about.html"])
            .ok()
            .stdout,
        "About us\n"
    );
    let fresh = Client::new();
    fresh.run(&["co", &server.url("demo"), "w"]).ok();
    b.run(&["revert", "w/demo/notes.txt"]).ok();
    assert_eq!(tree(&b.path("w/demo")), tree(&fresh.path("w/demo")));
    assert_eq!(
        b.run(&["up", "w"]).ok().stdout,
        format!("At revision {rev}.\n")
    );

    // A folder deleted on the server goes, with what it held.
    a.run(&["rm", "w/demo/sub"]).ok();
    let rev = rev_of(&a.run(&["ci", "-m", "no sub", "w"]).ok().stdout);
    let out = b.run(&["up", "w"]).ok().stdout;
    assert!(common::contains_line(&out, "D    w/demo/sub"), "{out}");
    assert!(!b.exists("w/demo/sub"));
    assert_eq!(
        b.run(&["status", "-u", "w"]).ok().stdout,
        against(rev) + "\n"
    );
}
