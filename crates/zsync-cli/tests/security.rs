//! Grants and HTTPS through the real `zsync` and `zsyncd`: what a user
//! may see and change, and how certificates are checked.

mod common;

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use common::{Client, Server, zsync_bin, zsyncd_bin};

/// `zsyncd ARGS --data DIR`, which must succeed.
fn zsyncd(data: &Path, args: &[&str]) {
    let out = Command::new(zsyncd_bin())
        .args(args)
        .arg("--data")
        .arg(data)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "zsyncd {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_reader_of_one_folder_sees_only_that_folder() {
    let server = Server::demo();
    server.add_user("pat", "pw", "none");
    zsyncd(
        server.data.path(),
        &["grant", "reader", "pat", "/demo/pages"],
    );
    let c = Client::new();

    // The folder itself: all of it, no warning.
    let out = c
        .run(&["co", &server.url_as("pat:pw", "demo/pages"), "p"])
        .ok();
    assert!(!out.stderr.contains("left out"), "{}", out.stderr);
    assert!(c.exists("p/pages/about.html"));

    // Its parent: just the way down to what pat may read, said once.
    let out = c.run(&["co", &server.url_as("pat:pw", "demo"), "w"]).ok();
    assert_eq!(out.stderr.matches("left out").count(), 1, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("zsync: warning: 5 item(s) you may not read were left out"),
        "{}",
        out.stderr
    );
    assert!(c.exists("w/demo/pages/about.html"));
    for hidden in ["w/demo/index.html", "w/demo/notes.txt", "w/demo/images"] {
        assert!(!c.exists(hidden), "{hidden}");
    }
    assert!(!out.stdout.contains("index.html"), "{}", out.stdout);

    // An update with nothing new answers from the change feed (the
    // checkout's warning stands) and leaves the rest alone.
    let out = c.run(&["up", "w"]).ok();
    assert!(out.stdout.starts_with("At revision "), "{}", out.stdout);
    assert!(c.exists("w/demo/pages/about.html"));
    for hidden in ["w/demo/index.html", "w/demo/notes.txt", "w/demo/images"] {
        assert!(!c.exists(hidden), "{hidden}");
    }

    // Nothing at all where pat holds no role.
    let out = c
        .run(&["co", &server.url_as("pat:pw", "demo/images"), "i"])
        .fails(1);
    assert!(out.stderr.contains("permission denied"), "{}", out.stderr);
    assert!(!c.exists("i"));

    // Without credentials (and no stored login): only what anonymous was
    // granted.
    let c = Client::new();
    let anonymous = format!("{}/demo/images", server.base);
    let out = c.run(&["co", &anonymous, "a"]).fails(1);
    assert!(
        out.stderr.contains("authentication required"),
        "{}",
        out.stderr
    );
    zsyncd(
        server.data.path(),
        &["grant", "reader", "anonymous", "/demo/images"],
    );
    c.run(&["co", &anonymous, "a"]).ok();
    assert!(c.exists("a/images/logo.png"));
}

#[test]
fn a_readers_commit_is_refused_with_a_clear_message() {
    let server = Server::demo();
    server.add_user("rita", "pw", "reader");
    let c = Client::new();
    c.run(&["co", &server.url_as("rita:pw", "demo"), "w"]).ok();
    c.write("w/demo/notes.txt", "changed by a reader\n");
    let out = c.run(&["ci", "-m", "nope", "w"]).fails(1);
    // Refused at the first step, uploading the new body.
    assert!(
        out.stderr.contains(
            "zsync: permission denied: rita may not commit (upload bodies); \
             an Editor role is needed"
        ),
        "{}",
        out.stderr
    );
    // A commit without bodies is refused path by path.
    c.run(&["rm", "w/demo/README.md"]).ok();
    c.run(&["revert", "w/demo/notes.txt"]).ok();
    let out = c.run(&["ci", "-m", "nope", "w"]).fails(1);
    assert!(
        out.stderr.contains(
            "zsync: permission denied: rita may not change 1 of the path(s); nothing was changed:\n  \
             demo/README.md: an Editor role on /demo/README.md is needed"
        ),
        "{}",
        out.stderr
    );
    c.run(&["revert", "w/demo/README.md"]).ok();
    c.write("w/demo/notes.txt", "changed by a reader\n");
    // Nothing reached the server, and the edit is still here.
    let other = Client::new();
    other.run(&["co", &server.url("demo"), "x"]).ok();
    assert_ne!(other.read("x/demo/notes.txt"), "changed by a reader\n");
    assert_eq!(c.read("w/demo/notes.txt"), "changed by a reader\n");
    let status = c.run(&["st", "w"]).ok();
    assert!(status.stdout.contains("M"), "{}", status.stdout);
}

