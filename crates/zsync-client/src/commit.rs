//! `zsync commit`: sends local changes as one transaction. Only bodies the
//! server lacks are uploaded; the commit names the base revision of every
//! object it touches, so the server refuses it whole if any is stale.

use std::collections::{BTreeMap, BTreeSet};

use zsync_format::{CommitOp, CommitRequest, CommitResponse, KnownObject};
use zsync_model::{BodyHash, CommitId, RepoPath, Rev};

use crate::error::{ClientError, Result};
use crate::index::{Entry, PendingCommit, PendingItem, Schedule, StatData};
use crate::schedule::subtree_keys;
use crate::session::{Context, Target};
use crate::status::{LocalState, local_state, parse_key};
use crate::transport::Transport;
use crate::ui::{Notification, Phase, Progress, Ui};
use crate::wc::WorkingCopy;

/// What to do locally once the server accepted an op.
type Planned = PendingItem;

/// Commits the changes under the target. `None` if there was nothing to
/// commit.
pub fn commit(ctx: &Context, target: &Target, message: &str) -> Result<Option<Rev>> {
    commit_with(ctx, target, message, false)
}

/// [`commit`], keeping this copy's locks on what it commits if
/// `keep_locks` (svn's `--no-unlock`); by default the server releases
/// them and the copy forgets their tokens.
pub fn commit_with(
    ctx: &Context,
    target: &Target,
    message: &str,
    keep_locks: bool,
) -> Result<Option<Rev>> {
    let mut wc = WorkingCopy::open(&target.root)?;
    wc.lock_to_settle()?;
    if wc.index.pending_commit.is_some() {
        let transport = ctx.connect(&wc.url()?)?;
        settle_pending(ctx, &mut wc, transport.as_ref())?;
    }

    let scanned = select(&wc, target)?;
    // Operations go in the order of their paths here, which is the order
    // the server applies them in: a folder is added or moved to its place
    // before anything goes into it.
    let mut ops = Vec::new();
    let mut planned = Vec::new();
    let mut conflicts = Vec::new();
    let mut deleted: Vec<RepoPath> = Vec::new();

    // Finding what changed stats every file and hashes those whose stat
    // data moved; the bytes are not known before.
    let scanning = Progress::start(ctx.ui, Phase::Scanning, scanned.len() as u64, 0);
    // The local state of every item that may be edited, found at once.
    let editable = |e: &Entry| e.schedule == Schedule::Normal && !e.in_conflict();
    let keyed: Vec<(&String, &Entry)> = scanned
        .iter()
        .copied()
        .filter(|(_, e)| editable(e))
        .collect();
    // In the order of `scanned`, one for each editable item.
    let mut states = crate::status::local_states_by_key(&wc, &keyed)?
        .into_iter()
        .map(|(state, _)| state);

    for (key, entry) in scanned {
        scanning.advance(1, 0);
        let state = if editable(entry) { states.next() } else { None };
        // Most items are clean: skip them before their path is parsed.
        if entry.moved_from.is_none() && !entry.props_modified() && state == Some(LocalState::Clean)
        {
            continue;
        }
        let rel = &parse_key(&wc, key)?;
        let shown = ctx.display(&wc.abs(rel));
        if entry.in_conflict() {
            conflicts.push(shown);
            continue;
        }
        if deleted.iter().any(|d| d.contains(rel)) {
            continue;
        }
        let server_path = wc.server_path(rel)?;
        // Where the server has the item now (elsewhere, if moved here).
        let base_path = wc.server_path(&parse_key(&wc, entry.base_key(key))?)?;
        let move_root = entry.moved_from.is_some() && wc.index.is_move_root(key);
        match entry.schedule {
            Schedule::Delete => {
                let oid = entry.oid.clone().ok_or_else(|| corrupt(&wc, key))?;
                let mut known = Vec::new();
                for (k, p) in subtree_keys(&wc, rel)? {
                    let e = &wc.index.entries[&k];
                    if let (true, Some(oid)) = (p != *rel, &e.oid) {
                        known.push(KnownObject {
                            oid: oid.clone(),
                            rev: e.rev,
                        });
                    }
                }
                ops.push(CommitOp::Delete {
                    path: base_path,
                    oid,
                    base_rev: entry.rev,
                    known,
                });
                planned.push(Planned {
                    key: key.clone(),
                    rel: rel.clone(),
                    body: None,
                    moved: false,
                });
                deleted.push(rel.clone());
            }
            Schedule::Add => {
                let body = if entry.is_folder() {
                    None
                } else {
                    Some(snapshot(&wc, rel, &shown)?)
                };
                ops.push(CommitOp::Add {
                    path: server_path,
                    kind: entry.kind.clone(),
                    props: entry.working_props().clone(),
                    hash: body.map(|b| b.0),
                });
                planned.push(Planned {
                    key: key.clone(),
                    rel: rel.clone(),
                    body,
                    moved: false,
                });
            }
            Schedule::Normal => {
                let state = match state {
                    Some(state) => state,
                    None => local_state(&wc, rel, entry)?.0,
                };
                match state {
                    LocalState::Missing => {
                        return Err(ClientError::refused(
                            shown,
                            "is missing; restore it with `zsync revert` or schedule its deletion with `zsync rm`",
                        ));
                    }
                    LocalState::WrongKind => {
                        return Err(ClientError::refused(
                            shown,
                            "has changed between file and folder; revert it or remove it first",
                        ));
                    }
                    LocalState::Clean if !entry.props_modified() && !move_root => continue,
                    _ => {}
                }
                let body = if state == LocalState::Modified {
                    Some(snapshot(&wc, rel, &shown)?).filter(|(h, _, _)| Some(*h) != entry.hash)
                } else {
                    None
                };
                let props = entry
                    .props_modified()
                    .then(|| entry.working_props().clone());
                if !move_root && body.is_none() && props.is_none() {
                    continue;
                }
                let oid = entry.oid.clone().ok_or_else(|| corrupt(&wc, key))?;
                let base_rev = entry.rev;
                let hash = body.map(|b| b.0);
                ops.push(if move_root {
                    CommitOp::Move {
                        from: base_path,
                        to: server_path,
                        oid,
                        base_rev,
                        props,
                        hash,
                    }
                } else {
                    CommitOp::Modify {
                        path: base_path,
                        oid,
                        base_rev,
                        props,
                        hash,
                    }
                });
                planned.push(Planned {
                    key: key.clone(),
                    rel: rel.clone(),
                    body,
                    moved: move_root,
                });
            }
        }
    }
    drop(scanning);
    if !conflicts.is_empty() {
        return Err(ClientError::refused(
            conflicts.join(", "),
            "remains in conflict; fix the file and run `zsync resolved PATH` first",
        ));
    }
    if ops.is_empty() {
        return Ok(None);
    }

    let transport = ctx.connect(&wc.url()?)?;
    upload_missing(
        ctx.ui,
        transport.as_ref(),
        &wc,
        planned
            .iter()
            .filter_map(|p| p.body.map(|(h, size, _)| (h, size))),
    )?;
    // `ops` and `planned` were pushed together, one for one.
    for (op, p) in ops.iter().zip(&planned) {
        let action = match op {
            CommitOp::Add { .. } => "Adding",
            CommitOp::Modify { .. } => "Sending",
            CommitOp::Delete { .. } => "Deleting",
            CommitOp::Move { .. } => "Moving",
        };
        ctx.ui.notify(Notification::Commit {
            action,
            path: ctx.display(&wc.abs(&p.rel)),
        });
    }
    // Recorded before it is sent, so a lost answer is found out later
    // instead of the commit being sent again as a new one.
    let id = CommitId::random();
    wc.save_pending(PendingCommit {
        id: id.clone(),
        items: planned,
    })?;
    crate::fault::point("client-commit-sent");
    let sent = transport.commit(&CommitRequest {
        message: message.to_owned(),
        ops,
        id: Some(id),
        keep_locks,
    });
    let response = match sent {
        Ok(response) => response,
        Err(e) if e.answer_lost() => {
            ctx.ui.notify(Notification::Warning(
                "the commit may or may not have reached the server; the next \
                 `zsync update` or `zsync commit` will find out and record it"
                    .into(),
            ));
            return Err(e);
        }
        Err(e) => {
            // A refusal: nothing was committed, nothing is pending.
            wc.drop_pending()?;
            return Err(show_server_paths(ctx, &wc, e));
        }
    };
    crate::fault::point("client-commit-answered");
    let committed: Vec<String> = wc
        .index
        .pending_commit
        .iter()
        .flat_map(|p| p.items.iter().map(|i| i.key.clone()))
        .collect();
    record(&mut wc, transport.user_name(), &response)?;
    if !keep_locks {
        for key in &committed {
            if let Some(entry) = wc.index.entries.get_mut(key) {
                entry.lock_token = None;
            }
        }
    }
    crate::locks::fit_all(&mut wc)?;
    wc.save()?;
    Ok(Some(response.rev))
}

