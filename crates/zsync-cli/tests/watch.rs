//! `zsync watch`, the real binary against a real server: saves are
//! committed as they settle, others' commits arrive unasked, a conflict
//! holds back only its own path until `zsync resolved`, and SIGINT leaves
//! a clean working copy.

mod common;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Client, Server};

/// How long anything the watcher should do may take.
const PATIENCE: Duration = Duration::from_secs(20);

/// A `zsync watch` child process, its output in files.
struct Watcher {
    child: Option<Child>,
    out: PathBuf,
    err: PathBuf,
    _logs: tempfile::TempDir,
}

impl Watcher {
    /// Starts `zsync watch ARGS` in the client's work directory and waits
    /// until it says it is watching.
    fn start(client: &Client, args: &[&str]) -> Self {
        Self::start_env(client, args, &[])
    }

    fn start_env(client: &Client, args: &[&str], env: &[(&str, &str)]) -> Self {
        let logs = tempfile::tempdir().unwrap();
        let out = logs.path().join("stdout");
        let err = logs.path().join("stderr");
        let child = Command::new(common::zsync_bin())
            .arg("watch")
            .args(args)
            .current_dir(client.dir.path())
            .env("ZSYNC_CONFIG_DIR", client.config.path())
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&out).unwrap())
            .stderr(std::fs::File::create(&err).unwrap())
            .spawn()
            .expect("start zsync watch");
        let w = Self {
            child: Some(child),
            out,
            err,
            _logs: logs,
        };
        w.wait_for("Watching '");
        w
    }

    fn stdout(&self) -> String {
        std::fs::read_to_string(&self.out).unwrap_or_default()
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.err).unwrap_or_default()
    }

    /// Waits until stdout has a line containing `text`; returns that line.
    #[track_caller]
    fn wait_for(&self, text: &str) -> String {
        let mut found = None;
        eventually(&format!("watch to print {text:?}"), self, || {
            found = self
                .stdout()
                .lines()
                .find(|l| l.contains(text))
                .map(str::to_owned);
            found.is_some()
        });
        found.unwrap()
    }

    /// Waits until stderr has `text` `n` times.
    #[track_caller]
    fn wait_for_err(&self, text: &str, n: usize) {
        eventually(&format!("watch to say {text:?} on stderr"), self, || {
            self.stderr().matches(text).count() >= n
        });
    }

    /// Sends SIGINT and waits for the exit; returns the exit code.
    fn interrupt(mut self) -> (i32, String) {
        let mut child = self.child.take().unwrap();
        // SAFETY: kill(2) on our own child's pid, which it has not reaped.
        let sent = unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
        assert_eq!(sent, 0);
        let start = Instant::now();
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return (status.code().unwrap_or(-1), self.stdout());
            }
            assert!(
                start.elapsed() < PATIENCE,
                "watch did not stop after SIGINT\nstdout:\n{}\nstderr:\n{}",
                self.stdout(),
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Polls `check` until it holds, failing after [`PATIENCE`] with the
/// watcher's output.
#[track_caller]
fn eventually(what: &str, watcher: &Watcher, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while !check() {
        assert!(
            start.elapsed() < PATIENCE,
            "timed out waiting for {what}\nstdout:\n{}\nstderr:\n{}",
            watcher.stdout(),
            watcher.stderr()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Two checkouts of /demo: `a/demo` (to be watched) and `b/demo`.
fn two_copies(server: &Server) -> (Client, Client) {
    let a = Client::new();
    a.run(&["checkout", &server.url("demo"), "a"]).ok();
    let b = Client::new();
    b.run(&["checkout", &server.url("demo"), "b"]).ok();
    (a, b)
}

/// `zsync log -l 1 PATH`: the newest revision with its message.
fn newest_log(client: &Client, path: &str) -> String {
    client.run(&["log", "-l", "1", path]).ok().stdout
}

#[test]
fn commits_saves_and_receives_others_commits() {
    let server = Server::demo();
    let (a, b) = two_copies(&server);
    let w = Watcher::start(&a, &["--settle", "200", "a/demo"]);

    // A save is committed with the file's name in the message.
    let notes = a.read("a/demo/notes.txt");
    a.write("a/demo/notes.txt", &format!("{notes}saved in a\n"));
    let line = w.wait_for("watch: edit notes.txt");
    assert!(line.starts_with("Committed revision "), "{line}");
    let log = newest_log(&b, "b/demo");
    assert!(log.contains("watch: edit notes.txt"), "{log}");
    b.run(&["update", "b"]).ok();
    assert!(b.read("b/demo/notes.txt").ends_with("saved in a\n"));

    // A new file is not added without --add; nested edits are committed.
    a.write("a/demo/new.txt", "not versioned\n");
    let about = a.read("a/demo/pages/about.html");
    a.write("a/demo/pages/about.html", &format!("{about}<!-- a -->\n"));
    w.wait_for("watch: edit pages/about.html");

    // Another copy's commit arrives without being asked for.
    let index = b.read("b/demo/index.html");
    let theirs = format!("{index}<!-- from b -->\n");
    b.write("b/demo/index.html", &theirs);
    b.run(&["commit", "-m", "from b", "b"]).ok();
    eventually("b's commit to reach a", &w, || {
        a.read("a/demo/index.html") == theirs
    });
    w.wait_for("Updated to revision");

    // A file deleted on disk is deleted on the server.
    std::fs::remove_file(a.path("a/demo/README.md")).unwrap();
    w.wait_for("watch: remove README.md");
    b.run(&["update", "b"]).ok();
    assert!(!b.exists("b/demo/README.md"));

    // SIGINT: a clean stop, and a consistent, committed copy.
    let (code, out) = w.interrupt();
    assert!(code == 0 || code == 130, "exit {code}\n{out}");
    assert!(out.contains("Stopped watching 'a/demo'."), "{out}");
    assert!(!out.contains("new.txt"), "{out}");
    let status = a.run(&["status", "a"]).ok().stdout;
    assert_eq!(status, "?       a/demo/new.txt\n");
    a.run(&["update", "a"]).ok();
    assert_eq!(b.run(&["status", "-u", "b"]).ok().stdout.lines().count(), 1);
}

#[test]
fn add_commits_new_files() {
    let server = Server::demo();
    let (a, b) = two_copies(&server);
    let w = Watcher::start(&a, &["--settle", "200", "--add", "a/demo"]);
    a.write("a/demo/fresh.txt", "new here\n");
    a.write("a/demo/skip.txt~", "an editor's backup, ignored\n");
    a.write("a/demo/newdir/inner.txt", "in a new folder\n");
    // The folder and its file may come in one commit or two.
    eventually("the new files to reach b", &w, || {
        b.run(&["update", "b"]).ok();
        b.exists("b/demo/newdir/inner.txt") && b.exists("b/demo/fresh.txt")
    });
    assert_eq!(b.read("b/demo/fresh.txt"), "new here\n");
    assert_eq!(b.read("b/demo/newdir/inner.txt"), "in a new folder\n");
    let out = w.stdout();
    assert!(out.contains("add fresh.txt"), "{out}");
    assert!(!b.exists("b/demo/skip.txt~"));
    let (code, _) = w.interrupt();
    assert!(code == 0 || code == 130);
    assert_eq!(a.run(&["status", "-q", "a"]).ok().stdout, "");
}

#[test]
fn a_conflict_holds_back_only_its_path() {
    let server = Server::demo();
    let (a, b) = two_copies(&server);
    // Both sides change the same line; a's save is not committed yet
    // when the watcher starts, so its first update conflicts (the order
    // is fixed, so the test is too; `commits_saves_and_receives_others_commits`
    // covers updates the change feed starts).
    let notes = a.read("a/demo/notes.txt");
    let first = notes.lines().next().unwrap().to_owned();
    a.write(
        "a/demo/notes.txt",
        &notes.replacen(&first, "Notes from a", 1),
    );
    b.write(
        "b/demo/notes.txt",
        &notes.replacen(&first, "Notes from b", 1),
    );
    b.run(&["commit", "-m", "b's notes", "b"]).ok();
    let w = Watcher::start(&a, &["--settle", "200", "a/demo"]);
    w.wait_for("Conflict in 'a/demo/notes.txt'");
    let status = a.run(&["status", "a"]).ok().stdout;
    assert!(
        common::contains_line(&status, "C       a/demo/notes.txt"),
        "{status}"
    );

    // Other paths are still committed; the conflicted one is not.
    let index = a.read("a/demo/index.html");
    a.write("a/demo/index.html", &format!("{index}<!-- a -->\n"));
    w.wait_for("watch: edit index.html");
    assert!(
        !w.stdout().contains("watch: edit notes.txt"),
        "{}",
        w.stdout()
    );
    let log = newest_log(&b, "b/demo");
    assert!(log.contains("watch: edit index.html"), "{log}");

    // Resolved: the path is committed again.
    let merged = notes.replacen(&first, "Notes from a and b", 1);
    a.write("a/demo/notes.txt", &merged);
    a.run(&["resolved", "a/demo/notes.txt"]).ok();
    w.wait_for("Resolved 'a/demo/notes.txt'");
    w.wait_for("watch: edit notes.txt");
    b.run(&["update", "b"]).ok();
    assert_eq!(b.read("b/demo/notes.txt"), merged);

    let (code, _) = w.interrupt();
    assert!(code == 0 || code == 130);
    assert_eq!(a.run(&["status", "a"]).ok().stdout, "");
}

#[test]
fn a_stale_commit_is_updated_and_sent_again() {
    if !cfg!(debug_assertions) {
        eprintln!("skipped: fault points exist only in debug builds");
        return;
    }
    let server = Server::demo();
    let (a, b) = two_copies(&server);
    // The watcher stops before each commit (a test-only fault point in
    // debug builds), long enough for b to commit first.
    let w = Watcher::start_env(
        &a,
        &["--settle", "200", "a/demo"],
        &[
            ("ZSYNC_FAULT", "watch-commit"),
            ("ZSYNC_FAULT_PAUSE_MS", "3000"),
        ],
    );
    let notes = a.read("a/demo/notes.txt");
    a.write("a/demo/notes.txt", &format!("{notes}last line from a\n"));
    w.wait_for_err("zsync-fault: watch-commit", 1);
    // Another line of the same file, committed while a waits.
    let first = notes.lines().next().unwrap().to_owned();
    let theirs = notes.replacen(&first, "First line from b", 1);
    b.write("b/demo/notes.txt", &theirs);
    b.run(&["commit", "-m", "b first", "b"]).ok();

    // a's commit is refused as stale, a merges b's line and sends again.
    w.wait_for("Updated to revision");
    w.wait_for("watch: edit notes.txt");
    assert_eq!(w.stderr().matches("zsync-fault: watch-commit").count(), 2);
    let merged = format!("{theirs}last line from a\n");
    assert_eq!(a.read("a/demo/notes.txt"), merged);
    b.run(&["update", "b"]).ok();
    assert_eq!(b.read("b/demo/notes.txt"), merged);
    let (code, _) = w.interrupt();
    assert!(code == 0 || code == 130);
    assert_eq!(a.run(&["status", "a"]).ok().stdout, "");
}

#[test]
fn sigint_in_the_middle_of_a_commit_finishes_it_first() {
    if !cfg!(debug_assertions) {
        eprintln!("skipped: fault points exist only in debug builds");
        return;
    }
    let server = Server::demo();
    let (a, b) = two_copies(&server);
    let w = Watcher::start_env(
        &a,
        &["--settle", "200", "a/demo"],
        &[
            ("ZSYNC_FAULT", "watch-commit"),
            ("ZSYNC_FAULT_PAUSE_MS", "1000"),
        ],
    );
    let notes = a.read("a/demo/notes.txt");
    a.write(
        "a/demo/notes.txt",
        &format!("{notes}saved just before Ctrl-C\n"),
    );
    w.wait_for_err("zsync-fault: watch-commit", 1);
    // The signal comes while the commit step runs: the step ends first.
    let (code, out) = w.interrupt();
    assert!(code == 0 || code == 130, "exit {code}\n{out}");
    let committed = out.find("watch: edit notes.txt").expect(&out);
    let stopped = out.find("Stopped watching").expect(&out);
    assert!(committed < stopped, "{out}");
    assert_eq!(a.run(&["status", "a"]).ok().stdout, "");
    b.run(&["update", "b"]).ok();
    assert!(
        b.read("b/demo/notes.txt")
            .ends_with("saved just before Ctrl-C\n")
    );
}

#[test]
fn the_scan_commits_what_no_event_announced() {
    let server = Server::demo();
    let (a, b) = two_copies(&server);
    // Saved while nothing watched: no event will ever come for it.
    let about = a.read("a/demo/pages/about.html");
    a.write(
        "a/demo/pages/about.html",
        &format!("{about}<!-- offline -->\n"),
    );
    let w = Watcher::start(&a, &["--settle", "200", "--rescan", "1", "a/demo"]);
    w.wait_for("watch: edit pages/about.html");
    b.run(&["update", "b"]).ok();
    assert!(
        b.read("b/demo/pages/about.html")
            .ends_with("<!-- offline -->\n")
    );
    let (code, _) = w.interrupt();
    assert!(code == 0 || code == 130);
}
