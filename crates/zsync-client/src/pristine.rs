//! The pristine store: base bodies under `.zsync/pristine/`, named by their
//! BLAKE3 hash, so `status` and `diff` work offline and each distinct body
//! is kept once.
//!
//! A body is kept one of two ways:
//! - loose: its own read-only file `pristine/xx/HASH` (every body a
//!   command stores while it has stored fewer than [`LOOSE_PER_COMMAND`],
//!   and every body larger than [`PACKED_MAX`]);
//! - packed: appended to the command's pack `pristine/packs/pack-N.pack`,
//!   whose index `pack-N.idx` (hash → offset, length) is written, with the
//!   pack flushed by one fsync, before the working copy's index names them
//!   ([`Pristine::flush`], called by `WorkingCopy::save`). A checkout of
//!   20,000 files thus writes one file, not 20,000, into the store.
//!
//! Reads look in the packs first, then for a loose file, so working copies
//! made before packs existed keep working. When a flush leaves more than
//! [`MAX_PACKS`] packs, all but the largest are merged into one, so many
//! updates do not leave ever more packs to open.

use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use rustc_hash::FxHashMap;
use zsync_model::BodyHash;

use crate::error::{ClientError, Result};
use crate::fsutil::{self, Unsynced};

/// Bodies a command stores as loose files before it starts a pack: a
/// commit of a few files gains nothing from a pack.
pub const LOOSE_PER_COMMAND: usize = 32;

/// Bodies larger than this stay loose: streamed, never held in memory, and
/// uploaded straight from their file.
pub const PACKED_MAX: u64 = 1 << 20;

/// More packs than this after a flush are merged (all but the largest).
pub const MAX_PACKS: usize = 8;

const PACKS_DIR: &str = "packs";
const PACK_MAGIC: &[u8; 8] = b"ZSPACK01";
const IDX_MAGIC: &[u8; 8] = b"ZSPIDX01";
/// Appended bytes handed to the disk at a time (see
/// `PackWriter::start_writeback`).
const WRITEBACK_STEP: u64 = 8 << 20;
/// An index entry: hash, offset, length.
const IDX_ENTRY: usize = 32 + 8 + 8;

pub struct Pristine {
    dir: PathBuf,
    /// Loose bodies stored here are flushed to disk before the index names
    /// them.
    unsynced: Arc<Unsynced>,
    /// The packs, read on first use, and this command's pack.
    state: Mutex<Option<State>>,
    /// Bodies this command stored loose, for [`LOOSE_PER_COMMAND`].
    loose_stored: AtomicUsize,
    /// Whether `dir` was made sure of (once per command, not per body).
    dir_made: Mutex<bool>,
}

/// Where a packed body is.
#[derive(Clone)]
struct Location {
    pack: Arc<Pack>,
    offset: u64,
    len: u64,
}

/// One pack file, open for reading (positional reads, so threads share it).
struct Pack {
    path: PathBuf,
    file: File,
    /// Set if the pack is shorter than its index says: its bodies past the
    /// end are reported with this.
    cut_short: Option<String>,
}

#[derive(Default)]
struct State {
    /// Fx: the keys are already uniform, and a checkout's pack names
    /// every body, so SipHash showed in each command that stores one.
    bodies: FxHashMap<BodyHash, Location>,
    writer: Option<PackWriter>,
}

/// This command's pack, appended to; its index is rewritten by each flush.
struct PackWriter {
    pack: Arc<Pack>,
    idx_path: PathBuf,
    entries: Vec<(BodyHash, u64, u64)>,
    len: u64,
    /// Length of the pack when its index was last written.
    flushed_len: u64,
    /// Where the bytes not yet handed to the disk begin.
    writeback_from: u64,
}

impl Pristine {
    pub fn new(dir: PathBuf, unsynced: Arc<Unsynced>) -> Self {
        Self {
            dir,
            unsynced,
            state: Mutex::new(None),
            loose_stored: AtomicUsize::new(0),
            dir_made: Mutex::new(false),
        }
    }

    fn loose_path(&self, hash: &BodyHash) -> PathBuf {
        let hex = hash.to_hex();
        self.dir.join(&hex[..2]).join(&hex)
    }

    fn packs_dir(&self) -> PathBuf {
        self.dir.join(PACKS_DIR)
    }

