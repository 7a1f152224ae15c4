//! The bundle file of `zsync export` and `zsync import`: a subtree as one
//! file.
//!
//! ```text
//! bundle  := MAGIC version:u32be gzip(payload)
//! MAGIC   := "ZSYNC-BUNDLE\n"
//! payload := len:u64be json(BundleInfo)[len] archive
//! ```
//!
//! `archive` is the archive stream of [`crate::archive`] (manifest, each
//! body once, end frame), so a bundle is written and read with bounded
//! memory. The magic and version stay outside the compression, so a
//! reader names a bundle from a newer zsync before it decompresses it.

use std::io::{self, Read};

use serde::{Deserialize, Serialize};
use zsync_model::{RepoPath, Rev};

use crate::api::LogEntry;

pub const MAGIC: &[u8] = b"ZSYNC-BUNDLE\n";
/// The format this code writes, and the newest it reads.
pub const VERSION: u32 = 1;
/// The largest info frame a reader accepts (it carries the history).
pub const MAX_INFO_BYTES: u64 = 256 << 20;

/// What a bundle says about itself, ahead of its archive.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleInfo {
    /// The server path the subtree was exported from.
    pub root: RepoPath,
    /// The server's newest revision when it was exported.
    pub head: Rev,
    /// Seconds since the Unix epoch.
    pub created: i64,
    /// With `--history`: the subtree's revisions, oldest first (metadata
    /// only; the bodies are the latest ones).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<LogEntry>,
}

#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("not a zsync bundle")]
    NotABundle,
    #[error("bundle format {0} is newer than this zsync reads (format {VERSION})")]
    TooNew(u32),
    #[error("bundle format {0} is not known")]
    BadVersion(u32),
    #[error("bundle information is {0} bytes, over the limit of {MAX_INFO_BYTES}")]
    InfoTooLarge(u64),
    #[error("bundle information is malformed: {0}")]
    BadInfo(#[from] serde_json::Error),
    #[error("bundle ends early")]
    Truncated,
    #[error("reading the bundle: {0}")]
    Io(io::Error),
}

fn io_error(e: io::Error) -> BundleError {
    if e.kind() == io::ErrorKind::UnexpectedEof {
        BundleError::Truncated
    } else {
        BundleError::Io(e)
    }
}

/// The bytes before the compressed payload.
pub fn header() -> Vec<u8> {
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(&VERSION.to_be_bytes());
    out
}

/// Reads and checks the magic and version; the compressed payload follows.
pub fn read_header(r: &mut impl Read) -> Result<u32, BundleError> {
    let mut magic = [0u8; MAGIC.len()];
    r.read_exact(&mut magic).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => BundleError::NotABundle,
        _ => BundleError::Io(e),
    })?;
    if magic != MAGIC {
        return Err(BundleError::NotABundle);
    }
    let mut v = [0u8; 4];
    r.read_exact(&mut v).map_err(io_error)?;
    match u32::from_be_bytes(v) {
        VERSION => Ok(VERSION),
        0 => Err(BundleError::BadVersion(0)),
        newer => Err(BundleError::TooNew(newer)),
    }
}

/// The info frame that opens the (decompressed) payload.
pub fn info_frame(info: &BundleInfo) -> Vec<u8> {
    // Serialising our own plain types cannot fail.
    let json = serde_json::to_vec(info).unwrap_or_default();
    let mut out = (json.len() as u64).to_be_bytes().to_vec();
    out.extend_from_slice(&json);
    out
}

/// Reads the info frame from the decompressed payload.
pub fn read_info(r: &mut impl Read) -> Result<BundleInfo, BundleError> {
    let mut len = [0u8; 8];
    r.read_exact(&mut len).map_err(io_error)?;
    let len = u64::from_be_bytes(len);
    if len > MAX_INFO_BYTES {
        return Err(BundleError::InfoTooLarge(len));
    }
    let mut json = Vec::new();
    r.take(len).read_to_end(&mut json).map_err(io_error)?;
    if (json.len() as u64) < len {
        return Err(BundleError::Truncated);
    }
    Ok(serde_json::from_slice(&json)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_and_info_round_trip() {
        let info = BundleInfo {
            root: RepoPath::parse("demo").unwrap(),
            head: 7,
            created: 1,
            history: Vec::new(),
        };
        let mut bytes = header();
        bytes.extend(info_frame(&info));
        let mut r = &bytes[..];
        assert_eq!(read_header(&mut r).unwrap(), VERSION);
        assert_eq!(read_info(&mut r).unwrap(), info);
    }

    #[test]
    fn newer_versions_and_other_files_are_named() {
        let mut newer = MAGIC.to_vec();
        newer.extend_from_slice(&2u32.to_be_bytes());
        assert!(matches!(
            read_header(&mut &newer[..]),
            Err(BundleError::TooNew(2))
        ));
        assert!(matches!(
            read_header(&mut &b"PK\x03\x04"[..]),
            Err(BundleError::NotABundle)
        ));
        assert!(matches!(
            read_header(&mut &MAGIC[..]),
            Err(BundleError::Truncated)
        ));
    }
}
