//! Names some filesystem cannot hold, through the real binaries: `add`
//! and `mkdir` refuse them before scheduling anything, the server refuses
//! them in a commit from any client, and a symbolic link inside a folder
//! being added is skipped, never followed.

mod common;

use common::{Client, Server};

#[test]
fn unportable_names_are_refused_before_anything_is_scheduled() {
    let server = Server::demo();
    let c = Client::new();
    c.run(&["checkout", &server.url("demo"), "w"]).ok();

    for (name, expected) in [
        ("aux.txt", "device name on Windows"),
        ("CON", "device name on Windows"),
        ("a:b.txt", "':'"),
        ("what?.txt", "'?'"),
        ("trailing.", "ends in a dot or space"),
        ("trailing ", "ends in a dot or space"),
    ] {
        c.write(&format!("w/demo/{name}"), "x\n");
        let out = c.run(&["add", &format!("w/demo/{name}")]).fails(1);
        assert!(out.stderr.contains(expected), "{name}: {}", out.stderr);
        assert!(out.stderr.contains("rename it"), "{name}: {}", out.stderr);
        std::fs::remove_file(c.path(&format!("w/demo/{name}"))).unwrap();
    }
    let out = c.run(&["mkdir", "w/demo/LPT1"]).fails(1);
    assert!(out.stderr.contains("device name"), "{}", out.stderr);
    assert!(!c.exists("w/demo/LPT1"));

    // A folder holding one such name is refused whole.
    c.write("w/demo/new/fine.txt", "fine\n");
    c.write("w/demo/new/deeper/nul.md", "x\n");
    let out = c.run(&["add", "w/demo/new"]).fails(1);
    assert!(out.stderr.contains("nul.md"), "{}", out.stderr);
    assert_eq!(
        c.run(&["status", "w/demo"]).ok().stdout,
        "?       w/demo/new\n"
    );

    // A symbolic link inside is skipped with a warning, not followed.
    std::fs::remove_file(c.path("w/demo/new/deeper/nul.md")).unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink("/etc", c.path("w/demo/new/etc")).unwrap();
    let out = c.run(&["add", "w/demo/new"]).ok();
    #[cfg(unix)]
    assert!(
        out.stderr.contains("symbolic links are not versioned"),
        "{}",
        out.stderr
    );
    let _ = out;
    c.run(&["commit", "-m", "fine", "w/demo"]).ok();
    let fresh = Client::new();
    fresh.run(&["checkout", &server.url("demo"), "f"]).ok();
    assert_eq!(fresh.read("f/demo/new/fine.txt"), "fine\n");
    assert!(!fresh.exists("f/demo/new/etc"));
}
