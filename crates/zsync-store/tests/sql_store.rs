//! The store suite, against real SQLite databases in temporary directories
//! and real PostgreSQL databases (one per test); see `common`.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::Fixture;

use futures_util::TryStreamExt;
use zsync_format::{ChangeAction, CommitOp, CommitRequest, CommitResponse, KnownObject};
use zsync_model::{BodyHash, Kind, Oid, Props, RepoPath, Role};
use zsync_store::{CHUNK_SIZE, SqlStore, Store, StoreError, UserRecord, WebSessionRecord};

const MAX: u64 = 64 * 1024 * 1024;

fn p(s: &str) -> RepoPath {
    RepoPath::parse(s).unwrap()
}

fn props(pairs: &[(&str, &str)]) -> Props {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

async fn upload(store: &impl Store, data: &[u8]) -> BodyHash {
    let hash = BodyHash::of(data);
    store.put_body(hash, data, MAX).await.unwrap();
    hash
}

fn folder(path: &str) -> CommitOp {
    CommitOp::Add {
        path: p(path),
        kind: Kind::folder(),
        props: Props::new(),
        hash: None,
    }
}

fn doc(path: &str, hash: BodyHash) -> CommitOp {
    CommitOp::Add {
        path: p(path),
        kind: Kind::document(),
        props: props(&[("title", path)]),
        hash: Some(hash),
    }
}

fn modify(path: &str, oid: &Oid, base_rev: u64, hash: Option<BodyHash>) -> CommitOp {
    CommitOp::Modify {
        path: p(path),
        oid: oid.clone(),
        base_rev,
        props: None,
        hash,
    }
}

fn request(message: &str, ops: Vec<CommitOp>) -> CommitRequest {
    CommitRequest {
        message: message.into(),
        ops,
        id: None,
        keep_locks: false,
    }
}

async fn commit(store: &impl Store, ops: Vec<CommitOp>) -> CommitResponse {
    store.commit("alice", &request("test", ops)).await.unwrap()
}

/// The oid and rev of the object at `path`.
async fn at(store: &impl Store, path: &str) -> (Oid, u64) {
    let o = store.object(&p(path)).await.unwrap().unwrap();
    (o.oid, o.rev)
}

fn stale_paths(e: StoreError) -> Vec<String> {
    match e {
        StoreError::Stale(paths) => paths.iter().map(|p| p.to_string()).collect(),
        other => panic!("expected Stale, got {other:?}"),
    }
}

/// The problems of an Invalid error as path → message.
fn problems(e: StoreError) -> BTreeMap<String, String> {
    match e {
        StoreError::Invalid(list) => list.into_iter().map(|p| (p.path, p.message)).collect(),
        other => panic!("expected Invalid, got {other:?}"),
    }
}

async fn root_exists_at_rev_0<S: Store>(_dir: Fixture, store: S) {
    assert_eq!(store.head().await.unwrap(), 0);
    let root = store.object(&RepoPath::root()).await.unwrap().unwrap();
    assert_eq!(root.oid, Oid::root());
    assert!(root.kind.is_folder());
    assert_eq!((root.rev, root.hash, root.size), (0, None, 0));
    let m = store.manifest(&RepoPath::root()).await.unwrap();
    assert_eq!(m.head, 0);
    assert_eq!(m.entries.len(), 1);
    assert!(m.entries[0].path.is_root());
    assert_eq!(m.entries[0].author, "");
    assert!(store.log(&RepoPath::root(), None).await.unwrap().is_empty());
}

#[tokio::test]
async fn open_twice_keeps_data() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    {
        let store = SqlStore::open(&data).await.unwrap();
        commit(&store, vec![folder("demo")]).await;
        store.close().await;
    }
    let store = SqlStore::open(&data).await.unwrap();
    assert_eq!(store.head().await.unwrap(), 1);
    assert!(store.object(&p("demo")).await.unwrap().is_some());
    assert_eq!(at(&store, "").await, (Oid::root(), 0));
}

async fn add_and_manifest<S: Store>(_dir: Fixture, store: S) {
    let b = upload(&store, b"bee").await;
    let x = upload(&store, b"ex").await;
    let r1 = commit(
        &store,
        vec![
            folder("demo"),
            doc("demo/b.txt", b),
            folder("demo/a"),
            doc("demo/a/x", x),
        ],
    )
    .await;
    assert_eq!(r1.rev, 1);
    let paths: Vec<_> = r1.objects.iter().map(|o| o.path.to_string()).collect();
    assert_eq!(paths, ["demo", "demo/b.txt", "demo/a", "demo/a/x"]);
    assert!(r1.objects.iter().all(|o| o.rev == 1));
    // A sibling whose name extends "demo" must not leak into its subtree.
    store
        .commit("bob", &request("sibling", vec![folder("demo-x")]))
        .await
        .unwrap();

    let m = store.manifest(&p("demo")).await.unwrap();
    assert_eq!(m.root, p("demo"));
    assert_eq!(m.head, 2);
    let rel: Vec<_> = m.entries.iter().map(|e| e.path.to_string()).collect();
    assert_eq!(rel, ["", "a", "a/x", "b.txt"]);
    assert!(m.entries.iter().all(|e| e.author == "alice" && e.rev == 1));
    let bt = &m.entries[3];
    assert_eq!(bt.kind, Kind::document());
    assert_eq!((bt.hash, bt.size), (Some(b), 3));
    assert_eq!(bt.props, props(&[("title", "demo/b.txt")]));
    assert_eq!(bt.oid, r1.objects[1].oid);

    let all = store.manifest(&RepoPath::root()).await.unwrap();
    let abs: Vec<_> = all.entries.iter().map(|e| e.path.to_string()).collect();
    assert_eq!(
        abs,
        ["", "demo", "demo-x", "demo/a", "demo/a/x", "demo/b.txt"]
    );
    assert_eq!(all.entries[2].author, "bob");
    // The root folder did not change when children were added.
    assert_eq!(all.entries[0].rev, 0);
    assert_eq!(all.entries[1].rev, 1);

    let leaf = store.manifest(&p("demo/a/x")).await.unwrap();
    assert_eq!(leaf.entries.len(), 1);
    assert!(leaf.entries[0].path.is_root());

    match store.manifest(&p("nope")).await {
        Err(StoreError::NotFound(what)) => assert_eq!(what, "nope"),
        other => panic!("expected NotFound, got {other:?}"),
    }
}

