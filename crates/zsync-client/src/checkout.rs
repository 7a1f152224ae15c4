//! `zsync checkout URL [TARGETDIR]`: the object at URL, with its subtree,
//! into `TARGETDIR/<last path component>`, in one streamed request.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use zsync_format::archive::{ArchiveReader, Header};
use zsync_format::{Manifest, ManifestEntry};
use zsync_model::{BodyHash, RepoPath, Rev};

use crate::depth::{Depth, Scope};
use crate::error::{ClientError, Result};
use crate::fsutil;
use crate::index::{Entry, StatData};
use crate::session::Context;
use crate::transport::{ByteStream, Transport};
use crate::ui::{CountingReader, Notification, Phase, Progress, Ui};
use crate::url::ServerUrl;
use crate::wc::{self, WorkingCopy};

pub struct CheckoutResult {
    pub root: PathBuf,
    pub rev: Rev,
}

pub fn checkout(
    ctx: &Context,
    url: &str,
    target_dir: Option<&Path>,
    user: Option<&str>,
) -> Result<CheckoutResult> {
    checkout_depth(ctx, url, target_dir, user, Depth::Infinity)
}

/// A checkout holding only `depth` of the tree (see [`crate::depth`]):
/// a sparse one asks for the manifest, then for the bodies it keeps.
pub fn checkout_depth(
    ctx: &Context,
    url: &str,
    target_dir: Option<&Path>,
    user: Option<&str>,
    depth: Depth,
) -> Result<CheckoutResult> {
    let mut url = ServerUrl::parse(url)?;
    if let Some(user) = user {
        match &url.user {
            Some(u) if u != user => {
                return Err(ClientError::Url {
                    url: url.redacted(),
                    reason: format!("-u {user} and the URL's user {u} disagree"),
                });
            }
            _ => url.user = Some(user.to_owned()),
        }
    }
    let target = wc::absolute(&ctx.cwd, target_dir.unwrap_or(Path::new(".")));
    if target.exists() && !target.is_dir() {
        return Err(ClientError::refused(
            ctx.display(&target),
            "is a file; checkout needs a directory to put the working copy in",
        ));
    }
    let tail = match url.path.name() {
        "" => "root",
        name => name,
    };
    let dest = target.join(tail);
    if dest.exists() {
        let empty_dir = dest.is_dir()
            && std::fs::read_dir(&dest)
                .map(|mut d| d.next().is_none())
                .unwrap_or(false);
        if !empty_dir {
            return Err(ClientError::refused(
                ctx.display(&dest),
                "already exists; check out into another TARGETDIR, or remove it first",
            ));
        }
    }

    let transport = ctx.connect(&url)?;
    let source = if depth == Depth::Infinity {
        Source::Archive(transport.archive(&url.path)?)
    } else {
        Source::Sparse(transport.manifest(&url.path)?, depth)
    };

    let created_target = !target.exists();
    let created_dest = !dest.exists();
    fsutil::create_dir_all(&dest)?;
    let result = match source {
        Source::Archive(stream) => fill(ctx, &url, &dest, stream),
        Source::Sparse(manifest, depth) => {
            fill_sparse(ctx, &url, &dest, manifest, depth, transport.as_ref())
        }
    };
    if result.is_err() {
        // All or nothing: leave no partial checkout behind.
        if created_dest {
            let _ = std::fs::remove_dir_all(&dest);
        } else if let Ok(children) = std::fs::read_dir(&dest) {
            // It was empty: everything in it now is this checkout's.
            for child in children.flatten() {
                let _ = fsutil::remove_path(&child.path());
            }
        }
        if created_target {
            let _ = std::fs::remove_dir(&target);
        }
    }
    result
}

enum Source {
    Archive(ByteStream),
    Sparse(Manifest, Depth),
}

