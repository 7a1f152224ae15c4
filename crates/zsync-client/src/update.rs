//! `zsync update`: brings the working copy to the server's newest revision,
//! keeping local edits. Text edited on both sides merges three ways;
//! overlapping edits, binary clashes and structural clashes become
//! conflicts that are recorded in the index and never lose a local change.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use zsync_format::archive::ArchiveReader;
use zsync_format::{ChangeAction, Manifest, ManifestEntry};
use zsync_merge::{MergeLabels, merge3};
use zsync_model::{BodyHash, Oid, Props, RepoPath, Rev};

use crate::checkout::{receive_bodies_shown, write_from_pristine};
use crate::conflict::{Accept, resolve_entry};
use crate::error::{ClientError, Result};
use crate::fsutil;
use crate::index::{Conflict, Entry, PropClash, Schedule, disk};
use crate::schedule::subtree_keys;
use crate::session::{Context, Target};
use crate::status::{LocalState, local_state, parse_key, unversioned};
use crate::transport::Transport;
use crate::ui::{Notification, Phase, Progress};
use crate::wc::WorkingCopy;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UpdateSummary {
    pub rev: Rev,
    pub text_conflicts: usize,
    pub tree_conflicts: usize,
    /// Properties both sides changed differently.
    pub prop_conflicts: usize,
    /// Conflicts left in the updated paths, new or from before.
    pub remaining: usize,
    /// The change feed showed nothing new: the working copy was already
    /// at `rev` ("At revision N.").
    pub unchanged: bool,
}

impl UpdateSummary {
    pub fn has_conflicts(&self) -> bool {
        self.text_conflicts + self.tree_conflicts + self.prop_conflicts > 0
    }

    pub fn add(&mut self, other: &UpdateSummary) {
        self.rev = self.rev.max(other.rev);
        self.text_conflicts += other.text_conflicts;
        self.tree_conflicts += other.tree_conflicts;
        self.prop_conflicts += other.prop_conflicts;
        self.remaining += other.remaining;
    }
}

struct Updater<'a, 'c> {
    ctx: &'a Context<'c>,
    wc: WorkingCopy,
    /// Whether any item was moved here and the move is not yet committed
    /// (else the passes over such items are skipped).
    moves: bool,
    summary: UpdateSummary,
}

/// Updates the target's paths. Each new conflict is settled with `accept`
/// if given, else by asking through the [`Ui`](crate::Ui) (postponed when no
/// one can be asked).
pub fn update(ctx: &Context, target: &Target, accept: Option<Accept>) -> Result<UpdateSummary> {
    let (connected, stale_glance) = match at_a_glance(ctx, target)? {
        Glanced::Unchanged(summary) => return Ok(summary),
        Glanced::LookCloser { transport, stale } => (transport, stale),
    };
    let mut wc = WorkingCopy::open(&target.root)?;
    wc.lock_to_settle()?;
    let transport = match connected {
        Some(transport) => transport,
        None => ctx.connect(&wc.url()?)?,
    };
    crate::commit::settle_pending(ctx, &mut wc, transport.as_ref())?;
    let whole = target.paths.iter().any(RepoPath::is_root);
    if whole {
        // The plan checks that every item is here, and the update
        // restores what is not: its saves leave a glance.
        wc.verifying_from_now();
    }
    let before: HashSet<String> = wc
        .index
        .entries
        .iter()
        .filter(|(_, e)| e.in_conflict())
        .map(|(k, _)| k.clone())
        .collect();
    let plan = plan_from_feed(&wc, transport.as_ref(), target, !stale_glance)?;
    if let Plan::Unchanged(head) = plan {
        // Nothing to write unless the head moved on elsewhere, or the next
        // no-op could be answered at a glance.
        if wc.index.rev != head || (whole && stale_glance) {
            wc.index.rev = head;
            wc.save()?;
        }
        let remaining = before
            .iter()
            .filter_map(|k| RepoPath::parse(k).ok())
            .filter(|rel| target.paths.iter().any(|t| t.contains(rel)))
            .count();
        return Ok(UpdateSummary {
            rev: head,
            remaining,
            unchanged: true,
            ..UpdateSummary::default()
        });
    }
    // The incoming base may take `needs-lock` away: those files are freed.
    let needed_lock = crate::locks::governed_keys(&wc);
    let moves = wc.index.entries.values().any(|e| e.moved_from.is_some());
    let mut u = Updater {
        ctx,
        wc,
        moves,
        summary: UpdateSummary::default(),
    };
    if let Plan::Paths { through, paths } = &plan {
        for path in paths {
            let manifest = u.manifest(transport.as_ref(), path)?;
            u.apply(transport.as_ref(), path, &manifest)?;
        }
        u.wc.index.rev = *through;
        u.summary.rev = *through;
    } else {
        for path in &target.paths {
            let manifest = u.manifest(transport.as_ref(), path)?;
            u.apply(transport.as_ref(), path, &manifest)?;
            if path.is_root() {
                u.wc.index.rev = manifest.head;
            }
            u.summary.rev = u.summary.rev.max(manifest.head);
        }
    }
    crate::depth::settle(&mut u.wc.index);
    let mut fresh = Vec::new();
    for (key, e) in &u.wc.index.entries {
        if e.in_conflict() && !before.contains(key) {
            fresh.push((key.clone(), parse_key(&u.wc, key)?));
        }
    }
    for (key, rel) in &fresh {
        settle(ctx, &mut u.wc, key, rel, accept)?;
    }
    // Count what this update left in conflict, and all that remains.
    let (mut text, mut tree, mut prop) = (0, 0, 0);
    for (key, _) in &fresh {
        if let Some(e) = u.wc.index.entries.get(key) {
            match e.conflict.as_deref() {
                Some(Conflict::Tree { .. }) => tree += 1,
                Some(_) => text += 1,
                None => {}
            }
            prop += usize::from(!e.prop_conflicts.is_empty());
        }
    }
    u.summary.text_conflicts = text;
    u.summary.tree_conflicts = tree;
    u.summary.prop_conflicts = prop;
    for (key, e) in &u.wc.index.entries {
        if e.in_conflict() {
            let rel = parse_key(&u.wc, key)?;
            if target.paths.iter().any(|t| t.contains(&rel)) {
                u.summary.remaining += 1;
            }
        }
    }
    if u.wc.index.entries.values().any(Entry::in_conflict) {
        u.wc.index.incomplete = true;
    } else if target.paths.iter().any(RepoPath::is_root) {
        u.wc.index.incomplete = false;
    }
    crate::locks::fit_all_since(&mut u.wc, needed_lock)?;
    u.wc.save()?;
    Ok(u.summary)
}

