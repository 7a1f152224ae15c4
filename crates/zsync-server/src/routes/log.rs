//! `GET /log/{path}?limit=N`: the revisions that changed a subtree.

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
    caller.require(Role::Reader, "read the log")?;
    let Query(query) =
        Query::<LogQuery>::try_from_uri(&uri).map_err(|e| Error::BadRequest(e.body_text()))?;
    let entries = state
        .store
        .log(&path, query.limit)
        .await
        .map_err(|e| match e {
            StoreError::NotFound(_) => Error::not_found_path(&path),
            other => other.into(),
        })?;
    Ok(Json(entries))
}
