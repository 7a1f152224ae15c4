//! The working copy's index: one entry per versioned item, with its base
//! state (what the server had when we last synced), its scheduled change,
//! and the stat data that lets `status` skip re-reading unchanged files.

use std::collections::BTreeMap;
use std::fs::Metadata;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use zsync_format::ManifestEntry;
use zsync_model::{BodyHash, CommitId, Kind, Oid, Props, RepoPath, Rev};

pub mod disk;

/// Bumped whenever the on-disk format changes incompatibly. Format 1 was
/// JSON (`.zsync/index.json`); it is still read, and replaced by the
/// binary form ([`disk`]) on the next save. Format 2 had no hash of its
/// header alone; it is still read, and replaced by format 3 on the next
/// save.
pub const FORMAT_VERSION: u32 = 3;

/// The oldest binary format still read.
pub const OLDEST_BINARY_FORMAT: u32 = 2;

/// The last JSON format.
pub const JSON_FORMAT_VERSION: u32 = 1;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Schedule {
    #[default]
    Normal,
    Add,
    Delete,
}

/// Stat data of a working file as it was when it last matched its base.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatData {
    pub size: u64,
    pub mtime_ns: i64,
    pub ctime_ns: i64,
    pub ino: u64,
    pub mode: u32,
}

impl StatData {
    pub fn of(meta: &Metadata) -> Self {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            // i64 nanoseconds reach the year 2262; beyond, a stat cache
            // entry just saturates (and compares equal to itself).
            let ns = |s: i64, n: i64| s.saturating_mul(1_000_000_000).saturating_add(n);
            Self {
                size: meta.len(),
                mtime_ns: ns(meta.mtime(), meta.mtime_nsec()),
                ctime_ns: ns(meta.ctime(), meta.ctime_nsec()),
                ino: meta.ino(),
                mode: meta.mode(),
            }
        }
        #[cfg(not(unix))]
        {
            let mtime_ns = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
                .unwrap_or(0);
            Self {
                size: meta.len(),
                mtime_ns,
                ctime_ns: 0,
                ino: 0,
                mode: 0,
            }
        }
    }
}

#[cfg(unix)]
impl StatData {
    /// The same as [`StatData::of`], from a raw `stat`.
    // The field types differ from one Unix to another.
    #[allow(clippy::unnecessary_cast)]
    pub fn of_stat(st: &rustix::fs::Stat) -> Self {
        let ns = |s: i64, n: i64| s.saturating_mul(1_000_000_000).saturating_add(n);
        Self {
            size: st.st_size as u64,
            mtime_ns: ns(st.st_mtime as i64, st.st_mtime_nsec as i64),
            ctime_ns: ns(st.st_ctime as i64, st.st_ctime_nsec as i64),
            ino: st.st_ino as u64,
            mode: st.st_mode as u32,
        }
    }
}

/// Why an item is in conflict. The three versions are kept as data (their
/// bodies are in the pristine store), so a later update never nests markers
/// and `resolve` can rebuild any choice; the side files beside the item are
/// a convenience for the user.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Conflict {
    /// Overlapping text edits: the file holds diff3 markers.
    Text {
        /// File names (in the item's folder) of the user's text, the old
        /// base and the incoming version.
        mine: String,
        old: String,
        new: String,
        /// The bodies of the three versions.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        old_hash: Option<BodyHash>,
        mine_hash: BodyHash,
        their_hash: BodyHash,
    },
    /// Both sides changed a binary body: the file is the user's, `new`
    /// holds the incoming one.
    Binary {
        new: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        old_hash: Option<BodyHash>,
        mine_hash: BodyHash,
        their_hash: BodyHash,
    },
    /// A structural clash (edit vs delete, obstructed add, ...), described
    /// as svn does.
    Tree {
        reason: String,
        /// The incoming change deletes the item (so `theirs-full` deletes it).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        incoming_delete: bool,
    },
}

impl Conflict {
    pub fn is_tree(&self) -> bool {
        matches!(self, Conflict::Tree { .. })
    }

