//! Commits. Everything happens in one write transaction: first every
//! operation is checked against the current state and all problems are
//! collected, then, only if there were none, the operations are applied
//! as one new revision.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::AssertSqlSafe;
use unicode_normalization::{UnicodeNormalization as _, is_nfc};
use zsync_format::{
    CommitOp, CommitRequest, CommitResponse, CommittedObject, KnownObject, PathProblem,
};
use zsync_model::{BodyHash, CommitId, Kind, Oid, RepoPath, Rev};

use super::{Pool, Tx};
use super::{bulk, objects};
use crate::sql::rows::{self, OBJECT_COLUMNS, ObjectRow};
use crate::{ObjectRecord, RecordedCommit, StoreError};

pub(crate) async fn commit(
    pool: &Pool,
    user: &str,
    request: &CommitRequest,
) -> Result<CommitResponse, StoreError> {
    if request.ops.is_empty() {
        return Err(StoreError::Invalid(vec![PathProblem::new(
            "",
            "nothing to commit",
        )]));
    }
    let mut tx = super::begin_commit(pool).await?;
    // Under the write lock, so a resent commit racing its first copy
    // still finds it.
    if let Some(id) = &request.id
        && let Some(recorded) = by_id_in(&mut *tx, id).await?
    {
        tx.rollback().await?;
        if recorded.user != user {
            return Err(StoreError::AlreadyExists(format!("commit id {id}")));
        }
        tracing::info!(rev = recorded.response.rev, user, %id, "commit resent; answered from its record");
        return Ok(recorded.response);
    }
    crate::fault::point("commit-locked").await;
    let steps = match check(&mut tx, &request.ops).await {
        Ok(steps) => steps,
        Err(e) => {
            // Release the write lock now rather than when the connection
            // is next used; the refusal matters more than a failed rollback.
            let _ = tx.rollback().await;
            return Err(e);
        }
    };
    let touched = touched_oids(&steps);
    let locks = super::locks::all_in(&mut tx).await?;
    let (mine, others): (Vec<_>, Vec<_>) = locks
        .into_iter()
        .filter(|l| touched.contains(&l.oid))
        .partition(|l| l.user == user);
    if !others.is_empty() {
        let _ = tx.rollback().await;
        return Err(StoreError::Locked(others));
    }
    let response = apply(&mut tx, user, request, steps).await?;
    if !request.keep_locks {
        // svn-like: committing a locked object ends the committer's lock
        // (deleted objects lose theirs with the row).
        let oids: Vec<&Oid> = mine.iter().map(|l| &l.oid).collect();
        super::locks::release_in(&mut tx, &oids).await?;
    }
    crate::fault::point("commit-applied").await;
    if let Some(id) = &request.id {
        let json = serde_json::to_string(&response)
            .map_err(|e| StoreError::Corrupt(format!("commit response: {e}")))?;
        sqlx::query("INSERT INTO commit_ids (id, username, rev, response) VALUES ($1, $2, $3, $4)")
            .bind(id.as_str())
            .bind(user)
            .bind(rows::to_i64(response.rev)?)
            .bind(json)
            .execute(&mut *tx)
            .await?;
    }
    super::announce(&mut tx, response.rev).await?;
    tx.commit().await?;
    crate::fault::point("commit-durable").await;
    tracing::debug!(
        rev = response.rev,
        user,
        ops = request.ops.len(),
        "committed"
    );
    Ok(response)
}

async fn by_id_in<'e, E>(executor: E, id: &CommitId) -> Result<Option<RecordedCommit>, StoreError>
where
    E: sqlx::Executor<'e, Database = super::Db>,
{
    let row: Option<(String, String)> =
        sqlx::query_as("SELECT username, response FROM commit_ids WHERE id = $1")
            .bind(id.as_str())
            .fetch_optional(executor)
            .await?;
    row.map(|(user, json)| {
        let response = serde_json::from_str(&json)
            .map_err(|e| StoreError::Corrupt(format!("recorded commit {id}: {e}")))?;
        Ok(RecordedCommit { user, response })
    })
    .transpose()
}

pub(crate) async fn by_id(
    pool: &Pool,
    id: &CommitId,
) -> Result<Option<RecordedCommit>, StoreError> {
    by_id_in(pool, id).await
}

