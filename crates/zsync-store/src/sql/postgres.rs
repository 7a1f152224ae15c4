//! Everything PostgreSQL-specific: connecting, migrations, how commits are
//! ordered across processes, and how they are announced. The portable
//! modules are compiled into this one against these items (see
//! [`super::sqlite`]).

use std::time::Duration;

use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, Transaction};

use crate::StoreError;

pub(crate) type Db = sqlx::Postgres;
pub(crate) type Pool = sqlx::Pool<Db>;
pub(crate) type Tx = Transaction<'static, Db>;

/// How generated SQL spells bound parameters (see [`Parameters`](super::rows::Parameters)).
pub(crate) const PARAMETERS: super::rows::Parameters = super::rows::Parameters::Numbered;

/// Connections per process; several processes share the server's limit.
const MAX_CONNECTIONS: u32 = 16;

/// How long a request waits for a free connection before failing.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);

/// The channel commits are announced on (`LISTEN`/`NOTIFY`), with the new
/// revision as payload.
pub(crate) const CHANNEL: &str = "zsync_changes";

/// The migrations, embedded. Append new versions; never edit an applied
/// one. sqlx's migrator takes an advisory lock, so nodes starting
/// together migrate once.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "initial",
        include_str!("../../migrations/postgres/0001_initial.sql"),
    ),
    (
        2,
        "web sessions",
        include_str!("../../migrations/postgres/0002_web_sessions.sql"),
    ),
    (
        3,
        "commit ids",
        include_str!("../../migrations/postgres/0003_commit_ids.sql"),
    ),
    (
        4,
        "locks",
        include_str!("../../migrations/postgres/0004_locks.sql"),
    ),
];

/// Creates the root folder unless it exists.
pub(crate) const INSERT_ROOT: &str = super::sqlite::INSERT_ROOT;

/// Connects to the database at `url` and brings its schema up to date.
pub(crate) async fn connect(url: &str) -> Result<Pool, StoreError> {
    let options: PgConnectOptions = url.parse()?;
    let pool = PgPoolOptions::new()
        .max_connections(MAX_CONNECTIONS)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_with(options)
        .await?;
    super::migrator(MIGRATIONS).run(&pool).await?;
    Ok(pool)
}

/// Begins a write transaction (READ COMMITTED: each statement sees what
/// was committed before it started).
pub(crate) async fn begin_write(pool: &Pool) -> Result<Tx, StoreError> {
    Ok(pool.begin().await?)
}

/// Begins a commit: locks the `commit_order` row, so commits from every
/// process apply one at a time, revisions are allocated in commit order,
/// and (READ COMMITTED) the base-revision checks that follow see every
/// commit before this one. Bodies are uploaded before, so the lock is
/// held only for the commit's own statements, never across network I/O
/// with a client.
pub(crate) async fn begin_commit(pool: &Pool) -> Result<Tx, StoreError> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT id FROM commit_order WHERE id = 1 FOR UPDATE")
        .execute(&mut *tx)
        .await?;
    Ok(tx)
}

/// Announces the new revision to every process listening; PostgreSQL
/// delivers it when (and only if) the transaction commits.
pub(crate) async fn announce(tx: &mut Tx, rev: u64) -> Result<(), StoreError> {
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(CHANNEL)
        .bind(rev.to_string())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Serialises uploads of one body across processes, so the second waits
/// and then finds it stored instead of failing on the primary key.
/// A connection for storing bodies (see [`begin_body`]).
pub(crate) async fn body_connection(pool: &Pool) -> Result<PoolConnection<Db>, StoreError> {
    Ok(pool.acquire().await?)
}

/// Returns a [`body_connection`]: its setting was for one transaction.
pub(crate) async fn release_body_connection(conn: PoolConnection<Db>, _stored: bool) {
    drop(conn);
}

/// Begins the transaction that stores a body, which ends without waiting
/// for the WAL flush. Safe for bodies alone: the WAL is flushed in order,
/// so the commit that first names a body (which waits) makes it durable
/// too, and a body lost with a crash before that is uploaded again.
pub(crate) async fn begin_body(
    conn: &mut PoolConnection<Db>,
) -> Result<Transaction<'_, Db>, StoreError> {
    let mut tx = conn.begin().await?;
    // `LOCAL`: for this transaction only.
    sqlx::query("SET LOCAL synchronous_commit = off")
        .execute(&mut *tx)
        .await?;
    Ok(tx)
}

pub(crate) async fn lock_body(tx: &mut Transaction<'_, Db>, hash: &str) -> Result<(), StoreError> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
        .bind(hash)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Begins a read transaction on one snapshot (REPEATABLE READ), so a
/// manifest is consistent even while other processes commit.
pub(crate) async fn begin_read(pool: &Pool) -> Result<Tx, StoreError> {
    Ok(pool
        .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .await?)
}

/// The engine's own consistency checks: none needed beyond the portable
/// ones, since PostgreSQL always enforces foreign keys and checksums its
/// pages itself when the cluster was initialised with them.
pub(crate) async fn engine_check(_tx: &mut Tx) -> Result<Vec<String>, StoreError> {
    Ok(Vec::new())
}

/// A fresh database of its own, for tests of the portable modules (the
/// directory only keeps the signature alike for both engines).
#[cfg(test)]
pub(crate) async fn scratch_pool() -> (tempfile::TempDir, Pool) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = tokio::task::spawn_blocking(zsync_pgtest::fresh_database)
        .await
        .expect("PostgreSQL for tests");
    let pool = connect(&url).await.expect("postgres store");
    (dir, pool)
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