#[test]
fn a_commit_outside_the_editors_grant_is_refused_whole() {
    let server = Server::demo();
    server.add_user("ed", "pw", "reader");
    zsyncd(
        server.data.path(),
        &["grant", "editor", "ed", "/demo/pages"],
    );
    let c = Client::new();
    c.run(&["co", &server.url_as("ed:pw", "demo"), "w"]).ok();
    c.write("w/demo/pages/about.html", "allowed\n");
    c.write("w/demo/index.html", "not allowed\n");
    c.write("w/demo/new.txt", "not allowed either\n");
    c.run(&["add", "w/demo/new.txt"]).ok();
    let out = c.run(&["ci", "-m", "mixed", "w"]).fails(1);
    let listed: Vec<&str> = out.stderr.lines().filter(|l| l.starts_with("  ")).collect();
    assert_eq!(
        listed,
        [
            "  demo/index.html: an Editor role on /demo/index.html is needed",
            "  demo/new.txt: an Editor role on /demo is needed",
        ],
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("ed may not change 2"), "{}", out.stderr);
    let other = Client::new();
    other.run(&["co", &server.url("demo"), "x"]).ok();
    assert_ne!(other.read("x/demo/pages/about.html"), "allowed\n");
    assert!(!other.exists("x/demo/new.txt"));

    // Within the grant, the same user commits.
    c.run(&["revert", "w/demo/index.html", "w/demo/new.txt"])
        .ok();
    c.run(&["ci", "-m", "ok", "w"]).ok();
    other.run(&["up", "x"]).ok();
    assert_eq!(other.read("x/demo/pages/about.html"), "allowed\n");
}

#[test]
fn repeated_wrong_passwords_are_slowed_down_without_naming_the_user() {
    let server = Server::demo();
    let c = Client::new();
    let mut last = String::new();
    for user in ["zsync", "ghost"] {
        for _ in 0..10 {
            c.run(&["co", &server.url_as(&format!("{user}:wrong"), "demo"), "w"])
                .fails(1);
        }
        let out = c
            .run(&["co", &server.url_as(&format!("{user}:wrong"), "demo"), "w"])
            .fails(1);
        assert!(
            out.stderr.contains(
                "zsync: the server refused the request (429): too many failed logins; try again in"
            ),
            "{}",
            out.stderr
        );
        let shown = out.stderr.replace(char::is_numeric, "N");
        if !last.is_empty() {
            assert_eq!(shown, last, "a real and a made-up user look alike");
        }
        last = shown;
    }
    assert!(!c.exists("w"));
}

/// A CA and a certificate for 127.0.0.1 signed by it, as PEM files in
/// `dir`: ca.pem, cert.pem, key.pem.
fn certificates(dir: &Path) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "zsync test CA");
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let key = rcgen::KeyPair::generate().unwrap();
    let params =
        rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .unwrap();
    let cert = params.signed_by(&key, &issuer).unwrap();
    std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
    std::fs::write(dir.join("cert.pem"), cert.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), key.serialize_pem()).unwrap();
}

struct DemoServer {
    child: Child,
    /// `127.0.0.1:PORT`
    host: String,
    _data: tempfile::TempDir,
}

