//! `zsyncd user ...`, run as real processes.

mod common;

use common::{Server, run};
use reqwest::StatusCode;

fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn an_added_user_can_log_in_with_the_role_given() {
    let data = tempfile::tempdir().unwrap();
    let added = run(
        data.path(),
        &["user", "add", "bob", "--password-stdin", "--role", "reader"],
        "bob's secret\n",
    );
    assert!(added.status.success(), "{}", stderr(&added));
    assert_eq!(stdout(&added), "zsyncd: added user bob (Reader)\n");

    let listed = run(data.path(), &["user", "list"], "");
    assert!(listed.status.success(), "{}", stderr(&listed));
    let table = stdout(&listed);
    let row = table.lines().find(|l| l.starts_with("bob ")).unwrap();
    assert_eq!(
        row.split_whitespace().collect::<Vec<_>>(),
        ["bob", "Reader", "no"]
    );

    let server = Server::start(data.path(), "serve");
    assert_eq!(
        server.get("/tree/", "bob", "bob's secret").status(),
        StatusCode::OK
    );
    assert_eq!(
        server.get("/tree/", "bob", "bob's").status(),
        StatusCode::UNAUTHORIZED
    );

    // A new password replaces the old one, even while the server runs.
    let changed = run(
        data.path(),
        &["user", "passwd", "bob", "--password-stdin"],
        "new one\r\n",
    );
    assert!(changed.status.success(), "{}", stderr(&changed));
    assert_eq!(
        server.get("/tree/", "bob", "new one").status(),
        StatusCode::OK
    );
    assert_eq!(
        server.get("/tree/", "bob", "bob's secret").status(),
        StatusCode::UNAUTHORIZED
    );

    let removed = run(data.path(), &["user", "remove", "bob"], "");
    assert!(removed.status.success(), "{}", stderr(&removed));
    assert_eq!(
        server.get("/tree/", "bob", "new one").status(),
        StatusCode::UNAUTHORIZED
    );
}

#[test]
fn user_errors_are_one_clear_line_and_exit_1() {
    let data = tempfile::tempdir().unwrap();
    let ok = run(
        data.path(),
        &["user", "add", "bob", "--password-stdin"],
        "pw\n",
    );
    assert!(ok.status.success(), "{}", stderr(&ok));
    let listed = stdout(&run(data.path(), &["user", "list"], ""));
    assert!(
        listed.contains("Editor"),
        "default role is Editor: {listed}"
    );

    let cases: [(&[&str], &str, &str); 6] = [
        (
            &["user", "add", "bob", "--password-stdin"],
            "pw\n",
            "error: user 'bob' already exists",
        ),
        (
            &["user", "add", "eve", "--password-stdin"],
            "\n",
            "error: the password is empty",
        ),
        (
            &["user", "add", "eve", "--password-stdin"],
            "",
            "error: the password is empty",
        ),
        (
            &["user", "add", "anonymous", "--password-stdin"],
            "pw\n",
            "is reserved",
        ),
        (
            &["user", "add", "a b", "--password-stdin"],
            "pw\n",
            "error: user name \"a b\" contains ' '",
        ),
        (
            &["user", "remove", "nobody"],
            "",
            "error: user 'nobody' does not exist",
        ),
    ];
    for (args, input, expected) in cases {
        let output = run(data.path(), args, input);
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        let err = stderr(&output);
        assert!(err.starts_with("error: "), "{args:?}: {err}");
        assert!(err.contains(expected), "{args:?}: {err}");
    }

    // No terminal to prompt on.
    let output = run(data.path(), &["user", "add", "eve"], "pw\n");
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("--password-stdin"),
        "{}",
        stderr(&output)
    );

    // Usage errors are clap's, with exit status 2.
    let output = run(data.path(), &["user", "add", "eve", "--role", "root"], "");
    assert_eq!(output.status.code(), Some(2));
    let output = run(data.path(), &["user", "frobnicate"], "");
    assert_eq!(output.status.code(), Some(2));

    let missing = data.path().join("missing");
    let output = run(&missing, &["user", "list"], "");
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("no data directory"),
        "{}",
        stderr(&output)
    );
}
