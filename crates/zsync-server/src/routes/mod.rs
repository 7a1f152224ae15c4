//! The `/api/v1` routes, the index page, and the JSON fallbacks.

use std::any::Any;

use axum::Router;
use axum::extract::Request;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post, put};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::{DefaultMakeSpan, DefaultOnResponse, TraceLayer};
use tracing::Level;
use zsync_format::API_PREFIX;
use zsync_store::Store;

use crate::ServerState;
use crate::error::Error;

mod bodies;
mod commit;
mod log;
mod session;
mod tree;

pub fn router<S: Store>(state: ServerState<S>) -> Router {
    let api = |route: &str| format!("{API_PREFIX}{route}");
    let mut router = Router::new().route("/", get(index));
    // axum's `{*path}` never matches an empty path, so each path-taking
    // route is registered for the root too, with and without the slash.
    let path_routes: [(&str, MethodRouter<ServerState<S>>); 3] = [
        ("/tree", get(tree::manifest::<S>)),
        ("/archive", get(tree::archive::<S>)),
        ("/log", get(log::log::<S>)),
    ];
    for (route, handler) in path_routes {
        router = router
            .route(&api(route), handler.clone())
            .route(&api(&format!("{route}/")), handler.clone())
            .route(&api(&format!("{route}/{{*path}}")), handler);
    }
    router
        .route(&api("/bodies/missing"), post(bodies::missing::<S>))
        .route(&api("/bodies/fetch"), post(bodies::fetch::<S>))
        .route(&api("/bodies/{hash}"), put(bodies::put::<S>))
        .route(&api("/commit"), post(commit::commit::<S>))
        .route(&api("/login"), post(session::login::<S>))
        .route(&api("/logout"), post(session::logout::<S>))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(CatchPanicLayer::custom(panicked))
        .layer(
            // The default span holds method, URI and version, never headers,
            // so credentials stay out of the log.
            TraceLayer::new_for_http()
                .make_span_with(DefaultMakeSpan::new().level(Level::INFO))
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .with_state(state)
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
