use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The id a client gives a commit before sending it, so that a commit
/// whose answer was lost can be asked about (and a resent one is not
/// applied twice). 128 random bits, shown as hex.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CommitId(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid commit id {0:?}: expected 32 lowercase hexadecimal digits")]
pub struct CommitIdParseError(pub String);

impl CommitId {
    pub fn random() -> Self {
        let bytes: [u8; 16] = rand::random();
        Self(hex::encode(bytes))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for CommitId {
    type Err = CommitIdParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() == 32 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            Ok(Self(s.to_owned()))
        } else {
            Err(CommitIdParseError(s.chars().take(80).collect()))
        }
    }
}

impl TryFrom<String> for CommitId {
    type Error = CommitIdParseError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<CommitId> for String {
    fn from(c: CommitId) -> String {
        c.0
    }
}

impl fmt::Display for CommitId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for CommitId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CommitId({})", &self.0[..8])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_ids_parse_and_differ() {
        let a = CommitId::random();
        assert_eq!(a.as_str().parse::<CommitId>().unwrap(), a);
        assert_ne!(a, CommitId::random());
        assert!("../x".parse::<CommitId>().is_err());
        assert!(serde_json::from_str::<CommitId>("\"abc\"").is_err());
    }
}