/// The existing objects a commit changes, moves or deletes (with every
/// descendant of a deleted or moved folder): what locks guard.
fn touched_oids(steps: &[Step]) -> HashSet<Oid> {
    let mut oids = HashSet::new();
    for step in steps {
        match step {
            Step::Add { .. } => {}
            Step::Modify { current, .. } => {
                oids.insert(current.oid.clone());
            }
            Step::Delete { subtree } => oids.extend(subtree.iter().map(|o| o.oid.clone())),
            Step::Move {
                current,
                descendants,
                ..
            } => {
                oids.insert(current.oid.clone());
                oids.extend(descendants.iter().map(|o| o.oid.clone()));
            }
        }
    }
    oids
}

/// What applying one checked operation needs beyond the operation itself.
enum Step {
    Add {
        oid: Oid,
        parent_oid: Oid,
        size: u64,
    },
    Modify {
        current: ObjectRecord,
        /// The size of the new body, if the operation replaces it.
        new_size: Option<u64>,
    },
    /// The object and every descendant, as they are before the delete.
    Delete { subtree: Vec<ObjectRecord> },
    /// The moved object and its descendants as they are before the move,
    /// and the oid of the folder it moves into.
    Move {
        current: ObjectRecord,
        descendants: Vec<ObjectRecord>,
        parent_oid: Oid,
        /// The size of the new body, if the move also replaces it.
        new_size: Option<u64>,
    },
}

/// The problems found while checking a request.
#[derive(Default)]
struct Problems {
    stale: BTreeSet<RepoPath>,
    invalid: Vec<PathProblem>,
    /// Index into `invalid` by path, so each path gets one entry.
    by_path: HashMap<String, usize>,
}

impl Problems {
    fn stale(&mut self, path: &RepoPath) {
        self.stale.insert(path.clone());
    }

    fn invalid(&mut self, path: &RepoPath, message: String) {
        let key = path.to_string();
        match self.by_path.get(&key) {
            Some(&i) => {
                let entry = &mut self.invalid[i];
                entry.message.push_str("; ");
                entry.message.push_str(&message);
            }
            None => {
                self.by_path.insert(key.clone(), self.invalid.len());
                self.invalid.push(PathProblem::new(key, message));
            }
        }
    }

    /// Stale wins over invalid: the client has to update before anything
    /// else it sends can be judged.
    fn into_result(self) -> Result<(), StoreError> {
        if !self.stale.is_empty() {
            Err(StoreError::Stale(self.stale.into_iter().collect()))
        } else if !self.invalid.is_empty() {
            Err(StoreError::Invalid(self.invalid))
        } else {
            Ok(())
        }
    }
}

/// Shows a path to a person: `/` for the root, `/a/b` otherwise.
fn shown(path: &RepoPath) -> String {
    format!("/{path}")
}

