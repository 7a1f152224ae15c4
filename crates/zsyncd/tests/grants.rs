//! `zsyncd grant|revoke|grants` and `zsyncd user disable|enable`, run as
//! real processes against a running server.

mod common;

use common::{Server, run};
use reqwest::StatusCode;

fn out(output: &std::process::Output) -> (bool, String, String) {
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn grants_decide_what_a_user_may_read() {
    let data = tempfile::tempdir().unwrap();
    let (ok, stdout, stderr) = out(&run(
        data.path(),
        &["user", "add", "bob", "--password-stdin", "--role", "none"],
        "pw\n",
    ));
    assert!(ok, "{stderr}");
    assert!(stdout.contains("no role yet"), "{stdout}");
    let server = Server::start(data.path(), "demo");
    assert_eq!(
        server.get("/tree/demo", "bob", "pw").status(),
        StatusCode::FORBIDDEN
    );

    let (ok, stdout, stderr) = out(&run(
        data.path(),
        &["grant", "reader", "bob", "/demo/pages/"],
        "",
    ));
    assert!(ok, "{stderr}");
    assert_eq!(stdout, "zsyncd: granted Reader on /demo/pages to bob\n");
    assert_eq!(
        server.get("/tree/demo/pages", "bob", "pw").status(),
        StatusCode::OK
    );
    assert_eq!(
        server.get("/tree/demo/index.html", "bob", "pw").status(),
        StatusCode::FORBIDDEN
    );

    // Anonymous: nothing until granted.
    let anonymous = || {
        reqwest::blocking::get(format!("{}/api/v1/tree/demo/images", server.url))
            .unwrap()
            .status()
    };
    assert_eq!(anonymous(), StatusCode::UNAUTHORIZED);
    let (ok, _, stderr) = out(&run(
        data.path(),
        &["grant", "Reader", "anonymous", "demo/images"],
        "",
    ));
    assert!(ok, "{stderr}");
    assert_eq!(anonymous(), StatusCode::OK);

    let (ok, stdout, _) = out(&run(data.path(), &["grants"], ""));
    assert!(ok);
    let rows: Vec<Vec<&str>> = stdout
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        rows,
        [
            vec!["USER", "ROLE", "PATH"],
            vec!["anonymous", "Reader", "/demo/images"],
            vec!["bob", "Reader", "/demo/pages"],
            vec!["zsync", "Manager", "/"],
        ]
    );

    let (ok, _, stderr) = out(&run(data.path(), &["revoke", "bob", "/demo/pages"], ""));
    assert!(ok, "{stderr}");
    assert_eq!(
        server.get("/tree/demo/pages", "bob", "pw").status(),
        StatusCode::FORBIDDEN
    );
    let (ok, _, stderr) = out(&run(data.path(), &["revoke", "bob", "/demo/pages"], ""));
    assert!(!ok);
    assert!(
        stderr.contains("bob holds no grant on exactly /demo/pages"),
        "{stderr}"
    );

    // Disabled users cannot log in; enabled again, they can.
    assert_eq!(
        server.get("/tree/demo", "zsync", "zsync").status(),
        StatusCode::OK
    );
    let (ok, stdout, _) = out(&run(data.path(), &["user", "disable", "zsync"], ""));
    assert!(ok);
    assert!(stdout.contains("disabled user zsync"), "{stdout}");
    assert_eq!(
        server.get("/tree/demo", "zsync", "zsync").status(),
        StatusCode::UNAUTHORIZED
    );
    let (_, listed, _) = out(&run(data.path(), &["user", "list"], ""));
    assert!(
        listed
            .lines()
            .any(|l| l.split_whitespace().eq(["zsync", "Manager", "yes"])),
        "{listed}"
    );
    assert!(out(&run(data.path(), &["user", "enable", "zsync"], "")).0);
    assert_eq!(
        server.get("/tree/demo", "zsync", "zsync").status(),
        StatusCode::OK
    );
}

#[test]
fn grant_errors_are_clear() {
    let data = tempfile::tempdir().unwrap();
    assert!(
        out(&run(
            data.path(),
            &["user", "add", "bob", "--password-stdin"],
            "pw\n"
        ))
        .0
    );
    let cases: [(&[&str], &str); 4] = [
        (
            &["grant", "reader", "nobody", "/demo"],
            "user 'nobody' does not exist",
        ),
        (&["grant", "reader", "bob", "/demo/../x"], "invalid path"),
        (
            &["revoke", "bob", "/demo"],
            "bob holds no grant on exactly /demo",
        ),
        (
            &["user", "disable", "nobody"],
            "user 'nobody' does not exist",
        ),
    ];
    for (args, expected) in cases {
        let (ok, _, stderr) = out(&run(data.path(), args, ""));
        assert!(!ok, "{args:?}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
    // An unknown role is a usage error.
    let output = run(data.path(), &["grant", "root", "bob", "/"], "");
    assert_eq!(output.status.code(), Some(2));
}
