//! Sparse working copies: how much of each folder is checked out.
//!
//! A folder's depth is kept on its index entry (`Entry::depth`): `empty`
//! (none of its children), `files` (its non-folder children), `immediates`
//! (all children, child folders `empty`) or `infinity` (everything; what
//! `None` means, except below an `immediates` folder, where a folder
//! without a depth of its own is `empty`). Checkout and update filter the
//! server's manifest through [`Scope`], so what lies outside the depth is
//! neither fetched nor, being absent from the index, reported missing by
//! `status` or deleted by `commit`.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use zsync_format::ManifestEntry;
use zsync_model::RepoPath;

use crate::error::{ClientError, Result};
use crate::index::{Entry, Index, Schedule};
use crate::session::{Context, Target};
use crate::status::{LocalState, local_state};
use crate::ui::Notification;
use crate::wc::WorkingCopy;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Depth {
    Empty,
    Files,
    Immediates,
    Infinity,
}

impl FromStr for Depth {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "empty" => Ok(Depth::Empty),
            "files" => Ok(Depth::Files),
            "immediates" => Ok(Depth::Immediates),
            "infinity" => Ok(Depth::Infinity),
            other => Err(format!(
                "unknown depth {other:?}: use empty, files, immediates or infinity"
            )),
        }
    }
}

impl fmt::Display for Depth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Depth::Empty => "empty",
            Depth::Files => "files",
            Depth::Immediates => "immediates",
            Depth::Infinity => "infinity",
        })
    }
}

impl Depth {
    /// Whether a folder of this depth holds a child of this kind.
    fn holds(self, child_is_folder: bool) -> bool {
        match self {
            Depth::Empty => false,
            Depth::Files => !child_is_folder,
            Depth::Immediates | Depth::Infinity => true,
        }
    }
}

/// The effective depth of a folder, given its entry (if it has one) and
/// its parent's effective depth.
fn effective(own: Option<&Entry>, parent: Depth) -> Depth {
    match own.and_then(|e| e.depth) {
        Some(d) => d,
        None if parent == Depth::Immediates => Depth::Empty,
        None => Depth::Infinity,
    }
}

/// Decides, parents before children, which items a working copy holds.
pub struct Scope<'a> {
    entries: &'a BTreeMap<String, Entry>,
    /// Folders held, by path relative to the root, with their depth.
    folders: HashMap<String, Depth>,
}

impl<'a> Scope<'a> {
    pub fn new(entries: &'a BTreeMap<String, Entry>) -> Self {
        Self {
            entries,
            folders: HashMap::new(),
        }
    }

    /// Whether the item at `rel` belongs in the working copy; call for
    /// parents before their children. The working copy's root, and the
    /// first path asked about if its parent was never seen (the top of an
    /// update of a subfolder), always belong.
    pub fn holds(&mut self, rel: &RepoPath, is_folder: bool) -> bool {
        let own = self.entries.get(rel.as_str());
        let parent_depth = match rel.parent() {
            None => Depth::Infinity,
            Some(p) => match self.folders.get(p.as_str()) {
                Some(d) => *d,
                // The top of a partial walk: its place is as the index
                // says, through its ancestors.
                None if self.folders.is_empty() => {
                    let pd = self.depth_of_parent(rel);
                    if is_folder {
                        self.folders
                            .insert(rel.as_str().to_owned(), effective(own, pd));
                    }
                    return true;
                }
                None => return false,
            },
        };
        if rel.parent().is_some() && !parent_depth.holds(is_folder) {
            return false;
        }
        if is_folder {
            self.folders
                .insert(rel.as_str().to_owned(), effective(own, parent_depth));
        }
        true
    }

    /// The effective depth of `rel`'s parent, from the index alone.
    fn depth_of_parent(&self, rel: &RepoPath) -> Depth {
        let mut depth = Depth::Infinity;
        let mut path = RepoPath::root();
        let Some(parent) = rel.parent() else {
            return depth;
        };
        depth = effective(self.entries.get(""), depth);
        for c in parent.components() {
            let Ok(next) = path.join(c) else {
                return depth;
            };
            path = next;
            depth = effective(self.entries.get(path.as_str()), depth);
        }
        depth
    }

    /// Keeps the entries of a manifest rooted at `base` (relative to the
    /// working copy's root) that belong.
    pub fn filter(&mut self, base: &RepoPath, entries: Vec<ManifestEntry>) -> Vec<ManifestEntry> {
        entries
            .into_iter()
            .filter(|e| match base.join_path(&e.path) {
                Ok(rel) => self.holds(&rel, e.kind.is_folder()),
                Err(_) => true,
            })
            .collect()
    }
}

