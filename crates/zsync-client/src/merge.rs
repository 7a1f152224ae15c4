//! `zsync merge SOURCE [TARGET]`: applies the changes made in another
//! working copy to this one, three ways, with the same conflict handling as
//! `update`. It never commits; what was merged is recorded in the target's
//! index, so merging again applies nothing twice.
//!
//! The changes of a source working copy are the difference between what
//! was last merged from it (or, the first time, its base) and its working
//! files, including scheduled additions and deletions. The changes of a
//! server folder over revisions `N:M` are the difference between its state
//! at N and at M; ranges already merged are skipped.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use zsync_format::archive::ArchiveReader;
use zsync_merge::{MergeLabels, merge3};
use zsync_model::{BodyHash, Props, RepoPath, Rev};

use crate::checkout::{receive_bodies, write_from_pristine};
use crate::conflict::{Accept, resolve_entry};
use crate::error::{ClientError, Result};
use crate::fsutil;
use crate::index::{Conflict, Entry, MergeNode, MergeRecord, Schedule};
use crate::session::Context;
use crate::status::{LocalState, local_state, parse_key};
use crate::transport::Transport;
use crate::ui::Notification;
use crate::update::merge_props;
use crate::url::ServerUrl;
use crate::wc::{self, WorkingCopy};

type Tree = BTreeMap<RepoPath, MergeNode>;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MergeSummary {
    pub changed: usize,
    pub conflicts: usize,
}

/// Merges the changes made in the working copy at `source` into the one
/// at `target`.
pub fn merge(
    ctx: &Context,
    source: &Path,
    target: &Path,
    accept: Option<Accept>,
) -> Result<MergeSummary> {
    let source_abs = wc::absolute(&ctx.cwd, source);
    let target_abs = wc::absolute(&ctx.cwd, target);
    let source_root = checkout_root(&source_abs)
        .ok_or_else(|| ClientError::NotAWorkingCopy(source_abs.clone()))?;
    let target_root = checkout_root(&target_abs)
        .ok_or_else(|| ClientError::NotAWorkingCopy(target_abs.clone()))?;
    if source_root == target_root {
        return Err(ClientError::refused(
            ctx.display(&source_root),
            "is the target itself; merge another working copy into it",
        ));
    }
    let src = WorkingCopy::open(&source_root)?;
    let mut dst = WorkingCopy::open(&target_root)?;
    dst.lock()?;
    check_related(ctx, &src, &dst)?;

    let key = source_root.display().to_string();
    let left = match dst.index.merges.get(&key) {
        Some(MergeRecord::Snapshot(snapshot)) => snapshot
            .iter()
            .map(|(k, n)| Ok((parse_key(&dst, k)?, n.clone())))
            .collect::<Result<Tree>>()?,
        _ => base_tree(&src, &dst)?,
    };
    let right = working_tree(&src, &dst)?;

    ctx.ui.notify(Notification::Text(format!(
        "--- Merging changes from '{}' into '{}':\n",
        ctx.display(&source_root),
        ctx.display(&target_root)
    )));
    let mut merger = Merger {
        ctx,
        wc: dst,
        summary: MergeSummary::default(),
        fresh: Vec::new(),
    };
    merger.apply(&left, &right)?;
    let summary = merger.finish(accept)?;
    let snapshot = right.into_iter().map(|(p, n)| (p.to_string(), n)).collect();
    merger
        .wc
        .index
        .merges
        .insert(key, MergeRecord::Snapshot(snapshot));
    merger.wc.save()?;
    Ok(summary)
}

