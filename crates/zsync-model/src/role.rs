use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What a user may do. Each role includes the ones before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Role {
    /// checkout, update, log.
    Reader,
    /// also commit.
    Editor,
    /// also users, grants and administration.
    Manager,
}

#[derive(Debug, thiserror::Error)]
#[error("unknown role {0:?}: use Reader, Editor or Manager")]
pub struct RoleParseError(pub String);

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Reader => "Reader",
            Role::Editor => "Editor",
            Role::Manager => "Manager",
        }
    }
}

impl FromStr for Role {
    type Err = RoleParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "reader" => Ok(Role::Reader),
            "editor" => Ok(Role::Editor),
            "manager" => Ok(Role::Manager),
            _ => Err(RoleParseError(s.to_owned())),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordering_and_parsing() {
        assert!(Role::Manager > Role::Editor && Role::Editor > Role::Reader);
        assert_eq!("editor".parse::<Role>().unwrap(), Role::Editor);
        assert!("root".parse::<Role>().is_err());
    }
}