    fn corrupt(&self, detail: String) -> ClientError {
        ClientError::Corrupt {
            root: self.dir.clone(),
            detail,
        }
    }

    /// The packs' contents, read from their indexes on first use.
    fn state(&self) -> Result<MutexGuard<'_, Option<State>>> {
        let mut guard = self
            .state
            .lock()
            .map_err(|_| self.corrupt("a thread using the base copies panicked".into()))?;
        if guard.is_none() {
            *guard = Some(load_packs(&self.packs_dir())?);
        }
        Ok(guard)
    }

    fn locate(&self, hash: &BodyHash) -> Result<Option<Location>> {
        let guard = self.state()?;
        Ok(guard.as_ref().and_then(|s| s.bodies.get(hash).cloned()))
    }

    /// Whether the body is in a pack, whole as far as its size tells.
    fn packed_whole(&self, hash: &BodyHash) -> bool {
        matches!(self.locate(hash), Ok(Some(loc)) if whole(&loc))
    }

    /// Whether the body is here, whole as far as its size tells.
    pub fn contains(&self, hash: &BodyHash) -> bool {
        self.packed_whole(hash) || self.loose_path(hash).is_file()
    }

    /// The loose file holding a body, if it is kept as one (for tools that
    /// need a path; a packed body has none).
    pub fn loose_file(&self, hash: &BodyHash) -> Option<PathBuf> {
        if matches!(self.locate(hash), Ok(Some(_))) {
            return None;
        }
        let path = self.loose_path(hash);
        path.is_file().then_some(path)
    }

    /// A reader of a body, streaming from its pack or loose file.
    pub fn open(&self, hash: &BodyHash) -> Result<BodyReader> {
        if let Some(loc) = self.locate(hash)? {
            if let Some(why) = loc.pack.cut_short.as_ref().filter(|_| !whole(&loc)) {
                return Err(self.corrupt(format!("base copy {} is lost: {why}", hash.to_hex())));
            }
            return Ok(BodyReader {
                source: Source::Packed(loc.pack.clone(), loc.offset),
                len: loc.len,
                pos: 0,
            });
        }
        let path = self.loose_path(hash);
        let file = File::open(&path).map_err(|e| {
            if e.kind() == io::ErrorKind::NotFound {
                self.corrupt(format!("base copy {} is missing", hash.to_hex()))
            } else {
                ClientError::io(&path)(e)
            }
        })?;
        let len = file.metadata().map_err(ClientError::io(&path))?.len();
        Ok(BodyReader {
            source: Source::Loose(file, path),
            len,
            pos: 0,
        })
    }

    /// A file holding exactly the body, read from its start (for an
    /// upload): the loose file, or a packed body copied to an unnamed
    /// temp file.
    pub fn open_file(&self, hash: &BodyHash) -> Result<File> {
        let mut reader = self.open(hash)?;
        if let Source::Loose(file, _) = reader.source {
            return Ok(file);
        }
        let tmp = self.dir.parent().unwrap_or(&self.dir).join("tmp");
        fsutil::create_dir_all(&tmp)?;
        let mut file = tempfile::tempfile_in(&tmp).map_err(ClientError::io(&tmp))?;
        io::copy(&mut reader, &mut file)
            .and_then(|_| file.seek(SeekFrom::Start(0)))
            .map_err(ClientError::io(&tmp))?;
        Ok(file)
    }

    /// Reads a whole body, checking it against its hash.
    pub fn read(&self, hash: &BodyHash) -> Result<Vec<u8>> {
        let mut reader = self.open(hash)?;
        let mut data = Vec::with_capacity(reader.len().min(PACKED_MAX) as usize);
        reader
            .read_to_end(&mut data)
            .map_err(ClientError::io(reader.source_path()))?;
        if BodyHash::of(&data) != *hash {
            return Err(self.corrupt(format!(
                "base copy {} is damaged: its content no longer matches its hash",
                hash.to_hex()
            )));
        }
        Ok(data)
    }

    /// Stores a body from a stream, verifying that it hashes to `expected`.
    pub fn insert_verified(&self, expected: &BodyHash, reader: &mut dyn Read) -> Result<()> {
        self.store(reader, Some(expected), 0).map(|_| ())
    }

    /// Stores a body held in memory, verifying that it hashes to
    /// `expected` (without copying it first, as a stream would be).
    pub fn insert_verified_bytes(&self, expected: &BodyHash, data: &[u8]) -> Result<()> {
        if data.len() as u64 > PACKED_MAX
            || self.loose_stored.fetch_add(1, Ordering::Relaxed) < LOOSE_PER_COMMAND
        {
            return self.store_loose(&mut &data[..], Some(expected)).map(|_| ());
        }
        check_expected(Some(expected), &BodyHash::of(data))?;
        self.append(*expected, data)
    }

    /// Stores a body held in memory; returns its hash.
    pub fn insert_bytes(&self, data: &[u8]) -> Result<BodyHash> {
        let hash = BodyHash::of(data);
        if !self.contains(&hash) {
            self.insert_verified(&hash, &mut &data[..])?;
        }
        Ok(hash)
    }

    /// Stores a copy of a working file; returns its hash and size.
    pub fn insert_file(&self, source: &Path) -> Result<(BodyHash, u64)> {
        let mut file = File::open(source).map_err(ClientError::io(source))?;
        // Sized up front, the body is read without growing (copying) its buffer.
        let size_hint = file.metadata().map_or(0, |m| m.len());
        let mut failed = None;
        let mut reader = RememberFailure {
            inner: &mut file,
            failed: &mut failed,
        };
        let stored = self.store(&mut reader, None, size_hint);
        match failed {
            Some(e) => Err(ClientError::io(source)(e)),
            None => stored,
        }
    }

    /// Stores a body: small ones into the pack (once the command's loose
    /// quota is spent), large ones streamed to a loose file.
    fn store(
        &self,
        reader: &mut dyn Read,
        expected: Option<&BodyHash>,
        size_hint: u64,
    ) -> Result<(BodyHash, u64)> {
        let mut head = Vec::with_capacity(size_hint.min(PACKED_MAX + 1) as usize);
        (&mut *reader)
            .take(PACKED_MAX + 1)
            .read_to_end(&mut head)
            .map_err(ClientError::io(&self.dir))?;
        if head.len() as u64 > PACKED_MAX
            || self.loose_stored.fetch_add(1, Ordering::Relaxed) < LOOSE_PER_COMMAND
        {
            return self.store_loose(&mut (&head[..]).chain(reader), expected);
        }
        let hash = BodyHash::of(&head);
        check_expected(expected, &hash)?;
        self.append(hash, &head)?;
        Ok((hash, head.len() as u64))
    }

    fn store_loose(
        &self,
        reader: &mut dyn Read,
        expected: Option<&BodyHash>,
    ) -> Result<(BodyHash, u64)> {
        if let Ok(mut made) = self.dir_made.lock()
            && !*made
        {
            fsutil::create_dir_all(&self.dir)?;
            *made = true;
        }
        let staging = self
            .dir
            .join(format!("incoming-{:016x}", fsutil::unique_nonce()));
        let (hash, size) = fsutil::write_atomic_from(&staging, reader, Some(0o444))?;
        if let Err(e) = check_expected(expected, &hash) {
            let _ = fs::remove_file(&staging);
            return Err(e);
        }
        let target = self.loose_path(&hash);
        if target.exists() || self.packed_whole(&hash) {
            fsutil::remove_file_if_exists(&staging)?;
            return Ok((hash, size));
        }
        // The folder is made when first needed, not tried before each body.
        let renamed = match fs::rename(&staging, &target) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if let Some(dir) = target.parent() {
                    fsutil::create_dir_all(dir)?;
                }
                fs::rename(&staging, &target)
            }
            other => other,
        };
        if let Err(e) = renamed {
            let _ = fs::remove_file(&staging);
            return Err(ClientError::io(&target)(e));
        }
        self.unsynced.note(&target);
        Ok((hash, size))
    }

    /// Appends a body to this command's pack.
    fn append(&self, hash: BodyHash, data: &[u8]) -> Result<()> {
        let mut guard = self.state()?;
        let Some(state) = guard.as_mut() else {
            return Ok(());
        };
        // Stored again only if a damaged pack held it.
        if state.bodies.get(&hash).is_some_and(whole) {
            return Ok(());
        }
        if state.writer.is_none() {
            state.writer = Some(PackWriter::create(&self.packs_dir())?);
        }
        let Some(writer) = state.writer.as_mut() else {
            return Ok(());
        };
        let offset = writer.len;
        (&writer.pack.file)
            .write_all(data)
            .map_err(ClientError::io(&writer.pack.path))?;
        writer.len += data.len() as u64;
        writer.start_writeback();
        writer.entries.push((hash, offset, data.len() as u64));
        state.bodies.insert(
            hash,
            Location {
                pack: writer.pack.clone(),
                offset,
                len: data.len() as u64,
            },
        );
        Ok(())
    }

    /// Makes this command's pack durable: the pack flushed (one fsync),
    /// then its index written, synced and renamed into place. Called before
    /// the working copy's index, which names the bodies, is saved. Then
    /// merges packs if there are too many.
    pub fn flush(&self) -> Result<()> {
        let mut guard = self
            .state
            .lock()
            .map_err(|_| self.corrupt("a thread using the base copies panicked".into()))?;
        let Some(state) = guard.as_mut() else {
            return Ok(());
        };
        let Some(writer) = state.writer.as_mut() else {
            return Ok(());
        };
        if writer.flushed_len == writer.len {
            return Ok(());
        }
        writer.write_index()?;
        if count_packs(&self.packs_dir())? > MAX_PACKS {
            // Read again from disk after the merge.
            *guard = None;
            drop(guard);
            consolidate(&self.packs_dir())?;
        }
        Ok(())
    }
}