impl Updater<'_, '_> {
    /// The server's manifest of `path` (empty if the server no longer has
    /// it), cut to what a sparse copy's depths keep.
    fn manifest(&self, transport: &dyn Transport, path: &RepoPath) -> Result<Manifest> {
        let server_path = self.wc.server_path(path)?;
        let mut manifest = match transport.manifest(&server_path) {
            Ok(m) => m,
            Err(ClientError::NotFound { .. }) if !path.is_root() => Manifest {
                root: server_path,
                head: 0,
                entries: Vec::new(),
                omitted: 0,
            },
            Err(ClientError::NotFound { .. }) => {
                return Err(ClientError::refused(
                    self.wc.url()?.redacted(),
                    "the working copy's folder no longer exists on the server",
                ));
            }
            Err(e) => return Err(e),
        };
        if manifest.omitted > 0 {
            self.ctx.ui.notify(Notification::Warning(format!(
                "{} item(s) you may not read were left out",
                manifest.omitted
            )));
        }
        let entries = std::mem::take(&mut manifest.entries);
        manifest.entries = crate::depth::Scope::new(&self.wc.index.entries).filter(path, entries);
        Ok(manifest)
    }

    fn note(&self, columns: &str, rel: &RepoPath) {
        self.ctx.ui.notify(Notification::Update {
            columns: columns.to_owned(),
            path: self.ctx.display(&self.wc.abs(rel)),
        });
        crate::fault::point("client-update-item");
    }

