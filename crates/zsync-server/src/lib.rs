//! The HTTP sync API of `zsyncd`, served with axum over any [`Store`].
//!
//! Every route lives under [`zsync_format::API_PREFIX`], checks the
//! caller's [`zsync_model::Role`] on the paths it touches (roles are granted
//! per path and inherited downward), and answers every failure with a JSON
//! [`zsync_format::ApiError`]. The server keeps no state between requests
//! outside the store, so several servers can share one database — except
//! the failed-login limiter, which is per process for now, and a cache of
//! the uploaded bodies seen to be text (`content::TextBodies`), which
//! another process simply does not have.

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use zsync_store::Store;

mod archive;
pub mod auth;
mod content;
mod error;
mod extract;
mod limit;
mod routes;
mod serve;
pub mod ssh;
pub mod tls;

pub use auth::{PasswordHashError, UserNameError, hash_password, validate_user_name};
pub use error::Error;
pub use routes::api_routes;
pub use routes::commit::{MAX_MESSAGE_BYTES, commit_as};
pub use tls::{TlsConfig, TlsError};

/// Limits and lifetimes of the HTTP API.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// The largest body `PUT /bodies/{hash}` accepts.
    pub max_body_bytes: u64,
    /// The largest upload batch `POST /bodies` accepts, in bytes; held in
    /// memory while it is checked and stored.
    pub max_batch_bytes: usize,
    /// The most bodies one upload batch may carry.
    pub max_batch_bodies: usize,
    /// The largest JSON request (a commit, a hash list).
    pub max_request_json_bytes: usize,
    /// How long a token from `POST /login` stays valid.
    pub token_ttl: Duration,
    /// The most objects one manifest (tree or archive) may hold.
    pub max_manifest_entries: usize,
    /// The most operations one commit may carry.
    pub max_commit_ops: usize,
    /// How long a request may take until its response starts (uploads
    /// included, since their handler reads the whole body).
    pub request_timeout: Duration,
    /// How long a client may take to send a request's headers (and the
    /// TLS handshake), against slow-loris connections.
    pub header_read_timeout: Duration,
    /// Failed logins allowed per user name within `login_window`.
    pub login_failures_per_user: u32,
    /// Failed logins allowed per client address within `login_window`.
    pub login_failures_per_address: u32,
    pub login_window: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            max_body_bytes: 1 << 30,
            max_batch_bytes: 32 << 20,
            max_batch_bodies: 10_000,
            max_request_json_bytes: 64 << 20,
            token_ttl: Duration::from_secs(30 * 24 * 60 * 60),
            max_manifest_entries: 1_000_000,
            max_commit_ops: 1_000_000,
            request_timeout: Duration::from_secs(15 * 60),
            header_read_timeout: Duration::from_secs(20),
            login_failures_per_user: 10,
            login_failures_per_address: 50,
            login_window: Duration::from_secs(5 * 60),
        }
    }
}

/// What every request handler sees: the store, the configuration and the
/// failed-login limiter.
pub struct ServerState<S> {
    pub store: S,
    pub config: Arc<ServerConfig>,
    pub(crate) logins: Arc<limit::LoginLimiter>,
    /// The content types commits are validated with.
    pub types: Arc<zsync_types::Registry>,
    /// Bodies this process saw were text as they were uploaded.
    pub(crate) text_bodies: Arc<content::TextBodies>,
}

impl<S: Store> ServerState<S> {
    pub fn new(store: S, config: ServerConfig) -> Self {
        let logins = limit::LoginLimiter::new(
            config.login_failures_per_user,
            config.login_failures_per_address,
            config.login_window,
        );
        Self {
            store,
            config: Arc::new(config),
            logins: Arc::new(logins),
            types: Arc::new(zsync_types::Registry::builtin()),
            text_bodies: Arc::default(),
        }
    }

    /// Validates with these content types instead of the built-in ones
    /// (an application's own types registered in front of them).
    pub fn with_types(mut self, types: zsync_types::Registry) -> Self {
        self.types = Arc::new(types);
        self
    }
}

// A manual impl: deriving would demand `S: Clone` twice over for nothing.
impl<S: Clone> Clone for ServerState<S> {
    fn clone(&self) -> Self {
        Self {
            store: self.store.clone(),
            config: Arc::clone(&self.config),
            logins: Arc::clone(&self.logins),
            types: Arc::clone(&self.types),
            text_bodies: Arc::clone(&self.text_bodies),
        }
    }
}

/// The whole HTTP application: the API, a tiny index page, JSON errors for
/// everything else, and request tracing.
pub fn router<S: Store>(state: ServerState<S>) -> axum::Router {
    routes::router(state, axum::Router::new())
}

/// Like [`router`], with `extra`'s routes (the web UI) beside the API,
/// under the same time limit, panic guard and tracing.
pub fn router_with<S: Store>(state: ServerState<S>, extra: axum::Router) -> axum::Router {
    routes::router(state, extra)
}

/// Serves the API over plain HTTP on `listener` until `shutdown`
/// completes, then lets requests in flight finish.
pub async fn serve<S: Store>(
    listener: tokio::net::TcpListener,
    state: ServerState<S>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    serve_with_tls(listener, state, None, shutdown).await
}

/// Like [`serve`], over HTTPS with `tls` when it is given.
pub async fn serve_with_tls<S: Store>(
    listener: tokio::net::TcpListener,
    state: ServerState<S>,
    tls: Option<TlsConfig>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let header_timeout = state.config.header_read_timeout;
    serve::serve(listener, router(state), header_timeout, tls, shutdown).await
}

/// Serves `app` (from [`router_with`]) over HTTP, or HTTPS with `tls`,
/// with the limits of `config`, until `shutdown` completes.
pub async fn serve_app(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    config: &ServerConfig,
    tls: Option<TlsConfig>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    serve::serve(listener, app, config.header_read_timeout, tls, shutdown).await
}
