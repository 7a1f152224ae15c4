use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ADMIN_DIR;

/// Longest name of one object, in bytes (what common filesystems hold).
pub const MAX_NAME_BYTES: usize = 255;
/// Longest path, in bytes.
pub const MAX_PATH_BYTES: usize = 4096;
/// Deepest nesting of folders.
pub const MAX_DEPTH: usize = 128;

/// Why a name or path is not acceptable. Each message says what to do.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum NameError {
    #[error("empty name (a path has '//' or is blank)")]
    Empty,
    #[error("name {0:?} is reserved: '.' and '..' cannot name objects")]
    Dot(String),
    #[error("name {0:?} is reserved for zsync's admin directory")]
    Reserved(String),
    #[error("name {0:?} contains {1}, which names cannot hold")]
    BadChar(String, &'static str),
    #[error("name {0:?}... is longer than {MAX_NAME_BYTES} bytes")]
    TooLong(String),
    #[error("path is longer than {MAX_PATH_BYTES} bytes")]
    PathTooLong,
    #[error("path is nested deeper than {MAX_DEPTH} levels")]
    TooDeep,
}

/// Checks one object name: what every filesystem and the wire can hold.
pub fn validate_name(name: &str) -> Result<(), NameError> {
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    if name == "." || name == ".." {
        return Err(NameError::Dot(name.to_owned()));
    }
    if name.eq_ignore_ascii_case(ADMIN_DIR) {
        return Err(NameError::Reserved(name.to_owned()));
    }
    if name.len() > MAX_NAME_BYTES {
        let short: String = name.chars().take(40).collect();
        return Err(NameError::TooLong(short));
    }
    for c in name.chars() {
        let what = match c {
            '/' => "'/'",
            '\\' => "'\\'",
            '\0' => "a NUL byte",
            c if c.is_control() => "a control character",
            _ => continue,
        };
        return Err(NameError::BadChar(name.to_owned(), what));
    }
    Ok(())
}

/// Why `name` cannot be written on a common filesystem, or `None` if it
/// can be written everywhere zsync runs: Windows refuses its device names
/// (`CON`, `aux.txt`, `COM1`, ...), names ending in a dot or space, and
/// `<>:"|?*`; macOS's Finder shows `:` as `/`. Such names are valid
/// `RepoPath` components (Linux holds them), but the server refuses new
/// ones so that every checkout of shared content can be written anywhere.
pub fn portability_problem(name: &str) -> Option<String> {
    const RESERVED: [&str; 4] = ["CON", "PRN", "AUX", "NUL"];
    if let Some(c) = name
        .chars()
        .find(|c| matches!(c, '<' | '>' | ':' | '"' | '|' | '?' | '*'))
    {
        return Some(format!(
            "the name holds {c:?}, which Windows (and for ':' macOS) cannot hold in a file name"
        ));
    }
    if name.ends_with('.') || name.ends_with(' ') {
        return Some("the name ends in a dot or space, which Windows drops".into());
    }
    let stem = name.split('.').next().unwrap_or(name).trim_end_matches(' ');
    let upper = stem.to_ascii_uppercase();
    let device = RESERVED.contains(&upper.as_str())
        || ((upper.starts_with("COM") || upper.starts_with("LPT"))
            && upper.len() == 4
            && upper.as_bytes()[3].is_ascii_digit()
            && upper.as_bytes()[3] != b'0');
    if device {
        return Some(format!(
            "{stem} is a device name on Windows, which cannot hold a file of that name"
        ));
    }
    None
}

/// A validated, relative, `/`-separated path of an object. The empty path is
/// the root. No component is empty, `.`, `..` or the admin directory, and none
/// holds `/`, `\`, NUL or control characters, so a `RepoPath` joined onto a
/// directory can never escape it.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RepoPath(String);

impl RepoPath {
    pub fn root() -> Self {
        Self(String::new())
    }

    /// Parses a path, tolerating one leading and one trailing `/` (as URLs
    /// write them): `/demo/`, `demo` and `demo/` are the same object.
    pub fn parse(s: &str) -> Result<Self, NameError> {
        let s = s.strip_prefix('/').unwrap_or(s);
        let s = s.strip_suffix('/').unwrap_or(s);
        if s.is_empty() {
            return Ok(Self::root());
        }
        if s.len() > MAX_PATH_BYTES {
            return Err(NameError::PathTooLong);
        }
        let mut depth = 0;
        for part in s.split('/') {
            validate_name(part)?;
            depth += 1;
        }
        if depth > MAX_DEPTH {
            return Err(NameError::TooDeep);
        }
        Ok(Self(s.to_owned()))
    }

    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn join(&self, name: &str) -> Result<Self, NameError> {
        validate_name(name)?;
        if self.is_root() {
            return Ok(Self(name.to_owned()));
        }
        let joined = format!("{}/{}", self.0, name);
        if joined.len() > MAX_PATH_BYTES {
            return Err(NameError::PathTooLong);
        }
        if self.depth() + 1 > MAX_DEPTH {
            return Err(NameError::TooDeep);
        }
        Ok(Self(joined))
    }

