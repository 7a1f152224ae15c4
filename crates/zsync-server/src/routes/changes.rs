//! `GET /changes/{path}?since=REV&wait=SECS`: the change feed, a long
//! poll that wakes on any server's commit (see [`Store::wait_for_head`]).

use std::time::Duration;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::Uri;
use serde::Deserialize;
use zsync_format::ChangeFeed;
use zsync_model::{Rev, Role};
use zsync_store::Store;

use crate::ServerState;
use crate::auth::Caller;
use crate::error::Error;
use crate::extract::ServerPath;

/// The longest a request may wait; clients ask again.
pub const MAX_WAIT: Duration = Duration::from_secs(60);

/// The most revisions one answer covers.
const MAX_REVISIONS: u32 = 1000;

#[derive(Deserialize)]
struct ChangesQuery {
    since: Rev,
    wait: Option<u64>,
}

pub async fn changes<S: Store>(
    State(state): State<ServerState<S>>,
    caller: Caller,
    ServerPath(path): ServerPath,
    uri: Uri,
) -> Result<Json<ChangeFeed>, Error> {
    if !caller.grants.allows_within(&path, Role::Reader) {
        caller.require_at(&path, Role::Reader, "follow the changes of")?;
    }
    let Query(query) =
        Query::<ChangesQuery>::try_from_uri(&uri).map_err(|e| Error::BadRequest(e.body_text()))?;
    let wait = Duration::from_secs(query.wait.unwrap_or(0))
        .min(MAX_WAIT)
        // Under the request time limit, so the answer is never a timeout.
        .min(
            state
                .config
                .request_timeout
                .saturating_sub(Duration::from_secs(1)),
        );
    let head = if wait.is_zero() {
        state.store.head().await?
    } else {
        state.store.wait_for_head(query.since, wait).await?
    };
    let mut revisions = if head > query.since {
        state.store.changes(query.since, MAX_REVISIONS).await?
    } else {
        Vec::new()
    };
    // Commits may land between reading the head and the revisions.
    let last = revisions.last().map(|e| e.rev);
    let head = last.map_or(head, |l| l.max(head));
    let through = match last {
        // A full answer may have been cut short: it covers what it lists.
        Some(l) if revisions.len() == MAX_REVISIONS as usize => l,
        _ => head,
    };
    for entry in &mut revisions {
        entry
            .changes
            .retain(|c| path.contains(&c.path) && caller.grants.allows(&c.path, Role::Reader));
    }
    revisions.retain(|e| !e.changes.is_empty());
    Ok(Json(ChangeFeed {
        head,
        through,
        revisions,
    }))
}
