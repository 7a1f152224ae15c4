//! Bad input end to end, through the real binaries: malformed URLs, an
//! unreachable server, a (tiny, fake) server answering garbage, an error
//! page or a truncated archive, a full disk and a read-only target (small
//! tmpfs mounts, skipped with a message where mounting is not allowed), a
//! working copy from a newer zsync, and two commands on one working copy.
//! Each must end with a clear message, exit code 1, and nothing lost.

mod common;

use std::io::{Read as _, Write as _};
use std::path::Path;
use std::process::{Command, Stdio};

use common::{Client, Server, zsync_bin};

/// A server that answers every request with `response` (raw HTTP, or
/// nothing at all if empty) and closes the connection.
fn fake_server(response: Vec<u8>) -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut buf = [0u8; 8192];
            let _ = s.read(&mut buf);
            let _ = s.write_all(&response);
        }
    });
    port
}

fn http_response(status: &str, body: &[u8], declared_len: usize) -> Vec<u8> {
    let mut out =
        format!("HTTP/1.1 {status}\r\nContent-Length: {declared_len}\r\nConnection: close\r\n\r\n")
            .into_bytes();
    out.extend_from_slice(body);
    out
}

/// An archive whose one body frame promises 100 bytes and holds 10.
fn truncated_archive() -> Vec<u8> {
    let hash = "ab".repeat(32);
    let manifest = format!(
        r#"{{"root":"demo","head":1,"entries":[{{"path":"","oid":"00000000000000000000000000000001","kind":"folder","rev":1}},{{"path":"a.txt","oid":"00000000000000000000000000000002","kind":"document","rev":1,"hash":"{hash}","size":100}}]}}"#
    );
    let mut b = b"ZSYNC-ARCHIVE/1\nM".to_vec();
    b.extend((manifest.len() as u64).to_be_bytes());
    b.extend(manifest.as_bytes());
    b.push(b'B');
    b.extend([0xab; 32]);
    b.extend(100u64.to_be_bytes());
    b.extend([b'x'; 10]);
    b
}

