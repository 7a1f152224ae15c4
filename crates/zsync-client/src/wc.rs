//! A working copy on disk: the files, and the `.zsync/` admin directory at
//! its top holding the index, the pristine store, temp space and the lock.

use std::fs;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use zsync_model::{ADMIN_DIR, RepoPath};

use crate::error::{ClientError, Result};
use crate::fsutil::{self, Unsynced};
use crate::glance::Glance;
use crate::index::{FORMAT_VERSION, Index, JSON_FORMAT_VERSION, OLDEST_BINARY_FORMAT};
use crate::index::{PendingCommit, Schedule, disk};
use crate::pristine::Pristine;
use crate::url::ServerUrl;

const INDEX_FILE: &str = "index";
/// Where format 1 kept the index, as JSON.
const JSON_INDEX_FILE: &str = "index.json";
const LOCK_FILE: &str = "lock";
/// A commit sent (or about to be) whose answer is not yet recorded: a
/// small file of its own, so a commit does not save the whole index
/// twice (see [`WorkingCopy::save_pending`]).
const PENDING_FILE: &str = "pending-commit";
/// The index a fresh checkout will save, kept while it writes the files:
/// an interrupted checkout is recognised by it and `cleanup` finishes it.
const CHECKOUT_FILE: &str = "checkout";

pub struct WorkingCopy {
    /// Absolute path of the working copy's top folder.
    pub root: PathBuf,
    pub index: Index,
    pub pristine: Pristine,
    lock: Option<PathBuf>,
    /// Files written since the last save, flushed to disk by the next.
    unsynced: Arc<Unsynced>,
    /// See [`Index::racy_window_ns`]; measured once per command.
    racy_window: OnceLock<i128>,
    /// When this command began checking that every versioned item is
    /// present, if it did (then saves leave a glance for the next no-op
    /// update, see [`crate::glance`]).
    verified_since: Option<i128>,
}

impl WorkingCopy {
    pub fn admin_dir_of(root: &Path) -> PathBuf {
        root.join(ADMIN_DIR)
    }

    pub fn is_root(dir: &Path) -> bool {
        Self::index_file_of(dir).is_file()
            || Self::admin_dir_of(dir).join(JSON_INDEX_FILE).is_file()
            || Self::checkout_file_of(dir).is_file()
    }

    /// See [`CHECKOUT_FILE`].
    fn checkout_file_of(root: &Path) -> PathBuf {
        Self::admin_dir_of(root).join(CHECKOUT_FILE)
    }

    /// See [`PENDING_FILE`].
    pub fn pending_file_of(root: &Path) -> PathBuf {
        Self::admin_dir_of(root).join(PENDING_FILE)
    }

    /// The lock file of the working copy at `root`: there while a command
    /// changes it, or after one was killed.
    pub fn lock_file_of(root: &Path) -> PathBuf {
        Self::admin_dir_of(root).join(LOCK_FILE)
    }

    /// The index file of the working copy at `root` (renamed into place
    /// by every save, so a watcher sees each change of it).
    pub fn index_file_of(root: &Path) -> PathBuf {
        Self::admin_dir_of(root).join(INDEX_FILE)
    }

    /// Starts a new working copy in `root` (which must exist), locked.
    pub fn create(root: &Path, url: &ServerUrl, rev: u64) -> Result<Self> {
        let admin = Self::admin_dir_of(root);
        fsutil::create_dir_all(&admin.join("tmp"))?;
        fsutil::create_dir_all(&admin.join("pristine"))?;
        let index = Index {
            format: FORMAT_VERSION,
            url: url.with_path(RepoPath::root()).redacted(),
            server_root: url.path.to_string(),
            rev,
            stamp_ns: 0,
            entries: Default::default(),
            merges: Default::default(),
            pending_commit: None,
            settled_commit: None,
            incomplete: false,
        };
        let unsynced = Arc::new(Unsynced::new(root.to_path_buf()));
        let mut wc = Self {
            root: root.to_path_buf(),
            index,
            pristine: Pristine::new(admin.join("pristine"), unsynced.clone()),
            lock: None,
            unsynced,
            racy_window: OnceLock::new(),
            verified_since: None,
        };
        wc.lock()?;
        Ok(wc)
    }