/// Checks every operation against the state in `tx` and returns how to
/// apply each (one step per operation, in order), or every problem found.
/// An operation that yields no step always records a problem, so the
/// steps line up with the operations whenever this succeeds.
async fn check(tx: &mut Tx, ops: &[CommitOp]) -> Result<Vec<Step>, StoreError> {
    let mut problems = Problems::default();

    let mut counts: HashMap<&RepoPath, usize> = HashMap::new();
    for op in ops {
        *counts.entry(op.path()).or_default() += 1;
    }
    let deleted: HashSet<&RepoPath> = ops
        .iter()
        .filter_map(|op| match op {
            CommitOp::Delete { path, .. } => Some(path),
            _ => None,
        })
        .collect();
    // Sources of moves. Operations are checked against the state before
    // the commit but applied in order, so an edit, delete or move of
    // something inside a moved folder follows the object wherever the
    // move took it. A new name at or below a source would land in the
    // vacated place, and a second operation on a source itself would
    // compete with the move: both are refused.
    let moved: Vec<(usize, &RepoPath)> = ops
        .iter()
        .enumerate()
        .filter_map(|(i, op)| match op {
            CommitOp::Move { from, .. } => Some((i, from)),
            _ => None,
        })
        .collect();
    let mut reported_twice = HashSet::new();
    for (i, op) in ops.iter().enumerate() {
        let (existing, new_name) = match op {
            CommitOp::Move { from, to, .. } => (Some(from), Some(to)),
            CommitOp::Add { path, .. } => (None, Some(path)),
            CommitOp::Modify { path, .. } | CommitOp::Delete { path, .. } => (Some(path), None),
        };
        let clash = moved.iter().find_map(|&(j, m)| {
            let clashes = i != j
                && (existing.is_some_and(|e| e == m) || new_name.is_some_and(|n| m.contains(n)));
            clashes.then_some(m)
        });
        if let Some(m) = clash {
            problems.invalid(
                op.path(),
                format!(
                    "touches {}, which this commit moves; commit the move first",
                    shown(m)
                ),
            );
        }
        let path = op.path();
        if counts.get(path).is_some_and(|&n| n > 1) && reported_twice.insert(path) {
            problems.invalid(path, "appears more than once in this commit".into());
        }
        // A move's source must not be deleted by the same commit either.
        if let CommitOp::Move { from, .. } = op {
            let mut source = Some(from.clone());
            while let Some(a) = source {
                if deleted.contains(&a) {
                    problems.invalid(
                        path,
                        format!("moves {}, which this commit deletes", shown(&a)),
                    );
                    break;
                }
                source = a.parent();
            }
        }
        let mut ancestor = path.parent();
        while let Some(a) = ancestor {
            if deleted.contains(&a) {
                problems.invalid(
                    path,
                    format!("is below {}, which this commit deletes", shown(&a)),
                );
                break;
            }
            ancestor = a.parent();
        }
    }

    // What one query per few hundred paths or hashes answers is asked up
    // front, not once per operation (a checkin adds thousands).
    let add_paths: Vec<&str> = ops
        .iter()
        .filter_map(|op| match op {
            CommitOp::Add { path, .. } => Some(path.as_str()),
            _ => None,
        })
        .collect();
    let taken = existing_paths(tx, &add_paths).await?;
    let mut bodies = BodySizes::default();
    bodies
        .prefetch(
            tx,
            ops.iter().filter_map(|op| match op {
                CommitOp::Add { hash, .. }
                | CommitOp::Modify { hash, .. }
                | CommitOp::Move { hash, .. } => hash.as_ref(),
                CommitOp::Delete { .. } => None,
            }),
        )
        .await?;
    let mut names = SiblingNames::default();
    // Objects added earlier in this request: their kind and new oid.
    let mut added: HashMap<&RepoPath, (&Kind, Oid)> = HashMap::new();
    // Where moves earlier in this request put existing objects.
    let mut moved_to: HashMap<&RepoPath, (Kind, Oid)> = HashMap::new();
    let mut steps = Vec::with_capacity(ops.len());
    for op in ops {
        let step = match op {
            CommitOp::Add {
                path, kind, hash, ..
            } => {
                if path.is_root() {
                    problems.invalid(path, "the root folder cannot be added".into());
                } else if taken.contains(path.as_str()) {
                    // Someone else added it since the client's update.
                    problems.stale(path);
                }
                let mut parent_ok = true;
                let parent_oid = match path.parent() {
                    None => Oid::root(),
                    Some(parent) => match parent_folder(tx, &added, &moved_to, &parent).await? {
                        Ok(oid) => oid,
                        Err(message) => {
                            problems.invalid(path, message);
                            parent_ok = false;
                            Oid::root()
                        }
                    },
                };
                if parent_ok && !path.is_root() {
                    let existing_parent = !path.parent().is_some_and(|p| added.contains_key(&p));
                    names
                        .check(
                            tx,
                            &mut problems,
                            &deleted,
                            path,
                            &parent_oid,
                            existing_parent,
                        )
                        .await?;
                }
                let size = match (kind.is_folder(), hash) {
                    (true, Some(_)) => {
                        problems.invalid(path, "a folder has no body".into());
                        0
                    }
                    (false, None) => {
                        problems.invalid(path, format!("a {kind} needs a body"));
                        0
                    }
                    (true, None) => 0,
                    (false, Some(h)) => body_size(tx, &mut bodies, &mut problems, path, h).await?,
                };
                let oid = Oid::random();
                added.insert(path, (kind, oid.clone()));
                Step::Add {
                    oid,
                    parent_oid,
                    size,
                }
            }
            CommitOp::Modify {
                path,
                oid,
                base_rev,
                hash,
                ..
            } => {
                let current = current(tx, &mut problems, path, oid, *base_rev).await?;
                let mut new_size = None;
                if let Some(h) = hash {
                    if current.as_ref().is_some_and(|c| c.kind.is_folder()) {
                        problems.invalid(path, "a folder has no body".into());
                    } else {
                        new_size = Some(body_size(tx, &mut bodies, &mut problems, path, h).await?);
                    }
                }
                match current {
                    Some(current) => Step::Modify { current, new_size },
                    // Stale: the request is refused, so no step is needed.
                    None => continue,
                }
            }
            CommitOp::Delete {
                path,
                oid,
                base_rev,
                known,
            } => {
                if path.is_root() {
                    problems.invalid(path, "the root folder cannot be deleted".into());
                    continue;
                }
                let Some(current) = current(tx, &mut problems, path, oid, *base_rev).await? else {
                    continue;
                };
                let descendants = descendants(tx, path).await?;
                if !same_descendants(&current.oid, &descendants, known) {
                    // Something below was added, changed or removed since.
                    problems.stale(path);
                }
                let mut subtree = Vec::with_capacity(descendants.len() + 1);
                subtree.push(current);
                subtree.extend(descendants);
                Step::Delete { subtree }
            }
            CommitOp::Move {
                from,
                to,
                oid,
                base_rev,
                hash,
                ..
            } => {
                if from.is_root() || to.is_root() {
                    problems.invalid(to, "the root folder cannot be moved".into());
                    continue;
                }
                if from.contains(to) {
                    problems.invalid(to, format!("{} cannot be moved into itself", shown(from)));
                    continue;
                }
                let Some(current) = current(tx, &mut problems, from, oid, *base_rev).await? else {
                    continue;
                };
                if objects::object_in(&mut **tx, to).await?.is_some() {
                    // The name is taken (by someone else since the
                    // client's update, or by an object it knew of).
                    problems.stale(to);
                }
                let parent_oid = match to.parent() {
                    None => Oid::root(),
                    Some(parent) => match parent_folder(tx, &added, &moved_to, &parent).await? {
                        Ok(oid) => oid,
                        Err(message) => {
                            problems.invalid(to, message);
                            continue;
                        }
                    },
                };
                let existing_parent = !to.parent().is_some_and(|p| added.contains_key(&p));
                names
                    .check(
                        tx,
                        &mut problems,
                        &deleted,
                        to,
                        &parent_oid,
                        existing_parent,
                    )
                    .await?;
                let mut new_size = None;
                if let Some(h) = hash {
                    if current.kind.is_folder() {
                        problems.invalid(to, "a folder has no body".into());
                    } else {
                        new_size = Some(body_size(tx, &mut bodies, &mut problems, to, h).await?);
                    }
                }
                let descendants = descendants(tx, from).await?;
                moved_to.insert(to, (current.kind.clone(), current.oid.clone()));
                Step::Move {
                    current,
                    descendants,
                    parent_oid,
                    new_size,
                }
            }
        };
        steps.push(step);
    }
    problems.into_result()?;
    Ok(steps)
}

