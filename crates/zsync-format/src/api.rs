//! JSON request and response bodies of the `/api/v1` routes.

use serde::{Deserialize, Serialize};
use zsync_model::{BodyHash, CommitId, Kind, Oid, Props, RepoPath, Rev};

/// The API version prefix of every route.
pub const API_PREFIX: &str = "/api/v1";

/// One object in a [`Manifest`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestEntry {
    /// Relative to the manifest's root; empty for the root object itself.
    pub path: RepoPath,
    pub oid: Oid,
    pub kind: Kind,
    /// The revision that last changed this object.
    pub rev: Rev,
    /// The body's hash; `None` for folders.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<BodyHash>,
    #[serde(default)]
    pub size: u64,
    #[serde(default, skip_serializing_if = "Props::is_empty")]
    pub props: Props,
    /// Who made revision `rev`.
    #[serde(default)]
    pub author: String,
}

/// A subtree as of revision `head`: the root object first, then every
/// descendant, parents before children, sorted by path.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// The server path of the subtree's root object.
    pub root: RepoPath,
    /// The newest revision of the whole store when the manifest was read.
    pub head: Rev,
    pub entries: Vec<ManifestEntry>,
    /// How many objects of the subtree were left out because the caller
    /// may not read them (a count, so their names stay private).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub omitted: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// One change in a commit. Every change to an existing object names the
/// object's id and the revision the client based its change on, so the
/// server can refuse the commit if anything changed since (optimistic
/// concurrency, as in ZODB).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum CommitOp {
    /// Create a new object. Its parent must exist or be added earlier in the
    /// same commit.
    Add {
        path: RepoPath,
        kind: Kind,
        #[serde(default)]
        props: Props,
        /// Required for everything but folders; the body must be uploaded.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        hash: Option<BodyHash>,
    },
    /// Change the body and/or properties of an existing object.
    Modify {
        path: RepoPath,
        oid: Oid,
        base_rev: Rev,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        props: Option<Props>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        hash: Option<BodyHash>,
    },
    /// Delete an object and, for a folder, its whole subtree. `known` lists
    /// every descendant the client had, with its base revision: if the
    /// server's subtree differs from it, the delete is stale.
    Delete {
        path: RepoPath,
        oid: Oid,
        base_rev: Rev,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        known: Vec<KnownObject>,
    },
    /// Move or rename an object (and, for a folder, its whole subtree) to
    /// `to`, keeping its oid so that history follows it. `to`'s parent
    /// must be an existing folder (or one added earlier in the commit) and
    /// its name free. `props` and `hash` change the moved object itself
    /// as [`CommitOp::Modify`] would, so a rename with an edit is one
    /// change of one object.
    Move {
        from: RepoPath,
        to: RepoPath,
        oid: Oid,
        base_rev: Rev,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        props: Option<Props>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        hash: Option<BodyHash>,
    },
}

impl CommitOp {
    pub fn path(&self) -> &RepoPath {
        match self {
            CommitOp::Add { path, .. }
            | CommitOp::Modify { path, .. }
            | CommitOp::Delete { path, .. }
            | CommitOp::Move { to: path, .. } => path,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnownObject {
    pub oid: Oid,
    pub rev: Rev,
}

/// `POST /api/v1/commit`. Paths are absolute server paths (relative to the
/// store root).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitRequest {
    pub message: String,
    pub ops: Vec<CommitOp>,
    /// The client's id for this commit. The server remembers it with the
    /// result: the same id sent again is answered with that result instead
    /// of being committed twice, and `GET /api/v1/commits/{id}` tells
    /// whether a commit whose answer was lost landed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<CommitId>,
    /// Keep the committer's locks on the committed objects (svn's
    /// `--no-unlock`); by default a commit releases them.
    #[serde(default, skip_serializing_if = "is_false")]
    pub keep_locks: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// What the server did with one object of a commit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommittedObject {
    pub path: RepoPath,
    pub oid: Oid,
    /// The new revision (the commit's), or for deletions the revision of
    /// the delete.
    pub rev: Rev,
    /// The object's properties as stored, which may include properties the
    /// server derived from the body (an image's size).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub props: Option<Props>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitResponse {
    pub rev: Rev,
    pub objects: Vec<CommittedObject>,
}

/// `POST /api/v1/bodies/missing`: which of these bodies the server lacks.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HashList {
    pub hashes: Vec<BodyHash>,
}

/// What a change did to one object in a revision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChangeAction {
    /// Added.
    A,
    /// Modified.
    M,
    /// Deleted.
    D,
    /// Moved or renamed here (with its parent, for a descendant); the
    /// change's `from` names the path it had before.
    R,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangedPath {
    pub path: RepoPath,
    pub oid: Oid,
    pub action: ChangeAction,
    /// For [`ChangeAction::R`]: the path the object had before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<RepoPath>,
}

/// One revision in `GET /api/v1/log/{path}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEntry {
    pub rev: Rev,
    /// Seconds since the Unix epoch.
    pub time: i64,
    pub user: String,
    pub message: String,
    #[serde(default)]
    pub changes: Vec<ChangedPath>,
}

