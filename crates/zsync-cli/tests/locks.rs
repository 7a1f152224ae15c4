//! Locks through the real binaries: `zsync lock`, `unlock`, `locks`, the
//! commit refusal, status column 6, and `needs-lock`, over HTTP and SSH.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};

use common::{Client, Run, Server, contains_line, zsync_bin};

/// A `status` line with column 1 `text` and column 6 `lock`.
fn status_line(text: char, lock: char, path: &str) -> String {
    format!("{text}    {lock}  {path}")
}

/// A `status -u` line (no working revision shown for the test's needs:
/// the path and the first seven columns are what is compared).
fn has_status(stdout: &str, text: char, lock: char, path: &str) -> bool {
    let cols = format!("{text}    {lock} ");
    stdout
        .lines()
        .any(|l| l.starts_with(&cols) && l.ends_with(&format!(" {path}")))
}

#[cfg(unix)]
fn read_only(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o222 == 0
}

#[test]
fn a_lock_keeps_others_from_committing_until_released() {
    let server = Server::demo();
    server.add_user("alice", "pw-alice", "editor");
    server.add_user("bob", "pw-bob", "editor");
    let a = Client::new();
    a.run(&["checkout", &server.url_as("alice:pw-alice", "demo"), "a"])
        .ok();
    let b = Client::new();
    b.run(&["checkout", &server.url_as("bob:pw-bob", "demo"), "b"])
        .ok();

    let out = a
        .run(&["lock", "-m", "reworking the notes", "a/demo/notes.txt"])
        .ok();
    assert_eq!(out.stdout, "'a/demo/notes.txt' locked by user 'alice'.\n");
    assert_eq!(
        a.run(&["status", "a"]).ok().stdout,
        format!("{}\n", status_line(' ', 'K', "a/demo/notes.txt"))
    );
    // Locked already: a second lock is refused, naming the owner.
    let again = b.run(&["lock", "b/demo/notes.txt"]).fails(1);
    assert!(
        again.stderr.contains("locked by alice since"),
        "{}",
        again.stderr
    );

    // bob's commit touching the locked file is refused whole, naming path,
    // owner, time and comment; his other change is not committed either.
    b.write("b/demo/notes.txt", "bob's notes\n");
    b.write("b/demo/README.md", "bob's readme\n");
    let refused = b.run(&["commit", "-m", "bob", "b"]).fails(1);
    assert!(
        refused
            .stderr
            .contains("b/demo/notes.txt: locked by alice since 20"),
        "{}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains(": reworking the notes"),
        "{}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains("zsync unlock --force"),
        "{}",
        refused.stderr
    );
    let st = b.run(&["status", "-u", "b"]).ok().stdout;
    assert!(has_status(&st, 'M', 'O', "b/demo/notes.txt"), "{st}");
    assert!(has_status(&st, 'M', ' ', "b/demo/README.md"), "{st}");
    let locks = b.run(&["locks", "b"]).ok().stdout;
    assert!(
        locks.starts_with("b/demo/notes.txt  alice  20")
            && locks.ends_with("  reworking the notes\n"),
        "{locks}"
    );
    // bob holds no lock here, and as an Editor may not break alice's.
    let out = b.run(&["unlock", "b/demo/notes.txt"]).fails(1);
    assert!(
        out.stderr.contains("not locked in this working copy"),
        "{}",
        out.stderr
    );
    let out = b.run(&["unlock", "--force", "b/demo/notes.txt"]).fails(1);
    assert!(out.stderr.contains("permission denied"), "{}", out.stderr);

    // alice commits: her lock goes with it (svn-like), so bob may commit
    // after updating.
    a.write("a/demo/notes.txt", "alice's notes\n");
    a.run(&["commit", "-m", "alice", "a"]).ok();
    assert_eq!(a.run(&["status", "a"]).ok().stdout, "");
    assert_eq!(a.run(&["locks", "a"]).ok().stdout, "");
    b.run(&["revert", "b/demo/notes.txt"]).ok();
    b.run(&["update", "b"]).ok();
    b.write("b/demo/notes.txt", "bob's notes\n");
    b.run(&["commit", "-m", "bob", "b"]).ok();

    // --no-unlock keeps the lock through a commit.
    a.run(&["update", "a"]).ok();
    a.run(&["lock", "a/demo/README.md"]).ok();
    a.write("a/demo/README.md", "kept locked\n");
    a.run(&["commit", "--no-unlock", "-m", "keep", "a"]).ok();
    assert_eq!(
        a.run(&["status", "a/demo/README.md"]).ok().stdout,
        format!("{}\n", status_line(' ', 'K', "a/demo/README.md"))
    );
    let out = a.run(&["unlock", "a/demo/README.md"]).ok();
    assert_eq!(out.stdout, "'a/demo/README.md' unlocked.\n");
    assert_eq!(a.run(&["locks", "a"]).ok().stdout, "");
}

