//! Copying a SQLite store into an empty PostgreSQL database
//! (`zsyncd migrate-store`), in one PostgreSQL transaction, then verifying
//! the copy: equal row counts and row digests per table, and every body
//! re-read from PostgreSQL hashing to its name.

use futures_util::TryStreamExt;
use sqlx::AssertSqlSafe;
use zsync_model::{BodyHash, BodyHasher, Oid};

use super::{PgStore, SqlStore, postgres, sqlite};
use crate::{Store, StoreError};

/// What was copied: per table, its name and row count.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CopyReport {
    pub tables: Vec<(&'static str, u64)>,
    /// Bodies re-read from the target and found to match their hashes.
    pub bodies_verified: u64,
}

/// The copied tables in insertion order (referenced rows first), with
/// their columns and the order rows are inserted in (parents before
/// children for objects: a parent's path is a prefix of its children's).
const TABLES: &[(&str, &str, &str)] = &[
    ("revisions", "rev, time, author, message", "rev"),
    ("bodies", "hash, size", "hash"),
    ("chunks", "hash, seq, data", "hash, seq"),
    (
        "objects",
        "oid, parent_oid, name, path, kind, rev, hash, size, props",
        "path",
    ),
    (
        "history",
        "oid, rev, path, kind, hash, size, props, action",
        "rev, oid",
    ),
    ("users", "name, password_hash, disabled", "name"),
    ("tokens", "token_hash, username, expires", "token_hash"),
    ("grants", "username, path, role", "username, path"),
    (
        "ssh_keys",
        "fingerprint, username, public_key, added",
        "fingerprint",
    ),
    (
        "web_sessions",
        "token_hash, username, created, expires",
        "token_hash",
    ),
    ("commit_ids", "id, username, rev, response", "id"),
    (
        "locks",
        "oid, username, token_hash, created, comment",
        "oid",
    ),
];

/// Runs `$body` for each row of `$table` read through `$executor`, with
/// the row as the tuple type that table's columns decode to (the same for
/// both engines, so digests compare).
macro_rules! for_each_row {
    ($executor:expr, $table:expr, $select:expr, |$row:ident| $body:expr) => {{
        let select = AssertSqlSafe($select);
        match $table {
            "revisions" => rows!($executor, select, (i64, i64, String, String), |$row| $body),
            "bodies" => rows!($executor, select, (String, i64), |$row| $body),
            "chunks" => rows!($executor, select, (String, i64, Vec<u8>), |$row| $body),
            "objects" => rows!(
                $executor,
                select,
                (
                    String,
                    Option<String>,
                    String,
                    String,
                    String,
                    i64,
                    Option<String>,
                    i64,
                    String
                ),
                |$row| $body
            ),
            "history" => rows!(
                $executor,
                select,
                (
                    String,
                    i64,
                    String,
                    String,
                    Option<String>,
                    i64,
                    String,
                    String
                ),
                |$row| $body
            ),
            "users" => rows!($executor, select, (String, String, bool), |$row| $body),
            "tokens" => rows!($executor, select, (String, String, i64), |$row| $body),
            "grants" => rows!($executor, select, (String, String, String), |$row| $body),
            "ssh_keys" => rows!($executor, select, (String, String, String, i64), |$row| {
                $body
            }),
            "web_sessions" => rows!($executor, select, (String, String, i64, i64), |$row| {
                $body
            }),
            "commit_ids" => rows!($executor, select, (String, String, i64, String), |$row| {
                $body
            }),
            "locks" => rows!(
                $executor,
                select,
                (String, String, String, i64, String),
                |$row| { $body }
            ),
            other => Err(StoreError::Corrupt(format!(
                "no copy rule for table {other}"
            ))),
        }
    }};
}

macro_rules! rows {
    ($executor:expr, $select:expr, $ty:ty, |$row:ident| $body:expr) => {{
        let mut stream = sqlx::query_as::<_, $ty>($select).fetch($executor);
        let mut result: Result<(), StoreError> = Ok(());
        while let Some($row) = stream.try_next().await? {
            result = $body;
            if result.is_err() {
                break;
            }
        }
        result
    }};
}

/// Binds every field of a row tuple to an insert.
trait BindRow<'q> {
    fn bind_to(
        self,
        q: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    ) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>;
}

macro_rules! bind_row {
    ($($t:ident),+) => {
        #[allow(non_snake_case)]
        impl<'q, $($t),+> BindRow<'q> for ($($t,)+)
        where
            $($t: 'q + Send + sqlx::Encode<'q, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>),+
        {
            fn bind_to(
                self,
                q: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
            ) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
                let ($($t,)+) = self;
                q$(.bind($t))+
            }
        }
    };
}

bind_row!(A, B);
bind_row!(A, B, C);
bind_row!(A, B, C, D);
bind_row!(A, B, C, D, E);
bind_row!(A, B, C, D, E, F, G, H);
bind_row!(A, B, C, D, E, F, G, H, I);