async fn modify_with_right_and_stale_base_revs<S: Store>(dir: Fixture, store: S) {
    let h1 = upload(&store, b"one").await;
    commit(
        &store,
        vec![folder("d"), doc("d/a", h1), doc("d/b", h1), doc("d/c", h1)],
    )
    .await;
    let (a, _) = at(&store, "d/a").await;
    let (b, _) = at(&store, "d/b").await;
    let (c, _) = at(&store, "d/c").await;

    let h2 = upload(&store, b"second").await;
    let r2 = commit(&store, vec![modify("d/a", &a, 1, Some(h2))]).await;
    assert_eq!(r2.rev, 2);
    let rec = store.object(&p("d/a")).await.unwrap().unwrap();
    assert_eq!((rec.rev, rec.hash, rec.size), (2, Some(h2), 6));
    assert_eq!(rec.props, props(&[("title", "d/a")]), "props kept");
    // The folder's rev stays: only the child changed.
    assert_eq!(at(&store, "d").await.1, 1);

    // Props replace the whole map and keep the body.
    let r3 = commit(
        &store,
        vec![CommitOp::Modify {
            path: p("d/b"),
            oid: b.clone(),
            base_rev: 1,
            props: Some(props(&[("x", "y")])),
            hash: None,
        }],
    )
    .await;
    let rec = store.object(&p("d/b")).await.unwrap().unwrap();
    assert_eq!((rec.rev, rec.hash, rec.size), (r3.rev, Some(h1), 3));
    assert_eq!(rec.props, props(&[("x", "y")]));

    // Two stale ops (old base rev; wrong oid) and one good one: nothing is
    // written and both stale paths are listed.
    let err = store
        .commit(
            "alice",
            &request(
                "stale",
                vec![
                    modify("d/c", &c, 1, Some(h2)),
                    modify("d/b", &b, 1, None),
                    modify("d/a", &Oid::random(), 2, None),
                ],
            ),
        )
        .await
        .unwrap_err();
    assert_eq!(stale_paths(err), ["d/a", "d/b"]);
    assert_eq!(store.head().await.unwrap(), 3);
    let rec = store.object(&p("d/c")).await.unwrap().unwrap();
    assert_eq!((rec.rev, rec.hash), (1, Some(h1)));
    assert_eq!(dir.history_revs().await, [1, 2, 3]);
}

async fn delete_folder_subtree<S: Store>(dir: Fixture, store: S) {
    let h = upload(&store, b"x").await;
    commit(
        &store,
        vec![
            folder("d"),
            folder("d/sub"),
            doc("d/sub/f", h),
            doc("d/g", h),
            doc("e", h),
        ],
    )
    .await;
    let (d, _) = at(&store, "d").await;
    let known_of = |paths: Vec<(Oid, u64)>| {
        paths
            .into_iter()
            .map(|(oid, rev)| KnownObject { oid, rev })
            .collect::<Vec<_>>()
    };
    let sub = at(&store, "d/sub").await;
    let f = at(&store, "d/sub/f").await;
    let g = at(&store, "d/g").await;

    // Incomplete: the client does not know d/g.
    let delete = |known| CommitOp::Delete {
        path: p("d"),
        oid: d.clone(),
        base_rev: 1,
        known,
    };
    let err = store
        .commit(
            "alice",
            &request("rm", vec![delete(known_of(vec![sub.clone(), f.clone()]))]),
        )
        .await
        .unwrap_err();
    assert_eq!(stale_paths(err), ["d"]);
    // Outdated: the client knows an older d/g.
    let err = store
        .commit(
            "alice",
            &request(
                "rm",
                vec![delete(known_of(vec![
                    sub.clone(),
                    f.clone(),
                    (g.0.clone(), 0),
                ]))],
            ),
        )
        .await
        .unwrap_err();
    assert_eq!(stale_paths(err), ["d"]);
    assert_eq!(store.head().await.unwrap(), 1);

    let r = commit(&store, vec![delete(known_of(vec![sub, f, g]))]).await;
    assert_eq!(r.rev, 2);
    assert_eq!(r.objects.len(), 1);
    assert_eq!((r.objects[0].path.as_str(), r.objects[0].rev), ("d", 2));
    for gone in ["d", "d/sub", "d/sub/f", "d/g"] {
        assert!(store.object(&p(gone)).await.unwrap().is_none(), "{gone}");
    }
    assert!(store.object(&p("e")).await.unwrap().is_some());
    let log = store.log(&p("d"), None).await.unwrap();
    assert_eq!(log[0].rev, 2);
    let changes: Vec<_> = log[0]
        .changes
        .iter()
        .map(|c| (c.path.to_string(), c.action))
        .collect();
    assert_eq!(
        changes,
        [
            ("d".to_string(), ChangeAction::D),
            ("d/g".to_string(), ChangeAction::D),
            ("d/sub".to_string(), ChangeAction::D),
            ("d/sub/f".to_string(), ChangeAction::D),
        ]
    );
    assert_eq!(dir.history_revs().await, [1, 2]);
    // The path can be used again, by a new object.
    let r = commit(&store, vec![folder("d")]).await;
    assert_ne!(r.objects[0].oid, d);
}

async fn invalid_requests<S: Store>(_dir: Fixture, store: S) {
    let h = upload(&store, b"x").await;
    commit(&store, vec![folder("d"), doc("d/f", h)]).await;
    let (d, _) = at(&store, "d").await;
    let (f, _) = at(&store, "d/f").await;
    let missing = BodyHash::of(b"never uploaded");

    let err = store
        .commit("alice", &request("m", vec![]))
        .await
        .unwrap_err();
    assert_eq!(
        problems(err).into_values().collect::<Vec<_>>(),
        ["nothing to commit"]
    );

    let err = store
        .commit(
            "alice",
            &request(
                "m",
                vec![
                    doc("nope/f", h),
                    doc("d/f/under-doc", h),
                    doc("d/g", missing),
                    CommitOp::Add {
                        path: p("d/h"),
                        kind: Kind::folder(),
                        props: Props::new(),
                        hash: Some(h),
                    },
                    CommitOp::Add {
                        path: p("d/i"),
                        kind: Kind::image(),
                        props: Props::new(),
                        hash: None,
                    },
                    folder("new"),
                    doc("new/ok", h),
                    doc("later/x", h),
                    folder("later"),
                ],
            ),
        )
        .await
        .unwrap_err();
    let found = problems(err);
    assert_eq!(
        found.keys().collect::<Vec<_>>(),
        ["d/f/under-doc", "d/g", "d/h", "d/i", "later/x", "nope/f"]
    );
    assert!(found["nope/f"].contains("does not exist"), "{found:?}");
    assert!(found["d/f/under-doc"].contains("not a folder"), "{found:?}");
    assert_eq!(found["d/g"], format!("body {missing} was not uploaded"));
    assert!(found["d/h"].contains("folder has no body"), "{found:?}");
    assert!(found["d/i"].contains("needs a body"), "{found:?}");

    // The same path twice; an op below a deleted folder.
    let err = store
        .commit(
            "alice",
            &request(
                "m",
                vec![
                    folder("x"),
                    folder("x"),
                    CommitOp::Delete {
                        path: p("d"),
                        oid: d.clone(),
                        base_rev: 1,
                        known: vec![KnownObject {
                            oid: f.clone(),
                            rev: 1,
                        }],
                    },
                    doc("d/new", h),
                ],
            ),
        )
        .await
        .unwrap_err();
    let found = problems(err);
    assert!(found["x"].contains("more than once"), "{found:?}");
    assert!(found["d/new"].contains("deletes"), "{found:?}");

    // Modify that gives a folder a body, or names a missing body.
    let err = store
        .commit(
            "alice",
            &request(
                "m",
                vec![
                    modify("d", &d, 1, Some(h)),
                    modify("d/f", &f, 1, Some(missing)),
                ],
            ),
        )
        .await
        .unwrap_err();
    assert_eq!(problems(err).len(), 2);

    // Stale wins over invalid.
    let err = store
        .commit("alice", &request("m", vec![folder("d"), doc("nope/f", h)]))
        .await
        .unwrap_err();
    assert_eq!(stale_paths(err), ["d"]);
    assert_eq!(store.head().await.unwrap(), 1);
}