fn check_expected(expected: Option<&BodyHash>, hash: &BodyHash) -> Result<()> {
    match expected {
        Some(expected) if expected != hash => Err(ClientError::Protocol(format!(
            "body {} arrived with hash {}",
            expected.to_hex(),
            hash.to_hex()
        ))),
        _ => Ok(()),
    }
}

/// Whether a packed body lies within its pack file (checked only for a
/// pack found shorter than its index says).
fn whole(loc: &Location) -> bool {
    loc.pack.cut_short.is_none()
        || loc
            .pack
            .file
            .metadata()
            .map(|m| m.len() >= loc.offset + loc.len)
            .unwrap_or(false)
}

/// A reader that keeps its error, to tell a failing source from a failing
/// store.
struct RememberFailure<'a, R> {
    inner: R,
    failed: &'a mut Option<io::Error>,
}

impl<R: Read> Read for RememberFailure<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).map_err(|e| {
            let kept = io::Error::new(e.kind(), e.to_string());
            *self.failed = Some(e);
            kept
        })
    }
}

impl PackWriter {
    fn create(dir: &Path) -> Result<Self> {
        fsutil::create_dir_all(dir)?;
        let stem = format!("pack-{:016x}", fsutil::unique_nonce());
        let path = dir.join(format!("{stem}.pack"));
        let mut file = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(ClientError::io(&path))?;
        file.write_all(PACK_MAGIC).map_err(ClientError::io(&path))?;
        Ok(Self {
            pack: Arc::new(Pack {
                path,
                file,
                cut_short: None,
            }),
            idx_path: dir.join(format!("{stem}.idx")),
            entries: Vec::new(),
            len: PACK_MAGIC.len() as u64,
            flushed_len: 0,
            writeback_from: 0,
        })
    }

