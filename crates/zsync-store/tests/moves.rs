//! `CommitOp::Move` in both stores: the oid is kept, descendants follow,
//! and `log` follows the object across the move.

mod common;

use common::Fixture;
use zsync_format::{ChangeAction, CommitOp, CommitRequest, CommitResponse};
use zsync_model::{BodyHash, Kind, Oid, Props, RepoPath};
use zsync_store::{Store, StoreError};

const MAX: u64 = 1 << 20;

fn p(s: &str) -> RepoPath {
    RepoPath::parse(s).unwrap()
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
        props: Props::new(),
        hash: Some(hash),
    }
}

fn mv(from: &str, to: &str, oid: &Oid, base_rev: u64) -> CommitOp {
    CommitOp::Move {
        from: p(from),
        to: p(to),
        oid: oid.clone(),
        base_rev,
        props: None,
        hash: None,
    }
}

async fn try_commit(store: &impl Store, ops: Vec<CommitOp>) -> Result<CommitResponse, StoreError> {
    let request = CommitRequest {
        message: "test".into(),
        ops,
        id: None,
        keep_locks: false,
    };
    store.commit("alice", &request).await
}

async fn at(store: &impl Store, path: &str) -> (Oid, u64) {
    let o = store.object(&p(path)).await.unwrap().unwrap();
    (o.oid, o.rev)
}

/// Sets up r1: folders a, a/sub, b; r2: a/sub/f; r3: a/sub/f modified.
async fn fixture(store: &impl Store) -> BodyHash {
    let h = BodyHash::of(b"one");
    store.put_body(h, &b"one"[..], MAX).await.unwrap();
    let h2 = BodyHash::of(b"two");
    store.put_body(h2, &b"two"[..], MAX).await.unwrap();
    try_commit(store, vec![folder("a"), folder("a/sub"), folder("b")])
        .await
        .unwrap();
    try_commit(store, vec![doc("a/sub/f", h)]).await.unwrap();
    let (f, rev) = at(store, "a/sub/f").await;
    try_commit(
        store,
        vec![CommitOp::Modify {
            path: p("a/sub/f"),
            oid: f,
            base_rev: rev,
            props: None,
            hash: Some(h2),
        }],
    )
    .await
    .unwrap();
    h
}

async fn move_keeps_oids_and_moves_descendants<S: Store>(_dir: Fixture, store: S) {
    fixture(&store).await;
    let (sub, sub_rev) = at(&store, "a/sub").await;
    let (f, _) = at(&store, "a/sub/f").await;

    let response = try_commit(&store, vec![mv("a/sub", "b/moved", &sub, sub_rev)])
        .await
        .unwrap();
    assert_eq!(response.rev, 4);
    assert!(store.object(&p("a/sub")).await.unwrap().is_none());
    assert!(store.object(&p("a/sub/f")).await.unwrap().is_none());
    assert_eq!(at(&store, "b/moved").await, (sub.clone(), 4));
    assert_eq!(at(&store, "b/moved/f").await, (f.clone(), 4));
    let moved: Vec<_> = response
        .objects
        .iter()
        .map(|o| (o.path.to_string(), o.oid.clone()))
        .collect();
    assert!(moved.contains(&("b/moved".into(), sub.clone())));
    assert!(moved.contains(&("b/moved/f".into(), f.clone())));

    // The new parent lists it (manifest paths are relative to their
    // root); the old one no longer does.
    let b = store.manifest(&p("b")).await.unwrap();
    assert!(b.entries.iter().any(|e| e.path == p("moved/f")));
    let a = store.manifest(&p("a")).await.unwrap();
    assert_eq!(a.entries.len(), 1);

    // The tree as of r3 still has the old paths; as of r4 the new ones.
    let old = store.manifest_at(&RepoPath::root(), 3).await.unwrap();
    assert!(old.entries.iter().any(|e| e.path == p("a/sub/f")));
    let new = store.manifest_at(&RepoPath::root(), 4).await.unwrap();
    assert!(new.entries.iter().any(|e| e.path == p("b/moved/f")));
    assert!(!new.entries.iter().any(|e| e.path == p("a/sub/f")));

    // A rename within one folder.
    let (f, f_rev) = at(&store, "b/moved/f").await;
    try_commit(&store, vec![mv("b/moved/f", "b/moved/g", &f, f_rev)])
        .await
        .unwrap();
    assert_eq!(at(&store, "b/moved/g").await.0, f);
}