async fn add_where_something_exists_is_stale<S: Store>(_dir: Fixture, store: S) {
    commit(&store, vec![folder("a"), folder("b")]).await;
    let err = store
        .commit(
            "bob",
            &request("m", vec![folder("a"), folder("b"), folder("c")]),
        )
        .await
        .unwrap_err();
    assert_eq!(stale_paths(err), ["a", "b"]);
    assert!(store.object(&p("c")).await.unwrap().is_none());
}

/// Produces a body in uneven pieces, as a network would.
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 251) as u8).collect()
}

async fn multi_chunk_body_streams_both_ways<S: Store>(dir: Fixture, store: S) {
    let data = pattern(2 * CHUNK_SIZE + CHUNK_SIZE / 2 + 3);
    let hash = BodyHash::of(&data);
    assert_eq!(store.missing_bodies(&[hash, hash]).await.unwrap(), [hash]);

    let (client, server) = tokio::io::duplex(4096);
    let send = {
        let data = data.clone();
        tokio::spawn(async move {
            use tokio::io::AsyncWriteExt;
            let mut client = client;
            for piece in data.chunks(10_007) {
                client.write_all(piece).await.unwrap();
            }
        })
    };
    store.put_body(hash, server, MAX).await.unwrap();
    send.await.unwrap();
    assert_eq!(
        store.body_size(&hash).await.unwrap(),
        Some(data.len() as u64)
    );
    assert!(store.missing_bodies(&[hash]).await.unwrap().is_empty());
    assert_eq!(dir.tmp_files(), 0);

    let chunks: Vec<_> = store
        .read_body(&hash)
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(chunks.len(), 3);
    assert!(chunks.iter().all(|c| c.len() <= CHUNK_SIZE));
    assert_eq!(chunks.concat(), data);

    // Uploading it again is a no-op, and the empty body works too.
    store.put_body(hash, &data[..], MAX).await.unwrap();
    let empty = upload(&store, b"").await;
    assert_eq!(store.body_size(&empty).await.unwrap(), Some(0));
    let none: Vec<_> = store
        .read_body(&empty)
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert!(none.is_empty());

    let other = BodyHash::of(b"other");
    assert_eq!(
        store.missing_bodies(&[empty, other, hash]).await.unwrap(),
        [other]
    );
    assert!(matches!(
        store.read_body(&other).await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(store.body_size(&other).await.unwrap(), None);
}

async fn bad_uploads_leave_nothing<S: Store>(dir: Fixture, store: S) {
    let data = pattern(CHUNK_SIZE + 10);
    let hash = BodyHash::of(&data);

    let wrong = BodyHash::of(b"something else");
    match store.put_body(wrong, &data[..], MAX).await {
        Err(StoreError::HashMismatch { expected, actual }) => {
            assert_eq!((expected, actual), (wrong, hash));
        }
        other => panic!("expected HashMismatch, got {other:?}"),
    }
    match store.put_body(hash, &data[..], 1000).await {
        Err(StoreError::TooLarge { limit }) => assert_eq!(limit, 1000),
        other => panic!("expected TooLarge, got {other:?}"),
    }
    // Exactly at the limit is fine.
    let small = b"12345";
    store
        .put_body(BodyHash::of(small), &small[..], 5)
        .await
        .unwrap();
    assert!(matches!(
        store
            .put_body(BodyHash::of(b"123456"), &b"123456"[..], 5)
            .await,
        Err(StoreError::TooLarge { .. })
    ));

    assert_eq!(
        store.missing_bodies(&[hash, wrong]).await.unwrap(),
        [hash, wrong]
    );
    assert_eq!(dir.tmp_files(), 0);
}

async fn batches_are_stored_whole_or_not_at_all<S: Store>(dir: Fixture, store: S) {
    // More bodies than one multi-row statement holds, an empty one, one of
    // exactly a chunk, one stored before, and a duplicate.
    let before = upload(&store, b"stored before").await;
    let mut bodies: Vec<Vec<u8>> = (0..700).map(|i| format!("body {i}").into_bytes()).collect();
    bodies.push(Vec::new());
    bodies.push(pattern(CHUNK_SIZE));
    bodies.push(b"stored before".to_vec());
    bodies.push(b"body 3".to_vec());
    let batch = |bodies: &[Vec<u8>]| -> Vec<(BodyHash, bytes::Bytes)> {
        bodies
            .iter()
            .map(|b| (BodyHash::of(b), bytes::Bytes::from(b.clone())))
            .collect()
    };
    let hashes: Vec<BodyHash> = bodies.iter().map(|b| BodyHash::of(b)).collect();

    // One wrong hash anywhere refuses the batch and stores none of it.
    let mut bad = batch(&bodies);
    let wrong = BodyHash::of(b"not body 500");
    bad[500].0 = wrong;
    match store.put_bodies(bad).await {
        Err(StoreError::HashMismatch { expected, .. }) => assert_eq!(expected, wrong),
        other => panic!("expected HashMismatch, got {other:?}"),
    }
    // So does a body over one chunk.
    let mut big = batch(&bodies[..3]);
    let over = pattern(CHUNK_SIZE + 1);
    big.push((BodyHash::of(&over), over.into()));
    assert!(matches!(
        store.put_bodies(big).await,
        Err(StoreError::TooLarge { .. })
    ));
    let mut missing = hashes.clone();
    missing.retain(|h| *h != before);
    missing.dedup();
    let mut expected: Vec<BodyHash> = missing.clone();
    expected.sort();
    expected.dedup();
    let mut still = store.missing_bodies(&hashes).await.unwrap();
    still.sort();
    assert_eq!(still, expected);

    store.put_bodies(batch(&bodies)).await.unwrap();
    assert!(store.missing_bodies(&hashes).await.unwrap().is_empty());
    for body in [&bodies[0], &bodies[699], &bodies[700], &bodies[701]] {
        let hash = BodyHash::of(body);
        assert_eq!(
            store.body_size(&hash).await.unwrap(),
            Some(body.len() as u64)
        );
        let read: Vec<_> = store
            .read_body(&hash)
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        assert_eq!(&read.concat(), body);
    }
    // Sending it again is a no-op, and the store is sound.
    store.put_bodies(batch(&bodies)).await.unwrap();
    store.put_bodies(Vec::new()).await.unwrap();
    let report = store.check().await.unwrap();
    assert!(report.is_sound(), "{:?}", report.problems);
    assert_eq!(dir.tmp_files(), 0);
}

async fn a_commit_of_many_adds_is_checked_and_stored_whole<S: Store>(_dir: Fixture, store: S) {
    let h = upload(&store, b"shared").await;
    commit(&store, vec![folder("old"), doc("old/taken.txt", h)]).await;
    let (old, old_rev) = at(&store, "old").await;
    // Folders and files across several multi-row statements, each file's
    // folder in an earlier statement or the same one, then a modify in
    // the middle and more adds after it.
    let mut ops = vec![folder("big")];
    for f in 0..30 {
        ops.push(folder(&format!("big/f{f}")));
        for i in 0..20 {
            ops.push(doc(&format!("big/f{f}/d{i}.txt"), h));
        }
    }
    ops.push(modify("old", &old, old_rev, None));
    ops.push(doc("old/new.txt", h));
    ops.push(doc("big/last.txt", h));

    // One stale add, one missing body, one bad parent, a name clash: the
    // whole commit is refused with every problem, nothing is stored.
    let mut bad = ops.clone();
    bad.push(doc("old/taken.txt", h));
    bad.push(doc("big/nobody.txt", BodyHash::of(b"never uploaded")));
    bad.push(doc("big/f0/d0.txt/below.txt", h));
    bad.push(doc("big/F1", h));
    match store.commit("alice", &request("bad", bad.clone())).await {
        Err(StoreError::Stale(paths)) => assert_eq!(paths, [p("old/taken.txt")]),
        other => panic!("expected Stale, got {other:?}"),
    }
    bad.retain(|op| op.path().as_str() != "old/taken.txt");
    let problems = problems(
        store
            .commit("alice", &request("bad", bad))
            .await
            .unwrap_err(),
    );
    assert_eq!(problems.len(), 3, "{problems:?}");
    assert!(problems["big/nobody.txt"].contains("was not uploaded"));
    assert!(problems["big/f0/d0.txt/below.txt"].contains("not a folder"));
    assert!(problems["big/F1"].contains("only by case"));
    assert!(store.object(&p("big")).await.unwrap().is_none());

    let response = commit(&store, ops.clone()).await;
    assert_eq!(response.objects.len(), ops.len());
    for (op, committed) in ops.iter().zip(&response.objects) {
        assert_eq!(op.path(), &committed.path);
    }
    let manifest = store.manifest(&p("big")).await.unwrap();
    assert_eq!(manifest.entries.len(), 1 + 30 * 21 + 1);
    let o = store.object(&p("big/f29/d19.txt")).await.unwrap().unwrap();
    assert_eq!((o.hash, o.size, o.rev), (Some(h), 6, response.rev));
    let report = store.check().await.unwrap();
    assert!(report.is_sound(), "{:?}", report.problems);
}

async fn concurrent_commits_to_one_object<S: Store>(_dir: Fixture, store: S) {
    commit(&store, vec![folder("d")]).await;
    let (d, _) = at(&store, "d").await;
    let change = |v: &str| {
        request(
            "race",
            vec![CommitOp::Modify {
                path: p("d"),
                oid: d.clone(),
                base_rev: 1,
                props: Some(props(&[("v", v)])),
                hash: None,
            }],
        )
    };
    let tasks: Vec<_> = (0..4)
        .map(|i| {
            let (store, request) = (store.clone(), change(&i.to_string()));
            tokio::spawn(async move { store.commit("alice", &request).await })
        })
        .collect();
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.unwrap());
    }
    let ok: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(ok.len(), 1, "{results:?}");
    assert_eq!(ok[0].rev, 2);
    for failed in results.into_iter().filter_map(|r| r.err()) {
        assert_eq!(stale_paths(failed), ["d"]);
    }
    assert_eq!(store.head().await.unwrap(), 2);
}

