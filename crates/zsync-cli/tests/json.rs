//! `--json` through the real binary (the schemas of docs/json.md), shell
//! completions and man pages.

mod common;

use common::{Client, Server};
use serde_json::{Value, json};

/// Runs and parses stdout as one JSON document (nothing else may be there).
#[track_caller]
fn doc(c: &Client, args: &[&str]) -> Value {
    let out = c.run(args).ok();
    serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("not one JSON document ({e}):\n{}", out.stdout))
}

#[test]
fn json_documents_of_status_info_proplist_log_update_and_commit() {
    let server = Server::demo();
    let c = Client::new();
    c.run(&["co", &server.url("demo"), "w"]).ok();
    c.write("w/demo/new.txt", "new\n");
    c.run(&["add", "w/demo/new.txt"]).ok();
    c.write("w/demo/index.html", "<p>changed</p>\n");
    c.run(&["propset", "dc:creator", "Ann", "w/demo/index.html"])
        .ok();
    c.write("w/demo/stray.txt", "x");

    let st = doc(&c, &["status", "--json", "w"]);
    let items = st["items"].as_array().unwrap();
    let by_path = |p: &str| {
        items
            .iter()
            .find(|i| i["path"] == p)
            .unwrap_or_else(|| panic!("{p} not in {st:#}"))
            .clone()
    };
    assert_eq!(by_path("w/demo/new.txt")["item"], "added");
    assert_eq!(by_path("w/demo/new.txt")["working_rev"], Value::Null);
    assert_eq!(by_path("w/demo/new.txt")["last_changed_rev"], Value::Null);
    assert_eq!(by_path("w/demo/new.txt")["kind"], "document");
    assert_eq!(by_path("w/demo/stray.txt")["kind"], Value::Null);
    assert_eq!(by_path("w/demo/stray.txt")["item"], "unversioned");
    let index = by_path("w/demo/index.html");
    assert_eq!(index["item"], "modified");
    assert_eq!(index["props"], "modified");
    assert_eq!(index["kind"], "document");
    assert_eq!(index["last_changed_author"], "zsync");
    assert_eq!(index["conflict"], Value::Null);
    assert_eq!(st["against_revision"], Value::Null);
    assert_eq!(items.len(), 3, "{st:#}");
    let st = doc(&c, &["status", "--json", "-u", "w"]);
    assert!(st["against_revision"].as_u64().unwrap() >= 1, "{st:#}");

    let info = doc(
        &c,
        &["info", "--json", "w/demo/index.html", "w/demo/new.txt"],
    );
    assert_eq!(info[0]["path"], "w/demo/index.html");
    assert_eq!(info[0]["schedule"], "normal");
    assert_eq!(info[0]["kind"], "document");
    assert_eq!(info[0]["last_changed_author"], "zsync");
    assert!(info[0]["oid"].is_string(), "{info:#}");
    assert!(
        info[0]["url"]
            .as_str()
            .unwrap()
            .ends_with("/demo/index.html"),
        "{info:#}"
    );
    assert_eq!(info[1]["schedule"], "add");
    assert_eq!(info[1]["oid"], Value::Null);
    assert_eq!(info[1]["last_changed_rev"], Value::Null);

    let props = doc(&c, &["proplist", "--json", "w/demo/index.html"]);
    assert_eq!(props[0]["properties"]["dc:creator"], "Ann");
    assert_eq!(props[0]["conflicts"], json!({}));

    let ci = doc(&c, &["commit", "--json", "-m", "json", "w"]);
    let commit = &ci["commits"][0];
    let rev = commit["revision"].as_u64().unwrap();
    let mut changes: Vec<(String, String)> = commit["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["action"].as_str().unwrap().to_owned(),
                c["path"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    changes.sort();
    assert_eq!(
        changes,
        [
            ("Adding".to_owned(), "w/demo/new.txt".to_owned()),
            ("Sending".to_owned(), "w/demo/index.html".to_owned()),
        ]
    );
    assert_eq!(ci["commits"].as_array().unwrap().len(), 1);
    assert_eq!(
        doc(&c, &["commit", "--json", "-m", "nothing", "w"]),
        json!({"commits": []})
    );

    let log = doc(&c, &["log", "--json", "-l", "1", "w/demo/new.txt"]);
    assert_eq!(log[0]["rev"], rev);
    assert_eq!(log[0]["user"], "zsync");
    assert_eq!(log[0]["message"], "json");
    assert!(log[0]["time"].is_i64(), "{log:#}");
    let change = log[0]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["path"] == "demo/new.txt")
        .unwrap_or_else(|| panic!("{log:#}"));
    assert_eq!(change["action"], "A");

    // Another checkout sees the change through update --json.
    let other = Client::new();
    other.run(&["co", &server.url("demo"), "x"]).ok();
    assert_eq!(
        doc(&other, &["update", "--json", "x"]),
        json!({
            "updates": [{"working_copy": "x/demo", "revision": rev, "unchanged": true, "changes": []}],
            "conflicts": {"text": 0, "properties": 0, "tree": 0, "remaining": 0},
        })
    );
    c.write("w/demo/new.txt", "newer\n");
    let rev2 = doc(&c, &["commit", "--json", "-m", "two", "w"])["commits"][0]["revision"].clone();
    assert_eq!(
        doc(&other, &["update", "--json", "x"]),
        json!({
            "updates": [{
                "working_copy": "x/demo",
                "revision": rev2,
                "unchanged": false,
                "changes": [{"columns": "U   ", "path": "x/demo/new.txt"}],
            }],
            "conflicts": {"text": 0, "properties": 0, "tree": 0, "remaining": 0},
        })
    );

    // Errors: no document, the message on stderr, the usual exit code.
    let out = c.run(&["info", "--json", "w/nothing"]).fails(1);
    assert_eq!(out.stdout, "");
    assert!(out.stderr.starts_with("zsync: "), "{}", out.stderr);
}

#[test]
fn completions_name_every_subcommand_and_man_pages_render() {
    let c = Client::new();
    let help = c.run(&["help"]).ok().stdout;
    // The subcommand names, from the help's command list.
    let names: Vec<String> = help
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter(|l| !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_owned)
        .collect();
    for expected in ["checkout", "propedit", "completions", "man", "commit"] {
        assert!(names.iter().any(|n| n == expected), "{names:?}");
    }
    let bash = c.run(&["completions", "bash"]).ok().stdout;
    for name in names.iter().filter(|n| *n != "help") {
        assert!(
            bash.contains(&format!("zsync,{name})")) || bash.contains(&format!("zsync__{name})")),
            "bash completion lacks {name}"
        );
    }
    for shell in ["zsh", "fish"] {
        let script = c.run(&["completions", shell]).ok().stdout;
        assert!(script.contains("propedit"), "{shell}: {script}");
    }
    let bad = c.run(&["completions", "tcsh"]).fails(2);
    assert!(bad.stderr.contains("possible values"), "{}", bad.stderr);

    let out = c.run(&["man", "pages"]);
    assert_eq!(out.code, 1, "no such directory: {}", out.stderr);
    std::fs::create_dir(c.path("pages")).unwrap();
    c.run(&["man", "pages"]).ok();
    let pages = common::ls(&c.path("pages"));
    assert!(pages.contains(&"zsync.1".to_owned()), "{pages:?}");
    assert!(pages.contains(&"zsync-propedit.1".to_owned()), "{pages:?}");
    assert_eq!(pages.len(), names.len(), "one page per command: {pages:?}");
    let roff = c.read("pages/zsync-commit.1");
    for section in [".SH NAME", ".SH SYNOPSIS", ".SH OPTIONS"] {
        assert!(roff.contains(section), "{section} missing:\n{roff}");
    }
    // Rendered by man(1) where the machine has it.
    let man = std::process::Command::new("man")
        .args(["-l", "-P", "cat"])
        .arg(c.path("pages/zsync-commit.1"))
        .env("MANWIDTH", "80")
        .output();
    if let Ok(out) = man
        && out.status.success()
    {
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("zsync-commit"), "{text}");
        assert!(text.contains("--message"), "{text}");
    }
}
