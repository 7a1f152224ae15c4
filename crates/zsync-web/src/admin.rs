//! Administration, for Managers (at the root): users, roles per folder,
//! SSH keys, web sessions and API tokens.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;
use zsync_model::{RepoPath, Role};
use zsync_server::auth::{ANONYMOUS, unix_now};
use zsync_store::{Store, StoreError, UserRecord};

use crate::error::WebError;
use crate::session::{Action, Session};
use crate::text::when;
use crate::view::{AdminPage, GrantRow, KeyRow, SessionRow, UserRow};
use crate::{PREFIX, WebState};

#[derive(Deserialize)]
pub struct DoneQuery {
    done: Option<String>,
}

/// Notices by code, so a link cannot make the page say anything else.
fn notice(code: &str) -> Option<&'static str> {
    Some(match code {
        "user" => "The user was added.",
        "password" => "The password was changed; that user's sessions ended.",
        "disabled" => "The account was disabled; its sessions ended.",
        "enabled" => "The account was enabled.",
        "grant" => "The role was granted.",
        "revoke" => "The role was revoked.",
        "key" => "The SSH key was added.",
        "unkey" => "The SSH key was removed.",
        "session" => "The session was ended.",
        "token" => "The token was revoked.",
        _ => return None,
    })
}

fn back(code: &str) -> Response {
    Redirect::to(&format!("{PREFIX}/admin?done={code}")).into_response()
}

fn short(hash: &str) -> String {
    hash.chars().take(12).collect()
}

pub async fn page<S: Store>(
    State(state): State<WebState<S>>,
    session: Session,
    Query(q): Query<DoneQuery>,
) -> Result<Response, WebError> {
    session.require_manager()?;
    let store = &state.server.store;
    let now = unix_now();
    let users = store
        .list_users()
        .await?
        .into_iter()
        .map(|u| UserRow {
            role: u.role.map(|r| r.to_string()).unwrap_or_else(|| "—".into()),
            name: u.name,
            disabled: u.disabled,
        })
        .collect();
    let grants = store
        .grants(None)
        .await?
        .into_iter()
        .map(|g| GrantRow {
            user: g.user,
            path: format!("/{}", g.path),
            role: g.role.to_string(),
        })
        .collect();
    let keys = store
        .ssh_keys(None)
        .await?
        .into_iter()
        .map(|k| KeyRow {
            user: k.user,
            fingerprint: k.fingerprint,
            added: when(k.added),
        })
        .collect();
    let sessions = store
        .web_sessions(None, now)
        .await?
        .into_iter()
        .map(|s| SessionRow {
            id: short(&s.token_hash),
            current: s.token_hash == session.token_hash,
            hash: s.token_hash,
            user: s.user,
            created: when(s.created),
            expires: when(s.expires),
        })
        .collect();
    let tokens = store
        .tokens(None)
        .await?
        .into_iter()
        .map(|t| SessionRow {
            id: short(&t.token_hash),
            current: false,
            hash: t.token_hash,
            user: t.user,
            created: String::new(),
            expires: if t.expires <= now {
                format!("{} (expired)", when(t.expires))
            } else {
                when(t.expires)
            },
        })
        .collect();
    let html = AdminPage {
        page: session
            .page("Administration")
            .with_notice(q.done.as_deref().and_then(notice).map(str::to_owned)),
        users,
        grants,
        keys,
        sessions,
        tokens,
    }
    .render()?;
    Ok(Html(html).into_response())
}

fn parse_role(role: &str) -> Result<Role, WebError> {
    role.parse::<Role>()
        .map_err(|e| WebError::BadRequest(format!("{role:?} is not a role: {e}.")))
}

async fn hash_password(password: String) -> Result<String, WebError> {
    if password.is_empty() {
        return Err(WebError::BadRequest("The password is empty.".into()));
    }
    tokio::task::spawn_blocking(move || zsync_server::hash_password(&password))
        .await
        .map_err(|e| WebError::Internal(format!("password hashing task failed: {e}")))?
        .map_err(|e| WebError::Internal(e.to_string()))
}

fn no_such_user(e: StoreError) -> WebError {
    match e {
        StoreError::NotFound(what) => WebError::BadRequest(format!("There is no {what}.")),
        StoreError::AlreadyExists(what) => WebError::BadRequest(format!("{what} already exists.")),
        e => e.into(),
    }
}

#[derive(Deserialize)]
pub struct UserForm {
    #[serde(default)]
    user: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    role: String,
}

pub async fn add_user<S: Store>(
    State(state): State<WebState<S>>,
    Action { session, form }: Action<UserForm>,
) -> Result<Response, WebError> {
    session.require_manager()?;
    let name = form.user.trim().to_owned();
    zsync_server::validate_user_name(&name).map_err(|e| WebError::BadRequest(format!("{e}.")))?;
    let role = match form.role.trim() {
        "" => None,
        r => Some(parse_role(r)?),
    };
    let password_hash = hash_password(form.password).await?;
    state
        .server
        .store
        .add_user(&UserRecord {
            name,
            password_hash,
            role,
            disabled: false,
        })
        .await
        .map_err(no_such_user)?;
    Ok(back("user"))
}

