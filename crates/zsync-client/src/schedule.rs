//! Commands that change what the next commit will do, offline: `add`,
//! `mkdir`, `remove`, `revert`. Each checks every target before
//! it changes anything.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use zsync_model::{Kind, RepoPath};

use crate::checkout::write_from_pristine;
use crate::error::{ClientError, Result};
use crate::fsutil;
use crate::ignore_rules::IgnoreRules;
use crate::index::{Entry, Schedule};
use crate::session::Context;
use crate::status::{LocalState, local_state, parse_key};
use crate::ui::Notification;
use crate::wc::{self, WorkingCopy};

/// Opens the one working copy that holds every path, locked, and maps the
/// paths into it.
pub(crate) fn open_for(
    ctx: &Context,
    paths: &[PathBuf],
) -> Result<(WorkingCopy, Vec<(PathBuf, RepoPath)>)> {
    let mut root: Option<PathBuf> = None;
    let mut mapped = Vec::new();
    for p in paths {
        let abs = wc::absolute(&ctx.cwd, p);
        let search_from = if abs.exists() {
            abs.clone()
        } else {
            abs.parent().map(Path::to_path_buf).unwrap_or_default()
        };
        let r =
            wc::find_root(&search_from).ok_or_else(|| ClientError::NotAWorkingCopy(abs.clone()))?;
        match &root {
            Some(existing) if existing != &r => {
                return Err(ClientError::refused(
                    ctx.display(&abs),
                    "is in another working copy than the other targets; run the command once per working copy",
                ));
            }
            _ => root = Some(r),
        }
        mapped.push(abs);
    }
    let root = root.ok_or_else(|| ClientError::refused(".", "no targets given"))?;
    let mut wc = WorkingCopy::open(&root)?;
    wc.lock()?;
    let mapped = mapped
        .into_iter()
        .map(|abs| wc.rel(&abs).map(|rel| (abs, rel)))
        .collect::<Result<Vec<_>>>()?;
    Ok((wc, mapped))
}

fn parent_is_versioned_folder(
    wc: &WorkingCopy,
    rel: &RepoPath,
    pending: &BTreeSet<RepoPath>,
) -> bool {
    let Some(parent) = rel.parent() else {
        return false;
    };
    if pending.contains(&parent) {
        return true;
    }
    wc.index
        .entries
        .get(parent.as_str())
        .is_some_and(|e| e.is_folder() && e.schedule != Schedule::Delete)
}

/// A versioned or pending sibling whose name equals `rel`'s but for case
/// or Unicode normalisation.
pub(crate) fn sibling_collision(
    wc: &WorkingCopy,
    rel: &RepoPath,
    pending: &BTreeSet<RepoPath>,
) -> Option<String> {
    let parent = rel.parent()?;
    let folded = crate::checkout::fold_name(rel.name());
    let versioned = wc
        .index
        .entries
        .keys()
        .filter_map(|k| RepoPath::parse(k).ok());
    versioned
        .chain(pending.iter().cloned())
        .find(|p| {
            p != rel
                && p.parent().as_ref() == Some(&parent)
                && crate::checkout::fold_name(p.name()) == folded
        })
        .map(|p| p.to_string())
}

