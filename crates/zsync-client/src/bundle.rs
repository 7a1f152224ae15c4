//! `zsync export URL FILE` and `zsync import FILE URL`: a subtree as one
//! compressed, versioned file (see `zsync_format::bundle`).
//!
//! Both stream: export copies the server's archive stream frame by frame
//! into the gzip encoder, checking every body's hash; import reads the
//! bundle twice, once to check all of it (so a damaged bundle changes
//! nothing) and once to upload the bodies the server lacks (small ones in
//! batches, each bigger one spooled to a temp file), then sends one commit.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use zsync_format::archive::{self, ArchiveReader, Header};
use zsync_format::bundle::{self, BundleInfo};
use zsync_format::{CommitOp, CommitRequest, Manifest, ManifestEntry};
use zsync_model::{BodyHash, BodyHasher, CommitId, Props, RepoPath, Rev};

use crate::commit::{BATCH_BODIES, BATCH_BODY, BATCH_BYTES};
use crate::error::{ClientError, Result};
use crate::session::Context;
use crate::transport::Transport;
use crate::ui::{CountingReader, Phase, Progress, Ui};
use crate::url::ServerUrl;

/// What `export` wrote.
#[derive(Debug)]
pub struct ExportSummary {
    pub objects: usize,
    pub bodies: usize,
    pub bytes: u64,
    pub revisions: usize,
    pub head: Rev,
    /// Objects left out because the user may not read them.
    pub omitted: u64,
}

/// What `import` did.
#[derive(Debug)]
pub struct ImportSummary {
    pub rev: Rev,
    pub added: usize,
    pub replaced: usize,
    /// Revisions of history the bundle carried (not replayed: the import
    /// is one new revision with the latest state).
    pub history: usize,
}

/// Writes the subtree at `url` (with its log, if `history`) to `file`,
/// which must not exist yet.
pub fn export(ctx: &Context, url: &str, file: &Path, history: bool) -> Result<ExportSummary> {
    let url = ServerUrl::parse(url)?;
    let file = crate::wc::absolute(&ctx.cwd, file);
    if file.exists() {
        return Err(ClientError::refused(
            ctx.display(&file),
            "already exists; remove it or name another file",
        ));
    }
    let transport = ctx.connect(&url)?;
    let mut log = if history {
        transport.log(&url.path, None)?
    } else {
        Vec::new()
    };
    log.reverse();
    let temp = temp_name(&file);
    let result = write_bundle(ctx.ui, &*transport, &url.path, &temp, log);
    match result {
        Ok(summary) => {
            std::fs::rename(&temp, &file).map_err(ClientError::io(&file))?;
            Ok(summary)
        }
        Err(e) => {
            let _ = std::fs::remove_file(&temp);
            Err(e)
        }
    }
}

fn temp_name(file: &Path) -> PathBuf {
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    file.with_file_name(format!(".{name}.{}.tmp", std::process::id()))
}