#[derive(Deserialize)]
pub struct PasswordForm {
    user: String,
    #[serde(default)]
    password: String,
}

pub async fn password<S: Store>(
    State(state): State<WebState<S>>,
    Action { session, form }: Action<PasswordForm>,
) -> Result<Response, WebError> {
    session.require_manager()?;
    let hash = hash_password(form.password).await?;
    state
        .server
        .store
        .set_password(&form.user, &hash)
        .await
        .map_err(no_such_user)?;
    Ok(back("password"))
}

#[derive(Deserialize)]
pub struct DisableForm {
    user: String,
    disabled: bool,
}

pub async fn disable<S: Store>(
    State(state): State<WebState<S>>,
    Action { session, form }: Action<DisableForm>,
) -> Result<Response, WebError> {
    session.require_manager()?;
    if form.disabled && form.user == session.name() {
        return Err(WebError::BadRequest(
            "You cannot disable your own account; ask another Manager.".into(),
        ));
    }
    state
        .server
        .store
        .set_disabled(&form.user, form.disabled)
        .await
        .map_err(no_such_user)?;
    Ok(back(if form.disabled { "disabled" } else { "enabled" }))
}

#[derive(Deserialize)]
pub struct GrantForm {
    user: String,
    path: String,
    #[serde(default)]
    role: String,
}

fn grant_target(user: &str, path: &str) -> Result<RepoPath, WebError> {
    if user != ANONYMOUS {
        zsync_server::validate_user_name(user)
            .map_err(|e| WebError::BadRequest(format!("{e}.")))?;
    }
    crate::text::parse_path(Some(path.trim())).map_err(WebError::BadRequest)
}

pub async fn grant<S: Store>(
    State(state): State<WebState<S>>,
    Action { session, form }: Action<GrantForm>,
) -> Result<Response, WebError> {
    session.require_manager()?;
    let user = form.user.trim();
    let path = grant_target(user, &form.path)?;
    let role = parse_role(form.role.trim())?;
    let store = &state.server.store;
    if user != ANONYMOUS && store.user(user).await?.is_none() {
        return Err(WebError::BadRequest(format!("There is no user {user}.")));
    }
    store.grant(user, &path, role).await?;
    Ok(back("grant"))
}

pub async fn revoke<S: Store>(
    State(state): State<WebState<S>>,
    Action { session, form }: Action<GrantForm>,
) -> Result<Response, WebError> {
    session.require_manager()?;
    let user = form.user.trim();
    let path = grant_target(user, &form.path)?;
    if user == session.name() && path.is_root() {
        return Err(WebError::BadRequest(
            "You cannot revoke your own role at /; ask another Manager.".into(),
        ));
    }
    if !state.server.store.revoke(user, &path).await? {
        return Err(WebError::BadRequest(format!(
            "{user} holds no role on /{path}."
        )));
    }
    Ok(back("revoke"))
}

#[derive(Deserialize)]
pub struct KeyForm {
    user: String,
    #[serde(default)]
    key: String,
    #[serde(default)]
    fingerprint: String,
}

pub async fn add_key<S: Store>(
    State(state): State<WebState<S>>,
    Action { session, form }: Action<KeyForm>,
) -> Result<Response, WebError> {
    session.require_manager()?;
    let record = zsync_server::ssh::key_record(form.user.trim(), &form.key)
        .map_err(|e| WebError::BadRequest(format!("{e}.")))?;
    state
        .server
        .store
        .add_ssh_key(&record)
        .await
        .map_err(no_such_user)?;
    Ok(back("key"))
}

pub async fn remove_key<S: Store>(
    State(state): State<WebState<S>>,
    Action { session, form }: Action<KeyForm>,
) -> Result<Response, WebError> {
    session.require_manager()?;
    if !state
        .server
        .store
        .remove_ssh_key(&form.user, &form.fingerprint)
        .await?
    {
        return Err(WebError::BadRequest(format!(
            "{} has no key {}.",
            form.user, form.fingerprint
        )));
    }
    Ok(back("unkey"))
}

#[derive(Deserialize)]
pub struct HashForm {
    hash: String,
}

pub async fn end_session<S: Store>(
    State(state): State<WebState<S>>,
    Action { session, form }: Action<HashForm>,
) -> Result<Response, WebError> {
    session.require_manager()?;
    if !state.server.store.remove_web_session(&form.hash).await? {
        return Err(WebError::BadRequest(
            "That session has ended already.".into(),
        ));
    }
    Ok(back("session"))
}

pub async fn revoke_token<S: Store>(
    State(state): State<WebState<S>>,
    Action { session, form }: Action<HashForm>,
) -> Result<Response, WebError> {
    session.require_manager()?;
    if !state.server.store.remove_token(&form.hash).await? {
        return Err(WebError::BadRequest(
            "That token was revoked already.".into(),
        ));
    }
    Ok(back("token"))
}
