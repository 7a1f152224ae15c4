//! Archive responses: a manifest and the bodies it names, streamed frame by
//! frame straight from the store, so neither a body nor the archive is ever
//! held whole in memory.

use std::collections::{HashMap, HashSet};
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

/// Small bodies go in groups of about this many bytes, one store query
/// each; a checkout of many small files otherwise waited on a query per
/// body.
const GROUP_BYTES: u64 = 4 << 20;
/// At most this many bodies per group (the store asks a few hundred per
/// query).
const GROUP_BODIES: usize = 256;

/// What one step of the archive sends: a group of small bodies read in one
/// query, or one body streamed chunk by chunk.
enum Piece {
    Small(Vec<BodyRef>),
    Large(BodyRef),
}

fn pieces(bodies: Vec<BodyRef>) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut group = Vec::new();
    let mut bytes = 0;
    for (hash, size) in bodies {
        if size > zsync_store::CHUNK_SIZE as u64 {
            out.push(Piece::Large((hash, size)));
            continue;
        }
        if bytes + size > GROUP_BYTES || group.len() == GROUP_BODIES {
            out.push(Piece::Small(std::mem::take(&mut group)));
            bytes = 0;
        }
        bytes += size;
        group.push((hash, size));
    }
    if !group.is_empty() {
        out.push(Piece::Small(group));
    }
    out
}

fn body_frames<S: Store>(
    store: S,
    bodies: Vec<BodyRef>,
) -> impl Stream<Item = io::Result<Bytes>> + Send + 'static {
    stream::iter(pieces(bodies))
        .map(move |piece| {
            let store = store.clone();
            async move {
                match piece {
                    Piece::Small(group) => small_frames(store, group).await.left_stream(),
                    Piece::Large((hash, size)) => {
                        large_frames(store, hash, size).await.right_stream()
                    }
                }
            }
        })
        // The next group is read while this one is sent.
        .buffered(2)
        .flatten()
}

/// A group of small bodies, read in one query, as frames.
async fn small_frames<S: Store>(
    store: S,
    group: Vec<BodyRef>,
) -> impl Stream<Item = io::Result<Bytes>> + Send + 'static {
    let hashes: Vec<BodyHash> = group.iter().map(|(h, _)| *h).collect();
    let found: HashMap<BodyHash, Bytes> = match store.small_bodies(&hashes).await {
        Ok(found) => found.into_iter().collect(),
        Err(e) => {
            tracing::error!(error = %e, "cannot read bodies for an archive");
            HashMap::new()
        }
    };
    let mut frames = Vec::with_capacity(group.len() * 2);
    for (hash, size) in group {
        // The same body twice in a group is sent twice, from one read.
        let data = found.get(&hash).cloned();
        match data {
            Some(data) if data.len() as u64 == size => {
                frames.push(Ok(Bytes::copy_from_slice(&body_frame_header(&hash, size))));
                frames.push(Ok(data));
            }
            Some(data) => {
                tracing::error!(%hash, size, sent = data.len(), "stored body does not have its recorded size");
                frames.push(Err(io::Error::other(format!(
                    "body {hash} does not have its recorded size"
                ))));
                break;
            }
            None => {
                tracing::error!(%hash, "cannot read a body for an archive");
                frames.push(Err(io::Error::other(format!("cannot read body {hash}"))));
                break;
            }
        }
    }
    stream::iter(frames)
}

/// One body of any size, streamed chunk by chunk.
async fn large_frames<S: Store>(
    store: S,
    hash: BodyHash,
    size: u64,
) -> impl Stream<Item = io::Result<Bytes>> + Send + 'static {
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
