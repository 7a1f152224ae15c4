//! `zsync status`: what changed in the working copy, offline, in svn's
//! columns. Files whose stat data still matches the index are not read;
//! others are hashed and compared with their base.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use zsync_format::ChangeAction;
use zsync_model::{ADMIN_DIR, Kind, RepoPath, Rev};

use crate::error::{ClientError, Result};
use crate::fsutil;
use crate::ignore_rules::IgnoreRules;
use crate::index::{Conflict, Entry, Schedule, StatData};
use crate::listings::{Fingerprints, Listing, Listings};
use crate::session::{Context, Target};
use crate::transport::Transport;
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
    local_state_at(wc, &wc.abs(rel), entry)
}

/// What a look at an item's path found.
enum Found {
    Missing,
    Folder,
    File(StatData),
    /// Anything else: a symlink, a device…
    Other,
}

/// [`local_state`] of the item whose working file is at `path`.
fn local_state_at(
    wc: &WorkingCopy,
    path: &Path,
    entry: &Entry,
) -> Result<(LocalState, Option<StatData>)> {
    let found = match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => Found::Folder,
        Ok(m) if m.is_file() => Found::File(StatData::of(&m)),
        Ok(_) => Found::Other,
        // A folder on the way that is now a file: the item is gone too.
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
            ) =>
        {
            Found::Missing
        }
        Err(e) => return Err(ClientError::io(path)(e)),
    };
    judge(wc, entry, found, || path.to_path_buf())
}

/// The state of `entry` given what its path holds; `path` is built only
/// when the file must be read.
fn judge(
    wc: &WorkingCopy,
    entry: &Entry,
    found: Found,
    path: impl FnOnce() -> PathBuf,
) -> Result<(LocalState, Option<StatData>)> {
    let stat = match (found, entry.is_folder()) {
        (Found::Missing, _) => return Ok((LocalState::Missing, None)),
        (Found::Folder, true) => return Ok((LocalState::Clean, None)),
        (Found::File(stat), false) => stat,
        _ => return Ok((LocalState::WrongKind, None)),
    };
    let Some(base) = entry.hash else {
        return Ok((LocalState::Modified, None));
    };
    // Git's racy-clean rule: a file modified this close before the index
    // was written could be edited again within the same timestamp tick,
    // leaving its stat data unchanged, so it is re-read.
    let racy = i128::from(stat.mtime_ns) + wc.racy_window_ns() >= wc.index.stamp_ns;
    if entry.stat == Some(stat) && !racy {
        return Ok((LocalState::Clean, None));
    }
    if stat.size != entry.size {
        return Ok((LocalState::Modified, None));
    }
    let (hash, _) = fsutil::hash_file(&path())?;
    if hash == base {
        Ok((LocalState::Clean, Some(stat)))
    } else {
        Ok((LocalState::Modified, None))
    }
}

/// [`local_state`] of every item in `walked` (index keys), on a few
/// threads, folder by folder: on Unix each item is statted relative to its
/// open folder, so the kernel walks one name, not the whole path.
pub(crate) fn local_states_by_key(
    wc: &WorkingCopy,
    walked: &[(&String, &Entry)],
) -> Result<Vec<(LocalState, Option<StatData>)>> {
    let groups = crate::index::by_parent(
        walked
            .iter()
            .enumerate()
            .map(|(i, (key, _))| (key.as_str(), i)),
    );
    let done = fsutil::parallel_map(&groups, stat_threads(), |(parent, members)| {
        in_folder(wc, parent, members, walked)
    })?;
    let mut states = vec![(LocalState::Missing, None); walked.len()];
    for (members, results) in groups.iter().map(|(_, m)| m).zip(done) {
        for (&i, state) in members.iter().zip(results) {
            states[i] = state;
        }
    }
    Ok(states)
}