async fn log_follows_the_object_across_moves<S: Store>(_dir: Fixture, store: S) {
    fixture(&store).await;
    let (f, rev) = at(&store, "a/sub/f").await;
    try_commit(&store, vec![mv("a/sub/f", "b/g", &f, rev)])
        .await
        .unwrap();

    let log = store.log(&p("b/g"), None).await.unwrap();
    assert_eq!(log.iter().map(|e| e.rev).collect::<Vec<_>>(), [4, 3, 2]);
    let change = &log[0].changes[0];
    assert_eq!(change.action, ChangeAction::R);
    assert_eq!(change.path, p("b/g"));
    assert_eq!(change.from, Some(p("a/sub/f")));
    assert_eq!(log[1].changes[0].action, ChangeAction::M);
    assert_eq!(log[1].changes[0].from, None);
    assert_eq!(log[2].changes[0].path, p("a/sub/f"));

    // A folder's log covers what was ever below it.
    let b = store.log(&p("b"), None).await.unwrap();
    assert_eq!(b.iter().map(|e| e.rev).collect::<Vec<_>>(), [4, 3, 2, 1]);
}

async fn bad_moves_are_refused_and_change_nothing<S: Store>(_dir: Fixture, store: S) {
    fixture(&store).await;
    let (a, a_rev) = at(&store, "a").await;
    let (sub, sub_rev) = at(&store, "a/sub").await;
    let (f, f_rev) = at(&store, "a/sub/f").await;
    let invalid = |e: StoreError| match e {
        StoreError::Invalid(list) => list.into_iter().map(|p| p.message).collect::<Vec<_>>(),
        other => panic!("expected Invalid, got {other:?}"),
    };
    let stale = |e: StoreError| match e {
        StoreError::Stale(paths) => paths.iter().map(|p| p.to_string()).collect::<Vec<_>>(),
        other => panic!("expected Stale, got {other:?}"),
    };

    // Into itself.
    let e = try_commit(&store, vec![mv("a", "a/sub/a", &a, a_rev)])
        .await
        .unwrap_err();
    assert!(invalid(e)[0].contains("into itself"));
    // Onto an existing object.
    let e = try_commit(&store, vec![mv("a/sub/f", "b", &f, f_rev)])
        .await
        .unwrap_err();
    assert_eq!(stale(e), ["b"]);
    // Into a parent that does not exist, or is not a folder.
    let e = try_commit(&store, vec![mv("a/sub", "nope/sub", &sub, sub_rev)])
        .await
        .unwrap_err();
    assert!(invalid(e)[0].contains("does not exist"));
    let e = try_commit(&store, vec![mv("a", "a/sub/f/x", &a, a_rev)])
        .await
        .unwrap_err();
    assert!(invalid(e)[0].contains("into itself"));
    let e = try_commit(
        &store,
        vec![mv("b", "a/sub/f/x", &at(&store, "b").await.0, 1)],
    )
    .await
    .unwrap_err();
    assert!(invalid(e)[0].contains("not a folder"));
    // A stale base revision.
    let e = try_commit(&store, vec![mv("a/sub/f", "b/f", &f, 2)])
        .await
        .unwrap_err();
    assert_eq!(stale(e), ["a/sub/f"]);
    // A name that differs from a sibling's only by case.
    let e = try_commit(&store, vec![mv("a/sub/f", "A", &f, f_rev)])
        .await
        .unwrap_err();
    assert!(invalid(e)[0].contains("only by case"));
    // The root.
    let e = try_commit(&store, vec![mv("", "x", &Oid::root(), 0)])
        .await
        .unwrap_err();
    assert!(invalid(e)[0].contains("root"));

    // A second change to what a move takes, or a new name where it takes
    // it from, in the same commit.
    let h = BodyHash::of(b"one");
    let e = try_commit(
        &store,
        vec![
            mv("a/sub", "b/sub", &sub, sub_rev),
            CommitOp::Modify {
                path: p("a/sub"),
                oid: sub.clone(),
                base_rev: sub_rev,
                props: Some(Props::new()),
                hash: None,
            },
        ],
    )
    .await
    .unwrap_err();
    assert!(invalid(e)[0].contains("which this commit moves"));
    let e = try_commit(
        &store,
        vec![mv("a/sub", "b/sub", &sub, sub_rev), doc("a/sub/new", h)],
    )
    .await
    .unwrap_err();
    assert!(invalid(e)[0].contains("which this commit moves"));
    let e = try_commit(
        &store,
        vec![
            mv("a/sub/f", "a/sub/g", &f, f_rev),
            mv("a/sub", "b/sub", &sub, sub_rev),
        ],
    )
    .await
    .unwrap_err();
    assert!(invalid(e)[0].contains("which this commit moves"));
    // A name in a moved folder that one of its children brings along.
    let e = try_commit(
        &store,
        vec![mv("a/sub", "b/sub", &sub, sub_rev), doc("b/sub/f", h)],
    )
    .await
    .unwrap_err();
    let message = &invalid(e)[0];
    assert!(message.contains("taken by /a/sub/f"), "{message}");

    assert_eq!(store.head().await.unwrap(), 3);
    assert_eq!(at(&store, "a/sub/f").await, (f, f_rev));
}

