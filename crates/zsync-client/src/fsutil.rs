//! File writing that never leaves a half-written file: write to a temp name
//! in the same directory, then rename over the target.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use zsync_model::{BodyHash, BodyHasher};

use crate::error::{ClientError, Result};

fn temp_name(target: &Path) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let nonce: u32 = rand_u32();
    target.with_file_name(format!(".{name}.zsync-tmp-{nonce:08x}"))
}

fn rand_u32() -> u32 {
    use std::time::{SystemTime, UNIX_EPOCH};
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    nanos ^ std::process::id().rotate_left(16)
}

/// Writes `data` to `path` atomically, optionally with a Unix mode.
pub fn write_atomic(path: &Path, data: &[u8], mode: Option<u32>) -> Result<()> {
    write_atomic_from(path, &mut &data[..], mode).map(|_| ())
}

/// Writes `data` to `path` atomically and durably: the temp file is
/// flushed to disk before the rename and the folder after it, so after a
/// power loss `path` holds the old or the new data, not an empty file. For
/// the index, which everything else is judged by; working files rely on
/// the rename alone (as svn's do), since a crash can only leave those old
/// or new and `status` compares them by content.
pub fn write_atomic_synced(path: &Path, data: &[u8]) -> Result<()> {
    let tmp = temp_name(path);
    let result = (|| -> io::Result<()> {
        let mut file = create_with_mode(&tmp, None)?;
        file.write_all(data)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, path)?;
        #[cfg(unix)]
        if let Some(dir) = path.parent() {
            File::open(dir)?.sync_all()?;
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(ClientError::io(path))
}

/// Streams `reader` into `path` atomically; returns the body's hash and size.
pub fn write_atomic_from(
    path: &Path,
    reader: &mut dyn Read,
    mode: Option<u32>,
) -> Result<(BodyHash, u64)> {
    let tmp = temp_name(path);
    let result = (|| -> io::Result<(BodyHash, u64)> {
        let mut file = create_with_mode(&tmp, mode)?;
        let hashed = copy_hashing(reader, &mut file)?;
        file.flush()?;
        drop(file);
        fs::rename(&tmp, path)?;
        Ok(hashed)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(ClientError::io(path))
}

fn create_with_mode(path: &Path, mode: Option<u32>) -> io::Result<File> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode.unwrap_or(0o666));
    }
    #[cfg(not(unix))]
    let _ = mode;
    options.open(path)
}

/// Copies while hashing, with a fixed-size buffer.
pub fn copy_hashing(reader: &mut dyn Read, writer: &mut dyn Write) -> io::Result<(BodyHash, u64)> {
    let mut hasher = BodyHasher::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buf[..n]);
        writer.write_all(&buf[..n])?;
    }
    Ok((hasher.finish(), hasher.len()))
}

/// The hash and size of a file's content.
pub fn hash_file(path: &Path) -> Result<(BodyHash, u64)> {
    let mut file = File::open(path).map_err(ClientError::io(path))?;
    copy_hashing(&mut file, &mut io::sink()).map_err(ClientError::io(path))
}

/// Reads up to `limit` leading bytes of a file.
pub fn read_head(path: &Path, limit: usize) -> Result<Vec<u8>> {
    let file = File::open(path).map_err(ClientError::io(path))?;
    let mut head = Vec::with_capacity(limit.min(64 * 1024));
    file.take(limit as u64)
        .read_to_end(&mut head)
        .map_err(ClientError::io(path))?;
    Ok(head)
}

/// Reads a whole file (for diffs and merges of text).
pub fn read(path: &Path) -> Result<Vec<u8>> {
    fs::read(path).map_err(ClientError::io(path))
}

/// Removes a file if it exists.
pub fn remove_file_if_exists(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(ClientError::io(path)(e)),
        _ => Ok(()),
    }
}

pub fn create_dir_all(path: &Path) -> Result<()> {
    fs::create_dir_all(path).map_err(ClientError::io(path))
}

/// Removes a file, or a folder with everything in it; a path that is
/// already gone is fine.
pub fn remove_path(path: &Path) -> Result<()> {
    let result = if path.is_dir() {
        fs::remove_dir_all(path)
    } else {
        fs::remove_file(path)
    };
    match result {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(ClientError::io(path)(e)),
        _ => Ok(()),
    }
}

/// A folder's entries, sorted by name, so walks are deterministic.
pub fn sorted_children(dir: &Path) -> Result<Vec<fs::DirEntry>> {
    let mut children = fs::read_dir(dir)
        .map_err(ClientError::io(dir))?
        .collect::<io::Result<Vec<_>>>()
        .map_err(ClientError::io(dir))?;
    children.sort_by_key(|c| c.file_name());
    Ok(children)
}