    /// Joins a relative path (itself valid) below this one.
    pub fn join_path(&self, rel: &RepoPath) -> Result<Self, NameError> {
        if rel.is_root() {
            return Ok(self.clone());
        }
        if self.is_root() {
            return Ok(rel.clone());
        }
        Self::parse(&format!("{}/{}", self.0, rel.0))
    }

    pub fn parent(&self) -> Option<Self> {
        if self.is_root() {
            return None;
        }
        Some(match self.0.rfind('/') {
            Some(i) => Self(self.0[..i].to_owned()),
            None => Self::root(),
        })
    }

    /// The last component; empty for the root.
    pub fn name(&self) -> &str {
        match self.0.rfind('/') {
            Some(i) => &self.0[i + 1..],
            None => &self.0,
        }
    }

    pub fn components(&self) -> impl Iterator<Item = &str> {
        self.0.split('/').filter(|c| !c.is_empty())
    }

    pub fn depth(&self) -> usize {
        self.components().count()
    }

    /// True if `self` is `other` or one of its ancestors.
    pub fn contains(&self, other: &RepoPath) -> bool {
        self.is_root()
            || other.0 == self.0
            || (other.0.starts_with(&self.0) && other.0.as_bytes()[self.0.len()] == b'/')
    }

    /// `other` relative to `self`, if `self` contains it.
    pub fn relative(&self, other: &RepoPath) -> Option<RepoPath> {
        if !self.contains(other) {
            return None;
        }
        if self.is_root() {
            return Some(other.clone());
        }
        if other.0 == self.0 {
            return Some(Self::root());
        }
        Some(Self(other.0[self.0.len() + 1..].to_owned()))
    }
}

impl TryFrom<String> for RepoPath {
    type Error = NameError;
    fn try_from(s: String) -> Result<Self, NameError> {
        Self::parse(&s)
    }
}

impl From<RepoPath> for String {
    fn from(p: RepoPath) -> String {
        p.0
    }
}

impl fmt::Display for RepoPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for RepoPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_and_normalises_slashes() {
        assert_eq!(RepoPath::parse("/demo/").unwrap().as_str(), "demo");
        assert_eq!(RepoPath::parse("a/b").unwrap().name(), "b");
        assert!(RepoPath::parse("/").unwrap().is_root());
    }

    #[test]
    fn refuses_escapes_and_bad_names() {
        for bad in [
            "a//b",
            "..",
            "a/../b",
            "./a",
            "a/.zsync",
            "a/.ZSYNC/x",
            "a\0b",
            "a\nb",
            "a\\b",
        ] {
            assert!(RepoPath::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert!(RepoPath::parse(&"x".repeat(300)).is_err());
        assert!(RepoPath::parse(&vec!["d"; 200].join("/")).is_err());
    }

    #[test]
    fn parent_contains_relative() {
        let p = RepoPath::parse("a/b/c").unwrap();
        let a = RepoPath::parse("a").unwrap();
        assert_eq!(p.parent().unwrap().as_str(), "a/b");
        assert!(a.contains(&p));
        assert!(!RepoPath::parse("a/b/cd").unwrap().contains(&p));
        assert!(!RepoPath::parse("ab").unwrap().contains(&p));
        assert_eq!(a.relative(&p).unwrap().as_str(), "b/c");
        assert!(RepoPath::root().contains(&p));
        assert_eq!(RepoPath::root().parent(), None);
    }

    proptest! {
        #[test]
        fn valid_paths_never_escape(s in "[a-z./\\\\]{0,20}") {
            if let Ok(p) = RepoPath::parse(&s) {
                for c in p.components() {
                    prop_assert!(c != "." && c != ".." && !c.is_empty() && !c.contains('\\'));
                }
            }
        }
    }
}

#[cfg(test)]
mod portability_tests {
    use super::portability_problem;

    #[test]
    fn names_some_filesystem_cannot_hold_are_named() {
        for bad in [
            "CON",
            "con",
            "aux.txt",
            "Nul.tar.gz",
            "COM1",
            "lpt9.log",
            "PRN ",
            "a:b",
            "what?",
            "x*",
            "pipe|",
            "q\"",
            "<tag>",
            "dot.",
            "space ",
        ] {
            assert!(portability_problem(bad).is_some(), "{bad}");
        }
        for good in [
            "console",
            "auxiliary.txt",
            "COM",
            "COM0",
            "COM10",
            "LPT",
            "index.html",
            ".hidden",
            "a b",
            "naïve",
            "CONtents",
        ] {
            assert_eq!(portability_problem(good), None, "{good}");
        }
    }
}
