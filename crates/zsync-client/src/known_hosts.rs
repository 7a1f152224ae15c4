//! OpenSSH `known_hosts` files: looking a server's host key up (plain and
//! hashed `|1|salt|hash` host names, `[host]:port` for other ports than 22)
//! and appending a newly trusted key.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit as _, Mac as _};
use russh::keys::PublicKey;
use sha1::Sha1;

use crate::error::{ClientError, Result};

/// What the known_hosts files say about a host's key.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// A line names the host with this very key.
    Known,
    /// A line names the host with another key of the same kind.
    Changed { file: PathBuf, line: usize },
    /// No line names the host with a key of this kind.
    Unknown,
}

/// The name known_hosts uses for `host` on `port`.
pub fn host_entry(host: &str, port: u16) -> String {
    if port == 22 {
        host.to_owned()
    } else {
        format!("[{host}]:{port}")
    }
}

/// Looks `key` up for `host`:`port` in `files`, in order. A matching key
/// anywhere wins; otherwise the first conflicting line is reported.
pub fn check(files: &[PathBuf], host: &str, port: u16, key: &PublicKey) -> Verdict {
    let mut changed = None;
    for file in files {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        match check_text(&text, host, port, key) {
            TextVerdict::Known => return Verdict::Known,
            TextVerdict::Changed { line } if changed.is_none() => {
                changed = Some(Verdict::Changed {
                    file: file.clone(),
                    line,
                });
            }
            _ => {}
        }
    }
    changed.unwrap_or(Verdict::Unknown)
}

/// What one known_hosts file's text says about a host's key.
#[derive(Debug, PartialEq, Eq)]
pub enum TextVerdict {
    Known,
    /// The first line (from 1) naming the host with another key of the
    /// same kind.
    Changed {
        line: usize,
    },
    Unknown,
}

/// [`check`] on the text of one file: a pure function, so it can be
/// fuzzed (the file is untrusted input).
pub fn check_text(text: &str, host: &str, port: u16, key: &PublicKey) -> TextVerdict {
    let name = host_entry(host, port);
    let mut changed = None;
    for (index, line) in text.lines().enumerate() {
        let Some((patterns, recorded)) = parse_line(line) else {
            continue;
        };
        if !patterns.split(',').any(|p| host_matches(&name, p)) {
            continue;
        }
        if recorded.key_data() == key.key_data() {
            return TextVerdict::Known;
        }
        if recorded.algorithm() == key.algorithm() && changed.is_none() {
            changed = Some(index + 1);
        }
    }
    changed.map_or(TextVerdict::Unknown, |line| TextVerdict::Changed { line })
}

/// The host patterns and the key of a line; `None` for comments, markers
/// (`@revoked`, `@cert-authority`: never trusted here) and lines we
/// cannot read.
fn parse_line(line: &str) -> Option<(&str, PublicKey)> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') || line.starts_with('@') {
        return None;
    }
    let mut fields = line.split_whitespace();
    let patterns = fields.next()?;
    let kind = fields.next()?;
    let data = fields.next()?;
    let key = PublicKey::from_openssh(&format!("{kind} {data}")).ok()?;
    Some((patterns, key))
}

fn host_matches(name: &str, pattern: &str) -> bool {
    if let Some(hashed) = pattern.strip_prefix("|1|") {
        let Some((salt, hash)) = hashed.split_once('|') else {
            return false;
        };
        let (Ok(salt), Ok(hash)) = (STANDARD.decode(salt), STANDARD.decode(hash)) else {
            return false;
        };
        let Ok(mac) = Hmac::<Sha1>::new_from_slice(&salt) else {
            return false;
        };
        return mac
            .chain_update(name.as_bytes())
            .verify_slice(&hash)
            .is_ok();
    }
    // Negations and wildcards are OpenSSH configuration niceties; a
    // pattern that uses them simply does not match here, which leads to
    // a question, never to trusting a key.
    pattern == name
}

/// Appends `host`:`port` with `key` to `file`, creating it (and `~/.ssh`)
/// if needed.
pub fn append(file: &Path, host: &str, port: u16, key: &PublicKey) -> Result<()> {
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir).map_err(ClientError::io(dir))?;
    }
    let line = key
        .to_openssh()
        .map_err(|e| ClientError::Protocol(format!("cannot encode the host key: {e}")))?;
    let existing = std::fs::read(file).unwrap_or_default();
    let mut out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)
        .map_err(ClientError::io(file))?;
    let separator = if existing.is_empty() || existing.ends_with(b"\n") {
        ""
    } else {
        "\n"
    };
    writeln!(out, "{separator}{} {line}", host_entry(host, port)).map_err(ClientError::io(file))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJg0xUrKmmgOCK/EOrTLkUADitaIgiE4fmQQiNaAnqqR";
    const OTHER: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGh2kdU+NQzb9sePgjsNWiSQOe9ySax6GwQbNyqXXyF8";

    fn key(s: &str) -> PublicKey {
        PublicKey::from_openssh(s).unwrap()
    }

    fn hashed(name: &str, salt: &[u8]) -> String {
        let mac = Hmac::<Sha1>::new_from_slice(salt)
            .unwrap()
            .chain_update(name.as_bytes())
            .finalize()
            .into_bytes();
        format!("|1|{}|{}", STANDARD.encode(salt), STANDARD.encode(mac))
    }

    #[test]
    fn plain_hashed_changed_unknown() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        let b = dir.path().join("b");
        std::fs::write(&a, format!("# comment\nother.host {OTHER}\n")).unwrap();
        std::fs::write(
            &b,
            format!(
                "{} {KEY}\nexample.org,[h]:2200 {OTHER}\n",
                hashed("[h]:2200", b"salt")
            ),
        )
        .unwrap();
        let files = [a.clone(), b.clone()];
        assert_eq!(check(&files, "h", 2200, &key(KEY)), Verdict::Known);
        assert_eq!(check(&files, "h", 2201, &key(KEY)), Verdict::Unknown);
        assert_eq!(
            check(&files, "other.host", 22, &key(KEY)),
            Verdict::Changed { file: a, line: 2 }
        );
        assert_eq!(
            check(&files[1..], "example.org", 22, &key(KEY)),
            Verdict::Changed { file: b, line: 2 }
        );
    }

    #[test]
    fn append_then_known() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(".ssh/fssync_known_hosts");
        append(&file, "127.0.0.1", 2200, &key(KEY)).unwrap();
        let files = [file.clone()];
        assert_eq!(check(&files, "127.0.0.1", 2200, &key(KEY)), Verdict::Known);
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(text.starts_with("[127.0.0.1]:2200 ssh-ed25519 "), "{text}");
    }
}
