//! File-tree helpers: listing, the stat-walk floor, du, cache control.

use std::collections::HashSet;
use std::fs;
use std::io::{self, Read};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Every regular file under `root`, relative, in byte order (`find | sort`).
pub fn list_files(root: &Path) -> io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        for entry in fs::read_dir(root.join(&rel))? {
            let entry = entry?;
            let ty = entry.file_type()?;
            let child = rel.join(entry.file_name());
            if ty.is_dir() {
                stack.push(child);
            } else if ty.is_file() {
                out.push(child);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// lstat of every entry under `root` (what any status must do at least);
/// returns how many entries it saw.
pub fn stat_walk(root: &Path) -> io::Result<u64> {
    let mut seen = 0u64;
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir)? {
            let path = entry?.path();
            let meta = fs::symlink_metadata(&path)?;
            seen += 1;
            if meta.is_dir() {
                stack.push(path);
            }
        }
    }
    Ok(seen)
}

/// Allocated bytes under `root` (`du -s --block-size=1`): st_blocks × 512,
/// each inode once, so hard-linked pristine copies are not counted twice.
pub fn disk_usage(root: &Path) -> io::Result<u64> {
    let mut seen: HashSet<(u64, u64)> = HashSet::new();
    let mut total = 0u64;
    let mut stack = vec![root.to_path_buf()];
    while let Some(path) = stack.pop() {
        let meta = fs::symlink_metadata(&path)?;
        if seen.insert((meta.dev(), meta.ino())) {
            total += meta.blocks() * 512;
        }
        if meta.is_dir() {
            for entry in fs::read_dir(&path)? {
                stack.push(entry?.path());
            }
        }
    }
    Ok(total)
}

/// Reads every file under `root` once, so a step that reads the tree
/// starts with it in the page cache (warm input, as `svn_baseline.sh`).
pub fn read_all(root: &Path) -> io::Result<u64> {
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    for rel in list_files(root)? {
        let mut f = fs::File::open(root.join(rel))?;
        loop {
            let n = f.read(&mut buf)?;
            if n == 0 {
                break;
            }
            total += n as u64;
        }
    }
    Ok(total)
}

/// Whether this process may drop the page cache (root, writable knob).
pub fn can_drop_caches() -> bool {
    fs::OpenOptions::new()
        .write(true)
        .open("/proc/sys/vm/drop_caches")
        .is_ok()
}

/// `sync`, then drop the page cache if `drop` (see `can_drop_caches`).
/// Besides giving cold figures, dropping clears ext4's slow inode
/// allocation after a large delete (see the bench README's pitfalls).
pub fn settle(drop: bool) -> io::Result<()> {
    // SAFETY: sync(2) takes no arguments and cannot fail.
    unsafe { libc::sync() };
    if drop {
        fs::write("/proc/sys/vm/drop_caches", "3\n")?;
    }
    Ok(())
}

/// Removes a tree if it exists.
pub fn remove_tree(path: &Path) -> io::Result<()> {
    match fs::remove_dir_all(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}