/// The object `oid` at `path` if it is there at `base_rev`; otherwise
/// records the path as stale.
async fn current(
    tx: &mut Tx,
    problems: &mut Problems,
    path: &RepoPath,
    oid: &Oid,
    base_rev: Rev,
) -> Result<Option<ObjectRecord>, StoreError> {
    match objects::object_in(&mut **tx, path).await? {
        Some(c) if c.oid == *oid && c.rev == base_rev => Ok(Some(c)),
        _ => {
            problems.stale(path);
            Ok(None)
        }
    }
}

/// The oid of the folder `parent`, existing or added earlier in the
/// request, or why it cannot hold children.
async fn parent_folder(
    tx: &mut Tx,
    added: &HashMap<&RepoPath, (&Kind, Oid)>,
    moved_to: &HashMap<&RepoPath, (Kind, Oid)>,
    parent: &RepoPath,
) -> Result<Result<Oid, String>, StoreError> {
    let earlier = added
        .get(parent)
        .map(|(kind, oid)| (*kind, oid))
        .or_else(|| moved_to.get(parent).map(|(kind, oid)| (kind, oid)));
    if let Some((kind, oid)) = earlier {
        return Ok(if kind.is_folder() {
            Ok(oid.clone())
        } else {
            Err(format!(
                "parent {} is a {kind}, not a folder",
                shown(parent)
            ))
        });
    }
    Ok(match objects::object_in(&mut **tx, parent).await? {
        Some(p) if p.kind.is_folder() => Ok(p.oid),
        Some(p) => Err(format!(
            "parent {} is a {}, not a folder",
            shown(parent),
            p.kind
        )),
        None => Err(format!("parent folder {} does not exist", shown(parent))),
    })
}