/// A whole checkout: the files are written from the stream as the bodies
/// arrive, each straight to its name, while the bodies also go into the
/// pristine store; the index, saved last, publishes the copy (see
/// [`WorkingCopy::begin_checkout`] for an interrupted one).
fn fill(ctx: &Context, url: &ServerUrl, dest: &Path, stream: ByteStream) -> Result<CheckoutResult> {
    let mut archive = ArchiveReader::new(stream)?;
    let manifest = match archive.next_header()? {
        Header::Manifest(m) => m,
        _ => {
            return Err(ClientError::Protocol(
                "the archive does not start with a manifest".into(),
            ));
        }
    };
    let mut wc = start(ctx, url, dest, &manifest)?;
    for m in &manifest.entries {
        wc.index
            .entries
            .insert(m.path.to_string(), Entry::from_manifest(m));
    }
    crate::depth::settle(&mut wc.index);
    wc.begin_checkout()?;

    for m in manifest.entries.iter().filter(|m| m.kind.is_folder()) {
        fsutil::create_dir_all(&wc.abs(&m.path))?;
    }
    let files: Vec<&ManifestEntry> = manifest
        .entries
        .iter()
        .filter(|m| !m.kind.is_folder())
        .collect();
    let mut plan = FilePlan::default();
    for (i, m) in files.iter().enumerate() {
        if let Some(hash) = m.hash {
            plan.wanted.entry(hash).or_default().push(i);
        }
        plan.paths.push(wc.abs(&m.path));
    }
    let needed: Vec<BodyHash> = plan.wanted.keys().copied().collect();
    let (objects, bytes) = body_totals(&needed, manifest.entries.iter());
    let mut stats: Vec<Option<StatData>> = vec![None; files.len()];
    let later = {
        let _progress = Progress::start(ctx.ui, Phase::Receiving, objects, bytes);
        receive_into_files(&mut archive, &wc, ctx.ui, &mut plan, &mut stats)?
    };
    if let Some(hash) = plan.wanted.keys().next() {
        return Err(ClientError::Protocol(format!(
            "the archive from the server lacks body {hash}"
        )));
    }

    // What the stream wrote is reported at once; bodies too large to hold
    // were stored first and are copied now.
    let all_bytes = manifest.entries.iter().map(|m| m.size).sum();
    let progress = Progress::start(
        ctx.ui,
        Phase::Writing,
        manifest.entries.len() as u64,
        all_bytes,
    );
    let later_bytes: u64 = later.iter().map(|&i| files[i].size).sum();
    progress.advance(
        (manifest.entries.len() - later.len()) as u64,
        all_bytes - later_bytes,
    );
    let copied = fsutil::parallel_map(&later, WRITE_THREADS, |&i| {
        let stat = materialize_new(&wc, files[i], &plan.paths[i])?;
        crate::fault::point("client-checkout-file");
        progress.advance(1, files[i].size);
        Ok((i, stat))
    })?;
    drop(progress);
    for (i, stat) in copied {
        stats[i] = Some(stat);
    }
    for (m, stat) in files.iter().zip(stats) {
        if let Some(entry) = wc.index.entries.get_mut(m.path.as_str()) {
            entry.stat = stat;
        }
    }
    finish(ctx, &mut wc, manifest.entries.iter().map(|m| &m.path))?;
    wc.end_checkout()?;
    Ok(CheckoutResult {
        root: dest.to_path_buf(),
        rev: manifest.head,
    })
}

/// Where a fresh checkout's bodies go: the working files (by position)
/// holding each body not yet received, and every file's path.
#[derive(Default)]
struct FilePlan {
    wanted: HashMap<BodyHash, Vec<usize>>,
    paths: Vec<PathBuf>,
}

/// A body read whole, to store and to write as these files.
type FileJob = (BodyHash, Vec<u8>, Vec<usize>);

/// Reads body frames until the end frame: small bodies are stored and
/// written as their working files by a few threads while the next ones
/// are read (their stat data lands in `stats`); large ones are streamed
/// into the pristine store, and the files holding them returned, to be
/// copied from there.
fn receive_into_files(
    archive: &mut ArchiveReader<ByteStream>,
    wc: &WorkingCopy,
    ui: &dyn Ui,
    plan: &mut FilePlan,
    stats: &mut [Option<StatData>],
) -> Result<Vec<usize>> {
    let FilePlan { wanted, paths } = plan;
    let paths: &[PathBuf] = paths;
    let mut later = Vec::new();
    let written = with_writers(
        wc,
        "working files",
        |(hash, data, targets): FileJob, done: &mut Vec<(usize, StatData)>| {
            // Verified here: a body that does not match its hash is never
            // written anywhere.
            wc.pristine.insert_verified_bytes(&hash, &data)?;
            for i in targets {
                let meta = fsutil::write_new(&paths[i], &data)?;
                done.push((i, StatData::of(&meta)));
                crate::fault::point("client-checkout-file");
            }
            Ok(())
        },
        |tx| read_file_bodies(archive, wc, tx, ui, wanted, &mut later),
    )?;
    for (i, stat) in written {
        stats[i] = Some(stat);
    }
    Ok(later)
}

