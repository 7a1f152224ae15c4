//! `GET /log/{path}?limit=N`: the revisions that changed a subtree, as far
//! as the caller may read it.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::Uri;
use serde::Deserialize;
use zsync_format::LogEntry;
use zsync_model::Role;
use zsync_store::{Store, StoreError};

use crate::ServerState;
use crate::auth::Caller;
use crate::error::Error;
use crate::extract::ServerPath;

#[derive(Deserialize)]
struct LogQuery {
    limit: Option<u32>,
}

pub async fn log<S: Store>(
    State(state): State<ServerState<S>>,
    caller: Caller,
    ServerPath(path): ServerPath,
    uri: Uri,
) -> Result<Json<Vec<LogEntry>>, Error> {
    let whole = caller.grants.allows(&path, Role::Reader);
    if !whole && !caller.grants.allows_within(&path, Role::Reader) {
        caller.require_at(&path, Role::Reader, "read the log of")?;
    }
    let Query(query) =
        Query::<LogQuery>::try_from_uri(&uri).map_err(|e| Error::BadRequest(e.body_text()))?;
    // With only parts readable, the limit applies after filtering.
    let fetch_limit = if whole { query.limit } else { None };
    let mut entries = state
        .store
        .log(&path, fetch_limit)
        .await
        .map_err(|e| match e {
            StoreError::NotFound(_) => Error::not_found_path(&path),
            other => other.into(),
        })?;
    if !whole {
        for entry in &mut entries {
            entry
                .changes
                .retain(|c| caller.grants.allows(&c.path, Role::Reader));
        }
        entries.retain(|e| !e.changes.is_empty());
        if let Some(limit) = query.limit {
            entries.truncate(limit as usize);
        }
    }
    Ok(Json(entries))
}
