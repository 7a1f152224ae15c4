//! The `/api/v1` routes, the index page, and the JSON fallbacks.

use std::any::Any;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::Method;
use axum::http::header::CONTENT_TYPE;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post, put};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::{DefaultMakeSpan, DefaultOnResponse, TraceLayer};
use tracing::Level;
use zsync_format::API_PREFIX;
use zsync_store::{SqlStore, Store};

use crate::ServerState;
use crate::error::Error;

mod bodies;
mod changes;
pub(crate) mod commit;
mod diff;
mod locks;
mod log;
mod session;
mod tree;

/// The suffix of routes that take a server path.
const PATH_SUFFIX: &str = "/{*path}";

/// Every `/api/v1` route: method, path below [`API_PREFIX`], handler. The
/// one list the router is built from and [`api_routes`] reports, so the
/// security tests see every route there is.
fn table<S: Store>() -> Vec<(Method, &'static str, MethodRouter<ServerState<S>>)> {
    vec![
        (Method::GET, "/tree/{*path}", get(tree::manifest::<S>)),
        (Method::GET, "/archive/{*path}", get(tree::archive::<S>)),
        (Method::GET, "/log/{*path}", get(log::log::<S>)),
        (Method::GET, "/changes/{*path}", get(changes::changes::<S>)),
        (Method::GET, "/diff/{*path}", get(diff::diff::<S>)),
        (Method::POST, "/bodies/missing", post(bodies::missing::<S>)),
        (Method::POST, "/bodies/fetch", post(bodies::fetch::<S>)),
        (Method::PUT, "/bodies/{hash}", put(bodies::put::<S>)),
        (Method::POST, "/bodies", post(bodies::put_batch::<S>)),
        (Method::POST, "/commit", post(commit::commit::<S>)),
        (Method::GET, "/commits/{id}", get(commit::lookup::<S>)),
        (Method::POST, "/locks", post(locks::lock::<S>)),
        (Method::POST, "/unlock", post(locks::unlock::<S>)),
        (Method::GET, "/locks/{*path}", get(locks::list::<S>)),
        (Method::POST, "/login", post(session::login::<S>)),
        (Method::POST, "/logout", post(session::logout::<S>)),
    ]
}

/// The `/api/v1` routes as (method, path below the prefix); a path ending
/// in `/{*path}` also answers for the root, without it.
pub fn api_routes() -> Vec<(Method, &'static str)> {
    // The list does not depend on the store type; any one will do.
    table::<SqlStore>()
        .into_iter()
        .map(|(method, route, _)| (method, route))
        .collect()
}

pub fn router<S: Store>(state: ServerState<S>, extra: Router) -> Router {
    let api = |route: &str| format!("{API_PREFIX}{route}");
    let mut router = Router::new().route("/", get(index));
    for (_, route, handler) in table::<S>() {
        // axum's `{*path}` never matches an empty path, so each path-taking
        // route is registered for the root too, with and without the slash.
        if let Some(base) = route.strip_suffix(PATH_SUFFIX) {
            router = router
                .route(&api(base), handler.clone())
                .route(&api(&format!("{base}/")), handler.clone());
        }
        router = router.route(&api(route), handler);
    }
    let timeout = state.config.request_timeout;
    router
        .with_state(state)
        .merge(extra)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(timeout, time_limit))
        .layer(CatchPanicLayer::custom(panicked))
        .layer(
            // The default span holds method, URI and version, never headers,
            // so credentials stay out of the log.
            TraceLayer::new_for_http()
                .make_span_with(DefaultMakeSpan::new().level(Level::INFO))
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
}

async fn index() -> impl IntoResponse {
    (
        [(CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!(
            "zsyncd, the zsync content server.\n\
             The sync API is at {API_PREFIX}; use it with the zsync client:\n\
             \n    zsync checkout http://HOST:PORT/PATH\n"
        ),
    )
}

/// Ends a request that has not produced its response within the limit
/// with a JSON 408 (tower-http's `TimeoutLayer` answers with an empty body).
async fn time_limit(
    State(limit): State<std::time::Duration>,
    request: Request,
    next: Next,
) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => Error::Timeout(format!(
            "the request took longer than {} second(s); it was cancelled",
            limit.as_secs()
        ))
        .into_response(),
    }
}

async fn not_found(request: Request) -> Error {
    Error::NotFound {
        message: format!("no route for {}", request.uri().path()),
        path: None,
    }
}

async fn method_not_allowed(request: Request) -> Error {
    Error::MethodNotAllowed(format!(
        "{} is not allowed on {}",
        request.method(),
        request.uri().path()
    ))
}

fn panicked(_panic: Box<dyn Any + Send + 'static>) -> Response {
    Error::Internal("a request handler panicked".into()).into_response()
}
