//! Bad input gets a one-line error that says what to do, the right exit
//! code, and changes nothing.

mod common;

use common::{Client, Server};

#[test]
fn wrong_password() {
    let server = Server::demo();
    let c = Client::new();
    let out = c
        .run(&["co", &server.url_as("zsync:nope", "demo"), "w"])
        .fails(1);
    assert!(
        out.stderr
            .contains("authentication failed for zsync at http://127.0.0.1:"),
        "{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("nope"),
        "password leaked: {}",
        out.stderr
    );
    assert!(!c.exists("w"));
}

#[test]
fn server_down() {
    let c = Client::new();
    let out = c
        .run(&["co", "http://zsync:zsync@127.0.0.1:9/demo", "w"])
        .fails(1);
    assert!(
        out.stderr.contains("cannot connect to http://127.0.0.1:9"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("zsync:zsync"), "{}", out.stderr);
}

#[test]
fn url_not_found_and_malformed() {
    let server = Server::demo();
    let c = Client::new();
    let out = c.run(&["co", &server.url("nothing/here"), "w"]).fails(1);
    assert!(out.stderr.contains("not found"), "{}", out.stderr);
    let out = c.run(&["co", "ftp://h/x"]).fails(1);
    assert!(
        out.stderr
            .contains("scheme must be http, https or zsync+ssh"),
        "{}",
        out.stderr
    );
    let out = c.run(&["co", "not a url"]).fails(1);
    assert!(out.stderr.contains("invalid URL"), "{}", out.stderr);
    let out = c.run(&["co", &server.url("demo/index.html"), "w"]).fails(1);
    assert!(out.stderr.contains("not a folder"), "{}", out.stderr);
    assert!(!c.exists("w/index.html"));
}

#[test]
fn checkout_into_a_file_or_an_existing_copy() {
    let server = Server::demo();
    let c = Client::new();
    c.write("file", "x");
    let out = c.run(&["co", &server.url("demo"), "file"]).fails(1);
    assert!(out.stderr.contains("is a file"), "{}", out.stderr);
    c.run(&["co", &server.url("demo"), "w"]).ok();
    let out = c.run(&["co", &server.url("demo"), "w"]).fails(1);
    assert!(out.stderr.contains("already exists"), "{}", out.stderr);
}

#[test]
fn commands_outside_a_working_copy() {
    let c = Client::new();
    for args in [
        &["commit", "-m", "x"][..],
        &["status"],
        &["update"],
        &["diff"],
    ] {
        let out = c.run(args).fails(1);
        assert!(
            out.stderr.contains("is not in a zsync working copy"),
            "{args:?}: {}",
            out.stderr
        );
        assert!(out.stderr.contains("zsync checkout"), "{}", out.stderr);
    }
}

#[test]
fn add_problems_change_nothing() {
    let server = Server::demo();
    let c = Client::new();
    c.run(&["co", &server.url("demo"), "w"]).ok();
    c.write("w/demo/ok.txt", "x");
    let out = c
        .run(&["add", "w/demo/ok.txt", "w/demo/missing.txt"])
        .fails(1);
    assert!(
        out.stderr.contains("missing.txt: does not exist"),
        "{}",
        out.stderr
    );
    // All or nothing: ok.txt was not added either.
    assert_eq!(c.run(&["st", "w"]).ok().stdout, "?       w/demo/ok.txt\n");
    c.write("w/demo/bad\u{7}name", "x");
    let out = c.run(&["add", "w/demo/bad\u{7}name"]).fails(1);
    assert!(out.stderr.contains("control character"), "{}", out.stderr);
    let out = c.run(&["add", "w/demo/index.html"]).fails(1);
    assert!(
        out.stderr.contains("already under version control"),
        "{}",
        out.stderr
    );
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink("/etc/passwd", c.path("w/demo/link")).unwrap();
        let out = c.run(&["add", "w/demo/link"]).fails(1);
        assert!(out.stderr.contains("symbolic link"), "{}", out.stderr);
    }
}

#[test]
fn usage_errors_exit_2() {
    let c = Client::new();
    assert!(
        c.run(&["frobnicate"])
            .fails(2)
            .stderr
            .contains("unrecognized subcommand")
    );
    c.run(&["add"]).fails(2);
    c.run(&["resolve", "--accept", "whatever", "x"]).fails(2);
}

#[test]
fn help_version_and_aliases() {
    let c = Client::new();
    let help = c.run(&["help"]).ok().stdout;
    for cmd in [
        "checkout", "update", "status", "diff", "add", "remove", "mkdir", "revert", "resolve",
        "resolved", "commit", "log", "login", "logout", "cleanup",
    ] {
        assert!(
            help.contains(&format!("  {cmd}")),
            "{cmd} missing from help:\n{help}"
        );
    }
    for alias in ["co", "up", "st", "di", "rm", "ci"] {
        assert!(help.contains(alias), "alias {alias} missing:\n{help}");
    }
    let commit_help = c.run(&["help", "commit"]).ok().stdout;
    assert!(commit_help.contains("--message"), "{commit_help}");
    assert!(c.run(&["ci", "--help"]).ok().stdout.contains("--message"));
    assert!(c.run(&["--version"]).ok().stdout.starts_with("zsync "));
}

