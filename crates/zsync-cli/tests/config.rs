//! The client's config file (docs/config.md) through the real binary:
//! default user per server, editor order, diff tool, global ignores,
//! colour and `NO_COLOR`, and bad files.

mod common;

use std::process::{Command, Stdio};

use common::{Client, Server, zsync_bin};

/// Writes `text` as the config file and returns the `ZSYNC_CONFIG` pair.
fn config(c: &Client, text: &str) -> String {
    c.write("config.toml", text);
    c.path("config.toml").display().to_string()
}

/// `server.url("demo")` without its user and password.
fn bare(server: &Server, path: &str) -> String {
    server.url(path).replace("zsync:zsync@", "")
}

fn server_key(server: &Server) -> String {
    bare(server, "").trim_end_matches('/').to_owned()
}

#[test]
fn default_user_per_server() {
    let server = Server::demo();
    server.add_user("alice", "pw-alice", "editor");
    server.add_user("bob", "pw-bob", "editor");
    let c = Client::new();
    c.run(&["login", &server.url_as("alice:pw-alice", "")]).ok();
    c.run(&["login", &server.url_as("bob:pw-bob", "")]).ok();
    // Two stored logins and no user in the URL: nobody to pick.
    let out = c
        .run(&["checkout", &bare(&server, "demo"), "none"])
        .fails(1);
    assert!(!out.stderr.contains("bob"), "{}", out.stderr);

    let file = config(
        &c,
        &format!("[servers.\"{}\"]\nuser = \"bob\"\n", server_key(&server)),
    );
    let env = [("ZSYNC_CONFIG", file.as_str())];
    c.run_env(&env, &["checkout", &bare(&server, "demo"), "w"])
        .ok();
    c.write("w/demo/README.md", "by bob\n");
    c.run_env(&env, &["commit", "-m", "bob's", "w"]).ok();
    let log = c.run_env(&env, &["log", "--json", "-l", "1", "w"]).ok();
    let log: serde_json::Value = serde_json::from_str(&log.stdout).unwrap();
    assert_eq!(log[0]["user"], "bob", "{log:#}");
    // The URL's own user wins over the file's.
    c.run_env(&env, &["checkout", &server.url_as("alice", "demo"), "a"])
        .ok();
    c.write("a/demo/notes.txt", "by alice\n");
    c.run_env(&env, &["commit", "-m", "alice's", "a"]).ok();
    let log = c.run_env(&env, &["log", "--json", "-l", "1", "a"]).ok();
    let log: serde_json::Value = serde_json::from_str(&log.stdout).unwrap();
    assert_eq!(log[0]["user"], "alice", "{log:#}");
}

/// An editor command that puts `title = "NAME"` first in the file.
fn title_editor(c: &Client, name: &str) -> String {
    let script = c.path("ed.sh");
    std::fs::write(
        &script,
        "{ printf 'title = \"%s\"\\n' \"$1\"; grep -v '^title = ' \"$2\"; } > \"$2.new\" && mv \"$2.new\" \"$2\"\n",
    )
    .unwrap();
    format!("sh '{}' {name}", script.display())
}

#[test]
fn editor_order_flag_env_config_visual_editor() {
    let server = Server::demo();
    let c = Client::new();
    c.run(&["co", &server.url("demo"), "w"]).ok();
    let file = config(
        &c,
        &format!("editor = \"{}\"\n", title_editor(&c, "config")),
    );
    let f = "w/demo/README.md";
    let title = |c: &Client| c.run(&["propget", "title", f]).ok().stdout;
    let visual = title_editor(&c, "visual");
    let editor = title_editor(&c, "editor");
    let zsync_editor = title_editor(&c, "zsync-editor");

    c.run_env(
        &[("VISUAL", &visual), ("EDITOR", &editor)],
        &["propedit", f],
    )
    .ok();
    assert_eq!(title(&c), "visual\n");
    c.run_env(&[("EDITOR", &editor)], &["propedit", f]).ok();
    assert_eq!(title(&c), "editor\n");
    let with_file = [
        ("ZSYNC_CONFIG", file.as_str()),
        ("VISUAL", &visual),
        ("EDITOR", &editor),
    ];
    c.run_env(&with_file, &["propedit", f]).ok();
    assert_eq!(title(&c), "config\n");
    let mut with_env = with_file.to_vec();
    with_env.push(("ZSYNC_EDITOR", &zsync_editor));
    c.run_env(&with_env, &["propedit", f]).ok();
    assert_eq!(title(&c), "zsync-editor\n");
    let flag = title_editor(&c, "flag");
    c.run_env(&with_env, &["--editor-cmd", &flag, "propedit", f])
        .ok();
    assert_eq!(title(&c), "flag\n");
}

