//! Domain types shared by every zsync crate: [`RepoPath`], [`Oid`], [`Rev`],
//! [`Kind`], [`Props`], [`BodyHash`] and [`Role`].
//!
//! Nothing here does I/O; every constructor validates, so a value of these
//! types is always well-formed and the rest of the code need not re-check.

mod commit_id;
mod hash;
mod kind;
mod oid;
mod path;
mod role;

pub use commit_id::{CommitId, CommitIdParseError};
pub use hash::{BodyHash, BodyHasher, HashParseError};
pub use kind::Kind;
pub use oid::{Oid, OidParseError};
pub use path::{NameError, RepoPath, portability_problem, validate_name};
pub use role::{Role, RoleParseError};

/// A global revision number. Revision 0 is the empty repository; every
/// commit allocates the next number.
pub type Rev = u64;

/// An object's properties: an ordered string-to-string map. Annotations are
/// properties whose key has a namespace prefix (`dc:creator`).
pub type Props = std::collections::BTreeMap<String, String>;

/// The name of the admin directory at the top of a working copy. No object may
/// be called this, so a checkout can never collide with it.
pub const ADMIN_DIR: &str = ".zsync";