    /// Has the disk start writing what was appended since the last call,
    /// once that is [`WRITEBACK_STEP`] or more, without waiting for it: the
    /// flush at save then finds little left to write (a checkout's pack is
    /// as large as its tree; otherwise all of it waits for that one fsync).
    fn start_writeback(&mut self) {
        if self.len - self.writeback_from < WRITEBACK_STEP {
            return;
        }
        #[cfg(target_os = "linux")]
        {
            use std::os::fd::AsRawFd;
            // Only a hint: an error here leaves the work to the fsync.
            // SAFETY: the descriptor is the pack's, open for as long as
            // `self.pack`; the call reads no memory of ours.
            unsafe {
                libc::sync_file_range(
                    self.pack.file.as_raw_fd(),
                    self.writeback_from as libc::off64_t,
                    (self.len - self.writeback_from) as libc::off64_t,
                    libc::SYNC_FILE_RANGE_WRITE,
                );
            }
        }
        self.writeback_from = self.len;
    }

    fn write_index(&mut self) -> Result<()> {
        self.pack
            .file
            .sync_data()
            .map_err(ClientError::io(&self.pack.path))?;
        let idx = encode_index(self.len, &self.entries);
        // Synced and renamed, with its folder synced: the pack's own entry
        // in that folder becomes durable with it.
        fsutil::write_atomic_synced(&self.idx_path, &idx)?;
        self.flushed_len = self.len;
        Ok(())
    }
}

