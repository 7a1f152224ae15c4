//! `zsync copy [-l] SOURCE [TARGET]`: schedules a copy of versioned items
//! as new objects (new oids, unlike a move). Each copy records where it
//! came from in its `copied_from` property (`/server/path@REV`), which
//! travels to the server with the commit and shows in `info`.

use std::path::{Path, PathBuf};

use zsync_model::RepoPath;

use crate::error::{ClientError, Result};
use crate::fsutil;
use crate::index::{Entry, Schedule};
use crate::schedule::{open_for, subtree_keys};
use crate::session::Context;
use crate::ui::Notification;
use crate::wc::WorkingCopy;

/// The property that records a copy's source.
pub const COPIED_FROM: &str = "copied_from";

/// Copies `source` to `target` (or into it, if it is a versioned folder;
/// the current directory if omitted). With `recursive` false only the item
/// itself is copied (for a folder: an empty folder with its properties).
pub fn copy(ctx: &Context, source: &Path, target: Option<&Path>, recursive: bool) -> Result<()> {
    let target = target.map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let (mut wc, mapped) = open_for(ctx, &[source.to_path_buf(), target.clone()])?;
    let [(src_abs, src_rel), (dst_abs, dst_rel)] = <[_; 2]>::try_from(mapped)
        .map_err(|_| ClientError::refused(ctx.display(source), "could not map the paths"))?;
    let shown_src = ctx.display(&src_abs);
    let source_entry = wc
        .index
        .entries
        .get(src_rel.as_str())
        .filter(|e| e.schedule != Schedule::Delete)
        .ok_or_else(|| ClientError::refused(&shown_src, "is not under version control"))?;
    if src_rel.is_root() {
        return Err(ClientError::refused(
            &shown_src,
            "is the working copy's root; check out its parent to copy it",
        ));
    }
    // Copying into an existing versioned folder puts the copy inside it,
    // under the source's name, as cp and svn copy do.
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
            format!("is inside {shown_src}; a folder cannot be copied into itself"),
        ));
    }
    if dst_abs.symlink_metadata().is_ok() || wc.index.entries.contains_key(dst_rel.as_str()) {
        return Err(ClientError::refused(&shown_dst, "already exists"));
    }
    let parent_ok = dst_rel.parent().is_some_and(|p| {
        wc.index
            .entries
            .get(p.as_str())
            .is_some_and(|e| e.is_folder() && e.schedule != Schedule::Delete)
    });
    if !parent_ok {
        return Err(ClientError::refused(
            &shown_dst,
            "its parent is not a versioned folder",
        ));
    }
    if !source_entry.is_folder() && !src_abs.is_file() {
        return Err(ClientError::refused(
            &shown_src,
            "is missing or not a file; restore it with `zsync revert` first",
        ));
    }

    // Everything is checked; now plan and copy (parents before children).
    let items: Vec<(String, RepoPath)> = if recursive {
        subtree_keys(&wc, &src_rel)?
    } else {
        vec![(src_rel.to_string(), src_rel.clone())]
    };
    let mut planned = Vec::with_capacity(items.len());
    for (key, rel) in items {
        let entry = &wc.index.entries[&key];
        if entry.schedule == Schedule::Delete {
            continue;
        }
        let Some(rest) = src_rel.relative(&rel) else {
            continue;
        };
        let new_rel = dst_rel
            .join_path(&rest)
            .map_err(|e| ClientError::refused(ctx.display(&wc.abs(&rel)), e.to_string()))?;
        if !entry.is_folder() && !wc.abs(&rel).is_file() {
            // A missing file below the source is not copied; svn does
            // the same with a missing (`!`) item.
            continue;
        }
        let new = new_entry(&wc, &rel, entry)?;
        planned.push((rel, new_rel, new));
    }
    for (rel, new_rel, entry) in planned {
        let to = wc.abs(&new_rel);
        if entry.is_folder() {
            std::fs::create_dir(&to).map_err(ClientError::io(&to))?;
        } else {
            copy_file(&wc.abs(&rel), &to)?;
            wc.written(&to);
        }
        wc.index.entries.insert(new_rel.to_string(), entry);
        ctx.ui.notify(Notification::Schedule {
            action: "A".into(),
            path: ctx.display(&to),
        });
    }
    wc.save()
}

/// The entry of the copy of `entry` (at `rel`): added, with the working
/// properties and, if the source is on the server, where it came from.
fn new_entry(wc: &WorkingCopy, rel: &RepoPath, entry: &Entry) -> Result<Entry> {
    let mut props = entry.working_props().clone();
    if entry.oid.is_some() {
        let server_path = wc.server_path(rel)?;
        props.insert(
            COPIED_FROM.to_owned(),
            format!("/{server_path}@{}", entry.rev),
        );
    } else {
        // An uncommitted source has no server state to point at.
        props.remove(COPIED_FROM);
    }
    Ok(Entry::added(entry.kind.clone(), props))
}

/// Copies the working file (with local edits, as svn does), atomically and
/// keeping its permissions.
fn copy_file(from: &Path, to: &Path) -> Result<()> {
    let mode = mode_of(from)?;
    let mut file = std::fs::File::open(from).map_err(ClientError::io(from))?;
    fsutil::write_atomic_from(to, &mut file, mode).map(|_| ())
}

#[cfg(unix)]
fn mode_of(path: &Path) -> Result<Option<u32>> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).map_err(ClientError::io(path))?;
    Ok(Some(meta.permissions().mode() & 0o7777))
}

#[cfg(not(unix))]
fn mode_of(_path: &Path) -> Result<Option<u32>> {
    Ok(None)
}