fn write_bundle(
    ui: &dyn Ui,
    transport: &dyn Transport,
    root: &RepoPath,
    temp: &Path,
    history: Vec<zsync_format::LogEntry>,
) -> Result<ExportSummary> {
    let out = File::create(temp).map_err(ClientError::io(temp))?;
    let mut out = BufWriter::new(out);
    out.write_all(&bundle::header())
        .map_err(ClientError::io(temp))?;
    let mut gz = GzEncoder::new(out, Compression::default());
    let mut reader = ArchiveReader::new(transport.archive(root)?)?;
    let mut summary = ExportSummary {
        objects: 0,
        bodies: 0,
        bytes: 0,
        revisions: history.len(),
        head: 0,
        omitted: 0,
    };
    let mut info = Some(history);
    let mut expected = BTreeSet::new();
    let mut progress = None;
    loop {
        match reader.next_header()? {
            Header::Manifest(manifest) => {
                let Some(history) = info.take() else {
                    return Err(ClientError::Protocol(
                        "the archive holds two manifests".into(),
                    ));
                };
                summary.objects = manifest.entries.len();
                summary.head = manifest.head;
                summary.omitted = manifest.omitted;
                expected = manifest.entries.iter().filter_map(|e| e.hash).collect();
                let needed: Vec<BodyHash> = expected.iter().copied().collect();
                let (objects, bytes) =
                    crate::checkout::body_totals(&needed, manifest.entries.iter());
                progress = Some(Progress::start(ui, Phase::Receiving, objects, bytes));
                let info = BundleInfo {
                    root: root.clone(),
                    head: manifest.head,
                    created: now(),
                    history,
                };
                gz.write_all(&bundle::info_frame(&info))
                    .map_err(ClientError::io(temp))?;
                gz.write_all(archive::MAGIC)
                    .map_err(ClientError::io(temp))?;
                gz.write_all(&archive::manifest_frame(&manifest))
                    .map_err(ClientError::io(temp))?;
            }
            Header::Body { hash, size } => {
                if !expected.remove(&hash) {
                    return Err(ClientError::Protocol(format!(
                        "the archive sent body {hash}, which its manifest does not name (or twice)"
                    )));
                }
                gz.write_all(&archive::body_frame_header(&hash, size))
                    .map_err(ClientError::io(temp))?;
                let mut hasher = HashingWriter {
                    inner: &mut gz,
                    hasher: BodyHasher::new(),
                };
                let mut body = CountingReader {
                    inner: reader.body(),
                    ui,
                };
                io::copy(&mut body, &mut hasher)
                    .map_err(|e| ClientError::Protocol(format!("reading the archive: {e}")))?;
                ui.progress_advance(1, 0);
                if hasher.hasher.finish() != hash {
                    return Err(ClientError::Protocol(format!(
                        "the body {hash} the server sent does not match its hash"
                    )));
                }
                summary.bodies += 1;
                summary.bytes += size;
            }
            Header::End => break,
        }
    }
    drop(progress);
    if info.is_some() || !expected.is_empty() {
        return Err(ClientError::Protocol(
            "the archive ended before every body of its manifest".into(),
        ));
    }
    gz.write_all(&archive::END_FRAME)
        .map_err(ClientError::io(temp))?;
    let out = gz.finish().map_err(ClientError::io(temp))?;
    let file = out
        .into_inner()
        .map_err(|e| ClientError::io(temp)(e.into_error()))?;
    file.sync_all().map_err(ClientError::io(temp))?;
    Ok(summary)
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Hashes what passes through to the encoder.
struct HashingWriter<'a, W> {
    inner: &'a mut W,
    hasher: BodyHasher,
}

impl<W: Write> Write for HashingWriter<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// An open bundle, positioned at its archive.
struct Opened {
    info: BundleInfo,
    archive: ArchiveReader<GzDecoder<BufReader<File>>>,
}

fn open(ctx: &Context, file: &Path) -> Result<Opened> {
    let shown = ctx.display(file);
    let f = File::open(file).map_err(ClientError::io(file))?;
    let mut r = BufReader::new(f);
    let damaged = |e: &dyn std::fmt::Display| {
        ClientError::refused(
            &shown,
            format!("is damaged or truncated ({e}); nothing was imported"),
        )
    };
    match bundle::read_header(&mut r) {
        Ok(_) => {}
        Err(bundle::BundleError::NotABundle) => {
            return Err(ClientError::refused(
                &shown,
                "is not a zsync bundle (write one with `zsync export URL FILE`)",
            ));
        }
        Err(e @ bundle::BundleError::TooNew(_)) => {
            return Err(ClientError::refused(
                &shown,
                format!("cannot be read: {e}; import it with a newer zsync"),
            ));
        }
        Err(e) => return Err(damaged(&e)),
    }
    let mut gz = GzDecoder::new(r);
    let info = bundle::read_info(&mut gz).map_err(|e| damaged(&e))?;
    let archive = ArchiveReader::new(gz).map_err(|e| damaged(&e))?;
    Ok(Opened { info, archive })
}

/// Reads all of the bundle, checking every body against its hash and the
/// compressed stream's own checksum; returns its info and manifest.
fn check(ctx: &Context, file: &Path) -> Result<(BundleInfo, Manifest)> {
    let shown = ctx.display(file);
    let damaged = |e: &dyn std::fmt::Display| {
        ClientError::refused(
            &shown,
            format!("is damaged or truncated ({e}); nothing was imported"),
        )
    };
    let Opened { info, mut archive } = open(ctx, file)?;
    let mut manifest = None;
    let mut expected = BTreeSet::new();
    let mut progress = None;
    loop {
        match archive.next_header().map_err(|e| damaged(&e))? {
            Header::Manifest(m) if manifest.is_none() => {
                expected = m.entries.iter().filter_map(|e| e.hash).collect();
                let needed: Vec<BodyHash> = expected.iter().copied().collect();
                let (objects, bytes) = crate::checkout::body_totals(&needed, m.entries.iter());
                progress = Some(Progress::start(ctx.ui, Phase::Checking, objects, bytes));
                manifest = Some(m);
            }
            Header::Manifest(_) => return Err(damaged(&"two manifests")),
            Header::Body { hash, .. } => {
                let mut hasher = BodyHasher::new();
                let mut buf = vec![0u8; 64 * 1024];
                let mut body = archive.body();
                loop {
                    let n = body.read(&mut buf).map_err(|e| damaged(&e))?;
                    if n == 0 {
                        break;
                    }
                    hasher.update(&buf[..n]);
                    ctx.ui.progress_advance(0, n as u64);
                }
                ctx.ui.progress_advance(1, 0);
                if hasher.finish() != hash {
                    return Err(damaged(&format!("body {hash} does not match its hash")));
                }
                expected.remove(&hash);
            }
            Header::End => break,
        }
    }
    drop(progress);
    let Some(manifest) = manifest else {
        return Err(damaged(&"no manifest"));
    };
    if let Some(hash) = expected.first() {
        return Err(damaged(&format!("body {hash} is missing")));
    }
    // The end frame is last; reading on checks gzip's length and CRC.
    let mut rest = Vec::new();
    let mut inner = archive.into_inner();
    inner.read_to_end(&mut rest).map_err(|e| damaged(&e))?;
    if !rest.is_empty() {
        return Err(damaged(&"data after the end of the archive"));
    }
    Ok((info, manifest))
}

