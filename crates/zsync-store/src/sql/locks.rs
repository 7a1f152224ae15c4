//! Locks on objects (svn lock semantics): at most one per object, taken
//! and released in the same write transaction commits run in, so a commit
//! and a lock never race.

use std::collections::HashSet;

use sqlx::AssertSqlSafe;
use zsync_format::PathProblem;
use zsync_model::{Oid, RepoPath};

use super::{Pool, Tx};
use crate::sql::rows;
use crate::{LockRecord, StoreError};

/// path, oid, username, token_hash, created, comment.
type LockRow = (String, String, String, String, i64, String);

const LOCK_COLUMNS: &str = "o.path, l.oid, l.username, l.token_hash, l.created, l.comment";

fn record(
    (path, oid, user, token_hash, created, comment): LockRow,
) -> Result<LockRecord, StoreError> {
    Ok(LockRecord {
        path: rows::path(path)?,
        oid: rows::oid(oid)?,
        user,
        token_hash,
        created,
        comment,
    })
}

/// Every lock in the store. Locks are few (people take them by hand), so
/// the commit reads them all rather than one query per touched object.
pub(crate) async fn all_in(tx: &mut Tx) -> Result<Vec<LockRecord>, StoreError> {
    let sql = format!("SELECT {LOCK_COLUMNS} FROM locks l JOIN objects o ON o.oid = l.oid");
    let found: Vec<LockRow> = sqlx::query_as(AssertSqlSafe(sql))
        .fetch_all(&mut **tx)
        .await?;
    found.into_iter().map(record).collect()
}

/// Removes the locks on `oids`; called by a commit for the committer's
/// own locks on what it committed.
pub(crate) async fn release_in(tx: &mut Tx, oids: &[&Oid]) -> Result<(), StoreError> {
    for oid in oids {
        sqlx::query("DELETE FROM locks WHERE oid = $1")
            .bind(oid.as_str())
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Locks every path for `user`, each with its token's hash, or none of
/// them: every path must name an object that is no folder, and unless
/// `steal`, none may be locked already (not even by `user`, whose other
/// working copy may hold it).
pub(crate) async fn lock(
    pool: &Pool,
    user: &str,
    paths: &[(RepoPath, String)],
    comment: &str,
    created: i64,
    steal: bool,
) -> Result<Vec<LockRecord>, StoreError> {
    let mut tx = super::begin_commit(pool).await?;
    let existing = all_in(&mut tx).await?;
    let mut problems = Vec::new();
    let mut held = Vec::new();
    let mut targets = Vec::new();
    let mut seen = HashSet::new();
    for (path, token_hash) in paths {
        if !seen.insert(path) {
            continue;
        }
        let Some(object) = super::objects::object_in(&mut *tx, path).await? else {
            problems.push(PathProblem::new(path.to_string(), "no such object"));
            continue;
        };
        if object.kind.is_folder() {
            problems.push(PathProblem::new(
                path.to_string(),
                "a folder cannot be locked; lock the files in it",
            ));
            continue;
        }
        if !steal && let Some(lock) = existing.iter().find(|l| l.oid == object.oid) {
            held.push(lock.clone());
            continue;
        }
        targets.push((object, token_hash));
    }
    if !problems.is_empty() || !held.is_empty() {
        let _ = tx.rollback().await;
        return Err(if problems.is_empty() {
            StoreError::Locked(held)
        } else {
            StoreError::Invalid(problems)
        });
    }
    let mut taken = Vec::new();
    for (object, token_hash) in targets {
        sqlx::query(
            "INSERT INTO locks (oid, username, token_hash, created, comment) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (oid) DO UPDATE SET username = $2, token_hash = $3, \
             created = $4, comment = $5",
        )
        .bind(object.oid.as_str())
        .bind(user)
        .bind(token_hash)
        .bind(created)
        .bind(comment)
        .execute(&mut *tx)
        .await?;
        taken.push(LockRecord {
            path: object.path,
            oid: object.oid,
            user: user.to_owned(),
            token_hash: token_hash.clone(),
            created,
            comment: comment.to_owned(),
        });
    }
    tx.commit().await?;
    Ok(taken)
}

/// Removes the locks on `paths` and returns those there were (a path
/// without a lock is skipped: its lock may have been broken). With
/// `owner`, every lock must be theirs, or nothing is removed.
pub(crate) async fn unlock(
    pool: &Pool,
    paths: &[RepoPath],
    owner: Option<&str>,
) -> Result<Vec<LockRecord>, StoreError> {
    let mut tx = super::begin_commit(pool).await?;
    let existing = all_in(&mut tx).await?;
    let wanted: HashSet<&RepoPath> = paths.iter().collect();
    let found: Vec<LockRecord> = existing
        .into_iter()
        .filter(|l| wanted.contains(&l.path))
        .collect();
    if let Some(owner) = owner {
        let others: Vec<LockRecord> = found.iter().filter(|l| l.user != owner).cloned().collect();
        if !others.is_empty() {
            let _ = tx.rollback().await;
            return Err(StoreError::Locked(others));
        }
    }
    let oids: Vec<&Oid> = found.iter().map(|l| &l.oid).collect();
    release_in(&mut tx, &oids).await?;
    tx.commit().await?;
    Ok(found)
}

/// The locks on the object at `root` and its subtree, by path.
pub(crate) async fn locks(pool: &Pool, root: &RepoPath) -> Result<Vec<LockRecord>, StoreError> {
    let sql = format!(
        "SELECT {LOCK_COLUMNS} FROM locks l JOIN objects o ON o.oid = l.oid WHERE {}",
        rows::subtree_condition("o.path", root)
    );
    let (lower, upper) = rows::subtree_bounds(root);
    let found: Vec<LockRow> = sqlx::query_as(AssertSqlSafe(sql))
        .bind(root.as_str())
        .bind(lower)
        .bind(upper)
        .fetch_all(pool)
        .await?;
    let mut found = found
        .into_iter()
        .map(record)
        .collect::<Result<Vec<_>, _>>()?;
    // Bytewise, whatever the database's collation.
    found.sort_by(|a, b| a.path.as_str().cmp(b.path.as_str()));
    Ok(found)
}
