//! The index on disk: a compact binary file, read and written in one go.
//!
//! JSON made every command of a large working copy parse megabytes (7.7 MB
//! at 20,000 files, most of a clean `status`). This form is a third of
//! that and decodes without a parser: keys are sorted, so each shares a
//! prefix with the one before; repeated strings (kinds, authors, property
//! names and values) are stored once; ids and hashes are raw bytes. What
//! is rare (conflicts, moves, sparse depths, locks, the pending commit,
//! merge records) stays JSON inside it, so those types evolve without
//! code here.
//!
//! Layout: [`MAGIC`], the format (u32 LE), a JSON header, a BLAKE3 hash of
//! everything before it, the string table, the entries, and a BLAKE3 hash
//! of everything before that, so a damaged file is refused rather than
//! half-read. The header's own hash lets a no-op update read and trust
//! the header alone: it stays flat as the tree grows (format 2 had only
//! the hash at the end, so the whole file had to be read and hashed).

use std::collections::BTreeMap;
use std::sync::Arc;

// Fx: the keys are small and ours (no untrusted input to flood a table).
use rustc_hash::FxHashMap as HashMap;
use serde::{Deserialize, Serialize};
use zsync_model::{BodyHash, CommitId, Kind, Oid, Props};

use super::{Conflict, Entry, FORMAT_VERSION, Index, MergeRecord, PendingCommit, PropClash};
use super::{Schedule, StatData};
use crate::depth::Depth;
use crate::glance::Glance;

pub const MAGIC: &[u8; 8] = b"zsyncidx";

const HAS_OID: u8 = 1;
const HAS_HASH: u8 = 1 << 1;
const HAS_STAT: u8 = 1 << 2;
const HAS_EXTRA: u8 = 1 << 3;
const SCHEDULE_SHIFT: u8 = 4;

/// The index's fields other than its entries.
#[derive(Serialize, Deserialize)]
struct Header {
    url: String,
    server_root: String,
    rev: u64,
    #[serde(default)]
    stamp_ns: i128,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    merges: BTreeMap<String, MergeRecord>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pending_commit: Option<PendingCommit>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    settled_commit: Option<CommitId>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    incomplete: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    glance: Option<Glance>,
}

/// What a no-op update reads: the index's header, not its entries.
pub struct Head {
    pub url: String,
    pub server_root: String,
    pub rev: u64,
    pub glance: Option<Glance>,
}

/// An entry's rarely set fields.
#[derive(Default, Serialize, Deserialize)]
struct Extra {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    new_props: Option<Props>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    conflict: Option<Box<Conflict>>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    prop_conflicts: BTreeMap<String, PropClash>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    moved_from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    depth: Option<Depth>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    lock_token: Option<String>,
}

impl Extra {
    fn of(entry: &Entry) -> Option<Self> {
        // Most entries have none: nothing is cloned for them.
        let empty = entry.new_props.is_none()
            && entry.conflict.is_none()
            && entry.prop_conflicts.is_empty()
            && entry.moved_from.is_none()
            && entry.depth.is_none()
            && entry.lock_token.is_none();
        (!empty).then(|| Self {
            new_props: entry.new_props.clone(),
            conflict: entry.conflict.clone(),
            prop_conflicts: entry.prop_conflicts.clone(),
            moved_from: entry.moved_from.clone(),
            depth: entry.depth,
            lock_token: entry.lock_token.clone(),
        })
    }
}

/// Whether `data` is a binary index (rather than a format-1 JSON one).
pub fn is_binary(data: &[u8]) -> bool {
    data.starts_with(MAGIC)
}

/// The format number a binary index declares, read before anything else
/// so a newer one is refused as newer, not as damaged.
pub fn format_of(data: &[u8]) -> Option<u32> {
    let bytes = data.get(MAGIC.len()..MAGIC.len() + 4)?;
    Some(u32::from_le_bytes(bytes.try_into().ok()?))
}

