//! `zsync watch`: live mode. Saves in the working copy are committed as
//! they settle, and others' commits are merged in as the change feed
//! announces them, until the caller asks it to stop.
//!
//! One thread (the caller's) does every change to the working copy, one
//! step at a time (an update, or a commit of what settled), through the
//! same `update` and `commit` code as the commands, so a step is as atomic
//! as those commands are. Two helpers only send it messages: the file
//! system watcher (`notify`) and a thread long-polling the change feed.
//! The stop flag is checked between steps, never inside one.
//!
//! What is committed: versioned items that `status` shows modified, added
//! or deleted (and versioned files deleted from disk, which are scheduled
//! for deletion first), never an item in conflict. New files are added
//! only with [`WatchOptions::add`], as svn users expect; ignore rules
//! apply as for `status`. Because events can be lost (queue overflow,
//! editors renaming over files, network file systems), a full `status`
//! walk also runs every [`WatchOptions::rescan`].

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use notify::event::{AccessKind, AccessMode, ModifyKind};
use notify::{EventKind, RecursiveMode, Watcher as _};
use zsync_format::ChangeFeed;
use zsync_model::{ADMIN_DIR, RepoPath, Rev};

use crate::conflict::Accept;
use crate::error::{ClientError, Result};
use crate::session::{Context, Target};
use crate::status::{StatusItem, StatusOptions};
use crate::transport::Transport;
use crate::ui::Notification;
use crate::wc::WorkingCopy;

/// How `watch` behaves; the defaults suit people typing.
#[derive(Clone, Debug)]
pub struct WatchOptions {
    /// How long a path must see no event before its save counts as done.
    pub settle: Duration,
    /// How often the whole copy is scanned, for events the system lost.
    pub rescan: Duration,
    /// Also add (and commit) new unversioned files that are not ignored.
    pub add: bool,
    /// How often a commit refused as stale is retried after an update.
    pub retries: u32,
    /// Seconds one change-feed request waits for news (a long poll).
    pub feed_wait: u64,
}

impl Default for WatchOptions {
    fn default() -> Self {
        Self {
            settle: Duration::from_millis(500),
            rescan: Duration::from_secs(60),
            add: false,
            retries: 3,
            feed_wait: 20,
        }
    }
}

/// What `watch` reports, as [`Notification::Watch`]. Paths are shown as
/// the user sees them (relative to the current directory).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WatchEvent {
    /// Watching has begun; the copy is at `rev`.
    Started { root: String, rev: Rev },
    /// A settled save was committed as `rev` with this message.
    Committed { rev: Rev, message: String },
    /// Others' commits were merged in; the copy is at `rev`.
    Updated { rev: Rev },
    /// The path is in conflict: it is not committed until resolved.
    Conflict { path: String },
    /// The path's conflict was resolved: it is committed again.
    Resumed { path: String },
    /// A stop was asked for and the copy is consistent.
    Stopped { root: String },
}

/// Asks a running [`watch`] to stop after its current step. Cheap to clone;
/// safe to set from a signal-handling thread.
#[derive(Clone, Debug, Default)]
pub struct StopFlag(Arc<AtomicBool>);

