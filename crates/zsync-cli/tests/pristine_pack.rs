//! The pristine store's packs through the real binaries: a command storing
//! many bodies packs them, later commands read them back, a damaged pack
//! is a clear error, and working copies with loose bodies only (made
//! before packs) keep working.

mod common;

use std::path::{Path, PathBuf};

use common::{Client, Server, contains_line};
use zsync_model::BodyHash;

/// More files than a command keeps loose, so most bodies are packed.
const FILES: usize = 60;

fn text(i: usize) -> String {
    format!("file {i}\nline two\nline three\n")
}

fn rel(i: usize) -> String {
    format!("d{}/f{i}.txt", i % 4)
}

/// Checks a tree of [`FILES`] files in as `/tree` from `src`.
fn checked_in(server: &Server) -> Client {
    let c = Client::new();
    c.run(&["login", &server.url("")]).ok();
    for i in 0..FILES {
        c.write(&format!("src/{}", rel(i)), &text(i));
    }
    c.run(&["checkin", "-m", "tree", &server.url("tree"), "src"])
        .ok();
    c
}

fn packs_dir(wc: &Path) -> PathBuf {
    wc.join(".zsync/pristine/packs")
}

fn files_ending(dir: &Path, ext: &str) -> Vec<PathBuf> {
    match std::fs::read_dir(dir) {
        Ok(read) => read
            .map(|e| e.unwrap().path())
            .filter(|p| p.to_string_lossy().ends_with(ext))
            .collect(),
        Err(_) => Vec::new(),
    }
}

#[test]
fn a_pack_survives_and_serves_bodies_across_commands() {
    let server = Server::demo();
    let c = checked_in(&server);
    assert_eq!(files_ending(&packs_dir(&c.path("src")), ".idx").len(), 1);
    c.run(&["checkout", &server.url("tree"), "a"]).ok();
    let wc = c.path("a/tree");
    assert_eq!(files_ending(&packs_dir(&wc), ".idx").len(), 1);
    assert_eq!(files_ending(&packs_dir(&wc), ".pack").len(), 1);
    for i in 0..FILES {
        assert_eq!(c.read(&format!("a/tree/{}", rel(i))), text(i));
    }
    assert_eq!(c.run(&["status", "a"]).ok().stdout, "");

    // Every base copy is read back: diff (built in and external), cat,
    // revert.
    for i in 0..FILES {
        c.write(&format!("a/tree/{}", rel(i)), &format!("changed {i}\n"));
    }
    let diff = c.run(&["diff", "a"]).ok().stdout;
    for i in 0..FILES {
        assert!(contains_line(&diff, &format!("-file {i}")), "{diff}");
    }
    let external = c.run(&["diff", "--diff-cmd", "diff", "a"]).ok().stdout;
    for i in 0..FILES {
        assert!(
            contains_line(&external, &format!("-file {i}")),
            "{external}"
        );
    }
    let cat = c.run(&["cat", &format!("a/tree/{}", rel(7))]).ok().stdout;
    assert_eq!(cat, text(7));
    c.run(&["revert", "-R", "a/tree"]).ok();
    for i in 0..FILES {
        assert_eq!(c.read(&format!("a/tree/{}", rel(i))), text(i));
    }
    assert_eq!(c.run(&["status", "a"]).ok().stdout, "");

    // A commit of many files, received by an update of the first copy:
    // both store them in a new pack, and the older ones still serve.
    for i in 0..FILES {
        c.write(&format!("a/tree/{}", rel(i)), &format!("second {i}\n"));
    }
    c.run(&["commit", "-m", "all", "a"]).ok();
    c.run(&["update", "src"]).ok();
    for i in 0..FILES {
        assert_eq!(c.read(&format!("src/{}", rel(i))), format!("second {i}\n"));
    }
    assert_eq!(files_ending(&packs_dir(&c.path("src")), ".idx").len(), 2);
    assert_eq!(c.run(&["status", "src", "a"]).ok().stdout, "");
    c.write(&format!("src/{}", rel(3)), "third\n");
    let diff = c.run(&["diff", "src"]).ok().stdout;
    assert!(contains_line(&diff, "-second 3"), "{diff}");
    // Nothing left behind in the admin area's temp space.
    assert!(files_ending(&c.path("a/tree/.zsync/tmp"), "").is_empty());
}

