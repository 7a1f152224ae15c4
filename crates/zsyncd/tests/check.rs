//! `zsyncd check` as a real process on a real SQLite store.

mod common;

use common::run;
use sqlx::ConnectOptions as _;
use sqlx::sqlite::SqliteConnectOptions;
use zsync_format::{CommitOp, CommitRequest};
use zsync_model::{BodyHash, Kind, Props, RepoPath};
use zsync_store::{SqlStore, Store as _};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn check_passes_a_sound_store_and_lists_the_problems_of_a_damaged_one() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = SqlStore::open(&data).await.unwrap();
        let hash = BodyHash::of(b"hello\n");
        store.put_body(hash, &b"hello\n"[..], 1024).await.unwrap();
        let request = CommitRequest {
            message: "first".into(),
            id: None,
            keep_locks: false,
            ops: vec![CommitOp::Add {
                path: RepoPath::parse("hello.txt").unwrap(),
                kind: Kind::document(),
                props: Props::new(),
                hash: Some(hash),
            }],
        };
        store.commit("alice", &request).await.unwrap();
        store.close().await;
    });

    let sound = run(&data, &["check"], "");
    assert!(sound.status.success(), "{}", text(&sound.stderr));
    assert_eq!(
        text(&sound.stdout),
        "zsyncd: store is sound: revision 1, 2 object(s), 1 body\n"
    );

    // Lose the body's bytes and the revision row behind the store's back.
    runtime.block_on(async {
        let mut conn = SqliteConnectOptions::new()
            .filename(data.join("zsync.db"))
            .foreign_keys(false)
            .connect()
            .await
            .unwrap();
        sqlx::raw_sql("DELETE FROM chunks; DELETE FROM revisions;")
            .execute(&mut conn)
            .await
            .unwrap();
    });
    let damaged = run(&data, &["check"], "");
    assert_eq!(damaged.status.code(), Some(1));
    let out = text(&damaged.stdout);
    let err = text(&damaged.stderr);
    assert!(
        out.contains("problem: /hello.txt has history in revision 1, which does not exist"),
        "{out}"
    );
    assert!(out.contains("0 byte(s) stored of 6"), "{out}");
    assert!(out.contains("beyond the head 0"), "{out}");
    assert!(out.lines().all(|l| l.starts_with("problem: ")), "{out}");
    assert!(err.starts_with("error: the store in "), "{err}");
    assert!(err.contains("hint: stop the server"), "{err}");

    let missing = run(&dir.path().join("nothing"), &["check"], "");
    assert_eq!(missing.status.code(), Some(1));
    assert!(text(&missing.stderr).contains("no data directory at"));
}
