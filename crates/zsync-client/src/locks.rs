//! Locks (svn lock semantics): `zsync lock`, `zsync unlock`, `zsync locks`,
//! and the `needs-lock` property, which keeps a file read-only in the
//! working copy until this copy holds its lock.
//!
//! The server keeps each lock with its owner; this copy keeps the lock's
//! token in the index, so `status -u` can tell its lock (`K`) from one
//! broken (`B`) or stolen (`T`) meanwhile, or someone else's (`O`).

use std::collections::HashMap;
use std::path::PathBuf;

use zsync_format::{LockInfo, LockRequest, UnlockRequest};
use zsync_model::{BodyHash, Kind, Props, RepoPath};

use crate::commit::show_server_paths;
use crate::error::{ClientError, Result};
use crate::index::{Entry, Schedule, StatData};
use crate::schedule::open_for;
use crate::session::{Context, Target};
use crate::status::parse_key;
use crate::ui::Notification;
use crate::wc::WorkingCopy;

/// A file with this property is read-only in the working copy unless the
/// copy holds its lock.
pub const NEEDS_LOCK: &str = "needs-lock";

/// A folder property listing kinds (comma-separated, e.g. `image,file`)
/// whose new objects below the folder get [`NEEDS_LOCK`] when added.
pub const NEEDS_LOCK_KINDS: &str = "zsync:needs-lock-kinds";

/// The hash the server keeps of a lock token (BLAKE3, hex).
pub fn token_hash(token: &str) -> String {
    BodyHash::of(token.as_bytes()).to_hex()
}

/// What a lock means for one item of this copy, as status column 6 shows
/// it: `K` this copy holds it; with the server's locks known, `O` someone
/// else (or another copy) holds it, `B` this copy's lock was broken, `T`
/// it was stolen.
pub fn lock_column(entry: &Entry, server: Option<Option<&LockInfo>>) -> char {
    match (&entry.lock_token, server) {
        (Some(_), None) => 'K',
        (Some(token), Some(Some(lock))) if lock.token_hash == token_hash(token) => 'K',
        (Some(_), Some(Some(_))) => 'T',
        (Some(_), Some(None)) => 'B',
        (None, Some(Some(_))) => 'O',
        (None, _) => ' ',
    }
}

/// The items to lock or unlock: versioned files already on the server, by
/// index key and server path (where the server has them now).
fn lockable(
    ctx: &Context,
    wc: &WorkingCopy,
    targets: &[(PathBuf, RepoPath)],
) -> Result<Vec<(String, RepoPath)>> {
    let mut out = Vec::new();
    for (abs, rel) in targets {
        let shown = ctx.display(abs);
        let key = rel.as_str();
        let entry = wc
            .index
            .entries
            .get(key)
            .ok_or_else(|| ClientError::refused(&shown, "is not under version control"))?;
        if entry.is_folder() {
            return Err(ClientError::refused(
                &shown,
                "is a folder; only files can be locked",
            ));
        }
        if entry.schedule == Schedule::Add || entry.oid.is_none() {
            return Err(ClientError::refused(
                &shown,
                "is not on the server yet; commit it first",
            ));
        }
        let base = parse_key(wc, entry.base_key(key))?;
        out.push((key.to_owned(), wc.server_path(&base)?));
    }
    Ok(out)
}

/// `zsync lock [-m MSG] [--force] PATH...`: locks every path or none, keeps
/// the tokens and makes `needs-lock` files writable.
pub fn lock(ctx: &Context, paths: &[PathBuf], comment: &str, steal: bool) -> Result<()> {
    let (mut wc, targets) = open_for(ctx, paths)?;
    let items = lockable(ctx, &wc, &targets)?;
    let transport = ctx.connect(&wc.url()?)?;
    let request = LockRequest {
        paths: items.iter().map(|(_, p)| p.clone()).collect(),
        comment: comment.to_owned(),
        steal,
    };
    let taken = transport
        .lock(&request)
        .map_err(|e| show_server_paths(ctx, &wc, e))?;
    let by_path: HashMap<&RepoPath, &LockInfo> = taken.iter().map(|l| (&l.path, l)).collect();
    for (key, server_path) in &items {
        let lock = by_path.get(server_path).ok_or_else(|| {
            ClientError::Protocol(format!("the server did not lock /{server_path}"))
        })?;
        let token = lock
            .token
            .clone()
            .ok_or_else(|| ClientError::Protocol(format!("no lock token for /{server_path}")))?;
        if let Some(entry) = wc.index.entries.get_mut(key) {
            entry.lock_token = Some(token);
        }
        fit_permissions(&mut wc, key)?;
        let rel = parse_key(&wc, key)?;
        ctx.ui.notify(Notification::Lock {
            path: ctx.display_rel(&wc, &rel),
            user: lock.owner.clone(),
            locked: true,
        });
    }
    wc.save()
}