/// The states of the `members` of `walked` whose folder is `parent`.
fn in_folder(
    wc: &WorkingCopy,
    parent: &Option<&str>,
    members: &[usize],
    walked: &[(&String, &Entry)],
) -> Result<Vec<(LocalState, Option<StatData>)>> {
    let one_by_one = || {
        members
            .iter()
            .map(|&i| local_state_at(wc, &wc.abs_key(walked[i].0), walked[i].1))
            .collect()
    };
    #[cfg(unix)]
    {
        use rustix::fs::{AtFlags, FileType, Mode, OFlags};
        let Some(parent) = parent else {
            return one_by_one();
        };
        let dir_path = wc.abs_key(parent);
        // A folder that is gone or no folder: the items' own paths say so.
        let Ok(dir) = rustix::fs::open(
            &dir_path,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        ) else {
            return one_by_one();
        };
        let mut out = Vec::with_capacity(members.len());
        for &i in members {
            let (key, entry) = walked[i];
            let name = key.rsplit_once('/').map_or(key.as_str(), |(_, n)| n);
            let found = match rustix::fs::statat(&dir, name, AtFlags::SYMLINK_NOFOLLOW) {
                Ok(st) => match FileType::from_raw_mode(st.st_mode) {
                    FileType::Directory => Found::Folder,
                    FileType::RegularFile => Found::File(StatData::of_stat(&st)),
                    _ => Found::Other,
                },
                Err(rustix::io::Errno::NOENT | rustix::io::Errno::NOTDIR) => Found::Missing,
                Err(e) => {
                    return Err(ClientError::io(&wc.abs_key(key))(std::io::Error::from(e)));
                }
            };
            out.push(judge(wc, entry, found, || wc.abs_key(key))?);
        }
        Ok(out)
    }
    #[cfg(not(unix))]
    {
        let _ = parent;
        one_by_one()
    }
}

/// Threads statting working files at once: one per core. Warm stats are
/// kernel CPU work; more threads than cores only add start-up cost (each
/// touches fresh memory: a 20,000-file status on 2 cores took 5% longer
/// with 4).
fn stat_threads() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 8))
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
    /// Column 6: the lock (`K` held here; with `-u` also `O`, `B`, `T`,
    /// see [`crate::locks::lock_column`]).
    pub lock: char,
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
    /// Column 9 with `-u`: the server has a newer version (or the item is
    /// new there).
    pub out_of_date: bool,
}

