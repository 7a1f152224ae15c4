//! Who is calling: HTTP Basic credentials checked against argon2 password
//! hashes, bearer tokens from `POST /login`, or nobody (`anonymous`); and
//! the roles they hold on each path.

use std::net::{IpAddr, SocketAddr};
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use zsync_format::PathProblem;
use zsync_model::{RepoPath, Role};
use zsync_store::{GrantSet, Store};

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
    /// None sent: the caller is `anonymous`.
    None,
    Password,
    /// A bearer token, known only by its hash.
    Token {
        hash: String,
    },
    /// Authenticated by the transport (SSH password or key, or the
    /// operator of `zsyncd serve --stdio`), not by the request.
    Transport,
    /// A session of the web UI, known only by its token's hash.
    WebSession {
        hash: String,
    },
}

/// The user a connection was authenticated as before HTTP began (SSH, or
/// `serve --stdio`). Only this crate's SSH and stdio paths put it into a
/// request's extensions; no header can, so it cannot be forged.
#[derive(Clone, Debug)]
pub(crate) struct TransportUser {
    pub(crate) name: String,
    /// True if the SSH login used the password (so `POST /login` may
    /// issue a token, as for HTTP Basic).
    pub(crate) by_password: bool,
}

/// The caller of a request: a user whose credentials were good, or
/// `anonymous` if none were sent. Extracting it refuses the request with
/// 401 if credentials were sent but are not good.
#[derive(Clone, Debug)]
pub struct Caller {
    pub name: String,
    pub credentials: Credentials,
    /// The caller's grants plus those of `anonymous`, which everyone has.
    pub grants: GrantSet,
}

fn article(role: Role) -> &'static str {
    if role == Role::Editor { "an" } else { "a" }
}

impl Caller {
    /// The caller for `name`, authenticated by `credentials` elsewhere
    /// (the web UI's session), with their grants and those of `anonymous`.
    pub async fn for_user<S: Store>(
        store: &S,
        name: &str,
        credentials: Credentials,
    ) -> Result<Caller, Error> {
        Ok(Caller {
            grants: grants_of(store, name).await?,
            name: name.to_owned(),
            credentials,
        })
    }

    pub fn is_anonymous(&self) -> bool {
        self.credentials == Credentials::None
    }

    /// The refusal for a caller lacking a role: 401 for anonymous, so the
    /// client asks who they are; 403 for a known user.
    pub fn denied(&self, message: String) -> Error {
        if self.is_anonymous() {
            missing()
        } else {
            Error::Forbidden(message)
        }
    }

    /// Refuses unless the caller holds at least `needed` on `path`;
    /// `action` completes "USER may not ...".
    pub fn require_at(&self, path: &RepoPath, needed: Role, action: &str) -> Result<(), Error> {
        if self.grants.allows(path, needed) {
            return Ok(());
        }
        Err(self.denied(format!(
            "{} may not {action} /{path}; {} {needed} role there is needed",
            self.name,
            article(needed)
        )))
    }

    /// Refuses unless the caller holds at least `needed` somewhere.
    pub fn require_somewhere(&self, needed: Role, action: &str) -> Result<(), Error> {
        if self.grants.highest().is_some_and(|r| r >= needed) {
            return Ok(());
        }
        Err(self.denied(format!(
            "{} may not {action}; {} {needed} role is needed",
            self.name,
            article(needed)
        )))
    }

    /// Refuses, listing every one of `paths` the caller may not `action`
    /// with `needed`. Each path comes with the one whose role counts (for
    /// an addition, its parent).
    pub fn require_all<'p>(
        &self,
        paths: impl IntoIterator<Item = (&'p RepoPath, &'p RepoPath)>,
        needed: Role,
        action: &str,
    ) -> Result<(), Error> {
        let refused: Vec<PathProblem> = paths
            .into_iter()
            .filter(|(_, checked)| !self.grants.allows(checked, needed))
            .map(|(path, checked)| {
                PathProblem::new(
                    path.to_string(),
                    format!("{} {needed} role on /{checked} is needed", article(needed)),
                )
            })
            .collect();
        if refused.is_empty() {
            return Ok(());
        }
        if self.is_anonymous() {
            return Err(missing());
        }
        Err(Error::ForbiddenPaths {
            message: format!(
                "{} may not {action} {} of the path(s); nothing was changed",
                self.name,
                refused.len()
            ),
            paths: refused,
        })
    }
}