async fn concurrent_commits_to_different_objects<S: Store>(dir: Fixture, store: S) {
    let names = ["a", "b", "c", "d", "e", "f"];
    commit(&store, names.iter().map(|n| folder(n)).collect()).await;
    let mut tasks = Vec::new();
    for name in names {
        let store = store.clone();
        let (oid, rev) = at(&store, name).await;
        tasks.push(tokio::spawn(async move {
            store
                .commit("alice", &request(name, vec![modify(name, &oid, rev, None)]))
                .await
        }));
    }
    let mut revs = Vec::new();
    for t in tasks {
        revs.push(t.await.unwrap().unwrap().rev);
    }
    revs.sort();
    assert_eq!(revs, [2, 3, 4, 5, 6, 7]);
    assert_eq!(dir.history_revs().await, [1, 2, 3, 4, 5, 6, 7]);
    for name in names {
        assert!(at(&store, name).await.1 > 1);
    }
}

async fn log_order_limit_and_scope<S: Store>(dir: Fixture, store: S) {
    let h = upload(&store, b"x").await;
    commit(&store, vec![folder("a"), folder("b")]).await; // 1
    commit(&store, vec![doc("a/f", h)]).await; // 2
    commit(&store, vec![doc("b/g", h)]).await; // 3
    let (f, _) = at(&store, "a/f").await;
    store
        .commit(
            "bob",
            &request("edit f", vec![modify("a/f", &f, 2, None), doc("b/h", h)]),
        )
        .await
        .unwrap(); // 4

    let all = store.log(&RepoPath::root(), None).await.unwrap();
    assert_eq!(all.iter().map(|e| e.rev).collect::<Vec<_>>(), [4, 3, 2, 1]);
    assert_eq!(all[0].user, "bob");
    assert_eq!(all[0].message, "edit f");
    assert!(all[0].time > 1_600_000_000);
    let changes: Vec<_> = all[0]
        .changes
        .iter()
        .map(|c| (c.path.to_string(), c.action))
        .collect();
    assert_eq!(
        changes,
        [
            ("a/f".to_string(), ChangeAction::M),
            ("b/h".to_string(), ChangeAction::A)
        ]
    );
    assert_eq!(all[0].changes[0].oid, f);

    let a = store.log(&p("a"), None).await.unwrap();
    assert_eq!(a.iter().map(|e| e.rev).collect::<Vec<_>>(), [4, 2, 1]);
    // Changes are limited to the path asked about.
    assert_eq!(a[0].changes.len(), 1);
    assert_eq!(a[2].changes.len(), 1);
    assert_eq!(a[2].changes[0].path, p("a"));

    let limited = store.log(&p("a"), Some(2)).await.unwrap();
    assert_eq!(limited.iter().map(|e| e.rev).collect::<Vec<_>>(), [4, 2]);
    assert!(store.log(&p("zzz"), None).await.unwrap().is_empty());
    assert_eq!(dir.history_revs().await, [1, 2, 3, 4]);
}

