//! `GET /tree/{path}` and `GET /archive/{path}`: a subtree's manifest, alone
//! or with its bodies.

use axum::Json;
use axum::extract::State;
use axum::response::Response;
use zsync_format::Manifest;
use zsync_model::{RepoPath, Role};
use zsync_store::{Store, StoreError};

use crate::ServerState;
use crate::archive;
use crate::auth::Caller;
use crate::error::Error;
use crate::extract::ServerPath;

pub async fn manifest<S: Store>(
    State(state): State<ServerState<S>>,
    caller: Caller,
    ServerPath(path): ServerPath,
) -> Result<Json<Manifest>, Error> {
    caller.require(Role::Reader, "read")?;
    Ok(Json(load(&state.store, &path).await?))
}

pub async fn archive<S: Store>(
    State(state): State<ServerState<S>>,
    caller: Caller,
    ServerPath(path): ServerPath,
) -> Result<Response, Error> {
    caller.require(Role::Reader, "read")?;
    let manifest = load(&state.store, &path).await?;
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

async fn load<S: Store>(store: &S, path: &RepoPath) -> Result<Manifest, Error> {
    store.manifest(path).await.map_err(|e| match e {
        StoreError::NotFound(_) => Error::not_found_path(path),
        other => other.into(),
    })
}