/// Merges the changes of the server folder `url` from revision `from` to
/// `to` (its newest when `None`; when `from` is `None`, from where the last
/// merge of that folder ended) into the working copy at `target`.
pub fn merge_url(
    ctx: &Context,
    url: &str,
    range: (Option<Rev>, Option<Rev>),
    target: &Path,
    accept: Option<Accept>,
) -> Result<MergeSummary> {
    let url = ServerUrl::parse(url)?;
    let target_abs = wc::absolute(&ctx.cwd, target);
    let target_root = checkout_root(&target_abs)
        .ok_or_else(|| ClientError::NotAWorkingCopy(target_abs.clone()))?;
    let mut dst = WorkingCopy::open(&target_root)?;
    dst.lock()?;
    let transport = ctx.connect(&url)?;
    let key = url.redacted();
    let merged: Vec<(Rev, Rev)> = match dst.index.merges.get(&key) {
        Some(MergeRecord::Revisions(r)) => r.clone(),
        _ => Vec::new(),
    };
    let to = match range.1 {
        Some(to) => to,
        None => transport.manifest(&url.path)?.head,
    };
    let from = match range.0 {
        Some(from) => from,
        None => merged.iter().map(|r| r.1).max().ok_or_else(|| {
            ClientError::refused(
                url.redacted(),
                "has not been merged here before; say which revisions with -r N:M",
            )
        })?,
    };
    let ranges = if from < to {
        unmerged(&merged, from, to)
    } else {
        // A reverse range undoes changes; it is not recorded.
        vec![(from, to)]
    };
    ctx.ui.notify(Notification::Text(format!(
        "--- Merging r{from}:{to} of '{}' into '{}':\n",
        url.redacted(),
        ctx.display(&target_root)
    )));
    let mut merger = Merger {
        ctx,
        wc: dst,
        summary: MergeSummary::default(),
        fresh: Vec::new(),
    };
    for (a, b) in &ranges {
        let left = server_tree(&transport, &merger.wc, &url, *a)?;
        let right = server_tree(&transport, &merger.wc, &url, *b)?;
        let roots = (left.get(&RepoPath::root()), right.get(&RepoPath::root()));
        if let (Some(l), Some(r)) = roots
            && (!l.kind.is_folder() || !r.kind.is_folder())
        {
            return Err(ClientError::refused(url.redacted(), "is not a folder"));
        }
        merger.apply(&left, &right)?;
    }
    let summary = merger.finish(accept)?;
    if from < to {
        let mut record = merged;
        record.extend(ranges);
        merger
            .wc
            .index
            .merges
            .insert(key, MergeRecord::Revisions(normalise(record)));
    }
    merger.wc.save()?;
    Ok(summary)
}

/// The folder at `url` as of `rev`, its bodies fetched into the target's
/// pristine store. Revision 0, or a revision before the folder existed, is
/// the empty tree.
fn server_tree(
    transport: &dyn Transport,
    dst: &WorkingCopy,
    url: &ServerUrl,
    rev: Rev,
) -> Result<Tree> {
    let manifest = match transport.manifest_at(&url.path, rev) {
        Ok(m) => m,
        Err(ClientError::NotFound { .. }) => return Ok(Tree::new()),
        Err(e) => return Err(e),
    };
    let needed: Vec<BodyHash> = manifest
        .entries
        .iter()
        .filter_map(|e| e.hash)
        .filter(|h| !dst.pristine.contains(h))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if !needed.is_empty() {
        let mut archive = ArchiveReader::new(transport.fetch_bodies(&needed)?)?;
        receive_bodies(&mut archive, dst)?;
    }
    Ok(manifest
        .entries
        .into_iter()
        .map(|e| {
            (
                e.path,
                MergeNode {
                    kind: e.kind,
                    hash: e.hash,
                    props: e.props,
                },
            )
        })
        .collect())
}

/// The parts of `(from, to]` not covered by the merged ranges.
fn unmerged(merged: &[(Rev, Rev)], from: Rev, to: Rev) -> Vec<(Rev, Rev)> {
    let mut out = Vec::new();
    let mut start = from;
    for &(a, b) in &normalise(merged.to_vec()) {
        if b <= start || a >= to {
            continue;
        }
        if a > start {
            out.push((start, a));
        }
        start = start.max(b);
    }
    if start < to {
        out.push((start, to));
    }
    out
}

/// Sorted, with overlapping and touching ranges joined.
fn normalise(mut ranges: Vec<(Rev, Rev)>) -> Vec<(Rev, Rev)> {
    ranges.sort();
    let mut out: Vec<(Rev, Rev)> = Vec::new();
    for (a, b) in ranges {
        match out.last_mut() {
            Some(last) if a <= last.1 => last.1 = last.1.max(b),
            _ => out.push((a, b)),
        }
    }
    out
}

/// The top of the working copy holding `abs`, or the only checkout in it.
fn checkout_root(abs: &Path) -> Option<PathBuf> {
    wc::find_root(abs).or_else(|| {
        let mut found = std::fs::read_dir(abs)
            .ok()?
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| WorkingCopy::is_root(p));
        let first = found.next()?;
        found.next().is_none().then_some(first)
    })
}

