//! `zsyncd git-export` against the machine's git: the zsync history of
//! /demo as git commits (checked with `git log`, `git show`, `git fsck`),
//! extended by a second run with exactly the newer revisions, with moves,
//! deletes and properties, and refusing a history that diverged.

mod common;

use std::path::Path;
use std::process::Command;

use common::{Client, Server, zsyncd_bin};

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir)
        .output()
        .expect("run git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn export(server: &Server, to: &Path) -> std::process::Output {
    Command::new(zsyncd_bin())
        .arg("--data")
        .arg(server.data.path())
        .args(["git-export", "--path", "/demo", "--to"])
        .arg(to)
        .env_remove("ZSYNCD_DATABASE")
        .env_remove("ZSYNCD_CONFIG")
        .output()
        .expect("run zsyncd git-export")
}

fn export_ok(server: &Server, to: &Path) -> String {
    let out = export(server, to);
    assert!(
        out.status.success(),
        "git-export failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// `zsync log` of /demo as (rev, user, message), oldest first.
fn zsync_revisions(c: &Client) -> Vec<String> {
    let out = c.run(&["log", "w/demo"]).ok().stdout;
    let mut revs: Vec<String> = out
        .lines()
        .filter_map(|l| l.strip_prefix('r'))
        .filter_map(|l| l.split(' ').next().map(str::to_owned))
        .collect();
    revs.reverse();
    revs
}

#[test]
fn the_history_becomes_git_commits_and_grows_incrementally() {
    let server = Server::demo();
    let c = Client::new();
    c.run(&["co", &server.url("demo"), "w"]).ok();
    c.write("w/demo/notes.txt", "edited notes\n");
    c.run(&["ci", "-m", "Edit the notes", "w"]).ok();
    c.run(&["propset", "title", "The notes", "w/demo/notes.txt"])
        .ok();
    c.run(&["ci", "-m", "Title the notes", "w"]).ok();

    let repo = tempfile::tempdir().unwrap();
    let to = repo.path().join("git");
    let out = export_ok(&server, &to);
    assert!(out.contains("exported 3 revision(s)"), "{out}");

    // One commit per revision, oldest first, with the trailers naming them.
    let revs = zsync_revisions(&c);
    assert_eq!(revs.len(), 3, "{revs:?}");
    let log = git(
        &to,
        &[
            "log",
            "--reverse",
            "--format=%an|%s|%(trailers:key=Zsync-Revision,valueonly)",
        ],
    );
    let lines: Vec<&str> = log.lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 3, "{log}");
    assert!(lines[1].starts_with("zsync|Edit the notes|"), "{log}");
    assert!(lines[2].starts_with("zsync|Title the notes|"), "{log}");
    for (line, rev) in lines.iter().zip(&revs) {
        assert!(line.ends_with(&format!("|{rev}")), "{line} vs r{rev}");
    }
    git(&to, &["fsck", "--strict", "--no-dangling"]);
    // The bodies, the work tree and the properties' sidecar.
    assert_eq!(git(&to, &["show", "main:notes.txt"]), "edited notes\n");
    assert_eq!(
        std::fs::read_to_string(to.join("notes.txt")).unwrap(),
        "edited notes\n"
    );
    let logo = git(&to, &["cat-file", "-s", "main:images/logo.png"]);
    assert!(logo.trim().parse::<u64>().unwrap() > 0);
    let sidecar = git(&to, &["show", "main:.zsync/props/notes.txt.toml"]);
    assert!(sidecar.contains("title = \"The notes\""), "{sidecar}");
    assert!(sidecar.contains("kind = "), "{sidecar}");
    assert!(git(&to, &["show", "main:.zsync/root.toml"]).contains("kind = \"folder\""));
    // The second commit changed only notes.txt.
    let changed = git(&to, &["diff", "--name-status", "main~2", "main~1"]);
    assert_eq!(changed.trim(), "M\tnotes.txt", "{changed}");

    // Nothing new: nothing written.
    let first_tip = git(&to, &["rev-parse", "main"]);
    let out = export_ok(&server, &to);
    assert!(out.contains("up to date"), "{out}");
    assert_eq!(git(&to, &["rev-parse", "main"]), first_tip);

    // A rename, a delete and an edit: exactly three more commits.
    c.run(&["mv", "w/demo/notes.txt", "w/demo/todo.txt"]).ok();
    c.run(&["ci", "-m", "Rename the notes", "w"]).ok();
    c.run(&["rm", "w/demo/pages"]).ok();
    c.run(&["ci", "-m", "Drop the pages", "w"]).ok();
    c.write("w/demo/README.md", "# short\n");
    c.run(&["ci", "-m", "Shorter readme", "w"]).ok();
    let out = export_ok(&server, &to);
    assert!(out.contains("exported 3 revision(s)"), "{out}");
    assert_eq!(git(&to, &["rev-list", "--count", "main"]).trim(), "6");
    assert_eq!(
        git(
            &to,
            &[
                "rev-list",
                "--count",
                &format!("{}..main", first_tip.trim())
            ]
        )
        .trim(),
        "3"
    );
    git(
        &to,
        &["merge-base", "--is-ancestor", first_tip.trim(), "main"],
    );
    let rename = git(&to, &["diff", "-M", "--name-status", "main~3", "main~2"]);
    let rename: Vec<&str> = rename.lines().collect();
    assert!(rename.contains(&"R100\tnotes.txt\ttodo.txt"), "{rename:?}");
    assert!(
        rename.contains(&"R100\t.zsync/props/notes.txt.toml\t.zsync/props/todo.txt.toml"),
        "{rename:?}"
    );
    let deleted = git(&to, &["diff", "--name-status", "main~2", "main~1"]);
    assert!(deleted.contains("D\tpages/about.html"), "{deleted}");
    assert!(deleted.contains("D\t.zsync/props/pages.toml"), "{deleted}");
    assert!(!to.join("pages").exists());
    assert_eq!(git(&to, &["show", "main:README.md"]), "# short\n");
    git(&to, &["fsck", "--strict", "--no-dangling"]);
    assert_eq!(zsync_revisions(&c).len(), 6);
}

#[test]
fn a_diverged_history_or_foreign_directory_is_refused() {
    let server = Server::demo();
    let repo = tempfile::tempdir().unwrap();
    let to = repo.path().join("git");
    export_ok(&server, &to);
    let tip = git(&to, &["rev-parse", "main"]);

    // Someone commits on main: the export refuses and changes nothing.
    std::fs::write(to.join("local.txt"), "mine\n").unwrap();
    git(&to, &["add", "local.txt"]);
    git(
        &to,
        &[
            "-c",
            "user.name=me",
            "-c",
            "user.email=me@x",
            "commit",
            "-q",
            "-m",
            "mine",
        ],
    );
    let local = git(&to, &["rev-parse", "main"]);
    let c = Client::new();
    c.run(&["co", &server.url("demo"), "w"]).ok();
    c.write("w/demo/notes.txt", "newer\n");
    c.run(&["ci", "-m", "newer", "w"]).ok();
    let out = export(&server, &to);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("diverged"), "{err}");
    assert!(err.contains("hint:"), "{err}");
    assert_eq!(git(&to, &["rev-parse", "main"]), local);
    assert_eq!(git(&to, &["rev-parse", "refs/zsync/exported"]), tip);

    // Put main back: the export continues.
    git(&to, &["reset", "-q", "--hard", "refs/zsync/exported"]);
    export_ok(&server, &to);
    assert_eq!(git(&to, &["show", "main:notes.txt"]), "newer\n");

    // A directory holding other things is not taken over.
    let other = repo.path().join("other");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(other.join("keep.txt"), "x").unwrap();
    let out = export(&server, &other);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("neither empty nor a git repository"), "{err}");
    assert_eq!(std::fs::read_dir(&other).unwrap().count(), 1);
}