/// `zsync unlock [--force] PATH...`: releases this user's locks (or with
/// `force`, anyone's), all or none, and forgets the tokens. A lock that is
/// gone already (broken) just has its token forgotten.
pub fn unlock(ctx: &Context, paths: &[PathBuf], force: bool) -> Result<()> {
    let (mut wc, targets) = open_for(ctx, paths)?;
    let items = lockable(ctx, &wc, &targets)?;
    if !force
        && let Some((key, _)) = items
            .iter()
            .find(|(k, _)| wc.index.entries[k.as_str()].lock_token.is_none())
    {
        let rel = parse_key(&wc, key)?;
        return Err(ClientError::refused(
            ctx.display_rel(&wc, &rel),
            "is not locked in this working copy; use --force to break someone else's lock",
        ));
    }
    let transport = ctx.connect(&wc.url()?)?;
    let request = UnlockRequest {
        paths: items.iter().map(|(_, p)| p.clone()).collect(),
        force,
    };
    let released = transport
        .unlock(&request)
        .map_err(|e| show_server_paths(ctx, &wc, e))?;
    for (key, server_path) in &items {
        if let Some(entry) = wc.index.entries.get_mut(key) {
            entry.lock_token = None;
        }
        fit_permissions(&mut wc, key)?;
        let rel = parse_key(&wc, key)?;
        let shown = ctx.display_rel(&wc, &rel);
        match released.iter().find(|l| &l.path == server_path) {
            Some(lock) => ctx.ui.notify(Notification::Lock {
                path: shown,
                user: lock.owner.clone(),
                locked: false,
            }),
            None => ctx.ui.notify(Notification::Warning(format!(
                "{shown} was not locked on the server (its lock was broken); \
                 the token is forgotten"
            ))),
        }
    }
    wc.save()
}

/// One lock `zsync locks` lists.
#[derive(Clone, Debug)]
pub struct ListedLock {
    /// Its path as shown in this working copy (or `/SERVER/PATH` if the
    /// copy does not reach it).
    pub shown: String,
    /// Whether this working copy holds its token (status column 6 `K`).
    pub here: bool,
    pub lock: LockInfo,
}

/// `zsync locks [PATH]`: the server's locks at and below the target, each
/// with the path it has in this working copy.
pub fn list(ctx: &Context, target: &Target) -> Result<Vec<ListedLock>> {
    let wc = WorkingCopy::open(&target.root)?;
    let rel = target.paths.first().cloned().unwrap_or_default();
    let transport = ctx.connect(&wc.url()?)?;
    let root = wc.server_path(&RepoPath::root())?;
    let locks = transport.locks(&wc.server_path(&rel)?)?;
    // The token hashes this copy holds, to tell its locks from others'.
    let held: std::collections::HashSet<String> = wc
        .index
        .entries
        .values()
        .filter_map(|e| e.lock_token.as_deref().map(token_hash))
        .collect();
    Ok(locks
        .into_iter()
        .map(|lock| {
            let shown = root
                .relative(&lock.path)
                .map(|r| ctx.display_rel(&wc, &r))
                .unwrap_or_else(|| format!("/{}", lock.path));
            ListedLock {
                shown,
                here: held.contains(&lock.token_hash),
                lock,
            }
        })
        .collect())
}

/// Whether `needs-lock` has a say on an item's file: a file whose base or
/// working properties carry it. Only these are ever made read-only, so
/// only these (now, or before an update changed their base) are refitted;
/// others keep whatever mode the user gave them.
fn governed(entry: &Entry) -> bool {
    !entry.is_folder()
        && (entry.props.contains_key(NEEDS_LOCK) || entry.working_props().contains_key(NEEDS_LOCK))
}

/// Whether an item's file is to be read-only (svn's rule): `needs-lock` is
/// in both its base and working properties, it is neither added nor
/// deleted, and this copy holds no lock. So a `needs-lock` set here takes
/// effect with its commit, and one deleted here frees the file at once.
fn wants_read_only(entry: &Entry) -> bool {
    governed(entry)
        && entry.schedule == Schedule::Normal
        && entry.props.contains_key(NEEDS_LOCK)
        && entry.working_props().contains_key(NEEDS_LOCK)
        && entry.lock_token.is_none()
}

