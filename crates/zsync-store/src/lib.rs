//! The object store behind `zsyncd`: typed objects with properties, global
//! revisions, the full history of every object, content-addressed bodies,
//! users, login tokens, web sessions and the roles granted to them per path.
//!
//! [`Store`] is the role; [`SqlStore`] implements it on SQLite and
//! [`PgStore`] on PostgreSQL, both through sqlx.
//! The store knows nothing of HTTP, SSH or permissions: the server decides
//! who may call what.

// The portable SQL modules are compiled once per engine on purpose (see
// `sql::sqlite`).
#![allow(clippy::duplicate_mod)]

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use futures_util::Stream;
use tokio::io::AsyncRead;
use zsync_format::{CommitRequest, CommitResponse, LogEntry, Manifest, PathProblem};
use zsync_model::{BodyHash, CommitId, Kind, Oid, Props, RepoPath, Rev, Role};

pub mod fault;
mod feed;
mod grants;
mod sql;

pub use grants::{Grant, GrantSet};
pub use sql::copy::{CopyReport, copy_sqlite_to_postgres};
pub use sql::{PgStore, SqlStore};

/// Bodies are stored and streamed in chunks of this size, so no body is
/// ever held whole in memory.
pub const CHUNK_SIZE: usize = 1 << 20;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} not found")]
    NotFound(String),
    /// A commit was refused because these objects changed on the server
    /// since the client's base revision. Every stale path is listed.
    #[error("{} object(s) changed on the server since your base revision", .0.len())]
    Stale(Vec<RepoPath>),
    /// A commit or upload was refused because its content is not
    /// acceptable; one problem per path.
    #[error("{} problem(s) in the request", .0.len())]
    Invalid(Vec<PathProblem>),
    #[error("{0} already exists")]
    AlreadyExists(String),
    /// Refused because of these locks: a commit touching objects someone
    /// else locked, a lock on what is locked already, or an unlock of
    /// someone else's lock without force.
    #[error("{} object(s) are locked", .0.len())]
    Locked(Vec<LockRecord>),
    #[error("body is larger than the limit of {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("uploaded body hashes to {actual}, not {expected}")]
    HashMismatch {
        expected: BodyHash,
        actual: BodyHash,
    },
    #[error("store is corrupt: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("I/O error in the store: {0}")]
    Io(#[from] std::io::Error),
}

/// The current state of one object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectRecord {
    pub path: RepoPath,
    pub oid: Oid,
    pub kind: Kind,
    /// The revision that last changed this object.
    pub rev: Rev,
    pub hash: Option<BodyHash>,
    pub size: u64,
    pub props: Props,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserRecord {
    pub name: String,
    /// A PHC string (argon2id); the store never sees a password.
    pub password_hash: String,
    /// The role granted at the root (so on everything), if any; a user
    /// may hold more roles on subtrees, see [`Store::grants`].
    pub role: Option<Role>,
    pub disabled: bool,
}

/// An SSH public key a user may log in with. The store does not parse
/// keys; the server computes the fingerprint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SshKeyRecord {
    /// `SHA256:...` as OpenSSH prints it; unique across users.
    pub fingerprint: String,
    pub user: String,
    /// The OpenSSH one-line form (`ssh-ed25519 AAAA... comment`).
    pub public_key: String,
    /// Seconds since the Unix epoch.
    pub added: i64,
}

/// A commit remembered by its client-given id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedCommit {
    /// Who committed it; only they may ask about it.
    pub user: String,
    /// The answer the commit was given.
    pub response: CommitResponse,
}

/// A lock on an object (svn lock semantics): while it is held, only its
/// owner may commit changes to the object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockRecord {
    /// Where the object is now (a lock follows its object when it moves).
    pub path: RepoPath,
    pub oid: Oid,
    pub user: String,
    /// The hash of the lock's token; the token itself is given to the
    /// working copy that took the lock, once.
    pub token_hash: String,
    /// Seconds since the Unix epoch.
    pub created: i64,
    pub comment: String,
}

/// An API login token, known by its hash (the token itself is never
/// stored).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenRecord {
    pub token_hash: String,
    pub user: String,
    /// Seconds since the Unix epoch.
    pub expires: i64,
}

/// A session of the web UI, known by the hash of its cookie's token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebSessionRecord {
    pub token_hash: String,
    pub user: String,
    /// Seconds since the Unix epoch.
    pub created: i64,
    pub expires: i64,
}

/// What [`Store::check`] found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IntegrityReport {
    pub head: Rev,
    pub objects: u64,
    pub bodies: u64,
    /// One sentence per problem; empty if the store is sound.
    pub problems: Vec<String>,
}

impl IntegrityReport {
    pub fn is_sound(&self) -> bool {
        self.problems.is_empty()
    }
}

/// A stream of a body's bytes, chunk by chunk.
pub type BodyStream = Pin<Box<dyn Stream<Item = Result<Bytes, StoreError>> + Send + 'static>>;

