//! Request extractors whose rejections are JSON [`Error`]s rather than
//! axum's plain-text defaults.

use axum::body::Body;
use axum::extract::rejection::RawPathParamsRejection;
use axum::extract::{FromRequest, FromRequestParts, RawPathParams, Request};
use axum::http::header::CONTENT_LENGTH;
use axum::http::request::Parts;
use futures_util::StreamExt as _;
use serde::de::DeserializeOwned;
use zsync_model::RepoPath;

use crate::ServerState;
use crate::error::Error;

/// The server path in a route's `{*path}` wildcard; the root for the
/// routes registered without one.
pub struct ServerPath(pub RepoPath);

impl<S: Send + Sync> FromRequestParts<S> for ServerPath {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let raw = match RawPathParams::from_request_parts(parts, state).await {
            Ok(params) => params
                .iter()
                .find(|(key, _)| *key == "path")
                .map(|(_, value)| value.to_owned())
                .unwrap_or_default(),
            Err(RawPathParamsRejection::MissingPathParams(_)) => String::new(),
            Err(other) => return Err(Error::BadRequest(other.body_text())),
        };
        RepoPath::parse(&raw)
            .map(ServerPath)
            .map_err(|e| Error::BadRequest(format!("invalid path /{raw}: {e}")))
    }
}

/// A JSON request body, at most `max_request_json_bytes` long. Malformed
/// JSON is a 400 with serde's message.
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<ServerState<S>> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = Error;

    async fn from_request(req: Request, state: &ServerState<S>) -> Result<Self, Self::Rejection> {
        let limit = state.config.max_request_json_bytes;
        let bytes = read_limited(req, limit).await?;
        serde_json::from_slice(&bytes)
            .map(ApiJson)
            .map_err(|e| Error::BadRequest(format!("malformed JSON request: {e}")))
    }
}

fn too_large(limit: usize) -> Error {
    Error::TooLarge(format!("request is larger than the limit of {limit} bytes"))
}

/// Collects a request body, refusing it as soon as it passes `limit`.
async fn read_limited(req: Request, limit: usize) -> Result<Vec<u8>, Error> {
    if declared_length(req.headers()).is_some_and(|len| len > limit as u64) {
        return Err(too_large(limit));
    }
    let mut stream = Body::into_data_stream(req.into_body());
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| Error::BadRequest(format!("reading the request: {e}")))?;
        if out.len() + chunk.len() > limit {
            return Err(too_large(limit));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// The `Content-Length` the client announced, if any.
pub fn declared_length(headers: &axum::http::HeaderMap) -> Option<u64> {
    headers
        .get(CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// The `{hash}` of `/bodies/{hash}`.
pub struct HashParam(pub zsync_model::BodyHash);

impl<S: Send + Sync> FromRequestParts<S> for HashParam {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|e| Error::BadRequest(e.body_text()))?;
        let raw = params
            .iter()
            .find(|(key, _)| *key == "hash")
            .map(|(_, value)| value)
            .unwrap_or_default();
        raw.parse()
            .map(HashParam)
            .map_err(|e: zsync_model::HashParseError| Error::BadRequest(e.to_string()))
    }
}