/// How names are compared for collisions: two names in one folder that
/// differ only by case or Unicode normalization would land on one file on
/// case-insensitive or normalizing file systems (macOS, Windows).
fn collision_key(name: &str) -> String {
    let lower = name.nfc().collect::<String>().to_lowercase();
    lower.nfc().collect()
}

/// The names in each folder, by [`collision_key`], loaded as needed and
/// extended by the adds of this request.
#[derive(Default)]
struct SiblingNames(HashMap<Oid, HashMap<String, RepoPath>>);

impl SiblingNames {
    /// Records a problem if the name of `path` (an add below the folder
    /// `parent_oid`) is not NFC or collides with a sibling's.
    async fn check(
        &mut self,
        tx: &mut Tx,
        problems: &mut Problems,
        deleted: &HashSet<&RepoPath>,
        path: &RepoPath,
        parent_oid: &Oid,
        existing_parent: bool,
    ) -> Result<(), StoreError> {
        let name = path.name();
        if let Some(problem) = zsync_model::portability_problem(name) {
            problems.invalid(path, format!("{problem}; rename it"));
        }
        if !is_nfc(name) {
            problems.invalid(
                path,
                "the name is not in Unicode normalization form C (NFC); \
                 rename it, or use a client that normalizes names"
                    .into(),
            );
        }
        if !self.0.contains_key(parent_oid) {
            let mut known = HashMap::new();
            if existing_parent {
                let rows: Vec<(String,)> =
                    sqlx::query_as("SELECT path FROM objects WHERE parent_oid = $1")
                        .bind(parent_oid.as_str())
                        .fetch_all(&mut **tx)
                        .await?;
                for (p,) in rows {
                    let sibling = rows::path(p)?;
                    // A sibling this commit deletes frees its name.
                    if !deleted.contains(&sibling) {
                        known.insert(collision_key(sibling.name()), sibling);
                    }
                }
            }
            self.0.insert(parent_oid.clone(), known);
        }
        let Some(known) = self.0.get_mut(parent_oid) else {
            return Ok(());
        };
        let key = collision_key(name);
        match known.get(&key) {
            // The same name is either stale (it exists) or added twice;
            // both are reported elsewhere.
            Some(other) if other.name() != name => problems.invalid(
                path,
                format!(
                    "the name differs from {} only by case or Unicode normalization; \
                     names in one folder must differ by more",
                    shown(other)
                ),
            ),
            // Only in a folder this commit moves are siblings known by
            // another path: their old one.
            Some(other) if other != path => problems.invalid(
                path,
                format!(
                    "the name is taken by {}, which moves here with its folder",
                    shown(other)
                ),
            ),
            Some(_) => {}
            None => {
                known.insert(key, path.clone());
            }
        }
        Ok(())
    }
}

/// Those of `paths` that objects hold now, asked a few hundred at a time.
async fn existing_paths(tx: &mut Tx, paths: &[&str]) -> Result<HashSet<String>, StoreError> {
    let found: Vec<(String,)> = bulk::select_in(
        tx,
        "SELECT path FROM objects WHERE path IN (",
        ")",
        paths,
        |p| p.to_string(),
    )
    .await?;
    Ok(found.into_iter().map(|(p,)| p).collect())
}

/// Sizes of bodies looked up so far in this request.
#[derive(Default)]
struct BodySizes(HashMap<BodyHash, Option<u64>>);

impl BodySizes {
    /// Looks up every one of `hashes` a few hundred at a time, so that
    /// [`body_size`] needs no query of its own.
    async fn prefetch(
        &mut self,
        tx: &mut Tx,
        hashes: impl Iterator<Item = &BodyHash>,
    ) -> Result<(), StoreError> {
        let unique: Vec<BodyHash> = hashes
            .copied()
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        for hash in &unique {
            self.0.insert(*hash, None);
        }
        let found: Vec<(String, i64)> = bulk::select_in(
            tx,
            "SELECT hash, size FROM bodies WHERE hash IN (",
            ")",
            &unique,
            |h| h.to_hex(),
        )
        .await?;
        for (hash, size) in found {
            self.0.insert(rows::hash(hash)?, Some(rows::size(size)?));
        }
        Ok(())
    }
}