#[test]
fn broken_and_stolen_locks_show_after_status_u() {
    let server = Server::demo();
    server.add_user("alice", "pw-alice", "editor");
    let a = Client::new();
    a.run(&["checkout", &server.url_as("alice:pw-alice", "demo"), "a"])
        .ok();
    let m = Client::new();
    m.run(&["checkout", &server.url("demo"), "m"]).ok();

    a.run(&["lock", "a/demo/notes.txt"]).ok();
    // The manager steals it: alice's copy shows T, the manager's K.
    let out = m.run(&["lock", "--force", "m/demo/notes.txt"]).ok();
    assert_eq!(out.stdout, "'m/demo/notes.txt' locked by user 'zsync'.\n");
    let st = a.run(&["status", "-u", "a"]).ok().stdout;
    assert!(has_status(&st, ' ', 'T', "a/demo/notes.txt"), "{st}");
    let st = m.run(&["status", "-u", "m"]).ok().stdout;
    assert!(has_status(&st, ' ', 'K', "m/demo/notes.txt"), "{st}");
    // alice cannot commit through the stolen lock.
    a.write("a/demo/notes.txt", "mine\n");
    a.run(&["commit", "-m", "x", "a"]).fails(1);
    a.run(&["revert", "a/demo/notes.txt"]).ok();

    // The manager releases it: alice's lock is broken (B); unlocking only
    // forgets her token.
    m.run(&["unlock", "m/demo/notes.txt"]).ok();
    let st = a.run(&["status", "-u", "a"]).ok().stdout;
    assert!(has_status(&st, ' ', 'B', "a/demo/notes.txt"), "{st}");
    let out = a.run(&["unlock", "a/demo/notes.txt"]).ok();
    assert!(out.stderr.contains("its lock was broken"), "{}", out.stderr);
    assert_eq!(a.run(&["status", "-u", "a"]).ok().stdout.lines().count(), 1);

    // A manager breaks someone's lock with unlock --force.
    a.run(&["lock", "a/demo/notes.txt"]).ok();
    let out = m.run(&["unlock", "--force", "m/demo/notes.txt"]).ok();
    assert_eq!(out.stdout, "'m/demo/notes.txt' unlocked.\n");
    let st = a.run(&["status", "-u", "a"]).ok().stdout;
    assert!(has_status(&st, ' ', 'B', "a/demo/notes.txt"), "{st}");

    // Folders, unversioned and uncommitted items cannot be locked.
    for (path, why) in [
        ("a/demo/pages", "is a folder"),
        ("a/demo/nothing.txt", "is not under version control"),
    ] {
        let out = a.run(&["lock", path]).fails(1);
        assert!(out.stderr.contains(why), "{path}: {}", out.stderr);
    }
    a.write("a/demo/new.txt", "new\n");
    a.run(&["add", "a/demo/new.txt"]).ok();
    let out = a.run(&["lock", "a/demo/new.txt"]).fails(1);
    assert!(out.stderr.contains("commit it first"), "{}", out.stderr);
}