    fn apply(
        &mut self,
        transport: &dyn Transport,
        base: &RepoPath,
        manifest: &Manifest,
    ) -> Result<()> {
        let mut server_rel: HashMap<&Oid, RepoPath> = HashMap::new();
        for m in &manifest.entries {
            let rel = base
                .join_path(&m.path)
                .map_err(|e| ClientError::Protocol(e.to_string()))?;
            server_rel.insert(&m.oid, rel);
        }
        // Items moved here and not yet committed take the server's changes
        // where they are here, and so does what the server has below them.
        let local_moves = self.local_moves(&server_rel)?;
        let mut theirs: BTreeMap<RepoPath, &ManifestEntry> = BTreeMap::new();
        let mut their_path: HashMap<&Oid, RepoPath> = HashMap::new();
        for m in &manifest.entries {
            let rel = remap(&local_moves, &server_rel[&m.oid]);
            their_path.insert(&m.oid, rel.clone());
            theirs.insert(rel, m);
        }
        let mut mine: HashMap<Oid, RepoPath> = HashMap::new();
        for (key, e) in under(&self.wc.index.entries, base) {
            if let Some(oid) = &e.oid {
                mine.insert(oid.clone(), parse_key(&self.wc, key)?);
            }
        }

        let needed: Vec<BodyHash> = theirs
            .values()
            .filter_map(|m| m.hash)
            .filter(|h| !self.wc.pristine.contains(h))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        if !needed.is_empty() {
            let mut archive = ArchiveReader::new(transport.fetch_bodies(&needed)?)?;
            receive_bodies_shown(
                &mut archive,
                &self.wc,
                self.ctx.ui,
                &needed,
                theirs.values().copied(),
            )?;
        }

        // Deletions first, topmost only.
        let mut gone: Vec<RepoPath> = mine
            .iter()
            .filter(|(oid, _)| !their_path.contains_key(oid))
            .map(|(_, rel)| rel.clone())
            .collect();
        gone.sort();
        let mut handled: Vec<RepoPath> = Vec::new();
        for rel in gone {
            if handled.iter().any(|h| h.contains(&rel)) {
                continue;
            }
            self.delete(&rel)?;
            handled.push(rel);
        }

        // Then moves: each moved item (topmost only) goes to its new place
        // with its local edits, unless something is in the way.
        let mut skipped: Vec<RepoPath> = Vec::new();
        let mut done: Vec<(RepoPath, RepoPath)> = Vec::new();
        // Moves that could not be made: (server path, where it stays).
        let mut stays: Vec<(RepoPath, RepoPath)> = Vec::new();
        let mut obstructed: Vec<(RepoPath, RepoPath)> = Vec::new();
        for (to, m) in &theirs {
            let Some(mut from) = mine.get(&m.oid).cloned() else {
                continue;
            };
            for (k, t) in &done {
                if let Some(rest) = k.relative(&from) {
                    from = t.join_path(&rest).unwrap_or(from);
                }
            }
            if &from == to || !self.wc.index.entries.contains_key(from.as_str()) {
                continue;
            }
            if self.move_here(&from, to)? {
                done.push((from, to.clone()));
            } else {
                stays.push((to.clone(), from.clone()));
                obstructed.push((from, to.clone()));
            }
        }
        stays.sort_by_key(|(at, _)| std::cmp::Reverse(at.as_str().len()));

        // Versioned folders deleted by hand (or never written: a checkout
        // killed half-way) come back first, so their files can.
        let missing_folders: Vec<RepoPath> = under(&self.wc.index.entries, base)
            .filter(|(_, e)| e.schedule == Schedule::Normal && e.is_folder())
            .filter_map(|(k, _)| parse_key(&self.wc, k).ok())
            .filter(|rel| !self.wc.abs(rel).exists())
            .collect();
        for rel in missing_folders {
            fsutil::create_dir_all(&self.wc.abs(&rel))?;
            self.ctx.ui.notify(Notification::Schedule {
                action: "Restored".into(),
                path: self.ctx.display(&self.wc.abs(&rel)),
            });
        }

        // Versioned files deleted by hand come back, as in svn.
        let missing: Vec<(String, RepoPath, BodyHash)> = under(&self.wc.index.entries, base)
            .filter(|(_, e)| e.schedule == Schedule::Normal && !e.in_conflict())
            .filter_map(|(k, e)| Some((k.clone(), parse_key(&self.wc, k).ok()?, e.hash?)))
            .filter(|(_, rel, _)| !self.wc.abs(rel).exists())
            .collect();
        for (key, rel, hash) in missing {
            let unchanged = theirs.get(&rel).is_some_and(|m| m.hash == Some(hash));
            if unchanged {
                let stat = write_from_pristine(&self.wc, &hash, &self.wc.abs(&rel))?;
                if let Some(e) = self.wc.index.entries.get_mut(&key) {
                    e.stat = Some(stat);
                }
                self.ctx.ui.notify(Notification::Schedule {
                    action: "Restored".into(),
                    path: self.ctx.display(&self.wc.abs(&rel)),
                });
            }
        }

        // Every incoming item is compared with its working file (stat, or
        // a hash if that differs), so count items, not bytes.
        let ui = self.ctx.ui;
        let progress = Progress::start(ui, Phase::Writing, theirs.len() as u64, 0);
        for (rel, m) in &theirs {
            progress.advance(1, 0);
            let rel = &remap(&stays, rel);
            if skipped.iter().any(|s| s.contains(rel)) {
                continue;
            }
            let existing = self.wc.index.entries.get(rel.as_str());
            let same_object = existing.is_some_and(|e| e.oid.as_ref() == Some(&m.oid));
            if same_object {
                self.modify(rel, m)?;
            } else if !self.add(rel, m)? {
                skipped.push(rel.clone());
            }
        }
        drop(progress);

        for (from, to) in obstructed {
            let reason = format!(
                "local obstruction, incoming move to {} upon update",
                self.ctx.display(&self.wc.abs(&to))
            );
            if let Some(e) = self.wc.index.entries.get_mut(from.as_str()) {
                e.set_conflict(Conflict::Tree {
                    reason,
                    incoming_delete: false,
                });
            }
            self.note("   C", &from);
        }

        // Local moves now start from where the server has the items.
        if !self.moves {
            return Ok(());
        }
        for (key, e) in self.wc.index.entries.iter_mut() {
            if let (Some(_), Some(oid)) = (&e.moved_from, &e.oid)
                && let Some(at) = server_rel.get(oid)
            {
                e.moved_from = (at.as_str() != key).then(|| at.to_string());
            }
        }
        Ok(())
    }