/// Runs `read` on this thread while [`WRITE_THREADS`] threads take the jobs
/// it sends and do `work` on each (writing waits on the filesystem while
/// the next bodies arrive); returns what the workers collected. A worker's
/// failure explains a read that stopped early, so it is the answer.
fn with_writers<J: Send, R: Send>(
    wc: &WorkingCopy,
    writing: &str,
    work: impl Fn(J, &mut Vec<R>) -> Result<()> + Sync,
    read: impl FnOnce(&mut Batches<'_, J>) -> Result<()>,
) -> Result<Vec<R>> {
    use std::sync::{Mutex, mpsc};
    let (tx, rx) = mpsc::sync_channel::<Vec<J>>(2 * WRITE_THREADS);
    let rx = Mutex::new(rx);
    std::thread::scope(|scope| {
        let writers: Vec<_> = (0..WRITE_THREADS)
            .map(|_| {
                scope.spawn(|| -> Result<Vec<R>> {
                    let mut done = Vec::new();
                    loop {
                        let batch = rx.lock().ok().and_then(|rx| rx.recv().ok());
                        let Some(batch) = batch else {
                            return Ok(done);
                        };
                        for job in batch {
                            work(job, &mut done)?;
                        }
                    }
                })
            })
            .collect();
        let mut batches = Batches {
            tx: &tx,
            batch: Vec::new(),
            bytes: 0,
        };
        let read = read(&mut batches).map(|()| {
            batches.flush();
        });
        drop(tx);
        let mut outcome = read.map(|()| Vec::new());
        for writer in writers {
            let written = writer.join().unwrap_or_else(|_| {
                Err(ClientError::io(&wc.root)(std::io::Error::other(format!(
                    "a thread writing {writing} panicked"
                ))))
            });
            match (written, &mut outcome) {
                (Ok(done), Ok(all)) => all.extend(done),
                (Ok(_), Err(_)) => {}
                (Err(e), _) => outcome = Err(e),
            }
        }
        outcome
    })
}

/// A batch is handed over once it holds this many bytes or jobs.
const BATCH_BYTES: usize = 256 << 10;
const BATCH_JOBS: usize = 64;

/// Hands jobs to the writer threads in batches: a tree of small files
/// then costs a thread wake-up per batch, not per file (a checkout of
/// 20,000 files switched threads some 30,000 times for it).
struct Batches<'a, J> {
    tx: &'a std::sync::mpsc::SyncSender<Vec<J>>,
    batch: Vec<J>,
    bytes: usize,
}

impl<J> Batches<'_, J> {
    /// Queues a job of `bytes`; `false` if the writers have stopped.
    fn send(&mut self, job: J, bytes: usize) -> bool {
        self.batch.push(job);
        self.bytes += bytes;
        if self.bytes >= BATCH_BYTES || self.batch.len() >= BATCH_JOBS {
            return self.flush();
        }
        true
    }

    fn flush(&mut self) -> bool {
        self.bytes = 0;
        self.batch.is_empty() || self.tx.send(std::mem::take(&mut self.batch)).is_ok()
    }
}

fn read_file_bodies(
    archive: &mut ArchiveReader<ByteStream>,
    wc: &WorkingCopy,
    writers: &mut Batches<'_, FileJob>,
    ui: &dyn Ui,
    wanted: &mut HashMap<BodyHash, Vec<usize>>,
    later: &mut Vec<usize>,
) -> Result<()> {
    read_archive_bodies(archive, wc, ui, |hash, data| {
        let targets = wanted.remove(&hash).unwrap_or_default();
        match data {
            Some(data) => {
                let bytes = data.len();
                writers.send((hash, data, targets), bytes)
            }
            None => {
                later.extend(targets);
                true
            }
        }
    })
}