async fn a_move_can_change_the_moved_object<S: Store>(_dir: Fixture, store: S) {
    fixture(&store).await;
    let (f, f_rev) = at(&store, "a/sub/f").await;
    let (sub, sub_rev) = at(&store, "a/sub").await;
    let h = BodyHash::of(b"three!");
    store.put_body(h, &b"three!"[..], MAX).await.unwrap();
    let mut props = Props::new();
    props.insert("title".into(), "F".into());
    let response = try_commit(
        &store,
        vec![CommitOp::Move {
            from: p("a/sub/f"),
            to: p("b/g"),
            oid: f.clone(),
            base_rev: f_rev,
            props: Some(props.clone()),
            hash: Some(h),
        }],
    )
    .await
    .unwrap();
    let g = store.object(&p("b/g")).await.unwrap().unwrap();
    assert_eq!(
        (g.oid, g.rev, g.hash, g.size),
        (f, response.rev, Some(h), 6)
    );
    assert_eq!(g.props, props);

    // A folder has no body.
    let e = try_commit(
        &store,
        vec![CommitOp::Move {
            from: p("a/sub"),
            to: p("b/sub"),
            oid: sub,
            base_rev: sub_rev,
            props: None,
            hash: Some(h),
        }],
    )
    .await
    .unwrap_err();
    assert!(matches!(e, StoreError::Invalid(ref l) if l[0].message.contains("no body")));
}

fn modify(path: &str, oid: &Oid, base_rev: u64, hash: BodyHash) -> CommitOp {
    CommitOp::Modify {
        path: p(path),
        oid: oid.clone(),
        base_rev,
        props: None,
        hash: Some(hash),
    }
}

