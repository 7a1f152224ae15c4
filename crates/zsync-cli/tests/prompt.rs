//! Password prompts, answered through a pseudo-terminal as a person would.

mod common;

use std::process::Command;

use common::{Client, Server, zsync_bin};

#[test]
fn checkout_without_password_prompts_without_echo() {
    let server = Server::demo();
    server.add_user("ann", "s3cret-pw", "Editor");
    let c = Client::new();
    let mut cmd = Command::new(zsync_bin());
    cmd.args(["checkout", &server.url_as("ann", "demo"), "w"])
        .current_dir(c.dir.path())
        .env("ZSYNC_CONFIG_DIR", c.config.path());
    let mut p = rexpect::session::spawn_command(cmd, Some(20_000)).unwrap();
    p.exp_string("Password for ann at http://127.0.0.1:")
        .unwrap();
    p.send_line("s3cret-pw").unwrap();
    let rest = p.exp_string("Checked out revision").unwrap();
    assert!(
        !rest.contains("s3cret-pw"),
        "the password was echoed: {rest}"
    );
    p.exp_eof().unwrap();
    assert!(c.path("w/demo/index.html").exists());

    // The token stored by that checkout serves later commands: no prompt.
    let out = c.run(&["update", "w"]).ok();
    assert!(out.stdout.starts_with("At revision "), "{}", out.stdout);
}

#[test]
fn a_wrong_password_at_the_prompt_fails_cleanly() {
    let server = Server::demo();
    let c = Client::new();
    let mut cmd = Command::new(zsync_bin());
    cmd.args(["checkout", &server.url_as("zsync", "demo"), "w"])
        .current_dir(c.dir.path())
        .env("ZSYNC_CONFIG_DIR", c.config.path());
    let mut p = rexpect::session::spawn_command(cmd, Some(20_000)).unwrap();
    p.exp_string("Password for zsync").unwrap();
    p.send_line("wrong").unwrap();
    p.exp_string("authentication failed for zsync").unwrap();
    p.exp_eof().unwrap();
    assert!(!c.path("w").exists());
}
