//! The web management UI of `zsyncd` at `/manage`: server-rendered pages
//! (askama) over any [`Store`], for people who would rather not use a
//! command line.
//!
//! Every change is one commit through [`zsync_server::commit_as`], the
//! same path as `POST /api/v1/commit`: the same per-path roles, content
//! validation and optimistic concurrency, so a `zsync update` sees it.
//! Sessions are random tokens in an `HttpOnly` cookie, stored hashed in the
//! store (so servers sharing a database share sessions); every form carries
//! a CSRF token derived from the session.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, Method, header};
use axum::routing::{MethodRouter, get, post};
use tower_http_headers::security_headers;
use zsync_server::ServerState;
use zsync_store::{SqlStore, Store};

mod admin;
mod assets;
mod diff;
mod edit;
mod error;
mod pages;
mod session;
mod text;
mod view;

pub use error::WebError;

/// Where the UI lives.
pub const PREFIX: &str = "/manage";

/// The largest form (a document's text and its properties) the UI takes;
/// uploads are limited by [`zsync_server::ServerConfig::max_body_bytes`].
pub const MAX_FORM_BYTES: usize = 16 << 20;

/// Settings of the web UI.
#[derive(Clone, Debug)]
pub struct WebConfig {
    /// Mark cookies `Secure` (the server speaks HTTPS).
    pub secure_cookies: bool,
    /// How long a web session lasts after login.
    pub session_ttl: Duration,
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            secure_cookies: false,
            session_ttl: Duration::from_secs(12 * 60 * 60),
        }
    }
}

/// What the UI's handlers see: the API's state (store, limits, login
/// limiter, content types) and the UI's own settings.
pub struct WebState<S> {
    pub server: ServerState<S>,
    pub config: Arc<WebConfig>,
}

impl<S: Clone> Clone for WebState<S> {
    fn clone(&self) -> Self {
        Self {
            server: self.server.clone(),
            config: Arc::clone(&self.config),
        }
    }
}

/// The suffix of routes that take a server path.
const PATH_SUFFIX: &str = "/{*path}";

/// Every `/manage` route: method, path below [`PREFIX`], handler. The one
/// list the router is built from and [`web_routes`] reports, so the
/// security tests see every route there is.
fn table<S: Store>() -> Vec<(Method, &'static str, MethodRouter<WebState<S>>)> {
    vec![
        (Method::GET, "/", get(pages::home)),
        (Method::GET, "/static/{file}", get(assets::asset)),
        (Method::GET, "/login", get(session::login_form::<S>)),
        (Method::POST, "/login", post(session::login::<S>)),
        (Method::POST, "/logout", post(session::logout::<S>)),
        (Method::GET, "/browse/{*path}", get(pages::browse::<S>)),
        (Method::GET, "/raw/{*path}", get(pages::raw::<S>)),
        (Method::GET, "/history/{*path}", get(pages::history::<S>)),
        (Method::GET, "/diff/{*path}", get(pages::diff::<S>)),
        (Method::GET, "/edit/{*path}", get(edit::edit_form::<S>)),
        (Method::POST, "/edit/{*path}", post(edit::save_text::<S>)),
        (Method::POST, "/props/{*path}", post(edit::save_props::<S>)),
        (Method::POST, "/mkdir/{*path}", post(edit::mkdir::<S>)),
        (
            Method::POST,
            "/newdoc/{*path}",
            post(edit::new_document::<S>),
        ),
        (
            Method::POST,
            "/upload/{*path}",
            post(edit::upload::<S>).layer(DefaultBodyLimit::disable()),
        ),
        (Method::POST, "/move/{*path}", post(edit::move_to::<S>)),
        (Method::POST, "/copy/{*path}", post(edit::copy_to::<S>)),
        (Method::GET, "/delete/{*path}", get(edit::delete_form::<S>)),
        (Method::POST, "/delete/{*path}", post(edit::delete::<S>)),
        (Method::POST, "/restore/{*path}", post(edit::restore::<S>)),
        (Method::POST, "/unlock/{*path}", post(edit::break_lock::<S>)),
        (Method::GET, "/admin", get(admin::page::<S>)),
        (Method::POST, "/admin/users", post(admin::add_user::<S>)),
        (Method::POST, "/admin/password", post(admin::password::<S>)),
        (Method::POST, "/admin/disable", post(admin::disable::<S>)),
        (Method::POST, "/admin/grants", post(admin::grant::<S>)),
        (Method::POST, "/admin/revoke", post(admin::revoke::<S>)),
        (Method::POST, "/admin/keys", post(admin::add_key::<S>)),
        (
            Method::POST,
            "/admin/keys/remove",
            post(admin::remove_key::<S>),
        ),
        (
            Method::POST,
            "/admin/sessions/end",
            post(admin::end_session::<S>),
        ),
        (
            Method::POST,
            "/admin/tokens/revoke",
            post(admin::revoke_token::<S>),
        ),
    ]
}

/// The `/manage` routes as (method, path below [`PREFIX`]); a path ending
/// in `/{*path}` also answers for the root, without it.
pub fn web_routes() -> Vec<(Method, &'static str)> {
    table::<SqlStore>()
        .into_iter()
        .map(|(method, route, _)| (method, route))
        .collect()
}

/// The UI's router, to be mounted beside the API with
/// [`zsync_server::router_with`].
pub fn router<S: Store>(server: ServerState<S>, config: WebConfig) -> Router {
    let at = |route: &str| format!("{PREFIX}{route}");
    let mut router = Router::new();
    for (_, route, handler) in table::<S>() {
        if let Some(base) = route.strip_suffix(PATH_SUFFIX) {
            router = router
                .route(&at(base), handler.clone())
                .route(&at(&format!("{base}/")), handler.clone());
        }
        router = router.route(&at(route), handler);
    }
    router = router.route(PREFIX, get(pages::home));
    let state = WebState {
        server,
        config: Arc::new(config),
    };
    router
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_FORM_BYTES))
        .layer(axum::middleware::map_response(security_headers))
        .layer(axum::middleware::map_response(error::html_rejections))
        .with_state(state)
}

mod tower_http_headers {
    use super::*;

    /// Pages may load only what zsyncd serves (no CDN, no inline script),
    /// may not be framed, and post forms only to zsyncd.
    const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
        img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; \
        connect-src 'self'";

    pub(super) async fn security_headers(
        mut response: axum::response::Response,
    ) -> axum::response::Response {
        let headers = response.headers_mut();
        if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
            headers.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(CSP),
            );
        }
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        headers.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        );
        if !headers.contains_key(header::CACHE_CONTROL) {
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
        response
    }
}
