//! Content checks at commit: every added or changed body is validated by
//! its kind's [`ContentType`](zsync_types::ContentType), all problems of
//! all objects are reported together, and properties derived from bodies
//! (an image's size) are set by the server, never by the client.

use futures_util::TryStreamExt;
use std::collections::HashMap;
use zsync_format::{CommitOp, CommitRequest, PathProblem};

use zsync_model::{BodyHash, Kind, Props, RepoPath};
use zsync_store::{Store, StoreError};
use zsync_types::{Registry, ValidationContext};

use crate::error::Error;

/// Bodies up to this size are validated whole; larger ones only yield
/// their derived properties from the first [`HEAD_BYTES`].
pub const MAX_VALIDATED_BYTES: u64 = 64 << 20;
const HEAD_BYTES: u64 = 1 << 20;
/// Bodies asked for in one query while validating; each is at most a
/// store chunk (1 MiB), so at most this many MiB are held at once.
const PREFETCH: usize = 64;

/// Validates the request's content and fills in derived properties.
/// Problems come back as one [`Error::Invalid`] listing all of them.
pub async fn check<S: Store>(
    store: &S,
    types: &Registry,
    text_bodies: &TextBodies,
    request: &mut CommitRequest,
) -> Result<(), Error> {
    let mut problems = Vec::new();
    // Folder properties, for types that check an object against its
    // folder (a record against the `schema`): as this commit leaves them,
    // and those of other folders once asked (siblings share a folder;
    // `None` for no such folder).
    let mut folder_props: HashMap<RepoPath, Option<Props>> = HashMap::new();
    for op in &request.ops {
        match op {
            CommitOp::Add { path, props, .. } => {
                folder_props.insert(path.clone(), Some(props.clone()));
            }
            CommitOp::Modify {
                path,
                props: Some(props),
                ..
            } => {
                folder_props.insert(path.clone(), Some(props.clone()));
            }
            _ => {}
        }
    }
    // First what each op needs (a store lookup for modifies), then the
    // bodies, read a few at once: a large checkin adds tens of thousands
    // of bodies, and reading them one after another left the commit
    // waiting on the store for seconds.
    let mut jobs = Vec::new();
    for (index, op) in request.ops.iter_mut().enumerate() {
        // The properties the object has now, for a change of properties
        // alone: its body, and so what is derived from it, stays.
        let mut kept = Props::new();
        let (path, kind, props, hash) = match op {
            CommitOp::Add {
                path,
                kind,
                props,
                hash,
            } => (path.clone(), kind.clone(), Some(props), *hash),
            CommitOp::Modify {
                path, props, hash, ..
            } => {
                // The store reports a vanished object as stale; skip it here.
                let Some(current) = store.object(path).await? else {
                    continue;
                };
                if props.is_none() && hash.is_some() {
                    *props = Some(current.props.clone());
                }
                kept = current.props;
                (path.clone(), current.kind, props.as_mut(), *hash)
            }
            // A move may change the moved object as a modify would.
            CommitOp::Move {
                from,
                to,
                props,
                hash,
                ..
            } if props.is_some() || hash.is_some() => {
                let Some(current) = store.object(from).await? else {
                    continue;
                };
                if props.is_none() && hash.is_some() {
                    *props = Some(current.props.clone());
                }
                kept = current.props;
                (to.clone(), current.kind, props.as_mut(), *hash)
            }
            CommitOp::Delete { .. } | CommitOp::Move { .. } => continue,
        };
        let Some(content_type) = types.get(&kind) else {
            problems.push((
                index,
                PathProblem::new(
                    path.to_string(),
                    format!("unknown kind {kind:?}; this server knows {}", known(types)),
                ),
            ));
            continue;
        };
        let Some(props) = props else { continue };
        let Some(hash) = hash else {
            let names = content_type.read_only_props();
            let derived: Props = kept
                .into_iter()
                .filter(|(k, _)| names.contains(&k.as_str()))
                .collect();
            let mut found = Vec::new();
            reject_read_only(&path.to_string(), names, props, &derived, &mut found);
            problems.extend(found.into_iter().map(|p| (index, p)));
            props.extend(derived);
            continue;
        };
        if !content_type.reads_body() {
            // Nothing to check or derive: no need to read the body at all.
            continue;
        }
        if content_type.text_is_enough() && text_bodies.contains(&hash) {
            // Seen to be text on its way in: nothing to find in it.
            continue;
        }
        jobs.push((index, path, content_type, hash));
    }

    for group in jobs.chunks(PREFETCH) {
        let hashes: Vec<BodyHash> = group.iter().map(|(_, _, _, hash)| *hash).collect();
        let mut small: HashMap<BodyHash, bytes::Bytes> =
            store.small_bodies(&hashes).await?.into_iter().collect();
        for (index, path, content_type, hash) in group {
            let body = match small.remove(hash) {
                Some(data) => Some((data, true)),
                None => read_body(store, hash)
                    .await?
                    .map(|(body, whole)| (bytes::Bytes::from(body), whole)),
            };
            let Some((body, whole)) = body else {
                continue; // The store reports a body that was not uploaded.
            };
            let props = match &mut request.ops[*index] {
                CommitOp::Add { props, .. } => props,
                CommitOp::Modify {
                    props: Some(props), ..
                }
                | CommitOp::Move {
                    props: Some(props), ..
                } => props,
                _ => continue,
            };
            if whole {
                let parent = path.parent();
                if let Some(parent) = &parent
                    && !folder_props.contains_key(parent)
                {
                    let p = store.object(parent).await?.map(|o| o.props);
                    folder_props.insert(parent.clone(), p);
                }
                let ctx = ValidationContext {
                    parent_props: parent
                        .and_then(|p| folder_props.get(&p))
                        .and_then(Option::as_ref),
                };
                for d in content_type.validate_in(&body, props, &ctx) {
                    problems.push((
                        *index,
                        PathProblem {
                            path: path.to_string(),
                            message: d.message,
                            line: d.line,
                            column: d.column,
                        },
                    ));
                }
            }
            let derived = content_type.derived_props(&body);
            let mut found = Vec::new();
            reject_read_only(
                &path.to_string(),
                content_type.read_only_props(),
                props,
                &derived,
                &mut found,
            );
            problems.extend(found.into_iter().map(|p| (*index, p)));
            props.extend(derived);
        }
    }
    // Reported in the order of the request's operations.
    problems.sort_by_key(|(index, _)| *index);
    let problems: Vec<PathProblem> = problems.into_iter().map(|(_, p)| p).collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::Invalid(problems))
    }
}

