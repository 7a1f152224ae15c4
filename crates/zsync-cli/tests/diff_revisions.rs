//! `zsync diff -r N:M` through the real binaries: the server diffs two
//! revisions in one request, bodies and properties, following moves.

mod common;

use common::{Client, Server};

fn committed(out: &str) -> u64 {
    out.lines()
        .find_map(|l| l.strip_prefix("Committed revision "))
        .and_then(|r| r.trim_end_matches('.').parse().ok())
        .unwrap()
}

#[test]
fn diff_between_revisions_is_made_on_the_server() {
    let server = Server::demo();
    let c = Client::new();
    c.run(&["co", &server.url("demo"), "w"]).ok();
    c.write("w/demo/notes.txt", "one\ntwo\nthree\n");
    let r1 = committed(&c.run(&["ci", "-m", "first", "w"]).ok().stdout);
    c.write("w/demo/notes.txt", "one\n2\nthree\n");
    c.run(&["propset", "dc:creator", "Ann", "w/demo/notes.txt"])
        .ok();
    c.run(&["mv", "w/demo/notes.txt", "w/demo/todo.txt"]).ok();
    c.write("w/demo/extra.txt", "new file\n");
    c.run(&["add", "w/demo/extra.txt"]).ok();
    let r2 = committed(&c.run(&["ci", "-m", "second", "w"]).ok().stdout);

    let range = format!("{r1}:{r2}");
    let out = c.run(&["diff", "-r", &range, "w/demo"]).ok().stdout;
    let expected_todo = format!(
        "Index: w/demo/todo.txt\n\
         ===================================================================\n\
         --- w/demo/notes.txt\t(revision {r1})\n\
         +++ w/demo/todo.txt\t(revision {r2})\n\
         @@ -1,3 +1,3 @@\n one\n-two\n+2\n three\n\
         \n\
         Property changes on: w/demo/todo.txt\n\
         ___________________________________________________________________\n\
         Added: dc:creator\n\
         ## -0,0 +1 ##\n\
         +Ann\n\
         \\ No newline at end of property\n"
    );
    assert!(out.contains(&expected_todo), "{out}");
    assert!(
        out.contains(&format!(
            "--- w/demo/extra.txt\t(nonexistent)\n+++ w/demo/extra.txt\t(revision {r2})\n@@ -0,0 +1 @@\n+new file\n"
        )),
        "{out}"
    );
    // HEAD as the end, one file as the target, and the reverse direction.
    let out = c
        .run(&["diff", "-r", &format!("{r1}:HEAD"), "w/demo/todo.txt"])
        .ok()
        .stdout;
    assert!(out.contains("-two\n+2\n"), "{out}");
    assert!(!out.contains("extra.txt"), "{out}");
    let out = c
        .run(&["diff", "-r", &format!("{r2}:{r1}"), "w/demo"])
        .ok()
        .stdout;
    assert!(out.contains("-2\n+two\n"), "{out}");
    assert!(out.contains("(nonexistent)"), "{out}");

    // Bad ranges are usage errors; a path that never existed is refused.
    c.run(&["diff", "-r", "x:y", "w/demo"]).fails(2);
    c.write("w/demo/nothing.txt", "x\n");
    let err = c
        .run(&["diff", "-r", &range, "w/demo/nothing.txt"])
        .fails(1)
        .stderr;
    assert!(err.contains("did not exist"), "{err}");
}