/// The object store. Cheap to clone: clones share one connection pool.
///
/// Every method is one transaction; [`Store::commit`] either applies every
/// operation of the request or none.
pub trait Store: Clone + Send + Sync + 'static {
    /// The newest revision (0 for an empty store).
    fn head(&self) -> impl Future<Output = Result<Rev, StoreError>> + Send;

    /// The object at `path` and its whole subtree, as of one consistent
    /// snapshot. [`StoreError::NotFound`] if there is no such object.
    fn manifest(
        &self,
        root: &RepoPath,
    ) -> impl Future<Output = Result<Manifest, StoreError>> + Send;

    /// The object at `path`, if any.
    fn object(
        &self,
        path: &RepoPath,
    ) -> impl Future<Output = Result<Option<ObjectRecord>, StoreError>> + Send;

    /// Those of `hashes` whose bodies the store does not hold.
    fn missing_bodies(
        &self,
        hashes: &[BodyHash],
    ) -> impl Future<Output = Result<Vec<BodyHash>, StoreError>> + Send;

    /// Stores a body streamed from `body`, which must hash to `expected`
    /// and be at most `max_size` bytes. The body is spooled outside the
    /// database first, so no write lock is held while the client sends.
    /// Storing a body the store already holds is a no-op that succeeds.
    fn put_body<R: AsyncRead + Unpin + Send>(
        &self,
        expected: BodyHash,
        body: R,
        max_size: u64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Stores a batch of small bodies, each at most [`CHUNK_SIZE`] bytes
    /// and each checked against its hash, in one transaction: all of them,
    /// or none ([`StoreError::HashMismatch`] names the first bad one,
    /// [`StoreError::TooLarge`] a body over a chunk). Bodies the store
    /// holds already are skipped.
    fn put_bodies(
        &self,
        bodies: Vec<(BodyHash, Bytes)>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The size of a stored body, or `None` if the store lacks it.
    fn body_size(
        &self,
        hash: &BodyHash,
    ) -> impl Future<Output = Result<Option<u64>, StoreError>> + Send;

    /// The body's bytes, streamed chunk by chunk.
    fn read_body(
        &self,
        hash: &BodyHash,
    ) -> impl Future<Output = Result<BodyStream, StoreError>> + Send;

    /// Applies a commit as one transaction and one new revision by `user`.
    /// A request with an id already committed by `user` is answered with
    /// that commit's result and changes nothing (the same id from another
    /// user is [`StoreError::AlreadyExists`]). Refuses the whole request with [`StoreError::Stale`] (listing every
    /// stale path) or [`StoreError::Invalid`] (listing every problem).
    fn commit(
        &self,
        user: &str,
        request: &CommitRequest,
    ) -> impl Future<Output = Result<CommitResponse, StoreError>> + Send;

    /// Reads the whole store in one snapshot and reports every broken
    /// invariant: revisions numbered without gaps, every object below an
    /// existing folder and in step with its history (nothing half
    /// committed), every body referred to present, complete and matching
    /// its hash. Problems are reported, not errors; an error means the
    /// check could not run.
    fn check(&self) -> impl Future<Output = Result<IntegrityReport, StoreError>> + Send;

    /// The commit the client named `id`, if it was committed.
    fn commit_by_id(
        &self,
        id: &CommitId,
    ) -> impl Future<Output = Result<Option<RecordedCommit>, StoreError>> + Send;

    /// Revisions that changed `path` or anything below it, newest first.
    fn log(
        &self,
        path: &RepoPath,
        limit: Option<u32>,
    ) -> impl Future<Output = Result<Vec<LogEntry>, StoreError>> + Send;

    /// [`StoreError::AlreadyExists`] if the name is taken.
    fn add_user(&self, user: &UserRecord) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn user(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Option<UserRecord>, StoreError>> + Send;

    fn list_users(&self) -> impl Future<Output = Result<Vec<UserRecord>, StoreError>> + Send;

    /// Replaces the password hash and revokes every token of the user.
    fn set_password(
        &self,
        name: &str,
        password_hash: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Grants `role` at the root ([`Store::grant`] on the root path), for
    /// an existing user.
    fn set_role(
        &self,
        name: &str,
        role: Role,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Disables or enables an account; disabling also revokes its tokens.
    fn set_disabled(
        &self,
        name: &str,
        disabled: bool,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Gives `user` `role` on `path` and below, replacing what that user
    /// held on exactly that path. The user need not exist (`anonymous`
    /// has no account); the caller checks names.
    fn grant(
        &self,
        user: &str,
        path: &RepoPath,
        role: Role,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Removes the grant of `user` on exactly `path`; true if there was one.
    fn revoke(
        &self,
        user: &str,
        path: &RepoPath,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// The grants of `user`, or of everyone, sorted by user and path.
    fn grants(
        &self,
        user: Option<&str>,
    ) -> impl Future<Output = Result<Vec<Grant>, StoreError>> + Send;

    /// The highest role `user` holds on `path` through a grant on it or an
    /// ancestor; grants of `anonymous` are not included.
    fn effective_role(
        &self,
        user: &str,
        path: &RepoPath,
    ) -> impl Future<Output = Result<Option<Role>, StoreError>> + Send {
        async move {
            let grants = self.grants(Some(user)).await?;
            Ok(GrantSet::new(grants.into_iter().map(|g| (g.path, g.role))).role_at(path))
        }
    }

    /// The object at `path` and its subtree as they were at revision `rev`
    /// (objects deleted since are there; objects added later are not).
    /// [`StoreError::NotFound`] if the path held nothing then, or `rev` is
    /// newer than the head.
    fn manifest_at(
        &self,
        root: &RepoPath,
        rev: Rev,
    ) -> impl Future<Output = Result<Manifest, StoreError>> + Send;

    /// The paths of the objects whose body is `hash`: the current ones, or
    /// if none holds it now, those that held it in any revision.
    fn body_paths(
        &self,
        hash: &BodyHash,
    ) -> impl Future<Output = Result<Vec<RepoPath>, StoreError>> + Send;

    /// Removes the user, their tokens and their grants.
    fn remove_user(&self, name: &str) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Records a login token by its hash (the token itself is never stored).
    fn add_token(
        &self,
        user: &str,
        token_hash: &str,
        expires: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The user a token belongs to, if it exists and has not expired at `now`.
    fn token_user(
        &self,
        token_hash: &str,
        now: i64,
    ) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;

    /// Revokes a token; true if it existed.
    fn remove_token(
        &self,
        token_hash: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// The API tokens of `user`, or of everyone (expired ones included
    /// until they are revoked).
    fn tokens(
        &self,
        user: Option<&str>,
    ) -> impl Future<Output = Result<Vec<TokenRecord>, StoreError>> + Send;

    /// Records a web session by its token's hash.
    /// [`StoreError::NotFound`] if the user does not exist.
    fn add_web_session(
        &self,
        session: &WebSessionRecord,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The user of a web session, if it exists and has not expired at `now`.
    fn web_session_user(
        &self,
        token_hash: &str,
        now: i64,
    ) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;

    /// The web sessions of `user`, or of everyone, that have not expired
    /// at `now` (expired ones are removed).
    fn web_sessions(
        &self,
        user: Option<&str>,
        now: i64,
    ) -> impl Future<Output = Result<Vec<WebSessionRecord>, StoreError>> + Send;

    /// Ends a web session; true if it existed.
    fn remove_web_session(
        &self,
        token_hash: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Registers an SSH public key for an existing user.
    /// [`StoreError::NotFound`] if the user does not exist,
    /// [`StoreError::AlreadyExists`] if the key is registered (for anyone).
    fn add_ssh_key(
        &self,
        key: &SshKeyRecord,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The SSH keys of `user`, or of everyone, sorted by user.
    fn ssh_keys(
        &self,
        user: Option<&str>,
    ) -> impl Future<Output = Result<Vec<SshKeyRecord>, StoreError>> + Send;

    /// Removes a key of `user`; true if there was one.
    fn remove_ssh_key(
        &self,
        user: &str,
        fingerprint: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Locks each of `paths` for `user` with its token's hash, as one
    /// transaction: all or none. [`StoreError::Invalid`] if a path names
    /// no object or a folder; [`StoreError::Locked`] (listing them) if any
    /// is locked already, unless `steal`, which replaces those locks.
    fn lock(
        &self,
        user: &str,
        paths: &[(RepoPath, String)],
        comment: &str,
        created: i64,
        steal: bool,
    ) -> impl Future<Output = Result<Vec<LockRecord>, StoreError>> + Send;

    /// Removes the locks on `paths` and returns the ones there were (paths
    /// without a lock are skipped). With `owner`, all must be theirs, or
    /// nothing is removed ([`StoreError::Locked`] lists the others').
    fn unlock(
        &self,
        paths: &[RepoPath],
        owner: Option<&str>,
    ) -> impl Future<Output = Result<Vec<LockRecord>, StoreError>> + Send;

    /// The locks at `root` and below, sorted by path.
    fn locks(
        &self,
        root: &RepoPath,
    ) -> impl Future<Output = Result<Vec<LockRecord>, StoreError>> + Send;

    /// The revisions after `since`, oldest first and at most `limit` of
    /// them, each with the paths it touched (the change feed).
    fn changes(
        &self,
        since: Rev,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<LogEntry>, StoreError>> + Send;

    /// Waits until the head is past `since` (a commit through this or any
    /// other process sharing the store) or `timeout` has passed, and
    /// returns the head.
    fn wait_for_head(
        &self,
        since: Rev,
        timeout: Duration,
    ) -> impl Future<Output = Result<Rev, StoreError>> + Send;
}