    /// Pairs (server path, path here) of the items moved here and not yet
    /// committed, longest server path first.
    fn local_moves(
        &self,
        server_rel: &HashMap<&Oid, RepoPath>,
    ) -> Result<Vec<(RepoPath, RepoPath)>> {
        let mut out = Vec::new();
        if !self.moves {
            return Ok(out);
        }
        for (key, e) in &self.wc.index.entries {
            if let (Some(_), Some(oid)) = (&e.moved_from, &e.oid)
                && let Some(at) = server_rel.get(oid)
            {
                out.push((at.clone(), parse_key(&self.wc, key)?));
            }
        }
        out.sort_by_key(|(at, _)| std::cmp::Reverse(at.as_str().len()));
        Ok(out)
    }

    /// The server moved the item at `from` to `to`: move it (with its local
    /// edits) there. If something is in the way, the item stays, recorded
    /// as moved here locally (the caller adds a tree conflict); returns
    /// false then.
    fn move_here(&mut self, from: &RepoPath, to: &RepoPath) -> Result<bool> {
        let (old, new) = (self.wc.abs(from), self.wc.abs(to));
        if new.symlink_metadata().is_ok() || self.wc.index.entries.contains_key(to.as_str()) {
            for (key, p) in subtree_keys(&self.wc, from)? {
                let rest = from.relative(&p).unwrap_or_default();
                let there = to.join_path(&rest).unwrap_or_default();
                if let Some(e) = self.wc.index.entries.get_mut(&key)
                    && e.schedule != Schedule::Add
                {
                    e.moved_from = Some(there.to_string());
                }
            }
            // The conflict is recorded once the server's changes are in.
            return Ok(false);
        }
        if let Some(parent) = new.parent() {
            fsutil::create_dir_all(parent)?;
        }
        if old.symlink_metadata().is_ok() {
            std::fs::rename(&old, &new).map_err(ClientError::io(&old))?;
        }
        crate::moves::rekey(&mut self.wc, from, to)?;
        self.note("D   ", from);
        self.note("A   ", to);
        Ok(true)
    }

    /// The server no longer has the object at `rel`.
    fn delete(&mut self, rel: &RepoPath) -> Result<()> {
        let keys = subtree_keys(&self.wc, rel)?;
        let mut local_changes = false;
        for (key, p) in &keys {
            let e = &self.wc.index.entries[key];
            let (state, _) = local_state(&self.wc, p, e)?;
            if e.schedule == Schedule::Add
                || e.in_conflict()
                || matches!(state, LocalState::Modified | LocalState::WrongKind)
                || e.props_modified()
            {
                local_changes = true;
            }
        }
        let path = self.wc.abs(rel);
        if path.is_dir() {
            let t = Target {
                root: self.wc.root.clone(),
                paths: vec![rel.clone()],
            };
            local_changes |= !unversioned(&self.wc, &t)?.is_empty();
        }
        let scheduled_delete = self
            .wc
            .index
            .entries
            .get(rel.as_str())
            .is_some_and(|e| e.schedule == Schedule::Delete);
        if !local_changes || scheduled_delete {
            if !scheduled_delete {
                fsutil::remove_path(&path)?;
            }
            for (key, _) in keys {
                self.wc.index.entries.remove(&key);
            }
            self.note("D   ", rel);
            return Ok(());
        }
        // Edited here, deleted there: keep everything as a local addition.
        for (key, p) in keys {
            let Some(e) = self.wc.index.entries.get(&key) else {
                continue;
            };
            let (state, _) = local_state(&self.wc, &p, e)?;
            if e.schedule == Schedule::Delete || state == LocalState::Missing {
                self.wc.index.entries.remove(&key);
                continue;
            }
            let props = e.working_props().clone();
            let mut added = Entry::added(e.kind.clone(), props);
            added.conflict = e.conflict.clone();
            self.wc.index.entries.insert(key, added);
        }
        if let Some(e) = self.wc.index.entries.get_mut(rel.as_str()) {
            e.set_conflict(Conflict::Tree {
                reason: "local edit, incoming delete upon update".into(),
                incoming_delete: true,
            });
        }
        self.note("   C", rel);
        Ok(())
    }

