//! Logging in and out, the session cookie, and the CSRF check every form
//! passes.
//!
//! A session is a random token in an `HttpOnly; SameSite=Lax` cookie (and
//! `Secure` over HTTPS); the store keeps only its hash. Each form carries a
//! CSRF token derived from the session token, so it needs no storage and
//! cannot be guessed without the cookie. The login form, which has no
//! session yet, carries a random nonce that must match a short-lived
//! cookie (double submit).

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;
use zsync_model::{RepoPath, Role};
use zsync_server::auth::{Caller, Credentials, check_password, new_token, token_hash, unix_now};
use zsync_store::{Store, WebSessionRecord};

use crate::error::WebError;
use crate::view::{LoginPage, Page};
use crate::{PREFIX, WebState};

pub const SESSION_COOKIE: &str = "zsync_session";
pub const LOGIN_COOKIE: &str = "zsync_login";
/// How long a login form stays usable.
const LOGIN_FORM_TTL: Duration = Duration::from_secs(60 * 60);

/// A logged-in user of the UI.
pub struct Session {
    pub caller: Caller,
    /// The token every form of this session carries.
    pub csrf: String,
    pub token_hash: String,
}

impl Session {
    pub fn name(&self) -> &str {
        &self.caller.name
    }

    pub fn may(&self, path: &RepoPath, role: Role) -> bool {
        self.caller.grants.allows(path, role)
    }

    pub fn is_manager(&self) -> bool {
        self.may(&RepoPath::root(), Role::Manager)
    }

    /// The common part of every page for this user.
    pub fn page(&self, title: impl Into<String>) -> Page {
        Page {
            title: title.into(),
            user: Some(self.caller.name.clone()),
            csrf: self.csrf.clone(),
            manager: self.is_manager(),
            notice: None,
        }
    }

    /// Refuses unless the user holds `role` on `path`; `what` completes
    /// "You may not ...".
    pub fn require(&self, path: &RepoPath, role: Role, what: &str) -> Result<(), WebError> {
        if self.may(path, role) {
            Ok(())
        } else {
            Err(WebError::Forbidden(format!(
                "{} may not {what} /{path}; the {role} role there is needed.",
                self.caller.name
            )))
        }
    }

    pub fn require_manager(&self) -> Result<(), WebError> {
        self.require(&RepoPath::root(), Role::Manager, "administer")
    }
}

/// The CSRF token of a session token: a keyed derivation, so it reveals
/// nothing about the session token.
fn csrf_for(token: &str) -> String {
    hex::encode(blake3::derive_key(
        "zsync web UI 2026-11 CSRF token",
        token.as_bytes(),
    ))
}

/// Compares secrets without leaking where they differ (BLAKE3's hash
/// equality is constant-time).
fn same_secret(a: &str, b: &str) -> bool {
    blake3::hash(a.as_bytes()) == blake3::hash(b.as_bytes())
}

fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn set_cookie(name: &str, value: &str, max_age: u64, secure: bool, same_site: &str) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let value = format!(
        "{name}={value}; Path={PREFIX}; Max-Age={max_age}; HttpOnly; SameSite={same_site}{secure}"
    );
    // Names and values are hex or fixed ASCII, so always a valid header.
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static(""))
}

impl<S: Store> FromRequestParts<WebState<S>> for Session {
    type Rejection = WebError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &WebState<S>,
    ) -> Result<Self, Self::Rejection> {
        // After login, a GET returns to where it was; a POST to its page.
        let next = if parts.method == Method::GET {
            parts
                .uri
                .path_and_query()
                .map_or_else(|| PREFIX.to_owned(), |p| p.as_str().to_owned())
        } else {
            PREFIX.to_owned()
        };
        let login = || WebError::Login { next: next.clone() };
        let token = cookie(&parts.headers, SESSION_COOKIE).ok_or_else(login)?;
        if token.is_empty() || token.len() > 128 {
            return Err(login());
        }
        let store = &state.server.store;
        let hash = token_hash(token);
        let name = store
            .web_session_user(&hash, unix_now())
            .await?
            .ok_or_else(login)?;
        match store.user(&name).await? {
            Some(u) if !u.disabled => {}
            _ => return Err(login()),
        }
        let caller =
            Caller::for_user(store, &name, Credentials::WebSession { hash: hash.clone() }).await?;
        Ok(Session {
            caller,
            csrf: csrf_for(token),
            token_hash: hash,
        })
    }
}

#[derive(Deserialize)]
struct CsrfField {
    #[serde(default)]
    csrf: String,
}

/// A posted form of a logged-in user whose CSRF token is right: the one
/// way handlers receive forms, so none can forget the check.
pub struct Action<T> {
    pub session: Session,
    pub form: T,
}

impl<S: Store, T: serde::de::DeserializeOwned> FromRequest<WebState<S>> for Action<T> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &WebState<S>) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        let session = Session::from_request_parts(&mut parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let request = Request::from_parts(parts, body);
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|e| WebError::BadRequest(format!("the form could not be read: {e}")))
            .map_err(IntoResponse::into_response)?;
        let CsrfField { csrf } =
            serde_urlencoded::from_bytes(&bytes).map_err(|_| WebError::Csrf.into_response())?;
        if !same_secret(&csrf, &session.csrf) {
            return Err(WebError::Csrf.into_response());
        }
        let form = serde_urlencoded::from_bytes(&bytes).map_err(|e| {
            WebError::BadRequest(format!("the form is incomplete or malformed: {e}"))
                .into_response()
        })?;
        Ok(Action { session, form })
    }
}

