//! Statements over many rows: a multi-row `INSERT` and a
//! `SELECT … WHERE key IN (…)`, each cut into statements of a few hundred
//! rows or keys (below every engine's limit on bound parameters), with
//! parameters spelled as the engine binds them fastest
//! ([`super::PARAMETERS`]). Everything that writes or looks up thousands
//! of rows at once (an upload batch, a checkin's commit) goes through here.

use sqlx::{AssertSqlSafe, Database, FromRow};

use super::Db;
use crate::StoreError;
use crate::sql::rows;

type Connection = <Db as Database>::Connection;

/// A statement being bound.
pub(crate) type Query = sqlx::query::Query<'static, Db, <Db as Database>::Arguments>;

/// Inserts `items`, [`rows::INSERT_ROWS`] per statement of the form
/// `HEAD (…), (…) TAIL`; `bind` binds one item's `columns` values, in
/// the order `HEAD` names them.
pub(crate) async fn insert<T>(
    conn: &mut Connection,
    head: &str,
    columns: usize,
    tail: &str,
    items: &[T],
    bind: impl Fn(Query, &T) -> Result<Query, StoreError>,
) -> Result<(), StoreError> {
    insert_in_groups(conn, rows::INSERT_ROWS, head, columns, tail, items, bind).await
}

async fn insert_in_groups<T>(
    conn: &mut Connection,
    group_rows: usize,
    head: &str,
    columns: usize,
    tail: &str,
    items: &[T],
    bind: impl Fn(Query, &T) -> Result<Query, StoreError>,
) -> Result<(), StoreError> {
    for group in items.chunks(group_rows) {
        let sql = rows::insert_rows(super::PARAMETERS, head, columns, group.len(), tail);
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for item in group {
            query = bind(query, item)?;
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Every row of `HEAD k1, k2, … TAIL` over all `keys`, asked
/// [`rows::LOOKUP_KEYS`] at a time (`HEAD` ends in `IN (`, `TAIL` starts
/// with `)`); `key` gives the value bound for one key.
pub(crate) async fn select_in<K, V, R>(
    conn: &mut Connection,
    head: &str,
    tail: &str,
    keys: &[K],
    key: impl Fn(&K) -> V,
) -> Result<Vec<R>, StoreError>
where
    V: 'static + sqlx::Encode<'static, Db> + sqlx::Type<Db>,
    R: for<'r> FromRow<'r, <Db as Database>::Row> + Send + Unpin,
{
    select_in_groups(conn, rows::LOOKUP_KEYS, head, tail, keys, key).await
}

async fn select_in_groups<K, V, R>(
    conn: &mut Connection,
    group_keys: usize,
    head: &str,
    tail: &str,
    keys: &[K],
    key: impl Fn(&K) -> V,
) -> Result<Vec<R>, StoreError>
where
    V: 'static + sqlx::Encode<'static, Db> + sqlx::Type<Db>,
    R: for<'r> FromRow<'r, <Db as Database>::Row> + Send + Unpin,
{
    let mut found = Vec::new();
    for group in keys.chunks(group_keys) {
        let sql = rows::in_list(super::PARAMETERS, head, group.len(), tail);
        let mut query = sqlx::query_as::<_, R>(AssertSqlSafe(sql));
        for k in group {
            query = query.bind(key(k));
        }
        found.extend(query.fetch_all(&mut *conn).await?);
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    async fn table(conn: &mut Connection) {
        sqlx::query("CREATE TABLE bulk_test (k TEXT PRIMARY KEY, n BIGINT NOT NULL, t TEXT)")
            .execute(&mut *conn)
            .await
            .unwrap();
    }

    async fn all(conn: &mut Connection) -> Vec<(String, i64, Option<String>)> {
        sqlx::query_as("SELECT k, n, t FROM bulk_test ORDER BY n")
            .fetch_all(&mut *conn)
            .await
            .unwrap()
    }

    /// Row counts around the statement size: none, one, just below, at
    /// and above one statement's rows, and several statements' worth.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn inserts_and_lookups_across_statement_boundaries() {
        let (_dir, pool) = super::super::scratch_pool().await;
        let mut conn = pool.acquire().await.unwrap();
        table(&mut conn).await;
        let per = rows::INSERT_ROWS;
        let mut total = 0_i64;
        for count in [0, 1, per - 1, per, per + 1, 2 * per + 3] {
            let items: Vec<(String, i64)> = (0..count)
                .map(|_| {
                    total += 1;
                    (format!("k{total}"), total)
                })
                .collect();
            insert(
                &mut conn,
                "INSERT INTO bulk_test (k, n, t) VALUES",
                3,
                "",
                &items,
                |q, (k, n)| Ok(q.bind(k.clone()).bind(*n).bind((n % 3 == 0).then_some("x"))),
            )
            .await
            .unwrap();
            let rows = all(&mut conn).await;
            assert_eq!(rows.len() as i64, total, "after inserting {count}");
            let last = rows.last().cloned();
            if let (Some((k, n, t)), Some((ik, in_))) = (last, items.last()) {
                assert_eq!((&k, n), (ik, *in_));
                assert_eq!(t.is_some(), n % 3 == 0);
            }
        }

        // Lookups of present and absent keys, across lookup statements.
        let per = rows::LOOKUP_KEYS;
        for count in [0, 1, per - 1, per, per + 1, 2 * per + 1] {
            let keys: Vec<String> = (0..count)
                .map(|i| {
                    if i % 2 == 0 {
                        format!("k{}", i % total as usize + 1)
                    } else {
                        format!("absent{i}")
                    }
                })
                .collect();
            let found: Vec<(String, i64)> = select_in(
                &mut conn,
                "SELECT k, n FROM bulk_test WHERE k IN (",
                ") ORDER BY n",
                &keys,
                |k| k.clone(),
            )
            .await
            .unwrap();
            let expected: BTreeSet<&String> = keys.iter().filter(|k| k.starts_with('k')).collect();
            let got: BTreeSet<&String> = found.iter().map(|(k, _)| k).collect();
            assert_eq!(got, expected, "looking up {count} keys");
            for (k, n) in &found {
                assert_eq!(k, &format!("k{n}"));
            }
        }
    }

    /// A failing statement fails the call; the groups before it were
    /// executed (the caller's transaction makes that all or nothing).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failing_group_is_an_error() {
        let (_dir, pool) = super::super::scratch_pool().await;
        let mut conn = pool.acquire().await.unwrap();
        table(&mut conn).await;
        let items: Vec<i64> = (0..5).chain([2]).collect();
        let result = insert_in_groups(
            &mut conn,
            3,
            "INSERT INTO bulk_test (k, n) VALUES",
            2,
            "",
            &items,
            |q, n| Ok(q.bind(format!("k{n}")).bind(*n)),
        )
        .await;
        assert!(result.is_err());
        assert_eq!(all(&mut conn).await.len(), 3);
        let keys = ["k0", "k1", "k2", "k3"];
        let found: Vec<(String,)> = select_in_groups(
            &mut conn,
            1,
            "SELECT k FROM bulk_test WHERE k IN (",
            ")",
            &keys,
            |k| k.to_string(),
        )
        .await
        .unwrap();
        assert_eq!(found.len(), 3);
    }
}
