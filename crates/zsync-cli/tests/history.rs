//! History from the client: log (-r, -v, --json), cat -r, restore -r.

mod common;

use common::{Client, Server};

fn committed_rev(stdout: &str) -> u64 {
    stdout
        .lines()
        .last()
        .and_then(|l| l.strip_prefix("Committed revision "))
        .and_then(|l| l.strip_suffix('.'))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no revision in {stdout:?}"))
}

#[test]
fn log_cat_and_restore_read_the_history() {
    let server = Server::demo();
    let c = Client::new();
    c.run(&["co", &server.url("demo"), "w"]).ok();
    c.write("w/demo/notes.txt", "first\n");
    let r1 = committed_rev(&c.run(&["ci", "-m", "one", "w"]).ok().stdout);
    c.write("w/demo/notes.txt", "second\n");
    c.run(&["propset", "title", "Changed", "w/demo/notes.txt"])
        .ok();
    let r2 = committed_rev(&c.run(&["ci", "-m", "two\nlines", "w"]).ok().stdout);

    let log = c.run(&["log", "w/demo/notes.txt"]).ok().stdout;
    let revs: Vec<&str> = log.lines().filter(|l| l.starts_with('r')).collect();
    assert!(revs[0].starts_with(&format!("r{r2} | zsync | ")), "{log}");
    assert!(revs[0].ends_with("| 2 lines"), "{log}");
    assert!(revs[1].starts_with(&format!("r{r1} | zsync | ")), "{log}");
    assert!(log.ends_with(&format!("{}\n", "-".repeat(72))), "{log}");
    let v = c
        .run(&["log", "-v", "-l", "1", "w/demo/notes.txt"])
        .ok()
        .stdout;
    assert!(v.contains("Changed paths:\n   M /demo/notes.txt\n"), "{v}");
    let range = c
        .run(&["log", "-r", &format!("{r1}:{r2}"), "w/demo/notes.txt"])
        .ok()
        .stdout;
    let order: Vec<&str> = range.lines().filter(|l| l.starts_with('r')).collect();
    assert!(
        order[0].starts_with(&format!("r{r1} ")) && order.len() == 2,
        "{range}"
    );
    let json = c.run(&["log", "--json", "w/demo"]).ok().stdout;
    let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(parsed.as_array().unwrap().len() >= 3, "{json}");

    assert_eq!(c.run(&["cat", "w/demo/notes.txt"]).ok().stdout, "second\n");
    assert_eq!(
        c.run(&["cat", "-r", &r1.to_string(), "w/demo/notes.txt"])
            .ok()
            .stdout,
        "first\n"
    );
    let out = c.run(&["cat", "-r", "1", "w/demo/nothing.txt"]).fails(1);
    assert!(
        out.stderr.contains("did not exist in revision 1"),
        "{}",
        out.stderr
    );

    c.run(&["restore", "-r", &r1.to_string(), "w/demo/notes.txt"])
        .ok();
    assert_eq!(c.read("w/demo/notes.txt"), "first\n");
    assert_eq!(
        c.run(&["st", "w"]).ok().stdout,
        "MM      w/demo/notes.txt\n"
    );
    c.run(&["ci", "-m", "restored", "w"]).ok();
    let other = Client::new();
    other.run(&["co", &server.url("demo"), "x"]).ok();
    assert_eq!(other.read("x/demo/notes.txt"), "first\n");
    let title = other
        .run(&["propget", "title", "x/demo/notes.txt"])
        .ok()
        .stdout;
    assert_ne!(title, "Changed\n");
}

#[test]
fn cat_and_restore_find_old_states_of_a_moved_file_by_its_new_path() {
    let server = Server::demo();
    let c = Client::new();
    c.run(&["co", &server.url("demo"), "w"]).ok();
    c.write("w/demo/old.txt", "first\n");
    c.run(&["add", "w/demo/old.txt"]).ok();
    let r1 = committed_rev(&c.run(&["ci", "-m", "one", "w"]).ok().stdout);
    c.run(&["mkdir", "w/demo/sub"]).ok();
    c.run(&["mv", "w/demo/old.txt", "w/demo/sub/new.txt"]).ok();
    c.write("w/demo/sub/new.txt", "second\n");
    c.run(&["ci", "-m", "moved", "w"]).ok();
    // Another object now sits at the old path: not taken for the moved one.
    c.write("w/demo/old.txt", "impostor\n");
    c.run(&["add", "w/demo/old.txt"]).ok();
    c.run(&["ci", "-m", "new at the old path", "w"]).ok();

    let r = r1.to_string();
    assert_eq!(
        c.run(&["cat", "-r", &r, "w/demo/sub/new.txt"]).ok().stdout,
        "first\n"
    );
    let out = c.run(&["cat", "-r", &r, "w/demo/old.txt"]).fails(1);
    assert!(
        out.stderr
            .contains(&format!("did not exist in revision {r}")),
        "{}",
        out.stderr
    );
    // Renamed again locally, not yet committed: still found.
    c.run(&["mv", "w/demo/sub/new.txt", "w/demo/sub/newer.txt"])
        .ok();
    assert_eq!(
        c.run(&["cat", "-r", &r, "w/demo/sub/newer.txt"])
            .ok()
            .stdout,
        "first\n"
    );
    c.run(&["restore", "-r", &r, "w/demo/sub/newer.txt"]).ok();
    assert_eq!(c.read("w/demo/sub/newer.txt"), "first\n");
    c.run(&["ci", "-m", "restored", "w"]).ok();
    assert_eq!(
        c.run(&["cat", "w/demo/sub/newer.txt"]).ok().stdout,
        "first\n"
    );
}
