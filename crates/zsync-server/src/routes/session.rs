//! `POST /login` and `POST /logout`: bearer tokens, so clients need not send
//! (and the server need not verify) a password with every request.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use zsync_format::LoginResponse;
use zsync_store::Store;

use crate::ServerState;
use crate::auth::{Caller, Credentials, new_token, token_hash, unix_now};
use crate::error::Error;

pub async fn login<S: Store>(
    State(state): State<ServerState<S>>,
    caller: Caller,
) -> Result<Json<LoginResponse>, Error> {
    // A token must not be able to renew itself forever.
    if caller.credentials != Credentials::Password {
        return Err(Error::Unauthorized(
            "log in with a user name and password (HTTP Basic), not a token".into(),
        ));
    }
    let token = new_token();
    let expires = unix_now().saturating_add(seconds(state.config.token_ttl));
    state
        .store
        .add_token(&caller.name, &token_hash(&token), expires)
        .await?;
    tracing::info!(user = %caller.name, "logged in");
    Ok(Json(LoginResponse {
        token,
        expires,
        user: caller.name,
    }))
}

pub async fn logout<S: Store>(
    State(state): State<ServerState<S>>,
    caller: Caller,
) -> Result<StatusCode, Error> {
    if caller.is_anonymous() {
        return Err(caller.denied(String::new()));
    }
    let Credentials::Token { hash } = &caller.credentials else {
        return Err(Error::BadRequest(
            "logout revokes the bearer token it is sent with; this request has none".into(),
        ));
    };
    state.store.remove_token(hash).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn seconds(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}