#[test]
fn a_server_that_sends_an_escaping_path_is_refused() {
    // A fake server answering the archive route with a manifest whose path
    // climbs out of the checkout.
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        for stream in listener.incoming().take(2) {
            let mut s = stream.unwrap();
            let mut buf = [0u8; 4096];
            let n = s.read(&mut buf).unwrap();
            let req = String::from_utf8_lossy(&buf[..n]).to_string();
            let body: Vec<u8> = if req.starts_with("POST /api/v1/login") {
                br#"{"token":"t","expires":4102444800,"user":"u"}"#.to_vec()
            } else {
                let manifest = br#"{"root":"demo","head":1,"entries":[{"path":"","oid":"00000000000000000000000000000001","kind":"folder","rev":1},{"path":"../../evil","oid":"00000000000000000000000000000002","kind":"document","rev":1,"hash":"0000000000000000000000000000000000000000000000000000000000000000","size":1}]}"#;
                let mut b = b"ZSYNC-ARCHIVE/1\nM".to_vec();
                b.extend((manifest.len() as u64).to_be_bytes());
                b.extend(manifest);
                b.push(b'E');
                b
            };
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            s.write_all(head.as_bytes()).unwrap();
            s.write_all(&body).unwrap();
        }
    });
    let c = Client::new();
    let out = c
        .run(&["co", &format!("http://u:p@127.0.0.1:{port}/demo"), "w"])
        .fails(1);
    assert!(
        out.stderr.contains("manifest is malformed"),
        "{}",
        out.stderr
    );
    assert!(!c.exists("w/demo"), "partial checkout left behind");
    assert!(!c.path("evil").exists() && !c.dir.path().parent().unwrap().join("evil").exists());
    handle.join().unwrap();
}

#[test]
fn a_redirect_from_http_to_https_is_refused_with_a_hint() {
    // A plain http:// client loads no certificate roots, so it refuses to
    // follow the server to https:// rather than fail on a certificate.
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        let mut s = listener.incoming().next().unwrap().unwrap();
        let mut buf = [0u8; 4096];
        let _ = s.read(&mut buf).unwrap();
        let head = format!(
            "HTTP/1.1 301 Moved Permanently\r\nLocation: https://127.0.0.1:{port}/api/v1/login\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        s.write_all(head.as_bytes()).unwrap();
    });
    let c = Client::new();
    let out = c
        .run(&["co", &format!("http://u:p@127.0.0.1:{port}/demo"), "w"])
        .fails(1);
    assert!(
        out.stderr
            .contains("redirects to https://; use the https:// URL"),
        "{}",
        out.stderr
    );
    assert!(!c.exists("w"));
    handle.join().unwrap();
}

#[test]
fn names_that_collide_on_other_filesystems_are_refused() {
    let server = Server::demo();
    let c = Client::new();
    c.run(&["co", &server.url("demo"), "w"]).ok();
    c.write("w/demo/Notes.TXT", "x");
    let out = c.run(&["add", "w/demo/Notes.TXT"]).fails(1);
    assert!(
        out.stderr.contains("only in case or Unicode form"),
        "{}",
        out.stderr
    );
    // NFC and NFD spellings of the same name.
    c.write("w/demo/caf\u{e9}.txt", "nfc");
    c.write("w/demo/cafe\u{301}.txt", "nfd");
    let out = c
        .run(&["add", "w/demo/caf\u{e9}.txt", "w/demo/cafe\u{301}.txt"])
        .fails(1);
    assert!(
        out.stderr.contains("only in case or Unicode form"),
        "{}",
        out.stderr
    );
    assert_eq!(c.run(&["st", "-q", "w"]).ok().stdout, "");
}

#[test]
fn an_interrupted_command_is_reported_until_cleanup() {
    let server = Server::demo();
    let c = Client::new();
    c.run(&["co", &server.url("demo"), "w"]).ok();
    // The lock of a command that was killed: its process no longer exists.
    std::fs::write(c.path("w/demo/.zsync/lock"), "4000000000\n").unwrap();
    for args in [
        &["status", "w"][..],
        &["diff", "w"],
        &["update", "w"],
        &["commit", "-m", "x", "w"],
    ] {
        let out = c.run(args).fails(1);
        assert!(
            out.stderr.contains("interrupted zsync command"),
            "{args:?}: {}",
            out.stderr
        );
        assert!(out.stderr.contains("zsync cleanup"), "{}", out.stderr);
    }
    c.run(&["cleanup", "w"]).ok();
    assert_eq!(c.run(&["status", "w"]).ok().stdout, "");
    // A live holder is a concurrent command: changing commands wait their turn.
    std::fs::write(
        c.path("w/demo/.zsync/lock"),
        format!("{}\n", std::process::id()),
    )
    .unwrap();
    let out = c.run(&["update", "w"]).fails(1);
    assert!(
        out.stderr.contains("locked by another zsync command"),
        "{}",
        out.stderr
    );
}
