//! The HTTP sync API of `zsyncd`, served with axum over any [`Store`].
//!
//! Every route lives under [`zsync_format::API_PREFIX`], needs an
//! authenticated user with a sufficient [`zsync_model::Role`], and answers
//! every failure with a JSON [`zsync_format::ApiError`]. The server keeps no
//! state between requests outside the store, so several servers can share
//! one database.

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use zsync_store::Store;

mod archive;
pub mod auth;
mod error;
mod extract;
mod routes;

pub use auth::{PasswordHashError, UserNameError, hash_password, validate_user_name};
pub use error::Error;

/// Limits and lifetimes of the HTTP API.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// The largest body `PUT /bodies/{hash}` accepts.
    pub max_body_bytes: u64,
    /// The largest JSON request (a commit, a hash list).
    pub max_request_json_bytes: usize,
    /// How long a token from `POST /login` stays valid.
    pub token_ttl: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            max_body_bytes: 1 << 30,
            max_request_json_bytes: 64 << 20,
            token_ttl: Duration::from_secs(30 * 24 * 60 * 60),
        }
    }
}

/// What every request handler sees: the store and the configuration.
pub struct ServerState<S> {
    pub store: S,
    pub config: Arc<ServerConfig>,
}

impl<S: Store> ServerState<S> {
    pub fn new(store: S, config: ServerConfig) -> Self {
        Self {
            store,
            config: Arc::new(config),
        }
    }
}

// A manual impl: deriving would demand `S: Clone` twice over for nothing.
impl<S: Clone> Clone for ServerState<S> {
    fn clone(&self) -> Self {
        Self {
            store: self.store.clone(),
            config: Arc::clone(&self.config),
        }
    }
}

/// The whole HTTP application: the API, a tiny index page, JSON errors for
/// everything else, and request tracing.
pub fn router<S: Store>(state: ServerState<S>) -> axum::Router {
    routes::router(state)
}

/// Serves the API on `listener` until `shutdown` completes, then lets
/// requests in flight finish.
pub async fn serve<S: Store>(
    listener: tokio::net::TcpListener,
    state: ServerState<S>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}