/// The size of body `hash`; records a problem (and returns 0) if the
/// store lacks it.
async fn body_size(
    tx: &mut Tx,
    sizes: &mut BodySizes,
    problems: &mut Problems,
    path: &RepoPath,
    hash: &BodyHash,
) -> Result<u64, StoreError> {
    let size = match sizes.0.get(hash) {
        Some(&size) => size,
        None => {
            let row: Option<(i64,)> = sqlx::query_as("SELECT size FROM bodies WHERE hash = $1")
                .bind(hash.to_hex())
                .fetch_optional(&mut **tx)
                .await?;
            let size = row.map(|(s,)| rows::size(s)).transpose()?;
            sizes.0.insert(*hash, size);
            size
        }
    };
    Ok(size.unwrap_or_else(|| {
        problems.invalid(path, format!("body {hash} was not uploaded"));
        0
    }))
}

/// Every object strictly below `path`, sorted by path.
async fn descendants(tx: &mut Tx, path: &RepoPath) -> Result<Vec<ObjectRecord>, StoreError> {
    let (lower, upper) = rows::subtree_bounds(path);
    let sql = format!(
        "SELECT {OBJECT_COLUMNS} FROM objects WHERE path >= $1 AND path < $2 ORDER BY path"
    );
    let found: Vec<ObjectRow> = sqlx::query_as(AssertSqlSafe(sql))
        .bind(lower)
        .bind(upper)
        .fetch_all(&mut **tx)
        .await?;
    found.into_iter().map(rows::object).collect()
}

/// Whether the server's descendants are exactly what the client knew. An
/// entry for the deleted object itself is tolerated.
fn same_descendants(own: &Oid, server: &[ObjectRecord], known: &[KnownObject]) -> bool {
    let server: HashSet<(&Oid, Rev)> = server.iter().map(|o| (&o.oid, o.rev)).collect();
    let known: HashSet<(&Oid, Rev)> = known
        .iter()
        .filter(|k| k.oid != *own)
        .map(|k| (&k.oid, k.rev))
        .collect();
    server == known
}

