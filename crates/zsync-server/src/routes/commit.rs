//! `POST /commit`: one transaction of adds, modifications and deletions.

use axum::Json;
use axum::extract::State;
use zsync_format::{CommitRequest, CommitResponse};
use zsync_model::Role;
use zsync_store::Store;

use crate::ServerState;
use crate::auth::Caller;
use crate::error::Error;
use crate::extract::ApiJson;

/// The longest commit message, in bytes.
pub const MAX_MESSAGE_BYTES: usize = 64 << 10;
/// The most operations one commit may carry.
pub const MAX_OPS: usize = 1_000_000;

pub async fn commit<S: Store>(
    State(state): State<ServerState<S>>,
    caller: Caller,
    ApiJson(request): ApiJson<CommitRequest>,
) -> Result<Json<CommitResponse>, Error> {
    caller.require(Role::Editor, "commit")?;
    if request.message.len() > MAX_MESSAGE_BYTES {
        return Err(Error::BadRequest(format!(
            "the commit message is {} bytes, over the limit of {MAX_MESSAGE_BYTES}",
            request.message.len()
        )));
    }
    if request.ops.len() > MAX_OPS {
        return Err(Error::TooLarge(format!(
            "the commit has {} operations, over the limit of {MAX_OPS}; commit in parts",
            request.ops.len()
        )));
    }
    let response = state.store.commit(&caller.name, &request).await?;
    tracing::info!(user = %caller.name, rev = response.rev, objects = response.objects.len(), "committed");
    Ok(Json(response))
}