#[test]
fn diff_cmd_global_ignores_and_colour() {
    let server = Server::demo();
    let c = Client::new();
    c.run(&["co", &server.url("demo"), "w"]).ok();
    c.write("w/demo/README.md", "new text\n");
    let args = c.path("args.sh");
    std::fs::write(&args, "echo \"ARGS: $*\"\n").unwrap();

    // The machine's GNU diff as diff-cmd: its output, with svn's labels.
    let file = config(&c, "diff-cmd = \"diff\"\n");
    let env = [("ZSYNC_CONFIG", file.as_str())];
    let out = c.run_env(&env, &["diff", "w"]).ok().stdout;
    assert!(out.contains("Index: w/demo/README.md\n"), "{out}");
    assert!(out.contains("--- w/demo/README.md\t(revision "), "{out}");
    assert!(
        out.contains("+++ w/demo/README.md\t(working copy)"),
        "{out}"
    );
    assert!(out.contains("\n+new text\n"), "{out}");
    // --diff-cmd overrides the file; the arguments are svn's.
    let flag = format!("sh '{}'", args.display());
    let out = c
        .run_env(&env, &["diff", "--diff-cmd", &flag, "w"])
        .ok()
        .stdout;
    assert!(
        out.contains("ARGS: -u -L w/demo/README.md\t(revision "),
        "{out}"
    );
    assert!(out.contains("/w/demo/README.md\n"), "{out}");
    // A failing diff-cmd is an error naming it.
    let bad = config(&c, "diff-cmd = \"false; exit 3;\"\n");
    let out = c
        .run_env(&[("ZSYNC_CONFIG", bad.as_str())], &["diff", "w"])
        .fails(1);
    assert!(out.stderr.contains("diff command"), "{}", out.stderr);

    // Global ignores join the built-in list.
    c.write("w/demo/x.o", "object");
    c.write("w/demo/y.c", "source");
    let file = config(&c, "global-ignores = [\"*.o\"]\n");
    let env = [("ZSYNC_CONFIG", file.as_str())];
    let st = c.run_env(&env, &["status", "w"]).ok().stdout;
    assert!(st.contains("w/demo/y.c") && !st.contains("x.o"), "{st}");
    let st = c.run(&["status", "w"]).ok().stdout;
    assert!(st.contains("w/demo/x.o"), "{st}");
    let st = c.run_env(&env, &["status", "--no-ignore", "w"]).ok().stdout;
    assert!(st.contains("I       w/demo/x.o"), "{st}");

    // Colour: `always` even into a pipe, unless NO_COLOR; `auto` (the
    // default) and `never` not into a pipe.
    let always = config(&c, "color = \"always\"\n");
    let out = c
        .run_env(
            &[("ZSYNC_CONFIG", always.as_str())],
            &["diff", "w/demo/README.md"],
        )
        .ok()
        .stdout;
    assert!(out.contains("\x1b[32m+new text\x1b[0m\n"), "{out:?}");
    let out = c
        .run_env(
            &[("ZSYNC_CONFIG", always.as_str()), ("NO_COLOR", "1")],
            &["diff", "w/demo/README.md"],
        )
        .ok()
        .stdout;
    assert!(
        !out.contains('\x1b') && out.contains("+new text\n"),
        "{out:?}"
    );
    let out = c.run(&["diff", "w/demo/README.md"]).ok().stdout;
    assert!(!out.contains('\x1b'), "{out:?}");
    let never = config(&c, "color = \"never\"\n");
    let out = c
        .run_env(
            &[("ZSYNC_CONFIG", never.as_str())],
            &["diff", "w/demo/README.md"],
        )
        .ok()
        .stdout;
    assert!(!out.contains('\x1b'), "{out:?}");
}

#[test]
fn a_bad_file_is_located_and_nothing_runs() {
    let server = Server::demo();
    let c = Client::new();
    let file = config(&c, "editor = \"vi\"\ncolr = \"never\"\n");
    let out = c
        .run_env(
            &[("ZSYNC_CONFIG", file.as_str())],
            &["co", &server.url("demo"), "w"],
        )
        .fails(1);
    assert!(
        out.stderr.contains(&format!(
            "zsync: bad config file: {file}:2:1: unknown field `colr`"
        )),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("docs/config.md"), "{}", out.stderr);
    assert!(!c.exists("w"));

    // Found under XDG_CONFIG_HOME when no ZSYNC_CONFIG names a file.
    let xdg = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(xdg.path().join("zsync")).unwrap();
    let path = xdg.path().join("zsync/config.toml");
    std::fs::write(&path, "color = \"blue\"\n").unwrap();
    let out = Command::new(zsync_bin())
        .args(["status", "."])
        .current_dir(c.dir.path())
        .env_remove("ZSYNC_CONFIG_DIR")
        .env_remove("ZSYNC_CONFIG")
        .env("XDG_CONFIG_HOME", xdg.path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("{}:1:9: unknown variant `blue`", path.display())),
        "{stderr}"
    );
}