/// Writes a new working file (a fresh checkout's) from the pristine store,
/// checked against its hash; returns its stat data.
fn materialize_new(wc: &WorkingCopy, m: &ManifestEntry, path: &Path) -> Result<StatData> {
    let hash: BodyHash = m
        .hash
        .ok_or_else(|| ClientError::Protocol(format!("{} has no body hash", m.path)))?;
    let mut source = wc.pristine.open(&hash)?;
    match fsutil::write_new_checked(path, &mut source, |h| *h == hash)? {
        Some(meta) => Ok(StatData::of(&meta)),
        None => Err(ClientError::Corrupt {
            root: wc.root.clone(),
            detail: format!(
                "base copy {} is damaged: its content no longer matches its hash",
                hash.to_hex()
            ),
        }),
    }
}

fn fill_sparse(
    ctx: &Context,
    url: &ServerUrl,
    dest: &Path,
    mut manifest: Manifest,
    depth: Depth,
    transport: &dyn Transport,
) -> Result<CheckoutResult> {
    // What the depth keeps, judged by an index holding only the root's depth.
    let mut index = std::collections::BTreeMap::new();
    if let Some(root) = manifest.entries.iter().find(|e| e.path.is_root()) {
        let mut entry = Entry::from_manifest(root);
        entry.depth = Some(depth);
        index.insert(String::new(), entry);
    }
    manifest.entries = Scope::new(&index).filter(&RepoPath::root(), manifest.entries);
    let entries = manifest.entries.clone();
    populate(ctx, url, dest, manifest, Some(depth), |wc| {
        let needed: Vec<BodyHash> = wc_needed(wc);
        if needed.is_empty() {
            return Ok(());
        }
        let mut archive = ArchiveReader::new(transport.fetch_bodies(&needed)?)?;
        receive_bodies_shown(&mut archive, wc, ctx.ui, &needed, entries.iter())
    })
}

/// The bodies the index names that the pristine store lacks.
fn wc_needed(wc: &WorkingCopy) -> Vec<BodyHash> {
    let mut out: Vec<BodyHash> = wc
        .index
        .entries
        .values()
        .filter_map(|e| e.hash)
        .filter(|h| !wc.pristine.contains(h))
        .collect();
    out.sort();
    out.dedup();
    out
}

fn populate(
    ctx: &Context,
    url: &ServerUrl,
    dest: &Path,
    manifest: Manifest,
    depth: Option<Depth>,
    bodies: impl FnOnce(&WorkingCopy) -> Result<()>,
) -> Result<CheckoutResult> {
    let mut wc = start(ctx, url, dest, &manifest)?;
    for m in &manifest.entries {
        let mut entry = Entry::from_manifest(m);
        if m.path.is_root() {
            entry.depth = depth;
        }
        wc.index.entries.insert(m.path.to_string(), entry);
    }
    crate::depth::settle(&mut wc.index);
    bodies(&wc)?;
    // The index goes first: a checkout killed while writing files leaves a
    // working copy that `status` reports as interrupted, and after
    // `zsync cleanup` an update restores the files that are missing.
    wc.save()?;

    // Folders first, then the files on a few threads: creating files waits
    // on the filesystem far more than on the CPU.
    let kept: Vec<&ManifestEntry> = manifest
        .entries
        .iter()
        .filter(|m| wc.index.entries.contains_key(m.path.as_str()))
        .collect();
    let bytes = kept.iter().map(|m| m.size).sum();
    let progress = Progress::start(ctx.ui, Phase::Writing, kept.len() as u64, bytes);
    for m in kept.iter().filter(|m| m.kind.is_folder()) {
        fsutil::create_dir_all(&wc.abs(&m.path))?;
        progress.advance(1, 0);
    }
    let files: Vec<&ManifestEntry> = kept
        .iter()
        .copied()
        .filter(|m| !m.kind.is_folder())
        .collect();
    let stats = fsutil::parallel_map(&files, WRITE_THREADS, |m| {
        let stat = materialize(&wc, m, &wc.abs(&m.path))?;
        crate::fault::point("client-checkout-file");
        progress.advance(1, m.size);
        Ok(stat)
    })?;
    drop(progress);
    for (m, stat) in files.iter().zip(stats) {
        if let Some(entry) = wc.index.entries.get_mut(m.path.as_str()) {
            entry.stat = Some(stat);
        }
    }
    finish(ctx, &mut wc, kept.iter().map(|m| &m.path))?;
    Ok(CheckoutResult {
        root: dest.to_path_buf(),
        rev: manifest.head,
    })
}