    /// Opens the working copy whose top folder is `root`.
    pub fn open(root: &Path) -> Result<Self> {
        let admin = Self::admin_dir_of(root);
        let corrupt = |path: &Path, e: String| ClientError::Corrupt {
            root: root.to_path_buf(),
            detail: format!("cannot read {}: {e}", path.display()),
        };
        let newer = |format: u32| ClientError::Corrupt {
            root: root.to_path_buf(),
            detail: format!(
                "index format {format} is not the {FORMAT_VERSION} this zsync understands; \
                 use a matching zsync"
            ),
        };
        let index_path = admin.join(INDEX_FILE);
        let mut index = match fs::read(&index_path) {
            Ok(data) => {
                match disk::format_of(&data) {
                    Some(format)
                        if disk::is_binary(&data)
                            && !(OLDEST_BINARY_FORMAT..=FORMAT_VERSION).contains(&format) =>
                    {
                        return Err(newer(format));
                    }
                    _ => {}
                }
                disk::decode(&data).map_err(|e| corrupt(&index_path, e))?.0
            }
            // A fresh checkout that never finished: `cleanup` finishes it.
            Err(e)
                if e.kind() == std::io::ErrorKind::NotFound
                    && Self::checkout_file_of(root).is_file() =>
            {
                return Err(ClientError::Interrupted {
                    root: root.to_path_buf(),
                });
            }
            // Written by an earlier zsync: JSON, converted by the next save.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let json_path = admin.join(JSON_INDEX_FILE);
                let text = fs::read(&json_path).map_err(ClientError::io(&index_path))?;
                let mut index: Index = serde_json::from_slice(&text)
                    .map_err(|e| corrupt(&json_path, e.to_string()))?;
                if index.format != JSON_FORMAT_VERSION {
                    return Err(newer(index.format));
                }
                index.format = FORMAT_VERSION;
                index
            }
            Err(e) => return Err(ClientError::io(&index_path)(e)),
        };
        if index.pending_commit.is_none() {
            index.pending_commit = Self::read_pending(root, &index)?;
        }
        let unsynced = Arc::new(Unsynced::new(root.to_path_buf()));
        Ok(Self {
            root: root.to_path_buf(),
            index,
            pristine: Pristine::new(admin.join("pristine"), unsynced.clone()),
            lock: None,
            unsynced,
            racy_window: OnceLock::new(),
            verified_since: None,
        })
    }

    /// The pending commit in [`PENDING_FILE`], unless the index already
    /// recorded what became of it (the file outlived the save that did).
    fn read_pending(root: &Path, index: &Index) -> Result<Option<PendingCommit>> {
        let path = Self::pending_file_of(root);
        let data = match fs::read(&path) {
            Ok(data) => data,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(ClientError::io(&path)(e)),
        };
        let pending: PendingCommit =
            serde_json::from_slice(&data).map_err(|e| ClientError::Corrupt {
                root: root.to_path_buf(),
                detail: format!("cannot read {}: {e}", path.display()),
            })?;
        Ok((index.settled_commit.as_ref() != Some(&pending.id)).then_some(pending))
    }

    /// Records, durably, a commit about to be sent, with the base copies
    /// of the bodies it sends, so that if its answer is lost the next
    /// `commit` or `update` asks the server by its id. Only this small
    /// file is written: the index is saved once, when the answer is in.
    pub fn save_pending(&mut self, pending: PendingCommit) -> Result<()> {
        self.pristine.flush()?;
        self.unsynced.sync()?;
        let data = serde_json::to_vec(&pending).map_err(|e| ClientError::Corrupt {
            root: self.root.clone(),
            detail: e.to_string(),
        })?;
        fsutil::write_atomic_synced(&Self::pending_file_of(&self.root), &data)?;
        self.index.pending_commit = Some(pending);
        Ok(())
    }

    /// Forgets the pending commit: the server refused it, so nothing
    /// landed and the index is as it was.
    pub fn drop_pending(&mut self) -> Result<()> {
        self.index.pending_commit = None;
        fsutil::remove_file_synced(&Self::pending_file_of(&self.root))
    }

    /// Notes that this command checks, from now on, that every versioned
    /// item is present (and restores what is not).
    pub fn verifying_from_now(&mut self) {
        self.verified_since = Some(now_ns());
    }

    /// Checks, now, that every versioned item is present; if so, saves
    /// from here on leave a glance (see [`crate::glance`]), as after an
    /// update of the whole copy. For a command that wrote every item.
    pub fn verify_present(&mut self) -> Result<bool> {
        let since = now_ns();
        let present = !self.any_missing(&[RepoPath::root()])?;
        self.verified_since = present.then_some(since);
        Ok(present)
    }

    /// Whether a versioned item under one of `targets` is gone from disk
    /// (deleted by hand, or by a command killed half-way).
    pub fn any_missing(&self, targets: &[RepoPath]) -> Result<bool> {
        let keys: Vec<&String> = self
            .index
            .entries
            .iter()
            .filter(|(_, e)| e.schedule == Schedule::Normal)
            .map(|(k, _)| k)
            .collect();
        // The stats wait on the filesystem: a few threads at once.
        let gone = fsutil::parallel_map(&keys, 4, |key| {
            let rel = crate::status::parse_key(self, key)?;
            Ok(targets.iter().any(|t| t.contains(&rel))
                && fs::symlink_metadata(self.abs(&rel)).is_err())
        })?;
        Ok(gone.into_iter().any(|g| g))
    }

    /// Takes the working copy's lock, so two commands never change it at
    /// once. Released when the `WorkingCopy` is dropped. Refuses while a
    /// commit's answer is unrecorded (only `commit` and `update`, which
    /// settle it, take the lock then, with [`WorkingCopy::lock_to_settle`]).
    pub fn lock(&mut self) -> Result<()> {
        self.lock_to_settle()?;
        if self.index.pending_commit.is_some() {
            self.unlock();
            return Err(ClientError::PendingCommit {
                root: self.root.clone(),
            });
        }
        Ok(())
    }

    fn unlock(&mut self) {
        if let Some(lock) = self.lock.take() {
            let _ = fs::remove_file(lock);
        }
    }

    /// Takes the lock even if a commit's answer is unrecorded; the caller
    /// settles it first.
    pub fn lock_to_settle(&mut self) -> Result<()> {
        if self.lock.is_some() {
            return Ok(());
        }
        let path = Self::lock_file_of(&self.root);
        match fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(mut f) => {
                use std::io::Write;
                let _ = writeln!(f, "{}", std::process::id());
                self.lock = Some(path);
                Ok(())
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                self.check_not_interrupted()?;
                let pid = fs::read_to_string(&path).unwrap_or_default();
                Err(ClientError::Locked {
                    root: self.root.clone(),
                    holder: match pid.trim() {
                        "" => String::new(),
                        pid => format!(" (process {pid})"),
                    },
                })
            }
            Err(e) => Err(ClientError::io(&path)(e)),
        }
    }

    /// Fails if a command that changed this working copy was killed before
    /// it finished: its lock is still there but its process is gone, so
    /// files and index may disagree until `zsync cleanup`.
    pub fn check_not_interrupted(&self) -> Result<()> {
        let path = Self::lock_file_of(&self.root);
        let Ok(text) = fs::read_to_string(&path) else {
            return Ok(());
        };
        let alive = match text.trim().parse::<u32>() {
            Ok(pid) if cfg!(target_os = "linux") => {
                Path::new("/proc").join(pid.to_string()).exists()
            }
            // Elsewhere we cannot tell; assume the holder still runs.
            Ok(_) => true,
            Err(_) => false,
        };
        if alive {
            Ok(())
        } else {
            Err(ClientError::Interrupted {
                root: self.root.clone(),
            })
        }
    }

    /// Removes a lock left by a command that was killed, and temp files.
    /// A fresh checkout killed before its index was saved becomes a
    /// working copy whose next `update` brings what is missing (see
    /// [`WorkingCopy::finish_interrupted_checkout`]).
    pub fn cleanup(root: &Path) -> Result<()> {
        let admin = Self::admin_dir_of(root);
        let marker = Self::checkout_file_of(root);
        if marker.is_file() {
            if !Self::index_file_of(root).is_file() {
                Self::finish_interrupted_checkout(root)?;
            }
            fsutil::remove_file_if_exists(&marker)?;
        }
        fsutil::remove_file_if_exists(&Self::lock_file_of(root))?;
        let tmp = admin.join("tmp");
        if tmp.is_dir() {
            fs::remove_dir_all(&tmp).map_err(ClientError::io(&tmp))?;
        }
        fsutil::create_dir_all(&tmp)
    }

    /// Notes, before a fresh checkout writes anything else, the index it
    /// will save (marked incomplete), so that if it is interrupted the
    /// copy is recognised as such and `cleanup` can finish it.
    pub fn begin_checkout(&mut self) -> Result<()> {
        let was = std::mem::replace(&mut self.index.incomplete, true);
        let encoded = disk::encode(&self.index, None);
        self.index.incomplete = was;
        let data = encoded.map_err(|detail| ClientError::Corrupt {
            root: self.root.clone(),
            detail,
        })?;
        fsutil::write_atomic_synced(&Self::checkout_file_of(&self.root), &data)
    }

    /// After the index is saved: the checkout is complete.
    pub fn end_checkout(&self) -> Result<()> {
        fsutil::remove_file_if_exists(&Self::checkout_file_of(&self.root))
    }

    /// Turns an interrupted fresh checkout into a working copy that the
    /// next `update` completes. The checkout wrote its files in place (no
    /// temp names) and never flushed its base copies, so neither is
    /// trusted: the pristine store is emptied (update fetches every body
    /// again) and a file that does not hold its body (one cut off while
    /// being written, or edited by hand since) is moved aside to
    /// `NAME.interrupted`, so nothing is lost, and update restores NAME.
    fn finish_interrupted_checkout(root: &Path) -> Result<()> {
        let marker = Self::checkout_file_of(root);
        let data = fs::read(&marker).map_err(ClientError::io(&marker))?;
        let (mut index, _) = disk::decode(&data).map_err(|e| ClientError::Corrupt {
            root: root.to_path_buf(),
            detail: format!("cannot read {}: {e}", marker.display()),
        })?;
        index.incomplete = true;
        let pristine = Self::admin_dir_of(root).join("pristine");
        if pristine.exists() {
            fs::remove_dir_all(&pristine).map_err(ClientError::io(&pristine))?;
        }
        fsutil::create_dir_all(&pristine)?;
        let unsynced = Arc::new(Unsynced::new(root.to_path_buf()));
        let mut wc = Self {
            root: root.to_path_buf(),
            index,
            pristine: Pristine::new(pristine, unsynced.clone()),
            lock: None,
            unsynced,
            racy_window: OnceLock::new(),
            verified_since: None,
        };
        let files: Vec<(PathBuf, zsync_model::BodyHash)> = wc
            .index
            .entries
            .iter()
            .filter_map(|(key, e)| {
                let rel = RepoPath::parse(key).ok()?;
                Some((wc.abs(&rel), e.hash?))
            })
            .collect();
        fsutil::parallel_map(&files, 4, |(path, hash)| {
            match fsutil::hash_file(path) {
                Ok((h, _)) if h == *hash => Ok(()),
                Ok(_) => move_aside(path),
                // Never written (or not a file): update restores it.
                Err(_) => Ok(()),
            }
        })?;
        for e in wc.index.entries.values_mut() {
            e.stat = None;
        }
        wc.save()
    }

    /// How close to the index's stamp a file's mtime may be before its
    /// stat data is no longer trusted; see [`Index::racy_window_ns`].
    pub fn racy_window_ns(&self) -> i128 {
        *self.racy_window.get_or_init(|| self.index.racy_window_ns())
    }

    pub fn tmp_dir(&self) -> PathBuf {
        Self::admin_dir_of(&self.root).join("tmp")
    }

    /// Notes a working file just written (to a temp name and renamed)
    /// whose content may be found nowhere else (a merge result, the user's
    /// text), so the next [`WorkingCopy::save`] flushes it to disk first.
    /// A file written from its base copy is not noted (see ARCHITECTURE.md).
    pub fn written(&self, path: &Path) {
        self.unsynced.note(path);
    }

    /// Writes a working file atomically; durable by the next save.
    pub fn write_file(&self, path: &Path, data: &[u8]) -> Result<()> {
        fsutil::write_atomic(path, data, None)?;
        self.written(path);
        Ok(())
    }

    /// Writes the index atomically and durably, after the files it names.
    pub fn save(&mut self) -> Result<()> {
        self.pristine.flush()?;
        self.unsynced.sync()?;
        self.index.stamp_ns = now_ns();
        let glance = self
            .verified_since
            .and_then(|since| Glance::of(&self.index, &self.root, since, self.racy_window_ns()));
        let data =
            disk::encode(&self.index, glance.as_ref()).map_err(|detail| ClientError::Corrupt {
                root: self.root.clone(),
                detail,
            })?;
        let admin = Self::admin_dir_of(&self.root);
        fsutil::write_atomic_synced(&admin.join(INDEX_FILE), &data)?;
        // Only once the index is in place: a pending commit it settled
        // (should this removal be lost, `settled_commit` tells), and an
        // index of format 1.
        if self.index.pending_commit.is_none() {
            fsutil::remove_file_if_exists(&admin.join(PENDING_FILE))?;
        }
        fsutil::remove_file_if_exists(&admin.join(JSON_INDEX_FILE))
    }

    /// The server URL of the working copy's root object.
    pub fn url(&self) -> Result<ServerUrl> {
        Self::url_of(&self.root, &self.index.url, &self.index.server_root)
    }

    /// The server URL of the root object of the working copy at `root`,
    /// from its index's `url` and `server_root`.
    pub fn url_of(root: &Path, url: &str, server_root: &str) -> Result<ServerUrl> {
        let base = ServerUrl::parse(url)?;
        let path = RepoPath::parse(server_root).map_err(|e| ClientError::Corrupt {
            root: root.to_path_buf(),
            detail: e.to_string(),
        })?;
        Ok(base.with_path(path))
    }

    /// The server path of a working-copy path.
    pub fn server_path(&self, rel: &RepoPath) -> Result<RepoPath> {
        let root = RepoPath::parse(&self.index.server_root).map_err(|e| ClientError::Corrupt {
            root: self.root.clone(),
            detail: e.to_string(),
        })?;
        root.join_path(rel)
            .map_err(|e| ClientError::refused(rel, e.to_string()))
    }

    pub fn abs(&self, rel: &RepoPath) -> PathBuf {
        let mut p = PathBuf::with_capacity(self.root.as_os_str().len() + rel.as_str().len() + 1);
        p.push(&self.root);
        for c in rel.components() {
            p.push(c);
        }
        p
    }

    /// [`WorkingCopy::abs`] of an index key (a valid path, `/`-separated).
    pub fn abs_key(&self, key: &str) -> PathBuf {
        let mut p = PathBuf::with_capacity(self.root.as_os_str().len() + key.len() + 1);
        p.push(&self.root);
        p.extend(key.split('/').filter(|c| !c.is_empty()));
        p
    }

    /// The working-copy path of an absolute path inside it.
    pub fn rel(&self, abs: &Path) -> Result<RepoPath> {
        let tail = abs
            .strip_prefix(&self.root)
            .map_err(|_| ClientError::NotAWorkingCopy(abs.to_path_buf()))?;
        let mut parts = Vec::new();
        for c in tail.components() {
            match c {
                Component::Normal(s) => parts.push(s.to_str().ok_or_else(|| {
                    ClientError::refused(abs.display(), "the name is not valid UTF-8")
                })?),
                _ => return Err(ClientError::refused(abs.display(), "not a plain path")),
            }
        }
        RepoPath::parse(&parts.join("/"))
            .map_err(|e| ClientError::refused(abs.display(), e.to_string()))
    }
}