    /// The side files the conflict left beside the item.
    pub fn side_files(&self) -> Vec<&str> {
        match self {
            Conflict::Text { mine, old, new, .. } => vec![mine, old, new],
            Conflict::Binary { new, .. } => vec![new],
            Conflict::Tree { .. } => vec![],
        }
    }
}

/// One property both sides changed differently.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PropClash {
    pub base: Option<String>,
    pub mine: Option<String>,
    pub theirs: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub kind: Kind,
    /// `None` until an added item is committed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oid: Option<Oid>,
    /// The revision that last changed the base (0 for added items).
    #[serde(default)]
    pub rev: Rev,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub author: String,
    /// The base body's hash, whose bytes are in the pristine store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<BodyHash>,
    #[serde(default)]
    pub size: u64,
    /// The base properties, shared by the entries that have the same
    /// (most items of a tree carry the same few).
    #[serde(default, skip_serializing_if = "is_empty")]
    pub props: Arc<Props>,
    /// Properties as the user wants them, when they differ from the base
    /// (and the initial properties of an added item).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_props: Option<Props>,
    #[serde(default)]
    pub schedule: Schedule,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stat: Option<StatData>,
    /// Boxed: rare, and half the size of the rest of an entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conflict: Option<Box<Conflict>>,
    /// Properties in conflict, by name (status column 2 `C`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub prop_conflicts: BTreeMap<String, PropClash>,
    /// Where the item is on the server (its base path, relative to the
    /// working copy's root) when it is somewhere else here: it was moved
    /// (`zsync move`, or with a moved folder) and the move is not yet
    /// committed. Never set on added items.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moved_from: Option<String>,
    /// For a folder of a sparse checkout: how much of it is here
    /// (`None`: all of it, unless its parent is `immediates`, which makes
    /// it `empty`; see `crate::depth`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub depth: Option<crate::depth::Depth>,
    /// The token of the lock this working copy holds on the object
    /// (`zsync lock`); status compares its hash with the server's lock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lock_token: Option<String>,
}

fn is_empty(props: &Arc<Props>) -> bool {
    props.is_empty()
}

impl Entry {
    pub fn set_conflict(&mut self, conflict: Conflict) {
        self.conflict = Some(Box::new(conflict));
    }

    pub fn from_manifest(m: &ManifestEntry) -> Self {
        Self {
            kind: m.kind.clone(),
            oid: Some(m.oid.clone()),
            rev: m.rev,
            author: m.author.clone(),
            hash: m.hash,
            size: m.size,
            props: Arc::new(m.props.clone()),
            new_props: None,
            schedule: Schedule::Normal,
            stat: None,
            conflict: None,
            prop_conflicts: BTreeMap::new(),
            moved_from: None,
            depth: None,
            lock_token: None,
        }
    }

    pub fn added(kind: Kind, props: Props) -> Self {
        Self {
            kind,
            oid: None,
            rev: 0,
            author: String::new(),
            hash: None,
            size: 0,
            props: Arc::default(),
            new_props: Some(props),
            schedule: Schedule::Add,
            stat: None,
            conflict: None,
            prop_conflicts: BTreeMap::new(),
            moved_from: None,
            depth: None,
            lock_token: None,
        }
    }

    /// Whether anything about the item is in conflict.
    pub fn in_conflict(&self) -> bool {
        self.conflict.is_some() || !self.prop_conflicts.is_empty()
    }

    pub fn is_folder(&self) -> bool {
        self.kind.is_folder()
    }

    /// The properties the user wants.
    pub fn working_props(&self) -> &Props {
        self.new_props.as_ref().unwrap_or(&self.props)
    }

    /// The item's path on the server, relative to the working copy's
    /// root, given its key in the index.
    pub fn base_key<'a>(&'a self, key: &'a str) -> &'a str {
        self.moved_from.as_deref().unwrap_or(key)
    }

    pub fn props_modified(&self) -> bool {
        self.schedule != Schedule::Add && self.new_props.as_ref().is_some_and(|p| p != &*self.props)
    }
}

