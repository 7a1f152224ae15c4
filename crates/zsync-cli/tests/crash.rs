//! Crash safety, with real processes: `zsyncd` killed with SIGKILL at named
//! points of a commit (during the upload, inside the store transaction,
//! after it), and `zsync` killed while committing. The fault points exist
//! only in debug builds (`ZSYNCD_FAULT` / `ZSYNC_FAULT`): the process
//! announces the point on stderr and waits there to be killed.
//!
//! After each crash: `zsyncd check` passes, nothing half-committed is
//! visible, every commit the client saw succeed is there, and the next
//! client command records a commit that landed (or says it did not), so
//! nothing is committed twice and no local edit is lost.

mod common;

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::{Client, zsync_bin, zsyncd_bin};

/// Every file below `dir` (but the admin folder), as `prefix/…` paths.
fn files_under(dir: &std::path::Path, prefix: &str, out: &mut Vec<String>) {
    for name in common::ls(dir) {
        if name == ".zsync" {
            continue;
        }
        let rel = format!("{prefix}/{name}");
        if dir.join(&name).is_dir() {
            files_under(&dir.join(&name), &rel, out);
        } else {
            out.push(rel);
        }
    }
}

/// Longest wait for a process to reach a fault point.
const FAULT_WAIT: Duration = Duration::from_secs(60);

/// A `zsyncd demo` whose stderr is watched for fault announcements.
struct Zsyncd {
    child: Child,
    addr: String,
    faults: mpsc::Receiver<String>,
}

impl Zsyncd {
    /// Starts on `addr` (`127.0.0.1:0` the first time, then the same
    /// address again so working copies keep their URL).
    fn start(data: &std::path::Path, addr: &str, fault: Option<&str>) -> Zsyncd {
        let mut cmd = Command::new(zsyncd_bin());
        cmd.args(["demo", "--data"])
            .arg(data)
            .args(["--http", addr])
            .env("ZSYNCD_SSH", "off")
            .env("ZSYNCD_LOG", "warn")
            .env_remove("ZSYNCD_FAULT")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(point) = fault {
            cmd.env("ZSYNCD_FAULT", point);
        }
        let mut child = cmd.spawn().expect("start zsyncd");
        let faults = watch(child.stderr.take().unwrap(), "zsyncd-fault: ");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let addr = loop {
            let line = lines.next().expect("zsyncd exited early").unwrap();
            if let Some(url) = line.strip_prefix("zsyncd: listening on http://") {
                break url.trim().to_owned();
            }
        };
        std::thread::spawn(move || for _ in lines {});
        Zsyncd {
            child,
            addr,
            faults,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://zsync:zsync@{}/{path}", self.addr)
    }

    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Zsyncd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Forwards a child's stderr to ours, sending the names of the fault
/// points it announces.
fn watch(
    stderr: impl std::io::Read + Send + 'static,
    prefix: &'static str,
) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(point) = line.strip_prefix(prefix) {
                let _ = tx.send(point.to_owned());
            } else {
                eprintln!("{line}");
            }
        }
    });
    rx
}

/// The fault points are compiled into debug builds only.
fn fault_points_built_in() -> bool {
    if !cfg!(debug_assertions) {
        eprintln!("skipped: fault points exist only in debug builds");
    }
    cfg!(debug_assertions)
}

fn wait_for(faults: &mpsc::Receiver<String>, point: &str) {
    let got = faults
        .recv_timeout(FAULT_WAIT)
        .unwrap_or_else(|_| panic!("never reached fault point {point}"));
    assert_eq!(got, point);
}

/// `zsync ARGS` started in the background, with a fault point.
fn spawn_zsync(client: &Client, args: &[&str], fault: Option<&str>) -> Child {
    let mut cmd = Command::new(zsync_bin());
    cmd.args(args)
        .current_dir(client.path(""))
        .env("ZSYNC_CONFIG_DIR", client.config.path())
        .env_remove("ZSYNC_FAULT")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(point) = fault {
        cmd.env("ZSYNC_FAULT", point);
    }
    cmd.spawn().expect("run zsync")
}