/// Encodes `index`, with the `glance` an update saves for the next no-op.
pub fn encode(index: &Index, glance: Option<&Glance>) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(64 + index.entries.len() * 96);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    let header = serde_json::to_vec(&Header {
        url: index.url.clone(),
        server_root: index.server_root.clone(),
        rev: index.rev,
        stamp_ns: index.stamp_ns,
        merges: index.merges.clone(),
        pending_commit: index.pending_commit.clone(),
        settled_commit: index.settled_commit.clone(),
        incomplete: index.incomplete,
        glance: glance.cloned(),
    })
    .map_err(|e| e.to_string())?;
    put_bytes(&mut out, &header);
    let head_sum = BodyHash::of(&out);
    out.extend_from_slice(head_sum.as_bytes());

    let mut strings = Strings::default();
    // Entries share a few property maps (see `decode_payload`) and mostly
    // one author and a few kinds: each is looked up once, not per entry.
    let mut props_ids: HashMap<*const Props, Vec<u64>> = HashMap::default();
    let mut last_author: Option<(&str, u64)> = None;
    let mut last_kind: Option<(&str, u64)> = None;
    let mut body = Vec::with_capacity(index.entries.len() * 96);
    put_varint(&mut body, index.entries.len() as u64);
    let mut previous = "";
    for (key, entry) in &index.entries {
        let shared = common_prefix(previous, key);
        put_varint(&mut body, shared as u64);
        put_bytes(&mut body, &key.as_bytes()[shared..]);
        previous = key;

        let extra = Extra::of(entry);
        let schedule = match entry.schedule {
            Schedule::Normal => 0,
            Schedule::Add => 1,
            Schedule::Delete => 2,
        };
        let bit = |set: bool, flag: u8| if set { flag } else { 0 };
        let flags = bit(entry.oid.is_some(), HAS_OID)
            | bit(entry.hash.is_some(), HAS_HASH)
            | bit(entry.stat.is_some(), HAS_STAT)
            | bit(extra.is_some(), HAS_EXTRA)
            | (schedule << SCHEDULE_SHIFT);
        body.push(flags);
        put_varint(
            &mut body,
            cached_id(&mut strings, &mut last_kind, entry.kind.as_str()),
        );
        if let Some(oid) = &entry.oid {
            let raw = oid
                .to_bytes()
                .ok_or_else(|| format!("entry {key:?}: a malformed object id"))?;
            body.extend_from_slice(&raw);
        }
        put_varint(&mut body, entry.rev);
        put_varint(
            &mut body,
            cached_id(&mut strings, &mut last_author, &entry.author),
        );
        if let Some(hash) = &entry.hash {
            body.extend_from_slice(hash.as_bytes());
        }
        put_varint(&mut body, entry.size);
        let ids = props_ids
            .entry(Arc::as_ptr(&entry.props))
            .or_insert_with(|| {
                entry
                    .props
                    .iter()
                    .flat_map(|(name, value)| [strings.id(name), strings.id(value)])
                    .collect()
            });
        put_varint(&mut body, entry.props.len() as u64);
        for &id in ids.iter() {
            put_varint(&mut body, id);
        }
        if let Some(stat) = &entry.stat {
            put_varint(&mut body, stat.size);
            put_signed(&mut body, stat.mtime_ns.into());
            put_signed(&mut body, stat.ctime_ns.into());
            put_varint(&mut body, stat.ino);
            put_varint(&mut body, u64::from(stat.mode));
        }
        if let Some(extra) = extra {
            put_bytes(
                &mut body,
                &serde_json::to_vec(&extra).map_err(|e| e.to_string())?,
            );
        }
    }
    put_varint(&mut out, strings.list.len() as u64);
    for s in &strings.list {
        put_bytes(&mut out, s.as_bytes());
    }
    out.extend_from_slice(&body);
    let sum = BodyHash::of(&out);
    out.extend_from_slice(sum.as_bytes());
    Ok(out)
}

