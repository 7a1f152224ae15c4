//! `zsync move SRC DST` (alias `mv`): schedules a move or rename that keeps
//! the object's oid, so its history follows it. The index keeps each moved
//! item under its new path, with `moved_from` naming where the server has
//! it; `status`, `commit`, `revert` and `update` read both places from it.

use std::collections::BTreeSet;
use std::path::Path;

use zsync_model::RepoPath;

use crate::error::{ClientError, Result};
use crate::index::Schedule;
use crate::schedule::{open_for, sibling_collision, subtree_keys};
use crate::session::Context;
use crate::status::parse_key;
use crate::ui::Notification;
use crate::wc::WorkingCopy;

/// Moves `source` to `target`, or into `target` if it is a versioned
/// folder, on disk and in the index. Nothing changes if any check fails.
pub fn move_item(ctx: &Context, source: &Path, target: &Path) -> Result<()> {
    let (mut wc, mapped) = open_for(ctx, &[source.to_path_buf(), target.to_path_buf()])?;
    let [(src_abs, src_rel), (dst_abs, dst_rel)] = <[_; 2]>::try_from(mapped)
        .map_err(|_| ClientError::refused(ctx.display(source), "could not map the paths"))?;
    let shown_src = ctx.display(&src_abs);
    let Some(entry) = wc
        .index
        .entries
        .get(src_rel.as_str())
        .filter(|e| e.schedule != Schedule::Delete)
    else {
        return Err(ClientError::refused(
            &shown_src,
            "is not under version control",
        ));
    };
    if src_rel.is_root() {
        return Err(ClientError::refused(
            &shown_src,
            "is the working copy's root; check out its parent to move it",
        ));
    }
    let is_folder = entry.is_folder();
    // Moving into an existing versioned folder keeps the name, as mv does.
    let (dst_abs, dst_rel) = match wc.index.entries.get(dst_rel.as_str()) {
        Some(e) if e.is_folder() && e.schedule != Schedule::Delete && dst_abs.is_dir() => {
            let rel = dst_rel
                .join(src_rel.name())
                .map_err(|e| ClientError::refused(ctx.display(&dst_abs), e.to_string()))?;
            (wc.abs(&rel), rel)
        }
        _ => (dst_abs, dst_rel),
    };
    let shown_dst = ctx.display(&dst_abs);
    if src_rel.contains(&dst_rel) {
        return Err(ClientError::refused(
            &shown_dst,
            format!("is inside {shown_src}; a folder cannot be moved into itself"),
        ));
    }
    if dst_abs.symlink_metadata().is_ok() || wc.index.entries.contains_key(dst_rel.as_str()) {
        return Err(ClientError::refused(
            &shown_dst,
            "already exists; move or remove it first",
        ));
    }
    let parent_ok = dst_rel.parent().is_some_and(|p| {
        wc.index
            .entries
            .get(p.as_str())
            .is_some_and(|e| e.is_folder() && e.schedule != Schedule::Delete)
            && wc.abs(&p).is_dir()
    });
    if !parent_ok {
        return Err(ClientError::refused(
            &shown_dst,
            "its folder is not a versioned folder of this working copy",
        ));
    }
    if let Some(other) = sibling_collision(&wc, &dst_rel, &BTreeSet::new())
        .filter(|o| !src_rel.contains(&RepoPath::parse(o).unwrap_or_default()))
    {
        return Err(ClientError::refused(
            &shown_dst,
            format!("differs from {other} only in case or Unicode form; choose another name"),
        ));
    }
    let on_disk = src_abs.symlink_metadata().ok();
    if on_disk.is_none_or(|m| m.is_dir() != is_folder) {
        return Err(ClientError::refused(
            &shown_src,
            "is missing or of the wrong kind on disk; restore it with `zsync revert` first",
        ));
    }
    for (key, p) in subtree_keys(&wc, &src_rel)? {
        if wc.index.entries[&key].in_conflict() {
            return Err(ClientError::refused(
                ctx.display(&wc.abs(&p)),
                "is in conflict; resolve it before moving it",
            ));
        }
    }

    std::fs::rename(&src_abs, &dst_abs).map_err(ClientError::io(&src_abs))?;
    relocate(&mut wc, &src_rel, &dst_rel)?;
    ctx.ui.notify(Notification::Schedule {
        action: "A".into(),
        path: shown_dst,
    });
    ctx.ui.notify(Notification::Schedule {
        action: "D".into(),
        path: shown_src,
    });
    wc.save()
}