/// Two working copies are related if they hold the same server object, or
/// folders of the same name (e.g. the same folder on two servers).
fn check_related(ctx: &Context, src: &WorkingCopy, dst: &WorkingCopy) -> Result<()> {
    let oid = |wc: &WorkingCopy| wc.index.entries.get("").and_then(|e| e.oid.clone());
    let name = |wc: &WorkingCopy| {
        RepoPath::parse(&wc.index.server_root)
            .map(|p| p.name().to_owned())
            .unwrap_or_default()
    };
    if oid(src) == oid(dst) || name(src) == name(dst) {
        return Ok(());
    }
    Err(ClientError::refused(
        ctx.display(&src.root),
        format!(
            "is a checkout of '{}', unrelated to the target's '{}'; merge needs two checkouts of the same folder",
            src.index.server_root, dst.index.server_root
        ),
    ))
}

/// The source's base state, its bodies copied into the target's pristine
/// store.
fn base_tree(src: &WorkingCopy, dst: &WorkingCopy) -> Result<Tree> {
    let mut tree = Tree::new();
    for (key, e) in &src.index.entries {
        if e.schedule == Schedule::Add {
            continue;
        }
        if let Some(hash) = &e.hash {
            import_body(src, dst, hash)?;
        }
        tree.insert(
            parse_key(src, key)?,
            MergeNode {
                kind: e.kind.clone(),
                hash: e.hash,
                props: (*e.props).clone(),
            },
        );
    }
    Ok(tree)
}

/// The source's working state: what its next commit would make of it.
fn working_tree(src: &WorkingCopy, dst: &WorkingCopy) -> Result<Tree> {
    let mut tree = Tree::new();
    for (key, e) in &src.index.entries {
        if e.schedule == Schedule::Delete {
            continue;
        }
        let rel = parse_key(src, key)?;
        let (state, _) = local_state(src, &rel, e)?;
        let hash = match (e.is_folder(), state) {
            (true, _) => None,
            // An unreadable or missing file is taken as unchanged.
            (false, LocalState::Missing | LocalState::WrongKind) if e.hash.is_some() => e.hash,
            (false, LocalState::Missing | LocalState::WrongKind) => continue,
            (false, LocalState::Clean) => e.hash,
            (false, LocalState::Modified) => Some(dst.pristine.insert_file(&src.abs(&rel))?.0),
        };
        if let Some(h) = &hash {
            import_body(src, dst, h)?;
        }
        tree.insert(
            rel,
            MergeNode {
                kind: e.kind.clone(),
                hash,
                props: e.working_props().clone(),
            },
        );
    }
    Ok(tree)
}

/// Copies a base body of the source into the target's pristine store.
fn import_body(src: &WorkingCopy, dst: &WorkingCopy, hash: &BodyHash) -> Result<()> {
    if !dst.pristine.contains(hash) {
        dst.pristine
            .insert_verified(hash, &mut src.pristine.open(hash)?)?;
    }
    Ok(())
}

struct Merger<'a, 'c> {
    ctx: &'a Context<'c>,
    wc: WorkingCopy,
    summary: MergeSummary,
    /// Items that got a conflict in this merge.
    fresh: Vec<(String, RepoPath)>,
}

impl Merger<'_, '_> {
    /// Settles new conflicts with `accept`, if given, and counts those left.
    fn finish(&mut self, accept: Option<Accept>) -> Result<MergeSummary> {
        for (key, rel) in std::mem::take(&mut self.fresh) {
            if let Some(accept) = accept {
                resolve_entry(self.ctx, &mut self.wc, &key, &rel, accept)?;
            }
        }
        // Merged files are written anew and `needs-lock` may come or go;
        // the base, which decides with it, is as it was.
        crate::locks::fit_all(&mut self.wc)?;
        self.summary.conflicts = self
            .wc
            .index
            .entries
            .values()
            .filter(|e| e.in_conflict())
            .count();
        Ok(self.summary.clone())
    }

    fn note(&mut self, columns: &str, rel: &RepoPath) {
        self.summary.changed += 1;
        self.ctx.ui.notify(Notification::Update {
            columns: columns.to_owned(),
            path: self.ctx.display(&self.wc.abs(rel)),
        });
    }