/// Decodes a whole index file, and the glance it holds.
pub fn decode(data: &[u8]) -> Result<(Index, Option<Glance>), String> {
    decode_payload(verified(data)?)
}

/// How many bytes from the start of an index file its header and the
/// header's hash take, as far as `start` (at least the first 16 bytes)
/// tells; `None` if `start` is no index this version can read by its head.
pub fn head_len(start: &[u8]) -> Option<usize> {
    if !is_binary(start) || format_of(start)? != FORMAT_VERSION {
        return None;
    }
    let mut r = Reader {
        data: start,
        pos: MAGIC.len() + 4,
    };
    let n = usize::try_from(r.varint().ok()?).ok()?;
    r.pos.checked_add(n)?.checked_add(32)
}

/// Decodes the header only, from the first [`head_len`] bytes of the
/// file (or more), checked by its own hash; a pending commit or an
/// incomplete update leaves no glance to use.
pub fn decode_head(start: &[u8]) -> Result<Head, String> {
    let len = head_len(start).ok_or("not an index whose header can be read alone")?;
    let head = start.get(..len).ok_or("the index file is truncated")?;
    let payload = crate::fsutil::checked_payload(head)
        .ok_or("the index file is damaged (its header's checksum does not match)")?;
    let (header, _) = header(payload)?;
    let usable = header.pending_commit.is_none() && !header.incomplete;
    Ok(Head {
        url: header.url,
        server_root: header.server_root,
        rev: header.rev,
        glance: header.glance.filter(|_| usable),
    })
}

/// The payload of a whole index file whose checksum matches.
fn verified(data: &[u8]) -> Result<&[u8], String> {
    let payload_len = data
        .len()
        .checked_sub(32)
        .filter(|&n| n >= MAGIC.len() + 4)
        .ok_or("the index file is truncated")?;
    if !is_binary(&data[..payload_len]) {
        return Err("not a zsync index file".into());
    }
    crate::fsutil::checked_payload(data)
        .ok_or_else(|| "the index file is damaged (its checksum does not match)".into())
}

fn header(payload: &[u8]) -> Result<(Header, Reader<'_>), String> {
    if !is_binary(payload) {
        return Err("not a zsync index file".into());
    }
    let mut r = Reader {
        data: payload,
        pos: MAGIC.len() + 4,
    };
    let header: Header =
        serde_json::from_slice(r.bytes()?).map_err(|e| format!("index header: {e}"))?;
    Ok((header, r))
}