/// `GET /api/v1/changes/{path}?since=REV[&wait=SECONDS]`: the revisions
/// after `since` that changed what the caller may read at or below the
/// path, oldest first. With `wait`, the server answers as soon as the head
/// passes `since` (a commit through any server sharing the store) or when
/// `wait` seconds have passed, whichever is first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeFeed {
    /// The newest revision in the store.
    pub head: Rev,
    /// The revisions up to this one are covered; ask again with
    /// `since=through` for more (it is below `head` when the answer was cut
    /// short).
    pub through: Rev,
    /// Revisions that changed something the caller may read at or below
    /// the path (a move is listed at its new path), oldest first.
    pub revisions: Vec<LogEntry>,
}

/// `POST /api/v1/login`: a bearer token for later requests.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginResponse {
    pub token: String,
    /// Seconds since the Unix epoch.
    pub expires: i64,
    pub user: String,
}

/// Every error response carries this JSON body, whatever the status code.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    /// Machine-readable: `unauthorized`, `forbidden`, `not_found`, `stale`,
    /// `invalid`, `conflict`, `too_large`, `too_many_requests`, `timeout`,
    /// `bad_request`, `internal`.
    pub code: String,
    /// One line for a person.
    pub message: String,
    /// The paths concerned (all stale paths of a refused commit, all paths
    /// a refused commit may not write).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub paths: Vec<PathProblem>,
}

/// One problem with one path. Content validation also says where in the
/// body: 1-based line and column.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PathProblem {
    pub path: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<u32>,
}

impl PathProblem {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
            line: None,
            column: None,
        }
    }
}

impl std::fmt::Display for PathProblem {
    /// `path: message`, or `path:line:col: message` as compilers print it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.line, self.column) {
            (Some(l), Some(c)) => write!(f, "{}:{l}:{c}: {}", self.path, self.message),
            (Some(l), None) => write!(f, "{}:{l}: {}", self.path, self.message),
            _ => write!(f, "{}: {}", self.path, self.message),
        }
    }
}

impl ApiError {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        Self {
            code: code.to_owned(),
            message: message.into(),
            paths: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_op_json_shape() {
        let op = CommitOp::Add {
            path: RepoPath::parse("demo/a.txt").unwrap(),
            kind: Kind::document(),
            props: Props::new(),
            hash: None,
        };
        let json = serde_json::to_string(&op).unwrap();
        assert_eq!(
            json,
            r#"{"op":"add","path":"demo/a.txt","kind":"document","props":{}}"#
        );
        assert_eq!(serde_json::from_str::<CommitOp>(&json).unwrap(), op);
    }

    #[test]
    fn manifest_refuses_escaping_paths() {
        let bad =
            r#"{"path":"../etc","oid":"00000000000000000000000000000000","kind":"file","rev":1}"#;
        assert!(serde_json::from_str::<ManifestEntry>(bad).is_err());
    }
}

/// `GET /api/v1/diff/{path}?from=N&to=M`: what changed in a subtree (or
/// one object) between two revisions, objects matched by oid, so a moved
/// object is one change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiffResponse {
    pub from: Rev,
    pub to: Rev,
    /// Changed objects, by path.
    pub objects: Vec<ObjectDiff>,
}

/// One object that differs between the two revisions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectDiff {
    /// Server path at `to` (at `from` for a deleted object).
    pub path: RepoPath,
    /// A, M, D, or R (moved; `from_path` says from where).
    pub action: ChangeAction,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_path: Option<RepoPath>,
    pub kind: Kind,
    /// The bodies' unified diff (with `---`/`+++` headers), if the body
    /// changed and both sides are text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// The body changed but is binary (or too large to diff).
    #[serde(default)]
    pub binary: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub props: Vec<PropChange>,
}

/// One property that differs; `None` where it is absent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PropChange {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new: Option<String>,
}

/// `POST /api/v1/locks`: lock objects (all or none).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockRequest {
    pub paths: Vec<RepoPath>,
    #[serde(default)]
    pub comment: String,
    /// Take the lock even from its holder (needs Manager).
    #[serde(default, skip_serializing_if = "is_false")]
    pub steal: bool,
}

/// `POST /api/v1/unlock`: release locks (all or none).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnlockRequest {
    pub paths: Vec<RepoPath>,
    /// Break someone else's lock (needs Manager).
    #[serde(default, skip_serializing_if = "is_false")]
    pub force: bool,
}

/// One lock, as `GET /api/v1/locks/{path}` lists it and `POST
/// /api/v1/locks` and `POST /api/v1/unlock` answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockInfo {
    pub path: RepoPath,
    pub oid: Oid,
    pub owner: String,
    /// Seconds since the Unix epoch.
    pub created: i64,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub comment: String,
    /// The BLAKE3 hash (hex) of the lock's token: a working copy holding
    /// a token compares its hash to tell its own lock from a newer one.
    pub token_hash: String,
    /// The token itself, only in the answer to the lock that made it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}
