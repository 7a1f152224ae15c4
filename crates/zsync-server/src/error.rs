//! The one error type of every handler, and how it becomes a JSON
//! [`ApiError`] response.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use zsync_format::{ApiError, PathProblem};
use zsync_model::RepoPath;
use zsync_store::{LockRecord, StoreError};

/// Why a request failed. Each variant maps to one HTTP status and one
/// [`ApiError::code`].
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    /// Refused because the caller may not write these paths; all listed.
    #[error("{message}")]
    ForbiddenPaths {
        message: String,
        paths: Vec<PathProblem>,
    },
    #[error("{message}")]
    TooManyRequests { message: String, retry_after: u64 },
    #[error("{0}")]
    Timeout(String),
    #[error("{message}")]
    NotFound {
        message: String,
        path: Option<String>,
    },
    #[error("{0}")]
    MethodNotAllowed(String),
    #[error("{} object(s) changed on the server since your base revision", .0.len())]
    Stale(Vec<RepoPath>),
    #[error("{0}")]
    Conflict(String),
    /// Refused because of other people's locks; one problem per path,
    /// naming the owner and since when.
    #[error("{} object(s) are locked by someone else", .0.len())]
    Locked(Vec<PathProblem>),
    #[error("{0}")]
    TooLarge(String),
    #[error("{} problem(s) in the request", .0.len())]
    Invalid(Vec<PathProblem>),
    /// The detail is logged, never sent: it may describe the server's
    /// internals.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    pub fn not_found_path(path: &RepoPath) -> Self {
        Error::NotFound {
            message: format!("no object at /{path}"),
            path: Some(path.to_string()),
        }
    }

    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Error::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            Error::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            Error::Forbidden(_) | Error::ForbiddenPaths { .. } => {
                (StatusCode::FORBIDDEN, "forbidden")
            }
            Error::TooManyRequests { .. } => (StatusCode::TOO_MANY_REQUESTS, "too_many_requests"),
            Error::Timeout(_) => (StatusCode::REQUEST_TIMEOUT, "timeout"),
            Error::NotFound { .. } => (StatusCode::NOT_FOUND, "not_found"),
            Error::MethodNotAllowed(_) => (StatusCode::METHOD_NOT_ALLOWED, "bad_request"),
            Error::Stale(_) => (StatusCode::CONFLICT, "stale"),
            Error::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            Error::Locked(_) => (StatusCode::LOCKED, "locked"),
            Error::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
            Error::Invalid(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
            Error::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }

    /// The JSON body a client gets.
    pub fn to_api_error(&self) -> ApiError {
        let (_, code) = self.status_and_code();
        match self {
            Error::Stale(paths) => ApiError {
                code: code.into(),
                message: format!(
                    "{} object(s) changed on the server since your base revision; \
                     run `zsync update` first",
                    paths.len()
                ),
                paths: paths
                    .iter()
                    .map(|p| PathProblem::new(p.to_string(), "changed on the server"))
                    .collect(),
            },
            Error::Locked(paths) => ApiError {
                code: code.into(),
                message: format!(
                    "{} object(s) are locked by someone else; nothing was changed",
                    paths.len()
                ),
                paths: paths.clone(),
            },
            Error::ForbiddenPaths { message, paths } => ApiError {
                code: code.into(),
                message: message.clone(),
                paths: paths.clone(),
            },
            Error::Invalid(problems) => ApiError {
                code: code.into(),
                message: format!(
                    "{} problem(s) in the request; nothing was changed",
                    problems.len()
                ),
                paths: problems.clone(),
            },
            Error::NotFound {
                message,
                path: Some(path),
            } => ApiError {
                code: code.into(),
                message: message.clone(),
                paths: vec![PathProblem::new(path.clone(), "not found")],
            },
            Error::Internal(_) => ApiError::new(
                code,
                "internal server error; the server's log has the details",
            ),
            other => ApiError::new(code, other.to_string()),
        }
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => Error::NotFound {
                message: format!("{what} not found"),
                path: None,
            },
            StoreError::Stale(paths) => Error::Stale(paths),
            StoreError::Invalid(problems) => Error::Invalid(problems),
            StoreError::Locked(locks) => Error::Locked(locks.iter().map(lock_problem).collect()),
            StoreError::AlreadyExists(what) => Error::Conflict(format!("{what} already exists")),
            StoreError::TooLarge { limit } => {
                Error::TooLarge(format!("body is larger than the limit of {limit} bytes"))
            }
            e @ StoreError::HashMismatch { .. } => Error::BadRequest(e.to_string()),
            other => Error::Internal(other.to_string()),
        }
    }
}

/// `locked by bob since 2026-11-25 23:40:00 UTC: comment`.
fn lock_problem(lock: &LockRecord) -> PathProblem {
    let since = time::OffsetDateTime::from_unix_timestamp(lock.created)
        .ok()
        .and_then(|t| {
            t.format(time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute]:[second] UTC"
            ))
            .ok()
        })
        .unwrap_or_else(|| lock.created.to_string());
    let mut message = format!("locked by {} since {since}", lock.user);
    if !lock.comment.is_empty() {
        message.push_str(": ");
        message.push_str(&lock.comment);
    }
    PathProblem::new(lock.path.to_string(), message)
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let (status, _) = self.status_and_code();
        if let Error::Internal(detail) = &self {
            tracing::error!(%detail, "request failed");
        }
        let mut response = (status, Json(self.to_api_error())).into_response();
        if let Error::TooManyRequests { retry_after, .. } = &self {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
        }
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"zsync\""),
            );
        }
        response
    }
}
