//! The integrity check behind `zsyncd check`: reads the whole store in one
//! snapshot and lists everything that contradicts the invariants the
//! commit code keeps. Problems are collected, never fatal, so one run
//! shows all of them; only a failing database is an error.
//!
//! Portable SQL only, apart from each engine's `engine_check`.

use std::collections::{BTreeMap, HashMap};

use futures_util::TryStreamExt;
use sqlx::Row as _;
use zsync_model::{BodyHasher, Kind, Oid};

use super::{Pool, Tx};
use crate::sql::rows;
use crate::{IntegrityReport, StoreError};

/// Reported problems of one kind beyond this many are summarised, so a
/// badly damaged store gives a readable report.
const MAX_PER_KIND: usize = 20;

/// Collects problems, at most [`MAX_PER_KIND`] per kind.
#[derive(Default)]
struct Problems {
    list: Vec<String>,
    counts: HashMap<&'static str, usize>,
}

impl Problems {
    fn add(&mut self, kind: &'static str, message: String) {
        let n = self.counts.entry(kind).or_default();
        *n += 1;
        if *n <= MAX_PER_KIND {
            self.list.push(message);
        }
    }

    fn finish(mut self) -> Vec<String> {
        let mut over: Vec<_> = self
            .counts
            .iter()
            .filter(|(_, n)| **n > MAX_PER_KIND)
            .map(|(kind, n)| format!("... and {} more {kind} problem(s)", n - MAX_PER_KIND))
            .collect();
        over.sort();
        self.list.extend(over);
        self.list
    }
}

pub(crate) async fn check(pool: &Pool) -> Result<IntegrityReport, StoreError> {
    let mut tx = super::begin_read(pool).await?;
    let mut problems = Problems::default();
    for message in super::engine_check(&mut tx).await? {
        problems.add("database", message);
    }
    let head = revisions(&mut tx, &mut problems).await?;
    let objects = objects(&mut tx, &mut problems, head).await?;
    history(&mut tx, &mut problems).await?;
    let bodies = bodies(&mut tx, &mut problems).await?;
    tx.commit().await?;
    Ok(IntegrityReport {
        head,
        objects,
        bodies,
        problems: problems.finish(),
    })
}

/// Revisions run 1..=head without gaps, and each changed something.
async fn revisions(tx: &mut Tx, problems: &mut Problems) -> Result<u64, StoreError> {
    let (count, min, max): (i64, i64, i64) = sqlx::query_as(
        "SELECT COUNT(*), COALESCE(MIN(rev), 0), COALESCE(MAX(rev), 0) FROM revisions",
    )
    .fetch_one(&mut **tx)
    .await?;
    if count != max || (count > 0 && min != 1) {
        problems.add(
            "revision",
            format!("revisions are not contiguous: {count} revision(s) numbered {min} to {max}"),
        );
    }
    let empty: Vec<(i64,)> = sqlx::query_as(
        "SELECT r.rev FROM revisions r \
         WHERE NOT EXISTS (SELECT 1 FROM history h WHERE h.rev = r.rev) ORDER BY r.rev",
    )
    .fetch_all(&mut **tx)
    .await?;
    for (rev,) in empty {
        problems.add("revision", format!("revision {rev} changed nothing"));
    }
    Ok(u64::try_from(max).unwrap_or(0))
}

