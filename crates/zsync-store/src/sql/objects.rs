//! Reading objects: the head revision, single objects, manifests of
//! subtrees, and the log.

use futures_util::TryStreamExt;
use sqlx::AssertSqlSafe;
use zsync_format::{ChangeAction, ChangedPath, LogEntry, Manifest, ManifestEntry};
use zsync_model::{RepoPath, Rev};

use super::Pool;
use crate::sql::rows::{self, OBJECT_COLUMNS, ObjectRow};
use crate::{ObjectRecord, StoreError};

const HEAD: &str = "SELECT COALESCE(MAX(rev), 0) FROM revisions";

/// The newest revision, read through any executor (pool or transaction).
pub(crate) async fn head_in<'e, E>(executor: E) -> Result<Rev, StoreError>
where
    E: sqlx::Executor<'e, Database = super::Db>,
{
    let (head,): (i64,) = sqlx::query_as(HEAD).fetch_one(executor).await?;
    rows::rev(head)
}

pub(crate) async fn head(pool: &Pool) -> Result<Rev, StoreError> {
    head_in(pool).await
}

/// The object at `path`, through any executor.
pub(crate) async fn object_in<'e, E>(
    executor: E,
    path: &RepoPath,
) -> Result<Option<ObjectRecord>, StoreError>
where
    E: sqlx::Executor<'e, Database = super::Db>,
{
    let sql = format!("SELECT {OBJECT_COLUMNS} FROM objects WHERE path = $1");
    let row: Option<ObjectRow> = sqlx::query_as(AssertSqlSafe(sql))
        .bind(path.as_str())
        .fetch_optional(executor)
        .await?;
    row.map(rows::object).transpose()
}

pub(crate) async fn object(
    pool: &Pool,
    path: &RepoPath,
) -> Result<Option<ObjectRecord>, StoreError> {
    object_in(pool, path).await
}

pub(crate) async fn body_paths(
    pool: &Pool,
    hash: &zsync_model::BodyHash,
) -> Result<Vec<RepoPath>, StoreError> {
    let mut found: Vec<(String,)> = sqlx::query_as("SELECT path FROM objects WHERE hash = $1")
        .bind(hash.to_hex())
        .fetch_all(pool)
        .await?;
    if found.is_empty() {
        found = sqlx::query_as("SELECT DISTINCT path FROM history WHERE hash = $1")
            .bind(hash.to_hex())
            .fetch_all(pool)
            .await?;
    }
    found.into_iter().map(|(p,)| rows::path(p)).collect()
}

pub(crate) async fn manifest(pool: &Pool, root: &RepoPath) -> Result<Manifest, StoreError> {
    let mut tx = super::begin_read(pool).await?;
    let head = head_in(&mut *tx).await?;
    let sql = format!(
        "SELECT o.path, o.oid, o.kind, o.rev, o.hash, o.size, o.props, COALESCE(r.author, '') \
         FROM objects o LEFT JOIN revisions r ON r.rev = o.rev \
         WHERE {} ORDER BY o.path",
        rows::subtree_condition("o.path", root)
    );
    let (lower, upper) = rows::subtree_bounds(root);
    let mut entries = Vec::new();
    {
        let mut stream = sqlx::query_as::<_, rows::ManifestRow>(AssertSqlSafe(sql))
            .bind(root.as_str())
            .bind(lower)
            .bind(upper)
            .fetch(&mut *tx);
        while let Some((p, o, k, r, h, s, pr, author)) = stream.try_next().await? {
            let record = rows::object((p, o, k, r, h, s, pr))?;
            let path = root.relative(&record.path).ok_or_else(|| {
                StoreError::Corrupt(format!(
                    "{} was selected below {root} but is not",
                    record.path
                ))
            })?;
            entries.push(ManifestEntry {
                path,
                oid: record.oid,
                kind: record.kind,
                rev: record.rev,
                hash: record.hash,
                size: record.size,
                props: record.props,
                author,
            });
        }
    }
    tx.commit().await?;
    // The root sorts first, so if it is absent the first row is something else.
    if entries.first().is_none_or(|e| !e.path.is_root()) {
        return Err(StoreError::NotFound(root.to_string()));
    }
    Ok(Manifest {
        root: root.clone(),
        head,
        entries,
        omitted: 0,
    })
}

