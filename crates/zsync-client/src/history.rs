//! Reading the server's history: `zsync log`, `zsync cat -r N` and
//! `zsync restore -r N`.

use std::io::Write;
use std::path::PathBuf;

use zsync_format::archive::{ArchiveReader, Header};
use zsync_format::{ChangeAction, LogEntry};
use zsync_model::{Oid, RepoPath, Rev};

use crate::error::{ClientError, Result};
use crate::index::{Entry, Schedule};
use crate::schedule::open_for;
use crate::session::{Context, Target};
use crate::transport::Transport;
use crate::ui::Notification;
use crate::wc::{self, WorkingCopy};

/// Revisions that changed the target's first path, newest first, limited
/// to `range` (inclusive, either order) and `limit`.
pub fn log(
    ctx: &Context,
    target: &Target,
    range: Option<(Rev, Rev)>,
    limit: Option<u32>,
) -> Result<Vec<LogEntry>> {
    let wc = WorkingCopy::open(&target.root)?;
    let path = target.paths.first().cloned().unwrap_or_default();
    let transport = ctx.connect(&wc.url()?)?;
    // A range filters before the limit applies, so fetch all then cut.
    let fetch_limit = if range.is_some() { None } else { limit };
    let mut entries = transport.log(&wc.server_path(&path)?, fetch_limit)?;
    if let Some((a, b)) = range {
        let (lo, hi) = (a.min(b), a.max(b));
        entries.retain(|e| (lo..=hi).contains(&e.rev));
        if a < b {
            entries.reverse();
        }
    }
    if let Some(limit) = limit {
        entries.truncate(limit as usize);
    }
    Ok(entries)
}

/// One item: its working copy and path, and its server path (where the
/// server has it now: a move not yet committed is undone).
fn locate(ctx: &Context, path: &std::path::Path) -> Result<(WorkingCopy, RepoPath, RepoPath)> {
    let abs = wc::absolute(&ctx.cwd, path);
    let search = if abs.exists() {
        abs.clone()
    } else {
        abs.parent().map(PathBuf::from).unwrap_or_default()
    };
    let root = wc::find_root(&search).ok_or_else(|| ClientError::NotAWorkingCopy(abs.clone()))?;
    let wc = WorkingCopy::open(&root)?;
    let rel = wc.rel(&abs)?;
    let server = base_server_path(&wc, &rel)?;
    Ok((wc, rel, server))
}

fn base_server_path(wc: &WorkingCopy, rel: &RepoPath) -> Result<RepoPath> {
    match wc
        .index
        .entries
        .get(rel.as_str())
        .and_then(|e| e.moved_from.as_deref())
        .and_then(|from| RepoPath::parse(from).ok())
    {
        Some(base) => wc.server_path(&base),
        None => wc.server_path(rel),
    }
}

/// The manifest of the object now at `server` as it was in revision
/// `rev`. With its oid known, the object is followed across renames and
/// moves made since (the log lists each move by oid, with the old path),
/// so an old state is found by the item's current path; an object that
/// only shares the path is not taken for it.
fn manifest_then(
    transport: &dyn Transport,
    server: &RepoPath,
    oid: Option<&Oid>,
    rev: Rev,
    shown: &str,
) -> Result<zsync_format::Manifest> {
    let not_then = || ClientError::refused(shown, format!("did not exist in revision {rev}"));
    let direct = match transport.manifest_at(server, rev) {
        Ok(m) => Some(m),
        Err(ClientError::NotFound { .. }) => None,
        Err(e) => return Err(e),
    };
    let root_oid = |m: &zsync_format::Manifest| {
        m.entries
            .first()
            .filter(|e| e.path.is_root())
            .map(|e| e.oid.clone())
    };
    let Some(oid) = oid else {
        return direct.ok_or_else(not_then);
    };
    if let Some(m) = &direct
        && root_oid(m).as_ref() == Some(oid)
    {
        return direct.ok_or_else(not_then);
    }
    let log = match transport.log(server, None) {
        Ok(log) => log,
        Err(ClientError::NotFound { .. }) => return Err(not_then()),
        Err(e) => return Err(e),
    };
    let mut at = server.clone();
    // Newest first: undo each move of the object made after `rev`.
    for entry in log.iter().filter(|e| e.rev > rev) {
        for change in &entry.changes {
            if &change.oid == oid
                && change.action == ChangeAction::R
                && let Some(from) = &change.from
            {
                at = from.clone();
            }
        }
    }
    let then = match transport.manifest_at(&at, rev) {
        Ok(m) => m,
        Err(ClientError::NotFound { .. }) => return Err(not_then()),
        Err(e) => return Err(e),
    };
    if root_oid(&then).as_ref() == Some(oid) {
        Ok(then)
    } else {
        Err(not_then())
    }
}