/// Creates the bundle's subtree at `url` (or, with `replace`, overwrites
/// the objects there that the bundle also holds) in one commit.
pub fn import(
    ctx: &Context,
    file: &Path,
    url: &str,
    replace: bool,
    message: &str,
) -> Result<ImportSummary> {
    let url = ServerUrl::parse(url)?;
    let file = crate::wc::absolute(&ctx.cwd, file);
    let (info, manifest) = check(ctx, &file)?;
    if url.path.is_root() && !replace {
        return Err(ClientError::refused(
            url.redacted(),
            "names the server's root; name the folder to create (http://HOST/PARENT/NEW)",
        ));
    }
    let transport = ctx.connect(&url)?;
    let existing = match transport.manifest(&url.path) {
        Ok(m) => Some(m),
        Err(ClientError::NotFound { .. }) => None,
        Err(e) => return Err(e),
    };
    let on_server: BTreeMap<&str, &ManifestEntry> = existing
        .as_ref()
        .map(|m| m.entries.iter().map(|e| (e.path.as_str(), e)).collect())
        .unwrap_or_default();
    if !on_server.is_empty() && !replace {
        let clashes: Vec<String> = manifest
            .entries
            .iter()
            .filter(|e| on_server.contains_key(e.path.as_str()))
            .map(|e| format!("/{}", join(&url.path, &e.path)))
            .collect();
        return Err(ClientError::refused(
            url.redacted(),
            format!(
                "already holds {} object(s) the bundle holds (such as {}); \
                 add --replace to overwrite them, or import somewhere new",
                clashes.len(),
                clashes.first().map_or("it", String::as_str)
            ),
        ));
    }
    let mut ops = Vec::new();
    let mut added = 0;
    let mut replaced = 0;
    let mut problems = Vec::new();
    for entry in &manifest.entries {
        let path = join(&url.path, &entry.path);
        match on_server.get(entry.path.as_str()) {
            None => {
                added += 1;
                ops.push(CommitOp::Add {
                    path,
                    kind: entry.kind.clone(),
                    props: entry.props.clone(),
                    hash: entry.hash,
                });
            }
            Some(old) if old.kind != entry.kind => problems.push(format!(
                "/{path} is a {} on the server but a {} in the bundle",
                old.kind, entry.kind
            )),
            Some(old) => {
                // Derived properties are the server's to compute from the
                // body: they differ only where one side is stale, which
                // overwrites nothing the user set.
                let derived = ctx
                    .registry
                    .get(&entry.kind)
                    .map_or(&[][..], |t| t.read_only_props());
                let set_by_users = |props: &Props| -> Props {
                    props
                        .iter()
                        .filter(|(k, _)| !derived.contains(&k.as_str()))
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect()
                };
                let same_props = set_by_users(&old.props) == set_by_users(&entry.props);
                if old.hash == entry.hash && same_props {
                    continue;
                }
                replaced += 1;
                ops.push(CommitOp::Modify {
                    path,
                    oid: old.oid.clone(),
                    base_rev: old.rev,
                    props: (!same_props).then(|| entry.props.clone()),
                    hash: if old.hash == entry.hash {
                        None
                    } else {
                        entry.hash
                    },
                });
            }
        }
    }
    if !problems.is_empty() {
        return Err(ClientError::refused(
            url.redacted(),
            format!("cannot be replaced: {}", problems.join("; ")),
        ));
    }
    if ops.is_empty() {
        return Ok(ImportSummary {
            rev: existing.map_or(0, |m| m.head),
            added,
            replaced,
            history: info.history.len(),
        });
    }
    let wanted: Vec<BodyHash> = ops
        .iter()
        .filter_map(|op| match op {
            CommitOp::Add { hash, .. } | CommitOp::Modify { hash, .. } => *hash,
            _ => None,
        })
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let missing: BTreeSet<BodyHash> = if wanted.is_empty() {
        BTreeSet::new()
    } else {
        transport.missing_bodies(&wanted)?.into_iter().collect()
    };
    let (objects, bytes) = crate::checkout::body_totals(
        &missing.iter().copied().collect::<Vec<_>>(),
        manifest.entries.iter(),
    );
    let progress = (objects > 0).then(|| Progress::start(ctx.ui, Phase::Sending, objects, bytes));
    upload(ctx, &*transport, &file, &missing)?;
    drop(progress);
    let response = transport.commit(&CommitRequest {
        message: message.to_owned(),
        ops,
        id: Some(CommitId::random()),
        keep_locks: false,
    })?;
    Ok(ImportSummary {
        rev: response.rev,
        added,
        replaced,
        history: info.history.len(),
    })
}