/// An order-independent digest of rows (engines sort text differently):
/// the hash of the sorted per-row hashes.
#[derive(Default)]
struct Digest(Vec<BodyHash>);

impl Digest {
    fn add(&mut self, row: &impl std::fmt::Debug) {
        self.0.push(BodyHash::of(format!("{row:?}").as_bytes()));
    }

    fn finish(mut self) -> (u64, BodyHash) {
        self.0.sort();
        let mut all = BodyHasher::new();
        for h in &self.0 {
            all.update(h.to_hex().as_bytes());
        }
        (self.0.len() as u64, all.finish())
    }
}

/// Copies everything in `from` into `to`, which must be empty, as one
/// transaction, then verifies the copy.
pub async fn copy_sqlite_to_postgres(
    from: &SqlStore,
    to: &PgStore,
) -> Result<CopyReport, StoreError> {
    ensure_empty(to).await?;
    let src = &from.pool;
    let mut tx = postgres::begin_commit(&to.pool).await?;
    // The new database's root folder is replaced by the source's (whose
    // properties may have changed).
    sqlx::query("DELETE FROM objects WHERE oid = $1")
        .bind(Oid::root().as_str())
        .execute(&mut *tx)
        .await?;
    for &(table, columns, order) in TABLES {
        let n = columns.split(',').count();
        let placeholders: Vec<String> = (1..=n).map(|i| format!("${i}")).collect();
        let insert = format!(
            "INSERT INTO {table} ({columns}) VALUES ({})",
            placeholders.join(", ")
        );
        let select = format!("SELECT {columns} FROM {table} ORDER BY {order}");
        let tx = &mut tx;
        for_each_row!(src, table, select, |row| {
            row.bind_to(sqlx::query(AssertSqlSafe(insert.clone())))
                .execute(&mut **tx)
                .await
                .map(|_| ())
                .map_err(StoreError::from)
        })?;
    }
    let head = sqlite::objects::head(src).await?;
    postgres::announce(&mut tx, head).await?;
    tx.commit().await?;
    verify(from, to).await
}

async fn ensure_empty(to: &PgStore) -> Result<(), StoreError> {
    let (objects,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM objects")
        .fetch_one(&to.pool)
        .await?;
    let (revisions,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM revisions")
        .fetch_one(&to.pool)
        .await?;
    let (users,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM users")
        .fetch_one(&to.pool)
        .await?;
    let (bodies,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM bodies")
        .fetch_one(&to.pool)
        .await?;
    if objects > 1 || revisions > 0 || users > 0 || bodies > 0 {
        return Err(StoreError::AlreadyExists(format!(
            "a store in the target database ({revisions} revisions, {users} users)"
        )));
    }
    Ok(())
}

async fn table_digest_sqlite(
    pool: &sqlite::Pool,
    table: &'static str,
    columns: &'static str,
) -> Result<(u64, BodyHash), StoreError> {
    let mut digest = Digest::default();
    let select = format!("SELECT {columns} FROM {table}");
    for_each_row!(pool, table, select, |row| {
        digest.add(&row);
        Ok(())
    })?;
    Ok(digest.finish())
}

async fn table_digest_postgres(
    pool: &postgres::Pool,
    table: &'static str,
    columns: &'static str,
) -> Result<(u64, BodyHash), StoreError> {
    let mut digest = Digest::default();
    let select = format!("SELECT {columns} FROM {table}");
    for_each_row!(pool, table, select, |row| {
        digest.add(&row);
        Ok(())
    })?;
    Ok(digest.finish())
}

/// Compares every table's rows and re-hashes every body in `to`.
pub async fn verify(from: &SqlStore, to: &PgStore) -> Result<CopyReport, StoreError> {
    let mut tables = Vec::new();
    for &(table, columns, _) in TABLES {
        let source = table_digest_sqlite(&from.pool, table, columns).await?;
        let target = table_digest_postgres(&to.pool, table, columns).await?;
        if source != target {
            return Err(StoreError::Corrupt(format!(
                "the copy of table {table} differs: {} rows in SQLite, {} in PostgreSQL{}",
                source.0,
                target.0,
                if source.0 == target.0 {
                    " (with different contents)"
                } else {
                    ""
                }
            )));
        }
        tables.push((table, source.0));
    }
    let hashes: Vec<(String,)> = sqlx::query_as("SELECT hash FROM bodies")
        .fetch_all(&to.pool)
        .await?;
    let mut bodies_verified = 0;
    for (hex,) in hashes {
        let expected = crate::sql::rows::hash(hex)?;
        let mut stream = to.read_body(&expected).await?;
        let mut hasher = BodyHasher::new();
        while let Some(chunk) = stream.try_next().await? {
            hasher.update(&chunk);
        }
        let actual = hasher.finish();
        if actual != expected {
            return Err(StoreError::HashMismatch { expected, actual });
        }
        bodies_verified += 1;
    }
    Ok(CopyReport {
        tables,
        bodies_verified,
    })
}