impl Session {
    /// Checks a CSRF token sent outside a urlencoded form (an upload).
    pub fn check_csrf(&self, csrf: &str) -> Result<(), WebError> {
        if same_secret(csrf, &self.csrf) {
            Ok(())
        } else {
            Err(WebError::Csrf)
        }
    }
}

/// The client's address, for the failed-login limiter.
pub struct ClientAddr(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}

#[derive(Deserialize)]
pub struct NextQuery {
    #[serde(default)]
    next: Option<String>,
}

/// Only pages of the UI itself are followed after login (no open
/// redirect).
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with(&format!("{PREFIX}/")) && !n.contains("//") && !n.contains('\\') =>
        {
            n.to_owned()
        }
        _ => format!("{PREFIX}/browse/"),
    }
}

fn login_page(
    state_secure: bool,
    next: &str,
    user: &str,
    error: Option<String>,
    status: axum::http::StatusCode,
) -> Result<Response, WebError> {
    let nonce = new_token();
    let page = LoginPage {
        page: Page::anonymous("Log in"),
        next: next.to_owned(),
        nonce: nonce.clone(),
        user: user.to_owned(),
        error,
    };
    let html = page.render()?;
    let mut response = (status, Html(html)).into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(
            LOGIN_COOKIE,
            &nonce,
            LOGIN_FORM_TTL.as_secs(),
            state_secure,
            "Strict",
        ),
    );
    Ok(response)
}

pub async fn login_form<S: Store>(
    State(state): State<WebState<S>>,
    Query(q): Query<NextQuery>,
) -> Result<Response, WebError> {
    let next = safe_next(q.next.as_deref());
    login_page(
        state.config.secure_cookies,
        &next,
        "",
        None,
        axum::http::StatusCode::OK,
    )
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    user: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    nonce: String,
    #[serde(default)]
    next: Option<String>,
}

pub async fn login<S: Store>(
    State(state): State<WebState<S>>,
    ClientAddr(address): ClientAddr,
    headers: HeaderMap,
    axum::Form(form): axum::Form<LoginForm>,
) -> Result<Response, WebError> {
    use axum::http::StatusCode;
    let secure = state.config.secure_cookies;
    let next = safe_next(form.next.as_deref());
    let user = form.user.trim();
    let nonce_ok = cookie(&headers, LOGIN_COOKIE)
        .is_some_and(|c| !c.is_empty() && same_secret(c, &form.nonce));
    if !nonce_ok {
        return login_page(
            secure,
            &next,
            user,
            Some(
                "This login form expired or did not come from this site; please try again.".into(),
            ),
            StatusCode::FORBIDDEN,
        );
    }
    let name = match check_password(&state.server, user, &form.password, address).await {
        Ok(name) => name,
        Err(zsync_server::Error::TooManyRequests { message, .. }) => {
            return login_page(
                secure,
                &next,
                user,
                Some(format!("Too many failed logins: {message}.")),
                StatusCode::TOO_MANY_REQUESTS,
            );
        }
        Err(zsync_server::Error::Unauthorized(_)) => {
            return login_page(
                secure,
                &next,
                user,
                Some("Wrong user name or password.".into()),
                StatusCode::UNAUTHORIZED,
            );
        }
        Err(e) => return Err(e.into()),
    };
    let token = new_token();
    let now = unix_now();
    let ttl = state.config.session_ttl.as_secs();
    state
        .server
        .store
        .add_web_session(&WebSessionRecord {
            token_hash: token_hash(&token),
            user: name.clone(),
            created: now,
            expires: now.saturating_add(i64::try_from(ttl).unwrap_or(i64::MAX)),
        })
        .await?;
    tracing::info!(user = %name, "web login");
    let mut response = Redirect::to(&next).into_response();
    let headers = response.headers_mut();
    headers.append(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, &token, ttl, secure, "Lax"),
    );
    headers.append(
        header::SET_COOKIE,
        set_cookie(LOGIN_COOKIE, "", 0, secure, "Strict"),
    );
    Ok(response)
}

#[derive(Deserialize)]
pub struct Empty {}

pub async fn logout<S: Store>(
    State(state): State<WebState<S>>,
    action: Action<Empty>,
) -> Result<Response, WebError> {
    state
        .server
        .store
        .remove_web_session(&action.session.token_hash)
        .await?;
    let mut response = Redirect::to(&format!("{PREFIX}/login")).into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, "", 0, state.config.secure_cookies, "Lax"),
    );
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_inside_the_ui() {
        assert_eq!(safe_next(Some("/manage/browse/a")), "/manage/browse/a");
        for bad in [
            "https://evil.example/",
            "//evil.example/manage/",
            "/manage//x",
            "/other",
        ] {
            assert_eq!(safe_next(Some(bad)), "/manage/browse/", "{bad}");
        }
    }

    #[test]
    fn csrf_tokens_differ_per_session() {
        let a = csrf_for("one");
        assert_eq!(a.len(), 64);
        assert_ne!(a, csrf_for("two"));
        assert!(same_secret(&a, &csrf_for("one")));
    }

    #[test]
    fn cookies_are_found_by_name() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; zsync_session=abc; b=2"),
        );
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&h, "c"), None);
        let c = set_cookie("x", "y", 5, true, "Lax");
        assert_eq!(
            c.to_str().unwrap(),
            "x=y; Path=/manage; Max-Age=5; HttpOnly; SameSite=Lax; Secure"
        );
    }
}