    fn apply(&mut self, left: &Tree, right: &Tree) -> Result<()> {
        let paths: BTreeSet<&RepoPath> = left.keys().chain(right.keys()).collect();
        // Additions and edits parents first, deletions children first.
        for rel in &paths {
            match (left.get(*rel), right.get(*rel)) {
                (None, Some(theirs)) => self.add(rel, theirs)?,
                (Some(base), Some(theirs)) if base != theirs => self.modify(rel, base, theirs)?,
                _ => {}
            }
        }
        for rel in paths.iter().rev() {
            if let (Some(base), None) = (left.get(*rel), right.get(*rel)) {
                self.delete(rel, base)?;
            }
        }
        Ok(())
    }

    fn working_hash(&self, rel: &RepoPath) -> Option<BodyHash> {
        fsutil::hash_file(&self.wc.abs(rel)).ok().map(|(h, _)| h)
    }

    fn add(&mut self, rel: &RepoPath, theirs: &MergeNode) -> Result<()> {
        if rel.is_root() {
            return Ok(());
        }
        let path = self.wc.abs(rel);
        let local = self.wc.index.entries.get(rel.as_str()).cloned();
        if local.is_none() && !path.exists() {
            let parent_ok = rel.parent().is_some_and(|p| {
                self.wc
                    .index
                    .entries
                    .get(p.as_str())
                    .is_some_and(|e| e.is_folder() && e.schedule != Schedule::Delete)
            });
            if !parent_ok {
                self.skip(rel, "its folder is not in the target");
                return Ok(());
            }
            if theirs.kind.is_folder() {
                fsutil::create_dir_all(&path)?;
            } else if let Some(hash) = theirs.hash {
                write_from_pristine(&self.wc, &hash, &path)?;
            }
            let entry = Entry::added(theirs.kind.clone(), theirs.props.clone());
            self.wc.index.entries.insert(rel.to_string(), entry);
            self.note("A   ", rel);
            return Ok(());
        }
        if theirs.kind.is_folder() && path.is_dir() {
            return Ok(());
        }
        if !theirs.kind.is_folder() && path.is_file() {
            if self.working_hash(rel) == theirs.hash {
                return Ok(());
            }
            if local.is_some() {
                // Added on both sides: merge against an empty base.
                return self.merge_file(rel, None, theirs);
            }
        }
        self.skip(rel, "an unversioned or different item is in the way");
        Ok(())
    }

    fn modify(&mut self, rel: &RepoPath, base: &MergeNode, theirs: &MergeNode) -> Result<()> {
        let Some(entry) = self.wc.index.entries.get(rel.as_str()).cloned() else {
            self.skip(rel, "it is not in the target");
            return Ok(());
        };
        if entry.schedule == Schedule::Delete || entry.in_conflict() {
            self.tree_conflict(
                rel,
                "local delete or conflict, incoming edit upon merge",
                false,
            );
            return Ok(());
        }
        if entry.kind.is_folder() != theirs.kind.is_folder() {
            self.tree_conflict(
                rel,
                "local item of another kind, incoming edit upon merge",
                false,
            );
            return Ok(());
        }
        if base.hash != theirs.hash && !theirs.kind.is_folder() {
            self.merge_file(rel, base.hash, theirs)?;
        }
        if base.props != theirs.props {
            self.merge_props(rel, &base.props, &theirs.props);
        }
        Ok(())
    }

    fn merge_props(&mut self, rel: &RepoPath, base: &Props, theirs: &Props) {
        let Some(entry) = self.wc.index.entries.get_mut(rel.as_str()) else {
            return;
        };
        let (merged, clashes) = merge_props(base, entry.working_props(), theirs);
        let column = if clashes.is_empty() { " U  " } else { " C  " };
        entry.new_props = if entry.schedule == Schedule::Add || merged != *entry.props {
            Some(merged)
        } else {
            None
        };
        let conflicted = !clashes.is_empty();
        entry.prop_conflicts.extend(clashes);
        if conflicted {
            self.fresh.push((rel.to_string(), rel.clone()));
        }
        self.note(column, rel);
    }

