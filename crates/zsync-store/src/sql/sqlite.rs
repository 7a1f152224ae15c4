//! Everything SQLite-specific: connection settings, migrations, how write
//! transactions begin, and SQL whose syntax differs between engines. The
//! portable modules (portable SQL with `$n` placeholders) are compiled into
//! this one, and again into [`super::postgres`], each time against the
//! engine items defined here: one source, statically typed per engine,
//! without spelling sqlx's per-database trait bounds on every function.

use std::path::Path;
use std::time::Duration;

use sqlx::pool::PoolConnection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Connection, Transaction};

use crate::StoreError;

pub(crate) type Db = sqlx::Sqlite;
pub(crate) type Pool = sqlx::Pool<Db>;
pub(crate) type Tx = Transaction<'static, Db>;

/// How generated SQL spells bound parameters (see [`Parameters`](super::rows::Parameters)).
pub(crate) const PARAMETERS: super::rows::Parameters = super::rows::Parameters::Positional;

/// Writers queue on SQLite's lock for at most this long before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Each connection's page cache, in KiB (negative: SQLite's unit for
/// KiB). It grows only as far as it is used, and a big body's upload
/// fills it: at 32 MiB a 64 MiB upload grew the server by up to 60 MiB,
/// at 16 MiB by up to 43 (two connections' caches full), both near or
/// past `big_body`'s 48 MiB bound. An import of 20,000 files is as fast
/// at 8 MiB (4.1-4.5 s against 4.1-4.2 s, and 40 MiB less RSS).
const CACHE_SIZE: &str = "-8192";

/// The page size of a new database; an existing one keeps its own. Bodies
/// are stored as 1 MiB chunks, each a chain of overflow pages that SQLite
/// reads a page per `pread`: at 16 KiB rather than the default 4 KiB, a
/// 20,000-file checkin took 8-17% less (3.25 s against 3.58, medians of 3
/// into fresh servers), the checkout's archive 17% less, and a commit of
/// 10 files (a few pages of rows) as long. 64 KiB gained no more.
const PAGE_SIZE: u32 = 16384;

/// SQLite allows one writer at a time anyway; a few connections let reads
/// proceed while a commit runs.
const MAX_CONNECTIONS: u32 = 8;

/// The migrations, embedded so the binary needs no files besides the
/// database. Append new versions; never edit an applied one (the migrator
/// checks their checksums).
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "initial",
        include_str!("../../migrations/sqlite/0001_initial.sql"),
    ),
    (
        2,
        "grants",
        include_str!("../../migrations/sqlite/0002_grants.sql"),
    ),
    (
        3,
        "history hash index",
        include_str!("../../migrations/sqlite/0003_history_hash.sql"),
    ),
    (
        4,
        "ssh keys",
        include_str!("../../migrations/sqlite/0004_keys.sql"),
    ),
    (
        5,
        "web sessions",
        include_str!("../../migrations/sqlite/0005_web_sessions.sql"),
    ),
    (
        6,
        "commit ids",
        include_str!("../../migrations/sqlite/0006_commit_ids.sql"),
    ),
    (
        7,
        "locks",
        include_str!("../../migrations/sqlite/0007_locks.sql"),
    ),
];

/// Creates the root folder unless it exists.
pub(crate) const INSERT_ROOT: &str = "INSERT INTO objects (oid, parent_oid, name, path, kind, rev, hash, size, props) \
     VALUES ($1, NULL, '', '', $2, 0, NULL, 0, '{}') ON CONFLICT (oid) DO NOTHING";

/// Opens (creating if needed) the database file and brings its schema up
/// to date.
pub(crate) async fn connect(db_file: &Path) -> Result<Pool, StoreError> {
    let options = SqliteConnectOptions::new()
        .filename(db_file)
        .create_if_missing(true)
        .page_size(PAGE_SIZE)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(BUSY_TIMEOUT)
        // A body batch or a big commit's transaction (megabytes) fits in
        // the page cache instead of spilling pages to the log midway.
        .pragma("cache_size", CACHE_SIZE)
        // Statement journals (multi-row statements inside a transaction)
        // stay in memory.
        .pragma("temp_store", "memory");
    let pool = SqlitePoolOptions::new()
        .max_connections(MAX_CONNECTIONS)
        .connect_with(options)
        .await?;
    super::migrator(MIGRATIONS).run(&pool).await?;
    Ok(pool)
}

/// Begins a write transaction. `BEGIN IMMEDIATE` takes the write lock at
/// once, so two writers queue (busy timeout) instead of both reading and
/// then one failing to upgrade its lock.
pub(crate) async fn begin_write(pool: &Pool) -> Result<Tx, StoreError> {
    Ok(pool.begin_with("BEGIN IMMEDIATE").await?)
}

