//! Waking change-feed waiters when the head moves: the store announces
//! each of its own commits, a PostgreSQL store also every commit another
//! process announces (`LISTEN`), and waiters poll the head as a fallback
//! in case an announcement is lost (a dropped listener connection, or a
//! SQLite store written by another process).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;
use zsync_model::Rev;

use crate::StoreError;

/// How often a waiter reads the head when nothing was announced.
const POLL: Duration = Duration::from_millis(500);

/// The newest revision announced to this process. Clones share it.
#[derive(Clone, Debug)]
pub(crate) struct Feed {
    newest: Arc<watch::Sender<Rev>>,
}

impl Feed {
    pub(crate) fn new() -> Feed {
        Feed {
            newest: Arc::new(watch::Sender::new(0)),
        }
    }

    /// Wakes every waiter if `rev` is newer than what was announced.
    pub(crate) fn announce(&self, rev: Rev) {
        self.newest.send_if_modified(|newest| {
            let newer = rev > *newest;
            if newer {
                *newest = rev;
            }
            newer
        });
    }

    /// Waits until `head()` is past `since` or `timeout` has passed, and
    /// returns the head.
    pub(crate) async fn wait<F, Fut>(
        &self,
        since: Rev,
        timeout: Duration,
        head: F,
    ) -> Result<Rev, StoreError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<Rev, StoreError>>,
    {
        let deadline = Instant::now() + timeout;
        // Subscribed before the head is read, so a commit in between
        // still wakes the wait below.
        let mut announced = self.newest.subscribe();
        loop {
            announced.mark_unchanged();
            let now_head = head().await?;
            let now = Instant::now();
            if now_head > since || now >= deadline {
                return Ok(now_head);
            }
            let nap = POLL.min(deadline - now);
            // Either an announcement or the poll interval; both re-read.
            let _ = tokio::time::timeout(nap, announced.changed()).await;
        }
    }
}