/// Checks the manifest, warns of what was left out, and starts the
/// working copy.
fn start(ctx: &Context, url: &ServerUrl, dest: &Path, manifest: &Manifest) -> Result<WorkingCopy> {
    check_manifest(manifest, url)?;
    if manifest.omitted > 0 {
        ctx.ui.notify(Notification::Warning(format!(
            "{} item(s) you may not read were left out",
            manifest.omitted
        )));
    }
    WorkingCopy::create(dest, url, manifest.head)
}

/// Reports the items a checkout wrote, sets `needs-lock` files read-only,
/// and saves the index.
fn finish<'a>(
    ctx: &Context,
    wc: &mut WorkingCopy,
    written: impl Iterator<Item = &'a RepoPath>,
) -> Result<()> {
    for path in written.filter(|p| !p.is_root()) {
        ctx.ui.notify(Notification::Update {
            columns: "A   ".into(),
            path: ctx.display(&wc.abs(path)),
        });
    }
    crate::locks::fit_all(wc)?;
    // Every item was just written: a check that they are all still here
    // lets the save leave a glance, so the first update need not stat
    // them all again (a sparse copy leaves none; see `Glance::of`).
    wc.verify_present()?;
    wc.save()?;
    // What each folder holds, so the first status need not read them all
    // again (a cache: failing to record it fails nothing).
    let whole = crate::session::Target {
        root: wc.root.clone(),
        paths: vec![RepoPath::root()],
    };
    let _ = crate::status::unversioned(wc, &whole);
    Ok(())
}

/// The root must be a folder; every body must be named with a hash.
fn check_manifest(manifest: &Manifest, url: &ServerUrl) -> Result<()> {
    let root = manifest
        .entries
        .first()
        .filter(|e| e.path.is_root())
        .ok_or_else(|| ClientError::Protocol("the manifest has no root entry".into()))?;
    if !root.kind.is_folder() {
        return Err(ClientError::refused(
            url.redacted(),
            format!(
                "names a {}, not a folder; check out the folder that holds it",
                root.kind
            ),
        ));
    }
    let mut seen: HashMap<(String, String), &RepoPath> = HashMap::new();
    for e in &manifest.entries {
        if !e.kind.is_folder() && e.hash.is_none() {
            return Err(ClientError::Protocol(format!(
                "{} has no body hash",
                e.path
            )));
        }
        // Names equal but for case or Unicode form would overwrite each
        // other on macOS and Windows filesystems: refuse before writing.
        let parent = e.path.parent().map(|p| p.to_string()).unwrap_or_default();
        if let Some(other) = seen.insert((parent, fold_name(e.path.name())), &e.path) {
            return Err(ClientError::refused(
                url.redacted(),
                format!(
                    "holds {other} and {}, whose names differ only in case or Unicode form; rename one on the server",
                    e.path
                ),
            ));
        }
    }
    let unholdable = unholdable_names(manifest, cfg!(windows));
    if !unholdable.is_empty() {
        return Err(ClientError::refused(
            url.redacted(),
            format!(
                "holds names this system's filesystems cannot hold: {}; rename them on the server",
                unholdable.join(", ")
            ),
        ));
    }
    Ok(())
}

/// The paths (with the reason) of `manifest` whose names this system
/// could not write. Linux holds every valid `RepoPath`; Windows does not
/// (see [`zsync_model::portability_problem`]), and the checkout must fail
/// before it writes anything rather than half-way.
fn unholdable_names(manifest: &Manifest, windows: bool) -> Vec<String> {
    if !windows {
        return Vec::new();
    }
    manifest
        .entries
        .iter()
        .filter_map(|e| {
            zsync_model::portability_problem(e.path.name()).map(|p| format!("{} ({p})", e.path))
        })
        .collect()
}

/// A reader that remembers why it failed.
struct ReadFailure<R> {
    inner: R,
    failed: Option<String>,
}

impl<R: std::io::Read> std::io::Read for ReadFailure<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.inner.read(buf).inspect_err(|e| {
            self.failed = Some(e.to_string());
        })
    }
}

