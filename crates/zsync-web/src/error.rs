//! Failures of the UI's handlers, shown as pages: never a raw 500 or a
//! JSON body.

use askama::Template;
use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};

use crate::PREFIX;
use crate::text::encode_query;
use crate::view::{ErrorPage, Page};

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// Not logged in (or the session ended): go to the login form, then
    /// back to `next`.
    #[error("please log in")]
    Login { next: String },
    /// The form's CSRF token is missing or wrong.
    #[error(
        "this form is out of date or did not come from this site (its security token is \
         missing or wrong); reload the page and try again"
    )]
    Csrf,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    /// What the API's code refused (roles, validation, stale bases,
    /// limits), with its own message.
    #[error("{0}")]
    Server(#[from] zsync_server::Error),
    #[error("{0}")]
    Store(#[from] zsync_store::StoreError),
    #[error("{0}")]
    Internal(String),
}

impl WebError {
    fn status(&self) -> StatusCode {
        use zsync_server::Error as E;
        match self {
            WebError::Login { .. } => StatusCode::SEE_OTHER,
            WebError::Csrf | WebError::Forbidden(_) => StatusCode::FORBIDDEN,
            WebError::NotFound(_) => StatusCode::NOT_FOUND,
            WebError::BadRequest(_) => StatusCode::BAD_REQUEST,
            WebError::Server(e) => match e {
                E::BadRequest(_) | E::MethodNotAllowed(_) => StatusCode::BAD_REQUEST,
                E::Unauthorized(_) => StatusCode::UNAUTHORIZED,
                E::Forbidden(_) | E::ForbiddenPaths { .. } => StatusCode::FORBIDDEN,
                E::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
                E::Timeout(_) => StatusCode::REQUEST_TIMEOUT,
                E::NotFound { .. } => StatusCode::NOT_FOUND,
                E::Stale(_) | E::Conflict(_) => StatusCode::CONFLICT,
                E::Locked(_) => StatusCode::LOCKED,
                E::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
                E::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
                E::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            },
            WebError::Store(e) => match e {
                zsync_store::StoreError::NotFound(_) => StatusCode::NOT_FOUND,
                zsync_store::StoreError::Stale(_) | zsync_store::StoreError::AlreadyExists(_) => {
                    StatusCode::CONFLICT
                }
                zsync_store::StoreError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
                zsync_store::StoreError::Locked(_) => StatusCode::LOCKED,
                zsync_store::StoreError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
                zsync_store::StoreError::HashMismatch { .. } => StatusCode::BAD_REQUEST,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            },
            WebError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The message a person reads, and the details (one line per path).
    pub fn explain(&self) -> (String, Vec<String>) {
        use zsync_server::Error as E;
        let problem = |p: &zsync_format::PathProblem| match (p.line, p.column) {
            (Some(l), Some(c)) => format!("/{}:{l}:{c}: {}", p.path, p.message),
            (Some(l), None) => format!("/{}:{l}: {}", p.path, p.message),
            _ => format!("/{}: {}", p.path, p.message),
        };
        match self {
            WebError::Server(E::Invalid(problems)) => (
                "The change was refused; nothing was saved.".into(),
                problems.iter().map(problem).collect(),
            ),
            WebError::Server(E::Locked(paths)) => (
                "Someone else holds a lock on this; nothing was saved.".into(),
                paths.iter().map(problem).collect(),
            ),
            WebError::Server(E::ForbiddenPaths { message, paths }) => {
                (message.clone(), paths.iter().map(problem).collect())
            }
            WebError::Server(E::Stale(paths))
            | WebError::Store(zsync_store::StoreError::Stale(paths)) => (
                "Someone changed this since you opened it; nothing was saved. Reload the page \
                 to see the newest state."
                    .into(),
                paths.iter().map(|p| format!("/{p} changed")).collect(),
            ),
            WebError::Server(E::Internal(detail)) | WebError::Internal(detail) => {
                tracing::error!(error = %detail, "web UI request failed");
                (
                    "Something went wrong on the server; nothing was changed.".into(),
                    vec![],
                )
            }
            WebError::Store(e) if self.status() == StatusCode::INTERNAL_SERVER_ERROR => {
                tracing::error!(error = %e, "web UI store error");
                (
                    "Something went wrong on the server; nothing was changed.".into(),
                    vec![],
                )
            }
            other => (other.to_string(), vec![]),
        }
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        if let WebError::Login { next } = &self {
            return Redirect::to(&format!("{PREFIX}/login?next={}", encode_query(next)))
                .into_response();
        }
        let status = self.status();
        let (message, problems) = self.explain();
        let page = ErrorPage {
            page: Page::anonymous("Error"),
            status: status.as_u16(),
            message,
            problems,
        };
        let mut response = match page.render() {
            Ok(html) => (status, Html(html)).into_response(),
            Err(_) => (status, "error").into_response(),
        };
        if let WebError::Server(zsync_server::Error::TooManyRequests { retry_after, .. }) = &self
            && let Ok(v) = retry_after.to_string().parse()
        {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        response
    }
}

impl From<askama::Error> for WebError {
    fn from(e: askama::Error) -> Self {
        WebError::Internal(format!("rendering a page failed: {e}"))
    }
}

/// axum's own refusals (a malformed query or form, a wrong method) come
/// as plain text, JSON or nothing; people get them as a page like every
/// other error.
pub async fn html_rejections(response: Response) -> Response {
    let status = response.status();
    let html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if !status.is_client_error() || html {
        return response;
    }
    let body = axum::body::to_bytes(response.into_body(), 64 << 10)
        .await
        .unwrap_or_default();
    let message = match serde_json::from_slice::<zsync_format::ApiError>(&body) {
        Ok(api) => api.message,
        Err(_) => String::from_utf8_lossy(&body).trim().to_owned(),
    };
    let page = ErrorPage {
        page: Page::anonymous("Error"),
        status: status.as_u16(),
        message: if message.is_empty() {
            status
                .canonical_reason()
                .unwrap_or("Bad request")
                .to_owned()
        } else {
            format!("The request was not understood: {message}")
        },
        problems: Vec::new(),
    };
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(_) => status.into_response(),
    }
}

pub async fn method_not_allowed(request: Request) -> WebError {
    WebError::BadRequest(format!(
        "{} is not something {} can do.",
        request.method(),
        request.uri().path()
    ))
}

pub async fn not_found(request: Request) -> WebError {
    WebError::NotFound(format!("There is no page at {}.", request.uri().path()))
}
