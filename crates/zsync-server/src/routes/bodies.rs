//! The content-addressed bodies: which ones the server lacks, uploading
//! one or a batch of small ones, and fetching several as an archive.
//!
//! Bodies have no path, so uploading needs Editor somewhere (a body is
//! inert until a commit, checked path by path, refers to it), and fetching
//! a body needs Reader on some current object that has it: knowing a hash
//! is not enough.

use std::collections::HashSet;
use std::io;

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use futures_util::StreamExt as _;
use tokio_util::io::StreamReader;
use zsync_format::HashList;
use zsync_format::batch::{self, BatchError};
use zsync_model::{BodyHash, Role};
use zsync_store::{Store, StoreError};

use crate::ServerState;
use crate::archive;
use crate::auth::Caller;
use crate::error::Error;
use crate::extract::{ApiJson, HashParam, declared_length};

pub async fn missing<S: Store>(
    State(state): State<ServerState<S>>,
    caller: Caller,
    ApiJson(list): ApiJson<HashList>,
) -> Result<Json<HashList>, Error> {
    caller.require_somewhere(Role::Editor, "commit (upload bodies)")?;
    let hashes = state.store.missing_bodies(&list.hashes).await?;
    Ok(Json(HashList { hashes }))
}

/// Marks an error as the client's (its upload broke off), not the store's.
#[derive(Debug, thiserror::Error)]
#[error("reading the upload: {0}")]
struct UploadError(String);

pub async fn put<S: Store>(
    State(state): State<ServerState<S>>,
    caller: Caller,
    HashParam(hash): HashParam,
    headers: HeaderMap,
    body: Body,
) -> Result<StatusCode, Error> {
    caller.require_somewhere(Role::Editor, "commit (upload bodies)")?;
    let limit = state.config.max_body_bytes;
    if declared_length(&headers).is_some_and(|len| len > limit) {
        return Err(StoreError::TooLarge { limit }.into());
    }
    let data = body
        .into_data_stream()
        .map(|chunk| chunk.map_err(|e| io::Error::other(UploadError(e.to_string()))));
    let result = state
        .store
        .put_body(hash, StreamReader::new(data), limit)
        .await;
    match result {
        Ok(()) => Ok(StatusCode::NO_CONTENT),
        Err(StoreError::Io(e)) if e.get_ref().is_some_and(|inner| inner.is::<UploadError>()) => {
            Err(Error::BadRequest(format!(
                "upload of {hash} broke off: {e}"
            )))
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /bodies`: a batch of small bodies ([`zsync_format::batch`]),
/// stored in one transaction, all or none. Same role as a single upload;
/// limited in total size, body count and body size.
pub async fn put_batch<S: Store>(
    State(state): State<ServerState<S>>,
    caller: Caller,
    headers: HeaderMap,
    body: Body,
) -> Result<StatusCode, Error> {
    caller.require_somewhere(Role::Editor, "commit (upload bodies)")?;
    let limit = state.config.max_batch_bytes;
    let too_large = || {
        Error::TooLarge(format!(
            "an upload batch is limited to {limit} bytes; send fewer bodies per batch"
        ))
    };
    if declared_length(&headers).is_some_and(|len| len > limit as u64) {
        return Err(too_large());
    }
    // Small by the limit above, so held in memory and parsed in one go.
    let mut received = bytes::BytesMut::new();
    let mut data = body.into_data_stream();
    while let Some(chunk) = data.next().await {
        let chunk = chunk.map_err(|e| Error::BadRequest(format!("upload batch broke off: {e}")))?;
        if received.len() + chunk.len() > limit {
            return Err(too_large());
        }
        received.extend_from_slice(&chunk);
        zsync_store::fault::point("upload-receiving").await;
    }
    let received = received.freeze();
    let frames = batch::parse(
        &received,
        state.config.max_body_bytes,
        state.config.max_batch_bodies,
    )
    .map_err(|e| match e {
        BatchError::BodyTooLarge { .. } | BatchError::TooMany(_) => Error::TooLarge(e.to_string()),
        e => Error::BadRequest(e.to_string()),
    })?;
    let bodies: Vec<_> = frames
        .into_iter()
        .map(|(hash, range)| (hash, received.slice(range)))
        .collect();
    // Which are text, seen while they are stored (CPU work: off the async
    // threads); noted only once stored, which checks each against its hash.
    let scanned = bodies.clone();
    let text = tokio::task::spawn_blocking(move || {
        scanned
            .into_iter()
            .filter(|(_, data)| zsync_types::is_text(data))
            .map(|(hash, _)| hash)
            .collect::<Vec<BodyHash>>()
    });
    state.store.put_bodies(bodies).await?;
    if let Ok(text) = text.await {
        state.text_bodies.note(text);
    }
    Ok(StatusCode::NO_CONTENT)
}

pub async fn fetch<S: Store>(
    State(state): State<ServerState<S>>,
    caller: Caller,
    ApiJson(list): ApiJson<HashList>,
) -> Result<Response, Error> {
    caller.require_somewhere(Role::Reader, "read bodies")?;
    let mut seen = HashSet::new();
    let mut bodies = Vec::new();
    for hash in list.hashes {
        if !seen.insert(hash) {
            continue;
        }
        // A body the caller may not read is answered like one that does
        // not exist, so the answer does not confirm a guessed content.
        let paths = state.store.body_paths(&hash).await?;
        let readable = paths.iter().any(|p| caller.grants.allows(p, Role::Reader));
        let size = if readable {
            state.store.body_size(&hash).await?
        } else {
            None
        };
        match size {
            Some(size) => bodies.push((hash, size)),
            // Logging in might make it readable: ask who the caller is.
            None if caller.is_anonymous() => {
                return Err(caller.denied(String::new()));
            }
            None => {
                return Err(Error::NotFound {
                    message: format!("body {hash} not found"),
                    path: None,
                });
            }
        }
    }
    Ok(archive::response(state.store.clone(), None, bodies))
}