/// A connection whose transactions end without waiting for the disk, for
/// storing bodies. Safe for bodies alone: the write-ahead log is replayed
/// in order, so the commit that first names a body (which is synced) makes
/// it durable too, and a body lost with a crash before that is uploaded
/// again. [`release_body_connection`] puts full durability back.
pub(crate) async fn body_connection(pool: &Pool) -> Result<PoolConnection<Db>, StoreError> {
    let mut conn = pool.acquire().await?;
    sqlx::query("PRAGMA synchronous = NORMAL")
        .execute(&mut *conn)
        .await?;
    Ok(conn)
}

/// Returns a [`body_connection`] to the pool with full durability, or
/// closes it (if the body was not stored, or the reset fails): no later
/// commit may run on it without syncing.
pub(crate) async fn release_body_connection(mut conn: PoolConnection<Db>, stored: bool) {
    let reset = stored
        && sqlx::query("PRAGMA synchronous = FULL")
            .execute(&mut *conn)
            .await
            .is_ok();
    if !reset {
        conn.close_on_drop();
    }
}

/// Begins the write transaction that stores a body, on a
/// [`body_connection`].
pub(crate) async fn begin_body(
    conn: &mut PoolConnection<Db>,
) -> Result<Transaction<'_, Db>, StoreError> {
    Ok(conn.begin_with("BEGIN IMMEDIATE").await?)
}

/// Begins a commit: the write lock orders commits, so revisions are
/// allocated in commit order and the checks see every earlier commit.
pub(crate) async fn begin_commit(pool: &Pool) -> Result<Tx, StoreError> {
    begin_write(pool).await
}

/// Announces a new revision to other processes. Only one process serves
/// a SQLite store; the store wakes its own waiters after the commit.
pub(crate) async fn announce(_tx: &mut Tx, _rev: u64) -> Result<(), StoreError> {
    Ok(())
}

/// Serialises uploads of one body; `BEGIN IMMEDIATE` already serialises
/// every writer.
pub(crate) async fn lock_body(
    _tx: &mut Transaction<'_, Db>,
    _hash: &str,
) -> Result<(), StoreError> {
    Ok(())
}

/// Begins a read transaction: in WAL mode every statement in it sees the
/// snapshot taken by its first read.
pub(crate) async fn begin_read(pool: &Pool) -> Result<Tx, StoreError> {
    Ok(pool.begin().await?)
}

/// The engine's own consistency checks, as problem descriptions: SQLite's
/// page-level `integrity_check` and the foreign keys (which a database
/// written with enforcement off could break).
pub(crate) async fn engine_check(tx: &mut Tx) -> Result<Vec<String>, StoreError> {
    let mut problems = Vec::new();
    let pages: Vec<(String,)> = sqlx::query_as("PRAGMA integrity_check")
        .fetch_all(&mut **tx)
        .await?;
    problems.extend(
        pages
            .into_iter()
            .map(|(line,)| line)
            .filter(|line| line != "ok")
            .map(|line| format!("SQLite integrity check: {line}")),
    );
    let keys: Vec<(String, Option<i64>, String, i64)> = sqlx::query_as("PRAGMA foreign_key_check")
        .fetch_all(&mut **tx)
        .await?;
    problems.extend(keys.into_iter().map(|(table, rowid, parent, _)| {
        format!(
            "table {table} row {} refers to a missing row of {parent}",
            rowid.map_or_else(|| "?".to_owned(), |r| r.to_string())
        )
    }));
    Ok(problems)
}

/// A fresh store's database in a temporary directory, for tests of the
/// portable modules.
#[cfg(test)]
pub(crate) async fn scratch_pool() -> (tempfile::TempDir, Pool) {
    let dir = tempfile::tempdir().expect("temp dir");
    let pool = connect(&dir.path().join("zsync.db"))
        .await
        .expect("sqlite store");
    (dir, pool)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn page_size(pool: &Pool) -> i64 {
        sqlx::query_scalar("PRAGMA page_size")
            .fetch_one(pool)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn a_new_database_has_big_pages_and_an_old_one_keeps_its_own() {
        let (_dir, pool) = scratch_pool().await;
        assert_eq!(page_size(&pool).await, i64::from(PAGE_SIZE));

        // A database made before the page size was set (SQLite's default
        // of 4 KiB, already in WAL mode) opens and migrates as it is.
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("zsync.db");
        let old = SqliteConnectOptions::new()
            .filename(&file)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal);
        let mut conn = sqlx::SqliteConnection::connect_with(&old).await.unwrap();
        sqlx::query("CREATE TABLE early (x INTEGER)")
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
        let pool = connect(&file).await.unwrap();
        assert_eq!(page_size(&pool).await, 4096);
        let objects: i64 = sqlx::query_scalar("SELECT count(*) FROM objects")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(objects, 0);
    }
}

#[path = "bodies.rs"]
pub(crate) mod bodies;
#[path = "bulk.rs"]
pub(crate) mod bulk;
#[path = "check.rs"]
pub(crate) mod check;
#[path = "commit.rs"]
pub(crate) mod commit;
#[path = "keys.rs"]
pub(crate) mod keys;
#[path = "locks.rs"]
pub(crate) mod locks;
#[path = "objects.rs"]
pub(crate) mod objects;
#[path = "users.rs"]
pub(crate) mod users;