impl Drop for WorkingCopy {
    fn drop(&mut self) {
        self.unlock();
    }
}

pub fn now_ns() -> i128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as i128)
        .unwrap_or(0)
}

/// Renames `path` to the first free `NAME.interrupted`, `NAME.interrupted-2`, …
fn move_aside(path: &Path) -> Result<()> {
    let mut n = 1;
    loop {
        let mut name = path.as_os_str().to_owned();
        name.push(".interrupted");
        if n > 1 {
            name.push(format!("-{n}"));
        }
        let aside = PathBuf::from(name);
        if fs::symlink_metadata(&aside).is_err() {
            return fs::rename(path, &aside).map_err(ClientError::io(path));
        }
        n += 1;
    }
}

/// Makes `path` absolute against `cwd` and folds `.` and `..` lexically.
pub fn absolute(cwd: &Path, path: &Path) -> PathBuf {
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        cwd.join(path)
    };
    let mut out = PathBuf::new();
    for c in joined.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// The top folder of the working copy holding `abs`, if any.
pub fn find_root(abs: &Path) -> Option<PathBuf> {
    let mut dir = Some(abs);
    while let Some(d) = dir {
        if WorkingCopy::is_root(d) {
            return Some(d.to_path_buf());
        }
        dir = d.parent();
    }
    None
}

/// `path` relative to `base`, with `..` where needed, for display.
pub fn relative_to(path: &Path, base: &Path) -> PathBuf {
    if let Ok(rest) = path.strip_prefix(base) {
        return if rest.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            rest.to_path_buf()
        };
    }
    let p: Vec<_> = path.components().collect();
    let b: Vec<_> = base.components().collect();
    let common = p.iter().zip(&b).take_while(|(x, y)| x == y).count();
    if common <= 1 {
        return path.to_path_buf();
    }
    let mut out = PathBuf::new();
    for _ in common..b.len() {
        out.push("..");
    }
    for c in &p[common..] {
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths() {
        assert_eq!(
            relative_to(Path::new("/a/b/c"), Path::new("/a")),
            PathBuf::from("b/c")
        );
        assert_eq!(
            relative_to(Path::new("/a/b"), Path::new("/a/b")),
            PathBuf::from(".")
        );
        assert_eq!(
            relative_to(Path::new("/a/x"), Path::new("/a/b")),
            PathBuf::from("../x")
        );
        assert_eq!(
            absolute(Path::new("/a/b"), Path::new("../c/./d")),
            PathBuf::from("/a/c/d")
        );
    }
}
