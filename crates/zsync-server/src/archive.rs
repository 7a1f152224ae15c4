//! Archive responses: a manifest and the bodies it names, streamed frame by
//! frame straight from the store, so neither a body nor the archive is ever
//! held whole in memory.

use std::collections::HashSet;
use std::future::ready;
use std::io;

use axum::body::Body;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::{Stream, StreamExt as _, stream};
use zsync_format::Manifest;
use zsync_format::archive::{self, END_FRAME, MAGIC, body_frame_header, manifest_frame};
use zsync_model::BodyHash;
use zsync_store::{BodyStream, Store};

/// One body to send: its hash and the size its frame header announces.
pub type BodyRef = (BodyHash, u64);

/// Every distinct body of a manifest, each once, in manifest order.
pub fn manifest_bodies(manifest: &Manifest) -> Vec<BodyRef> {
    let mut seen = HashSet::new();
    manifest
        .entries
        .iter()
        .filter_map(|e| e.hash.map(|h| (h, e.size)))
        .filter(|(h, _)| seen.insert(*h))
        .collect()
}

/// The archive response: `MAGIC`, the manifest frame if any, a frame per
/// body, then `END`. A store failure mid-way aborts the response, so the
/// client sees a truncated archive rather than a wrong one.
pub fn response<S: Store>(store: S, manifest: Option<&Manifest>, bodies: Vec<BodyRef>) -> Response {
    let mut head = vec![Bytes::from_static(MAGIC)];
    if let Some(m) = manifest {
        head.push(Bytes::from(manifest_frame(m)));
    }
    let frames = stream::iter(head.into_iter().map(Ok))
        .chain(body_frames(store, bodies))
        .chain(stream::once(ready(Ok(Bytes::from_static(&END_FRAME)))));
    (
        [(CONTENT_TYPE, archive::CONTENT_TYPE)],
        Body::from_stream(frames),
    )
        .into_response()
}

fn body_frames<S: Store>(
    store: S,
    bodies: Vec<BodyRef>,
) -> impl Stream<Item = io::Result<Bytes>> + Send + 'static {
    stream::iter(bodies)
        .then(move |(hash, size)| {
            let store = store.clone();
            async move {
                let header = Bytes::copy_from_slice(&body_frame_header(&hash, size));
                match store.read_body(&hash).await {
                    Ok(body) => stream::once(ready(Ok(header)))
                        .chain(exactly(hash, size, body))
                        .left_stream(),
                    Err(e) => {
                        tracing::error!(%hash, error = %e, "cannot read a body for an archive");
                        stream::once(ready(Err(io::Error::other(format!(
                            "cannot read body {hash}"
                        )))))
                        .right_stream()
                    }
                }
            }
        })
        .flatten()
}

/// Passes a body through, failing if it is not exactly `size` bytes: the
/// frame header already promised that many.
fn exactly(
    hash: BodyHash,
    size: u64,
    body: BodyStream,
) -> impl Stream<Item = io::Result<Bytes>> + Send + 'static {
    let mismatch = move |sent: u64| {
        tracing::error!(%hash, size, sent, "stored body does not have its recorded size");
        io::Error::other(format!("body {hash} does not have its recorded size"))
    };
    stream::unfold(Some((body, 0u64)), move |state| async move {
        let (mut body, sent) = state?;
        match body.next().await {
            Some(Ok(chunk)) => {
                let sent = sent + chunk.len() as u64;
                if sent > size {
                    Some((Err(mismatch(sent)), None))
                } else {
                    Some((Ok(chunk), Some((body, sent))))
                }
            }
            Some(Err(e)) => {
                tracing::error!(%hash, error = %e, "reading a body for an archive failed");
                Some((
                    Err(io::Error::other(format!("cannot read body {hash}"))),
                    None,
                ))
            }
            None if sent != size => Some((Err(mismatch(sent)), None)),
            None => None,
        }
    })
}
