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

/// The longest property value, in bytes: properties are metadata, and every
/// one of an object travels in each manifest.
pub const MAX_PROP_VALUE_BYTES: usize = 256 << 10;

/// Why `name` cannot name a property, if it cannot: 1 to 255 bytes, not
/// starting with `:` (a namespace prefix needs a namespace), no white space
/// or control characters. Client and server check by this one rule.
pub fn prop_name_problem(name: &str) -> Option<&'static str> {
    let ok = !name.is_empty()
        && name.len() <= 255
        && !name.starts_with(':')
        && !name.chars().any(|c| c.is_whitespace() || c.is_control());
    (!ok).then_some("a property name is 1 to 255 characters without spaces or control characters")
}

/// Why `value` cannot be a property value, if it cannot: text without NUL
/// (which not every store can hold), at most [`MAX_PROP_VALUE_BYTES`].
pub fn prop_value_problem(value: &str) -> Option<&'static str> {
    if value.contains('\0') {
        Some("a property value cannot contain NUL characters; keep binary data in a file")
    } else if value.len() > MAX_PROP_VALUE_BYTES {
        Some("a property value is at most 256 KiB; keep larger data in a file")
    } else {
        None
    }
}

/// The name of the admin directory at the top of a working copy. No object may
/// be called this, so a checkout can never collide with it.
pub const ADMIN_DIR: &str = ".zsync";
