//! The working copy's index: one entry per versioned item, with its base
//! state (what the server had when we last synced), its scheduled change,
//! and the stat data that lets `status` skip re-reading unchanged files.

use std::collections::BTreeMap;
use std::fs::Metadata;

use serde::{Deserialize, Serialize};
use zsync_format::ManifestEntry;
use zsync_model::{BodyHash, Kind, Oid, Props, Rev};

/// Bumped whenever the on-disk format changes incompatibly.
pub const FORMAT_VERSION: u32 = 1;

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
    pub mtime_ns: i128,
    pub ctime_ns: i128,
    pub ino: u64,
    pub mode: u32,
}

impl StatData {
    pub fn of(meta: &Metadata) -> Self {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            let ns = |s: i64, n: i64| s as i128 * 1_000_000_000 + n as i128;
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
                .map(|d| d.as_nanos() as i128)
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

/// Why an item is in conflict. The side files live beside the item.
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
    },
    /// Both sides changed a binary body: the file is the user's, `new`
    /// holds the incoming one.
    Binary { new: String },
    /// A structural clash (edit vs delete, obstructed add, ...).
    Tree { reason: String },
}

impl Conflict {
    pub fn is_tree(&self) -> bool {
        matches!(self, Conflict::Tree { .. })
    }

    /// The side files the conflict left beside the item.
    pub fn side_files(&self) -> Vec<&str> {
        match self {
            Conflict::Text { mine, old, new } => vec![mine, old, new],
            Conflict::Binary { new } => vec![new],
            Conflict::Tree { .. } => vec![],
        }
    }
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
    /// The base properties.
    #[serde(default, skip_serializing_if = "Props::is_empty")]
    pub props: Props,
    /// Properties as the user wants them, when they differ from the base
    /// (and the initial properties of an added item).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_props: Option<Props>,
    #[serde(default)]
    pub schedule: Schedule,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stat: Option<StatData>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conflict: Option<Conflict>,
}

impl Entry {
    pub fn from_manifest(m: &ManifestEntry) -> Self {
        Self {
            kind: m.kind.clone(),
            oid: Some(m.oid.clone()),
            rev: m.rev,
            author: m.author.clone(),
            hash: m.hash,
            size: m.size,
            props: m.props.clone(),
            new_props: None,
            schedule: Schedule::Normal,
            stat: None,
            conflict: None,
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
            props: Props::new(),
            new_props: Some(props),
            schedule: Schedule::Add,
            stat: None,
            conflict: None,
        }
    }

    pub fn is_folder(&self) -> bool {
        self.kind.is_folder()
    }

    /// The properties the user wants.
    pub fn working_props(&self) -> &Props {
        self.new_props.as_ref().unwrap_or(&self.props)
    }

    pub fn props_modified(&self) -> bool {
        self.schedule != Schedule::Add && self.new_props.as_ref().is_some_and(|p| p != &self.props)
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
}