    /// The server has a new object at `rel`. False if it could not be
    /// placed (its subtree is then skipped).
    fn add(&mut self, rel: &RepoPath, m: &ManifestEntry) -> Result<bool> {
        let path = self.wc.abs(rel);
        let local = self.wc.index.entries.get(rel.as_str()).cloned();
        let on_disk = std::fs::symlink_metadata(&path).ok();
        let mut entry = Entry::from_manifest(m);

        let obstructed = local.is_some() || on_disk.is_some();
        if !obstructed {
            if let Some(parent) = path.parent() {
                fsutil::create_dir_all(parent)?;
            }
            if m.kind.is_folder() {
                fsutil::create_dir_all(&path)?;
            } else if let Some(hash) = m.hash {
                entry.stat = Some(write_from_pristine(&self.wc, &hash, &path)?);
            }
            self.wc.index.entries.insert(rel.to_string(), entry);
            self.note("A   ", rel);
            return Ok(true);
        }

        let disk_is_dir = on_disk.as_ref().is_some_and(|d| d.is_dir());
        let disk_is_file = on_disk.as_ref().is_some_and(|d| d.is_file());
        let same_content = disk_is_file
            && m.hash.is_some()
            && fsutil::hash_file(&path)
                .map(|(h, _)| Some(h) == m.hash)
                .unwrap_or(false);
        if (m.kind.is_folder() && disk_is_dir) || (!m.kind.is_folder() && same_content) {
            // What is here already is what the server has: adopt it.
            if let Some(l) = &local {
                entry.new_props = l.new_props.clone().filter(|p| p != &m.props);
            }
            if same_content {
                entry.stat = std::fs::metadata(&path)
                    .ok()
                    .map(|meta| crate::index::StatData::of(&meta));
            }
            self.wc.index.entries.insert(rel.to_string(), entry);
            self.note("E   ", rel);
            return Ok(true);
        }
        if !m.kind.is_folder() && (disk_is_file || on_disk.is_none()) {
            // Keep the local file as a modification of the server's.
            let reason = if local.is_some() {
                "local add, incoming add upon update"
            } else {
                "local unversioned, incoming add upon update"
            };
            if let Some(l) = &local {
                entry.new_props = l.new_props.clone().filter(|p| p != &m.props);
            }
            entry.set_conflict(Conflict::Tree {
                reason: reason.into(),
                incoming_delete: false,
            });
            self.wc.index.entries.insert(rel.to_string(), entry);
            self.note("   C", rel);
            return Ok(true);
        }
        // A file where a folder comes in, or the reverse: record the
        // server's item as the base, keep what is on disk, and skip the
        // incoming folder's contents until the clash is resolved.
        let reason = match (disk_is_dir, m.kind.is_folder()) {
            (true, false) => "local unversioned folder, incoming file add upon update",
            _ => "local unversioned file, incoming folder add upon update",
        };
        entry.set_conflict(Conflict::Tree {
            reason: reason.into(),
            incoming_delete: false,
        });
        self.wc.index.entries.insert(rel.to_string(), entry);
        self.note("   C", rel);
        Ok(false)
    }

    /// The object at `rel` exists on both sides; bring in the server's change.
    fn modify(&mut self, rel: &RepoPath, m: &ManifestEntry) -> Result<()> {
        let key = rel.to_string();
        let Some(e) = self.wc.index.entries.get(&key).cloned() else {
            return Ok(());
        };
        let body_changed = m.hash != e.hash;
        let props_changed = m.props != *e.props;
        if !body_changed && !props_changed && m.kind == e.kind {
            if m.rev != e.rev {
                let entry = self.wc.index.entries.get_mut(&key);
                if let Some(entry) = entry {
                    entry.rev = m.rev;
                    entry.author = m.author.clone();
                }
            }
            return Ok(());
        }
        if e.in_conflict() {
            self.ctx.ui.notify(Notification::Warning(format!(
                "skipped {}: it remains in conflict; resolve it and update again",
                self.ctx.display(&self.wc.abs(rel))
            )));
            return Ok(());
        }
        let mut new = Entry::from_manifest(m);
        new.stat = e.stat;
        new.schedule = e.schedule;
        new.moved_from = e.moved_from.clone();
        new.depth = e.depth;
        new.lock_token = e.lock_token.clone();
        if e.is_folder() != m.kind.is_folder() {
            new.set_conflict(Conflict::Tree {
                reason: "incoming change between file and folder upon update".into(),
                incoming_delete: false,
            });
            self.wc.index.entries.insert(
                key,
                Entry {
                    conflict: new.conflict,
                    ..e
                },
            );
            self.note("   C", rel);
            return Ok(());
        }
        if e.schedule == Schedule::Delete {
            new.set_conflict(Conflict::Tree {
                reason: "local delete, incoming edit upon update".into(),
                incoming_delete: false,
            });
            self.wc.index.entries.insert(key, new);
            self.note("   C", rel);
            return Ok(());
        }

        let mut text = ' ';
        if body_changed && !m.kind.is_folder() {
            let (state, _) = local_state(&self.wc, rel, &e)?;
            text = self.merge_body(rel, &e, m, state, &mut new)?;
        }
        let mut prop = ' ';
        if props_changed {
            match &e.new_props {
                None => prop = 'U',
                Some(mine) => {
                    let (merged, clashes) = merge_props(&e.props, mine, &m.props);
                    new.new_props = Some(merged).filter(|p| p != &m.props);
                    prop = if clashes.is_empty() { 'G' } else { 'C' };
                    new.prop_conflicts = clashes;
                }
            }
        } else {
            new.new_props = e.new_props.clone();
        }
        self.wc.index.entries.insert(key, new);
        if text != ' ' || prop != ' ' {
            self.note(&format!("{text}{prop}  "), rel);
        }
        Ok(())
    }