#[cfg(unix)]
#[test]
fn needs_lock_files_are_read_only_until_locked() {
    let server = Server::demo();
    let a = Client::new();
    a.run(&["checkout", &server.url("demo"), "a"]).ok();
    a.run(&["propset", "needs-lock", "*", "a/demo/images/logo.png"])
        .ok();
    a.run(&[
        "propset",
        "zsync:needs-lock-kinds",
        "image,file",
        "a/demo/images",
    ])
    .ok();
    a.run(&["commit", "-m", "needs lock", "a"]).ok();
    // Read-only from the commit on, and in every new checkout.
    assert!(read_only(&a.path("a/demo/images/logo.png")));
    let b = Client::new();
    b.run(&["checkout", &server.url("demo"), "b"]).ok();
    let logo = b.path("b/demo/images/logo.png");
    assert!(read_only(&logo));
    assert!(!read_only(&b.path("b/demo/notes.txt")));
    // Nothing shows as changed because of the permissions.
    assert_eq!(b.run(&["status", "b"]).ok().stdout, "");

    b.run(&["lock", "b/demo/images/logo.png"]).ok();
    assert!(!read_only(&logo));
    b.run(&["unlock", "b/demo/images/logo.png"]).ok();
    assert!(read_only(&logo));
    assert_eq!(b.run(&["status", "b"]).ok().stdout, "");
    b.run(&["lock", "b/demo/images/logo.png"]).ok();
    let mut png = std::fs::read(&logo).unwrap();
    png.extend_from_slice(b"\0");
    std::fs::write(&logo, &png).unwrap();
    b.run(&["commit", "-m", "logo", "b"]).ok();
    assert!(read_only(&logo), "read-only again after the commit");

    // The folder's needs-lock-kinds gives new binary objects needs-lock,
    // not text documents.
    b.write_bytes("b/demo/images/data.bin", &[0, 1, 2, 3, 255, 0, 7]);
    b.write("b/demo/images/caption.txt", "a caption\n");
    b.run(&["add", "b/demo/images/data.bin", "b/demo/images/caption.txt"])
        .ok();
    let got = b
        .run(&["propget", "needs-lock", "b/demo/images/data.bin"])
        .ok();
    assert_eq!(got.stdout.trim(), "*");
    b.run(&["propget", "needs-lock", "b/demo/images/caption.txt"])
        .fails(1);
    b.run(&["commit", "-m", "new", "b"]).ok();
    assert!(read_only(&b.path("b/demo/images/data.bin")));
    assert!(!read_only(&b.path("b/demo/images/caption.txt")));

    // An update brings needs-lock (and read-only) to the other copy.
    a.run(&["update", "a"]).ok();
    assert!(read_only(&a.path("a/demo/images/data.bin")));
}

/// Sets `needs-lock` on the demo's logo from copy `a` and commits it; `b`
/// checks out after, so both copies hold it read-only.
#[cfg(unix)]
fn logo_needing_a_lock(server: &Server, a: &Client, b: &Client) {
    a.run(&["checkout", &server.url("demo"), "a"]).ok();
    a.run(&["propset", "needs-lock", "*", "a/demo/images/logo.png"])
        .ok();
    a.run(&["commit", "-m", "needs lock", "a"]).ok();
    b.run(&["checkout", &server.url("demo"), "b"]).ok();
    assert!(read_only(&a.path("a/demo/images/logo.png")));
    assert!(read_only(&b.path("b/demo/images/logo.png")));
}

#[cfg(unix)]
#[test]
fn deleting_needs_lock_here_makes_the_file_writable() {
    let server = Server::demo();
    let (a, b) = (Client::new(), Client::new());
    logo_needing_a_lock(&server, &a, &b);
    let logo = a.path("a/demo/images/logo.png");

    // svn's rule: a needs-lock deleted here frees the file at once, and a
    // revert of that takes it back.
    a.run(&["propdel", "needs-lock", "a/demo/images/logo.png"])
        .ok();
    assert!(!read_only(&logo), "writable once needs-lock is deleted");
    assert_eq!(
        a.run(&["status", "a"]).ok().stdout,
        " M      a/demo/images/logo.png\n"
    );
    a.run(&["revert", "a/demo/images/logo.png"]).ok();
    assert!(read_only(&logo), "read-only again after the revert");
    assert_eq!(a.run(&["status", "a"]).ok().stdout, "");

    a.run(&["propdel", "needs-lock", "a/demo/images/logo.png"])
        .ok();
    a.run(&["commit", "-m", "no lock needed", "a"]).ok();
    assert!(!read_only(&logo), "writable after the commit");
    assert_eq!(a.run(&["status", "a"]).ok().stdout, "");
}