/// Makes the file of the item at `key` read-only or writable as
/// [`NEEDS_LOCK`] and this copy's lock say, if `needs-lock` has a say on
/// it.
pub(crate) fn fit_permissions(wc: &mut WorkingCopy, key: &str) -> Result<()> {
    if wc.index.entries.get(key).is_some_and(governed) {
        fit_mode(wc, key)?;
    }
    Ok(())
}

/// Makes the file of the item at `key` read-only or writable as
/// [`wants_read_only`] says. The stat data, if the file matched it, is
/// refreshed, so a permission change is not an edit.
fn fit_mode(wc: &mut WorkingCopy, key: &str) -> Result<()> {
    let Some(entry) = wc.index.entries.get(key) else {
        return Ok(());
    };
    if entry.is_folder() {
        return Ok(());
    }
    let read_only = wants_read_only(entry);
    let rel = parse_key(wc, key)?;
    let path = wc.abs(&rel);
    let Ok(meta) = std::fs::symlink_metadata(&path) else {
        return Ok(());
    };
    if !meta.is_file() {
        return Ok(());
    }
    let mut perms = meta.permissions();
    if perms.readonly() == read_only {
        return Ok(());
    }
    let matched = entry.stat == Some(StatData::of(&meta));
    set_read_only(&mut perms, read_only);
    std::fs::set_permissions(&path, perms).map_err(ClientError::io(&path))?;
    if matched {
        let meta = std::fs::metadata(&path).map_err(ClientError::io(&path))?;
        if let Some(entry) = wc.index.entries.get_mut(key) {
            entry.stat = Some(StatData::of(&meta));
        }
    }
    Ok(())
}

#[cfg(unix)]
fn set_read_only(perms: &mut std::fs::Permissions, read_only: bool) {
    use std::os::unix::fs::PermissionsExt;
    let mode = perms.mode();
    let mode = if read_only {
        mode & !0o222
    } else {
        mode | 0o200
    };
    perms.set_mode(mode);
}

#[cfg(not(unix))]
fn set_read_only(perms: &mut std::fs::Permissions, read_only: bool) {
    perms.set_readonly(read_only);
}

/// The items `needs-lock` has a say on now: taken before an update, whose
/// new base may take the property away, so that [`fit_all_since`] frees
/// their files too.
pub(crate) fn governed_keys(wc: &WorkingCopy) -> Vec<String> {
    wc.index
        .entries
        .iter()
        .filter(|(_, e)| governed(e))
        .map(|(k, _)| k.clone())
        .collect()
}

/// [`fit_permissions`] for every item `needs-lock` has a say on; run after
/// checkout, commit, revert and the like wrote files or changed locks or
/// properties. (They change no base property that could take
/// `needs-lock` away unseen: a commit's new base is the working
/// properties, which already decided the mode.)
pub(crate) fn fit_all(wc: &mut WorkingCopy) -> Result<()> {
    fit_all_since(wc, Vec::new())
}

/// [`fit_all`], and the files of the items `needs-lock` had a say on
/// `before` (from [`governed_keys`]) but no longer has: they become
/// writable. Only those whose property went away cost more than before.
pub(crate) fn fit_all_since(wc: &mut WorkingCopy, before: Vec<String>) -> Result<()> {
    let mut keys = before;
    keys.extend(governed_keys(wc));
    keys.sort_unstable();
    keys.dedup();
    for key in keys {
        fit_mode(wc, &key)?;
    }
    Ok(())
}

/// The properties of a new item of `kind` at `rel`, given the nearest
/// folder above it that says which kinds need a lock.
pub(crate) fn add_needs_lock(wc: &WorkingCopy, rel: &RepoPath, kind: &Kind, props: &mut Props) {
    if kind.is_folder() || props.contains_key(NEEDS_LOCK) {
        return;
    }
    let mut parent = rel.parent();
    while let Some(folder) = parent {
        if let Some(kinds) = wc
            .index
            .entries
            .get(folder.as_str())
            .and_then(|e| e.working_props().get(NEEDS_LOCK_KINDS))
        {
            if kinds.split(',').any(|k| k.trim() == kind.as_str()) {
                props.insert(NEEDS_LOCK.to_owned(), "*".to_owned());
            }
            return;
        }
        parent = folder.parent();
    }
}
