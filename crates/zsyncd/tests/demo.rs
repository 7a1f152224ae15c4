//! `zsyncd demo` and `zsyncd serve`, run as real processes.

mod common;

use std::io::Read as _;
use std::time::Duration;

use common::{LISTENING, Server};
use reqwest::StatusCode;
use zsync_format::Manifest;
use zsync_format::archive::{ArchiveReader, Header};

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

fn demo_manifest(server: &Server) -> Manifest {
    let response = server.get("/tree/demo", "zsync", "zsync");
    assert_eq!(response.status(), StatusCode::OK);
    response.json().unwrap()
}

#[test]
fn demo_creates_content_and_prints_how_to_check_it_out() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path(), "demo");

    let listening: Vec<_> = server
        .stdout
        .iter()
        .filter(|l| l.starts_with(LISTENING))
        .collect();
    assert_eq!(listening.len(), 1, "{:?}", server.stdout);
    assert!(server.url.starts_with("http://127.0.0.1:"));
    assert!(!server.url.ends_with(":0"));
    let host = server.url.strip_prefix("http://").unwrap();
    let checkout = format!("  zsync checkout http://zsync:zsync@{host}/demo ./parts/checkout");
    assert!(server.stdout.contains(&checkout), "{:?}", server.stdout);

    let manifest = demo_manifest(&server);
    let entries: Vec<_> = manifest
        .entries
        .iter()
        .map(|e| (e.path.as_str(), e.kind.as_str()))
        .collect();
    assert_eq!(
        entries,
        [
            ("", "folder"),
            ("README.md", "document"),
            ("images", "folder"),
            ("images/logo.png", "image"),
            ("index.html", "document"),
            ("notes.txt", "document"),
            ("pages", "folder"),
            ("pages/about.html", "document"),
        ]
    );
    let entry = |path: &str| {
        manifest
            .entries
            .iter()
            .find(|e| e.path.as_str() == path)
            .unwrap()
    };
    assert_eq!(entry("index.html").props["content_type"], "text/html");
    assert_eq!(entry("README.md").props["content_type"], "text/markdown");
    assert_eq!(entry("notes.txt").props["content_type"], "text/plain");
    assert_eq!(entry("images/logo.png").props["content_type"], "image/png");
    assert!(entry("notes.txt").props.contains_key("title"));
    assert!(entry("images").hash.is_none());
    assert_eq!(entry("index.html").author, "zsync");

    // The bodies, through the archive.
    let mut response = server.get("/archive/demo", "zsync", "zsync");
    assert_eq!(response.status(), StatusCode::OK);
    let mut bytes = Vec::new();
    response.read_to_end(&mut bytes).unwrap();
    let mut archive = ArchiveReader::new(&bytes[..]).unwrap();
    let mut bodies = std::collections::HashMap::new();
    loop {
        match archive.next_header().unwrap() {
            Header::Manifest(_) => {}
            Header::Body { hash, .. } => {
                let mut body = Vec::new();
                archive.body().read_to_end(&mut body).unwrap();
                bodies.insert(hash, body);
            }
            Header::End => break,
        }
    }
    let body = |path: &str| &bodies[&entry(path).hash.unwrap()];
    assert!(body("images/logo.png").starts_with(PNG_SIGNATURE));
    let index = String::from_utf8(body("index.html").clone()).unwrap();
    assert!(index.contains("<title>"), "{index}");
    assert!(String::from_utf8_lossy(body("notes.txt")).lines().count() > 3);

    // The demo user is a Manager, and wrong passwords are refused.
    let response = server.get("/tree/demo", "zsync", "wrong");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[test]
fn demo_restart_keeps_content_and_adds_nothing() {
    let data = tempfile::tempdir().unwrap();
    let first = {
        let server = Server::start(data.path(), "demo");
        demo_manifest(&server)
    };
    let server = Server::start(data.path(), "demo");
    let second = demo_manifest(&server);
    assert_eq!(second, first);
    assert_eq!(second.head, 1, "a restart must not commit again");

    let response = server.get("/log/demo", "zsync", "zsync");
    let log: Vec<zsync_format::LogEntry> = response.json().unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].message, "Demo content");

    // `serve` on the same data serves the same content.
    drop(server);
    let server = Server::start(data.path(), "serve");
    assert_eq!(
        server
            .stdout
            .iter()
            .filter(|l| l.starts_with(LISTENING))
            .count(),
        1
    );
    assert_eq!(demo_manifest(&server), first);
}

#[test]
fn serve_on_a_new_directory_starts_and_hints_at_adding_users() {
    let parent = tempfile::tempdir().unwrap();
    let data = parent.path().join("new-store");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_zsyncd"))
        .args(["serve", "--http", "256.0.0.1:1", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("add one with `zsyncd user add NAME"),
        "{stderr}"
    );
    assert!(
        stderr.contains("error: cannot listen on 256.0.0.1:1"),
        "{stderr}"
    );

    let server = Server::start(&data, "serve");
    assert_eq!(server.stdout, [format!("{LISTENING}{}", server.url)]);
    let response = server.get("/tree/", "zsync", "zsync");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[cfg(unix)]
#[test]
fn sigterm_stops_the_server_cleanly() {
    let data = tempfile::tempdir().unwrap();
    let mut server = Server::start(data.path(), "demo");
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &server.pid().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = server
        .wait_exit(Duration::from_secs(20))
        .expect("zsyncd did not stop on SIGTERM");
    assert!(status.success(), "{status:?}");
}