/// Every object parses, hangs below an existing folder at the path its
/// name says, refers to a stored body of its size, and matches the newest
/// history row of its oid (so no commit is half-applied).
async fn objects(tx: &mut Tx, problems: &mut Problems, head: u64) -> Result<u64, StoreError> {
    let root = Oid::root();
    let mut count = 0u64;
    let mut saw_root = false;
    let sql = "SELECT o.path, o.oid, o.kind, o.rev, o.hash, o.size, o.props, o.name, o.parent_oid, \
                      p.oid, p.path, p.kind, b.size, \
                      h.rev, h.action, h.path, h.hash, h.props \
               FROM objects o \
               LEFT JOIN objects p ON p.oid = o.parent_oid \
               LEFT JOIN bodies b ON b.hash = o.hash \
               LEFT JOIN history h ON h.oid = o.oid \
                    AND h.rev = (SELECT MAX(h2.rev) FROM history h2 WHERE h2.oid = o.oid) \
               ORDER BY o.path";
    // More columns than sqlx decodes as a tuple, so read them by index.
    let mut stream = sqlx::query(sql).fetch(&mut **tx);
    while let Some(row) = stream.try_next().await? {
        count += 1;
        let path: String = row.try_get(0)?;
        let oid: String = row.try_get(1)?;
        let kind: String = row.try_get(2)?;
        let rev: i64 = row.try_get(3)?;
        let hash: Option<String> = row.try_get(4)?;
        let size: i64 = row.try_get(5)?;
        let props: String = row.try_get(6)?;
        let name: String = row.try_get(7)?;
        let parent_oid: Option<String> = row.try_get(8)?;
        let p_oid: Option<String> = row.try_get(9)?;
        let p_path: Option<String> = row.try_get(10)?;
        let p_kind: Option<String> = row.try_get(11)?;
        let body_size: Option<i64> = row.try_get(12)?;
        let h_rev: Option<i64> = row.try_get(13)?;
        let h_action: Option<String> = row.try_get(14)?;
        let h_path: Option<String> = row.try_get(15)?;
        let h_hash: Option<String> = row.try_get(16)?;
        let h_props: Option<String> = row.try_get(17)?;
        let shown = format!("/{path}");
        let record = match rows::object((
            path.clone(),
            oid.clone(),
            kind,
            rev,
            hash.clone(),
            size,
            props.clone(),
        )) {
            Ok(r) => r,
            Err(e) => {
                problems.add(
                    "object",
                    format!("object {oid} at {shown} is unreadable: {e}"),
                );
                continue;
            }
        };
        if record.oid == root {
            saw_root = true;
            if !path.is_empty() || parent_oid.is_some() {
                problems.add(
                    "object",
                    format!("the root object is at {shown} with parent {parent_oid:?}"),
                );
            }
        } else {
            match (&parent_oid, &p_oid) {
                (None, _) => problems.add("object", format!("{shown} has no parent")),
                (Some(want), None) => {
                    problems.add("object", format!("{shown}: parent {want} is missing"));
                }
                (Some(_), Some(_)) => {
                    let parent_path = p_path.unwrap_or_default();
                    let expected = if parent_path.is_empty() {
                        name.clone()
                    } else {
                        format!("{parent_path}/{name}")
                    };
                    if expected != path || record.path.name() != name {
                        problems.add(
                            "object",
                            format!("{shown}: path does not match its parent /{parent_path} and name {name:?}"),
                        );
                    }
                    if p_kind.as_deref() != Some(Kind::FOLDER) {
                        problems.add(
                            "object",
                            format!("{shown}: parent /{parent_path} is not a folder"),
                        );
                    }
                }
            }
        }
        if record.rev > head {
            problems.add(
                "object",
                format!(
                    "{shown} is at revision {} beyond the head {head}",
                    record.rev
                ),
            );
        }
        if let Some(h) = &hash {
            match body_size {
                None => problems.add("body", format!("{shown}: body {h} is missing")),
                Some(s) if s != size => problems.add(
                    "body",
                    format!("{shown}: size {size} differs from its body's {s}"),
                ),
                Some(_) => {}
            }
        }
        // The root exists before any commit; everything else came from one.
        if record.rev == 0 && record.oid == root {
            continue;
        }
        match h_rev {
            None => problems.add("history", format!("{shown} has no history")),
            Some(hr) if hr != rev => problems.add(
                "history",
                format!("{shown} is at revision {rev} but its history ends at {hr}"),
            ),
            Some(_) => {
                let same_props = match (h_props.as_deref().map(rows::props), rows::props(&props)) {
                    (Some(Ok(a)), Ok(b)) => a == b,
                    _ => false,
                };
                if h_action.as_deref() == Some("D") {
                    problems.add(
                        "history",
                        format!("{shown} exists but its history says it was deleted"),
                    );
                } else if h_path.as_deref() != Some(path.as_str()) || h_hash != hash || !same_props
                {
                    problems.add(
                        "history",
                        format!("{shown} differs from its history at revision {rev}"),
                    );
                }
            }
        }
    }
    drop(stream);
    if !saw_root {
        problems.add("object", "the root folder is missing".to_owned());
    }
    Ok(count)
}

