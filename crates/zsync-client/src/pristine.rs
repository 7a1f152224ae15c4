//! The pristine store: base bodies under `.zsync/pristine/`, named by their
//! BLAKE3 hash, so `status` and `diff` work offline and each distinct body
//! is kept once.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use zsync_model::BodyHash;

use crate::error::{ClientError, Result};
use crate::fsutil::{self, Unsynced};

pub struct Pristine {
    dir: PathBuf,
    /// Bodies stored here are flushed to disk before the index names them.
    unsynced: Arc<Unsynced>,
}

impl Pristine {
    pub fn new(dir: PathBuf, unsynced: Arc<Unsynced>) -> Self {
        Self { dir, unsynced }
    }

    pub fn path(&self, hash: &BodyHash) -> PathBuf {
        let hex = hash.to_hex();
        self.dir.join(&hex[..2]).join(&hex)
    }

    pub fn contains(&self, hash: &BodyHash) -> bool {
        self.path(hash).is_file()
    }

    pub fn open(&self, hash: &BodyHash) -> Result<File> {
        let path = self.path(hash);
        File::open(&path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                ClientError::Corrupt {
                    root: self.dir.clone(),
                    detail: format!("base copy {} is missing", hash.to_hex()),
                }
            } else {
                ClientError::io(&path)(e)
            }
        })
    }

    pub fn read(&self, hash: &BodyHash) -> Result<Vec<u8>> {
        let mut data = Vec::new();
        self.open(hash)?
            .read_to_end(&mut data)
            .map_err(ClientError::io(self.path(hash)))?;
        Ok(data)
    }

    /// Stores a body from a stream, verifying that it hashes to `expected`.
    pub fn insert_verified(&self, expected: &BodyHash, reader: &mut dyn Read) -> Result<()> {
        let target = self.path(expected);
        if let Some(dir) = target.parent() {
            fsutil::create_dir_all(dir)?;
        }
        let staging = self.dir.join(format!("incoming-{}", expected.to_hex()));
        let (hash, _) = fsutil::write_atomic_from(&staging, reader, Some(0o444))?;
        if &hash != expected {
            let _ = std::fs::remove_file(&staging);
            return Err(ClientError::Protocol(format!(
                "body {} arrived with hash {}",
                expected.to_hex(),
                hash.to_hex()
            )));
        }
        std::fs::rename(&staging, &target).map_err(ClientError::io(&target))?;
        self.unsynced.note(&target);
        Ok(())
    }

    /// Stores a body held in memory; returns its hash.
    pub fn insert_bytes(&self, data: &[u8]) -> Result<BodyHash> {
        let hash = BodyHash::of(data);
        if !self.contains(&hash) {
            self.insert_verified(&hash, &mut &data[..])?;
        }
        Ok(hash)
    }

    /// Stores a copy of a working file; returns its hash and size.
    pub fn insert_file(&self, source: &Path) -> Result<(BodyHash, u64)> {
        fsutil::create_dir_all(&self.dir)?;
        let mut file = File::open(source).map_err(ClientError::io(source))?;
        let staging = self.dir.join(format!("incoming-{}", std::process::id()));
        let (hash, size) = fsutil::write_atomic_from(&staging, &mut file, Some(0o444))?;
        let target = self.path(&hash);
        if target.exists() {
            fsutil::remove_file_if_exists(&staging)?;
        } else {
            if let Some(dir) = target.parent() {
                fsutil::create_dir_all(dir)?;
            }
            std::fs::rename(&staging, &target).map_err(ClientError::io(&target))?;
            self.unsynced.note(&target);
        }
        Ok((hash, size))
    }
}