/// `zsync add [-t KIND] PATH...`: schedules files and folders (recursively)
/// for addition, guessing each file's kind unless `kind` is given.
pub fn add(ctx: &Context, paths: &[PathBuf], kind: Option<&Kind>, no_ignore: bool) -> Result<()> {
    let (mut wc, targets) = open_for(ctx, paths)?;
    let rules = IgnoreRules::with_globals(&wc.root, !no_ignore, &ctx.config.global_ignores);
    let mut plan: Vec<(RepoPath, Entry)> = Vec::new();
    let mut pending = BTreeSet::new();
    let mut targets = targets;
    targets.sort_by(|a, b| a.1.cmp(&b.1));
    for (abs, rel) in &targets {
        let shown = ctx.display(abs);
        let meta = std::fs::symlink_metadata(abs)
            .map_err(|_| ClientError::refused(&shown, "does not exist; create it first"))?;
        if rel.is_root() {
            return Err(ClientError::refused(
                &shown,
                "is the working copy's root, which is versioned already",
            ));
        }
        if pending.contains(rel) {
            continue;
        }
        if let Some(e) = wc.index.entries.get(rel.as_str()) {
            let reason = if e.schedule == Schedule::Delete {
                "is scheduled for deletion; `zsync revert` it first"
            } else {
                "is already under version control"
            };
            return Err(ClientError::refused(&shown, reason));
        }
        if !parent_is_versioned_folder(&wc, rel, &pending) {
            return Err(ClientError::refused(
                &shown,
                "its folder is not under version control; add the folder first",
            ));
        }
        if let Some(other) = sibling_collision(&wc, rel, &pending) {
            return Err(ClientError::refused(
                &shown,
                format!(
                    "differs from {other} only in case or Unicode form; such names collide on many filesystems, so rename it"
                ),
            ));
        }
        if meta.file_type().is_symlink() {
            return Err(ClientError::refused(
                &shown,
                "is a symbolic link; zsync versions files and folders only",
            ));
        }
        if let Some(problem) = zsync_model::portability_problem(rel.name()) {
            return Err(ClientError::refused(
                &shown,
                format!("{problem}; rename it"),
            ));
        }
        if meta.is_dir() {
            if let Some(k) = kind.filter(|k| !k.is_folder()) {
                return Err(ClientError::refused(
                    &shown,
                    format!("is a folder, so it cannot be of kind {k}"),
                ));
            }
            let mut items = Vec::new();
            walk_new_tree(ctx, &rules, abs, rel, &mut items)?;
            for item in items {
                pending.insert(item.rel.clone());
                plan.push((item.rel, Entry::added(item.kind, item.props)));
            }
        } else {
            if kind.is_some_and(Kind::is_folder) {
                return Err(ClientError::refused(
                    &shown,
                    "is a file, so it cannot be a folder",
                ));
            }
            plan.push((rel.clone(), new_file_entry(ctx, abs, kind)?));
            pending.insert(rel.clone());
        }
    }
    for (rel, mut entry) in plan {
        if let Some(props) = entry.new_props.as_mut() {
            crate::locks::add_needs_lock(&wc, &rel, &entry.kind, props);
        }
        ctx.ui.notify(Notification::Schedule {
            action: "A".into(),
            path: ctx.display(&wc.abs(&rel)),
        });
        wc.index.entries.insert(rel.to_string(), entry);
    }
    wc.save()
}

fn new_file_entry(ctx: &Context, abs: &Path, kind: Option<&Kind>) -> Result<Entry> {
    let head = fsutil::read_head(abs, zsync_types::SNIFF_BYTES)?;
    let name = abs
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (kind, props) = match kind {
        Some(k) => (k.clone(), ctx.registry.props_for(k, &name, &head)),
        None => ctx.registry.guess(&name, &head),
    };
    Ok(Entry::added(kind, props))
}

/// A new item found in a local tree.
pub(crate) struct NewItem {
    pub rel: RepoPath,
    pub kind: Kind,
    pub props: zsync_model::Props,
}

/// Walks a local tree to version it: the folder itself, then, sorted and
/// recursively, everything in it that is not ignored, folders before their
/// contents. Symbolic links are skipped with a warning; a name that cannot
/// be versioned refuses the whole walk.
pub(crate) fn walk_new_tree(
    ctx: &Context,
    rules: &IgnoreRules,
    abs: &Path,
    rel: &RepoPath,
    out: &mut Vec<NewItem>,
) -> Result<()> {
    out.push(NewItem {
        rel: rel.clone(),
        kind: Kind::folder(),
        props: Default::default(),
    });
    for child in fsutil::sorted_children(abs)? {
        let path = child.path();
        let name = child.file_name();
        let name = name.to_str().ok_or_else(|| {
            ClientError::refused(ctx.display(&path), "the name is not valid UTF-8")
        })?;
        if name == zsync_model::ADMIN_DIR {
            continue;
        }
        let child_rel = rel
            .join(name)
            .map_err(|e| ClientError::refused(ctx.display(&path), e.to_string()))?;
        let ft = child.file_type().map_err(ClientError::io(&path))?;
        if rules.is_ignored(&path, ft.is_dir()) {
            continue;
        }
        if let (false, Some(problem)) = (ft.is_symlink(), zsync_model::portability_problem(name)) {
            return Err(ClientError::refused(
                ctx.display(&path),
                format!("{problem}; rename it"),
            ));
        }
        if ft.is_symlink() {
            ctx.ui.notify(Notification::Warning(format!(
                "skipped {}: symbolic links are not versioned",
                ctx.display(&path)
            )));
        } else if ft.is_dir() {
            walk_new_tree(ctx, rules, &path, &child_rel, out)?;
        } else {
            let head = fsutil::read_head(&path, zsync_types::SNIFF_BYTES)?;
            let (kind, props) = ctx.registry.guess(name, &head);
            out.push(NewItem {
                rel: child_rel,
                kind,
                props,
            });
        }
    }
    Ok(())
}