    /// Brings the server's body into a file; returns the update letter.
    fn merge_body(
        &mut self,
        rel: &RepoPath,
        e: &Entry,
        m: &ManifestEntry,
        state: LocalState,
        new: &mut Entry,
    ) -> Result<char> {
        let path = self.wc.abs(rel);
        let Some(their_hash) = m.hash else {
            return Ok(' ');
        };
        match state {
            LocalState::Clean | LocalState::Missing => {
                new.stat = Some(write_from_pristine(&self.wc, &their_hash, &path)?);
                return Ok('U');
            }
            LocalState::WrongKind => {
                new.set_conflict(Conflict::Tree {
                    reason: "local obstruction, incoming edit upon update".into(),
                    incoming_delete: false,
                });
                return Ok(' ');
            }
            LocalState::Modified => {}
        }
        new.stat = None;
        let mine = fsutil::read(&path)?;
        if BodyHash::of(&mine) == their_hash {
            return Ok('G');
        }
        let theirs = self.wc.pristine.read(&their_hash)?;
        let base = match e.hash {
            Some(h) => self.wc.pristine.read(&h)?,
            None => Vec::new(),
        };
        let name = rel.name();
        let new_side = format!("{name}.r{}", m.rev);
        if zsync_merge::is_binary(&mine)
            || zsync_merge::is_binary(&theirs)
            || zsync_merge::is_binary(&base)
        {
            self.wc
                .write_file(&path.with_file_name(&new_side), &theirs)?;
            new.set_conflict(Conflict::Binary {
                new: new_side,
                old_hash: e.hash,
                mine_hash: self.wc.pristine.insert_bytes(&mine)?,
                their_hash,
            });
            return Ok('C');
        }
        let old_side = format!("{name}.r{}", e.rev);
        let mine_side = format!("{name}.mine");
        let labels = MergeLabels {
            mine: ".mine",
            base: &format!(".r{}", e.rev),
            theirs: &format!(".r{}", m.rev),
        };
        let outcome = merge3(&base, &mine, &theirs, &labels);
        if outcome.conflicts == 0 {
            self.wc.write_file(&path, &outcome.merged)?;
            return Ok('G');
        }
        self.wc
            .write_file(&path.with_file_name(&mine_side), &mine)?;
        self.wc.write_file(&path.with_file_name(&old_side), &base)?;
        self.wc
            .write_file(&path.with_file_name(&new_side), &theirs)?;
        self.wc.write_file(&path, &outcome.merged)?;
        new.set_conflict(Conflict::Text {
            mine: mine_side,
            old: old_side,
            new: new_side,
            old_hash: e.hash,
            mine_hash: self.wc.pristine.insert_bytes(&mine)?,
            their_hash,
        });
        Ok('C')
    }
}

/// `rel` as seen here: under the place an item moved to locally if the
/// server has it under that item's server path.
/// The index entries at or below `base`: a range of the sorted map (keys
/// from `base` up to `base` followed by the character after `/`), so an
/// update of a few paths does not scan the whole index.
fn under<'a>(
    entries: &'a BTreeMap<String, Entry>,
    base: &'a RepoPath,
) -> impl Iterator<Item = (&'a String, &'a Entry)> + 'a {
    use std::ops::Bound;
    let key = base.as_str();
    let end = format!("{key}0");
    let range = if base.is_root() {
        entries.range::<str, _>((Bound::Unbounded, Bound::Unbounded))
    } else {
        entries.range::<str, _>((Bound::Included(key), Bound::Excluded(end.as_str())))
    };
    range.filter(move |(k, _)| {
        base.is_root()
            || k.as_str() == key
            || k.strip_prefix(key).is_some_and(|r| r.starts_with('/'))
    })
}

fn remap(local_moves: &[(RepoPath, RepoPath)], rel: &RepoPath) -> RepoPath {
    for (at, here) in local_moves {
        if let Some(rest) = at.relative(rel)
            && let Ok(p) = here.join_path(&rest)
        {
            return p;
        }
    }
    rel.clone()
}

const TEXT_CHOICES: &[(&str, &str)] = &[
    ("p", "postpone"),
    ("df", "show diff"),
    ("e", "edit file"),
    ("r", "mark resolved"),
    ("mc", "my side of conflict"),
    ("tc", "their side of conflict"),
    ("mf", "my version"),
    ("tf", "their version"),
];

const TREE_CHOICES: &[(&str, &str)] = &[
    ("p", "postpone"),
    ("r", "keep what is here"),
    ("tf", "take the server's"),
];

