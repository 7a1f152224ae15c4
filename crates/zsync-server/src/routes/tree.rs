//! `GET /tree/{path}` and `GET /archive/{path}`: a subtree's manifest, alone
//! or with its bodies, holding only what the caller may read.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::Uri;
use axum::response::Response;
use serde::Deserialize;
use zsync_format::Manifest;
use zsync_model::{RepoPath, Rev, Role};
use zsync_store::{GrantSet, Store, StoreError};

use crate::ServerState;
use crate::archive;
use crate::auth::Caller;
use crate::error::Error;
use crate::extract::ServerPath;

#[derive(Deserialize)]
struct TreeQuery {
    /// A past revision to read the subtree as of.
    rev: Option<Rev>,
}

/// `GET /tree/{path}[?rev=N]`: the subtree now, or as of revision N.
pub async fn manifest<S: Store>(
    State(state): State<ServerState<S>>,
    caller: Caller,
    ServerPath(path): ServerPath,
    uri: Uri,
) -> Result<Json<Manifest>, Error> {
    let Query(query) =
        Query::<TreeQuery>::try_from_uri(&uri).map_err(|e| Error::BadRequest(e.body_text()))?;
    Ok(Json(readable(&state, &caller, &path, query.rev).await?))
}

pub async fn archive<S: Store>(
    State(state): State<ServerState<S>>,
    caller: Caller,
    ServerPath(path): ServerPath,
) -> Result<Response, Error> {
    let manifest = readable(&state, &caller, &path, None).await?;
    let bodies = archive::manifest_bodies(&manifest);
    // Checked up front: once the response has started, a missing body can
    // only abort it.
    let hashes: Vec<_> = bodies.iter().map(|(h, _)| *h).collect();
    let missing = state.store.missing_bodies(&hashes).await?;
    if let Some(hash) = missing.first() {
        return Err(Error::Internal(format!(
            "the store lacks body {hash} named by the manifest of /{path}"
        )));
    }
    Ok(archive::response(
        state.store.clone(),
        Some(&manifest),
        bodies,
    ))
}

/// The manifest of `path` as the caller may see it. With Reader on `path`
/// that is everything (roles are inherited downward). With Reader only on
/// some subtrees below, it is those subtrees and the folders leading to
/// them; the rest is left out and counted. Otherwise the caller is refused
/// before the store is asked, so a refusal never tells whether a path
/// exists.
pub async fn readable<S: Store>(
    state: &ServerState<S>,
    caller: &Caller,
    path: &RepoPath,
    rev: Option<Rev>,
) -> Result<Manifest, Error> {
    let whole = caller.grants.allows(path, Role::Reader);
    if !whole && !caller.grants.allows_within(path, Role::Reader) {
        caller.require_at(path, Role::Reader, "read")?;
    }
    let found = match rev {
        Some(rev) => state.store.manifest_at(path, rev).await,
        None => state.store.manifest(path).await,
    };
    let mut manifest = found.map_err(|e| match e {
        StoreError::NotFound(_) if rev.is_none() => Error::not_found_path(path),
        other => other.into(),
    })?;
    if !whole {
        filter(&mut manifest, &caller.grants)?;
    }
    let limit = state.config.max_manifest_entries;
    if manifest.entries.len() > limit {
        return Err(Error::TooLarge(format!(
            "/{path} holds {} objects, over the limit of {limit} per request; \
             check out or update a subfolder",
            manifest.entries.len()
        )));
    }
    Ok(manifest)
}

/// Keeps the entries the grants let the caller read, and the folders on
/// the way to them.
fn filter(manifest: &mut Manifest, grants: &GrantSet) -> Result<(), Error> {
    let root = manifest.root.clone();
    let before = manifest.entries.len();
    let mut failed = None;
    manifest.entries.retain(|e| match root.join_path(&e.path) {
        Ok(abs) => {
            grants.allows(&abs, Role::Reader)
                || (e.kind.is_folder() && grants.allows_within(&abs, Role::Reader))
        }
        Err(err) => {
            failed = Some(err.to_string());
            false
        }
    });
    if let Some(err) = failed {
        return Err(Error::Internal(format!(
            "a manifest path below /{root}: {err}"
        )));
    }
    manifest.omitted = (before - manifest.entries.len()) as u64;
    Ok(())
}