/// Whether an item new on the server at `rel` would arrive in an update
/// (for `status -u`): its nearest ancestor here must hold such a child.
pub fn would_arrive(index: &Index, rel: &RepoPath) -> bool {
    let mut ancestor = rel.parent();
    while let Some(a) = ancestor {
        if index.entries.contains_key(a.as_str()) {
            let scope = Scope::new(&index.entries);
            let d = effective(index.entries.get(a.as_str()), scope.depth_of_parent(&a));
            return match d {
                Depth::Infinity => true,
                // The kind is unknown here: a file would arrive.
                Depth::Files | Depth::Immediates => rel.parent().as_ref() == Some(&a),
                Depth::Empty => false,
            };
        }
        ancestor = a.parent();
    }
    true
}

/// What `update --set-depth` removed and kept.
#[derive(Debug, Default)]
pub struct Narrowed {
    pub removed: usize,
    /// Folders left on disk because they hold unversioned files.
    pub kept_dirs: Vec<RepoPath>,
}

/// Sets the depth of the folder `rel` and removes the items now outside
/// it; the caller then updates, which brings in what a wider depth adds.
/// Refuses, changing nothing, if an item to remove has local changes.
pub fn set_depth(ctx: &Context, target: &Target, depth: Depth) -> Result<Narrowed> {
    let mut wc = WorkingCopy::open(&target.root)?;
    wc.lock()?;
    wc.check_not_interrupted()?;
    let mut narrowed = Narrowed::default();
    for rel in &target.paths {
        let Some(entry) = wc.index.entries.get(rel.as_str()) else {
            return Err(ClientError::refused(
                ctx.display(&wc.abs(rel)),
                "is not under version control",
            ));
        };
        if !entry.is_folder() {
            return Err(ClientError::refused(
                ctx.display(&wc.abs(rel)),
                "is not a folder; only folders have a depth",
            ));
        }
        let mut index = wc.index.clone();
        apply_depth(&mut index, rel, depth);
        let outside = outside(&index);
        // Nothing local is lost: refuse if anything to drop was changed.
        let mut changed = Vec::new();
        for out in &outside {
            if let Some(e) = wc.index.entries.get(out.as_str()) {
                let (state, _) = local_state(&wc, out, e)?;
                if e.schedule != Schedule::Normal
                    || e.in_conflict()
                    || e.props_modified()
                    || e.moved_from.is_some()
                    || !matches!(state, LocalState::Clean | LocalState::Missing)
                {
                    changed.push(ctx.display(&wc.abs(out)));
                }
            }
        }
        if !changed.is_empty() {
            return Err(ClientError::refused(
                ctx.display(&wc.abs(rel)),
                format!(
                    "cannot be narrowed to {depth}: these items have local changes \
                     (commit or revert them first): {}",
                    changed.join(", ")
                ),
            ));
        }
        // Files first, then folders deepest first, so a folder is empty
        // when its turn comes unless it holds unversioned files.
        let mut order = outside.clone();
        order.sort_by_key(|p| {
            let folder = wc
                .index
                .entries
                .get(p.as_str())
                .is_some_and(Entry::is_folder);
            (folder, std::cmp::Reverse(p.depth()))
        });
        for out in &order {
            let abs = wc.abs(out);
            let folder = wc
                .index
                .entries
                .get(out.as_str())
                .is_some_and(Entry::is_folder);
            let gone = if folder {
                std::fs::remove_dir(&abs)
            } else {
                std::fs::remove_file(&abs)
            };
            match gone {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(_) if folder => narrowed.kept_dirs.push(out.clone()),
                Err(e) => return Err(ClientError::io(&abs)(e)),
            }
            index.entries.remove(out.as_str());
            narrowed.removed += 1;
            ctx.ui.notify(Notification::Update {
                columns: "D   ".into(),
                path: ctx.display(&abs),
            });
        }
        for kept in &narrowed.kept_dirs {
            ctx.ui.notify(Notification::Warning(format!(
                "kept {}: it holds unversioned files",
                ctx.display(&wc.abs(kept))
            )));
        }
        // A wider depth needs the manifest, not the feed's "nothing new".
        index.incomplete = true;
        wc.index = index;
        wc.save()?;
    }
    Ok(narrowed)
}

/// Records `depth` on the folder `rel`: `infinity` clears the depths
/// below it (everything comes in), `immediates` makes its child folders
/// `empty`.
fn apply_depth(index: &mut Index, rel: &RepoPath, depth: Depth) {
    let key = rel.as_str().to_owned();
    let below = |k: &str| RepoPath::parse(k).is_ok_and(|p| p != *rel && rel.contains(&p));
    for (k, e) in index.entries.iter_mut() {
        if !e.is_folder() || !below(k) {
            continue;
        }
        match depth {
            Depth::Infinity => e.depth = None,
            Depth::Immediates => {
                if RepoPath::parse(k).ok().and_then(|p| p.parent()).as_ref() == Some(rel) {
                    e.depth = Some(Depth::Empty);
                }
            }
            Depth::Empty | Depth::Files => {}
        }
    }
    if let Some(e) = index.entries.get_mut(&key) {
        e.depth = Some(depth);
    }
}