/// Decodes an index without its trailing checksum (for fuzzing, which
/// could not get past the checksum otherwise), and its glance.
pub fn decode_payload(payload: &[u8]) -> Result<(Index, Option<Glance>), String> {
    let (header, mut r) = header(payload)?;
    let format = format_of(payload).ok_or("the index file is truncated")?;
    if format >= 3 {
        // The header's own hash; the one at the end covers it too.
        r.array::<32>()?;
    }

    let count = r.len()?;
    let mut strings = Vec::with_capacity(count);
    for _ in 0..count {
        strings.push(r.str()?.to_owned());
    }
    // A kind is validated once per distinct string, not once per entry.
    let mut kinds: HashMap<usize, Kind> = HashMap::default();
    let string = |id: u64| -> Result<&String, String> {
        usize::try_from(id)
            .ok()
            .and_then(|i| strings.get(i))
            .ok_or_else(|| format!("string {id} is not in the table"))
    };

    // Entries with the same properties share one map: most items of a
    // tree carry the same few.
    let mut shared_props: HashMap<Vec<(u64, u64)>, Arc<Props>> = HashMap::default();
    let mut prop_ids: Vec<(u64, u64)> = Vec::new();
    let count = r.len()?;
    let mut entries = Vec::with_capacity(count);
    let mut key = String::new();
    for _ in 0..count {
        let shared = usize::try_from(r.varint()?).map_err(|e| e.to_string())?;
        let suffix = r.str()?;
        if shared > key.len() || !key.is_char_boundary(shared) {
            return Err("an entry's key is malformed".into());
        }
        key.truncate(shared);
        key.push_str(suffix);

        let flags = r.u8()?;
        let kind_id = r.varint()?;
        let kind = match kinds.get(&(kind_id as usize)) {
            Some(kind) => kind.clone(),
            None => {
                let kind = Kind::new(string(kind_id)?)?;
                kinds.insert(kind_id as usize, kind.clone());
                kind
            }
        };
        let oid = if flags & HAS_OID != 0 {
            Some(Oid::from_bytes(r.array::<16>()?))
        } else {
            None
        };
        let rev = r.varint()?;
        let author = string(r.varint()?)?.clone();
        let hash = if flags & HAS_HASH != 0 {
            Some(BodyHash::from_bytes(r.array::<32>()?))
        } else {
            None
        };
        let size = r.varint()?;
        prop_ids.clear();
        for _ in 0..r.len()? {
            prop_ids.push((r.varint()?, r.varint()?));
        }
        let props = match shared_props.get(prop_ids.as_slice()) {
            Some(props) => props.clone(),
            None => {
                let mut props = Props::new();
                for &(name, value) in &prop_ids {
                    props.insert(string(name)?.clone(), string(value)?.clone());
                }
                let props = Arc::new(props);
                shared_props.insert(prop_ids.clone(), props.clone());
                props
            }
        };
        let stat = if flags & HAS_STAT != 0 {
            Some(StatData {
                size: r.varint()?,
                mtime_ns: r.signed64()?,
                ctime_ns: r.signed64()?,
                ino: r.varint()?,
                mode: u32::try_from(r.varint()?).map_err(|e| e.to_string())?,
            })
        } else {
            None
        };
        let extra: Extra = if flags & HAS_EXTRA != 0 {
            serde_json::from_slice(r.bytes()?).map_err(|e| format!("entry {key:?}: {e}"))?
        } else {
            Extra::default()
        };
        let schedule = match flags >> SCHEDULE_SHIFT {
            0 => Schedule::Normal,
            1 => Schedule::Add,
            2 => Schedule::Delete,
            other => return Err(format!("entry {key:?} has unknown schedule {other}")),
        };
        entries.push((
            key.clone(),
            Entry {
                kind,
                oid,
                rev,
                author,
                hash,
                size,
                props,
                new_props: extra.new_props,
                schedule,
                stat,
                conflict: extra.conflict,
                prop_conflicts: extra.prop_conflicts,
                moved_from: extra.moved_from,
                depth: extra.depth,
                lock_token: extra.lock_token,
            },
        ));
    }
    if r.pos != payload.len() {
        return Err("the index file has bytes after its entries".into());
    }
    if entries.windows(2).any(|w| w[0].0 >= w[1].0) {
        return Err("the index's entries are out of order".into());
    }
    let index = Index {
        format,
        url: header.url,
        server_root: header.server_root,
        rev: header.rev,
        stamp_ns: header.stamp_ns,
        // Sorted already: the map is built in one pass.
        entries: entries.into_iter().collect(),
        merges: header.merges,
        pending_commit: header.pending_commit,
        settled_commit: header.settled_commit,
        incomplete: header.incomplete,
    };
    Ok((index, header.glance))
}

/// Interned strings, numbered in order of first use.
#[derive(Default)]
struct Strings<'a> {
    ids: HashMap<&'a str, u64>,
    list: Vec<&'a str>,
}

impl<'a> Strings<'a> {
    fn id(&mut self, s: &'a str) -> u64 {
        *self.ids.entry(s).or_insert_with(|| {
            self.list.push(s);
            self.list.len() as u64 - 1
        })
    }
}

/// The string's id, asked of `strings` only when it is not `last`'s.
fn cached_id<'a>(strings: &mut Strings<'a>, last: &mut Option<(&'a str, u64)>, s: &'a str) -> u64 {
    match *last {
        Some((l, id)) if l == s => id,
        _ => {
            let id = strings.id(s);
            *last = Some((s, id));
            id
        }
    }
}