impl StopFlag {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn stop(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// What the helpers tell the working thread.
enum Message {
    Files(notify::Result<notify::Event>),
    Feed(Result<ChangeFeed>),
}

/// The longest the loop sleeps before looking at the stop flag again.
const TICK: Duration = Duration::from_millis(100);

/// How long to wait before retrying a step that failed for a passing
/// reason (another command holds the lock, the server is away).
const RETRY: Duration = Duration::from_secs(2);

/// Watches the target's working copy until `stop` is set: commits each
/// settled save, merges others' commits as they land. Returns once the
/// copy is consistent (between steps); fails only on what no retry can
/// fix (a damaged or interrupted copy, a refused login).
pub fn watch(
    ctx: &Context,
    target: &Target,
    options: &WatchOptions,
    stop: &StopFlag,
) -> Result<()> {
    let wc = WorkingCopy::open(&target.root)?;
    wc.check_not_interrupted()?;
    let url = wc.url()?;
    let feed_root = wc.server_path(&RepoPath::root())?;
    let since = wc.index.rev;
    drop(wc);

    let (tx, rx) = mpsc::channel();
    // Kept alive for as long as the loop runs; dropping it stops watching.
    let files = watch_files(&target.root, tx.clone(), ctx.ui, options.rescan)?;
    let feed = ctx.connect(&url)?;
    follow_feed(feed, feed_root, since, options.feed_wait, tx, stop.clone());

    let mut session = Session {
        ctx,
        target,
        options,
        files,
        root: target.root.clone(),
        pending: BTreeMap::new(),
        conflicted: BTreeSet::new(),
        failed: BTreeSet::new(),
        own_revs: BTreeSet::new(),
        update_due: true,
        index_changed: false,
        retry_at: None,
        rescan_at: Instant::now(),
        feed_failing: false,
        last_warning: None,
    };
    session.run(&rx, stop)
}

struct Session<'a, 'c> {
    ctx: &'a Context<'c>,
    target: &'a Target,
    options: &'a WatchOptions,
    /// Dropping it stops the file events.
    files: notify::RecommendedWatcher,
    root: PathBuf,
    /// Paths with events, and when the last one came.
    pending: BTreeMap<RepoPath, Instant>,
    /// Paths in conflict (reported once; skipped until resolved).
    conflicted: BTreeSet<RepoPath>,
    /// Paths whose commit was refused; tried again once they change.
    failed: BTreeSet<RepoPath>,
    /// Revisions this session committed: no news in the change feed.
    own_revs: BTreeSet<Rev>,
    update_due: bool,
    /// The index was rewritten (maybe by `zsync resolved`).
    index_changed: bool,
    /// After a passing failure: no step before this time.
    retry_at: Option<Instant>,
    rescan_at: Instant,
    feed_failing: bool,
    /// The last retry warning, until a step succeeds.
    last_warning: Option<String>,
}

impl Session<'_, '_> {
    fn run(&mut self, rx: &Receiver<Message>, stop: &StopFlag) -> Result<()> {
        let mut started = false;
        while !stop.is_set() {
            let now = Instant::now();
            if self.retry_at.is_none_or(|t| now >= t) {
                self.retry_at = None;
                self.step(stop)?;
            }
            if !started && self.retry_at.is_none() && !self.update_due {
                started = true;
                let rev = WorkingCopy::open(&self.root)?.index.rev;
                self.ctx.ui.notify(Notification::Watch(WatchEvent::Started {
                    root: self.ctx.display(&self.root),
                    rev,
                }));
            }
            if stop.is_set() {
                break;
            }
            let wait = self.next_deadline().map_or(TICK, |d| {
                d.saturating_duration_since(Instant::now()).min(TICK)
            });
            match rx.recv_timeout(wait) {
                Ok(message) => self.receive(message),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            while let Ok(message) = rx.try_recv() {
                self.receive(message);
            }
        }
        self.ctx.ui.notify(Notification::Watch(WatchEvent::Stopped {
            root: self.ctx.display(&self.root),
        }));
        Ok(())
    }

    /// The one step due now, if any: an update first (so a commit is not
    /// refused as stale needlessly), then what settled, then a rescan.
    fn step(&mut self, stop: &StopFlag) -> Result<()> {
        if self.update_due {
            self.update()?;
            return Ok(());
        }
        if self.index_changed {
            self.index_changed = false;
            self.check_conflicts()?;
        }
        let now = Instant::now();
        let settled: Vec<RepoPath> = self
            .pending
            .iter()
            .filter(|(_, t)| now.duration_since(**t) >= self.options.settle)
            .map(|(p, _)| p.clone())
            .collect();
        if !settled.is_empty() {
            for p in &settled {
                self.pending.remove(p);
            }
            return self.settle(settled, stop);
        }
        if now >= self.rescan_at {
            self.rescan_at = now + self.options.rescan;
            return self.rescan(stop);
        }
        Ok(())
    }

    fn next_deadline(&self) -> Option<Instant> {
        if self.update_due || self.index_changed {
            return self.retry_at.or(Some(Instant::now()));
        }
        let settle = self
            .pending
            .values()
            .min()
            .map(|t| *t + self.options.settle);
        [settle, Some(self.rescan_at), self.retry_at]
            .into_iter()
            .flatten()
            .min()
    }

    fn receive(&mut self, message: Message) {
        match message {
            Message::Files(Ok(event)) => {
                if event.need_rescan() {
                    self.rescan_at = Instant::now();
                }
                if !counts(&event.kind) {
                    return;
                }
                for path in &event.paths {
                    // A folder made (or moved) into the top needs a watch
                    // of its own; files made in it before that are found
                    // by the status of the folder, which is pending below.
                    if path.parent() == Some(&self.root)
                        && path.file_name().is_some_and(|n| n != ADMIN_DIR)
                        && !matches!(event.kind, EventKind::Remove(_))
                        && path.is_dir()
                        && let Err(e) = self.files.watch(path, RecursiveMode::Recursive)
                    {
                        self.ctx.ui.notify(Notification::Warning(format!(
                            "{}: cannot watch for changes: {e}",
                            self.ctx.display(path)
                        )));
                    }
                    if path.parent() == Some(&WorkingCopy::admin_dir_of(&self.root)) {
                        if *path == WorkingCopy::index_file_of(&self.root) {
                            self.index_changed = true;
                        }
                        continue;
                    }
                    if let Some(rel) = self.rel_of(path) {
                        self.failed.remove(&rel);
                        self.pending.insert(rel, Instant::now());
                    }
                }
            }
            Message::Files(Err(e)) => {
                // Lost events (a full queue, say): the scan finds what they said.
                self.ctx.ui.notify(Notification::Warning(format!(
                    "watching files: {e}; scanning the working copy instead"
                )));
                self.rescan_at = Instant::now();
            }
            Message::Feed(Ok(feed)) => {
                self.feed_failing = false;
                if feed
                    .revisions
                    .iter()
                    .any(|r| !self.own_revs.contains(&r.rev))
                {
                    self.update_due = true;
                }
            }
            Message::Feed(Err(e)) => {
                if !self.feed_failing {
                    self.feed_failing = true;
                    self.ctx.ui.notify(Notification::Warning(format!(
                        "following the server's changes: {e}; trying again"
                    )));
                }
            }
        }
    }

    /// The working-copy path of an event's file, if it is one to look at:
    /// under the target, outside the admin directory.
    fn rel_of(&self, abs: &Path) -> Option<RepoPath> {
        let rest = abs.strip_prefix(&self.root).ok()?;
        if rest.components().next()?.as_os_str() == ADMIN_DIR {
            return None;
        }
        let rel = RepoPath::parse(rest.to_str()?).ok()?;
        (!rel.is_root() && self.target.paths.iter().any(|t| t.contains(&rel))).then_some(rel)
    }

    /// Merges the server's news into the copy, conflicts postponed.
    fn update(&mut self) -> Result<()> {
        match crate::update::update(self.ctx, self.target, Some(Accept::Postpone)) {
            Ok(summary) => {
                self.update_due = false;
                self.last_warning = None;
                if !summary.unchanged {
                    self.ctx.ui.notify(Notification::Watch(WatchEvent::Updated {
                        rev: summary.rev,
                    }));
                }
                self.check_conflicts()
            }
            Err(e) => self.passing(e),
        }
    }

    /// Reports conflicts that appeared, and resumes paths that were
    /// resolved (committing them now if they changed).
    fn check_conflicts(&mut self) -> Result<()> {
        let wc = WorkingCopy::open(&self.root)?;
        let mut now = BTreeSet::new();
        for (key, entry) in &wc.index.entries {
            let Ok(rel) = RepoPath::parse(key) else {
                continue;
            };
            if entry.in_conflict() && self.target.paths.iter().any(|t| t.contains(&rel)) {
                now.insert(rel);
            }
        }
        drop(wc);
        for rel in now.difference(&self.conflicted) {
            self.ctx
                .ui
                .notify(Notification::Watch(WatchEvent::Conflict {
                    path: self.shown(rel),
                }));
        }
        let resolved: Vec<RepoPath> = self.conflicted.difference(&now).cloned().collect();
        for rel in resolved {
            self.ctx.ui.notify(Notification::Watch(WatchEvent::Resumed {
                path: self.shown(&rel),
            }));
            // Settled already: the user edited it before resolving.
            let at = Instant::now()
                .checked_sub(self.options.settle)
                .unwrap_or_else(Instant::now);
            self.pending.insert(rel, at);
        }
        self.conflicted = now;
        Ok(())
    }

    /// Commits what the settled paths hold.
    fn settle(&mut self, paths: Vec<RepoPath>, stop: &StopFlag) -> Result<()> {
        let wc = WorkingCopy::open(&self.root)?;
        let paths: Vec<RepoPath> = paths
            .into_iter()
            .filter(|rel| match wc.index.entries.get(rel.as_str()) {
                // A folder's own events are about its children, which
                // have events of their own.
                Some(e) => !(e.is_folder() && wc.abs(rel).is_dir()),
                None => std::fs::symlink_metadata(wc.abs(rel)).is_ok(),
            })
            .collect();
        drop(wc);
        if paths.is_empty() {
            return Ok(());
        }
        let target = Target {
            root: self.root.clone(),
            paths,
        };
        match crate::status::status(self.ctx, &target, StatusOptions::default()) {
            Ok(items) => self.commit_items(items, &target.paths, stop),
            Err(e) => {
                self.requeue(&target.paths);
                self.passing(e)
            }
        }
    }

    /// The full walk: commits whatever status shows that the events missed.
    fn rescan(&mut self, stop: &StopFlag) -> Result<()> {
        self.check_conflicts()?;
        match crate::status::status(self.ctx, self.target, StatusOptions::default()) {
            Ok(items) => {
                let now = Instant::now();
                let mut quiet = Vec::new();
                for item in items {
                    if self.failed.contains(&item.path) || self.pending.contains_key(&item.path) {
                        continue;
                    }
                    // Written within the settle time: maybe still being
                    // saved (its events not here yet), so it waits its turn.
                    let recent = std::fs::symlink_metadata(&item.abs)
                        .and_then(|m| m.modified())
                        .ok()
                        .and_then(|t| t.elapsed().ok())
                        .is_some_and(|age| age < self.options.settle);
                    if recent {
                        self.pending.insert(item.path, now);
                    } else {
                        quiet.push(item);
                    }
                }
                self.commit_items(quiet, &[], stop)
            }
            Err(e) => self.passing(e),
        }
    }

    /// Schedules and commits the items status showed, leaving conflicts
    /// (and what cannot be committed) alone. `asked` are the paths that
    /// were looked at, retried if the working copy was busy.
    fn commit_items(
        &mut self,
        items: Vec<StatusItem>,
        asked: &[RepoPath],
        stop: &StopFlag,
    ) -> Result<()> {
        let wc = WorkingCopy::open(&self.root)?;
        // Files a conflict left beside its item are never added.
        let mut side_files = BTreeSet::new();
        for (key, entry) in &wc.index.entries {
            if let (Some(c), Ok(rel)) = (&entry.conflict, RepoPath::parse(key)) {
                let dir = rel.parent().unwrap_or_default();
                side_files.extend(c.side_files().iter().filter_map(|n| dir.join(n).ok()));
            }
        }
        drop(wc);
        let mut edits = Vec::new();
        let mut adds = Vec::new();
        let mut removes = Vec::new();
        let mut to_add = Vec::new();
        let mut to_remove = Vec::new();
        for item in items {
            if item.text == 'C' || item.props == 'C' || item.tree_conflict {
                if self.conflicted.insert(item.path.clone()) {
                    self.ctx
                        .ui
                        .notify(Notification::Watch(WatchEvent::Conflict {
                            path: self.shown(&item.path),
                        }));
                }
                continue;
            }
            match item.text {
                '?' if self.options.add && !side_files.contains(&item.path) => {
                    to_add.push(item.path)
                }
                '!' => to_remove.push(item.path),
                'A' | 'R' => adds.push(item.path),
                'D' => removes.push(item.path),
                'M' => edits.push(item.path),
                ' ' if item.props == 'M' => edits.push(item.path),
                _ => {}
            }
        }
        // An item inside a folder added or removed goes with it.
        let to_add = outermost(to_add);
        let to_remove = outermost(to_remove);
        if !to_add.is_empty() {
            let abs: Vec<PathBuf> = to_add.iter().map(|r| self.root.join(r.as_str())).collect();
            match crate::schedule::add(self.ctx, &abs, None, false) {
                Ok(()) => adds.extend(to_add),
                Err(e) if is_passing(&e) => {
                    self.requeue(&to_add);
                    return self.passing(e);
                }
                Err(e) => self.refused(&to_add, e),
            }
        }
        if !to_remove.is_empty() {
            let abs: Vec<PathBuf> = to_remove
                .iter()
                .map(|r| self.root.join(r.as_str()))
                .collect();
            // Gone from disk already; only the deletion is scheduled.
            match crate::schedule::remove(self.ctx, &abs, false, true) {
                Ok(()) => removes.extend(to_remove),
                Err(e) if is_passing(&e) => {
                    self.requeue(&to_remove);
                    return self.passing(e);
                }
                Err(e) => self.refused(&to_remove, e),
            }
        }
        let mut paths: Vec<RepoPath> = edits.iter().chain(&adds).chain(&removes).cloned().collect();
        if paths.is_empty() {
            return Ok(());
        }
        paths.sort();
        let message = message(&edits, &adds, &removes);
        for attempt in 0..=self.options.retries {
            if stop.is_set() {
                // What was scheduled stays scheduled; the next commit sends it.
                return Ok(());
            }
            let target = Target {
                root: self.root.clone(),
                paths: paths.clone(),
            };
            crate::fault::point("watch-commit");
            match crate::commit::commit(self.ctx, &target, &message) {
                Ok(Some(rev)) => {
                    self.last_warning = None;
                    self.own_revs.insert(rev);
                    self.ctx
                        .ui
                        .notify(Notification::Watch(WatchEvent::Committed {
                            rev,
                            message: message.clone(),
                        }));
                    return Ok(());
                }
                Ok(None) => return Ok(()),
                Err(ClientError::Stale { .. }) if attempt < self.options.retries => {
                    // Someone committed first: merge their change, then
                    // send again what is still free of conflict.
                    self.update_due = true;
                    self.update()?;
                    if self.update_due {
                        self.requeue(&paths);
                        return Ok(());
                    }
                    paths.retain(|p| !self.conflicted.contains(p));
                    if paths.is_empty() {
                        return Ok(());
                    }
                }
                Err(e) if is_passing(&e) => {
                    self.requeue(if asked.is_empty() { &paths } else { asked });
                    return self.passing(e);
                }
                Err(e) => {
                    self.refused(&paths, e);
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    /// A step failed for a reason that may pass: warn (unless it is only
    /// another command holding the lock) and try again later. Fails the
    /// watch for what no retry fixes.
    fn passing(&mut self, e: ClientError) -> Result<()> {
        if is_fatal(&e) {
            return Err(e);
        }
        match e {
            // Another command's turn; nothing to say.
            ClientError::Locked { .. } => {}
            // A commit's answer was lost: the update finds out what became of it.
            ClientError::PendingCommit { .. } => self.update_due = true,
            // Said once, not at every retry.
            _ => {
                let text = format!("{e}; trying again");
                if self.last_warning.as_ref() != Some(&text) {
                    self.ctx.ui.notify(Notification::Warning(text.clone()));
                    self.last_warning = Some(text);
                }
            }
        }
        self.retry_at = Some(Instant::now() + RETRY);
        Ok(())
    }

    /// A commit or scheduling the server or client refused: said once; the
    /// paths wait until they change again.
    fn refused(&mut self, paths: &[RepoPath], e: ClientError) {
        let shown: Vec<String> = paths.iter().map(|p| self.shown(p)).collect();
        self.ctx.ui.notify(Notification::Warning(format!(
            "not committing {}: {e}",
            shown.join(", ")
        )));
        self.failed.extend(paths.iter().cloned());
    }

    fn requeue(&mut self, paths: &[RepoPath]) {
        let now = Instant::now();
        for p in paths {
            self.pending.entry(p.clone()).or_insert(now);
        }
    }

    fn shown(&self, rel: &RepoPath) -> String {
        self.ctx.display(&self.root.join(rel.as_str()))
    }
}

/// Whether a failure ends the watch: the copy is damaged or interrupted,
/// the login or certificate is refused, the folder is gone. Anything else
/// is retried (a busy copy, a server away) or reported per path.
fn is_fatal(e: &ClientError) -> bool {
    matches!(
        e,
        ClientError::Interrupted { .. }
            | ClientError::Corrupt { .. }
            | ClientError::NotAWorkingCopy(_)
            | ClientError::AuthFailed { .. }
            | ClientError::AuthRequired { .. }
            | ClientError::Certificate { .. }
            | ClientError::Forbidden(_)
            | ClientError::NotFound { .. }
            | ClientError::Url { .. }
    )
}

/// Whether a failure may pass by itself (retried), as opposed to a
/// refusal (reported, not retried) or a broken copy (ends the watch).
fn is_passing(e: &ClientError) -> bool {
    matches!(
        e,
        ClientError::Locked { .. }
            | ClientError::PendingCommit { .. }
            | ClientError::Connect { .. }
            | ClientError::Server { .. }
            | ClientError::Protocol(_)
            | ClientError::Io { .. }
            | ClientError::Rejected { .. }
    ) || e.answer_lost()
}

/// Events that may mean a changed file: not opening or reading one, nor
/// metadata alone (commit's own permission fixes would echo forever).
fn counts(kind: &EventKind) -> bool {
    match kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) => false,
        EventKind::Modify(ModifyKind::Metadata(_)) => false,
        _ => true,
    }
}

/// `paths` without those inside another of them.
fn outermost(mut paths: Vec<RepoPath>) -> Vec<RepoPath> {
    paths.sort();
    let all = paths.clone();
    paths.retain(|p| !all.iter().any(|q| q != p && q.contains(p)));
    paths
}

/// `watch: edit a.txt, b.txt; add c.txt; remove d.txt`.
pub fn message(edits: &[RepoPath], adds: &[RepoPath], removes: &[RepoPath]) -> String {
    let parts: Vec<String> = [("edit", edits), ("add", adds), ("remove", removes)]
        .into_iter()
        .filter(|(_, paths)| !paths.is_empty())
        .map(|(verb, paths)| {
            let names: Vec<&str> = paths.iter().map(RepoPath::as_str).collect();
            format!("{verb} {}", names.join(", "))
        })
        .collect();
    format!("watch: {}", parts.join("; "))
}

/// Starts watching the files of the copy at `root`: its top folder, and
/// every folder in it but the admin directory recursively (the pristine
/// store would only add noise and watches). The index file is watched too,
/// to notice `zsync resolved` at once.
fn watch_files(
    root: &Path,
    tx: Sender<Message>,
    ui: &dyn crate::Ui,
    rescan: Duration,
) -> Result<notify::RecommendedWatcher> {
    let mut watcher = notify::recommended_watcher(move |event| {
        let _ = tx.send(Message::Files(event));
    })
    .map_err(|e| cannot_watch(root, e))?;
    watcher
        .watch(root, RecursiveMode::NonRecursive)
        .map_err(|e| cannot_watch(root, e))?;
    let admin = WorkingCopy::admin_dir_of(root);
    watcher
        .watch(&admin, RecursiveMode::NonRecursive)
        .map_err(|e| cannot_watch(&admin, e))?;
    let read = std::fs::read_dir(root).map_err(ClientError::io(root))?;
    for item in read {
        let item = item.map_err(ClientError::io(root))?;
        if item.file_name() != ADMIN_DIR && item.file_type().is_ok_and(|t| t.is_dir()) {
            // Too many folders for the system's watch limit, say: the
            // rescan still covers this one.
            if let Err(e) = watcher.watch(&item.path(), RecursiveMode::Recursive) {
                ui.notify(Notification::Warning(format!(
                    "{}; it is only scanned every {} s",
                    cannot_watch(&item.path(), e),
                    rescan.as_secs()
                )));
            }
        }
    }
    Ok(watcher)
}

fn cannot_watch(path: &Path, e: notify::Error) -> ClientError {
    ClientError::refused(path.display(), format!("cannot watch for changes: {e}"))
}

/// Long-polls the change feed on a thread of its own and passes on each
/// answer that lists revisions. Ends when the stop flag is set or the
/// session is gone (its receiver dropped).
fn follow_feed(
    transport: Box<dyn Transport + Send>,
    root: RepoPath,
    mut since: Rev,
    wait: u64,
    tx: Sender<Message>,
    stop: StopFlag,
) {
    std::thread::spawn(move || {
        while !stop.is_set() {
            match transport.changes(&root, since, wait) {
                Ok(feed) => {
                    since = since.max(feed.through);
                    if !feed.revisions.is_empty() && tx.send(Message::Feed(Ok(feed))).is_err() {
                        return;
                    }
                }
                Err(e) => {
                    if tx.send(Message::Feed(Err(e))).is_err() {
                        return;
                    }
                    let until = Instant::now() + RETRY;
                    while Instant::now() < until && !stop.is_set() {
                        std::thread::sleep(TICK);
                    }
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(names: &[&str]) -> Vec<RepoPath> {
        names.iter().map(|n| RepoPath::parse(n).unwrap()).collect()
    }

    #[test]
    fn message_names_the_files_by_action() {
        assert_eq!(
            message(&paths(&["a.txt", "sub/b.txt"]), &paths(&["c.txt"]), &[]),
            "watch: edit a.txt, sub/b.txt; add c.txt"
        );
        assert_eq!(message(&[], &[], &paths(&["d"])), "watch: remove d");
    }

    #[test]
    fn outermost_drops_nested_paths() {
        assert_eq!(
            outermost(paths(&["a/b", "a", "c/d", "c2"])),
            paths(&["a", "c/d", "c2"])
        );
    }
}