/// Settles one new conflict with `accept`, or by asking.
fn settle(
    ctx: &Context,
    wc: &mut WorkingCopy,
    key: &str,
    rel: &RepoPath,
    accept: Option<Accept>,
) -> Result<()> {
    if let Some(accept) = accept {
        return resolve_entry(ctx, wc, key, rel, accept);
    }
    let path = wc.abs(rel);
    loop {
        let Some(entry) = wc.index.entries.get(key) else {
            return Ok(());
        };
        let (what, choices) = match entry.conflict.as_deref() {
            Some(Conflict::Tree { reason, .. }) => (
                format!("Tree conflict on '{}': {reason}.", ctx.display(&path)),
                TREE_CHOICES,
            ),
            _ => (
                format!("Conflict discovered in '{}'.", ctx.display(&path)),
                TEXT_CHOICES,
            ),
        };
        let Some(answer) = ctx.ui.choose(&what, choices) else {
            return Ok(());
        };
        match answer.as_str() {
            "p" => return Ok(()),
            "df" => {
                let theirs = match entry.hash {
                    Some(h) => wc.pristine.read(&h)?,
                    None => Vec::new(),
                };
                let working = fsutil::read(&path).unwrap_or_default();
                let shown = ctx.display(&path);
                ctx.ui.notify(Notification::Text(zsync_merge::unified_diff(
                    &theirs,
                    &working,
                    &format!("{shown}\t(incoming)"),
                    &format!("{shown}\t(merged)"),
                    3,
                )));
            }
            "e" => {
                if !ctx.ui.edit(&path) {
                    ctx.ui
                        .notify(Notification::Warning("no editor: set $EDITOR".into()));
                }
            }
            other => match other.parse::<Accept>() {
                Ok(a) if choices.iter().any(|(c, _)| *c == other) => {
                    return resolve_entry(ctx, wc, key, rel, a);
                }
                _ => ctx
                    .ui
                    .notify(Notification::Warning(format!("unknown choice {other:?}"))),
            },
        }
    }
}

/// Merges property maps key by key: a key changed on one side takes that
/// change. Returns the merged map and the keys both sides changed
/// differently (those keep the local value until resolved).
pub fn merge_props(
    base: &Props,
    mine: &Props,
    theirs: &Props,
) -> (Props, BTreeMap<String, PropClash>) {
    let keys: std::collections::BTreeSet<&String> = base
        .keys()
        .chain(mine.keys())
        .chain(theirs.keys())
        .collect();
    let mut merged = Props::new();
    let mut clashes = BTreeMap::new();
    for k in keys {
        let (b, m, t) = (base.get(k), mine.get(k), theirs.get(k));
        let value = if m == b {
            t
        } else if t == b || m == t {
            m
        } else {
            clashes.insert(
                k.clone(),
                PropClash {
                    base: b.cloned(),
                    mine: m.cloned(),
                    theirs: t.cloned(),
                },
            );
            m
        };
        if let Some(v) = value {
            merged.insert(k.clone(), v.clone());
        }
    }
    (merged, clashes)
}

/// What an update has to fetch, judged from the change feed.
enum Plan {
    /// Nothing at or below the root changed since the index's revision,
    /// nothing is missing here, and the last update left nothing
    /// incomplete: the copy is at this head and no manifest is fetched.
    Unchanged(Rev),
    /// Only these paths (topmost, working-copy relative) changed, each
    /// brought up to date from its own manifest rather than the whole
    /// tree's.
    Paths { through: Rev, paths: Vec<RepoPath> },
    /// Compare the whole manifest of each target path.
    Full,
}

/// What a look at the index's header and the folders found.
enum Glanced {
    /// Nothing new on the server, nothing missing here.
    Unchanged(UpdateSummary),
    /// The update must read the index; the connection is kept if made.
    /// `stale`: the glance was missing or no longer proves the copy
    /// intact, so even a no-op saves a new one.
    LookCloser {
        transport: Option<Box<dyn Transport + Send>>,
        stale: bool,
    },
}

/// A no-op update from the index's header, a stat of each folder and one
/// request (see [`crate::glance`]), so it stays flat as the tree grows.
/// Anything unusual (no glance, a lock, a folder changed since, news on
/// the server) sends the update the long way, which explains or does it.
fn at_a_glance(ctx: &Context, target: &Target) -> Result<Glanced> {
    let closer = Ok(Glanced::LookCloser {
        transport: None,
        stale: true,
    });
    // Another command at work, or one interrupted, or a commit's answer
    // to find out: the long way says so, or does it.
    if WorkingCopy::lock_file_of(&target.root).exists()
        || WorkingCopy::pending_file_of(&target.root).exists()
    {
        return closer;
    }
    // The header alone, not the entries: a few KiB of a file of megabytes.
    let Ok(head) = read_head(&WorkingCopy::index_file_of(&target.root)) else {
        return closer;
    };
    let Some(glance) = head.glance else {
        return closer;
    };
    let Ok(url) = WorkingCopy::url_of(&target.root, &head.url, &head.server_root) else {
        return closer;
    };
    // The folders are statted while the server is asked: both wait.
    let (intact, asked) = std::thread::scope(|scope| {
        let check = scope.spawn(|| glance.intact(&target.root, &target.paths));
        let asked = ctx.connect(&url).map(|transport| {
            let feed = transport.changes(&url.path, head.rev, 0);
            (transport, feed)
        });
        (check.join().unwrap_or(false), asked)
    });
    let (transport, feed) = asked?;
    match feed {
        Ok(feed)
            if intact
                && feed.revisions.is_empty()
                && feed.through == feed.head
                && feed.head == head.rev =>
        {
            crate::fault::point("update-at-a-glance");
            Ok(Glanced::Unchanged(UpdateSummary {
                rev: head.rev,
                unchanged: true,
                ..UpdateSummary::default()
            }))
        }
        _ => Ok(Glanced::LookCloser {
            transport: Some(transport),
            stale: !intact,
        }),
    }
}