/// The subtree as of revision `rev`, from the history: for every object
/// its newest history row at or before `rev`, unless that row deleted it.
pub(crate) async fn manifest_at(
    pool: &Pool,
    root: &RepoPath,
    rev: Rev,
) -> Result<Manifest, StoreError> {
    let mut tx = super::begin_read(pool).await?;
    let head = head_in(&mut *tx).await?;
    if rev > head {
        return Err(StoreError::NotFound(format!("revision {rev}")));
    }
    let sql = format!(
        "SELECT h.path, h.oid, h.kind, h.rev, h.hash, h.size, h.props, COALESCE(r.author, '') \
         FROM history h LEFT JOIN revisions r ON r.rev = h.rev \
         WHERE h.rev = (SELECT MAX(h2.rev) FROM history h2 WHERE h2.oid = h.oid AND h2.rev <= $4) \
         AND h.action <> 'D' AND {} ORDER BY h.path",
        rows::subtree_condition("h.path", root)
    );
    let (lower, upper) = rows::subtree_bounds(root);
    let found: Vec<rows::ManifestRow> = sqlx::query_as(AssertSqlSafe(sql))
        .bind(root.as_str())
        .bind(lower)
        .bind(upper)
        .bind(i64::try_from(rev).map_err(|_| StoreError::NotFound(format!("revision {rev}")))?)
        .fetch_all(&mut *tx)
        .await?;
    // The root folder is never written to the history; it always exists.
    let root_record = if root.is_root() && !found.iter().any(|row| row.0.is_empty()) {
        object_in(&mut *tx, root).await?
    } else {
        None
    };
    tx.commit().await?;
    let mut entries = Vec::with_capacity(found.len() + 1);
    if let Some(record) = root_record {
        entries.push(ManifestEntry {
            path: RepoPath::root(),
            oid: record.oid,
            kind: record.kind,
            rev: 0,
            hash: None,
            size: 0,
            props: Default::default(),
            author: String::new(),
        });
    }
    for (p, o, k, r, h, s, pr, author) in found {
        let record = rows::object((p, o, k, r, h, s, pr))?;
        let Some(path) = root.relative(&record.path) else {
            continue;
        };
        entries.push(ManifestEntry {
            path,
            oid: record.oid,
            kind: record.kind,
            rev: record.rev,
            hash: record.hash,
            size: record.size,
            props: record.props,
            author,
        });
    }
    if entries.first().is_none_or(|e| !e.path.is_root()) {
        return Err(StoreError::NotFound(format!("{root} in revision {rev}")));
    }
    Ok(Manifest {
        root: root.clone(),
        head,
        entries,
        omitted: 0,
    })
}