/// A name as case-insensitive, normalising filesystems compare it.
pub(crate) fn fold_name(name: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    name.nfc().collect::<String>().to_lowercase()
}

/// Threads writing files at once.
const WRITE_THREADS: usize = 4;

/// Bodies up to this size are read whole and handed to a writer thread;
/// larger ones stream to disk from the archive.
const HANDED_OFF_BODY: u64 = 1 << 20;

/// Reads body frames into the pristine store until the end frame. Small
/// bodies are written by a few threads while the next ones are read.
pub(crate) fn receive_bodies(
    archive: &mut ArchiveReader<ByteStream>,
    wc: &WorkingCopy,
) -> Result<()> {
    receive(archive, wc, &NoProgress)
}

/// [`receive_bodies`], reporting [`Phase::Receiving`] progress against
/// the totals of `entries`' bodies that `needed` names.
pub(crate) fn receive_bodies_shown<'m>(
    archive: &mut ArchiveReader<ByteStream>,
    wc: &WorkingCopy,
    ui: &dyn Ui,
    needed: &[BodyHash],
    entries: impl Iterator<Item = &'m ManifestEntry>,
) -> Result<()> {
    let (objects, bytes) = body_totals(needed, entries);
    let _progress = Progress::start(ui, Phase::Receiving, objects, bytes);
    receive(archive, wc, ui)
}

/// How many of the `needed` bodies there are and their bytes, by the
/// sizes the manifest gives.
pub(crate) fn body_totals<'m>(
    needed: &[BodyHash],
    entries: impl Iterator<Item = &'m ManifestEntry>,
) -> (u64, u64) {
    let needed: std::collections::HashSet<&BodyHash> = needed.iter().collect();
    let mut sizes: HashMap<&BodyHash, u64> = HashMap::new();
    for m in entries {
        if let Some(h) = m.hash.as_ref().filter(|h| needed.contains(h)) {
            sizes.insert(h, m.size);
        }
    }
    (sizes.len() as u64, sizes.values().sum())
}

/// A `Ui` that shows nothing, for body transfers nobody watches.
struct NoProgress;

impl Ui for NoProgress {
    fn notify(&self, _note: Notification) {}
    fn password(&self, _prompt: &str) -> Option<String> {
        None
    }
}

fn receive(archive: &mut ArchiveReader<ByteStream>, wc: &WorkingCopy, ui: &dyn Ui) -> Result<()> {
    with_writers(
        wc,
        "base copies",
        |(hash, data): (BodyHash, Vec<u8>), _: &mut Vec<()>| {
            wc.pristine.insert_verified(&hash, &mut &data[..])
        },
        |tx| read_bodies(archive, wc, tx, ui),
    )
    .map(|_| ())
}

fn read_bodies(
    archive: &mut ArchiveReader<ByteStream>,
    wc: &WorkingCopy,
    writers: &mut Batches<'_, (BodyHash, Vec<u8>)>,
    ui: &dyn Ui,
) -> Result<()> {
    read_archive_bodies(archive, wc, ui, |hash, data| match data {
        Some(data) => {
            let bytes = data.len();
            writers.send((hash, data), bytes)
        }
        None => true,
    })
}