/// The whole index file: where the working copy came from and its entries,
/// keyed by path relative to the working copy's root (`""` is the root).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Index {
    pub format: u32,
    /// The server (`scheme://[user@]host:port`), without any password.
    pub url: String,
    /// The server path of the working copy's root object.
    pub server_root: String,
    /// The revision of the last update of the whole working copy.
    pub rev: Rev,
    /// When the index was last written (ns since the epoch): files
    /// modified this close to it are re-checked (git's racy-clean rule).
    #[serde(default)]
    pub stamp_ns: i128,
    pub entries: BTreeMap<String, Entry>,
    /// What `zsync merge` brought in from each source, so merging again
    /// applies nothing twice.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub merges: BTreeMap<String, MergeRecord>,
    /// A commit sent (or about to be sent) whose answer has not been
    /// recorded: written before the commit goes out, so if the answer is
    /// lost the next `commit` or `update` asks the server by its id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_commit: Option<PendingCommit>,
    /// The last pending commit whose fate this index records (landed and
    /// recorded, or found not to have landed): a pending-commit file with
    /// this id is left over, not pending.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settled_commit: Option<CommitId>,
    /// An update left conflicts, so items may be missing or below `rev`
    /// (an obstructed add is skipped): the next update must compare the
    /// manifest rather than trust the change feed's "nothing new".
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub incomplete: bool,
}

/// See [`Index::pending_commit`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingCommit {
    pub id: CommitId,
    /// What to record in the index for each operation once it is known
    /// to have landed.
    pub items: Vec<PendingItem>,
}

/// One committed item: its index key, path, and for a sent body its hash,
/// size and the stat data of the file it was read from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingItem {
    pub key: String,
    pub rel: RepoPath,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<(BodyHash, u64, StatData)>,
    /// A committed move: the entries that moved along lose their record.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub moved: bool,
}

/// The racy window on a filesystem with whole-second (or coarser)
/// timestamps: two seconds, for FAT's 2 s mtimes.
pub const RACY_WINDOW_COARSE_NS: i128 = 2_000_000_000;

/// The racy window on a filesystem with sub-second timestamps: at least the
/// kernel's timestamp clock tick (files get the coarse clock, which ticks
/// every 1–10 ms at HZ 1000–100), with a margin.
pub const RACY_WINDOW_FINE_NS: i128 = 50_000_000;

impl Index {
    /// Whether the entry at `key` was moved on its own (not only along
    /// with a moved folder): its base path is not its parent's base path
    /// joined with its name. Such an entry becomes one move operation.
    pub fn is_move_root(&self, key: &str) -> bool {
        let Some(entry) = self.entries.get(key) else {
            return false;
        };
        let Some(from) = &entry.moved_from else {
            return false;
        };
        let (parent, name) = match key.rsplit_once('/') {
            Some((parent, name)) => (parent, name),
            None if key.is_empty() => return true,
            None => ("", key),
        };
        let Some(p) = self.entries.get(parent) else {
            return true;
        };
        if p.schedule == Schedule::Add {
            return true;
        }
        let parent_base = p.base_key(parent);
        let along = if parent_base.is_empty() {
            name.to_owned()
        } else {
            format!("{parent_base}/{name}")
        };
        &along != from
    }

