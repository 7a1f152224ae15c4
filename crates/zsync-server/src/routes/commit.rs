//! `POST /commit`: one transaction of adds, modifications and deletions;
//! `GET /commits/{id}`: what became of a commit whose answer was lost.

use axum::Json;
use axum::extract::{Path, State};
use zsync_format::{CommitOp, CommitRequest, CommitResponse};
use zsync_model::{CommitId, RepoPath, Role};
use zsync_store::Store;

use crate::ServerState;
use crate::auth::Caller;
use crate::error::Error;
use crate::extract::ApiJson;

/// The longest commit message, in bytes.
pub const MAX_MESSAGE_BYTES: usize = 64 << 10;

pub async fn commit<S: Store>(
    State(state): State<ServerState<S>>,
    caller: Caller,
    ApiJson(request): ApiJson<CommitRequest>,
) -> Result<Json<CommitResponse>, Error> {
    commit_as(&state, &caller, request).await.map(Json)
}

/// Commits `request` as `caller`, exactly as `POST /commit` does: limits,
/// Editor on every changed path, content validation, one transaction.
/// The web UI commits through here too.
pub async fn commit_as<S: Store>(
    state: &ServerState<S>,
    caller: &Caller,
    mut request: CommitRequest,
) -> Result<CommitResponse, Error> {
    if request.message.len() > MAX_MESSAGE_BYTES {
        return Err(Error::BadRequest(format!(
            "the commit message is {} bytes, over the limit of {MAX_MESSAGE_BYTES}",
            request.message.len()
        )));
    }
    let max_ops = state.config.max_commit_ops;
    if request.ops.len() > max_ops {
        return Err(Error::TooLarge(format!(
            "the commit has {} operations, over the limit of {max_ops}; commit in parts",
            request.ops.len()
        )));
    }
    // The client checks properties too, but the server is the one that
    // must hold them (a NUL would fail on PostgreSQL, half-way).
    for op in &request.ops {
        let props = match op {
            CommitOp::Add { props, .. } => Some(props),
            CommitOp::Modify { props, .. } => props.as_ref(),
            _ => None,
        };
        for (name, value) in props.into_iter().flatten() {
            let problem = zsync_model::prop_name_problem(name)
                .or_else(|| zsync_model::prop_value_problem(value));
            if let Some(why) = problem {
                return Err(Error::BadRequest(format!(
                    "{}: property {name:?}: {why}",
                    op.path()
                )));
            }
        }
    }
    // Editor on every path the commit changes: for an addition, on the
    // folder it is added to. Roles are inherited downward, so Editor on a
    // deleted folder covers (and lets the caller read) its whole subtree.
    let root = RepoPath::root();
    let checked: Vec<(&RepoPath, RepoPath)> = request
        .ops
        .iter()
        .flat_map(|op| match op {
            CommitOp::Add { path, .. } => {
                vec![(path, path.parent().unwrap_or_else(|| root.clone()))]
            }
            // A move changes the object where it is and the folder it
            // moves into, so it needs Editor on both.
            CommitOp::Move { from, to, .. } => vec![
                (from, from.clone()),
                (to, to.parent().unwrap_or_else(|| root.clone())),
            ],
            other => vec![(other.path(), other.path().clone())],
        })
        .collect();
    caller.require_all(checked.iter().map(|(p, c)| (*p, c)), Role::Editor, "change")?;
    crate::content::check(&state.store, &state.types, &state.text_bodies, &mut request).await?;
    let response = state.store.commit(&caller.name, &request).await?;
    tracing::info!(user = %caller.name, rev = response.rev, objects = response.objects.len(), "committed");
    Ok(response)
}

/// The result of the caller's own commit with this id; "not found" if it
/// never landed, or was someone else's (a refusal must not tell which).
pub async fn lookup<S: Store>(
    State(state): State<ServerState<S>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<CommitResponse>, Error> {
    if caller.is_anonymous() {
        return Err(caller.denied(String::new()));
    }
    let id: CommitId = id.parse().map_err(|e| Error::BadRequest(format!("{e}")))?;
    match state.store.commit_by_id(&id).await? {
        Some(recorded) if recorded.user == caller.name => Ok(Json(recorded.response)),
        _ => Err(Error::NotFound {
            message: format!("no commit {id} by {}", caller.name),
            path: None,
        }),
    }
}
