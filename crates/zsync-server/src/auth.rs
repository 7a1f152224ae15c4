//! Who is calling: HTTP Basic credentials checked against argon2 password
//! hashes, or bearer tokens from `POST /login`; and the role each route
//! needs.

use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use zsync_model::Role;
use zsync_store::Store;

use crate::ServerState;
use crate::error::Error;

/// The longest user name.
pub const MAX_USER_NAME: usize = 64;

/// The name that stands for "not logged in", so no account may take it.
pub const ANONYMOUS: &str = "anonymous";

#[derive(Debug, thiserror::Error)]
#[error("hashing the password failed: {0}")]
pub struct PasswordHashError(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UserNameError {
    #[error("user name is empty")]
    Empty,
    #[error("user name {0:?} is longer than {MAX_USER_NAME} characters")]
    TooLong(String),
    #[error("user name {0:?} contains {1:?}; use letters, digits, '.', '_', '-' or '@'")]
    BadChar(String, char),
    #[error("user name {0:?} is reserved")]
    Reserved(String),
}

/// Checks a user name: 1 to 64 characters of ASCII letters, digits, `.`,
/// `_`, `-` and `@` (nothing that HTTP Basic or a URL's user part would
/// mangle), and not `anonymous`.
pub fn validate_user_name(name: &str) -> Result<(), UserNameError> {
    if name.is_empty() {
        return Err(UserNameError::Empty);
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@')))
    {
        let shown: String = name.chars().take(MAX_USER_NAME).collect();
        return Err(UserNameError::BadChar(shown, c));
    }
    if name.len() > MAX_USER_NAME {
        return Err(UserNameError::TooLong(name[..MAX_USER_NAME].to_owned()));
    }
    if name.eq_ignore_ascii_case(ANONYMOUS) {
        return Err(UserNameError::Reserved(name.to_owned()));
    }
    Ok(())
}

/// An argon2id PHC string for `password` with a random salt and the
/// default parameters. Slow on purpose: call it off the async runtime.
pub fn hash_password(password: &str) -> Result<String, PasswordHashError> {
    let salt_bytes: [u8; 16] = rand::random();
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|e| PasswordHashError(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| PasswordHashError(e.to_string()))
}

/// True if `password` matches the PHC string `hash`. A malformed hash
/// matches nothing.
fn password_matches(hash: &str, password: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// A hash to verify against when the user does not exist, so that an
/// unknown name costs as much time as a wrong password.
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| {
        let secret = hex::encode(rand::random::<[u8; 16]>());
        hash_password(&secret).unwrap_or_default()
    })
}

/// A fresh login token: 32 bytes from the thread-local CSPRNG, as hex.
pub fn new_token() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

/// The store keeps only this hash of a token, so a leaked database holds
/// no usable tokens.
pub fn token_hash(token: &str) -> String {
    blake3::hash(token.as_bytes()).to_hex().to_string()
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// How the caller proved who they are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credentials {
    Password,
    /// A bearer token, known only by its hash.
    Token {
        hash: String,
    },
}

/// The authenticated user of a request. Extracting it refuses the request
/// with 401 unless the credentials are good.
#[derive(Clone, Debug)]
pub struct Caller {
    pub name: String,
    pub role: Role,
    pub credentials: Credentials,
}

impl Caller {
    /// Refuses with 403 unless the caller has at least `needed`; `action`
    /// completes "USER may not ...".
    pub fn require(&self, needed: Role, action: &str) -> Result<(), Error> {
        if self.role >= needed {
            return Ok(());
        }
        let article = if needed == Role::Editor { "an" } else { "a" };
        Err(Error::Forbidden(format!(
            "{} ({}) may not {action}; {article} {needed} role is needed",
            self.name, self.role
        )))
    }
}

fn missing() -> Error {
    Error::Unauthorized(
        "authentication required: send HTTP Basic credentials or a bearer token \
         from POST /api/v1/login"
            .into(),
    )
}

fn failed_for(name: &str) -> Error {
    let shown: String = name.chars().take(MAX_USER_NAME).collect();
    Error::Unauthorized(format!("authentication failed for {shown}"))
}

impl<S: Store> FromRequestParts<ServerState<S>> for Caller {
    type Rejection = Error;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &ServerState<S>,
    ) -> Result<Self, Self::Rejection> {
        let header = parts.headers.get(AUTHORIZATION).ok_or_else(missing)?;
        let header = header.to_str().map_err(|_| {
            Error::Unauthorized("authentication failed: malformed Authorization header".into())
        })?;
        let (scheme, value) = header.split_once(' ').unwrap_or((header, ""));
        let value = value.trim();
        if scheme.eq_ignore_ascii_case("basic") {
            basic(&state.store, value).await
        } else if scheme.eq_ignore_ascii_case("bearer") {
            bearer(&state.store, value).await
        } else {
            Err(Error::Unauthorized(
                "authentication failed: use the Basic or Bearer scheme".into(),
            ))
        }
    }
}

