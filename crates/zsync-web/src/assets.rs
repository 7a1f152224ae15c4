//! The stylesheet and script, compiled into the binary: the UI loads
//! nothing from elsewhere.

use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::error::WebError;

const CSS: &str = include_str!("../assets/manage.css");
const JS: &str = include_str!("../assets/manage.js");

pub async fn asset(Path(file): Path<String>) -> Result<Response, WebError> {
    let (body, content_type) = match file.as_str() {
        "manage.css" => (CSS, "text/css; charset=utf-8"),
        "manage.js" => (JS, "text/javascript; charset=utf-8"),
        _ => return Err(WebError::NotFound(format!("There is no file {file}."))),
    };
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        body,
    )
        .into_response())
}