    fn merge_file(
        &mut self,
        rel: &RepoPath,
        base: Option<BodyHash>,
        theirs: &MergeNode,
    ) -> Result<()> {
        let path = self.wc.abs(rel);
        let Some(their_hash) = theirs.hash else {
            return Ok(());
        };
        let Ok(mine) = std::fs::read(&path) else {
            self.tree_conflict(rel, "local missing, incoming edit upon merge", false);
            return Ok(());
        };
        let mine_hash = BodyHash::of(&mine);
        if Some(mine_hash) == base {
            write_from_pristine(&self.wc, &their_hash, &path)?;
            self.note("U   ", rel);
            return Ok(());
        }
        if mine_hash == their_hash {
            return Ok(());
        }
        let base_bytes = match base {
            Some(h) => self.wc.pristine.read(&h)?,
            None => Vec::new(),
        };
        let their_bytes = self.wc.pristine.read(&their_hash)?;
        let name = rel.name();
        let right_side = format!("{name}.merge-right");
        let binary = [&mine, &their_bytes, &base_bytes]
            .iter()
            .any(|b| zsync_merge::is_binary(b));
        let conflict = if binary {
            self.wc
                .write_file(&path.with_file_name(&right_side), &their_bytes)?;
            Conflict::Binary {
                new: right_side,
                old_hash: base,
                mine_hash: self.wc.pristine.insert_bytes(&mine)?,
                their_hash,
            }
        } else {
            let labels = MergeLabels {
                mine: ".working",
                base: ".merge-left",
                theirs: ".merge-right",
            };
            let outcome = merge3(&base_bytes, &mine, &their_bytes, &labels);
            if outcome.conflicts == 0 {
                self.wc.write_file(&path, &outcome.merged)?;
                self.note("G   ", rel);
                return Ok(());
            }
            let left_side = format!("{name}.merge-left");
            let working_side = format!("{name}.working");
            self.wc
                .write_file(&path.with_file_name(&working_side), &mine)?;
            self.wc
                .write_file(&path.with_file_name(&left_side), &base_bytes)?;
            self.wc
                .write_file(&path.with_file_name(&right_side), &their_bytes)?;
            self.wc.write_file(&path, &outcome.merged)?;
            Conflict::Text {
                mine: working_side,
                old: left_side,
                new: right_side,
                old_hash: base,
                mine_hash: self.wc.pristine.insert_bytes(&mine)?,
                their_hash,
            }
        };
        if let Some(e) = self.wc.index.entries.get_mut(rel.as_str()) {
            e.set_conflict(conflict);
            e.stat = None;
        }
        self.fresh.push((rel.to_string(), rel.clone()));
        self.note("C   ", rel);
        Ok(())
    }

    fn delete(&mut self, rel: &RepoPath, base: &MergeNode) -> Result<()> {
        let Some(entry) = self.wc.index.entries.get(rel.as_str()).cloned() else {
            return Ok(());
        };
        if entry.schedule == Schedule::Delete || rel.is_root() {
            return Ok(());
        }
        let path = self.wc.abs(rel);
        let unchanged = if entry.is_folder() {
            // Children were handled first: only an empty folder goes.
            std::fs::read_dir(&path)
                .map(|mut d| d.next().is_none())
                .unwrap_or(true)
        } else {
            !path.exists() || self.working_hash(rel) == base.hash
        };
        if !unchanged {
            self.tree_conflict(rel, "local edit, incoming delete upon merge", true);
            return Ok(());
        }
        if entry.oid.is_some() {
            if let Some(e) = self.wc.index.entries.get_mut(rel.as_str()) {
                e.schedule = Schedule::Delete;
            }
        } else {
            self.wc.index.entries.remove(rel.as_str());
        }
        fsutil::remove_path(&path)?;
        self.note("D   ", rel);
        Ok(())
    }

    fn tree_conflict(&mut self, rel: &RepoPath, reason: &str, incoming_delete: bool) {
        if let Some(e) = self.wc.index.entries.get_mut(rel.as_str()) {
            e.set_conflict(Conflict::Tree {
                reason: reason.into(),
                incoming_delete,
            });
            self.fresh.push((rel.to_string(), rel.clone()));
        }
        self.note("   C", rel);
    }

    fn skip(&mut self, rel: &RepoPath, why: &str) {
        self.ctx.ui.notify(Notification::Warning(format!(
            "skipped {}: {why}",
            self.ctx.display(&self.wc.abs(rel))
        )));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unmerged_ranges_skip_what_was_merged() {
        assert_eq!(unmerged(&[], 2, 5), vec![(2, 5)]);
        assert_eq!(unmerged(&[(2, 5)], 2, 5), vec![]);
        assert_eq!(unmerged(&[(3, 4)], 1, 6), vec![(1, 3), (4, 6)]);
        assert_eq!(unmerged(&[(1, 3), (3, 4)], 0, 4), vec![(0, 1)]);
        assert_eq!(
            normalise(vec![(3, 4), (1, 3), (6, 7)]),
            vec![(1, 4), (6, 7)]
        );
    }
}