fn zsyncd_check(data: &std::path::Path) {
    let out = Command::new(zsyncd_bin())
        .args(["check", "--data"])
        .arg(data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "zsyncd check failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// How many revisions the log of /demo shows with this message.
fn commits_with(client: &Client, wc: &str, message: &str) -> usize {
    let log = client.run(&["log", wc]).ok().stdout;
    log.lines().filter(|l| l.trim() == message).count()
}

/// Kills the server at each point of a commit; the commit lands exactly
/// once (the client records it, or sends it again), and the store passes
/// its check after every crash.
#[test]
fn server_killed_at_each_point_of_a_commit() {
    if !fault_points_built_in() {
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let first = Zsyncd::start(data.path(), "127.0.0.1:0", None);
    let addr = first.addr.clone();
    let client = Client::new();
    client.run(&["checkout", &first.url("demo"), "wc"]).ok();
    first.kill();

    for (n, point) in [
        "upload-receiving",
        "upload-storing",
        "commit-locked",
        "commit-applied",
        "commit-durable",
    ]
    .into_iter()
    .enumerate()
    {
        let message = format!("crash {point}");
        client.write("wc/demo/index.html", &format!("edit {n} before {point}\n"));
        client.write(
            &format!("wc/demo/new-{n}.txt"),
            &format!("a new file, {point}\n"),
        );
        client.run(&["add", &format!("wc/demo/new-{n}.txt")]).ok();

        let server = Zsyncd::start(data.path(), &addr, Some(point));
        let commit = spawn_zsync(&client, &["commit", "-m", &message, "wc/demo"], None);
        wait_for(&server.faults, point);
        server.kill();
        let out = commit.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{point}: {stderr}");
        zsyncd_check(data.path());

        let server = Zsyncd::start(data.path(), &addr, None);
        // The next command finds out what became of the commit.
        let update = client.run(&["update", "wc/demo"]).ok();
        let landed = point == "commit-durable";
        if landed {
            assert!(
                update.stderr.contains("had landed as revision"),
                "{point}: {}",
                update.stderr
            );
        } else if point.starts_with("commit") {
            assert!(
                update.stderr.contains("did not reach the server"),
                "{point}: {}",
                update.stderr
            );
        }
        if !landed {
            // Nothing of it is visible on the server; the edits are still local.
            assert_eq!(commits_with(&client, "wc/demo", &message), 0, "{point}");
            let status = client.run(&["status", "wc/demo"]).ok().stdout;
            assert!(status.contains("wc/demo/index.html"), "{point}: {status}");
            client.run(&["commit", "-m", &message, "wc/demo"]).ok();
        }
        assert_eq!(commits_with(&client, "wc/demo", &message), 1, "{point}");
        assert_eq!(
            client.run(&["status", "wc/demo"]).ok().stdout,
            "",
            "{point}"
        );

        // A fresh checkout has exactly the local content.
        let fresh = format!("fresh-{n}");
        client.run(&["checkout", &server.url("demo"), &fresh]).ok();
        assert_eq!(
            client.read(&format!("{fresh}/demo/index.html")),
            format!("edit {n} before {point}\n")
        );
        assert_eq!(
            client.read(&format!("{fresh}/demo/new-{n}.txt")),
            format!("a new file, {point}\n")
        );
        server.kill();
        zsyncd_check(data.path());
    }
}

/// Kills the client before it sends a commit and after the answer came
/// but before it recorded it: `status` says to run cleanup, cleanup keeps
/// every edit, and the next update records the commit or says it did not
/// land.
#[test]
fn client_killed_around_a_commit() {
    if !fault_points_built_in() {
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let server = Zsyncd::start(data.path(), "127.0.0.1:0", None);
    let client = Client::new();
    client.run(&["checkout", &server.url("demo"), "wc"]).ok();

    for (n, point, lands) in [
        (0, "client-commit-sent", false),
        (1, "client-commit-answered", true),
    ] {
        let message = format!("client crash {point}");
        client.write("wc/demo/index.html", &format!("client edit {n}\n"));
        let mut commit = spawn_zsync(&client, &["commit", "-m", &message, "wc/demo"], Some(point));
        let faults = watch(commit.stderr.take().unwrap(), "zsync-fault: ");
        wait_for(&faults, point);
        commit.kill().unwrap();
        commit.wait().unwrap();

        let status = client.run(&["status", "wc/demo"]).fails(1);
        assert!(status.stderr.contains("zsync cleanup"), "{}", status.stderr);
        client.run(&["cleanup", "wc/demo"]).ok();
        assert_eq!(
            client.read("wc/demo/index.html"),
            format!("client edit {n}\n")
        );
        // Until the pending commit is settled, changing commands refuse.
        let add = client.run(&["revert", "wc/demo/index.html"]).fails(1);
        assert!(add.stderr.contains("zsync update"), "{}", add.stderr);
        assert_eq!(
            client.read("wc/demo/index.html"),
            format!("client edit {n}\n")
        );

        // The pending commit is a small file of its own, not in the index.
        let pending = client.path("wc/demo/.zsync/pending-commit");
        let kept = std::fs::read(&pending).unwrap();
        let update = client.run(&["update", "wc/demo"]).ok();
        assert!(!pending.exists(), "the update that settled it removes it");
        if lands {
            assert!(update.stderr.contains("had landed"), "{}", update.stderr);
            assert_eq!(client.run(&["status", "wc/demo"]).ok().stdout, "");
            // A crash right after the index recorded it can leave the file
            // behind: the index knows it settled that commit, so nothing
            // asks again or refuses, and the next save removes it.
            std::fs::write(&pending, &kept).unwrap();
            assert_eq!(client.run(&["status", "wc/demo"]).ok().stdout, "");
            let again = client.run(&["update", "wc/demo"]).ok();
            assert!(!again.stderr.contains("landed"), "{}", again.stderr);
            assert!(!pending.exists());
        } else {
            assert!(update.stderr.contains("did not reach"), "{}", update.stderr);
            client.run(&["commit", "-m", &message, "wc/demo"]).ok();
        }
        assert_eq!(commits_with(&client, "wc/demo", &message), 1);
        assert_eq!(
            client.read("wc/demo/index.html"),
            format!("client edit {n}\n")
        );
    }
    drop(server);
    zsyncd_check(data.path());
}

/// Kills `zsync checkin` before it sends its commit and after the answer
/// came: the directory stays a working copy with the commit pending (not a
/// plain directory whose second checkin would fail or add it twice), and
/// the next `commit` there records the checkin or sends it, exactly once.
#[test]
fn client_killed_around_a_checkin() {
    if !fault_points_built_in() {
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let server = Zsyncd::start(data.path(), "127.0.0.1:0", None);
    let client = Client::new();

    for (n, point, lands) in [
        (0, "client-checkin-sent", false),
        (1, "client-checkin-answered", true),
    ] {
        let tree = format!("tree{n}");
        let message = format!("checkin crash {point}");
        client.write(&format!("{tree}/a.txt"), &format!("a {n}\n"));
        client.write(&format!("{tree}/sub/b.txt"), &format!("b {n}\n"));
        let url = server.url(&format!("demo/new{n}"));
        let mut checkin = spawn_zsync(
            &client,
            &["checkin", "-m", &message, &url, &tree],
            Some(point),
        );
        let faults = watch(checkin.stderr.take().unwrap(), "zsync-fault: ");
        wait_for(&faults, point);
        checkin.kill().unwrap();
        checkin.wait().unwrap();

        let status = client.run(&["status", &tree]).fails(1);
        assert!(status.stderr.contains("zsync cleanup"), "{}", status.stderr);
        client.run(&["cleanup", &tree]).ok();
        // Until the pending commit is settled, changing commands refuse.
        let add = client.run(&["revert", &format!("{tree}/a.txt")]).fails(1);
        assert!(add.stderr.contains("zsync update"), "{}", add.stderr);

        let commit = client.run(&["commit", "-m", &message, &tree]).ok();
        let said = if lands { "had landed" } else { "did not reach" };
        assert!(commit.stderr.contains(said), "{}", commit.stderr);
        assert_eq!(client.run(&["status", &tree]).ok().stdout, "");
        assert_eq!(commits_with(&client, &tree, &message), 1);

        // The server has the tree once, as it was.
        client.run(&["checkout", &url, &format!("co{n}")]).ok();
        assert_eq!(
            client.read(&format!("co{n}/new{n}/sub/b.txt")),
            format!("b {n}\n")
        );
        assert_eq!(client.read(&format!("{tree}/a.txt")), format!("a {n}\n"));
    }
    drop(server);
    zsyncd_check(data.path());
}

/// A big checkin uploads finished parts of the tree while it still hashes
/// the rest. The server dying under those uploads fails the checkin whole:
/// the directory stays a plain directory, the store is sound, and the
/// checkin run again lands every file.
#[test]
fn server_killed_under_a_big_checkins_uploads() {
    if !fault_points_built_in() {
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let client = Client::new();
    // Over two of the scan's segments (2,000 items each).
    for i in 0..4500 {
        client.write(
            &format!("tree/d{}/f{i}.txt", i / 50),
            &format!("file {i}\n"),
        );
    }
    // The demo content is stored first, without stopping.
    let first = Zsyncd::start(data.path(), "127.0.0.1:0", None);
    let addr = first.addr.clone();
    let url = first.url("big");
    first.kill();
    let server = Zsyncd::start(data.path(), &addr, Some("upload-storing"));
    let checkin = spawn_zsync(&client, &["checkin", "-m", "big", &url, "tree"], None);
    wait_for(&server.faults, "upload-storing");
    server.kill();
    let out = checkin.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!client.exists("tree/.zsync"));
    zsyncd_check(data.path());

    let server = Zsyncd::start(data.path(), &addr, None);
    client.run(&["checkin", "-m", "big", &url, "tree"]).ok();
    assert_eq!(client.run(&["status", "tree"]).ok().stdout, "");
    client.run(&["checkout", &url, "copy"]).ok();
    assert_eq!(client.read("copy/big/d89/f4499.txt"), "file 4499\n");
    assert_eq!(client.read("copy/big/d0/f0.txt"), "file 0\n");
    drop(server);
    zsyncd_check(data.path());
}

/// Kills the client while a checkout writes files and while an update
/// applies changes: `status` says to run cleanup, every file holds its old
/// or its new content (or, in the unfinished checkout, any content), the
/// local edit survives, and cleanup plus an update bring the working copy
/// to the server's state.
#[test]
fn client_killed_during_checkout_and_update() {
    if !fault_points_built_in() {
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let server = Zsyncd::start(data.path(), "127.0.0.1:0", None);
    let url = server.url("demo");
    let client = Client::new();
    let reference = Client::new();
    reference.run(&["checkout", &url, "wc"]).ok();
    let files = ["README.md", "index.html", "notes.txt", "pages/about.html"];
    let old: Vec<String> = files
        .iter()
        .map(|f| reference.read(&format!("wc/demo/{f}")))
        .collect();

    let mut checkout = spawn_zsync(
        &client,
        &["checkout", &url, "wc"],
        Some("client-checkout-file"),
    );
    let faults = watch(checkout.stderr.take().unwrap(), "zsync-fault: ");
    wait_for(&faults, "client-checkout-file");
    checkout.kill().unwrap();
    checkout.wait().unwrap();
    // The files are written straight to their names and the index comes
    // last: what is there is marked as an unfinished checkout.
    assert!(!client.path("wc/demo/.zsync/index").exists());
    assert!(client.path("wc/demo/.zsync/checkout").is_file());
    let status = client.run(&["status", "wc/demo"]).fails(1);
    assert!(status.stderr.contains("zsync cleanup"), "{}", status.stderr);
    // A file cut off while it was written (by the kill: the other writer
    // threads ran on; or edited since: zsync cannot tell) is moved aside,
    // not taken for an edit, and restored.
    let mut all = Vec::new();
    files_under(&reference.path("wc/demo"), "wc/demo", &mut all);
    let written: Vec<&String> = all.iter().filter(|f| client.path(f).is_file()).collect();
    assert!(!written.is_empty());
    let cut = written[0].clone();
    let bytes = |c: &Client, f: &str| std::fs::read(c.path(f)).unwrap();
    let whole = bytes(&reference, &cut);
    client.write_bytes(&cut, &whole[..whole.len() / 2]);
    client.run(&["cleanup", "wc/demo"]).ok();
    assert!(!client.path("wc/demo/.zsync/checkout").exists());
    client.run(&["update", "wc/demo"]).ok();
    for f in &all {
        assert!(bytes(&client, f) == bytes(&reference, f), "{f}");
    }
    let aside = format!("{cut}.interrupted");
    assert!(bytes(&client, &aside) == whole[..whole.len() / 2]);
    let status = client.run(&["status", "wc/demo"]).ok().stdout;
    assert!(
        status.lines().any(|l| l == format!("?       {aside}")),
        "{status}"
    );
    for line in status.lines() {
        let moved = line
            .strip_prefix("?       ")
            .and_then(|p| p.strip_suffix(".interrupted"));
        assert!(
            moved.is_some_and(|f| all.iter().any(|a| a == f)),
            "{status}"
        );
        std::fs::remove_file(client.path(&line["?       ".len()..])).unwrap();
    }

    // Someone else changes three files; we edit a fourth.
    for f in &files[1..] {
        reference.write(&format!("wc/demo/{f}"), &format!("new {f}\n"));
    }
    reference.run(&["commit", "-m", "three", "wc/demo"]).ok();
    client.write("wc/demo/README.md", "my local edit\n");

    let mut update = spawn_zsync(&client, &["update", "wc/demo"], Some("client-update-item"));
    let faults = watch(update.stderr.take().unwrap(), "zsync-fault: ");
    wait_for(&faults, "client-update-item");
    update.kill().unwrap();
    update.wait().unwrap();
    let status = client.run(&["status", "wc/demo"]).fails(1);
    assert!(status.stderr.contains("zsync cleanup"), "{}", status.stderr);
    for (f, old) in files[1..].iter().zip(&old[1..]) {
        let now = client.read(&format!("wc/demo/{f}"));
        assert!(now == *old || now == format!("new {f}\n"), "{f}: {now:?}");
    }
    client.run(&["cleanup", "wc/demo"]).ok();
    assert_eq!(client.read("wc/demo/README.md"), "my local edit\n");
    client.run(&["update", "wc/demo"]).ok();
    for f in &files[1..] {
        assert_eq!(client.read(&format!("wc/demo/{f}")), format!("new {f}\n"));
    }
    assert_eq!(client.read("wc/demo/README.md"), "my local edit\n");
    let status = client.run(&["status", "wc/demo"]).ok().stdout;
    assert_eq!(status.trim_end(), "M       wc/demo/README.md");
}