/// `zsync mkdir PATH...`: creates folders and schedules them for addition.
pub fn mkdir(ctx: &Context, paths: &[PathBuf]) -> Result<()> {
    let (mut wc, mut targets) = open_for(ctx, paths)?;
    targets.sort_by(|a, b| a.1.cmp(&b.1));
    let mut pending = BTreeSet::new();
    for (abs, rel) in &targets {
        let shown = ctx.display(abs);
        if abs.exists() || wc.index.entries.contains_key(rel.as_str()) {
            return Err(ClientError::refused(&shown, "already exists"));
        }
        if let Some(problem) = zsync_model::portability_problem(rel.name()) {
            return Err(ClientError::refused(
                &shown,
                format!("{problem}; rename it"),
            ));
        }
        if !parent_is_versioned_folder(&wc, rel, &pending) {
            return Err(ClientError::refused(
                &shown,
                "its parent is not a versioned folder",
            ));
        }
        pending.insert(rel.clone());
    }
    for (abs, rel) in &targets {
        std::fs::create_dir(abs).map_err(ClientError::io(abs))?;
        wc.index.entries.insert(
            rel.to_string(),
            Entry::added(Kind::folder(), Default::default()),
        );
        ctx.ui.notify(Notification::Schedule {
            action: "A".into(),
            path: ctx.display(abs),
        });
    }
    wc.save()
}

/// Index keys at or below `rel`, sorted.
pub(crate) fn subtree_keys(wc: &WorkingCopy, rel: &RepoPath) -> Result<Vec<(String, RepoPath)>> {
    let mut out = Vec::new();
    for key in wc.index.entries.keys() {
        let p = parse_key(wc, key)?;
        if rel.contains(&p) {
            out.push((key.clone(), p));
        }
    }
    Ok(out)
}

/// `zsync remove PATH...`: deletes the items from disk and schedules their
/// deletion. Refuses items with local changes unless `force`.
pub fn remove(ctx: &Context, paths: &[PathBuf], force: bool, keep_local: bool) -> Result<()> {
    let (mut wc, targets) = open_for(ctx, paths)?;
    for (abs, rel) in &targets {
        let shown = ctx.display(abs);
        if rel.is_root() {
            return Err(ClientError::refused(
                &shown,
                "is the working copy's root; delete it on the server instead",
            ));
        }
        if !wc.index.entries.contains_key(rel.as_str()) {
            return Err(ClientError::refused(&shown, "is not under version control"));
        }
        if force || keep_local {
            continue;
        }
        for (key, p) in subtree_keys(&wc, rel)? {
            let entry = &wc.index.entries[&key];
            let (state, _) = local_state(&wc, &p, entry)?;
            if entry.schedule == Schedule::Add
                || state == LocalState::Modified
                || entry.in_conflict()
            {
                return Err(ClientError::refused(
                    ctx.display(&wc.abs(&p)),
                    "has local changes; use --force to remove it anyway (the changes are lost), or --keep-local",
                ));
            }
        }
        if abs.is_dir() {
            let target = crate::session::Target {
                root: wc.root.clone(),
                paths: vec![rel.clone()],
            };
            if let Some(extra) = crate::status::unversioned(&wc, &target)?.first() {
                return Err(ClientError::refused(
                    ctx.display(&wc.abs(extra)),
                    "is not versioned and would be lost; move it away or use --force",
                ));
            }
        }
    }
    for (abs, rel) in &targets {
        for (key, p) in subtree_keys(&wc, rel)? {
            let Some(entry) = wc.index.entries.get_mut(&key) else {
                continue;
            };
            if entry.schedule == Schedule::Add {
                wc.index.entries.remove(&key);
            } else {
                entry.schedule = Schedule::Delete;
                entry.conflict = None;
                entry.prop_conflicts.clear();
            }
            ctx.ui.notify(Notification::Schedule {
                action: "D".into(),
                path: ctx.display(&wc.abs(&p)),
            });
        }
        if !keep_local {
            fsutil::remove_path(abs)?;
        }
    }
    wc.save()
}