/// Objects whose history ends in a delete are gone; every other object
/// in the history exists; every historical body is stored.
async fn history(tx: &mut Tx, problems: &mut Problems) -> Result<(), StoreError> {
    let lost: Vec<(String, i64, String)> = sqlx::query_as(
        "SELECT h.path, h.rev, h.action FROM history h LEFT JOIN objects o ON o.oid = h.oid \
         WHERE h.rev = (SELECT MAX(h2.rev) FROM history h2 WHERE h2.oid = h.oid) \
           AND h.action <> 'D' AND o.oid IS NULL \
         ORDER BY h.path",
    )
    .fetch_all(&mut **tx)
    .await?;
    for (path, rev, _) in lost {
        problems.add(
            "history",
            format!("/{path} was last changed in revision {rev} but does not exist"),
        );
    }
    let missing: Vec<(String, i64, String)> = sqlx::query_as(
        "SELECT h.path, h.rev, h.hash FROM history h LEFT JOIN bodies b ON b.hash = h.hash \
         WHERE h.hash IS NOT NULL AND b.hash IS NULL ORDER BY h.rev, h.path",
    )
    .fetch_all(&mut **tx)
    .await?;
    for (path, rev, hash) in missing {
        problems.add(
            "body",
            format!("/{path} at revision {rev}: body {hash} is missing"),
        );
    }
    let future: Vec<(String, i64)> = sqlx::query_as(
        "SELECT h.path, h.rev FROM history h LEFT JOIN revisions r ON r.rev = h.rev \
         WHERE r.rev IS NULL ORDER BY h.rev, h.path",
    )
    .fetch_all(&mut **tx)
    .await?;
    for (path, rev) in future {
        problems.add(
            "history",
            format!("/{path} has history in revision {rev}, which does not exist"),
        );
    }
    Ok(())
}

/// What the chunks of one body added up to.
#[derive(Default)]
struct BodyState {
    hasher: BodyHasher,
    next_seq: i64,
    broken: bool,
}

/// Every body's chunks are numbered from 0 without gaps, add up to its
/// size and hash to its name; no chunk belongs to no body.
async fn bodies(tx: &mut Tx, problems: &mut Problems) -> Result<u64, StoreError> {
    let sizes: Vec<(String, i64)> = sqlx::query_as("SELECT hash, size FROM bodies")
        .fetch_all(&mut **tx)
        .await?;
    let count = sizes.len() as u64;
    let mut states: BTreeMap<String, BodyState> = sizes
        .iter()
        .map(|(h, _)| (h.clone(), BodyState::default()))
        .collect();
    {
        let mut stream = sqlx::query_as::<_, (String, i64, Vec<u8>)>(
            "SELECT hash, seq, data FROM chunks ORDER BY hash, seq",
        )
        .fetch(&mut **tx);
        while let Some((hash, seq, data)) = stream.try_next().await? {
            let Some(state) = states.get_mut(&hash) else {
                problems.add("body", format!("chunk {seq} belongs to no body ({hash})"));
                continue;
            };
            if state.broken {
                continue;
            }
            if seq != state.next_seq || data.is_empty() {
                problems.add(
                    "body",
                    format!("body {hash}: chunk {} is missing or empty", state.next_seq),
                );
                state.broken = true;
                continue;
            }
            state.hasher.update(&data);
            state.next_seq += 1;
        }
    }
    for (hash, size) in sizes {
        let Some(state) = states.get(&hash) else {
            continue;
        };
        if state.broken {
            continue;
        }
        let stored = state.hasher.len();
        if u64::try_from(size).ok() != Some(stored) {
            problems.add(
                "body",
                format!("body {hash}: {stored} byte(s) stored of {size}"),
            );
            continue;
        }
        match rows::hash(hash.clone()) {
            Ok(expected) if expected == state.hasher.finish() => {}
            Ok(_) => problems.add(
                "body",
                format!("body {hash}: content does not match its hash"),
            ),
            Err(e) => problems.add("body", format!("body {hash:?} has a bad name: {e}")),
        }
    }
    Ok(count)
}