/// The index file's header (see [`disk::decode_head`]).
fn read_head(path: &Path) -> Result<disk::Head> {
    let corrupt = |detail: String| ClientError::Corrupt {
        root: path.to_path_buf(),
        detail,
    };
    // Enough for the header of most copies; a larger one is read again,
    // as far as it goes.
    let mut start = fsutil::read_head(path, 64 * 1024)?;
    let len = disk::head_len(&start).ok_or_else(|| corrupt("no header to read alone".into()))?;
    if len > start.len() {
        start = fsutil::read_head(path, len)?;
    }
    disk::decode_head(&start).map_err(corrupt)
}

/// Beyond this many changed paths one manifest of the whole tree is
/// cheaper than a request per path.
const MAX_FEED_PATHS: usize = 64;

/// Every item is at least at the index's revision (an update of the whole
/// copy sets it), so the feed since that revision lists everything the
/// copy lacks. Moves, sparse depths and uncommitted local moves are left
/// to the full comparison, which handles them, and so is an item deleted
/// by hand (which the update restores). `intact`: a glance proved every
/// item present, so none is statted (on a cold cache that is most of an
/// update receiving a few files).
fn plan_from_feed(
    wc: &WorkingCopy,
    transport: &dyn Transport,
    target: &Target,
    intact: bool,
) -> Result<Plan> {
    let root = wc.server_path(&RepoPath::root())?;
    let feed = match transport.changes(&root, wc.index.rev, 0) {
        Ok(feed) => feed,
        // The full update explains a vanished root better.
        Err(ClientError::NotFound { .. }) => return Ok(Plan::Full),
        Err(e) => return Err(e),
    };
    if wc.index.incomplete
        || feed.through < feed.head
        || (!intact && wc.any_missing(&target.paths)?)
    {
        return Ok(Plan::Full);
    }
    if feed.revisions.is_empty() {
        return Ok(Plan::Unchanged(feed.head));
    }
    let whole = target.paths.iter().any(RepoPath::is_root);
    let plain = || {
        wc.index
            .entries
            .values()
            .all(|e| e.depth.is_none() && e.moved_from.is_none())
    };
    if !whole || !plain() {
        return Ok(Plan::Full);
    }
    let mut changed = std::collections::BTreeSet::new();
    for entry in &feed.revisions {
        for change in &entry.changes {
            let Some(rel) = root.relative(&change.path) else {
                continue;
            };
            let here = wc.index.entries.get(rel.as_str());
            // The feed shows a move as a change at the new path (M there,
            // or R): an object this copy has elsewhere. Moves take the
            // full comparison, which carries local edits along.
            let moved = match change.action {
                ChangeAction::R => true,
                ChangeAction::M => here.is_none_or(|e| e.oid.as_ref() != Some(&change.oid)),
                ChangeAction::A | ChangeAction::D => false,
            };
            if moved {
                return Ok(Plan::Full);
            }
            // This copy's own commits are already here.
            let have = match change.action {
                ChangeAction::D => here.is_none(),
                _ => {
                    here.is_some_and(|e| e.oid.as_ref() == Some(&change.oid) && e.rev >= entry.rev)
                }
            };
            if !have {
                changed.insert(rel);
            }
        }
    }
    if changed.is_empty() {
        return Ok(Plan::Unchanged(feed.head));
    }
    if changed.len() > MAX_FEED_PATHS || changed.iter().any(RepoPath::is_root) {
        return Ok(Plan::Full);
    }
    let mut paths: Vec<RepoPath> = Vec::new();
    for rel in changed {
        if !paths.iter().any(|p| p.contains(&rel)) {
            paths.push(rel);
        }
    }
    Ok(Plan::Paths {
        through: feed.through,
        paths,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> Props {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn props_merge_key_by_key() {
        let base = props(&[("a", "1"), ("b", "1")]);
        let mine = props(&[("a", "2"), ("b", "1")]);
        let theirs = props(&[("a", "1"), ("b", "3"), ("c", "4")]);
        let (merged, clashes) = merge_props(&base, &mine, &theirs);
        assert_eq!(merged, props(&[("a", "2"), ("b", "3"), ("c", "4")]));
        assert!(clashes.is_empty());
        let (_, clashes) = merge_props(&base, &props(&[("a", "x")]), &props(&[("a", "y")]));
        assert_eq!(clashes.keys().collect::<Vec<_>>(), vec!["a"]);
        assert_eq!(clashes["a"].theirs.as_deref(), Some("y"));
    }
}