impl Drop for DemoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn tls_demo(certs: &Path) -> DemoServer {
    demo_with(&[
        "--tls-cert".as_ref(),
        certs.join("cert.pem").as_os_str(),
        "--tls-key".as_ref(),
        certs.join("key.pem").as_os_str(),
    ])
}

/// `zsyncd demo` with more arguments.
fn demo_with(args: &[&std::ffi::OsStr]) -> DemoServer {
    let data = tempfile::tempdir().unwrap();
    let mut child = Command::new(zsyncd_bin())
        .arg("demo")
        .arg("--data")
        .arg(data.path())
        .args(["--http", "127.0.0.1:0"])
        .args(args)
        .env("ZSYNCD_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let host = loop {
        let line = lines.next().expect("zsyncd exited").unwrap();
        if let Some(url) = line.strip_prefix("zsyncd: listening on ") {
            break url.split_once("://").expect("a URL").1.to_owned();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    DemoServer {
        child,
        host,
        _data: data,
    }
}

#[test]
fn https_checkout_with_a_private_ca() {
    let certs = tempfile::tempdir().unwrap();
    certificates(certs.path());
    let server = tls_demo(certs.path());
    let url = format!("https://zsync:zsync@{}/demo", server.host);
    let ca = certs.path().join("ca.pem");
    let ca = ca.to_str().unwrap();
    let c = Client::new();

    // Without the CA: refused, naming the server and the way out.
    let out = c.run(&["co", &url, "none"]).fails(1);
    assert!(
        out.stderr.contains(&format!(
            "the certificate of https://{} is not trusted",
            server.host
        )),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("--ca-cert"), "{}", out.stderr);
    assert!(!out.stderr.contains("zsync:zsync"), "{}", out.stderr);
    assert!(!c.exists("none"));

    // With it, before or after the subcommand.
    let out = c.run(&["--ca-cert", ca, "co", &url, "a"]).ok();
    assert!(
        out.stdout.contains("Checked out revision"),
        "{}",
        out.stdout
    );
    assert!(c.exists("a/demo/index.html"));
    c.write("a/demo/notes.txt", "over https\n");
    c.run(&["ci", "-m", "tls", "a", "--ca-cert", ca]).ok();

    // From the environment.
    let out = Command::new(zsync_bin())
        .args(["co", &url, "b"])
        .current_dir(c.dir.path())
        .env("ZSYNC_CONFIG_DIR", c.config.path())
        .env("ZSYNC_CA_CERT", ca)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(c.read("b/demo/notes.txt"), "over https\n");

    // --insecure works, and says what it costs every time.
    let out = c.run(&["--insecure", "co", &url, "d"]).ok();
    assert!(
        out.stderr
            .contains("zsync: warning: --insecure: server certificates are not verified"),
        "{}",
        out.stderr
    );
    let out = c.run(&["up", "d", "--insecure"]).ok();
    assert!(out.stderr.contains("--insecure"), "{}", out.stderr);

    // A CA file that is not one is a clear error.
    let out = c
        .run(&["--ca-cert", "/nonexistent/ca.pem", "co", &url, "e"])
        .fails(1);
    assert!(out.stderr.contains("/nonexistent/ca.pem"), "{}", out.stderr);
}

#[test]
fn server_limits_are_shown_precisely() {
    let server = demo_with(&["--max-manifest-entries".as_ref(), "3".as_ref()]);
    let c = Client::new();
    let url = |path: &str| format!("http://zsync:zsync@{}/{path}", server.host);
    let out = c.run(&["co", &url("demo"), "w"]).fails(1);
    assert!(
        out.stderr.contains(
            "zsync: the server refused the request (413): /demo holds 8 objects, \
             over the limit of 3 per request; check out or update a subfolder"
        ),
        "{}",
        out.stderr
    );
    assert!(!c.exists("w"));
    c.run(&["co", &url("demo/pages"), "w"]).ok();
    // (Names that collide by case are refused by `zsync add` already, and
    // by the server at commit: see zsync-server's tests/security.rs.)
}
