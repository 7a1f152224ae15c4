//! `GET /diff/{path}?from=N&to=M`: the differences of a subtree between two
//! revisions, computed here so the client needs one request. Objects are
//! matched by oid; only what the caller may read is compared.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use axum::Json;
use axum::extract::{Query, State};
use axum::http::Uri;
use serde::Deserialize;
use zsync_format::{ChangeAction, DiffResponse, ManifestEntry, ObjectDiff, PropChange};
use zsync_model::{BodyHash, Oid, RepoPath, Rev, Role};
use zsync_store::Store;

use super::tree::readable;
use crate::ServerState;
use crate::auth::Caller;
use crate::content::MAX_VALIDATED_BYTES;
use crate::error::Error;
use crate::extract::ServerPath;

#[derive(Deserialize)]
struct DiffQuery {
    from: Rev,
    to: Rev,
}

/// Bodies larger than this are reported as changed, not diffed.
const MAX_DIFFED_BYTES: u64 = MAX_VALIDATED_BYTES / 4;

pub async fn diff<S: Store>(
    State(state): State<ServerState<S>>,
    caller: Caller,
    ServerPath(path): ServerPath,
    uri: Uri,
) -> Result<Json<DiffResponse>, Error> {
    let Query(query) =
        Query::<DiffQuery>::try_from_uri(&uri).map_err(|e| Error::BadRequest(e.body_text()))?;
    // Roles first, so a refusal never depends on what the store holds.
    if !caller.grants.allows(&path, Role::Reader)
        && !caller.grants.allows_within(&path, Role::Reader)
    {
        caller.require_at(&path, Role::Reader, "read")?;
    }
    let head = state.store.head().await?;
    if let Some(bad) = [query.from, query.to].into_iter().find(|&r| r > head) {
        return Err(Error::BadRequest(format!(
            "there is no revision {bad}; the newest is {head}"
        )));
    }
    let (state_ref, caller_ref) = (&state, &caller);
    let side = |at: RepoPath, rev| async move {
        // A side where the path did not exist (yet, or any more) is empty.
        absent_is_empty(readable(state_ref, caller_ref, &at, Some(rev)).await)
    };
    let mut old = side(path.clone(), query.from).await?;
    let mut new = side(path.clone(), query.to).await?;
    let (mut old_root, mut new_root) = (path.clone(), path.clone());
    // The object at `path` may have had another path in the other
    // revision: follow it there by its moves, as `log` does.
    let root_oid = |m: &[ManifestEntry]| {
        m.first()
            .filter(|e| e.path.is_root())
            .map(|e| e.oid.clone())
    };
    match (root_oid(&old), root_oid(&new)) {
        (Some(oid), None) if query.to != query.from => {
            new_root = path_at(&state, &path, &oid, query.to.max(query.from), query.to).await?;
            new = side(new_root.clone(), query.to).await?;
        }
        (None, Some(oid)) => {
            old_root = path_at(&state, &path, &oid, query.to.max(query.from), query.from).await?;
            old = side(old_root.clone(), query.from).await?;
        }
        _ => {}
    }
    if old.is_empty() && new.is_empty() {
        return Err(Error::not_found_path(&path));
    }
    let old_by_oid: HashMap<&Oid, &ManifestEntry> = old.iter().map(|e| (&e.oid, e)).collect();
    let new_oids: BTreeSet<&Oid> = new.iter().map(|e| &e.oid).collect();
    let mut objects = BTreeMap::new();
    for n in &new {
        let o = old_by_oid.get(&n.oid).copied();
        let full = |root: &RepoPath, e: &ManifestEntry| {
            root.join_path(&e.path).unwrap_or_else(|_| root.clone())
        };
        let to_path = full(&new_root, n);
        let from_path = o.map(|o| full(&old_root, o));
        let action = match &from_path {
            None => ChangeAction::A,
            Some(f) if *f != to_path => ChangeAction::R,
            Some(_) => ChangeAction::M,
        };
        let body_changed = o.map(|o| o.hash) != Some(n.hash) && n.hash.is_some();
        let props = prop_changes(o.map(|o| &o.props), Some(&n.props));
        if action == ChangeAction::M
            && !body_changed
            && props.is_empty()
            && o.map(|o| &o.kind) == Some(&n.kind)
        {
            continue;
        }
        let (text, binary) = if body_changed {
            let labels = (
                format!(
                    "{}\t(revision {})",
                    from_path.as_ref().unwrap_or(&to_path),
                    query.from
                ),
                format!("{to_path}\t(revision {})", query.to),
            );
            body_diff(&state, o.and_then(|o| o.hash), n.hash, &labels).await?
        } else {
            (None, false)
        };
        objects.insert(
            to_path.clone(),
            ObjectDiff {
                path: to_path,
                from_path: from_path.filter(|_| action == ChangeAction::R),
                action,
                kind: n.kind.clone(),
                text,
                binary,
                props,
            },
        );
    }
    for o in old.iter().filter(|o| !new_oids.contains(&o.oid)) {
        let from_path = old_root
            .join_path(&o.path)
            .unwrap_or_else(|_| old_root.clone());
        let (text, binary) = if o.hash.is_some() {
            let labels = (
                format!("{from_path}\t(revision {})", query.from),
                format!("{from_path}\t(revision {})", query.to),
            );
            body_diff(&state, o.hash, None, &labels).await?
        } else {
            (None, false)
        };
        objects.insert(
            from_path.clone(),
            ObjectDiff {
                path: from_path,
                from_path: None,
                action: ChangeAction::D,
                kind: o.kind.clone(),
                text,
                binary,
                props: prop_changes(Some(&o.props), None),
            },
        );
    }
    Ok(Json(DiffResponse {
        from: query.from,
        to: query.to,
        objects: objects.into_values().collect(),
    }))
}