/// Writes the body of the file at `path` as of revision `rev` (the base
/// when `None`) to `out`.
pub fn cat(
    ctx: &Context,
    path: &std::path::Path,
    rev: Option<Rev>,
    out: &mut dyn Write,
) -> Result<()> {
    let (wc, rel, server) = locate(ctx, path)?;
    let shown = ctx.display(&wc.abs(&rel));
    let Some(rev) = rev else {
        let entry = wc
            .index
            .entries
            .get(rel.as_str())
            .ok_or_else(|| ClientError::refused(&shown, "is not under version control"))?;
        let hash = entry.hash.ok_or_else(|| {
            ClientError::refused(&shown, "has no base text (a folder, or not committed yet)")
        })?;
        let mut file = wc.pristine.open(&hash)?;
        std::io::copy(&mut file, out).map_err(ClientError::io(&shown))?;
        return Ok(());
    };
    let transport = ctx.connect(&wc.url()?)?;
    let oid = wc
        .index
        .entries
        .get(rel.as_str())
        .and_then(|e| e.oid.clone());
    let manifest = manifest_then(transport.as_ref(), &server, oid.as_ref(), rev, &shown)?;
    let root = manifest
        .entries
        .first()
        .filter(|e| e.path.is_root())
        .ok_or_else(|| ClientError::Protocol("the manifest has no root entry".into()))?;
    let hash = root.hash.ok_or_else(|| {
        ClientError::refused(&shown, format!("was a {} in revision {rev}", root.kind))
    })?;
    let mut archive = ArchiveReader::new(transport.fetch_bodies(&[hash])?)?;
    loop {
        match archive.next_header()? {
            Header::Body { hash: h, .. } if h == hash => {
                std::io::copy(&mut archive.body(), out).map_err(ClientError::io(&shown))?;
                return Ok(());
            }
            Header::End => return Err(ClientError::Protocol(format!("body {hash} was not sent"))),
            _ => {}
        }
    }
}

/// `zsync restore -r N PATH...`: makes each file's body and properties
/// what they were in revision N, as a local change to commit. A file
/// deleted since is scheduled for addition again.
pub fn restore(ctx: &Context, paths: &[PathBuf], rev: Rev) -> Result<()> {
    let (mut wc, targets) = open_for(ctx, paths)?;
    let transport = ctx.connect(&wc.url()?)?;
    let mut plan = Vec::new();
    for (abs, rel) in &targets {
        let shown = ctx.display(abs);
        let server = base_server_path(&wc, rel)?;
        let oid = wc
            .index
            .entries
            .get(rel.as_str())
            .and_then(|e| e.oid.clone());
        let manifest = manifest_then(transport.as_ref(), &server, oid.as_ref(), rev, &shown)?;
        let Some(old) = manifest.entries.into_iter().find(|e| e.path.is_root()) else {
            return Err(ClientError::Protocol(
                "the manifest has no root entry".into(),
            ));
        };
        if old.kind.is_folder() {
            return Err(ClientError::refused(
                &shown,
                "was a folder; restore the files in it",
            ));
        }
        if let Some(e) = wc.index.entries.get(rel.as_str()) {
            if e.in_conflict() {
                return Err(ClientError::refused(
                    &shown,
                    "is in conflict; resolve it first",
                ));
            }
        } else if !rel.parent().is_some_and(|p| {
            wc.index
                .entries
                .get(p.as_str())
                .is_some_and(|e| e.is_folder() && e.schedule != Schedule::Delete)
        }) {
            return Err(ClientError::refused(
                &shown,
                "its folder is not in the working copy; restore the folder first",
            ));
        }
        plan.push((abs.clone(), rel.clone(), old));
    }
    let hashes: Vec<_> = plan
        .iter()
        .filter_map(|(_, _, m)| m.hash)
        .filter(|h| !wc.pristine.contains(h))
        .collect();
    if !hashes.is_empty() {
        let mut archive = ArchiveReader::new(transport.fetch_bodies(&hashes)?)?;
        crate::checkout::receive_bodies(&mut archive, &wc)?;
    }
    for (abs, rel, old) in plan {
        if let Some(hash) = old.hash {
            let data = wc.pristine.read(&hash)?;
            wc.write_file(&abs, &data)?;
        }
        let entry = wc
            .index
            .entries
            .entry(rel.to_string())
            .or_insert_with(|| Entry::added(old.kind.clone(), old.props.clone()));
        if entry.schedule == Schedule::Delete {
            entry.schedule = Schedule::Normal;
        }
        entry.new_props = if entry.schedule == Schedule::Add || old.props != *entry.props {
            Some(old.props.clone())
        } else {
            None
        };
        entry.stat = None;
        ctx.ui.notify(Notification::Text(format!(
            "Restored '{}' to revision {rev}\n",
            ctx.display(&abs)
        )));
    }
    crate::locks::fit_all(&mut wc)?;
    wc.save()
}

