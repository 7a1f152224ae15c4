//! Settling conflicts: `zsync resolve --accept ARG`, `resolved`, and the
//! choices `update` offers (or takes from `--accept`) as conflicts arise.
//!
//! A conflict keeps the three versions' bodies in the pristine store, so
//! every choice can be rebuilt exactly, however the file was edited since.

use std::path::{Path, PathBuf};

use zsync_merge::{Side, merge3_choosing};
use zsync_model::{BodyHash, Props, RepoPath};

use crate::checkout::write_from_pristine;
use crate::error::{ClientError, Result};
use crate::fsutil;
use crate::index::{Conflict, Schedule};
use crate::schedule::{open_for, subtree_keys};
use crate::session::Context;
use crate::ui::Notification;
use crate::wc::WorkingCopy;

/// Which version a conflict is settled with (svn's `--accept` values).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Accept {
    /// Leave the conflict for later (only meaningful during `update`).
    Postpone,
    /// The base before the update that conflicted.
    Base,
    /// The file as it is now (the user edited the markers away).
    Working,
    /// Clean regions merged, conflicting regions from the user's version.
    MineConflict,
    /// Clean regions merged, conflicting regions from the incoming version.
    TheirsConflict,
    /// The user's whole version from before the update.
    MineFull,
    /// The whole incoming version.
    TheirsFull,
}

impl std::str::FromStr for Accept {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        Ok(match s {
            "postpone" | "p" => Accept::Postpone,
            "base" => Accept::Base,
            "working" | "r" => Accept::Working,
            "mine-conflict" | "mc" => Accept::MineConflict,
            "theirs-conflict" | "tc" => Accept::TheirsConflict,
            "mine-full" | "mf" => Accept::MineFull,
            "theirs-full" | "tf" => Accept::TheirsFull,
            _ => {
                return Err(format!(
                    "unknown --accept value {s:?}: use postpone, base, working, mine-conflict, theirs-conflict, mine-full or theirs-full"
                ));
            }
        })
    }
}

/// `zsync resolve --accept ARG PATH...` (and `resolved PATH...`): settles
/// every conflict at or below the paths.
pub fn resolve(ctx: &Context, paths: &[PathBuf], accept: Accept) -> Result<()> {
    if accept == Accept::Postpone {
        return Err(ClientError::refused(
            "--accept postpone",
            "only applies to update; choose another version",
        ));
    }
    let (mut wc, targets) = open_for(ctx, paths)?;
    let mut victims = Vec::new();
    for (abs, rel) in &targets {
        let found: Vec<_> = subtree_keys(&wc, rel)?
            .into_iter()
            .filter(|(k, _)| wc.index.entries[k].in_conflict())
            .collect();
        if found.is_empty() {
            return Err(ClientError::refused(ctx.display(abs), "is not in conflict"));
        }
        victims.extend(found);
    }
    for (key, rel) in &victims {
        check_applies(ctx, &wc, key, rel, accept)?;
    }
    for (key, rel) in &victims {
        resolve_entry(ctx, &mut wc, key, rel, accept)?;
    }
    // A chosen file is written anew, a chosen `needs-lock` may come or go.
    for (key, _) in &victims {
        crate::locks::fit_permissions(&mut wc, key)?;
    }
    wc.save()
}

/// Refuses a choice that does not apply to an item's kind of conflict,
/// before anything is changed.
fn check_applies(
    ctx: &Context,
    wc: &WorkingCopy,
    key: &str,
    rel: &RepoPath,
    accept: Accept,
) -> Result<()> {
    let Some(entry) = wc.index.entries.get(key) else {
        return Ok(());
    };
    if matches!(entry.conflict.as_deref(), Some(Conflict::Tree { .. }))
        && matches!(
            accept,
            Accept::Base | Accept::MineConflict | Accept::TheirsConflict
        )
    {
        return Err(ClientError::refused(
            ctx.display(&wc.abs(rel)),
            "is in a tree conflict; settle it with --accept working (keep what is here) or theirs-full (take the server's)",
        ));
    }
    Ok(())
}

