//! The store test suite runs every engine-independent test against both
//! engines: [`engine_tests!`] makes a `sqlite::NAME` and a `postgres::NAME`
//! test of each `async fn NAME<S: Store>(fixture: Fixture, store: S)`.

#![allow(dead_code)]

use tempfile::TempDir;
use zsync_store::{PgStore, SqlStore};

/// Where a test's store lives, for the few checks that look underneath it.
pub struct Fixture {
    pub dir: TempDir,
    /// The PostgreSQL database, or `None` for SQLite (`dir/data/zsync.db`).
    pub url: Option<String>,
}

impl Fixture {
    /// Upload spool files left behind (there should be none).
    pub fn tmp_files(&self) -> usize {
        std::fs::read_dir(self.dir.path().join("data/tmp"))
            .unwrap()
            .count()
    }

    /// Runs one statement straight on the database, around the store.
    pub async fn execute(&self, sql: &'static str) {
        match &self.url {
            None => {
                let pool = sqlx::SqlitePool::connect(&self.sqlite_url()).await.unwrap();
                sqlx::query(sql).execute(&pool).await.unwrap();
                pool.close().await;
            }
            Some(url) => {
                let pool = sqlx::PgPool::connect(url).await.unwrap();
                sqlx::query(sql).execute(&pool).await.unwrap();
                pool.close().await;
            }
        }
    }

    /// Revisions with at least one history row, read straight from the
    /// database.
    pub async fn history_revs(&self) -> Vec<i64> {
        const SQL: &str = "SELECT DISTINCT rev FROM history ORDER BY rev";
        let revs: Vec<(i64,)> = match &self.url {
            None => {
                let pool = sqlx::SqlitePool::connect(&self.sqlite_url()).await.unwrap();
                let revs = sqlx::query_as(SQL).fetch_all(&pool).await.unwrap();
                pool.close().await;
                revs
            }
            Some(url) => {
                let pool = sqlx::PgPool::connect(url).await.unwrap();
                let revs = sqlx::query_as(SQL).fetch_all(&pool).await.unwrap();
                pool.close().await;
                revs
            }
        };
        revs.into_iter().map(|(r,)| r).collect()
    }

    fn sqlite_url(&self) -> String {
        format!(
            "sqlite://{}",
            self.dir.path().join("data/zsync.db").display()
        )
    }
}

pub async fn sqlite() -> (Fixture, SqlStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqlStore::open(&dir.path().join("data")).await.unwrap();
    (Fixture { dir, url: None }, store)
}

pub async fn postgres() -> (Fixture, PgStore) {
    let dir = tempfile::tempdir().unwrap();
    let url = tokio::task::spawn_blocking(zsync_pgtest::fresh_database)
        .await
        .unwrap();
    let store = PgStore::connect(&url, &dir.path().join("data/tmp"))
        .await
        .unwrap();
    (
        Fixture {
            dir,
            url: Some(url),
        },
        store,
    )
}

/// One test per engine for each named generic test function.
#[macro_export]
macro_rules! engine_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let (fixture, store) = $crate::common::sqlite().await;
                    super::$name(fixture, store).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let (fixture, store) = $crate::common::postgres().await;
                    super::$name(fixture, store).await;
                }
            )*
        }
    };
}