async fn basic<S: Store>(store: &S, encoded: &str) -> Result<Caller, Error> {
    let malformed =
        || Error::Unauthorized("authentication failed: malformed Basic credentials".into());
    let decoded = STANDARD.decode(encoded).map_err(|_| malformed())?;
    let decoded = String::from_utf8(decoded).map_err(|_| malformed())?;
    let (name, password) = decoded.split_once(':').ok_or_else(malformed)?;

    let user = store.user(name).await?;
    // Verify even for unknown or disabled users, so the answer's timing
    // does not tell which names exist.
    let hash = user
        .as_ref()
        .map_or_else(|| decoy_hash().to_owned(), |u| u.password_hash.clone());
    let password = password.to_owned();
    let matches = tokio::task::spawn_blocking(move || password_matches(&hash, &password))
        .await
        .map_err(|e| Error::Internal(format!("password verification task failed: {e}")))?;
    match user {
        Some(u) if matches && !u.disabled => Ok(Caller {
            name: u.name,
            role: u.role,
            credentials: Credentials::Password,
        }),
        _ => Err(failed_for(name)),
    }
}

async fn bearer<S: Store>(store: &S, token: &str) -> Result<Caller, Error> {
    let refused = || {
        Error::Unauthorized(
            "authentication failed: the token is unknown, expired or revoked; log in again".into(),
        )
    };
    if token.is_empty() {
        return Err(refused());
    }
    let hash = token_hash(token);
    let name = store
        .token_user(&hash, unix_now())
        .await?
        .ok_or_else(refused)?;
    match store.user(&name).await? {
        Some(u) if !u.disabled => Ok(Caller {
            name: u.name,
            role: u.role,
            credentials: Credentials::Token { hash },
        }),
        _ => Err(refused()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_and_verify() {
        let hash = hash_password("s3cret").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(password_matches(&hash, "s3cret"));
        assert!(!password_matches(&hash, "s3cret "));
        assert!(!password_matches("not a phc string", "s3cret"));
        assert_ne!(hash, hash_password("s3cret").unwrap(), "salts must differ");
    }

    #[test]
    fn user_names() {
        for good in [
            "zsync",
            "a",
            "bob.smith",
            "x_y-z@example.org",
            &"n".repeat(64),
        ] {
            assert_eq!(validate_user_name(good), Ok(()), "{good}");
        }
        assert_eq!(validate_user_name(""), Err(UserNameError::Empty));
        assert!(matches!(
            validate_user_name(&"n".repeat(65)),
            Err(UserNameError::TooLong(_))
        ));
        assert!(matches!(
            validate_user_name("bob:x"),
            Err(UserNameError::BadChar(_, ':'))
        ));
        assert!(matches!(
            validate_user_name("bob smith"),
            Err(UserNameError::BadChar(_, ' '))
        ));
        assert!(matches!(
            validate_user_name("jörg"),
            Err(UserNameError::BadChar(_, 'ö'))
        ));
        assert!(matches!(
            validate_user_name("Anonymous"),
            Err(UserNameError::Reserved(_))
        ));
    }

    #[test]
    fn tokens_are_random_and_hashed() {
        let t = new_token();
        assert_eq!(t.len(), 64);
        assert_ne!(t, new_token());
        assert_eq!(token_hash(&t).len(), 64);
        assert_ne!(token_hash(&t), t);
    }

    #[test]
    fn role_messages() {
        let reader = Caller {
            name: "rita".into(),
            role: Role::Reader,
            credentials: Credentials::Password,
        };
        let err = reader.require(Role::Editor, "commit").unwrap_err();
        assert_eq!(
            err.to_string(),
            "rita (Reader) may not commit; an Editor role is needed"
        );
        assert!(reader.require(Role::Reader, "read").is_ok());
    }
}