/// Everything granted to `name` and to `anonymous`.
async fn grants_of<S: Store>(store: &S, name: &str) -> Result<GrantSet, Error> {
    let mut set = GrantSet::default();
    let names: &[&str] = if name == ANONYMOUS {
        &[ANONYMOUS]
    } else {
        &[name, ANONYMOUS]
    };
    for n in names {
        let grants = store.grants(Some(n)).await?;
        set.extend(grants.into_iter().map(|g| (g.path, g.role)));
    }
    Ok(set)
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
        if let Some(TransportUser { name, by_password }) = parts.extensions.get::<TransportUser>() {
            // Checked per request: a user disabled or removed while the
            // connection is open loses access at once.
            return match state.store.user(name).await? {
                Some(u) if !u.disabled => Ok(Caller {
                    grants: grants_of(&state.store, &u.name).await?,
                    name: u.name,
                    credentials: if *by_password {
                        Credentials::Password
                    } else {
                        Credentials::Transport
                    },
                }),
                _ => Err(failed_for(name)),
            };
        }
        let Some(header) = parts.headers.get(AUTHORIZATION) else {
            return Ok(Caller {
                name: ANONYMOUS.to_owned(),
                credentials: Credentials::None,
                grants: grants_of(&state.store, ANONYMOUS).await?,
            });
        };
        let header = header.to_str().map_err(|_| {
            Error::Unauthorized("authentication failed: malformed Authorization header".into())
        })?;
        let (scheme, value) = header.split_once(' ').unwrap_or((header, ""));
        let value = value.trim();
        let address = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        let (name, credentials) = if scheme.eq_ignore_ascii_case("basic") {
            (basic(state, value, address).await?, Credentials::Password)
        } else if scheme.eq_ignore_ascii_case("bearer") {
            bearer(&state.store, value).await?
        } else {
            return Err(Error::Unauthorized(
                "authentication failed: use the Basic or Bearer scheme".into(),
            ));
        };
        Ok(Caller {
            grants: grants_of(&state.store, &name).await?,
            name,
            credentials,
        })
    }
}

/// The user name, if the Basic credentials are good.
async fn basic<S: Store>(
    state: &ServerState<S>,
    encoded: &str,
    address: Option<IpAddr>,
) -> Result<String, Error> {
    let malformed =
        || Error::Unauthorized("authentication failed: malformed Basic credentials".into());
    let decoded = STANDARD.decode(encoded).map_err(|_| malformed())?;
    let decoded = String::from_utf8(decoded).map_err(|_| malformed())?;
    let (name, password) = decoded.split_once(':').ok_or_else(malformed)?;
    check_password(state, name, password, address).await
}

/// The user's name if `password` is theirs and the account is enabled;
/// failures count against the name and `address` in the login limiter.
pub async fn check_password<S: Store>(
    state: &ServerState<S>,
    name: &str,
    password: &str,
    address: Option<IpAddr>,
) -> Result<String, Error> {
    let store = &state.store;
    // Checked before the password, and the same for every name, so a
    // blocked guesser learns nothing, not even whether a name exists.
    if let Some(wait) = state.logins.blocked(name, address) {
        let secs = wait.as_secs().max(1);
        return Err(Error::TooManyRequests {
            message: format!("too many failed logins; try again in {secs} second(s)"),
            retry_after: secs,
        });
    }
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
        Some(u) if matches && !u.disabled => {
            state.logins.succeeded(name);
            Ok(u.name)
        }
        _ => {
            state.logins.failed(name, address);
            Err(failed_for(name))
        }
    }
}

/// The user of a valid token: over SSH a stored token serves as the
/// password, so the client need not keep the real one.
pub(crate) async fn token_owner<S: Store>(store: &S, token: &str) -> Option<String> {
    bearer(store, token).await.ok().map(|(name, _)| name)
}

async fn bearer<S: Store>(store: &S, token: &str) -> Result<(String, Credentials), Error> {
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
        Some(u) if !u.disabled => Ok((u.name, Credentials::Token { hash })),
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
        let demo = RepoPath::parse("demo").unwrap();
        let reader = Caller {
            name: "rita".into(),
            credentials: Credentials::Password,
            grants: GrantSet::new([(demo.clone(), Role::Reader)]),
        };
        let err = reader
            .require_at(&demo, Role::Editor, "change")
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "rita may not change /demo; an Editor role there is needed"
        );
        assert!(reader.require_at(&demo, Role::Reader, "read").is_ok());
        assert!(reader.require_somewhere(Role::Reader, "read").is_ok());
        let anonymous = Caller {
            name: ANONYMOUS.into(),
            credentials: Credentials::None,
            grants: GrantSet::default(),
        };
        assert!(matches!(
            anonymous.require_at(&demo, Role::Reader, "read"),
            Err(Error::Unauthorized(_))
        ));
    }
}