#[cfg(unix)]
#[test]
fn an_update_that_removes_needs_lock_makes_the_file_writable() {
    let server = Server::demo();
    let (a, b) = (Client::new(), Client::new());
    logo_needing_a_lock(&server, &a, &b);
    a.run(&["propdel", "needs-lock", "a/demo/images/logo.png"])
        .ok();
    a.run(&["commit", "-m", "no lock needed", "a"]).ok();

    // The other copy's update brings the deletion, and the file is freed
    // without showing as changed.
    let theirs = b.path("b/demo/images/logo.png");
    b.run(&["update", "b"]).ok();
    assert!(!read_only(&theirs), "writable after the update");
    assert_eq!(b.run(&["status", "b"]).ok().stdout, "");
    let mut png = std::fs::read(&theirs).unwrap();
    png.extend_from_slice(b"\0");
    std::fs::write(&theirs, &png).unwrap();
    b.run(&["commit", "-m", "edit", "b"]).ok();
    assert!(!read_only(&theirs));
}

#[cfg(unix)]
#[test]
fn needs_lock_set_here_waits_for_its_commit_and_an_update_brings_it() {
    let server = Server::demo();
    let (a, b) = (Client::new(), Client::new());
    a.run(&["checkout", &server.url("demo"), "a"]).ok();
    b.run(&["checkout", &server.url("demo"), "b"]).ok();
    let notes = a.path("a/demo/notes.txt");

    // Set here, the file stays writable until the commit (svn's rule), and
    // a revert of the set leaves it writable.
    a.run(&["propset", "needs-lock", "*", "a/demo/notes.txt"])
        .ok();
    assert!(!read_only(&notes));
    a.run(&["revert", "a/demo/notes.txt"]).ok();
    assert!(!read_only(&notes));
    a.run(&["propset", "needs-lock", "*", "a/demo/notes.txt"])
        .ok();
    a.run(&["commit", "-m", "needs lock", "a"]).ok();
    assert!(read_only(&notes));

    // An update brings it to the other copy's unlocked file ...
    let theirs = b.path("b/demo/notes.txt");
    b.run(&["update", "b"]).ok();
    assert!(read_only(&theirs), "read-only after the update");
    assert_eq!(b.run(&["status", "b"]).ok().stdout, "");
    // ... and the update that takes it away, while this copy holds the
    // lock, keeps the file writable and the lock.
    b.run(&["lock", "b/demo/notes.txt"]).ok();
    assert!(!read_only(&theirs));
    a.run(&["update", "a"]).ok();
    a.run(&["propdel", "needs-lock", "a/demo/notes.txt"]).ok();
    a.run(&["commit", "-m", "no lock needed", "a"]).ok();
    b.run(&["update", "b"]).ok();
    assert!(!read_only(&theirs));
    assert_eq!(
        b.run(&["status", "b"]).ok().stdout,
        format!("{}\n", status_line(' ', 'K', "b/demo/notes.txt"))
    );
    // Unlocked without needs-lock, it stays writable.
    b.run(&["unlock", "b/demo/notes.txt"]).ok();
    assert!(!read_only(&theirs));
}

#[cfg(unix)]
#[test]
fn a_needs_lock_conflict_settles_the_files_mode() {
    let server = Server::demo();
    let (a, b) = (Client::new(), Client::new());
    logo_needing_a_lock(&server, &a, &b);
    let logo = a.path("a/demo/images/logo.png");
    // b changes the value; a deletes it: a property conflict in a.
    b.run(&["propset", "needs-lock", "yes", "b/demo/images/logo.png"])
        .ok();
    b.run(&["commit", "-m", "value", "b"]).ok();
    a.run(&["propdel", "needs-lock", "a/demo/images/logo.png"])
        .ok();
    assert!(!read_only(&logo));
    a.run(&["update", "--accept", "postpone", "a"]).fails(1);
    let st = a.run(&["status", "a"]).ok().stdout;
    assert!(st.starts_with(" C"), "{st}");
    // Keeping the deletion keeps it writable; taking theirs locks it.
    assert!(!read_only(&logo));
    a.run(&[
        "resolve",
        "--accept",
        "theirs-full",
        "a/demo/images/logo.png",
    ])
    .ok();
    assert!(read_only(&logo), "read-only with their needs-lock");
    assert_eq!(a.run(&["status", "a"]).ok().stdout, "");
}