/// The index entries that lie outside the depths the index records.
fn outside(index: &Index) -> Vec<RepoPath> {
    let mut scope = Scope::new(&index.entries);
    let mut out = Vec::new();
    let mut keys: Vec<RepoPath> = index
        .entries
        .keys()
        .filter_map(|k| RepoPath::parse(k).ok())
        .collect();
    // Parents before children.
    keys.sort_by(|a, b| a.components().cmp(b.components()));
    for rel in keys {
        let folder = index
            .entries
            .get(rel.as_str())
            .is_some_and(Entry::is_folder);
        if !scope.holds(&rel, folder) {
            out.push(rel);
        }
    }
    out
}

/// Gives folders that arrived below an `immediates` folder their own
/// `empty` depth, so a later change of the parent's depth leaves them be.
pub fn settle(index: &mut Index) {
    let immediates: Vec<String> = index
        .entries
        .iter()
        .filter(|(_, e)| e.depth == Some(Depth::Immediates))
        .map(|(k, _)| k.clone())
        .collect();
    if immediates.is_empty() {
        return;
    }
    for (k, e) in index.entries.iter_mut() {
        if !e.is_folder() || e.depth.is_some() {
            continue;
        }
        let parent = RepoPath::parse(k).ok().and_then(|p| p.parent());
        if parent.is_some_and(|p| immediates.iter().any(|i| i == p.as_str())) {
            e.depth = Some(Depth::Empty);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zsync_model::{Kind, Oid};

    fn m(path: &str, kind: Kind) -> ManifestEntry {
        ManifestEntry {
            path: RepoPath::parse(path).unwrap(),
            oid: Oid::random(),
            kind,
            rev: 1,
            hash: None,
            size: 0,
            props: Default::default(),
            author: String::new(),
        }
    }

    fn tree() -> Vec<ManifestEntry> {
        vec![
            m("", Kind::folder()),
            m("a.txt", Kind::document()),
            m("sub", Kind::folder()),
            m("sub/b.txt", Kind::document()),
            m("sub/deep", Kind::folder()),
            m("sub/deep/c.txt", Kind::document()),
        ]
    }

    fn kept(entries: &BTreeMap<String, Entry>) -> Vec<String> {
        Scope::new(entries)
            .filter(&RepoPath::root(), tree())
            .into_iter()
            .map(|e| e.path.to_string())
            .collect()
    }

    fn with(depths: &[(&str, Depth)]) -> BTreeMap<String, Entry> {
        depths
            .iter()
            .map(|(k, d)| {
                let mut e = Entry::from_manifest(&m(k, Kind::folder()));
                e.depth = Some(*d);
                ((*k).to_owned(), e)
            })
            .collect()
    }

    #[test]
    fn each_depth_keeps_what_it_names() {
        assert_eq!(kept(&with(&[("", Depth::Empty)])), [""]);
        assert_eq!(kept(&with(&[("", Depth::Files)])), ["", "a.txt"]);
        assert_eq!(
            kept(&with(&[("", Depth::Immediates)])),
            ["", "a.txt", "sub"]
        );
        assert_eq!(kept(&BTreeMap::new()).len(), 6);
        // A folder widened below a narrower parent keeps its own depth.
        assert_eq!(
            kept(&with(&[("", Depth::Immediates), ("sub", Depth::Files)])),
            ["", "a.txt", "sub", "sub/b.txt"]
        );
    }

    #[test]
    fn new_items_arrive_only_within_the_depth() {
        let mut index = with(&[("", Depth::Files)]);
        index.insert(
            "a.txt".into(),
            Entry::from_manifest(&m("a.txt", Kind::document())),
        );
        let index = Index {
            entries: index,
            ..serde_json::from_str(r#"{"format":1,"url":"","server_root":"","rev":0,"entries":{}}"#)
                .unwrap()
        };
        let p = |s: &str| RepoPath::parse(s).unwrap();
        assert!(would_arrive(&index, &p("new.txt")));
        assert!(!would_arrive(&index, &p("sub/b.txt")));
    }

    #[test]
    fn depths_parse_and_print() {
        for d in ["empty", "files", "immediates", "infinity"] {
            assert_eq!(d.parse::<Depth>().unwrap().to_string(), d);
        }
        assert!("deep".parse::<Depth>().is_err());
    }
}