/// Settles one item's conflicts with `accept` and removes its side files.
pub(crate) fn resolve_entry(
    ctx: &Context,
    wc: &mut WorkingCopy,
    key: &str,
    rel: &RepoPath,
    accept: Accept,
) -> Result<()> {
    if accept == Accept::Postpone {
        return Ok(());
    }
    check_applies(ctx, wc, key, rel, accept)?;
    let Some(mut entry) = wc.index.entries.get(key).cloned() else {
        return Ok(());
    };
    let path = wc.abs(rel);
    let write = |wc: &WorkingCopy, hash: &BodyHash| write_from_pristine(wc, hash, &path);
    let read_or_empty = |wc: &WorkingCopy, hash: &Option<BodyHash>| -> Result<Vec<u8>> {
        hash.map(|h| wc.pristine.read(&h))
            .transpose()
            .map(Option::unwrap_or_default)
    };

    let conflict = entry.conflict.take().map(|c| *c);
    let sides: Vec<PathBuf> = conflict
        .iter()
        .flat_map(|c| c.side_files())
        .map(|name| path.with_file_name(name))
        .collect();
    match (conflict, accept) {
        (None, _) | (Some(_), Accept::Working) => {}
        (
            Some(
                Conflict::Text {
                    old_hash,
                    mine_hash,
                    their_hash,
                    ..
                }
                | Conflict::Binary {
                    old_hash,
                    mine_hash,
                    their_hash,
                    ..
                },
            ),
            a,
        ) => {
            let chosen: Option<Vec<u8>> = match a {
                Accept::Base => Some(read_or_empty(wc, &old_hash)?),
                Accept::MineFull => Some(wc.pristine.read(&mine_hash)?),
                Accept::TheirsFull => Some(wc.pristine.read(&their_hash)?),
                Accept::MineConflict | Accept::TheirsConflict => {
                    let base = read_or_empty(wc, &old_hash)?;
                    let mine = wc.pristine.read(&mine_hash)?;
                    let theirs = wc.pristine.read(&their_hash)?;
                    if zsync_merge::is_binary(&mine) || zsync_merge::is_binary(&theirs) {
                        Some(if a == Accept::MineConflict {
                            mine
                        } else {
                            theirs
                        })
                    } else {
                        let side = if a == Accept::MineConflict {
                            Side::Mine
                        } else {
                            Side::Theirs
                        };
                        Some(merge3_choosing(&base, &mine, &theirs, side))
                    }
                }
                Accept::Working | Accept::Postpone => None,
            };
            if let Some(data) = chosen {
                wc.write_file(&path, &data)?;
                entry.stat = None;
            }
        }
        (Some(Conflict::Tree { .. }), Accept::MineFull) => {}
        (
            Some(Conflict::Tree {
                incoming_delete, ..
            }),
            _,
        ) => {
            // Theirs: the incoming state of the item.
            if incoming_delete || entry.oid.is_none() {
                // Theirs is no item at all.
                for (k, _) in subtree_keys(wc, rel)? {
                    let versioned = wc.index.entries.get(&k).is_some_and(|e| e.oid.is_some());
                    if versioned {
                        if let Some(e) = wc.index.entries.get_mut(&k) {
                            e.schedule = Schedule::Delete;
                            e.conflict = None;
                            e.prop_conflicts.clear();
                            e.new_props = None;
                        }
                    } else {
                        wc.index.entries.remove(&k);
                    }
                }
                fsutil::remove_path(&path)?;
                report_resolved(ctx, &path);
                return Ok(());
            }
            entry.schedule = Schedule::Normal;
            entry.new_props = None;
            if entry.is_folder() {
                if path.exists() && !path.is_dir() {
                    fsutil::remove_path(&path)?;
                }
                fsutil::create_dir_all(&path)?;
            } else if let Some(hash) = entry.hash {
                if path.is_dir() {
                    fsutil::remove_path(&path)?;
                }
                entry.stat = Some(write(wc, &hash)?);
            }
        }
    }

    if !entry.prop_conflicts.is_empty() {
        let mut props: Props = entry.working_props().clone();
        for (name, clash) in std::mem::take(&mut entry.prop_conflicts) {
            let value = match accept {
                Accept::Base => clash.base,
                Accept::MineConflict | Accept::MineFull => clash.mine,
                Accept::TheirsConflict | Accept::TheirsFull => clash.theirs,
                Accept::Working | Accept::Postpone => continue,
            };
            match value {
                Some(v) => props.insert(name, v),
                None => props.remove(&name),
            };
        }
        entry.new_props = Some(props).filter(|p| p != &*entry.props);
    }
    for side in sides {
        fsutil::remove_file_if_exists(&side)?;
    }
    wc.index.entries.insert(key.to_owned(), entry);
    report_resolved(ctx, &path);
    Ok(())
}

fn report_resolved(ctx: &Context, path: &Path) {
    ctx.ui.notify(Notification::Schedule {
        action: "Resolved".into(),
        path: ctx.display(path),
    });
}