    /// How close before [`Index::stamp_ns`] a file's mtime may be and its
    /// stat data still be trusted: an edit within the same timestamp tick
    /// as the recorded one would leave size, mtime and ctime unchanged, so
    /// a file whose mtime is within one tick of the index being written
    /// must be re-read (git's racy-clean rule).
    ///
    /// The tick is measured from the stat data the index already holds:
    /// the largest power of ten dividing every recorded mtime is an upper
    /// bound of the filesystem's timestamp granularity. If every mtime is
    /// a whole second (or there is none to go by), the window is
    /// [`RACY_WINDOW_COARSE_NS`]; otherwise it is that granularity, but at
    /// least [`RACY_WINDOW_FINE_NS`]. So right after a checkout only the
    /// files written in its last few milliseconds are re-read, not those of
    /// its last second.
    pub fn racy_window_ns(&self) -> i128 {
        const SECOND: i128 = 1_000_000_000;
        let mut granularity = SECOND;
        for stat in self.entries.values().filter_map(|e| e.stat.as_ref()) {
            while granularity > 1 && i128::from(stat.mtime_ns) % granularity != 0 {
                granularity /= 10;
            }
            if granularity == 1 {
                break;
            }
        }
        if granularity >= SECOND {
            RACY_WINDOW_COARSE_NS
        } else {
            granularity.max(RACY_WINDOW_FINE_NS)
        }
    }
}

/// One item of a tree as `merge` compares it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MergeNode {
    pub kind: Kind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<BodyHash>,
    #[serde(default, skip_serializing_if = "Props::is_empty")]
    pub props: Props,
}

/// What was last merged from one source.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MergeRecord {
    /// The source working copy's state (path → item) when last merged; the
    /// bodies are in this working copy's pristine store.
    Snapshot(BTreeMap<String, MergeNode>),
    /// Revision ranges `(from, to]` of a server path already merged.
    Revisions(Vec<(Rev, Rev)>),
}

/// `items` (index keys with a value each) grouped by their parent
/// folder's key, in order of first appearance; the top (`""`) has no
/// parent and goes alone under `None`. For work done folder by folder
/// from the parent's open folder (status's stat, a glance's check).
pub(crate) fn by_parent<'k, T>(
    items: impl IntoIterator<Item = (&'k str, T)>,
) -> Vec<(Option<&'k str>, Vec<T>)> {
    let mut groups: Vec<(Option<&str>, Vec<T>)> = Vec::new();
    let mut group_of: rustc_hash::FxHashMap<Option<&str>, usize> = Default::default();
    for (key, item) in items {
        let parent = (!key.is_empty()).then(|| key.rsplit_once('/').map_or("", |(p, _)| p));
        let g = *group_of.entry(parent).or_insert_with(|| {
            groups.push((parent, Vec::new()));
            groups.len() - 1
        });
        groups[g].1.push(item);
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index_with_mtimes(mtimes: &[i64]) -> Index {
        let mut entries = BTreeMap::new();
        for (i, &mtime_ns) in mtimes.iter().enumerate() {
            let mut e = Entry::added(Kind::file(), Props::new());
            e.stat = Some(StatData {
                size: 1,
                mtime_ns,
                ctime_ns: mtime_ns,
                ino: i as u64,
                mode: 0o100644,
            });
            entries.insert(format!("f{i}"), e);
        }
        Index {
            format: FORMAT_VERSION,
            url: String::new(),
            server_root: String::new(),
            rev: 0,
            stamp_ns: 0,
            entries,
            merges: BTreeMap::new(),
            pending_commit: None,
            settled_commit: None,
            incomplete: false,
        }
    }

    #[test]
    fn racy_window_follows_the_timestamp_granularity() {
        const S: i64 = 1_000_000_000;
        // Nothing to go by, or whole seconds only: the coarse window.
        assert_eq!(
            index_with_mtimes(&[]).racy_window_ns(),
            RACY_WINDOW_COARSE_NS
        );
        assert_eq!(
            index_with_mtimes(&[1_700_000_000 * S, 1_700_000_002 * S]).racy_window_ns(),
            RACY_WINDOW_COARSE_NS
        );
        // Nanoseconds: the fine window.
        assert_eq!(
            index_with_mtimes(&[1_700_000_000 * S, 1_700_000_000 * S + 123_456_789])
                .racy_window_ns(),
            RACY_WINDOW_FINE_NS
        );
        // 100 ms steps: the granularity itself, above the fine floor.
        assert_eq!(
            index_with_mtimes(&[1_700_000_000 * S + 100_000_000, 1_700_000_001 * S])
                .racy_window_ns(),
            100_000_000
        );
    }
}