pub(crate) async fn log(
    pool: &Pool,
    path: &RepoPath,
    limit: Option<u32>,
) -> Result<Vec<LogEntry>, StoreError> {
    let mut tx = super::begin_read(pool).await?;
    let (lower, upper) = rows::subtree_bounds(path);
    // History follows objects, not paths: every row of every object that
    // was ever at or below the path, so a renamed object keeps its past.
    let condition = if path.is_root() {
        rows::subtree_condition("path", path)
    } else {
        format!(
            "oid IN (SELECT oid FROM history WHERE {})",
            rows::subtree_condition("path", path)
        )
    };
    let revs_sql = format!(
        "SELECT r.rev, r.time, r.author, r.message FROM revisions r \
         WHERE r.rev IN (SELECT rev FROM history WHERE {condition}) \
         ORDER BY r.rev DESC LIMIT $4"
    );
    let limit = limit.map_or(i64::MAX, i64::from);
    let revisions: Vec<(i64, i64, String, String)> = sqlx::query_as(AssertSqlSafe(revs_sql))
        .bind(path.as_str())
        .bind(&lower)
        .bind(&upper)
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;

    let changes_sql = format!(
        "SELECT path, oid, action FROM history WHERE rev = $4 AND {condition} ORDER BY path"
    );
    let before_sql =
        "SELECT path FROM history WHERE oid = $1 AND rev < $2 ORDER BY rev DESC LIMIT 1";
    let mut entries = Vec::with_capacity(revisions.len());
    for (rev, time, user, message) in revisions {
        let changed: Vec<(String, String, String)> =
            sqlx::query_as(AssertSqlSafe(changes_sql.clone()))
                .bind(path.as_str())
                .bind(&lower)
                .bind(&upper)
                .bind(rev)
                .fetch_all(&mut *tx)
                .await?;
        let mut changes = Vec::with_capacity(changed.len());
        for (p, o, a) in changed {
            let mut action = action(&a)?;
            let path = rows::path(p)?;
            // A move is stored as 'M' (the history table's CHECK allows
            // only A, M, D) with the new path; it shows as R with the old.
            let mut from = None;
            if action == ChangeAction::M {
                let before: Option<(String,)> = sqlx::query_as(before_sql)
                    .bind(&o)
                    .bind(rev)
                    .fetch_optional(&mut *tx)
                    .await?;
                if let Some((b,)) = before {
                    let b = rows::path(b)?;
                    if b != path {
                        action = ChangeAction::R;
                        from = Some(b);
                    }
                }
            }
            changes.push(ChangedPath {
                path,
                oid: rows::oid(o)?,
                action,
                from,
            });
        }
        entries.push(LogEntry {
            rev: rows::rev(rev)?,
            time,
            user,
            message,
            changes,
        });
    }
    tx.commit().await?;
    Ok(entries)
}

fn action(s: &str) -> Result<ChangeAction, StoreError> {
    match s {
        "A" => Ok(ChangeAction::A),
        "M" => Ok(ChangeAction::M),
        "D" => Ok(ChangeAction::D),
        _ => Err(StoreError::Corrupt(format!("unknown history action {s:?}"))),
    }
}

/// The revisions after `since`, oldest first and at most `limit` of them,
/// each with the paths it touched, for the change feed. A move shows as
/// `M` at its new path; `log` tells moves apart, the feed need not.
pub(crate) async fn changes(
    pool: &Pool,
    since: Rev,
    limit: u32,
) -> Result<Vec<LogEntry>, StoreError> {
    let since = rows::to_i64(since)?;
    let mut tx = super::begin_read(pool).await?;
    let revisions: Vec<(i64, i64, String, String)> = sqlx::query_as(
        "SELECT rev, time, author, message FROM revisions WHERE rev > $1 ORDER BY rev LIMIT $2",
    )
    .bind(since)
    .bind(i64::from(limit))
    .fetch_all(&mut *tx)
    .await?;
    let Some(&(last, ..)) = revisions.last() else {
        tx.commit().await?;
        return Ok(Vec::new());
    };
    let changed: Vec<(i64, String, String, String)> = sqlx::query_as(
        "SELECT rev, path, oid, action FROM history WHERE rev > $1 AND rev <= $2 \
         ORDER BY rev, path",
    )
    .bind(since)
    .bind(last)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let mut changed = changed.into_iter().peekable();
    let mut entries = Vec::with_capacity(revisions.len());
    for (rev, time, user, message) in revisions {
        let mut changes = Vec::new();
        while let Some((_, p, o, a)) = changed.next_if(|row| row.0 == rev) {
            changes.push(ChangedPath {
                path: rows::path(p)?,
                oid: rows::oid(o)?,
                action: action(&a)?,
                from: None,
            });
        }
        entries.push(LogEntry {
            rev: rows::rev(rev)?,
            time,
            user,
            message,
            changes,
        });
    }
    Ok(entries)
}