/// Where object `oid` (at `path` in revision `known`) was in revision
/// `rev`, going back through the moves its log records.
async fn path_at<S: Store>(
    state: &ServerState<S>,
    path: &RepoPath,
    oid: &Oid,
    known: Rev,
    rev: Rev,
) -> Result<RepoPath, Error> {
    let log = match state.store.log(path, None).await {
        Ok(log) => log,
        Err(zsync_store::StoreError::NotFound(_)) => return Ok(path.clone()),
        Err(e) => return Err(e.into()),
    };
    let mut at = path.clone();
    // Newest first: undo each move made after `rev` (up to `known`).
    for entry in log.iter().filter(|e| e.rev > rev && e.rev <= known) {
        for change in &entry.changes {
            if &change.oid == oid
                && change.action == ChangeAction::R
                && let Some(from) = &change.from
            {
                at = from.clone();
            }
        }
    }
    Ok(at)
}

fn absent_is_empty(
    found: Result<zsync_format::Manifest, Error>,
) -> Result<Vec<ManifestEntry>, Error> {
    match found {
        Ok(m) => Ok(m.entries),
        Err(Error::NotFound { .. }) => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

fn prop_changes(
    old: Option<&zsync_model::Props>,
    new: Option<&zsync_model::Props>,
) -> Vec<PropChange> {
    let empty = zsync_model::Props::new();
    let (old, new) = (old.unwrap_or(&empty), new.unwrap_or(&empty));
    let names: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    names
        .into_iter()
        .filter(|n| old.get(*n) != new.get(*n))
        .map(|n| PropChange {
            name: n.clone(),
            old: old.get(n).cloned(),
            new: new.get(n).cloned(),
        })
        .collect()
}

/// The unified diff of two bodies (either may be absent), or `binary`.
async fn body_diff<S: Store>(
    state: &ServerState<S>,
    old: Option<BodyHash>,
    new: Option<BodyHash>,
    labels: &(String, String),
) -> Result<(Option<String>, bool), Error> {
    let mut sides = Vec::with_capacity(2);
    for hash in [old, new] {
        let Some(hash) = hash else {
            sides.push(Vec::new());
            continue;
        };
        match read_small(state, &hash).await? {
            Some(body) if !zsync_merge::is_binary(&body) => sides.push(body),
            _ => return Ok((None, true)),
        }
    }
    let text = zsync_merge::unified_diff(&sides[0], &sides[1], &labels.0, &labels.1, 3);
    Ok((Some(text), false))
}

/// A body small enough to diff, whole.
async fn read_small<S: Store>(
    state: &ServerState<S>,
    hash: &BodyHash,
) -> Result<Option<Vec<u8>>, Error> {
    use futures_util::TryStreamExt;
    match state.store.body_size(hash).await? {
        Some(size) if size <= MAX_DIFFED_BYTES => {}
        _ => return Ok(None),
    }
    let mut stream = state.store.read_body(hash).await?;
    let mut body = Vec::new();
    while let Some(chunk) = stream.try_next().await? {
        body.extend_from_slice(&chunk);
    }
    Ok(Some(body))
}
