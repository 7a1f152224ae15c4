//! `zsync export URL FILE` and `zsync import FILE URL` through the real
//! binaries: a round trip gives an equal checkout, an import never
//! overwrites without --replace, and a damaged, truncated or newer bundle
//! is refused by name and changes nothing.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{Client, Server};

/// Every file below `dir` (outside `.zsync`) with its bytes.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            if entry.file_name() == ".zsync" {
                continue;
            }
            let rel = path
                .strip_prefix(base)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if path.is_dir() {
                out.insert(format!("{rel}/"), Vec::new());
                walk(base, &path, out);
            } else {
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn head(c: &Client, wc: &str) -> String {
    c.run(&["up", wc]).ok().stdout
}

#[test]
fn a_subtree_travels_through_a_bundle_and_back() {
    let server = Server::demo();
    let c = Client::new();
    c.run(&["co", &server.url("demo"), "w"]).ok();
    c.run(&["propset", "title", "Notes", "w/demo/notes.txt"])
        .ok();
    c.run(&["mkdir", "w/demo/empty"]).ok();
    c.run(&["ci", "-m", "title and an empty folder", "w"]).ok();

    let out = c
        .run(&["export", "--history", &server.url("demo"), "demo.zsb"])
        .ok();
    assert!(out.stdout.contains("Exported "), "{}", out.stdout);
    assert!(
        out.stdout.contains("2 revision(s) of history"),
        "{}",
        out.stdout
    );
    let bytes = std::fs::read(c.path("demo.zsb")).unwrap();
    assert!(bytes.starts_with(b"ZSYNC-BUNDLE\n"));
    // Refuses to overwrite a file.
    let again = c.run(&["export", &server.url("demo"), "demo.zsb"]).fails(1);
    assert!(again.stderr.contains("already exists"), "{}", again.stderr);

    let out = c.run(&["import", "demo.zsb", &server.url("copy")]).ok();
    assert!(out.stdout.contains("as revision 3"), "{}", out.stdout);
    assert!(
        out.stdout
            .contains("history (2 revision(s)) was not replayed"),
        "{}",
        out.stdout
    );
    c.run(&["co", &server.url("copy"), "w2"]).ok();
    c.run(&["up", "w"]).ok();
    assert_eq!(files(&c.path("w/demo")), files(&c.path("w2/copy")));
    assert!(files(&c.path("w2/copy")).contains_key("empty/"));
    let title = c
        .run(&["propget", "title", "w2/copy/notes.txt"])
        .ok()
        .stdout;
    assert_eq!(title.trim(), "Notes");
    let info = c.run(&["info", "w2/copy/images/logo.png"]).ok().stdout;
    assert!(info.contains("image"), "{info}");

    // Importing onto existing objects needs --replace, and without it
    // nothing changes.
    let before = head(&c, "w2");
    let refused = c.run(&["import", "demo.zsb", &server.url("copy")]).fails(1);
    assert!(refused.stderr.contains("--replace"), "{}", refused.stderr);
    assert_eq!(head(&c, "w2"), before);

    // With --replace, only what differs is written, in one revision.
    c.write("w/demo/notes.txt", "changed at the source\n");
    c.run(&["ci", "-m", "source edit", "w"]).ok();
    c.run(&["export", &server.url("demo"), "demo2.zsb"]).ok();
    c.write("w2/copy/README.md", "edited in the copy\n");
    c.run(&["ci", "-m", "copy edit", "w2"]).ok();
    let out = c
        .run(&["import", "--replace", "demo2.zsb", &server.url("copy")])
        .ok();
    // Two objects differ: the notes (edited at the source) and the
    // README (edited in the copy). The logo's derived width and height,
    // which the copy has and the demo's lacks, overwrite nothing.
    assert!(
        out.stdout
            .starts_with("Imported 0 new and 2 replaced object(s) as revision "),
        "{}",
        out.stdout
    );
    c.run(&["up", "w2"]).ok();
    assert_eq!(c.read("w2/copy/notes.txt"), "changed at the source\n");
    assert_eq!(files(&c.path("w/demo")), files(&c.path("w2/copy")));
}

/// Into another server every body is uploaded: small ones in batches
/// (more bodies than one batch holds), a big one alone, an empty one; the
/// copy checks out equal to the source.
#[test]
fn an_import_into_another_server_uploads_every_body() {
    let from = Server::demo();
    let to = Server::demo();
    let c = Client::new();
    for i in 0..1100 {
        c.write(&format!("t/d{}/f{i}.txt", i / 20), &format!("file {i}\n"));
    }
    let big: Vec<u8> = (0..(2 << 20) + 7)
        .map(|i: u32| (i * 7 % 251) as u8)
        .collect();
    c.write_bytes("t/big.bin", &big);
    c.write("t/empty.txt", "");
    c.run(&["checkin", "-m", "tree", &from.url("tree"), "t"])
        .ok();
    c.run(&["export", &from.url("tree"), "tree.zsb"]).ok();

    let out = c.run(&["import", "tree.zsb", &to.url("copy")]).ok();
    assert!(out.stdout.contains("Imported 1158 new"), "{}", out.stdout);
    c.run(&["co", &to.url("copy"), "w"]).ok();
    assert_eq!(files(&c.path("t")), files(&c.path("w/copy")));
    assert_eq!(std::fs::read(c.path("w/copy/big.bin")).unwrap(), big);
}

#[test]
fn damaged_truncated_and_newer_bundles_are_refused_and_change_nothing() {
    let server = Server::demo();
    let c = Client::new();
    c.run(&["export", &server.url("demo"), "demo.zsb"]).ok();
    let bytes = std::fs::read(c.path("demo.zsb")).unwrap();

    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "truncated.zsb",
            bytes[..bytes.len() - 200].to_vec(),
            "damaged or truncated",
        ),
        (
            "corrupt.zsb",
            {
                let mut b = bytes.clone();
                let mid = b.len() / 2;
                b[mid] ^= 0xff;
                b[mid + 1] ^= 0x55;
                b
            },
            "damaged or truncated",
        ),
        (
            "newer.zsb",
            {
                let mut b = bytes.clone();
                b[13..17].copy_from_slice(&2u32.to_be_bytes());
                b
            },
            "bundle format 2 is newer than this zsync reads",
        ),
        (
            "other.zsb",
            b"PK\x03\x04 not a bundle".to_vec(),
            "is not a zsync bundle",
        ),
    ];
    for (name, data, message) in cases {
        c.write_bytes(name, &data);
        let out = c.run(&["import", name, &server.url("copy")]).fails(1);
        assert!(out.stderr.contains(message), "{name}: {}", out.stderr);
        // Nothing arrived.
        let co = c.run(&["co", &server.url("copy"), "nothing"]);
        assert_ne!(co.code, 0, "{name}: /copy exists after a refused import");
        assert!(!c.exists("nothing/copy"));
    }
    // The good bundle still imports.
    c.run(&["import", "demo.zsb", &server.url("copy")]).ok();
}
