//! `Store::check` on real SQLite databases: a store built by commits is
//! sound, and each kind of damage, written behind the store's back with
//! plain SQL, is reported.

use std::path::Path;

use sqlx::ConnectOptions as _;
use sqlx::sqlite::SqliteConnectOptions;
use tempfile::TempDir;
use zsync_format::{CommitOp, CommitRequest};
use zsync_model::{BodyHash, Kind, Props, RepoPath};
use zsync_store::{CHUNK_SIZE, SqlStore, Store};

const MAX: u64 = 64 * 1024 * 1024;

fn p(s: &str) -> RepoPath {
    RepoPath::parse(s).unwrap()
}

async fn upload(store: &SqlStore, data: &[u8]) -> BodyHash {
    let hash = BodyHash::of(data);
    store.put_body(hash, data, MAX).await.unwrap();
    hash
}

async fn commit(store: &SqlStore, ops: Vec<CommitOp>) -> u64 {
    let request = CommitRequest {
        message: "test".into(),
        ops,
        id: None,
        keep_locks: false,
    };
    store.commit("alice", &request).await.unwrap().rev
}

fn add(path: &str, hash: Option<BodyHash>) -> CommitOp {
    CommitOp::Add {
        path: p(path),
        kind: if hash.is_some() {
            Kind::document()
        } else {
            Kind::folder()
        },
        props: Props::new(),
        hash,
    }
}

/// A store with folders, a two-chunk body, a modification, a move and a
/// delete: every kind of history row.
async fn populated() -> (TempDir, SqlStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqlStore::open(&dir.path().join("data")).await.unwrap();
    let big: Vec<u8> = (0..CHUNK_SIZE + 10).map(|i| (i % 251) as u8).collect();
    let big = upload(&store, &big).await;
    let small = upload(&store, b"hello\n").await;
    let empty = upload(&store, b"").await;
    commit(
        &store,
        vec![
            add("a", None),
            add("a/b", None),
            add("a/b/big.bin", Some(big)),
            add("a/small.txt", Some(small)),
            add("a/empty.txt", Some(empty)),
            add("gone", None),
        ],
    )
    .await;
    let small_obj = store.object(&p("a/small.txt")).await.unwrap().unwrap();
    let changed = upload(&store, b"hello again\n").await;
    commit(
        &store,
        vec![CommitOp::Modify {
            path: p("a/small.txt"),
            oid: small_obj.oid,
            base_rev: small_obj.rev,
            props: None,
            hash: Some(changed),
        }],
    )
    .await;
    let b = store.object(&p("a/b")).await.unwrap().unwrap();
    commit(
        &store,
        vec![CommitOp::Move {
            from: p("a/b"),
            to: p("c"),
            oid: b.oid,
            base_rev: b.rev,
            props: None,
            hash: None,
        }],
    )
    .await;
    let gone = store.object(&p("gone")).await.unwrap().unwrap();
    commit(
        &store,
        vec![CommitOp::Delete {
            path: p("gone"),
            oid: gone.oid,
            base_rev: gone.rev,
            known: vec![],
        }],
    )
    .await;
    (dir, store)
}

/// Runs `sql` on the store's database through a connection of its own,
/// without foreign key enforcement, as a damaged or foreign writer would.
async fn tamper(dir: &Path, sql: &str) {
    let mut conn = SqliteConnectOptions::new()
        .filename(dir.join("data").join("zsync.db"))
        .foreign_keys(false)
        .connect()
        .await
        .unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
        .execute(&mut conn)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_store_built_by_commits_is_sound() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqlStore::open(&dir.path().join("data")).await.unwrap();
    let report = store.check().await.unwrap();
    assert!(report.is_sound(), "{:?}", report.problems);
    assert_eq!((report.head, report.objects, report.bodies), (0, 1, 0));

    let (_dir, store) = populated().await;
    let report = store.check().await.unwrap();
    assert!(report.is_sound(), "{:?}", report.problems);
    // root, a, c, c/big.bin, a/small.txt, a/empty.txt; four bodies.
    assert_eq!((report.head, report.objects, report.bodies), (4, 6, 4));
}

#[tokio::test]
async fn each_kind_of_damage_is_reported() {
    let cases: &[(&str, &str)] = &[
        ("DELETE FROM chunks WHERE seq = 1", "byte(s) stored of"),
        (
            "DELETE FROM chunks WHERE seq = 0 AND hash IN (SELECT hash FROM bodies WHERE size > 1048576)",
            "chunk 0 is missing",
        ),
        (
            "UPDATE chunks SET data = X'00' || data WHERE seq = 0 AND hash IN \
             (SELECT hash FROM objects WHERE path = 'a/small.txt')",
            "byte(s) stored of",
        ),
        (
            "UPDATE chunks SET data = X'6A656C6C6F20616761696E0A' WHERE hash IN \
             (SELECT hash FROM objects WHERE path = 'a/small.txt')",
            "content does not match its hash",
        ),
        (
            "DELETE FROM chunks WHERE hash IN (SELECT hash FROM objects WHERE path = 'a/small.txt'); \
             DELETE FROM bodies WHERE hash IN (SELECT hash FROM objects WHERE path = 'a/small.txt')",
            "/a/small.txt: body",
        ),
        ("DELETE FROM revisions WHERE rev = 2", "not contiguous"),
        ("DELETE FROM objects WHERE path = 'a'", "is missing"),
        (
            "UPDATE objects SET path = 'x/y' WHERE path = 'a/small.txt'",
            "does not match its parent",
        ),
        (
            "UPDATE objects SET parent_oid = (SELECT oid FROM objects WHERE path = 'c/big.bin') \
             WHERE path = 'a/small.txt'",
            "is not a folder",
        ),
        // A commit applied to `objects` but not to `history`, and the reverse.
        ("DELETE FROM history WHERE rev = 2", "its history ends at"),
        (
            "UPDATE objects SET rev = 5 WHERE path = 'a/small.txt'",
            "beyond the head",
        ),
        (
            "INSERT INTO objects (oid, parent_oid, name, path, kind, rev, props) \
             SELECT '0123456789abcdef0123456789abcdef', oid, 'half', 'a/half', 'folder', 4, '{}' \
             FROM objects WHERE path = 'a'",
            "/a/half",
        ),
        (
            "DELETE FROM objects WHERE path = 'a/empty.txt'",
            "does not exist",
        ),
        (
            "UPDATE objects SET props = '{\"title\":\"x\"}' WHERE path = 'c'",
            "differs from its history",
        ),
        (
            "INSERT INTO revisions (rev, time, author, message) VALUES (5, 0, 'x', 'empty')",
            "revision 5 changed nothing",
        ),
        (
            "UPDATE objects SET kind = '' WHERE path = 'c'",
            "unreadable",
        ),
    ];
    for (sql, expected) in cases {
        let (dir, store) = populated().await;
        tamper(dir.path(), sql).await;
        let report = store.check().await.unwrap();
        assert!(
            report.problems.iter().any(|m| m.contains(expected)),
            "after {sql:?} expected a problem with {expected:?}, got {:?}",
            report.problems
        );
    }
}