/// Finds out what became of a commit whose answer was lost, and records
/// it if it landed. Run by `commit` and `update` before anything else.
pub(crate) fn settle_pending(
    ctx: &Context,
    wc: &mut WorkingCopy,
    transport: &dyn Transport,
) -> Result<()> {
    let Some(pending) = &wc.index.pending_commit else {
        return Ok(());
    };
    match transport.commit_result(&pending.id)? {
        Some(response) => {
            record(wc, transport.user_name(), &response)?;
            ctx.ui.notify(Notification::Warning(format!(
                "an interrupted commit had landed as revision {}; it is recorded now",
                response.rev
            )));
        }
        None => {
            wc.index.settled_commit = wc.index.pending_commit.take().map(|p| p.id);
            ctx.ui.notify(Notification::Warning(
                "an interrupted commit did not reach the server; \
                 its changes are still local, commit them again"
                    .into(),
            ));
        }
    }
    wc.save()
}

/// Records the pending commit as `response` says it landed, and clears it.
pub(crate) fn record(wc: &mut WorkingCopy, author: &str, response: &CommitResponse) -> Result<()> {
    let Some(pending) = wc.index.pending_commit.take() else {
        return Ok(());
    };
    wc.index.settled_commit = Some(pending.id.clone());
    let oids: BTreeMap<&RepoPath, _> = response.objects.iter().map(|o| (&o.path, o)).collect();
    for p in pending.items {
        let server_path = wc.server_path(&p.rel)?;
        let Some(entry_schedule) = wc.index.entries.get(&p.key).map(|e| e.schedule) else {
            continue;
        };
        if entry_schedule == Schedule::Delete {
            for (k, _) in subtree_keys(wc, &p.rel)? {
                wc.index.entries.remove(&k);
            }
            continue;
        }
        let Some(entry) = wc.index.entries.get_mut(&p.key) else {
            continue;
        };
        if let Some(obj) = oids.get(&server_path) {
            entry.oid = Some(obj.oid.clone());
            if let Some(props) = &obj.props {
                // The server's word, with what it derived from the body.
                entry.new_props = None;
                entry.props = props.clone().into();
            }
        }
        entry.rev = response.rev;
        entry.author = author.to_owned();
        entry.schedule = Schedule::Normal;
        if let Some(props) = entry.new_props.take() {
            entry.props = props.into();
        }
        if let Some((hash, size, stat)) = p.body {
            entry.hash = Some(hash);
            entry.size = size;
            entry.stat = Some(stat);
        }
        if p.moved {
            moved_along(wc, &p.rel, response, author)?;
        }
    }
    Ok(())
}