/// Runs `zsync` with a private HOME (for SSH's known hosts and keys).
fn run_ssh(client: &Client, home: &Path, args: &[&str]) -> Run {
    let out = Command::new(zsync_bin())
        .args(args)
        .current_dir(client.dir.path())
        .env("HOME", home)
        .env("ZSYNC_CONFIG_DIR", client.config.path())
        .env_remove("SSH_AUTH_SOCK")
        .env_remove("ZSYNC_SSH")
        .stdin(Stdio::null())
        .output()
        .expect("run zsync");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn locks_over_ssh() {
    let server = Server::demo_ssh();
    server.add_user("alice", "pw-alice", "editor");
    let (port, fingerprint) = server.ssh.clone().unwrap();
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir(home.path().join(".ssh")).unwrap();
    let s = Client::new();
    let url = format!("zsync+ssh://zsync:zsync@127.0.0.1:{port}/demo");
    run_ssh(
        &s,
        home.path(),
        &[
            &format!("--accept-host-key={fingerprint}"),
            "checkout",
            &url,
            "s",
        ],
    )
    .ok();
    let out = run_ssh(
        &s,
        home.path(),
        &["lock", "-m", "over ssh", "s/demo/notes.txt"],
    )
    .ok();
    assert_eq!(out.stdout, "'s/demo/notes.txt' locked by user 'zsync'.\n");

    let a = Client::new();
    a.run(&["checkout", &server.url_as("alice:pw-alice", "demo"), "a"])
        .ok();
    a.write("a/demo/notes.txt", "alice\n");
    let refused = a.run(&["commit", "-m", "x", "a"]).fails(1);
    assert!(
        refused.stderr.contains("locked by zsync since") && refused.stderr.contains("over ssh"),
        "{}",
        refused.stderr
    );
    let st = run_ssh(&s, home.path(), &["status", "-u", "s"]).ok().stdout;
    assert!(has_status(&st, ' ', 'K', "s/demo/notes.txt"), "{st}");
    let locks = run_ssh(&s, home.path(), &["locks", "s"]).ok().stdout;
    assert!(locks.starts_with("s/demo/notes.txt  zsync  "), "{locks}");
    s.write("s/demo/notes.txt", "over ssh\n");
    run_ssh(&s, home.path(), &["commit", "-m", "ssh", "s"]).ok();
    assert!(contains_line(
        &run_ssh(&s, home.path(), &["status", "-u", "s"]).ok().stdout,
        "Status against revision:      2"
    ));
    assert_eq!(a.run(&["locks", "a"]).ok().stdout, "");
}

#[test]
fn locks_json_lists_owner_comment_and_whose() {
    let server = Server::demo();
    server.add_user("alice", "pw-alice", "editor");
    server.add_user("bob", "pw-bob", "editor");
    let a = Client::new();
    a.run(&["checkout", &server.url_as("alice:pw-alice", "demo"), "a"])
        .ok();
    let b = Client::new();
    b.run(&["checkout", &server.url_as("bob:pw-bob", "demo"), "b"])
        .ok();
    let parse = |stdout: &str| -> serde_json::Value {
        serde_json::from_str(stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
    };
    assert_eq!(
        parse(&a.run(&["locks", "--json", "a"]).ok().stdout),
        serde_json::json!([])
    );
    a.run(&["lock", "-m", "mine", "a/demo/notes.txt"]).ok();
    b.run(&["lock", "b/demo/README.md"]).ok();

    let doc = parse(&a.run(&["locks", "--json", "a"]).ok().stdout);
    let locks = doc.as_array().unwrap();
    assert_eq!(locks.len(), 2, "{doc:#}");
    let find = |p: &str| locks.iter().find(|l| l["path"] == p).cloned().unwrap();
    let notes = find("a/demo/notes.txt");
    assert_eq!(notes["server_path"], "demo/notes.txt");
    assert_eq!(notes["owner"], "alice");
    assert_eq!(notes["comment"], "mine");
    assert_eq!(notes["here"], true);
    assert!(
        notes["created"].as_i64().unwrap() > 1_700_000_000,
        "{notes}"
    );
    assert_eq!(notes["oid"].as_str().unwrap().len(), 32, "{notes}");
    let readme = find("a/demo/README.md");
    assert_eq!(readme["owner"], "bob");
    assert_eq!(readme["comment"], "");
    assert_eq!(readme["here"], false);
    // The same locks seen from bob's copy: only README.md is his.
    let doc = parse(&b.run(&["locks", "--json", "b/demo/README.md"]).ok().stdout);
    assert_eq!(doc.as_array().unwrap().len(), 1, "{doc:#}");
    assert_eq!(doc[0]["path"], "b/demo/README.md");
    assert_eq!(doc[0]["here"], true);
}