/// An index file: magic, the pack's length, the count, the entries sorted
/// by hash, then the BLAKE3 hash of everything before it.
fn encode_index(pack_len: u64, entries: &[(BodyHash, u64, u64)]) -> Vec<u8> {
    let mut sorted = entries.to_vec();
    sorted.sort_unstable_by_key(|e| e.0);
    let mut out = Vec::with_capacity(24 + sorted.len() * IDX_ENTRY + 32);
    out.extend_from_slice(IDX_MAGIC);
    out.extend_from_slice(&pack_len.to_le_bytes());
    out.extend_from_slice(&(sorted.len() as u64).to_le_bytes());
    for (hash, offset, len) in &sorted {
        out.extend_from_slice(hash.as_bytes());
        out.extend_from_slice(&offset.to_le_bytes());
        out.extend_from_slice(&len.to_le_bytes());
    }
    let sum = BodyHash::of(&out);
    out.extend_from_slice(sum.as_bytes());
    out
}

type IndexEntries = Vec<(BodyHash, u64, u64)>;

/// Parses an index file; `None` if it is damaged.
fn decode_index(data: &[u8]) -> Option<(u64, IndexEntries)> {
    let body = crate::fsutil::checked_payload(data)?;
    if body.get(..8)? != IDX_MAGIC {
        return None;
    }
    let u64_at = |at: usize| -> Option<u64> {
        Some(u64::from_le_bytes(body.get(at..at + 8)?.try_into().ok()?))
    };
    let pack_len = u64_at(8)?;
    let count = usize::try_from(u64_at(16)?).ok()?;
    let entries_bytes = body.get(24..)?;
    if entries_bytes.len() != count.checked_mul(IDX_ENTRY)? {
        return None;
    }
    let mut entries = Vec::with_capacity(count);
    for e in entries_bytes.chunks_exact(IDX_ENTRY) {
        let hash = BodyHash::from_bytes(e[..32].try_into().ok()?);
        let offset = u64::from_le_bytes(e[32..40].try_into().ok()?);
        let len = u64::from_le_bytes(e[40..48].try_into().ok()?);
        if offset.checked_add(len)? > pack_len {
            return None;
        }
        entries.push((hash, offset, len));
    }
    Some((pack_len, entries))
}

/// A pack and its entries, as read from disk.
struct LoadedPack {
    pack: Arc<Pack>,
    idx_path: PathBuf,
    data_len: u64,
    entries: IndexEntries,
}

fn idx_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let read = match fs::read_dir(dir) {
        Ok(read) => read,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(ClientError::io(dir)(e)),
    };
    let mut out = Vec::new();
    for entry in read {
        let entry = entry.map_err(ClientError::io(dir))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with("pack-") && name.ends_with(".idx") {
            out.push(entry.path());
        }
    }
    out.sort();
    Ok(out)
}

fn count_packs(dir: &Path) -> Result<usize> {
    idx_files(dir).map(|f| f.len())
}

fn load_pack(idx_path: &Path) -> Result<LoadedPack> {
    let root = idx_path.to_path_buf();
    let data = fs::read(idx_path).map_err(ClientError::io(idx_path))?;
    let (data_len, entries) = decode_index(&data).ok_or_else(|| ClientError::Corrupt {
        root: root.clone(),
        detail: format!("the pack index {} is damaged", idx_path.display()),
    })?;
    let path = idx_path.with_extension("pack");
    let file = File::open(&path).map_err(|e| ClientError::Corrupt {
        root: root.clone(),
        detail: format!("cannot open the pack {}: {e}", path.display()),
    })?;
    let actual = file.metadata().map_err(ClientError::io(&path))?.len();
    let cut_short = (actual < data_len).then(|| {
        format!(
            "the pack {} is cut short ({actual} of {data_len} bytes)",
            path.display()
        )
    });
    Ok(LoadedPack {
        pack: Arc::new(Pack {
            path,
            file,
            cut_short,
        }),
        idx_path: idx_path.to_path_buf(),
        data_len,
        entries,
    })
}

fn load_packs(dir: &Path) -> Result<State> {
    let mut state = State::default();
    for idx in idx_files(dir)? {
        let loaded = load_pack(&idx)?;
        state.bodies.reserve(loaded.entries.len());
        for (hash, offset, len) in loaded.entries {
            state.bodies.insert(
                hash,
                Location {
                    pack: loaded.pack.clone(),
                    offset,
                    len,
                },
            );
        }
    }
    Ok(state)
}