fn common_prefix(a: &str, b: &str) -> usize {
    let mut n = a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count();
    while !b.is_char_boundary(n) {
        n -= 1;
    }
    n
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Zigzag, so small negative numbers stay short too.
fn put_signed(out: &mut Vec<u8>, v: i128) {
    let mut z = ((v << 1) ^ (v >> 127)) as u128;
    while z >= 0x80 {
        out.push((z as u8) | 0x80);
        z >>= 7;
    }
    out.push(z as u8);
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// Reads a damaged file without panicking: every read is bounds-checked.
struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&end| end <= self.data.len())
            .ok_or("the index file ends in the middle of an entry")?;
        let bytes = &self.data[self.pos..end];
        self.pos = end;
        Ok(bytes)
    }

    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let mut a = [0; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    fn varint(&mut self) -> Result<u64, String> {
        let mut v: u64 = 0;
        for shift in (0..64).step_by(7) {
            let b = self.u8()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err("a number in the index file is too long".into())
    }

    fn signed(&mut self) -> Result<i128, String> {
        let mut z: u128 = 0;
        for shift in (0..128).step_by(7) {
            let b = self.u8()?;
            z |= u128::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok((z >> 1) as i128 ^ -((z & 1) as i128));
            }
        }
        Err("a number in the index file is too long".into())
    }

    fn signed64(&mut self) -> Result<i64, String> {
        i64::try_from(self.signed()?).map_err(|_| "a time in the index file is out of range".into())
    }

    /// A count, which cannot exceed the bytes left (each counted thing
    /// takes at least one): a damaged count never allocates wildly.
    fn len(&mut self) -> Result<usize, String> {
        let n = self.varint()?;
        usize::try_from(n)
            .ok()
            .filter(|&n| n <= self.data.len() - self.pos)
            .ok_or_else(|| format!("a count in the index file ({n}) is larger than the file"))
    }

    fn bytes(&mut self) -> Result<&'a [u8], String> {
        let n = self.len()?;
        self.take(n)
    }

    fn str(&mut self) -> Result<&'a str, String> {
        std::str::from_utf8(self.bytes()?).map_err(|e| format!("index text: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::PendingItem;
    use zsync_model::{CommitId, RepoPath};

    fn sample() -> Index {
        let mut entries = BTreeMap::new();
        let mut folder = Entry::added(Kind::folder(), Props::new());
        folder.schedule = Schedule::Normal;
        folder.oid = Some(Oid::root());
        folder.new_props = None;
        entries.insert(String::new(), folder);
        let mut file = Entry::added(Kind::document(), Props::new());
        file.schedule = Schedule::Normal;
        file.oid = Some(Oid::random());
        file.rev = 7;
        file.author = "zsync".into();
        file.hash = Some(BodyHash::of(b"hello"));
        file.size = 5;
        Arc::make_mut(&mut file.props).insert("content_type".into(), "text/html".into());
        file.new_props = None;
        file.stat = Some(StatData {
            size: 5,
            mtime_ns: 1_795_672_905_093_143_587,
            ctime_ns: -3,
            ino: 7_750_175,
            mode: 0o100644,
        });
        entries.insert("a/b.html".into(), file.clone());
        let mut moved = file.clone();
        moved.moved_from = Some("a/b.html".into());
        moved.depth = Some(Depth::Files);
        moved.lock_token = Some("tok".into());
        moved.set_conflict(Conflict::Tree {
            reason: "local edit, incoming delete".into(),
            incoming_delete: true,
        });
        entries.insert("a/b2.html".into(), moved);
        entries.insert(
            "a/é".into(),
            Entry::added(Kind::file(), Props::from([("x".into(), "y".into())])),
        );
        let mut deleted = file;
        deleted.schedule = Schedule::Delete;
        entries.insert("a/ü".into(), deleted);
        Index {
            format: FORMAT_VERSION,
            url: "http://zsync@127.0.0.1:8080/".into(),
            server_root: "demo".into(),
            rev: 9,
            stamp_ns: 1_795_672_907_996_843_211,
            entries,
            merges: BTreeMap::from([("x".into(), MergeRecord::Revisions(vec![(1, 2)]))]),
            pending_commit: Some(PendingCommit {
                id: CommitId::random(),
                items: vec![PendingItem {
                    key: "a".into(),
                    rel: RepoPath::parse("a").unwrap(),
                    body: None,
                    moved: false,
                }],
            }),
            settled_commit: Some(CommitId::random()),
            incomplete: true,
        }
    }

    fn same(a: &Index, b: &Index) {
        assert_eq!(
            serde_json::to_value(a).unwrap(),
            serde_json::to_value(b).unwrap()
        );
    }

    #[test]
    fn every_field_round_trips() {
        let index = sample();
        let data = encode(&index, None).unwrap();
        same(&decode(&data).unwrap().0, &index);
        assert_eq!(format_of(&data), Some(FORMAT_VERSION));
    }

    #[test]
    fn the_head_reads_alone_and_is_checked() {
        let mut index = sample();
        index.pending_commit = None;
        index.incomplete = false;
        let glance = Glance {
            since_ns: 5,
            racy_ns: 1,
            folders: vec!["".into(), "a".into()],
            changed: BTreeMap::new(),
        };
        let data = encode(&index, Some(&glance)).unwrap();
        let len = head_len(&data[..16]).unwrap();
        assert!(len < data.len() / 2, "{len} of {}", data.len());
        let head = decode_head(&data[..len]).unwrap();
        assert_eq!((head.rev, head.glance), (9, Some(glance)));
        assert!(decode_head(&data[..len - 1]).is_err());
        for at in [13, len / 2, len - 1] {
            let mut damaged = data.clone();
            damaged[at] ^= 0x20;
            assert!(decode_head(&damaged).is_err(), "damage at {at}");
        }
    }

    /// Format 2 had no hash after the header: it is still read whole.
    #[test]
    fn a_format_2_index_is_still_read() {
        let index = sample();
        let data = encode(&index, None).unwrap();
        let len = head_len(&data).unwrap();
        let mut old = data[..len - 32].to_vec();
        old[MAGIC.len()..MAGIC.len() + 4].copy_from_slice(&2u32.to_le_bytes());
        old.extend_from_slice(&data[len..data.len() - 32]);
        let sum = BodyHash::of(&old);
        old.extend_from_slice(sum.as_bytes());
        let (back, _) = decode(&old).unwrap();
        assert_eq!(back.format, 2);
        same(
            &Index {
                format: FORMAT_VERSION,
                ..back
            },
            &index,
        );
        // Its head cannot be trusted alone.
        assert_eq!(head_len(&old), None);
    }

    #[test]
    fn damage_anywhere_is_refused_not_misread() {
        let data = encode(&sample(), None).unwrap();
        for i in (0..data.len()).step_by(7) {
            let mut bad = data.clone();
            bad[i] ^= 0x20;
            assert!(decode(&bad).is_err(), "flipped byte {i} went unnoticed");
        }
        for len in [0, 8, 12, data.len() / 2, data.len() - 1] {
            assert!(decode(&data[..len]).is_err(), "truncated to {len}");
        }
    }

    #[test]
    fn a_large_index_is_far_smaller_than_its_json() {
        let mut index = sample();
        let template = index.entries["a/b.html"].clone();
        for i in 0..2000u32 {
            let mut e = template.clone();
            e.oid = Some(Oid::random());
            e.hash = Some(BodyHash::of(&i.to_le_bytes()));
            index
                .entries
                .insert(format!("section{}/page{}/doc{i}.html", i % 7, i % 50), e);
        }
        let data = encode(&index, None).unwrap();
        let json = serde_json::to_vec(&index).unwrap();
        assert!(
            data.len() * 2 < json.len(),
            "{} vs {}",
            data.len(),
            json.len()
        );
        same(&decode(&data).unwrap().0, &index);
    }
}