/// `root` joined with a path relative to it (both already valid).
fn join(root: &RepoPath, rel: &RepoPath) -> RepoPath {
    root.join_path(rel).unwrap_or_else(|_| rel.clone())
}

/// Second pass: the bodies the server lacks, small ones in batches (as a
/// commit sends them: one request and one server transaction per batch),
/// each bigger one alone through a temp file.
fn upload(
    ctx: &Context,
    transport: &dyn Transport,
    file: &Path,
    missing: &BTreeSet<BodyHash>,
) -> Result<()> {
    if missing.is_empty() {
        return Ok(());
    }
    let Opened { mut archive, .. } = open(ctx, file)?;
    let damaged = |e: &dyn std::fmt::Display| {
        ClientError::refused(
            ctx.display(file),
            format!("changed while it was imported ({e}); nothing was imported"),
        )
    };
    let mut batch = Batch::default();
    loop {
        match archive.next_header().map_err(|e| damaged(&e))? {
            Header::Body { hash, size } if missing.contains(&hash) && size <= BATCH_BODY => {
                if !batch.fits(size) {
                    batch.send(ctx, transport, file)?;
                }
                let mut data = Vec::with_capacity(size as usize);
                archive
                    .body()
                    .read_to_end(&mut data)
                    .map_err(|e| damaged(&e))?;
                batch.push(hash, data);
            }
            Header::Body { hash, size } if missing.contains(&hash) => {
                let mut spool = tempfile::tempfile().map_err(ClientError::io(file))?;
                io::copy(&mut archive.body(), &mut spool).map_err(|e| damaged(&e))?;
                io::Seek::rewind(&mut spool).map_err(ClientError::io(file))?;
                transport.upload_body(&hash, spool, size)?;
                ctx.ui.progress_advance(1, size);
            }
            Header::End => return batch.send(ctx, transport, file),
            _ => {}
        }
    }
}

/// Small bodies gathered for one upload batch.
#[derive(Default)]
struct Batch {
    bodies: Vec<(BodyHash, Vec<u8>)>,
    bytes: u64,
    /// The server answered a batch with 404 (it is older than the client).
    unbatched: bool,
}

impl Batch {
    /// Whether a body of `size` bytes still goes into this batch.
    fn fits(&self, size: u64) -> bool {
        self.bodies.is_empty()
            || (self.bytes + size <= BATCH_BYTES && self.bodies.len() < BATCH_BODIES)
    }

    fn push(&mut self, hash: BodyHash, data: Vec<u8>) {
        self.bytes += data.len() as u64;
        self.bodies.push((hash, data));
    }

    /// Uploads what was gathered and empties the batch; to a server
    /// without batches, each body alone through a temp file.
    fn send(&mut self, ctx: &Context, transport: &dyn Transport, file: &Path) -> Result<()> {
        if self.bodies.is_empty() {
            return Ok(());
        }
        let bodies = std::mem::take(&mut self.bodies);
        let bytes = std::mem::take(&mut self.bytes);
        if !self.unbatched {
            let mut framed = zsync_format::batch::BatchWriter::new();
            for (hash, data) in &bodies {
                framed.push(hash, data);
            }
            match transport.upload_batch(framed.finish()) {
                Ok(()) => {
                    ctx.ui.progress_advance(bodies.len() as u64, bytes);
                    return Ok(());
                }
                Err(ClientError::NotFound { .. }) => self.unbatched = true,
                Err(e) => return Err(e),
            }
        }
        for (hash, data) in &bodies {
            let mut spool = tempfile::tempfile().map_err(ClientError::io(file))?;
            spool.write_all(data).map_err(ClientError::io(file))?;
            io::Seek::rewind(&mut spool).map_err(ClientError::io(file))?;
            transport.upload_body(hash, spool, data.len() as u64)?;
            ctx.ui.progress_advance(1, data.len() as u64);
        }
        Ok(())
    }
}