#[test]
fn bad_servers_and_urls_fail_cleanly_and_leave_nothing() {
    let garbage = fake_server(http_response("200 OK", b"<html>hello</html>", 18));
    let error_page = fake_server(http_response(
        "500 Internal Server Error",
        b"<html>oops</html>",
        17,
    ));
    let archive = truncated_archive();
    let truncated = fake_server(http_response("200 OK", &archive, archive.len() + 90));
    let silent = fake_server(Vec::new());

    // With a user in the URL the client first logs in (JSON); without,
    // its first request is the archive.
    let login = |port: u16| format!("http://u:p@127.0.0.1:{port}/demo");
    let anonymous = |port: u16| format!("http://127.0.0.1:{port}/demo");
    let cases: Vec<(&str, String, &str)> = vec![
        ("no scheme", "not a url".into(), "invalid URL"),
        ("unclosed bracket", "http://[::1/demo".into(), "invalid URL"),
        ("bad port", "http://host:port/demo".into(), "invalid URL"),
        ("other scheme", "ftp://h/x".into(), "scheme must be"),
        (
            "unreachable",
            "http://u:p@127.0.0.1:9/demo".into(),
            "cannot connect to http://127.0.0.1:9",
        ),
        (
            "garbage login answer",
            login(garbage),
            "is the URL a zsync server?",
        ),
        ("garbage archive", anonymous(garbage), "not a zsync archive"),
        ("error page", login(error_page), "server error (500)"),
        (
            "error page, anonymous",
            anonymous(error_page),
            "server error (500)",
        ),
        (
            "truncated archive",
            anonymous(truncated),
            "the archive from the server broke off",
        ),
        ("no answer", anonymous(silent), "cannot connect"),
    ];
    let mut failures = Vec::new();
    for (name, url, expected) in &cases {
        let c = Client::new();
        let out = c.run(&["checkout", url, "w"]);
        if out.code != 1 || !out.stderr.contains(expected) {
            failures.push(format!(
                "{name}: exit {}, expected 1 and {expected:?} in:\n{}",
                out.code, out.stderr
            ));
        }
        if out.stderr.contains(":p@") {
            failures.push(format!("{name}: the password was shown: {}", out.stderr));
        }
        if c.exists("w") {
            failures.push(format!("{name}: a partial checkout was left behind"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A tmpfs of `size` at `dir`, unmounted on drop; `None` where mounting is
/// not allowed (not root, or no CAP_SYS_ADMIN in a container).
struct Tmpfs(std::path::PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, options: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(dir).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", options, "tmpfs"])
            .arg(dir)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Tmpfs(dir.to_owned()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn full_disk_and_read_only_target() {
    let server = Server::demo();
    let c = Client::new();
    c.run(&["checkout", &server.url("demo"), "w"]).ok();
    // A body larger than the small disk below.
    let big: String = (0..40_000).map(|i| format!("line {i}\n")).collect();
    c.write("w/demo/big.txt", &big);
    c.run(&["add", "w/demo/big.txt"]).ok();
    c.run(&["commit", "-m", "big", "w/demo"]).ok();

    let Some(small) = Tmpfs::mount(&c.path("small"), "size=128k") else {
        eprintln!("skipped: cannot mount a tmpfs here (needs root), so no full-disk test");
        return;
    };
    let out = c
        .run_in("small", &["checkout", &server.url("demo"), "w"])
        .fails(1);
    assert!(
        out.stderr.contains("No space left on device"),
        "{}",
        out.stderr
    );
    assert!(!c.exists("small/w"), "a partial checkout was left behind");
    drop(small);

    let Some(ro) = Tmpfs::mount(&c.path("ro"), "size=1m,ro") else {
        eprintln!("skipped: cannot mount a read-only tmpfs here");
        return;
    };
    let out = c
        .run_in("ro", &["checkout", &server.url("demo"), "w"])
        .fails(1);
    assert!(
        out.stderr.contains("Read-only file system"),
        "{}",
        out.stderr
    );
    drop(ro);

    // An update that runs out of space keeps the local edit and the old index.
    let Some(_tight) = Tmpfs::mount(&c.path("tight"), "size=256k") else {
        return;
    };
    let other = Client::new();
    other.run(&["checkout", &server.url("demo"), "o"]).ok();
    other.run(&["rm", "o/demo/big.txt"]).ok();
    other.run(&["commit", "-m", "small again", "o/demo"]).ok();
    c.run_in("tight", &["checkout", &server.url("demo"), "w"])
        .ok();
    c.write("tight/w/demo/notes.txt", "my edit\n");
    other.write("o/demo/big2.txt", &big);
    other.run(&["add", "o/demo/big2.txt"]).ok();
    other.run(&["commit", "-m", "big again", "o/demo"]).ok();
    let before = std::fs::read(c.path("tight/w/demo/.zsync/index")).unwrap();
    let out = c.run(&["update", "tight/w/demo"]).fails(1);
    assert!(
        out.stderr.contains("No space left on device"),
        "{}",
        out.stderr
    );
    assert_eq!(c.read("tight/w/demo/notes.txt"), "my edit\n");
    assert_eq!(
        std::fs::read(c.path("tight/w/demo/.zsync/index")).unwrap(),
        before,
        "the index changed although the update failed"
    );
    let status = c.run(&["status", "tight/w/demo"]).ok().stdout;
    assert_eq!(status, "M       tight/w/demo/notes.txt\n");
}

/// A working copy of format 1 (the index as JSON) keeps working, and its
/// next save converts it; a damaged index is refused with its path.
#[test]
fn json_indexes_are_read_and_damaged_ones_refused() {
    let server = Server::demo();
    let c = Client::new();
    c.run(&["checkout", &server.url("demo"), "w"]).ok();
    c.write("w/demo/notes.txt", "my edit\n");
    let binary = c.path("w/demo/.zsync/index");
    let json = c.path("w/demo/.zsync/index.json");
    let data = std::fs::read(&binary).unwrap();
    let (mut index, _) = zsync_client::index::disk::decode(&data).unwrap();
    index.format = 1;
    std::fs::write(&json, serde_json::to_vec(&index).unwrap()).unwrap();
    std::fs::remove_file(&binary).unwrap();

    let st = c.run(&["status", "w/demo"]).ok().stdout;
    assert_eq!(st, "M       w/demo/notes.txt\n");
    c.run(&["commit", "-m", "edit", "w/demo"]).ok();
    assert!(!json.exists() && binary.exists(), "a save converts");
    assert_eq!(c.run(&["status", "w/demo"]).ok().stdout, "");

    let mut damaged = std::fs::read(&binary).unwrap();
    let middle = damaged.len() / 2;
    damaged[middle] ^= 1;
    std::fs::write(&binary, damaged).unwrap();
    let out = c.run(&["status", "w/demo"]).fails(1);
    assert!(
        out.stderr.contains(".zsync/index") && out.stderr.contains("damaged"),
        "{}",
        out.stderr
    );
}

#[test]
fn newer_working_copies_and_concurrent_commands_are_refused() {
    let server = Server::demo();
    let c = Client::new();
    c.run(&["checkout", &server.url("demo"), "w"]).ok();
    c.write("w/demo/notes.txt", "my edit\n");

    // A working copy written by a newer zsync: the format follows the
    // file's 8-byte magic.
    let index = c.path("w/demo/.zsync/index");
    let text = std::fs::read(&index).unwrap();
    let mut newer = text.clone();
    newer[8..12].copy_from_slice(&99u32.to_le_bytes());
    std::fs::write(&index, newer).unwrap();
    for args in [
        &["status", "w/demo"][..],
        &["update", "w/demo"],
        &["commit", "-m", "x", "w/demo"],
    ] {
        let out = c.run(args).fails(1);
        assert!(
            out.stderr.contains("index format 99"),
            "{args:?}: {}",
            out.stderr
        );
    }
    std::fs::write(&index, &text).unwrap();
    assert_eq!(c.read("w/demo/notes.txt"), "my edit\n");

    // A second command while one runs: the running one holds the lock
    // (paused at a fault point, which debug builds only have).
    if !cfg!(debug_assertions) {
        return;
    }
    let mut commit = Command::new(zsync_bin())
        .args(["commit", "-m", "slow", "w/demo"])
        .current_dir(c.path(""))
        .env("ZSYNC_CONFIG_DIR", c.config.path())
        .env("ZSYNC_FAULT", "client-commit-sent")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = std::io::BufReader::new(commit.stderr.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut stderr, &mut line).unwrap();
    assert_eq!(line.trim(), "zsync-fault: client-commit-sent");
    for args in [
        &["update", "w/demo"][..],
        &["revert", "w/demo/notes.txt"],
        &["commit", "-m", "y", "w/demo"],
    ] {
        let out = c.run(args).fails(1);
        assert!(
            out.stderr
                .contains("is locked by another zsync command (process"),
            "{args:?}: {}",
            out.stderr
        );
    }
    // Reading is fine meanwhile.
    c.run(&["status", "w/demo"]).ok();
    commit.kill().unwrap();
    commit.wait().unwrap();
    assert_eq!(c.read("w/demo/notes.txt"), "my edit\n");
}
