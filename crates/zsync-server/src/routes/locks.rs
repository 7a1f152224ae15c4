//! Locks (svn lock semantics): `POST /locks` takes them (Editor on each
//! path; stealing one needs Manager), `POST /unlock` releases one's own
//! (or, with `force`, breaks anyone's: Manager), `GET /locks/{path}`
//! lists those of a subtree the caller may read. While an object is
//! locked, commits by anyone but the owner that touch it are refused.

use axum::Json;
use axum::extract::State;
use zsync_format::{LockInfo, LockRequest, UnlockRequest};
use zsync_model::{RepoPath, Role};
use zsync_store::{LockRecord, Store};

use crate::ServerState;
use crate::auth::{Caller, new_token, token_hash, unix_now};
use crate::error::Error;
use crate::extract::{ApiJson, ServerPath};
use crate::routes::commit::MAX_MESSAGE_BYTES;

fn info(lock: LockRecord, token: Option<String>) -> LockInfo {
    LockInfo {
        path: lock.path,
        oid: lock.oid,
        owner: lock.user,
        created: lock.created,
        comment: lock.comment,
        token_hash: lock.token_hash,
        token,
    }
}

/// Refuses an empty or oversized list, or an oversized comment.
fn check_sizes<S>(state: &ServerState<S>, paths: &[RepoPath], comment: &str) -> Result<(), Error> {
    if paths.is_empty() {
        return Err(Error::BadRequest("no paths given".into()));
    }
    let max = state.config.max_commit_ops;
    if paths.len() > max {
        return Err(Error::TooLarge(format!(
            "{} paths, over the limit of {max}",
            paths.len()
        )));
    }
    if comment.len() > MAX_MESSAGE_BYTES {
        return Err(Error::BadRequest(format!(
            "the lock comment is {} bytes, over the limit of {MAX_MESSAGE_BYTES}",
            comment.len()
        )));
    }
    Ok(())
}

pub async fn lock<S: Store>(
    State(state): State<ServerState<S>>,
    caller: Caller,
    ApiJson(request): ApiJson<LockRequest>,
) -> Result<Json<Vec<LockInfo>>, Error> {
    check_sizes(&state, &request.paths, &request.comment)?;
    let needed = if request.steal {
        Role::Manager
    } else {
        Role::Editor
    };
    let action = if request.steal {
        "steal the lock on"
    } else {
        "lock"
    };
    caller.require_all(request.paths.iter().map(|p| (p, p)), needed, action)?;
    // One token per object, so a working copy can tell each lock apart.
    let tokens: Vec<String> = request.paths.iter().map(|_| new_token()).collect();
    let hashed: Vec<(RepoPath, String)> = request
        .paths
        .iter()
        .zip(&tokens)
        .map(|(p, t)| (p.clone(), token_hash(t)))
        .collect();
    let taken = state
        .store
        .lock(
            &caller.name,
            &hashed,
            &request.comment,
            unix_now(),
            request.steal,
        )
        .await?;
    tracing::info!(user = %caller.name, locks = taken.len(), steal = request.steal, "locked");
    Ok(Json(
        taken
            .into_iter()
            .map(|lock| {
                let token = hashed
                    .iter()
                    .zip(&tokens)
                    .find(|((_, h), _)| *h == lock.token_hash)
                    .map(|(_, t)| t.clone());
                info(lock, token)
            })
            .collect(),
    ))
}

pub async fn unlock<S: Store>(
    State(state): State<ServerState<S>>,
    caller: Caller,
    ApiJson(request): ApiJson<UnlockRequest>,
) -> Result<Json<Vec<LockInfo>>, Error> {
    check_sizes(&state, &request.paths, "")?;
    // Editor to release one's own (one needed it to lock), Manager to
    // break anyone's.
    let (needed, action, owner) = if request.force {
        (Role::Manager, "break the lock on", None)
    } else {
        (Role::Editor, "unlock", Some(caller.name.as_str()))
    };
    caller.require_all(request.paths.iter().map(|p| (p, p)), needed, action)?;
    let released = state.store.unlock(&request.paths, owner).await?;
    tracing::info!(user = %caller.name, locks = released.len(), force = request.force, "unlocked");
    Ok(Json(
        released.into_iter().map(|lock| info(lock, None)).collect(),
    ))
}

pub async fn list<S: Store>(
    State(state): State<ServerState<S>>,
    caller: Caller,
    ServerPath(path): ServerPath,
) -> Result<Json<Vec<LockInfo>>, Error> {
    if !caller.grants.allows(&path, Role::Reader)
        && !caller.grants.allows_within(&path, Role::Reader)
    {
        caller.require_at(&path, Role::Reader, "list the locks of")?;
    }
    let locks = state.store.locks(&path).await?;
    Ok(Json(
        locks
            .into_iter()
            .filter(|l| caller.grants.allows(&l.path, Role::Reader))
            .map(|lock| info(lock, None))
            .collect(),
    ))
}