fn user(name: &str, role: Role) -> UserRecord {
    UserRecord {
        name: name.into(),
        password_hash: format!("$argon2id$fake${name}"),
        role: Some(role),
        disabled: false,
    }
}

async fn users_round_trip<S: Store>(_dir: Fixture, store: S) {
    let alice = user("alice", Role::Manager);
    store.add_user(&alice).await.unwrap();
    store
        .add_user(&UserRecord {
            disabled: true,
            ..user("bob", Role::Reader)
        })
        .await
        .unwrap();
    assert!(matches!(
        store.add_user(&alice).await,
        Err(StoreError::AlreadyExists(_))
    ));
    assert_eq!(store.user("alice").await.unwrap(), Some(alice.clone()));
    assert_eq!(store.user("carol").await.unwrap(), None);

    store.set_role("bob", Role::Editor).await.unwrap();
    let users = store.list_users().await.unwrap();
    assert_eq!(users.len(), 2);
    assert_eq!(users[0], alice);
    assert_eq!(
        (users[1].role, users[1].disabled),
        (Some(Role::Editor), true)
    );

    assert!(matches!(
        store.set_role("carol", Role::Reader).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.set_password("carol", "x").await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.remove_user("carol").await,
        Err(StoreError::NotFound(_))
    ));
    store.remove_user("bob").await.unwrap();
    assert_eq!(store.list_users().await.unwrap(), [alice]);
}

async fn tokens_expire_and_are_revoked<S: Store>(_dir: Fixture, store: S) {
    store.add_user(&user("alice", Role::Editor)).await.unwrap();
    store.add_user(&user("bob", Role::Editor)).await.unwrap();
    store.add_token("alice", "t1", 1000).await.unwrap();
    store.add_token("alice", "t2", 2000).await.unwrap();
    store.add_token("bob", "t3", 2000).await.unwrap();
    assert!(matches!(
        store.add_token("carol", "t4", 2000).await,
        Err(StoreError::NotFound(_))
    ));

    assert_eq!(
        store.token_user("t1", 999).await.unwrap().as_deref(),
        Some("alice")
    );
    assert_eq!(store.token_user("t1", 1000).await.unwrap(), None, "expired");
    assert_eq!(store.token_user("nope", 0).await.unwrap(), None);

    assert!(store.remove_token("t1").await.unwrap());
    assert!(!store.remove_token("t1").await.unwrap());
    assert_eq!(store.token_user("t1", 0).await.unwrap(), None);

    // A new password revokes that user's tokens only.
    store.set_password("alice", "$argon2id$new").await.unwrap();
    assert_eq!(
        store.user("alice").await.unwrap().unwrap().password_hash,
        "$argon2id$new"
    );
    assert_eq!(store.token_user("t2", 0).await.unwrap(), None);
    assert_eq!(
        store.token_user("t3", 0).await.unwrap().as_deref(),
        Some("bob")
    );

    store.remove_user("bob").await.unwrap();
    assert_eq!(store.token_user("t3", 0).await.unwrap(), None);
}

fn web_session(hash: &str, user: &str, created: i64, expires: i64) -> WebSessionRecord {
    WebSessionRecord {
        token_hash: hash.into(),
        user: user.into(),
        created,
        expires,
    }
}

async fn web_sessions_expire_list_and_end_with_the_account<S: Store>(_dir: Fixture, store: S) {
    for name in ["alice", "bob", "carol"] {
        store.add_user(&user(name, Role::Editor)).await.unwrap();
    }
    store
        .add_web_session(&web_session("s1", "alice", 10, 1000))
        .await
        .unwrap();
    store
        .add_web_session(&web_session("s2", "alice", 20, 2000))
        .await
        .unwrap();
    store
        .add_web_session(&web_session("s3", "bob", 30, 2000))
        .await
        .unwrap();
    store
        .add_web_session(&web_session("s4", "carol", 40, 2000))
        .await
        .unwrap();
    assert!(matches!(
        store
            .add_web_session(&web_session("s5", "dave", 0, 2000))
            .await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store
            .add_web_session(&web_session("s1", "bob", 0, 2000))
            .await,
        Err(StoreError::AlreadyExists(_))
    ));
    assert_eq!(
        store.web_session_user("s1", 999).await.unwrap().as_deref(),
        Some("alice")
    );
    assert_eq!(
        store.web_session_user("s1", 1000).await.unwrap(),
        None,
        "expired"
    );

    // Listing drops what expired.
    let alive = store.web_sessions(None, 1500).await.unwrap();
    let hashes: Vec<&str> = alive.iter().map(|s| s.token_hash.as_str()).collect();
    assert_eq!(hashes, ["s2", "s3", "s4"]);
    assert_eq!(store.web_sessions(Some("bob"), 0).await.unwrap().len(), 1);
    assert_eq!(
        store.web_session_user("s1", 0).await.unwrap(),
        None,
        "swept"
    );

    assert!(store.remove_web_session("s3").await.unwrap());
    assert!(!store.remove_web_session("s3").await.unwrap());

    // A new password, disabling and removal each end the user's sessions.
    store.set_password("alice", "$argon2id$new").await.unwrap();
    assert_eq!(store.web_session_user("s2", 0).await.unwrap(), None);
    store
        .add_web_session(&web_session("s6", "bob", 0, 2000))
        .await
        .unwrap();
    store.set_disabled("bob", true).await.unwrap();
    assert_eq!(store.web_session_user("s6", 0).await.unwrap(), None);
    store.remove_user("carol").await.unwrap();
    assert_eq!(store.web_session_user("s4", 0).await.unwrap(), None);
}