/// Bodies this process saw were text ([`zsync_types::is_text`]) as they
/// were uploaded, so a commit need not read them back to check a type for
/// which that is enough ([`ContentType::text_is_enough`]): a large checkin
/// spent a third of its commit reading its text back. Per process and
/// bounded; a body not noted here is read and checked as always.
#[derive(Default)]
pub struct TextBodies(std::sync::Mutex<std::collections::HashSet<BodyHash>>);

/// Bodies noted before the set starts over (32 bytes each, ~4 MiB).
const MAX_TEXT_BODIES: usize = 100_000;

impl TextBodies {
    pub fn note(&self, hashes: Vec<BodyHash>) {
        if hashes.is_empty() {
            return;
        }
        let Ok(mut set) = self.0.lock() else { return };
        if set.len() + hashes.len() > MAX_TEXT_BODIES {
            set.clear();
        }
        set.extend(hashes);
    }

    pub fn contains(&self, hash: &BodyHash) -> bool {
        self.0.lock().is_ok_and(|set| set.contains(hash))
    }
}

/// A read-only property may only carry the value the server derives.
fn reject_read_only(
    path: &str,
    names: &[&str],
    props: &mut Props,
    derived: &Props,
    problems: &mut Vec<PathProblem>,
) {
    for name in names {
        match (props.get(*name), derived.get(*name)) {
            (Some(given), Some(real)) if given != real => problems.push(PathProblem::new(
                path,
                format!("property {name:?} is read-only: it is derived from the body ({real})"),
            )),
            (Some(_), None) => {
                // Stale value from an older body: the server drops it.
                props.remove(*name);
            }
            _ => {}
        }
    }
}

fn known(types: &Registry) -> String {
    let names: Vec<String> = types.kinds().iter().map(Kind::to_string).collect();
    names.join(", ")
}

/// The body, whole if it is at most [`MAX_VALIDATED_BYTES`], else its head.
async fn read_body<S: Store>(store: &S, hash: &BodyHash) -> Result<Option<(Vec<u8>, bool)>, Error> {
    let size = match store.body_size(hash).await? {
        Some(size) => size,
        None => return Ok(None),
    };
    let whole = size <= MAX_VALIDATED_BYTES;
    let limit = if whole { size } else { HEAD_BYTES };
    let mut stream = match store.read_body(hash).await {
        Ok(s) => s,
        Err(StoreError::NotFound(_)) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let mut body = Vec::with_capacity(limit as usize);
    while let Some(chunk) = stream.try_next().await? {
        body.extend_from_slice(&chunk);
        if body.len() as u64 >= limit {
            break;
        }
    }
    body.truncate(limit as usize);
    Ok(Some((body, whole)))
}