fn now() -> i64 {
    // A clock before 1970 is a broken clock; 0 keeps the commit working.
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

async fn apply(
    tx: &mut Tx,
    user: &str,
    request: &CommitRequest,
    steps: Vec<Step>,
) -> Result<CommitResponse, StoreError> {
    let rev = objects::head_in(&mut **tx).await? + 1;
    let rev_i = rows::to_i64(rev)?;
    sqlx::query("INSERT INTO revisions (rev, time, author, message) VALUES ($1, $2, $3, $4)")
        .bind(rev_i)
        .bind(now())
        .bind(user)
        .bind(&request.message)
        .execute(&mut **tx)
        .await?;

    let mut written = Written {
        objects: Vec::with_capacity(steps.len()),
        by_oid: HashMap::new(),
        rev,
    };
    // Consecutive adds go in with multi-row INSERTs; anything else first
    // writes those before it, so every statement sees what came earlier.
    let mut adds: Vec<(ObjectRecord, Oid)> = Vec::new();
    for (op, step) in request.ops.iter().zip(steps) {
        if !matches!(op, CommitOp::Add { .. }) {
            insert_added(tx, &mut adds).await?;
        }
        match (op, step) {
            (
                CommitOp::Add {
                    path,
                    kind,
                    props,
                    hash,
                },
                Step::Add {
                    oid,
                    parent_oid,
                    size,
                },
            ) => {
                let record = ObjectRecord {
                    path: path.clone(),
                    oid,
                    kind: kind.clone(),
                    rev,
                    hash: *hash,
                    size,
                    props: props.clone(),
                };
                // Nothing later in the request can touch a new object, so
                // it needs no entry in `by_oid`.
                written.objects.push(CommittedObject {
                    path: record.path.clone(),
                    oid: record.oid.clone(),
                    rev,
                    props: Some(record.props.clone()),
                });
                adds.push((record, parent_oid));
                if adds.len() >= rows::INSERT_ROWS {
                    insert_added(tx, &mut adds).await?;
                }
            }
            (CommitOp::Modify { props, hash, .. }, Step::Modify { current, new_size }) => {
                let record = ObjectRecord {
                    path: written.path_now(&current),
                    rev,
                    hash: hash.or(current.hash),
                    size: new_size.unwrap_or(current.size),
                    props: props.clone().unwrap_or(current.props),
                    ..current
                };
                update_object(tx, &record).await?;
                written.put(tx, &record, "M", true).await?;
            }
            (CommitOp::Delete { .. }, Step::Delete { subtree }) => {
                let Some(top) = subtree.into_iter().next() else {
                    return Err(StoreError::Corrupt("delete of nothing".into()));
                };
                let top = ObjectRecord {
                    path: written.path_now(&top),
                    rev,
                    ..top
                };
                // As they are now: an earlier operation may have moved or
                // changed them.
                let below = descendants(tx, &top.path).await?;
                written.put(tx, &top, "D", true).await?;
                for o in below {
                    written
                        .put(tx, &ObjectRecord { rev, ..o }, "D", false)
                        .await?;
                }
                delete_subtree(tx, &top.path).await?;
            }
            (
                CommitOp::Move {
                    to, props, hash, ..
                },
                Step::Move {
                    current,
                    parent_oid,
                    new_size,
                    ..
                },
            ) => {
                let from = written.path_now(&current);
                let top = ObjectRecord {
                    path: to.clone(),
                    rev,
                    hash: hash.or(current.hash),
                    size: new_size.unwrap_or(current.size),
                    props: props.clone().unwrap_or(current.props),
                    ..current
                };
                // Read before the move, as they are now.
                let below = descendants(tx, &from).await?;
                move_object(tx, &top, &parent_oid).await?;
                if hash.is_some() || props.is_some() {
                    update_object(tx, &top).await?;
                }
                // Stored as 'M' with the new path (the table's CHECK allows
                // only A, M, D); `log` tells a move by the changed path.
                written.put(tx, &top, "M", true).await?;
                // Every descendant's path changes with it, so each gets a
                // history row: the tree as of a revision is read from them.
                for o in below {
                    let new_path = from
                        .relative(&o.path)
                        .and_then(|rest| to.join_path(&rest).ok())
                        .ok_or_else(|| {
                            StoreError::Corrupt(format!(
                                "{} cannot move from below {} to below {}",
                                o.path,
                                shown(&from),
                                shown(to)
                            ))
                        })?;
                    let moved = ObjectRecord {
                        path: new_path,
                        rev,
                        ..o
                    };
                    sqlx::query("UPDATE objects SET path = $1, rev = $2 WHERE oid = $3")
                        .bind(moved.path.as_str())
                        .bind(rows::to_i64(rev)?)
                        .bind(moved.oid.as_str())
                        .execute(&mut **tx)
                        .await?;
                    written.put(tx, &moved, "M", true).await?;
                }
            }
            _ => {
                return Err(StoreError::Corrupt(
                    "commit steps do not match the operations".into(),
                ));
            }
        }
    }
    insert_added(tx, &mut adds).await?;
    Ok(CommitResponse {
        rev,
        objects: written.objects,
    })
}

/// What a revision has written so far. Operations apply in order and an
/// object can be touched by several (edited, and moved with its folder),
/// so each gets one history row, holding its state after the last.
struct Written {
    /// What the commit's answer lists, in the order first written.
    objects: Vec<CommittedObject>,
    /// Index into `objects` of each object with a history row at `rev`
    /// that a later operation may still touch.
    by_oid: HashMap<Oid, usize>,
    rev: Rev,
}

impl Written {
    /// Where `o` (as it was before the commit) is now.
    fn path_now(&self, o: &ObjectRecord) -> RepoPath {
        self.by_oid
            .get(&o.oid)
            .map_or_else(|| o.path.clone(), |&i| self.objects[i].path.clone())
    }

    /// Records `o` as of this revision: a new history row, or an update of
    /// the row an earlier operation wrote. `listed`: whether the answer
    /// lists it, which also lets later operations find it.
    async fn put(
        &mut self,
        tx: &mut Tx,
        o: &ObjectRecord,
        action: &str,
        listed: bool,
    ) -> Result<(), StoreError> {
        let Some(&i) = self.by_oid.get(&o.oid) else {
            insert_history(tx, o, action).await?;
            if listed {
                self.by_oid.insert(o.oid.clone(), self.objects.len());
                self.objects.push(CommittedObject {
                    path: o.path.clone(),
                    oid: o.oid.clone(),
                    rev: self.rev,
                    props: Some(o.props.clone()),
                });
            }
            return Ok(());
        };
        sqlx::query(
            "UPDATE history SET path = $1, hash = $2, size = $3, props = $4, action = $5 \
             WHERE oid = $6 AND rev = $7",
        )
        .bind(o.path.as_str())
        .bind(o.hash.map(|h| h.to_hex()))
        .bind(rows::to_i64(o.size)?)
        .bind(rows::props_json(&o.props)?)
        .bind(action)
        .bind(o.oid.as_str())
        .bind(rows::to_i64(self.rev)?)
        .execute(&mut **tx)
        .await?;
        let listed = &mut self.objects[i];
        listed.path = o.path.clone();
        listed.props = Some(o.props.clone());
        Ok(())
    }
}

/// Inserts the added objects and their history rows, a statement per
/// table for up to [`rows::INSERT_ROWS`] of them, and empties `adds`. A
/// parent added in the same statement satisfies the parent reference:
/// both engines check it at the statement's end.
async fn insert_added(tx: &mut Tx, adds: &mut Vec<(ObjectRecord, Oid)>) -> Result<(), StoreError> {
    bulk::insert(
        tx,
        "INSERT INTO objects (oid, parent_oid, name, path, kind, rev, hash, size, props) VALUES",
        9,
        "",
        adds,
        |q, (o, parent_oid)| {
            Ok(q.bind(o.oid.to_string())
                .bind(parent_oid.to_string())
                .bind(o.path.name().to_owned())
                .bind(o.path.to_string())
                .bind(o.kind.to_string())
                .bind(rows::to_i64(o.rev)?)
                .bind(o.hash.map(|h| h.to_hex()))
                .bind(rows::to_i64(o.size)?)
                .bind(rows::props_json(&o.props)?))
        },
    )
    .await?;
    bulk::insert(
        tx,
        "INSERT INTO history (oid, rev, path, kind, hash, size, props, action) VALUES",
        8,
        "",
        adds,
        |q, (o, _)| {
            Ok(q.bind(o.oid.to_string())
                .bind(rows::to_i64(o.rev)?)
                .bind(o.path.to_string())
                .bind(o.kind.to_string())
                .bind(o.hash.map(|h| h.to_hex()))
                .bind(rows::to_i64(o.size)?)
                .bind(rows::props_json(&o.props)?)
                .bind("A"))
        },
    )
    .await?;
    adds.clear();
    Ok(())
}

/// Gives `o` its new path, name and parent folder.
async fn move_object(tx: &mut Tx, o: &ObjectRecord, parent_oid: &Oid) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE objects SET parent_oid = $1, name = $2, path = $3, rev = $4 WHERE oid = $5",
    )
    .bind(parent_oid.as_str())
    .bind(o.path.name())
    .bind(o.path.as_str())
    .bind(rows::to_i64(o.rev)?)
    .bind(o.oid.as_str())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn update_object(tx: &mut Tx, o: &ObjectRecord) -> Result<(), StoreError> {
    sqlx::query("UPDATE objects SET rev = $1, hash = $2, size = $3, props = $4 WHERE oid = $5")
        .bind(rows::to_i64(o.rev)?)
        .bind(o.hash.map(|h| h.to_hex()))
        .bind(rows::to_i64(o.size)?)
        .bind(rows::props_json(&o.props)?)
        .bind(o.oid.as_str())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Records the state `o` had after revision `o.rev`.
async fn insert_history(tx: &mut Tx, o: &ObjectRecord, action: &str) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO history (oid, rev, path, kind, hash, size, props, action) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(o.oid.as_str())
    .bind(rows::to_i64(o.rev)?)
    .bind(o.path.as_str())
    .bind(o.kind.as_str())
    .bind(o.hash.map(|h| h.to_hex()))
    .bind(rows::to_i64(o.size)?)
    .bind(rows::props_json(&o.props)?)
    .bind(action)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn delete_subtree(tx: &mut Tx, path: &RepoPath) -> Result<(), StoreError> {
    let (lower, upper) = rows::subtree_bounds(path);
    let sql = format!(
        "DELETE FROM objects WHERE {}",
        rows::subtree_condition("path", path)
    );
    // One statement, so the parent references are checked only once the
    // whole subtree is gone.
    sqlx::query(AssertSqlSafe(sql))
        .bind(path.as_str())
        .bind(lower)
        .bind(upper)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