/// Merges every pack but the largest into one new pack, then removes them
/// (indexes first: a crash midway leaves bodies twice, never none), and
/// removes packs whose index was never written (a command killed early).
fn consolidate(dir: &Path) -> Result<()> {
    let mut packs = Vec::new();
    for idx in idx_files(dir)? {
        let loaded = load_pack(&idx)?;
        // A damaged pack is left for the error its reader reports.
        if loaded.pack.cut_short.is_none() {
            packs.push(loaded);
        }
    }
    packs.sort_by_key(|p| std::cmp::Reverse(p.data_len));
    if packs.len() < 2 {
        return Ok(());
    }
    let merged = packs.split_off(1);
    let mut writer = PackWriter::create(dir)?;
    let mut seen = std::collections::HashSet::new();
    for p in &merged {
        for &(hash, offset, len) in &p.entries {
            if !seen.insert(hash) {
                continue;
            }
            let mut data = vec![0u8; len as usize];
            read_exact_at(&p.pack.file, &mut data, offset)
                .map_err(ClientError::io(&p.pack.path))?;
            (&writer.pack.file)
                .write_all(&data)
                .map_err(ClientError::io(&writer.pack.path))?;
            writer.entries.push((hash, writer.len, len));
            writer.len += len;
        }
    }
    writer.write_index()?;
    for p in &merged {
        fsutil::remove_file_if_exists(&p.idx_path)?;
    }
    for p in &merged {
        fsutil::remove_file_if_exists(&p.pack.path)?;
    }
    // Packs without an index: nothing names their bodies.
    if let Ok(read) = fs::read_dir(dir) {
        for entry in read.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with("pack-")
                && name.ends_with(".pack")
                && !path.with_extension("idx").exists()
            {
                fsutil::remove_file_if_exists(&path)?;
            }
        }
    }
    Ok(())
}

#[cfg(unix)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buf, offset)
}

#[cfg(windows)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(file, buf, offset)
}

fn read_exact_at(file: &File, mut buf: &mut [u8], mut offset: u64) -> io::Result<()> {
    while !buf.is_empty() {
        match read_at(file, buf, offset) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the pack is cut short",
                ));
            }
            Ok(n) => {
                buf = &mut buf[n..];
                offset += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// A body being read from the pristine store: a loose file, or a window
/// of a pack read at positions (threads share the pack's handle).
pub struct BodyReader {
    source: Source,
    len: u64,
    pos: u64,
}

enum Source {
    Loose(File, PathBuf),
    Packed(Arc<Pack>, u64),
}

impl BodyReader {
    /// The body's length.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The file it is read from, for error messages.
    pub fn source_path(&self) -> &Path {
        match &self.source {
            Source::Loose(_, path) => path,
            Source::Packed(pack, _) => &pack.path,
        }
    }
}

impl Read for BodyReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match &mut self.source {
            Source::Loose(file, _) => {
                let n = file.read(buf)?;
                self.pos += n as u64;
                Ok(n)
            }
            Source::Packed(pack, offset) => {
                let left = self.len.saturating_sub(self.pos);
                let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                if want == 0 {
                    return Ok(0);
                }
                let n = read_at(&pack.file, &mut buf[..want], *offset + self.pos)?;
                if n == 0 {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!("the pack {} is cut short", pack.path.display()),
                    ));
                }
                self.pos += n as u64;
                Ok(n)
            }
        }
    }
}