/// After a committed move of the item at `rel`: it and what moved with it
/// are where the server has them now, at the commit's revision.
fn moved_along(
    wc: &mut WorkingCopy,
    rel: &RepoPath,
    response: &zsync_format::CommitResponse,
    author: &str,
) -> Result<()> {
    let revs: BTreeMap<&zsync_model::Oid, Rev> =
        response.objects.iter().map(|o| (&o.oid, o.rev)).collect();
    // Decided before any record is cleared, since clearing changes it.
    let along: Vec<String> = subtree_keys(wc, rel)?
        .into_iter()
        .map(|(key, _)| key)
        .filter(|key| key == rel.as_str() || !wc.index.is_move_root(key))
        .collect();
    for key in along {
        let Some(entry) = wc.index.entries.get_mut(&key) else {
            continue;
        };
        if entry.schedule == Schedule::Add {
            continue;
        }
        entry.moved_from = None;
        if let Some(rev) = entry.oid.as_ref().and_then(|o| revs.get(o)) {
            entry.rev = *rev;
            entry.author = author.to_owned();
        }
    }
    Ok(())
}

/// Uploads in flight at once: the client reads the next while the server
/// stores the last.
const UPLOAD_THREADS: usize = 4;

/// Bodies up to this size go in batches; bigger ones stream alone.
pub(crate) const BATCH_BODY: u64 = zsync_format::batch::MAX_BATCH_BODY;