#[test]
fn a_cut_short_or_damaged_pack_is_a_clear_error() {
    let server = Server::demo();
    let c = checked_in(&server);
    c.run(&["checkout", &server.url("tree"), "a"]).ok();
    let wc = c.path("a/tree");
    let pack = files_ending(&packs_dir(&wc), ".pack").remove(0);
    let data = std::fs::read(&pack).unwrap();

    // Bytes flipped, length kept: a body read back no longer matches its
    // hash, and revert refuses rather than write it.
    let mut flipped = data.clone();
    flipped[8..].iter_mut().for_each(|b| *b = !*b);
    std::fs::write(&pack, &flipped).unwrap();
    for i in 0..FILES {
        std::fs::remove_file(wc.join(rel(i))).unwrap();
    }
    let out = c.run(&["revert", "-R", "a/tree"]);
    assert_ne!(out.code, 0, "{}", out.stdout);
    assert!(out.stderr.contains("is damaged"), "{}", out.stderr);
    assert!(out.stderr.contains("zsync cleanup"), "{}", out.stderr);

    // Cut short: every body past the end is reported as lost.
    std::fs::write(&pack, &data[..9]).unwrap();
    let out = c.run(&["revert", "-R", "a/tree"]);
    assert_ne!(out.code, 0, "{}", out.stdout);
    assert!(out.stderr.contains("is cut short"), "{}", out.stderr);
    // No file was written from a damaged base copy.
    for i in 0..FILES {
        let path = wc.join(rel(i));
        assert!(
            !path.exists() || std::fs::read_to_string(&path).unwrap() == text(i),
            "{}",
            path.display()
        );
        std::fs::write(&path, "edited\n").unwrap();
    }
    let out = c.run(&["diff", "a"]);
    assert_ne!(out.code, 0, "{}", out.stdout);
    assert!(out.stderr.contains("is cut short"), "{}", out.stderr);
}

/// Turns a working copy into the layout of one made before packs: every
/// base copy a loose file `pristine/xx/HASH`, no packs.
fn unpack(wc: &Path) {
    for i in 0..FILES {
        let data = std::fs::read(wc.join(rel(i))).unwrap();
        let hex = BodyHash::of(&data).to_hex();
        let dir = wc.join(".zsync/pristine").join(&hex[..2]);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(&hex), &data).unwrap();
    }
    std::fs::remove_dir_all(packs_dir(wc)).unwrap();
}

#[test]
fn a_copy_with_loose_bodies_only_keeps_working() {
    let server = Server::demo();
    let c = checked_in(&server);
    c.run(&["checkout", &server.url("tree"), "a"]).ok();
    let wc = c.path("a/tree");
    unpack(&wc);
    assert_eq!(c.run(&["status", "a"]).ok().stdout, "");
    c.write(&format!("a/tree/{}", rel(5)), "edited\n");
    let diff = c.run(&["diff", "a"]).ok().stdout;
    assert!(contains_line(&diff, "-file 5"), "{diff}");
    std::fs::remove_file(wc.join(rel(6))).unwrap();
    c.run(&["revert", &format!("a/tree/{}", rel(6))]).ok();
    assert_eq!(c.read(&format!("a/tree/{}", rel(6))), text(6));
    c.run(&["commit", "-m", "one", "a"]).ok();

    // Many changes from elsewhere: the update packs them beside the loose
    // ones.
    c.run(&["update", "src"]).ok();
    for i in 0..FILES {
        c.write(&format!("src/{}", rel(i)), &format!("from src {i}\n"));
    }
    c.run(&["commit", "-m", "many", "src"]).ok();
    c.run(&["update", "a"]).ok();
    for i in 0..FILES {
        assert_eq!(
            c.read(&format!("a/tree/{}", rel(i))),
            format!("from src {i}\n")
        );
    }
    assert_eq!(files_ending(&packs_dir(&wc), ".idx").len(), 1);
    assert_eq!(c.run(&["status", "a"]).ok().stdout, "");
}
