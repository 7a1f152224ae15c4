//! A no-op `update` at a glance: without decoding the index's entries.
//!
//! An update whose change feed shows nothing new still restores files
//! deleted by hand, so it must know that every versioned item is present.
//! Statting every file makes the no-op grow with the tree; instead, an
//! update that has checked every item saves a [`Glance`] in the index's
//! header: the versioned folders, and for those that changed while it ran,
//! their versioned children. Removing or renaming an entry changes its
//! folder's ctime (which, unlike mtime, no tool can set back), so the next
//! no-op stats the folders: one whose ctime is older than the check proves
//! its children untouched; one changed since is looked at child by child
//! if the glance lists them, and otherwise sends the update the long way.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use zsync_model::RepoPath;

use crate::index::{Index, Schedule};

/// More folders changed than this during the update, and no glance is
/// saved (the next no-op takes the long way, and saves one).
const MAX_CHANGED_FOLDERS: usize = 256;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Glance {
    /// When the update that saved it began checking that every item is
    /// present (ns since the epoch).
    pub since_ns: i128,
    /// How much earlier than `since_ns` a ctime counts as a change
    /// (timestamps tick coarsely; see `Index::racy_window_ns`).
    pub racy_ns: i128,
    /// The versioned folders, by index key (`""` is the top).
    pub folders: Vec<String>,
    /// Folders changed since `since_ns` (by the update itself, or by hand
    /// while it ran): their versioned children's names.
    pub changed: BTreeMap<String, Vec<String>>,
}

impl Glance {
    /// The glance of `index` for a check of every item begun at
    /// `since_ns`; `None` when the index has anything a no-op update must
    /// look at (conflicts, moves, sparse folders, a pending commit) or too
    /// many folders changed.
    pub fn of(index: &Index, root: &Path, since_ns: i128, racy_ns: i128) -> Option<Glance> {
        if index.pending_commit.is_some() || index.incomplete {
            return None;
        }
        let mut folders = Vec::new();
        for (key, e) in &index.entries {
            if e.in_conflict() || e.moved_from.is_some() || e.depth.is_some() {
                return None;
            }
            if e.is_folder() && e.schedule == Schedule::Normal {
                folders.push(key.clone());
            }
        }
        let changed_flags = crate::fsutil::parallel_map(&folders, 4, |key| {
            Ok(changed_since(root, key, since_ns - racy_ns))
        })
        .ok()?;
        let mut changed: BTreeMap<String, Vec<String>> = folders
            .iter()
            .zip(changed_flags)
            .filter(|(_, c)| *c)
            .map(|(k, _)| (k.clone(), Vec::new()))
            .collect();
        if changed.len() > MAX_CHANGED_FOLDERS {
            return None;
        }
        if !changed.is_empty() {
            for (key, e) in &index.entries {
                if key.is_empty() || e.schedule != Schedule::Normal {
                    continue;
                }
                let (parent, name) = key.rsplit_once('/').unwrap_or(("", key));
                if let Some(children) = changed.get_mut(parent) {
                    children.push(name.to_owned());
                }
            }
        }
        Some(Glance {
            since_ns,
            racy_ns,
            folders,
            changed,
        })
    }

    /// Whether every versioned item under the `targets` is still present,
    /// as far as folder ctimes prove it; `false` also when they cannot (the
    /// caller then checks every item).
    pub fn intact(&self, root: &Path, targets: &[RepoPath]) -> bool {
        // A key that does not parse is looked at, not skipped.
        let under = |key: &str| {
            RepoPath::parse(key).map_or(true, |p| targets.iter().any(|t| t.contains(&p)))
        };
        // By parent folder: each folder is statted from its parent's open
        // folder, so the kernel walks one name rather than the whole path
        // (most of a no-op update of a large tree).
        let groups = crate::index::by_parent(
            self.folders
                .iter()
                .filter(|k| under(k))
                .map(|k| (k.as_str(), k.as_str())),
        );
        let after = self.since_ns - self.racy_ns;
        let ok = crate::fsutil::parallel_map(&groups, 4, |(parent, keys)| {
            let changed = changed_in(root, *parent, keys, after);
            Ok(keys.iter().zip(changed).all(|(key, changed)| {
                if !changed {
                    return true;
                }
                let Some(children) = self.changed.get(*key) else {
                    return false;
                };
                let dir = path_of(root, key);
                children
                    .iter()
                    .all(|name| std::fs::symlink_metadata(dir.join(name)).is_ok())
            }))
        });
        ok.is_ok_and(|all| all.into_iter().all(|ok| ok))
    }
}

/// [`changed_since`] of each of the folders at `keys`, whose parent folder
/// is at `parent` (`None` for the top).
fn changed_in(root: &Path, parent: Option<&str>, keys: &[&str], after_ns: i128) -> Vec<bool> {
    let one_by_one = || {
        keys.iter()
            .map(|k| changed_since(root, k, after_ns))
            .collect()
    };
    #[cfg(unix)]
    {
        use rustix::fs::{AtFlags, FileType, Mode, OFlags};
        let Some(parent) = parent else {
            return one_by_one();
        };
        let Ok(dir) = rustix::fs::open(
            path_of(root, parent),
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        ) else {
            return one_by_one();
        };
        keys.iter()
            .map(|key| {
                let name = key.rsplit_once('/').map_or(*key, |(_, n)| n);
                match rustix::fs::statat(&dir, name, AtFlags::SYMLINK_NOFOLLOW) {
                    Ok(st) if FileType::from_raw_mode(st.st_mode) == FileType::Directory => {
                        i128::from(crate::index::StatData::of_stat(&st).ctime_ns) >= after_ns
                    }
                    _ => true,
                }
            })
            .collect()
    }
    #[cfg(not(unix))]
    {
        let _ = parent;
        one_by_one()
    }
}

fn path_of(root: &Path, key: &str) -> std::path::PathBuf {
    let mut path = root.to_path_buf();
    path.extend(key.split('/').filter(|c| !c.is_empty()));
    path
}

/// Whether the folder at `key` changed at or after `after_ns`, or is gone
/// or no folder (which counts as changed).
fn changed_since(root: &Path, key: &str, after_ns: i128) -> bool {
    match std::fs::symlink_metadata(path_of(root, key)) {
        Ok(meta) if meta.is_dir() => ctime_ns(&meta).is_none_or(|c| c >= after_ns),
        _ => true,
    }
}

#[cfg(unix)]
fn ctime_ns(meta: &std::fs::Metadata) -> Option<i128> {
    use std::os::unix::fs::MetadataExt;
    Some(meta.ctime() as i128 * 1_000_000_000 + meta.ctime_nsec() as i128)
}

/// Elsewhere no ctime: every folder counts as changed.
#[cfg(not(unix))]
fn ctime_ns(_meta: &std::fs::Metadata) -> Option<i128> {
    None
}