/// The most bytes and bodies in one batch, well within the server's
/// limits; held in memory while it is built and sent.
pub(crate) const BATCH_BYTES: u64 = 8 << 20;
pub(crate) const BATCH_BODIES: usize = 1000;

/// The fewest bytes a batch is cut at, so that a small upload still makes
/// a few batches to overlap, without one request per few files.
const BATCH_BYTES_MIN: u64 = 256 << 10;

/// One request's worth of uploading.
enum Upload {
    /// A big body, streamed from its file.
    Alone(BodyHash, u64),
    /// Small bodies, read into one batch.
    Batch(Vec<(BodyHash, u64)>),
}

/// Uploads those of the bodies (all in the pristine store, given with their
/// sizes) that the server lacks: small ones in batches (one request and
/// one server transaction each), big ones streamed each from its file.
/// Progress is counted per request, after it is answered.
pub(crate) fn upload_missing(
    ui: &dyn Ui,
    transport: &dyn Transport,
    wc: &WorkingCopy,
    bodies: impl Iterator<Item = (BodyHash, u64)>,
) -> Result<()> {
    upload_missing_with(Some(ui), transport, wc, bodies)
}

/// [`upload_missing`], showing progress only if given a `ui` (uploads
/// that run beside another phase's progress stay quiet).
pub(crate) fn upload_missing_with(
    ui: Option<&dyn Ui>,
    transport: &dyn Transport,
    wc: &WorkingCopy,
    bodies: impl Iterator<Item = (BodyHash, u64)>,
) -> Result<()> {
    let sizes: BTreeMap<BodyHash, u64> = bodies.collect();
    if sizes.is_empty() {
        return Ok(());
    }
    let hashes: Vec<BodyHash> = sizes.keys().copied().collect();
    let missing: Vec<(BodyHash, u64)> = transport
        .missing_bodies(&hashes)?
        .into_iter()
        .filter_map(|h| sizes.get(&h).map(|&size| (h, size)))
        .collect();
    let bytes = missing.iter().map(|(_, size)| size).sum();
    let progress = ui.map(|ui| Progress::start(ui, Phase::Sending, missing.len() as u64, bytes));
    let advance = |objects: u64, bytes: u64| {
        if let Some(progress) = &progress {
            progress.advance(objects, bytes);
        }
    };
    let uploads = plan_uploads(&missing);
    // A server without batches (older than the client) answers 404: then
    // every body goes alone.
    let unbatched = std::sync::atomic::AtomicBool::new(false);
    let alone = |hash: &BodyHash, size: u64| -> Result<()> {
        transport.upload_body(hash, wc.pristine.open_file(hash)?, size)?;
        advance(1, size);
        Ok(())
    };
    crate::fsutil::parallel_map(&uploads, UPLOAD_THREADS, |upload| match upload {
        Upload::Alone(hash, size) => alone(hash, *size),
        Upload::Batch(bodies) => {
            use std::sync::atomic::Ordering;
            if !unbatched.load(Ordering::Relaxed) {
                match transport.upload_batch(read_batch(wc, bodies)?) {
                    Ok(()) => {
                        let bytes = bodies.iter().map(|(_, size)| size).sum();
                        advance(bodies.len() as u64, bytes);
                        return Ok(());
                    }
                    Err(ClientError::NotFound { .. }) => unbatched.store(true, Ordering::Relaxed),
                    Err(e) => return Err(e),
                }
            }
            bodies
                .iter()
                .try_for_each(|(hash, size)| alone(hash, *size))
        }
    })?;
    Ok(())
}

/// Cuts the bodies into requests: big bodies alone, small ones in batches
/// of up to [`BATCH_BODIES`] and a size that makes at least a couple of
/// batches per thread, between [`BATCH_BYTES_MIN`] and [`BATCH_BYTES`].
fn plan_uploads(bodies: &[(BodyHash, u64)]) -> Vec<Upload> {
    let small: u64 = bodies
        .iter()
        .map(|(_, size)| *size)
        .filter(|size| *size <= BATCH_BODY)
        .sum();
    let cut = (small / (2 * UPLOAD_THREADS as u64)).clamp(BATCH_BYTES_MIN, BATCH_BYTES);
    let mut uploads = Vec::new();
    let mut batch = Vec::new();
    let mut batched = 0;
    for &(hash, size) in bodies {
        if size > BATCH_BODY {
            uploads.push(Upload::Alone(hash, size));
            continue;
        }
        if !batch.is_empty() && (batched + size > cut || batch.len() >= BATCH_BODIES) {
            uploads.push(Upload::Batch(std::mem::take(&mut batch)));
            batched = 0;
        }
        batch.push((hash, size));
        batched += size;
    }
    if !batch.is_empty() {
        uploads.push(Upload::Batch(batch));
    }
    uploads
}

