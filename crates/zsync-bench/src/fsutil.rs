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

/// Where a run puts the trees it is done with, to delete them once the
/// timing is over.
///
/// ext4 without a journal (the file system of the VMs this bench was
/// tuned on) has every inode allocation skip the inodes freed in the last
/// minute, or the last six while their inode table block is dirty
/// (`recently_deleted` in `fs/ext4/ialloc.c`), checking them one at a
/// time. A checkout started right after deleting a 20,000-file tree
/// spent a quarter of its CPU time there, so whichever tool followed a
/// deletion was slowed, and that, not the tool, swung a ratio. Moving a
/// tree here frees no inode.
pub struct Trash {
    dir: PathBuf,
    next: usize,
    /// Free bytes to keep: below them, trees are deleted at once.
    reserve: u64,
    /// Whether any tree had to be deleted at once.
    pub deleted_early: bool,
}

impl Trash {
    /// A trash in `dir`, emptied first of what an interrupted run left.
    pub fn new(dir: PathBuf, reserve: u64) -> io::Result<Self> {
        let mut trash = Trash {
            dir,
            next: 0,
            reserve,
            deleted_early: false,
        };
        trash.empty()?;
        fs::create_dir_all(&trash.dir)?;
        Ok(trash)
    }

    /// Moves `path` (if it exists) into the trash, or deletes it now if
    /// the disk is short of the reserve.
    pub fn discard(&mut self, path: &Path) -> io::Result<()> {
        if !path.exists() {
            return Ok(());
        }
        if free_bytes(&self.dir)? < self.reserve {
            self.deleted_early = true;
            return remove_tree(path);
        }
        self.next += 1;
        fs::rename(path, self.dir.join(self.next.to_string()))
    }

    /// Deletes everything in the trash, on several threads: the trees'
    /// metadata left the cache long ago, and unlinking a cold file waits
    /// for the disk.
    pub fn empty(&mut self) -> io::Result<()> {
        let mut work = match fs::read_dir(&self.dir) {
            Ok(entries) => entries
                .map(|e| e.map(|e| e.path()))
                .collect::<io::Result<Vec<_>>>()?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        // Split into enough subtrees to share out.
        for _ in 0..4 {
            if work.len() >= 64 {
                break;
            }
            let mut next = Vec::new();
            for path in work {
                if fs::symlink_metadata(&path)?.is_dir() {
                    for entry in fs::read_dir(&path)? {
                        next.push(entry?.path());
                    }
                } else {
                    next.push(path);
                }
            }
            work = next;
        }
        let queue = std::sync::Mutex::new(work);
        let failed = std::sync::Mutex::new(None);
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    while let Some(path) = queue.lock().map_or(None, |mut q| q.pop()) {
                        let removed = match fs::symlink_metadata(&path) {
                            Ok(m) if m.is_dir() => remove_tree(&path),
                            _ => fs::remove_file(&path),
                        };
                        if let Err(e) = removed
                            && let Ok(mut f) = failed.lock()
                        {
                            f.get_or_insert(e);
                        }
                    }
                });
            }
        });
        if let Some(e) = failed.into_inner().ok().flatten() {
            return Err(e);
        }
        // What is left is empty folders.
        remove_tree(&self.dir)
    }
}

/// Bytes available to an unprivileged user on the file system of `path`.
pub fn free_bytes(path: &Path) -> io::Result<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    // SAFETY: `c` is a valid C string and `stat` a valid out-pointer.
    let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(c.as_ptr(), &mut stat) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(stat.f_bavail.saturating_mul(stat.f_frsize))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(root: &Path, files: usize) {
        for i in 0..files {
            let dir = root.join(format!("d{}", i % 7)).join(format!("e{}", i % 3));
            fs::create_dir_all(&dir).unwrap();
            fs::write(dir.join(format!("f{i}")), b"x").unwrap();
        }
    }

    #[test]
    fn the_trash_keeps_trees_until_emptied_or_deletes_them_when_short_of_space() {
        let work = tempfile::tempdir().unwrap();
        let mut trash = Trash::new(work.path().join("trash"), 0).unwrap();
        for name in ["a", "b"] {
            tree(&work.path().join(name), 200);
            trash.discard(&work.path().join(name)).unwrap();
            assert!(!work.path().join(name).exists());
        }
        trash.discard(&work.path().join("missing")).unwrap();
        assert_eq!(fs::read_dir(work.path().join("trash")).unwrap().count(), 2);
        assert!(!trash.deleted_early);
        trash.empty().unwrap();
        assert!(!work.path().join("trash").exists());

        // A reserve no disk has: deleted at once.
        let mut trash = Trash::new(work.path().join("trash"), u64::MAX).unwrap();
        tree(&work.path().join("c"), 10);
        trash.discard(&work.path().join("c")).unwrap();
        assert!(!work.path().join("c").exists());
        assert!(trash.deleted_early);
        assert_eq!(fs::read_dir(work.path().join("trash")).unwrap().count(), 0);
    }
}