impl StatusItem {
    /// True if the item has anything to report without `-v`.
    pub fn is_interesting(&self) -> bool {
        self.text != ' '
            || self.props != ' '
            || self.tree_conflict
            || self.moved_to.is_some()
            || self.out_of_date
            || self.lock != ' '
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
    collect(ctx, &mut wc, target, opts, None)
}

/// `status -u`: [`status`] plus what the server has that is newer, from one
/// question to its change feed (no manifest), and the server's head.
pub fn status_with_updates(
    ctx: &Context,
    target: &Target,
    opts: StatusOptions,
) -> Result<(Vec<StatusItem>, Rev)> {
    let mut wc = WorkingCopy::open(&target.root)?;
    wc.check_not_interrupted()?;
    let transport = ctx.connect(&wc.url()?)?;
    let mut remote = remote_changes(&wc, &transport)?;
    let root = wc.server_path(&RepoPath::root())?;
    remote.locks = transport
        .locks(&root)?
        .into_iter()
        .filter_map(|l| root.relative(&l.path).map(|rel| (rel, l)))
        .collect();
    let items = collect(ctx, &mut wc, target, opts, Some(&remote))?;
    Ok((items, remote.head))
}

/// What the change feed says is newer on the server than the working copy.
#[derive(Debug, Default)]
pub struct RemoteChanges {
    pub head: Rev,
    /// Versioned items (working-copy paths) the server has changed, moved
    /// or deleted since the working copy's revision of them.
    pub stale: BTreeSet<RepoPath>,
    /// Items on the server the working copy does not have.
    pub new: BTreeSet<RepoPath>,
    /// The server's locks under the root, by working-copy path.
    pub locks: HashMap<RepoPath, zsync_format::LockInfo>,
}

/// Asks the change feed what changed under the working copy's root since
/// its revision. Every item is at least at the index's revision (an update
/// of the whole copy sets it); one changed or committed later knows its own
/// newer revision, so a change counts only if it is newer than both.
pub fn remote_changes(wc: &WorkingCopy, transport: &dyn Transport) -> Result<RemoteChanges> {
    let root = wc.server_path(&RepoPath::root())?;
    let base = wc.index.rev;
    // Local items by path and by object id (a move keeps the id).
    let mut local: HashMap<RepoPath, Rev> = HashMap::new();
    let mut by_oid = HashMap::new();
    for (key, entry) in &wc.index.entries {
        let rel = parse_key(wc, key)?;
        if let Some(oid) = &entry.oid {
            by_oid.insert(oid.clone(), rel.clone());
        }
        local.insert(rel, base.max(entry.rev));
    }
    let mut out = RemoteChanges::default();
    // The last change of each path, to tell what exists at the head.
    let mut last: BTreeMap<RepoPath, (Rev, bool)> = BTreeMap::new();
    let mut since = base;
    loop {
        let feed = transport.changes(&root, since, 0)?;
        out.head = out.head.max(feed.head);
        for entry in &feed.revisions {
            for change in &entry.changes {
                if let Some(rel) = root.relative(&change.path) {
                    last.insert(rel, (entry.rev, change.action != ChangeAction::D));
                }
                if let Some(from) = change.from.as_ref().and_then(|f| root.relative(f)) {
                    last.insert(from, (entry.rev, false));
                }
                // The same object under another local path: moved away.
                if let Some(rel) = by_oid.get(&change.oid)
                    && local.get(rel).is_some_and(|&w| entry.rev > w)
                    && root.relative(&change.path).as_ref() != Some(rel)
                {
                    out.stale.insert(rel.clone());
                }
            }
        }
        // A cut-short answer covers revisions up to `through`; ask for more.
        if feed.through >= feed.head || feed.through <= since {
            break;
        }
        since = feed.through;
    }
    for (rel, (rev, exists)) in last {
        match local.get(&rel) {
            Some(&working) if rev > working => {
                out.stale.insert(rel);
            }
            Some(_) => {}
            // Beyond a sparse copy's depth, nothing would arrive.
            None if exists && crate::depth::would_arrive(&wc.index, &rel) => {
                out.new.insert(rel);
            }
            None => {}
        }
    }
    Ok(out)
}

fn collect(
    ctx: &Context,
    wc: &mut WorkingCopy,
    target: &Target,
    opts: StatusOptions,
    remote: Option<&RemoteChanges>,
) -> Result<Vec<StatusItem>> {
    let stale = |rel: &RepoPath| remote.is_some_and(|r| r.stale.contains(rel));
    if wc.index.pending_commit.is_some() {
        ctx.ui.notify(Notification::Warning(
            "a commit was interrupted before its answer arrived, so items it sent \
             may show as changed; `zsync update` finds out and records it"
                .into(),
        ));
    }
    let mut items = BTreeMap::new();
    let mut refreshed = Vec::new();

    // Most of a large copy is clean: its keys are not parsed into paths
    // unless a part of the copy is asked for.
    let whole = target.paths.iter().any(RepoPath::is_root);
    let mut walked: Vec<(&String, &Entry)> = Vec::with_capacity(wc.index.entries.len());
    for (key, entry) in &wc.index.entries {
        let under = whole || {
            let rel = parse_key(wc, key)?;
            target.paths.iter().any(|t| t.contains(&rel))
        };
        if under {
            walked.push((key, entry));
        }
    }
    // Versioned items are statted while the folders are read for
    // unversioned ones: both wait on the kernel.
    let reader: &WorkingCopy = wc;
    let (states, unversioned_found) = std::thread::scope(|scope| {
        // One thread: the stat threads use every core already.
        let folders = (!opts.quiet).then(|| scope.spawn(|| unversioned_on(reader, target, 1)));
        let states = local_states_by_key(reader, &walked);
        let found = folders.map(|f| {
            f.join().unwrap_or_else(|_| {
                Err(ClientError::Io {
                    path: reader.root.clone(),
                    source: std::io::Error::other("a folder-reading thread panicked"),
                })
            })
        });
        (states, found)
    });
    let states = states?;
    let unversioned_found = unversioned_found.transpose()?;
    for ((key, entry), (state, fresh)) in walked.iter().zip(states) {
        let (key, entry) = (*key, *entry);
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
        let props = if !entry.prop_conflicts.is_empty() {
            'C'
        } else if entry.props_modified() {
            'M'
        } else {
            ' '
        };
        // Most items of a large copy are clean: no item built for them, and
        // unless the server was asked (its locks and news are by path), no
        // path parsed either.
        let plain = text == ' '
            && props == ' '
            && entry.lock_token.is_none()
            && entry.conflict.is_none()
            && entry.moved_from.is_none();
        if plain && !opts.verbose && remote.is_none() {
            continue;
        }
        let rel = parse_key(wc, key)?;
        let lock = crate::locks::lock_column(entry, remote.map(|r| r.locks.get(&rel)));
        if plain && lock == ' ' && !opts.verbose && !stale(&rel) {
            continue;
        }
        let item = StatusItem {
            abs: wc.abs(&rel),
            path: rel.clone(),
            text,
            props,
            tree_conflict: entry.conflict.as_deref().is_some_and(Conflict::is_tree),
            base: Some((entry.rev, entry.kind.clone(), entry.author.clone())),
            working_rev: entry.oid.as_ref().map(|_| wc.index.rev.max(entry.rev)),
            conflict: entry.conflict.as_deref().cloned(),
            copied: entry.moved_from.is_some(),
            lock,
            out_of_date: stale(&rel),
            moved_from: None,
            moved_to: None,
        };
        if let Some(from) = &entry.moved_from {
            // The old place shows as deleted, as svn shows a move.
            let from = parse_key(wc, from)?;
            let item = StatusItem {
                abs: wc.abs(&from),
                path: from.clone(),
                text: 'D',
                props: ' ',
                lock: ' ',
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

    if let Some(found) = unversioned_found {
        let rules = IgnoreRules::with_globals(&wc.root, true, &ctx.config.global_ignores);
        for rel in found {
            let abs = wc.abs(&rel);
            let ignored = rules.is_ignored(&abs, abs.is_dir());
            let new = remote.is_some_and(|r| r.new.contains(&rel));
            if ignored && !opts.no_ignore && !new {
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
                    lock: ' ',
                    moved_from: None,
                    moved_to: None,
                    out_of_date: new,
                },
            );
        }
    }

    for rel in remote.iter().flat_map(|r| &r.new) {
        if items.contains_key(rel) || !target.paths.iter().any(|t| t.contains(rel)) {
            continue;
        }
        items.insert(
            rel.clone(),
            StatusItem {
                abs: wc.abs(rel),
                path: rel.clone(),
                text: ' ',
                props: ' ',
                tree_conflict: false,
                base: None,
                working_rev: None,
                conflict: None,
                copied: false,
                lock: ' ',
                moved_from: None,
                moved_to: None,
                out_of_date: true,
            },
        );
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
/// unversioned folder is listed, not descended into (as svn does). A
/// folder unchanged since it was last read is not read again (see
/// [`crate::listings`]).
pub fn unversioned(wc: &WorkingCopy, target: &Target) -> Result<Vec<RepoPath>> {
    unversioned_on(wc, target, stat_threads())
}

/// [`unversioned`], reading folders on `threads` threads.
fn unversioned_on(wc: &WorkingCopy, target: &Target, threads: usize) -> Result<Vec<RepoPath>> {
    // Taken before any folder is looked at: a folder changed since then
    // could have changed again in the same tick after it was read.
    let since = crate::wc::now_ns();
    let mut folders = Vec::new();
    for (key, entry) in &wc.index.entries {
        if !entry.is_folder() || entry.schedule == Schedule::Delete {
            continue;
        }
        let dir_rel = parse_key(wc, key)?;
        let covered = target
            .paths
            .iter()
            .any(|t| t.contains(&dir_rel) || dir_rel.contains(t));
        if covered {
            folders.push((key.as_str(), dir_rel));
        }
    }
    let admin = WorkingCopy::admin_dir_of(&wc.root);
    let mut listings = Listings::load(&admin);
    let fingerprints = Fingerprints::of(wc.index.entries.keys().map(String::as_str));
    let trusted_before = since - wc.racy_window_ns();
    // Reading folders waits on the kernel, like statting files.
    let listed = fsutil::parallel_map(&folders, threads, |(key, dir_rel)| {
        let versioned = fingerprints.of_folder(key);
        listed_in(wc, &listings, key, dir_rel, versioned, trusted_before)
    })?;
    let mut out = Vec::new();
    for ((key, dir_rel), (others, fresh)) in folders.iter().zip(listed) {
        for name in &others {
            if let Ok(rel) = dir_rel.join(name)
                && target.paths.iter().any(|t| t.contains(&rel))
            {
                out.push(rel);
            }
        }
        if let Some(fresh) = fresh {
            listings.record(key, fresh);
        }
    }
    listings.save_if_changed(&admin, |key| {
        wc.index.entries.get(key).is_some_and(Entry::is_folder)
    });
    Ok(out)
}

/// The names in the versioned folder at `key` that the index does not
/// hold, from its listing if that still holds, else read; and, when it was
/// read, the listing to record (`None` inside: not recordable).
fn listed_in(
    wc: &WorkingCopy,
    listings: &Listings,
    key: &str,
    dir_rel: &RepoPath,
    versioned: u64,
    trusted_before: i128,
) -> Result<(Vec<String>, Option<Option<Listing>>)> {
    let dir = wc.abs(dir_rel);
    // The folder itself, not what a symlink in its place points to: only
    // a real folder's ctime says whether its names changed.
    let stat = std::fs::symlink_metadata(&dir)
        .ok()
        .filter(std::fs::Metadata::is_dir)
        .map(|m| StatData::of(&m));
    if let Some(stat) = stat
        && let Some(listing) = listings.valid(key, stat.ctime_ns, stat.ino, versioned)
    {
        return Ok((listing.others.clone(), None));
    }
    let others = unlisted_in(wc, key, dir_rel, &dir)?;
    // Elsewhere than on Unix, stat data has no ctime to go by.
    let fresh = stat
        .filter(|s| cfg!(unix) && i128::from(s.ctime_ns) < trusted_before)
        .map(|s| Listing {
            ctime_ns: s.ctime_ns,
            ino: s.ino,
            versioned,
            others: others.clone(),
        });
    Ok((others, Some(fresh)))
}

/// Reads the names in the versioned folder at `key` (on disk at `dir`)
/// that the index does not hold.
fn unlisted_in(wc: &WorkingCopy, key: &str, dir_rel: &RepoPath, dir: &Path) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let Ok(read) = std::fs::read_dir(dir) else {
        return Ok(out);
    };
    let mut child_key = String::with_capacity(key.len() + 64);
    for item in read {
        let item = item.map_err(ClientError::io(dir))?;
        let name = item.file_name();
        let name = name.to_string_lossy();
        if dir_rel.is_root() && name == ADMIN_DIR {
            continue;
        }
        // The index is asked by key first: most children are versioned,
        // and those need no path built.
        child_key.clear();
        if !key.is_empty() {
            child_key.push_str(key);
            child_key.push('/');
        }
        child_key.push_str(&name);
        if wc.index.entries.contains_key(child_key.as_str()) {
            continue;
        }
        if let Ok(rel) = dir_rel.join(&name) {
            // The path may be normalised from the name on disk.
            if !wc.index.entries.contains_key(rel.as_str()) {
                out.push(name.into_owned());
            }
        } else {
            // A name zsync cannot version still shows up, by its lossy name.
            let shown = name.replace(|c: char| c.is_control() || c == '\\', "?");
            if dir_rel.join(&shown).is_ok() {
                out.push(shown);
            }
        }
    }
    Ok(out)
}