/// `zsync revert PATH...`: back to the base state, recursively: undoes
/// edits, adds and removals and clears conflicts. After a text conflict
/// the user's own text stays in `NAME.mine`.
pub fn revert(ctx: &Context, paths: &[PathBuf]) -> Result<()> {
    let (mut wc, targets) = open_for(ctx, paths)?;
    // Moves first: each moved item goes back to its server path (outer
    // ones first, found by oid as keys change), then its content reverts.
    let mut moved = Vec::new();
    for (_, rel) in &targets {
        for key in crate::moves::moves_under(&wc, rel)? {
            let e = &wc.index.entries[key.as_str()];
            if let (Some(oid), Some(from)) = (&e.oid, &e.moved_from) {
                moved.push((from.clone(), oid.clone(), rel.clone()));
            }
        }
    }
    moved.sort();
    moved.dedup();
    let mut undone = BTreeSet::new();
    let mut targets = targets;
    for (from, oid, target) in moved {
        let key = wc
            .index
            .entries
            .iter()
            .find(|(_, e)| e.oid.as_ref() == Some(&oid))
            .map(|(k, _)| k.clone());
        if let Some(key) = key {
            let rel = parse_key(&wc, &key)?;
            crate::moves::undo(ctx, &mut wc, &rel)?;
            undone.insert(target);
            // Its content reverts where it is now.
            let from = parse_key(&wc, &from)?;
            targets.push((wc.abs(&from), from));
        }
    }
    let mut keys = BTreeSet::new();
    for (abs, rel) in &targets {
        let sub = subtree_keys(&wc, rel)?;
        if sub.is_empty() && !undone.contains(rel) {
            ctx.ui.notify(Notification::Warning(format!(
                "skipped {}: not under version control",
                ctx.display(abs)
            )));
        }
        keys.extend(sub);
    }
    for (key, rel) in keys {
        let Some(entry) = wc.index.entries.get(&key).cloned() else {
            continue;
        };
        let path = wc.abs(&rel);
        let mut changed = entry.in_conflict() || entry.props_modified();
        if let Some(conflict) = &entry.conflict {
            for side in conflict.side_files() {
                // The user's own text survives a revert, so nothing is lost.
                if !side.ends_with(".mine") {
                    fsutil::remove_file_if_exists(&path.with_file_name(side))?;
                }
            }
        }
        if entry.schedule == Schedule::Add {
            wc.index.entries.remove(&key);
            report_reverted(ctx, &path);
            continue;
        }
        let (state, _) = local_state(&wc, &rel, &entry)?;
        let mut new = entry.clone();
        new.conflict = None;
        new.prop_conflicts.clear();
        new.new_props = None;
        if entry.schedule == Schedule::Delete
            || state != LocalState::Clean
            || entry.conflict.is_some()
        {
            if entry.is_folder() {
                if state == LocalState::WrongKind {
                    return Err(ClientError::refused(
                        ctx.display(&path),
                        "a file is where the folder belongs; move it away first",
                    ));
                }
                fsutil::create_dir_all(&path)?;
            } else if let Some(hash) = entry.hash {
                if path.is_dir() {
                    return Err(ClientError::refused(
                        ctx.display(&path),
                        "a folder is where the file belongs; move it away first",
                    ));
                }
                new.stat = Some(write_from_pristine(&wc, &hash, &path)?);
            }
            changed |= entry.schedule == Schedule::Delete || state != LocalState::Clean;
        }
        new.schedule = Schedule::Normal;
        wc.index.entries.insert(key, new);
        if changed {
            report_reverted(ctx, &path);
        }
    }
    crate::locks::fit_all(&mut wc)?;
    wc.save()
}

fn report_reverted(ctx: &Context, path: &Path) {
    ctx.ui.notify(Notification::Schedule {
        action: "Reverted".into(),
        path: ctx.display(path),
    });
}
