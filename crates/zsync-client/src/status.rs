//! `zsync status`: what changed in the working copy, offline, in svn's
//! columns. Files whose stat data still matches the index are not read;
//! others are hashed and compared with their base.

use std::collections::BTreeMap;
use std::path::PathBuf;

use zsync_model::{ADMIN_DIR, Kind, RepoPath, Rev};

use crate::error::{ClientError, Result};
use crate::fsutil;
use crate::ignore_rules::IgnoreRules;
use crate::index::{Conflict, Entry, Schedule, StatData};
use crate::session::{Context, Target};
use crate::ui::Notification;
use crate::wc::WorkingCopy;

/// The state of a versioned item on disk compared with its base.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LocalState {
    Clean,
    Modified,
    Missing,
    /// A file where a folder is versioned, or the reverse.
    WrongKind,
}

/// Compares one item with its base. Returns fresh stat data when a file was
/// read and found clean, so the caller can refresh the index.
pub fn local_state(
    wc: &WorkingCopy,
    rel: &RepoPath,
    entry: &Entry,
) -> Result<(LocalState, Option<StatData>)> {
    let path = wc.abs(rel);
    let meta = match std::fs::symlink_metadata(&path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok((LocalState::Missing, None));
        }
        Err(e) => return Err(ClientError::io(&path)(e)),
    };
    if entry.is_folder() {
        let state = if meta.is_dir() {
            LocalState::Clean
        } else {
            LocalState::WrongKind
        };
        return Ok((state, None));
    }
    if !meta.is_file() {
        return Ok((LocalState::WrongKind, None));
    }
    let Some(base) = entry.hash else {
        return Ok((LocalState::Modified, None));
    };
    let stat = StatData::of(&meta);
    // Git's racy-clean rule: a file modified this close before the index
    // was written could be edited again within the same timestamp tick,
    // leaving its stat data unchanged, so it is re-read.
    let racy = stat.mtime_ns + wc.racy_window_ns() >= wc.index.stamp_ns;
    if entry.stat == Some(stat) && !racy {
        return Ok((LocalState::Clean, None));
    }
    if stat.size != entry.size {
        return Ok((LocalState::Modified, None));
    }
    let (hash, _) = fsutil::hash_file(&path)?;
    if hash == base {
        Ok((LocalState::Clean, Some(stat)))
    } else {
        Ok((LocalState::Modified, None))
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusItem {
    /// Relative to the working copy's root.
    pub path: RepoPath,
    pub abs: PathBuf,
    /// Column 1: ` A D M R C ? ! ~`.
    pub text: char,
    /// Column 2: ` M C`.
    pub props: char,
    /// Column 7: `C` for a tree conflict.
    pub tree_conflict: bool,
    /// The base revision, kind and last author of a versioned item.
    pub base: Option<(Rev, Kind, String)>,
    /// The revision the item was last updated or committed to; `None` for
    /// items not yet on the server.
    pub working_rev: Option<Rev>,
    pub conflict: Option<Conflict>,
    /// Column 4 `+`: the item comes with history (a move not yet committed).
    pub copied: bool,
    /// Where a moved item comes from, shown on the line below as svn does.
    pub moved_from: Option<PathBuf>,
    /// For the old place of a moved item (shown as deleted): where it went.
    pub moved_to: Option<PathBuf>,
}

impl StatusItem {
    /// True if the item has anything to report without `-v`.
    pub fn is_interesting(&self) -> bool {
        self.text != ' ' || self.props != ' ' || self.tree_conflict || self.moved_to.is_some()
    }
}

#[derive(Clone, Copy, Debug, Default)]
pub struct StatusOptions {
    /// `-v`: every item, changed or not.
    pub verbose: bool,
    /// `-q`: hide unversioned items.
    pub quiet: bool,
    /// `--no-ignore`: show ignored items too, as `I`.
    pub no_ignore: bool,
}

/// The status of every item under the target's paths, sorted by path.
pub fn status(ctx: &Context, target: &Target, opts: StatusOptions) -> Result<Vec<StatusItem>> {
    let mut wc = WorkingCopy::open(&target.root)?;
    wc.check_not_interrupted()?;
    if wc.index.pending_commit.is_some() {
        ctx.ui.notify(Notification::Warning(
            "a commit was interrupted before its answer arrived, so items it sent \
             may show as changed; `zsync update` finds out and records it"
                .into(),
        ));
    }
    let mut items = BTreeMap::new();
    let mut refreshed = Vec::new();

    for (key, entry) in &wc.index.entries {
        let rel = parse_key(&wc, key)?;
        if !target.paths.iter().any(|t| t.contains(&rel)) {
            continue;
        }
        let (state, fresh) = local_state(&wc, &rel, entry)?;
        if let Some(stat) = fresh {
            refreshed.push((key.clone(), stat));
        }
        let move_root = entry.moved_from.is_some() && wc.index.is_move_root(key);
        let text = match (&entry.conflict, entry.schedule, state) {
            (Some(c), _, _) if !c.is_tree() => 'C',
            (_, Schedule::Normal, LocalState::Clean | LocalState::Modified) if move_root => 'A',
            (_, Schedule::Add, LocalState::Missing) => '!',
            (_, Schedule::Add, _) => 'A',
            (_, Schedule::Delete, _) => 'D',
            (_, _, LocalState::Missing) => '!',
            (_, _, LocalState::WrongKind) => '~',
            (_, _, LocalState::Modified) => 'M',
            (_, _, LocalState::Clean) => ' ',
        };
        let item = StatusItem {
            abs: wc.abs(&rel),
            path: rel.clone(),
            text,
            props: if !entry.prop_conflicts.is_empty() {
                'C'
            } else if entry.props_modified() {
                'M'
            } else {
                ' '
            },
            tree_conflict: entry.conflict.as_ref().is_some_and(Conflict::is_tree),
            base: Some((entry.rev, entry.kind.clone(), entry.author.clone())),
            working_rev: entry.oid.as_ref().map(|_| wc.index.rev.max(entry.rev)),
            conflict: entry.conflict.clone(),
            copied: entry.moved_from.is_some(),
            moved_from: None,
            moved_to: None,
        };
        if let Some(from) = &entry.moved_from {
            // The old place shows as deleted, as svn shows a move.
            let from = parse_key(&wc, from)?;
            let item = StatusItem {
                abs: wc.abs(&from),
                path: from.clone(),
                text: 'D',
                props: ' ',
                tree_conflict: false,
                conflict: None,
                copied: false,
                moved_from: None,
                moved_to: move_root.then(|| wc.abs(&rel)),
                ..item.clone()
            };
            if target.paths.iter().any(|t| t.contains(&from))
                && !wc.index.entries.contains_key(from.as_str())
            {
                items.insert(from, item);
            }
        }
        let item = StatusItem {
            moved_from: entry
                .moved_from
                .as_ref()
                .filter(|_| move_root)
                .map(|f| wc.abs(&RepoPath::parse(f).unwrap_or_default())),
            ..item
        };
        if opts.verbose || item.is_interesting() {
            items.insert(rel, item);
        }
    }

    if !opts.quiet {
        let rules = IgnoreRules::new(&wc.root, true);
        for rel in unversioned(&wc, target)? {
            let abs = wc.abs(&rel);
            let ignored = rules.is_ignored(&abs, abs.is_dir());
            if ignored && !opts.no_ignore {
                continue;
            }
            items.insert(
                rel.clone(),
                StatusItem {
                    abs,
                    path: rel,
                    text: if ignored { 'I' } else { '?' },
                    props: ' ',
                    tree_conflict: false,
                    base: None,
                    working_rev: None,
                    conflict: None,
                    copied: false,
                    moved_from: None,
                    moved_to: None,
                },
            );
        }
    }

    for t in &target.paths {
        if !items.contains_key(t)
            && !wc.index.entries.contains_key(t.as_str())
            && !wc.abs(t).exists()
        {
            return Err(ClientError::refused(
                ctx.display(&wc.abs(t)),
                "is neither versioned nor on disk",
            ));
        }
    }

    // Refreshing the stat cache is an optimisation: skip it if another
    // command holds the lock.
    if !refreshed.is_empty() && wc.lock().is_ok() {
        for (key, stat) in refreshed {
            if let Some(e) = wc.index.entries.get_mut(&key) {
                e.stat = Some(stat);
            }
        }
        wc.save()?;
    }
    Ok(items.into_values().collect())
}

pub(crate) fn parse_key(wc: &WorkingCopy, key: &str) -> Result<RepoPath> {
    RepoPath::parse(key).map_err(|e| ClientError::Corrupt {
        root: wc.root.clone(),
        detail: format!("index path {key:?}: {e}"),
    })
}

/// Unversioned items inside versioned folders under the target. An
/// unversioned folder is listed, not descended into (as svn does).
pub fn unversioned(wc: &WorkingCopy, target: &Target) -> Result<Vec<RepoPath>> {
    let mut out = Vec::new();
    for (key, entry) in &wc.index.entries {
        if !entry.is_folder() || entry.schedule == Schedule::Delete {
            continue;
        }
        let dir_rel = parse_key(wc, key)?;
        let covered = target
            .paths
            .iter()
            .any(|t| t.contains(&dir_rel) || dir_rel.contains(t));
        if !covered {
            continue;
        }
        let dir = wc.abs(&dir_rel);
        let Ok(read) = std::fs::read_dir(&dir) else {
            continue;
        };
        for item in read {
            let item = item.map_err(ClientError::io(&dir))?;
            let name = item.file_name().to_string_lossy().into_owned();
            if dir_rel.is_root() && name == ADMIN_DIR {
                continue;
            }
            let Ok(rel) = dir_rel.join(&name) else {
                // A name zsync cannot version still shows up, by its lossy name.
                if let Ok(rel) =
                    dir_rel.join(&name.replace(|c: char| c.is_control() || c == '\\', "?"))
                {
                    out.push(rel);
                }
                continue;
            };
            if !wc.index.entries.contains_key(rel.as_str())
                && target.paths.iter().any(|t| t.contains(&rel))
            {
                out.push(rel);
            }
        }
    }
    Ok(out)
}
