use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Serialize};

/// The content type name of an object: `folder`, `file`, `document`, `image`,
/// or one that an application registered. Kinds are open-ended, so this is a
/// validated name rather than an enum. The built-in names are not copied
/// (a working copy's index holds one kind per item).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Kind(Cow<'static, str>);

impl Kind {
    pub const FOLDER: &'static str = "folder";
    pub const FILE: &'static str = "file";
    pub const DOCUMENT: &'static str = "document";
    pub const IMAGE: &'static str = "image";
    pub const RECORD: &'static str = "record";

    /// A kind name is 1 to 64 characters of lowercase ASCII letters, digits,
    /// `-`, `_` and `.`, starting with a letter.
    pub fn new(name: &str) -> Result<Self, String> {
        let ok = !name.is_empty()
            && name.len() <= 64
            && name.starts_with(|c: char| c.is_ascii_lowercase())
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c));
        let builtin = [
            Self::FOLDER,
            Self::FILE,
            Self::DOCUMENT,
            Self::IMAGE,
            Self::RECORD,
        ]
        .into_iter()
        .find(|b| *b == name);
        if let Some(builtin) = builtin {
            Ok(Self(Cow::Borrowed(builtin)))
        } else if ok {
            Ok(Self(Cow::Owned(name.to_owned())))
        } else {
            Err(format!(
                "invalid kind {name:?}: use lowercase letters, digits, '-', '_' or '.'"
            ))
        }
    }

    pub fn folder() -> Self {
        Self(Cow::Borrowed(Self::FOLDER))
    }

    pub fn file() -> Self {
        Self(Cow::Borrowed(Self::FILE))
    }

    pub fn document() -> Self {
        Self(Cow::Borrowed(Self::DOCUMENT))
    }

    pub fn image() -> Self {
        Self(Cow::Borrowed(Self::IMAGE))
    }

    pub fn record() -> Self {
        Self(Cow::Borrowed(Self::RECORD))
    }

    pub fn is_folder(&self) -> bool {
        self.0 == Self::FOLDER
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Kind {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Kind::new(&s)
    }
}

impl From<Kind> for String {
    fn from(k: Kind) -> String {
        k.0.into_owned()
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Kind({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates() {
        assert!(Kind::new("document").is_ok());
        assert!(Kind::new("my-app.template").is_ok());
        assert!(Kind::new("").is_err());
        assert!(Kind::new("Doc").is_err());
        assert!(Kind::new("1doc").is_err());
        assert!(Kind::new("a b").is_err());
    }
}
