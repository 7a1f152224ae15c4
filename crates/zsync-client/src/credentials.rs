//! Login tokens kept in the user's config directory (`tokens.toml`, mode
//! 0600). Passwords are never stored: a password is exchanged for a
//! server-issued token that the server keeps only as a hash.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{ClientError, Result};
use crate::fsutil;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Login {
    /// `scheme://host:port`.
    pub server: String,
    pub user: String,
    pub token: String,
    /// Seconds since the Unix epoch.
    pub expires: i64,
}

#[derive(Default, Serialize, Deserialize)]
struct TokenFile {
    #[serde(default)]
    login: Vec<Login>,
}

/// The stored logins of one user account on this machine.
pub struct TokenStore {
    path: PathBuf,
}

impl TokenStore {
    pub fn new(config_dir: &Path) -> Self {
        Self {
            path: config_dir.join("tokens.toml"),
        }
    }

    fn read(&self) -> Result<TokenFile> {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => toml::from_str(&text).map_err(|e| ClientError::Refused {
                path: self.path.display().to_string(),
                reason: format!("cannot read stored logins: {e}; delete the file to start over"),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(TokenFile::default()),
            Err(e) => Err(ClientError::io(&self.path)(e)),
        }
    }

    fn write(&self, file: &TokenFile) -> Result<()> {
        let text = toml::to_string(file).map_err(|e| ClientError::Protocol(e.to_string()))?;
        let text = format!(
            "# zsync login tokens (not passwords); `zsync logout URL` removes one.\n{text}"
        );
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(ClientError::io(dir))?;
        }
        fsutil::write_atomic(&self.path, text.as_bytes(), Some(0o600))
    }

    /// The stored login for `server`, for `user` if given, else the only one.
    pub fn find(&self, server: &str, user: Option<&str>) -> Result<Option<Login>> {
        let file = self.read()?;
        let mut matches = file
            .login
            .into_iter()
            .filter(|l| l.server == server && user.is_none_or(|u| u == l.user));
        let first = matches.next();
        Ok(match (user, matches.next()) {
            (None, Some(_)) => None,
            _ => first,
        })
    }

    pub fn save(&self, login: Login) -> Result<()> {
        let mut file = self.read()?;
        file.login
            .retain(|l| !(l.server == login.server && l.user == login.user));
        file.login.push(login);
        self.write(&file)
    }

    /// Removes a login; true if there was one.
    pub fn remove(&self, server: &str, user: &str) -> Result<bool> {
        let mut file = self.read()?;
        let before = file.login.len();
        file.login
            .retain(|l| !(l.server == server && l.user == user));
        if file.login.len() == before {
            return Ok(false);
        }
        self.write(&file)?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_find_remove() {
        let dir = tempfile::tempdir().unwrap();
        let store = TokenStore::new(dir.path());
        assert_eq!(store.find("http://h:1", None).unwrap(), None);
        let login = Login {
            server: "http://h:1".into(),
            user: "ann".into(),
            token: "t".into(),
            expires: 1,
        };
        store.save(login.clone()).unwrap();
        assert_eq!(store.find("http://h:1", None).unwrap(), Some(login.clone()));
        assert_eq!(store.find("http://h:1", Some("bob")).unwrap(), None);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("tokens.toml"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(store.remove("http://h:1", "ann").unwrap());
        assert!(!store.remove("http://h:1", "ann").unwrap());
    }
}
