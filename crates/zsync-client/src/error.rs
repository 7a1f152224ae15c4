use std::io;
use std::path::{Path, PathBuf};

use zsync_format::PathProblem;

/// Everything a client command can fail with. Every message names what went
/// wrong and where; the CLI adds what to do next where the variant implies it.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("invalid URL {url:?}: {reason}")]
    Url { url: String, reason: String },
    #[error("cannot connect to {url}: {detail}")]
    Connect { url: String, detail: String },
    #[error("authentication failed for {user} at {url}")]
    AuthFailed { user: String, url: String },
    #[error("authentication required at {url}: {hint}")]
    AuthRequired { url: String, hint: String },
    #[error("permission denied: {0}")]
    Forbidden(String),
    /// Refused because of these paths (a commit touching paths the user
    /// may not write); all of them are listed.
    #[error("permission denied: {message}")]
    ForbiddenPaths {
        message: String,
        problems: Vec<PathProblem>,
    },
    /// Refused because of other people's locks on these paths (owner and
    /// time in each problem).
    #[error("{message}")]
    LockedPaths {
        message: String,
        problems: Vec<PathProblem>,
    },
    #[error("the certificate of {host} is not trusted: {detail}")]
    Certificate { host: String, detail: String },
    /// A request the server refused as it stands (too large, too slow,
    /// too many failed logins, malformed).
    #[error("the server refused the request ({status}): {message}")]
    Rejected { status: u16, message: String },
    #[error("{what} not found on the server")]
    NotFound { what: String },
    /// A commit was refused because these paths changed on the server.
    #[error("commit refused: {} item(s) changed on the server since your last update", .paths.len())]
    Stale { paths: Vec<String> },
    /// The server refused content; one problem per path.
    #[error("the server refused the commit: {} problem(s)", .problems.len())]
    Invalid { problems: Vec<PathProblem> },
    #[error("server error ({status}): {message}")]
    Server { status: u16, message: String },
    #[error("unexpected reply from the server: {0}")]
    Protocol(String),
    #[error("{} is not in a zsync working copy", .0.display())]
    NotAWorkingCopy(PathBuf),
    #[error("{path}: {reason}")]
    Refused { path: String, reason: String },
    #[error("working copy {} is locked by another zsync command{holder}", .root.display())]
    Locked { root: PathBuf, holder: String },
    #[error("an interrupted zsync command left working copy {} half-changed", .root.display())]
    Interrupted { root: PathBuf },
    #[error("a commit from working copy {} was interrupted before its answer arrived", .root.display())]
    PendingCommit { root: PathBuf },
    #[error("working copy {} is damaged: {detail}", .root.display())]
    Corrupt { root: PathBuf, detail: String },
    #[error("{}: {source}", .path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error(transparent)]
    Archive(#[from] zsync_format::archive::ArchiveError),
}

pub type Result<T, E = ClientError> = std::result::Result<T, E>;

impl ClientError {
    pub fn io(path: impl AsRef<Path>) -> impl FnOnce(io::Error) -> ClientError {
        let path = path.as_ref().to_path_buf();
        move |source| ClientError::Io { path, source }
    }

    pub fn refused(path: impl std::fmt::Display, reason: impl Into<String>) -> ClientError {
        ClientError::Refused {
            path: path.to_string(),
            reason: reason.into(),
        }
    }

    /// Whether a request failed in a way that leaves its outcome unknown
    /// (the connection broke, the server failed or answered garbage), as
    /// opposed to a refusal, after which nothing changed.
    pub fn answer_lost(&self) -> bool {
        matches!(
            self,
            ClientError::Connect { .. } | ClientError::Server { .. } | ClientError::Protocol(_)
        )
    }

    /// What the user can do about it, where there is something to say.
    pub fn hint(&self) -> Option<&'static str> {
        Some(match self {
            ClientError::Stale { .. } => "run `zsync update`, then commit again",
            ClientError::Connect { .. } => "check the URL and that zsyncd is running",
            ClientError::AuthFailed { .. } => "check the user name and password",
            ClientError::NotAWorkingCopy(_) => "check out a working copy with `zsync checkout URL`",
            ClientError::Locked { .. } => {
                "wait for it to finish; if no zsync is running, run `zsync cleanup`"
            }
            ClientError::PendingCommit { .. } => {
                "run `zsync update` (or `zsync commit`): it asks the server whether the commit \
                 landed and records it either way"
            }
            ClientError::Corrupt { .. } => "run `zsync cleanup`, or check out again",
            ClientError::Interrupted { .. } => {
                "run `zsync cleanup` to finish or undo it (local edits are kept)"
            }
            ClientError::LockedPaths { .. } => {
                "ask the lock's owner to commit or unlock; a Manager can break a lock \
                 with `zsync unlock --force PATH`"
            }
            ClientError::Certificate { .. } => {
                "if the server uses a private CA, pass its certificate with --ca-cert FILE \
                 (or ZSYNC_CA_CERT=FILE)"
            }
            _ => return None,
        })
    }
}