/// Re-keys the index entries at and below `from` to `to` (which must be
/// free), recording their server paths in `moved_from`; an item that comes
/// back to its server path loses the record. Touches nothing on disk.
pub(crate) fn relocate(wc: &mut WorkingCopy, from: &RepoPath, to: &RepoPath) -> Result<()> {
    for (key, rel) in subtree_keys(wc, from)? {
        let Some(mut entry) = wc.index.entries.remove(&key) else {
            continue;
        };
        let rest = from.relative(&rel).unwrap_or_default();
        let new_rel = to
            .join_path(&rest)
            .map_err(|e| ClientError::refused(wc.abs(to).display().to_string(), e.to_string()))?;
        if entry.schedule != Schedule::Add {
            let base = entry.moved_from.take().unwrap_or(key);
            entry.moved_from = (base != new_rel.as_str()).then_some(base);
        }
        wc.index.entries.insert(new_rel.to_string(), entry);
    }
    Ok(())
}

/// Re-keys the entries at and below `from` to `to` (which must be free)
/// as they are, for a move the server made.
pub(crate) fn rekey(wc: &mut WorkingCopy, from: &RepoPath, to: &RepoPath) -> Result<()> {
    for (key, rel) in subtree_keys(wc, from)? {
        let Some(entry) = wc.index.entries.remove(&key) else {
            continue;
        };
        let rest = from.relative(&rel).unwrap_or_default();
        let new_rel = to
            .join_path(&rest)
            .map_err(|e| ClientError::refused(wc.abs(to).display().to_string(), e.to_string()))?;
        wc.index.entries.insert(new_rel.to_string(), entry);
    }
    Ok(())
}

/// The uncommitted moves that `revert PATH` undoes: those whose new or
/// old place is at or below `path`. Returns their current keys.
pub(crate) fn moves_under(wc: &WorkingCopy, path: &RepoPath) -> Result<Vec<RepoPath>> {
    let mut out = Vec::new();
    for (key, entry) in &wc.index.entries {
        let Some(from) = &entry.moved_from else {
            continue;
        };
        if !wc.index.is_move_root(key) {
            continue;
        }
        let rel = parse_key(wc, key)?;
        let from = parse_key(wc, from)?;
        if path.contains(&rel) || path.contains(&from) {
            out.push(rel);
        }
    }
    Ok(out)
}

/// Puts the moved item at `rel` back where the server has it, on disk and
/// in the index. Refuses if something else is in its old place.
pub(crate) fn undo(ctx: &Context, wc: &mut WorkingCopy, rel: &RepoPath) -> Result<()> {
    let Some(from) = wc
        .index
        .entries
        .get(rel.as_str())
        .and_then(|e| e.moved_from.clone())
    else {
        return Ok(());
    };
    let from = parse_key(wc, &from)?;
    let (old, new) = (wc.abs(&from), wc.abs(rel));
    if old.symlink_metadata().is_ok() || wc.index.entries.contains_key(from.as_str()) {
        return Err(ClientError::refused(
            ctx.display(&old),
            format!(
                "is in the way of moving {} back; move or remove it first",
                ctx.display(&new)
            ),
        ));
    }
    if let Some(parent) = old.parent() {
        crate::fsutil::create_dir_all(parent)?;
    }
    if new.symlink_metadata().is_ok() {
        std::fs::rename(&new, &old).map_err(ClientError::io(&new))?;
    }
    relocate(wc, rel, &from)?;
    ctx.ui.notify(Notification::Schedule {
        action: "Reverted".into(),
        path: ctx.display(&new),
    });
    Ok(())
}