async fn tokens_are_listed<S: Store>(_dir: Fixture, store: S) {
    store.add_user(&user("alice", Role::Editor)).await.unwrap();
    store.add_user(&user("bob", Role::Editor)).await.unwrap();
    store.add_token("bob", "t1", 1000).await.unwrap();
    store.add_token("alice", "t2", 2000).await.unwrap();
    store.add_token("alice", "t3", 500).await.unwrap();
    let all = store.tokens(None).await.unwrap();
    let listed: Vec<(&str, &str, i64)> = all
        .iter()
        .map(|t| (t.user.as_str(), t.token_hash.as_str(), t.expires))
        .collect();
    assert_eq!(
        listed,
        [
            ("alice", "t3", 500),
            ("alice", "t2", 2000),
            ("bob", "t1", 1000)
        ]
    );
    assert_eq!(store.tokens(Some("bob")).await.unwrap().len(), 1);
    assert!(store.tokens(Some("carol")).await.unwrap().is_empty());
}

async fn root_can_change_props_but_not_go<S: Store>(_dir: Fixture, store: S) {
    let r = commit(
        &store,
        vec![CommitOp::Modify {
            path: RepoPath::root(),
            oid: Oid::root(),
            base_rev: 0,
            props: Some(props(&[("title", "Site")])),
            hash: None,
        }],
    )
    .await;
    let root = store.object(&RepoPath::root()).await.unwrap().unwrap();
    assert_eq!((root.rev, root.props), (r.rev, props(&[("title", "Site")])));
    let err = store
        .commit(
            "alice",
            &request(
                "rm",
                vec![CommitOp::Delete {
                    path: RepoPath::root(),
                    oid: Oid::root(),
                    base_rev: 1,
                    known: Vec::new(),
                }],
            ),
        )
        .await
        .unwrap_err();
    assert_eq!(problems(err).len(), 1);
}

async fn damaged_rows_are_reported_as_corrupt<S: Store>(dir: Fixture, store: S) {
    commit(&store, vec![folder("d")]).await;
    dir.execute("UPDATE objects SET props = 'not json' WHERE path = 'd'")
        .await;
    for result in [
        store.manifest(&RepoPath::root()).await.map(|_| ()),
        store.object(&p("d")).await.map(|_| ()),
    ] {
        match result {
            Err(StoreError::Corrupt(what)) => assert!(what.contains("not json"), "{what}"),
            other => panic!("expected Corrupt, got {other:?}"),
        }
    }
}

async fn grants_are_per_path_and_inherited<S: Store>(_dir: Fixture, store: S) {
    store.add_user(&user("alice", Role::Reader)).await.unwrap();
    store
        .add_user(&UserRecord {
            role: None,
            ..user("bob", Role::Reader)
        })
        .await
        .unwrap();
    assert_eq!(store.user("bob").await.unwrap().unwrap().role, None);
    assert_eq!(store.effective_role("bob", &p("demo")).await.unwrap(), None);

    store.grant("bob", &p("demo"), Role::Reader).await.unwrap();
    store
        .grant("bob", &p("demo/pages"), Role::Editor)
        .await
        .unwrap();
    // Granting again replaces the role on that path.
    store.grant("bob", &p("demo"), Role::Editor).await.unwrap();
    store.grant("bob", &p("demo"), Role::Reader).await.unwrap();
    store
        .grant("anonymous", &p("public"), Role::Reader)
        .await
        .unwrap();
    let role = |user: &'static str, path: &'static str| {
        let store = store.clone();
        async move { store.effective_role(user, &p(path)).await.unwrap() }
    };
    assert_eq!(role("bob", "").await, None);
    assert_eq!(role("bob", "demo").await, Some(Role::Reader));
    assert_eq!(role("bob", "demo/a.txt").await, Some(Role::Reader));
    assert_eq!(role("bob", "demo/pages/x/y").await, Some(Role::Editor));
    assert_eq!(role("bob", "demo2").await, None);
    assert_eq!(role("alice", "anything/at/all").await, Some(Role::Reader));
    // The anonymous grant is its own, not bob's.
    assert_eq!(role("bob", "public").await, None);

    let listed: Vec<(String, String, Role)> = store
        .grants(None)
        .await
        .unwrap()
        .into_iter()
        .map(|g| (g.user, g.path.to_string(), g.role))
        .collect();
    assert_eq!(
        listed,
        [
            ("alice".into(), "".into(), Role::Reader),
            ("anonymous".into(), "public".into(), Role::Reader),
            ("bob".into(), "demo".into(), Role::Reader),
            ("bob".into(), "demo/pages".into(), Role::Editor),
        ]
    );
    assert!(store.revoke("bob", &p("demo/pages")).await.unwrap());
    assert!(!store.revoke("bob", &p("demo/pages")).await.unwrap());
    assert_eq!(role("bob", "demo/pages/x").await, Some(Role::Reader));

    // set_role is the grant at the root.
    store.set_role("bob", Role::Manager).await.unwrap();
    assert_eq!(role("bob", "zzz").await, Some(Role::Manager));
    assert_eq!(
        store.user("bob").await.unwrap().unwrap().role,
        Some(Role::Manager)
    );

    // Removing a user removes their grants; a namesake starts afresh.
    store.remove_user("bob").await.unwrap();
    assert!(store.grants(Some("bob")).await.unwrap().is_empty());
}

async fn disabling_revokes_tokens<S: Store>(_dir: Fixture, store: S) {
    store.add_user(&user("alice", Role::Editor)).await.unwrap();
    store.add_token("alice", "t1", i64::MAX).await.unwrap();
    store.set_disabled("alice", true).await.unwrap();
    assert!(store.user("alice").await.unwrap().unwrap().disabled);
    assert_eq!(store.token_user("t1", 0).await.unwrap(), None);
    store.set_disabled("alice", false).await.unwrap();
    assert!(!store.user("alice").await.unwrap().unwrap().disabled);
    assert!(matches!(
        store.set_disabled("carol", true).await,
        Err(StoreError::NotFound(_))
    ));
}