/// `zsync diff -r N:M PATH`: what changed at or below `path` between two
/// revisions (the newest when `to` is `None`), diffed by the server in one
/// request and shown as svn shows it, paths as seen from here.
pub fn diff_revisions(
    ctx: &Context,
    path: &std::path::Path,
    from: Rev,
    to: Option<Rev>,
) -> Result<String> {
    let (wc, rel, server) = locate(ctx, path)?;
    let shown = ctx.display(&wc.abs(&rel));
    let transport = ctx.connect(&wc.url()?)?;
    let to = match to {
        Some(to) => to,
        // The newest revision that touched the path diffs as the head does.
        None => transport
            .log(&server, Some(1))?
            .first()
            .map_or(from, |e| e.rev),
    };
    let response = transport.diff(&server, from, to).map_err(|e| match e {
        ClientError::NotFound { .. } => {
            ClientError::refused(&shown, format!("did not exist in revision {from} or {to}"))
        }
        other => other,
    })?;
    let root = RepoPath::parse(&wc.index.server_root).unwrap_or_default();
    let show = |p: &RepoPath| {
        root.relative(p)
            .map(|r| ctx.display(&wc.abs(&r)))
            .unwrap_or_else(|| format!("/{p}"))
    };
    let rule = "===================================================================";
    let mut out = String::new();
    for o in &response.objects {
        let shown = show(&o.path);
        let old_shown = o.from_path.as_ref().map_or_else(|| shown.clone(), show);
        let (old_tag, new_tag) = match o.action {
            ChangeAction::A => ("nonexistent".to_owned(), format!("revision {to}")),
            ChangeAction::D => (format!("revision {from}"), "nonexistent".to_owned()),
            _ => (format!("revision {from}"), format!("revision {to}")),
        };
        let mut headed = true;
        if let Some(text) = o.text.as_deref().filter(|t| !t.is_empty()) {
            // The server's header names server paths; ours names these.
            let hunks = text
                .splitn(3, '\n')
                .nth(2)
                .filter(|_| text.starts_with("--- "))
                .unwrap_or(text);
            out.push_str(&format!(
                "Index: {shown}\n{rule}\n--- {old_shown}\t({old_tag})\n+++ {shown}\t({new_tag})\n{hunks}"
            ));
        } else if o.binary {
            out.push_str(&format!(
                "Index: {shown}\n{rule}\nCannot display: file marked as a binary type.\n"
            ));
        } else if o.action == ChangeAction::R {
            out.push_str(&format!(
                "Index: {shown}\n{rule}\n(moved from {old_shown}, body unchanged)\n"
            ));
        } else {
            headed = false;
        }
        if !o.props.is_empty() {
            if !headed {
                out.push_str(&format!("Index: {shown}\n{rule}\n"));
            }
            let old: zsync_model::Props = o
                .props
                .iter()
                .filter_map(|p| Some((p.name.clone(), p.old.clone()?)))
                .collect();
            let new: zsync_model::Props = o
                .props
                .iter()
                .filter_map(|p| Some((p.name.clone(), p.new.clone()?)))
                .collect();
            out.push_str(&crate::diff::props_diff(&shown, &old, &new));
        }
    }
    Ok(out)
}