/// Operations apply in order: what is inside a moved folder can be
/// changed, deleted or moved out by old path before or after the move,
/// and new things go into the folder's new place.
async fn a_moved_folder_takes_changes_inside_it<S: Store>(_dir: Fixture, store: S) {
    let h = fixture(&store).await;
    let h3 = BodyHash::of(b"three");
    store.put_body(h3, &b"three"[..], MAX).await.unwrap();
    try_commit(
        &store,
        vec![doc("a/sub/g", h), folder("a/sub/d"), doc("a/sub/d/x", h)],
    )
    .await
    .unwrap();
    let (sub, sub_rev) = at(&store, "a/sub").await;
    let (f, f_rev) = at(&store, "a/sub/f").await;
    let (g, g_rev) = at(&store, "a/sub/g").await;
    let (x, x_rev) = at(&store, "a/sub/d/x").await;

    let response = try_commit(
        &store,
        vec![
            modify("a/sub/f", &f, f_rev, h3),
            mv("a/sub", "b/sub", &sub, sub_rev),
            CommitOp::Delete {
                path: p("a/sub/g"),
                oid: g.clone(),
                base_rev: g_rev,
                known: vec![],
            },
            mv("a/sub/d/x", "b/sub/y", &x, x_rev),
            doc("b/sub/new", h),
        ],
    )
    .await
    .unwrap();
    assert_eq!(response.rev, 5);
    let now = store.object(&p("b/sub/f")).await.unwrap().unwrap();
    assert_eq!((now.oid, now.rev, now.hash), (f.clone(), 5, Some(h3)));
    assert_eq!(at(&store, "b/sub/y").await.0, x);
    assert!(store.object(&p("b/sub/d")).await.unwrap().is_some());
    assert!(store.object(&p("b/sub/d/x")).await.unwrap().is_none());
    assert!(store.object(&p("b/sub/g")).await.unwrap().is_none());
    assert!(store.object(&p("b/sub/new")).await.unwrap().is_some());
    assert!(store.manifest(&p("a")).await.unwrap().entries.len() == 1);
    // The answer names each object once, where it ended up.
    let mut oids: Vec<_> = response.objects.iter().map(|o| &o.oid).collect();
    oids.sort();
    let n = oids.len();
    oids.dedup();
    assert_eq!(oids.len(), n, "{:?}", response.objects);
    let listed = |oid: &Oid| {
        response
            .objects
            .iter()
            .find(|o| o.oid == *oid)
            .map(|o| o.path.to_string())
    };
    assert_eq!(listed(&f).as_deref(), Some("b/sub/f"));
    assert_eq!(listed(&x).as_deref(), Some("b/sub/y"));

    // History has one row per object for the revision, with its end state.
    let tree = |m: zsync_format::Manifest| {
        m.entries
            .into_iter()
            .map(|e| (e.path.to_string(), e.hash))
            .collect::<std::collections::BTreeMap<_, _>>()
    };
    let r4 = tree(store.manifest_at(&RepoPath::root(), 4).await.unwrap());
    assert_eq!(r4.get("a/sub/f"), Some(&Some(BodyHash::of(b"two"))));
    assert!(r4.contains_key("a/sub/g") && r4.contains_key("a/sub/d/x"));
    let r5 = tree(store.manifest_at(&RepoPath::root(), 5).await.unwrap());
    let paths: Vec<&str> = r5.keys().map(String::as_str).collect();
    assert_eq!(
        paths,
        [
            "",
            "a",
            "b",
            "b/sub",
            "b/sub/d",
            "b/sub/f",
            "b/sub/new",
            "b/sub/y"
        ]
    );
    assert_eq!(r5["b/sub/f"], Some(h3));
    let log = store.log(&p("b/sub/f"), None).await.unwrap();
    assert_eq!(log.iter().map(|e| e.rev).collect::<Vec<_>>(), [5, 3, 2]);
    assert_eq!(log[0].changes[0].from, Some(p("a/sub/f")));

    // The other order: the move first, then an edit by the old path.
    let (sub, sub_rev) = at(&store, "b/sub").await;
    try_commit(
        &store,
        vec![
            mv("b/sub", "moved", &sub, sub_rev),
            modify("b/sub/f", &f, 5, h),
        ],
    )
    .await
    .unwrap();
    let now = store.object(&p("moved/f")).await.unwrap().unwrap();
    assert_eq!((now.oid, now.rev, now.hash), (f, 6, Some(h)));
    // Every object equals its newest history row.
    let report = store.check().await.unwrap();
    assert!(report.is_sound(), "{:?}", report.problems);
}

engine_tests!(
    move_keeps_oids_and_moves_descendants,
    a_moved_folder_takes_changes_inside_it,
    log_follows_the_object_across_moves,
    bad_moves_are_refused_and_change_nothing,
    a_move_can_change_the_moved_object,
);