async fn names_must_be_nfc_and_unique_beyond_case_and_normalization<S: Store>(
    _dir: Fixture,
    store: S,
) {
    let body = upload(&store, b"x").await;
    commit(&store, vec![folder("d"), doc("d/Readme.txt", body)]).await;
    let head = store.head().await.unwrap();

    let decomposed = "d/cafe\u{301}.txt";
    let err = store
        .commit(
            "alice",
            &request(
                "bad names",
                vec![
                    doc("d/README.TXT", body),
                    doc(decomposed, body),
                    doc("d/caf\u{e9}.txt", body),
                    doc("d/x.txt", body),
                    doc("d/X.txt", body),
                ],
            ),
        )
        .await
        .unwrap_err();
    let found = problems(err);
    assert!(found["d/README.TXT"].contains("only by case"), "{found:?}");
    assert!(found[decomposed].contains("NFC"), "{found:?}");
    assert!(
        found["d/café.txt"].contains("only by case or Unicode"),
        "{found:?}"
    );
    assert!(found["d/X.txt"].contains("d/x.txt"), "{found:?}");
    assert!(!found.contains_key("d/x.txt"), "{found:?}");
    assert_eq!(store.head().await.unwrap(), head, "nothing committed");

    // Deleting the old name in the same commit frees it.
    let (oid, rev) = at(&store, "d/Readme.txt").await;
    commit(
        &store,
        vec![
            CommitOp::Delete {
                path: p("d/Readme.txt"),
                oid,
                base_rev: rev,
                known: Vec::new(),
            },
            doc("d/README.txt", body),
        ],
    )
    .await;
}

#[tokio::test]
async fn version_1_roles_become_root_grants() {
    use sqlx::migrate::{Migration, MigrationType, Migrator};
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(data.join("zsync.db"))
        .create_if_missing(true);
    let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
    // The schema as version 1 left it, with one user of each role.
    let v1 = Migration::new(
        1,
        "initial".into(),
        MigrationType::Simple,
        sqlx::SqlSafeStr::into_sql_str(include_str!("../migrations/sqlite/0001_initial.sql")),
        false,
    );
    Migrator::with_migrations(vec![v1])
        .run(&pool)
        .await
        .unwrap();
    for (name, role) in [("ann", "Manager"), ("ben", "Reader")] {
        sqlx::query("INSERT INTO users (name, password_hash, role) VALUES ($1, 'x', $2)")
            .bind(name)
            .bind(role)
            .execute(&pool)
            .await
            .unwrap();
    }
    pool.close().await;

    let store = SqlStore::open(&data).await.unwrap();
    let users = store.list_users().await.unwrap();
    let roles: Vec<_> = users.iter().map(|u| (u.name.as_str(), u.role)).collect();
    assert_eq!(
        roles,
        [("ann", Some(Role::Manager)), ("ben", Some(Role::Reader))]
    );
    assert_eq!(
        store.effective_role("ben", &p("any/where")).await.unwrap(),
        Some(Role::Reader)
    );
}

async fn a_commit_sent_twice_with_one_id_is_applied_once<S: Store>(_dir: Fixture, store: S) {
    let id = zsync_model::CommitId::random();
    let hash = upload(&store, b"once\n").await;
    let mut req = request("first", vec![folder("f"), doc("f/a.txt", hash)]);
    req.id = Some(id.clone());
    assert_eq!(store.commit_by_id(&id).await.unwrap(), None);

    let first = store.commit("alice", &req).await.unwrap();
    assert_eq!(first.rev, 1);
    // The same request again, even though its adds would now collide.
    let again = store.commit("alice", &req).await.unwrap();
    assert_eq!(again, first);
    assert_eq!(store.head().await.unwrap(), 1);
    let recorded = store.commit_by_id(&id).await.unwrap().unwrap();
    assert_eq!(
        (recorded.user.as_str(), recorded.response),
        ("alice", first)
    );

    // Another user cannot replay (or learn about) alice's commit by its id.
    assert!(matches!(
        store.commit("bob", &req).await,
        Err(StoreError::AlreadyExists(_))
    ));
    // A new id is a new commit, refused here because the paths exist.
    req.id = Some(zsync_model::CommitId::random());
    assert!(store.commit("alice", &req).await.is_err());
    assert_eq!(store.head().await.unwrap(), 1);
    assert!(store.check().await.unwrap().is_sound());
}