impl Seek for BodyReader {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        }
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before the start"))?;
        if let Source::Loose(file, _) = &mut self.source {
            file.seek(SeekFrom::Start(target))?;
        }
        self.pos = target;
        Ok(target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(dir: &Path) -> Pristine {
        Pristine::new(dir.join("pristine"), Arc::new(Unsynced::new(dir.into())))
    }

    fn body(i: usize) -> Vec<u8> {
        format!("body number {i}\n").repeat(i % 7 + 1).into_bytes()
    }

    #[test]
    fn index_round_trips_and_refuses_damage() {
        let entries = vec![(BodyHash::of(b"b"), 8, 3), (BodyHash::of(b"a"), 11, 5)];
        let idx = encode_index(16, &entries);
        let (len, decoded) = decode_index(&idx).unwrap();
        assert_eq!(len, 16);
        assert_eq!(decoded.len(), 2);
        assert!(decoded.contains(&entries[0]) && decoded.contains(&entries[1]));
        let mut bad = idx.clone();
        bad[30] ^= 1;
        assert!(decode_index(&bad).is_none());
        assert!(decode_index(&idx[..idx.len() - 1]).is_none());
        assert!(decode_index(&[]).is_none());
    }

    /// Past the loose quota bodies go into one pack; after a flush a fresh
    /// store (the next command) reads them all, and loose ones too.
    #[test]
    fn bodies_past_the_quota_are_packed_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let n = LOOSE_PER_COMMAND + 40;
        let first = store(dir.path());
        let hashes: Vec<BodyHash> = (0..n)
            .map(|i| first.insert_bytes(&body(i)).unwrap())
            .collect();
        first.flush().unwrap();
        assert_eq!(count_packs(&first.packs_dir()).unwrap(), 1);
        let loose = hashes
            .iter()
            .filter(|h| first.loose_path(h).is_file())
            .count();
        assert_eq!(loose, LOOSE_PER_COMMAND);

        let next = store(dir.path());
        for (i, h) in hashes.iter().enumerate() {
            assert!(next.contains(h));
            assert_eq!(next.read(h).unwrap(), body(i));
            let mut r = next.open(h).unwrap();
            r.seek(SeekFrom::Start(3)).unwrap();
            let mut rest = Vec::new();
            r.read_to_end(&mut rest).unwrap();
            assert_eq!(rest, body(i)[3..]);
            let mut f = next.open_file(h).unwrap();
            let mut whole = Vec::new();
            f.read_to_end(&mut whole).unwrap();
            assert_eq!(whole, body(i));
        }
        assert!(!next.contains(&BodyHash::of(b"never stored")));
        assert!(matches!(
            next.open(&BodyHash::of(b"never stored")),
            Err(ClientError::Corrupt { .. })
        ));
    }

    #[test]
    fn a_large_body_stays_loose_and_a_wrong_hash_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path());
        s.loose_stored.store(LOOSE_PER_COMMAND, Ordering::Relaxed);
        let big = vec![7u8; PACKED_MAX as usize + 1];
        let h = s.insert_bytes(&big).unwrap();
        assert!(s.loose_path(&h).is_file());
        let wrong = s.insert_verified(&BodyHash::of(b"x"), &mut &b"y"[..]);
        assert!(matches!(wrong, Err(ClientError::Protocol(_))));
        assert!(!s.contains(&BodyHash::of(b"y")));
    }

    #[test]
    fn a_cut_short_pack_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path());
        s.loose_stored.store(LOOSE_PER_COMMAND, Ordering::Relaxed);
        let a = s.insert_bytes(b"first body").unwrap();
        let b = s.insert_bytes(b"second body").unwrap();
        s.flush().unwrap();
        let pack = idx_files(&s.packs_dir()).unwrap()[0].with_extension("pack");
        let len = fs::metadata(&pack).unwrap().len();
        File::options()
            .write(true)
            .open(&pack)
            .unwrap()
            .set_len(len - 3)
            .unwrap();
        let next = store(dir.path());
        assert_eq!(next.read(&a).unwrap(), b"first body");
        assert!(!next.contains(&b));
        match next.read(&b) {
            Err(ClientError::Corrupt { detail, .. }) => {
                assert!(detail.contains("cut short"), "{detail}")
            }
            other => panic!("{:?}", other.map(|_| ())),
        }
    }

    #[test]
    fn many_packs_are_merged() {
        let dir = tempfile::tempdir().unwrap();
        let mut all = Vec::new();
        for round in 0..MAX_PACKS + 1 {
            let s = store(dir.path());
            s.loose_stored.store(LOOSE_PER_COMMAND, Ordering::Relaxed);
            for i in 0..3 {
                all.push(s.insert_bytes(&body(round * 10 + i)).unwrap());
            }
            s.flush().unwrap();
        }
        let s = store(dir.path());
        assert!(count_packs(&s.packs_dir()).unwrap() <= 2);
        for h in &all {
            s.read(h).unwrap();
        }
        let packs = fs::read_dir(s.packs_dir()).unwrap().count();
        assert!(packs <= 4, "{packs} files");
    }
}