/// Reads the bodies from the pristine store into one batch.
fn read_batch(wc: &WorkingCopy, bodies: &[(BodyHash, u64)]) -> Result<Vec<u8>> {
    use std::io::Read as _;
    let mut batch = zsync_format::batch::BatchWriter::new();
    let mut data = Vec::new();
    for (hash, _) in bodies {
        data.clear();
        let mut body = wc.pristine.open(hash)?;
        body.read_to_end(&mut data)
            .map_err(|e| ClientError::io(body.source_path())(e))?;
        batch.push(hash, &data);
    }
    Ok(batch.finish())
}

/// Index entries to commit, in key order: everything under the target paths,
/// plus added folders above added items (a new file cannot go in without
/// its folder).
fn select<'a>(wc: &'a WorkingCopy, target: &Target) -> Result<Vec<(&'a String, &'a Entry)>> {
    // The whole copy: every item, none parsed (most are clean, and skipped).
    if target.paths.iter().any(RepoPath::is_root) {
        return Ok(wc.index.entries.iter().collect());
    }
    let mut out = BTreeSet::new();
    for (key, entry) in &wc.index.entries {
        let rel = parse_key(wc, key)?;
        // A move belongs to both of its places.
        let from = entry
            .moved_from
            .as_deref()
            .map(|f| parse_key(wc, f))
            .transpose()?;
        let under = |p: &RepoPath| target.paths.iter().any(|t| t.contains(p));
        if !under(&rel) && !from.as_ref().is_some_and(under) {
            continue;
        }
        if entry.schedule == Schedule::Add {
            let mut parent = rel.parent();
            while let Some(p) = parent {
                match wc.index.entries.get_key_value(p.as_str()) {
                    Some((k, e)) if e.schedule == Schedule::Add => {
                        out.insert(k);
                    }
                    _ => break,
                }
                parent = p.parent();
            }
        }
        out.insert(key);
    }
    Ok(out
        .into_iter()
        .map(|key| (key, &wc.index.entries[key.as_str()]))
        .collect())
}

/// Copies a working file into the pristine store (the commit sends exactly
/// this snapshot, even if the file changes meanwhile).
fn snapshot(wc: &WorkingCopy, rel: &RepoPath, shown: &str) -> Result<(BodyHash, u64, StatData)> {
    let path = wc.abs(rel);
    let meta = std::fs::metadata(&path).map_err(|_| {
        ClientError::refused(
            shown,
            "is missing; restore it with `zsync revert` or remove it with `zsync rm`",
        )
    })?;
    let stat = StatData::of(&meta);
    let (hash, size) = wc.pristine.insert_file(&path)?;
    Ok((hash, size, stat))
}

/// Server paths in a refusal, shown as the user sees them.
pub(crate) fn show_server_paths(ctx: &Context, wc: &WorkingCopy, e: ClientError) -> ClientError {
    let root = RepoPath::parse(&wc.index.server_root).unwrap_or_default();
    let show = |p: &str| {
        RepoPath::parse(p)
            .ok()
            .and_then(|p| root.relative(&p))
            .map(|rel| ctx.display(&wc.abs(&rel)))
            .unwrap_or_else(|| p.to_owned())
    };
    match e {
        ClientError::Stale { paths } => ClientError::Stale {
            paths: paths.iter().map(|p| show(p)).collect(),
        },
        ClientError::Invalid { problems } => ClientError::Invalid {
            problems: problems
                .into_iter()
                .map(|mut p| {
                    p.path = show(&p.path);
                    p
                })
                .collect(),
        },
        ClientError::LockedPaths { message, problems } => ClientError::LockedPaths {
            message,
            problems: problems
                .into_iter()
                .map(|mut p| {
                    p.path = show(&p.path);
                    p
                })
                .collect(),
        },
        other => other,
    }
}

fn corrupt(wc: &WorkingCopy, key: &str) -> ClientError {
    ClientError::Corrupt {
        root: wc.root.clone(),
        detail: format!("{key} has no object id"),
    }
}