/// Reads the archive's bodies to its end. A small one is handed to
/// `on_body` with its bytes (to be checked and stored by the receiver; a
/// `false` answer means the receiver stopped, whose error explains it); a
/// large one is streamed into the pristine store, verified, and then
/// announced without bytes.
fn read_archive_bodies(
    archive: &mut ArchiveReader<ByteStream>,
    wc: &WorkingCopy,
    ui: &dyn Ui,
    mut on_body: impl FnMut(BodyHash, Option<Vec<u8>>) -> bool,
) -> Result<()> {
    use std::io::Read;
    loop {
        match archive.next_header()? {
            Header::End => return Ok(()),
            Header::Body { hash, size } if size <= HANDED_OFF_BODY => {
                let mut data = Vec::with_capacity(size as usize);
                archive.body().read_to_end(&mut data).map_err(|e| {
                    ClientError::Protocol(format!(
                        "the archive from the server broke off in body {hash}: {e}"
                    ))
                })?;
                let got = data.len() as u64;
                if !on_body(hash, Some(data)) {
                    // Every writer stopped: their error is the answer.
                    return Ok(());
                }
                ui.progress_advance(1, got);
            }
            Header::Body { hash, .. } => {
                let mut body = ReadFailure {
                    inner: CountingReader {
                        inner: archive.body(),
                        ui,
                    },
                    failed: None,
                };
                let inserted = wc.pristine.insert_verified(&hash, &mut body);
                ui.progress_advance(1, 0);
                if let Err(e) = inserted {
                    // A failed read is the server's answer breaking off, not
                    // a problem with the file it was being written to.
                    return Err(match body.failed {
                        Some(why) => ClientError::Protocol(format!(
                            "the archive from the server broke off in body {hash}: {why}"
                        )),
                        None => e,
                    });
                }
                on_body(hash, None);
            }
            Header::Manifest(_) => {
                return Err(ClientError::Protocol(
                    "a second manifest in the archive".into(),
                ));
            }
        }
    }
}

/// Writes a working file from the pristine store; returns its stat data.
pub(crate) fn materialize(wc: &WorkingCopy, m: &ManifestEntry, path: &Path) -> Result<StatData> {
    let hash: BodyHash = m
        .hash
        .ok_or_else(|| ClientError::Protocol(format!("{} has no body hash", m.path)))?;
    write_from_pristine(wc, &hash, path)
}

pub(crate) fn write_from_pristine(
    wc: &WorkingCopy,
    hash: &BodyHash,
    path: &Path,
) -> Result<StatData> {
    let mut source = wc.pristine.open(hash)?;
    // Checked while copying: a damaged base copy never becomes the file.
    let (_, written) = fsutil::write_atomic_checked(path, &mut source, None, |h| h == hash)?;
    if !written {
        return Err(ClientError::Corrupt {
            root: wc.root.clone(),
            detail: format!(
                "base copy {} is damaged: its content no longer matches its hash",
                hash.to_hex()
            ),
        });
    }
    // Not flushed one by one: the file equals its durable base copy, so
    // after a power loss an empty or missing file shows as modified or
    // missing, and `revert` restores it.
    let meta = std::fs::metadata(path).map_err(ClientError::io(path))?;
    Ok(StatData::of(&meta))
}

#[cfg(test)]
mod tests {
    use zsync_model::{Kind, Oid};

    use super::*;

    fn entry(path: &str, kind: Kind) -> ManifestEntry {
        ManifestEntry {
            path: RepoPath::parse(path).unwrap(),
            oid: Oid::random(),
            hash: (!kind.is_folder()).then(|| BodyHash::of(path.as_bytes())),
            kind,
            rev: 1,
            size: 0,
            props: Default::default(),
            author: String::new(),
        }
    }

    fn manifest(names: &[&str]) -> Manifest {
        let mut entries = vec![entry("", Kind::folder())];
        entries.extend(names.iter().map(|n| entry(n, Kind::document())));
        Manifest {
            root: RepoPath::parse("demo").unwrap(),
            head: 1,
            entries,
            omitted: 0,
        }
    }

    #[test]
    fn names_colliding_by_case_or_normalisation_are_refused() {
        let url = ServerUrl::parse("http://h/demo").unwrap();
        assert!(check_manifest(&manifest(&["a.txt", "b.txt"]), &url).is_ok());
        assert!(check_manifest(&manifest(&["Read.me", "READ.ME"]), &url).is_err());
        assert!(check_manifest(&manifest(&["caf\u{e9}", "cafe\u{301}"]), &url).is_err());
        // The same name in different folders is fine.
        let mut m = manifest(&["x"]);
        m.entries.push(entry("d", Kind::folder()));
        m.entries.push(entry("d/X", Kind::document()));
        assert!(check_manifest(&m, &url).is_ok());
    }

    #[test]
    fn names_windows_cannot_hold_are_found_before_writing() {
        let m = manifest(&["a", "a/CON.txt", "a/ok.txt", "b:c"]);
        assert!(unholdable_names(&m, false).is_empty());
        let found = unholdable_names(&m, true);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].starts_with("a/CON.txt ("), "{found:?}");
        assert!(found[1].starts_with("b:c ("), "{found:?}");
    }
}