async fn names_some_filesystem_cannot_hold_are_refused_on_commit<S: Store>(
    _dir: Fixture,
    store: S,
) {
    let hash = upload(&store, b"x").await;
    let result = store
        .commit(
            "alice",
            &request(
                "bad names",
                vec![
                    folder("f"),
                    doc("f/aux.txt", hash),
                    doc("f/a:b", hash),
                    folder("dot."),
                ],
            ),
        )
        .await;
    let Err(StoreError::Invalid(problems)) = result else {
        panic!("expected Invalid, got {result:?}");
    };
    let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(paths, ["f/aux.txt", "f/a:b", "dot."]);
    assert_eq!(store.head().await.unwrap(), 0);
}
/// The change feed lists each revision's paths, and a waiter wakes on a
/// commit (from another clone) well before its timeout.
async fn change_feed_wakes_waiters<S: Store>(_dir: Fixture, store: S) {
    commit(&store, vec![folder("a"), folder("b")]).await;
    let (b, _) = at(&store, "b").await;
    commit(&store, vec![modify("b", &b, 1, None)]).await;
    let feed = store.changes(0, 10).await.unwrap();
    let revs: Vec<_> = feed.iter().map(|e| e.rev).collect();
    assert_eq!(revs, [1, 2]);
    let paths: Vec<Vec<String>> = feed
        .iter()
        .map(|e| e.changes.iter().map(|c| c.path.to_string()).collect())
        .collect();
    assert_eq!(paths, [vec!["a", "b"], vec!["b"]]);
    assert_eq!(store.changes(1, 10).await.unwrap().len(), 1);
    assert!(store.changes(2, 10).await.unwrap().is_empty());
    assert_eq!(store.changes(0, 1).await.unwrap().len(), 1);

    // Nothing new: the wait ends at its timeout with the same head.
    let started = Instant::now();
    let head = store
        .wait_for_head(2, Duration::from_millis(300))
        .await
        .unwrap();
    assert_eq!(head, 2);
    assert!(started.elapsed() >= Duration::from_millis(300));

    let waiter = {
        let store = store.clone();
        tokio::spawn(async move {
            let started = Instant::now();
            let head = store
                .wait_for_head(2, Duration::from_secs(20))
                .await
                .unwrap();
            (head, started.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    commit(&store, vec![folder("c")]).await;
    let (head, waited) = waiter.await.unwrap();
    assert_eq!(head, 3);
    assert!(waited < Duration::from_secs(2), "{waited:?}");
}

fn locked_paths(e: StoreError) -> Vec<(String, String)> {
    match e {
        StoreError::Locked(locks) => locks
            .into_iter()
            .map(|l| (l.path.to_string(), l.user))
            .collect(),
        other => panic!("expected Locked, got {other:?}"),
    }
}

async fn locks_guard_commits_and_go_with_them<S: Store>(_dir: Fixture, store: S) {
    let h = upload(&store, b"one").await;
    commit(
        &store,
        vec![folder("d"), doc("d/a", h), doc("d/b", h), doc("d/c", h)],
    )
    .await;
    let lock = |paths: &[&str], user: &'static str, steal: bool| {
        let paths: Vec<(RepoPath, String)> = paths
            .iter()
            .map(|x| (p(x), format!("hash-of-{user}-{x}")))
            .collect();
        let store = store.clone();
        async move { store.lock(user, &paths, "editing", 1000, steal).await }
    };
    // All or nothing: a folder or a missing path refuses the whole request.
    let refused = problems(lock(&["d/a", "d"], "bob", false).await.unwrap_err());
    assert!(refused["d"].contains("folder"), "{refused:?}");
    let refused = problems(lock(&["d/a", "d/nothing"], "bob", false).await.unwrap_err());
    assert!(refused.contains_key("d/nothing"), "{refused:?}");
    assert!(store.locks(&RepoPath::root()).await.unwrap().is_empty());

    let taken = lock(&["d/a", "d/b"], "bob", false).await.unwrap();
    assert_eq!(taken.len(), 2);
    assert_eq!(taken[0].token_hash, "hash-of-bob-d/a");
    // Locked already, for anyone (even bob's other working copy), unless stolen.
    assert_eq!(
        locked_paths(lock(&["d/c", "d/a"], "alice", false).await.unwrap_err()),
        [("d/a".to_owned(), "bob".to_owned())]
    );
    assert!(lock(&["d/a"], "bob", false).await.is_err());
    let listed = store.locks(&p("d")).await.unwrap();
    assert_eq!(
        listed
            .iter()
            .map(|l| l.path.to_string())
            .collect::<Vec<_>>(),
        ["d/a", "d/b"]
    );
    assert_eq!(
        (listed[0].created, listed[0].comment.as_str()),
        (1000, "editing")
    );
    assert!(store.locks(&p("d/c")).await.unwrap().is_empty());

    // alice may not commit what bob locked, nor delete the folder holding it.
    let (a, a_rev) = at(&store, "d/a").await;
    let (c, c_rev) = at(&store, "d/c").await;
    let h2 = upload(&store, b"two").await;
    let e = store
        .commit(
            "alice",
            &request(
                "edit",
                vec![
                    modify("d/a", &a, a_rev, Some(h2)),
                    modify("d/c", &c, c_rev, Some(h2)),
                ],
            ),
        )
        .await
        .unwrap_err();
    assert_eq!(locked_paths(e), [("d/a".to_owned(), "bob".to_owned())]);
    let (d, d_rev) = at(&store, "d").await;
    let known = |x: &str| {
        let store = store.clone();
        let x = x.to_owned();
        async move {
            let (oid, rev) = at(&store, &x).await;
            KnownObject { oid, rev }
        }
    };
    let delete = CommitOp::Delete {
        path: p("d"),
        oid: d.clone(),
        base_rev: d_rev,
        known: vec![known("d/a").await, known("d/b").await, known("d/c").await],
    };
    let e = store
        .commit("alice", &request("rm", vec![delete.clone()]))
        .await
        .unwrap_err();
    assert_eq!(locked_paths(e).len(), 2);
    assert_eq!(store.head().await.unwrap(), 1);

    // bob's commit releases his lock on what it committed, not the rest...
    let mut keep = request("edit", vec![modify("d/a", &a, a_rev, Some(h2))]);
    keep.keep_locks = true;
    let done = store.commit("bob", &keep).await.unwrap();
    assert_eq!(
        store.locks(&p("d")).await.unwrap().len(),
        2,
        "--no-unlock keeps it"
    );
    store
        .commit(
            "bob",
            &request("edit", vec![modify("d/a", &a, done.rev, Some(h))]),
        )
        .await
        .unwrap();
    let left = store.locks(&p("d")).await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].path, p("d/b"));

    // Unlocking someone else's lock needs force (owner None); a path
    // without a lock is skipped.
    assert_eq!(
        locked_paths(store.unlock(&[p("d/b")], Some("alice")).await.unwrap_err()),
        [("d/b".to_owned(), "bob".to_owned())]
    );
    let stolen = lock(&["d/b"], "alice", true).await.unwrap();
    assert_eq!(stolen[0].user, "alice");
    let released = store
        .unlock(&[p("d/b"), p("d/c")], Some("alice"))
        .await
        .unwrap();
    assert_eq!(released.len(), 1);
    assert!(store.locks(&RepoPath::root()).await.unwrap().is_empty());

    // A lock follows its object when moved, and goes when it is deleted.
    lock(&["d/c"], "bob", false).await.unwrap();
    let (c, c_rev) = at(&store, "d/c").await;
    let moved = CommitOp::Move {
        from: p("d/c"),
        to: p("d/moved"),
        oid: c.clone(),
        base_rev: c_rev,
        props: None,
        hash: None,
    };
    let mut keep = request("mv", vec![moved]);
    keep.keep_locks = true;
    store.commit("bob", &keep).await.unwrap();
    let listed = store.locks(&RepoPath::root()).await.unwrap();
    assert_eq!(listed[0].path, p("d/moved"));
    let (m, m_rev) = at(&store, "d/moved").await;
    let mut rm = request(
        "rm",
        vec![CommitOp::Delete {
            path: p("d/moved"),
            oid: m,
            base_rev: m_rev,
            known: vec![],
        }],
    );
    rm.keep_locks = true;
    store.commit("bob", &rm).await.unwrap();
    assert!(store.locks(&RepoPath::root()).await.unwrap().is_empty());
    let report = store.check().await.unwrap();
    assert!(report.is_sound(), "{:?}", report.problems);
}

engine_tests!(
    a_commit_of_many_adds_is_checked_and_stored_whole,
    batches_are_stored_whole_or_not_at_all,
    locks_guard_commits_and_go_with_them,
    a_commit_sent_twice_with_one_id_is_applied_once,
    names_some_filesystem_cannot_hold_are_refused_on_commit,
    web_sessions_expire_list_and_end_with_the_account,
    tokens_are_listed,
    change_feed_wakes_waiters,
    root_exists_at_rev_0,
    add_and_manifest,
    modify_with_right_and_stale_base_revs,
    delete_folder_subtree,
    invalid_requests,
    add_where_something_exists_is_stale,
    multi_chunk_body_streams_both_ways,
    bad_uploads_leave_nothing,
    concurrent_commits_to_one_object,
    concurrent_commits_to_different_objects,
    log_order_limit_and_scope,
    users_round_trip,
    tokens_expire_and_are_revoked,
    root_can_change_props_but_not_go,
    damaged_rows_are_reported_as_corrupt,
    grants_are_per_path_and_inherited,
    disabling_revokes_tokens,
    names_must_be_nfc_and_unique_beyond_case_and_normalization,
);
