//! The [`Store`] on SQL databases through sqlx: [`SqlStore`] on SQLite,
//! [`PgStore`] on PostgreSQL.
//!
//! Engine specifics live in [`sqlite`] and [`postgres`]; the portable
//! modules (`objects`, `bodies`, `commit`, `users`, `keys`) are compiled
//! into each of them, and both stores delegate to their engine's copy.
//! Uploads are spooled to a directory outside the database first.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use sqlx::postgres::PgListener;

use tokio::io::AsyncRead;
use zsync_format::{CommitRequest, CommitResponse, LogEntry, Manifest};
use zsync_model::{BodyHash, CommitId, Kind, Oid, RepoPath, Rev, Role};

use crate::feed::Feed;
use crate::{
    BodyStream, Grant, IntegrityReport, LockRecord, ObjectRecord, RecordedCommit, SshKeyRecord,
    Store, StoreError, TokenRecord, UserRecord, WebSessionRecord,
};

pub(crate) mod copy;
mod postgres;
mod rows;
mod sqlite;

/// The name of the database file inside the data directory.
const DB_FILE: &str = "zsync.db";
/// Where uploads are spooled, inside the data directory.
const TMP_DIR: &str = "tmp";

/// The object store on SQLite. Cheap to clone: clones share one pool.
#[derive(Clone, Debug)]
pub struct SqlStore {
    pool: sqlite::Pool,
    tmp_dir: PathBuf,
    feed: Feed,
}

impl SqlStore {
    /// Opens the store in `data_dir`, creating the directory, the database
    /// and the root folder as needed, and migrating an older schema.
    pub async fn open(data_dir: &Path) -> Result<SqlStore, StoreError> {
        tokio::fs::create_dir_all(data_dir).await?;
        let tmp_dir = data_dir.join(TMP_DIR);
        tokio::fs::create_dir_all(&tmp_dir).await?;
        let pool = sqlite::connect(&data_dir.join(DB_FILE)).await?;
        sqlx::query(sqlite::INSERT_ROOT)
            .bind(Oid::root().as_str())
            .bind(Kind::FOLDER)
            .execute(&pool)
            .await?;
        let feed = Feed::new();
        feed.announce(sqlite::objects::head(&pool).await?);
        Ok(SqlStore {
            pool,
            tmp_dir,
            feed,
        })
    }

    /// Closes the pool, waiting for connections in use to be returned.
    /// Dropping every clone also closes it; this makes it deterministic.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// The [`Store`] methods, delegated to one engine's portable modules.
macro_rules! delegate_store {
    ($engine:ident) => {
        async fn head(&self) -> Result<Rev, StoreError> {
            $engine::objects::head(&self.pool).await
        }

        async fn manifest(&self, root: &RepoPath) -> Result<Manifest, StoreError> {
            $engine::objects::manifest(&self.pool, root).await
        }

        async fn manifest_at(&self, root: &RepoPath, rev: Rev) -> Result<Manifest, StoreError> {
            $engine::objects::manifest_at(&self.pool, root, rev).await
        }

        async fn object(&self, path: &RepoPath) -> Result<Option<ObjectRecord>, StoreError> {
            $engine::objects::object(&self.pool, path).await
        }

        async fn missing_bodies(&self, hashes: &[BodyHash]) -> Result<Vec<BodyHash>, StoreError> {
            $engine::bodies::missing(&self.pool, hashes).await
        }

        async fn put_body<R: AsyncRead + Unpin + Send>(
            &self,
            expected: BodyHash,
            body: R,
            max_size: u64,
        ) -> Result<(), StoreError> {
            $engine::bodies::put(&self.pool, &self.tmp_dir, expected, body, max_size).await
        }

        async fn put_bodies(&self, bodies: Vec<(BodyHash, Bytes)>) -> Result<(), StoreError> {
            $engine::bodies::put_many(&self.pool, bodies).await
        }

        async fn body_size(&self, hash: &BodyHash) -> Result<Option<u64>, StoreError> {
            $engine::bodies::size(&self.pool, hash).await
        }

        async fn read_body(&self, hash: &BodyHash) -> Result<BodyStream, StoreError> {
            $engine::bodies::read(&self.pool, hash).await
        }

        async fn commit(
            &self,
            user: &str,
            request: &CommitRequest,
        ) -> Result<CommitResponse, StoreError> {
            let response = $engine::commit::commit(&self.pool, user, request).await?;
            self.feed.announce(response.rev);
            Ok(response)
        }

        async fn commit_by_id(&self, id: &CommitId) -> Result<Option<RecordedCommit>, StoreError> {
            $engine::commit::by_id(&self.pool, id).await
        }

        async fn check(&self) -> Result<IntegrityReport, StoreError> {
            $engine::check::check(&self.pool).await
        }

        async fn tokens(&self, user: Option<&str>) -> Result<Vec<TokenRecord>, StoreError> {
            $engine::users::tokens(&self.pool, user).await
        }

        async fn add_web_session(&self, session: &WebSessionRecord) -> Result<(), StoreError> {
            $engine::users::add_web_session(&self.pool, session).await
        }

        async fn web_session_user(
            &self,
            token_hash: &str,
            now: i64,
        ) -> Result<Option<String>, StoreError> {
            $engine::users::web_session_user(&self.pool, token_hash, now).await
        }

        async fn web_sessions(
            &self,
            user: Option<&str>,
            now: i64,
        ) -> Result<Vec<WebSessionRecord>, StoreError> {
            $engine::users::web_sessions(&self.pool, user, now).await
        }

        async fn remove_web_session(&self, token_hash: &str) -> Result<bool, StoreError> {
            $engine::users::remove_web_session(&self.pool, token_hash).await
        }

        async fn log(
            &self,
            path: &RepoPath,
            limit: Option<u32>,
        ) -> Result<Vec<LogEntry>, StoreError> {
            $engine::objects::log(&self.pool, path, limit).await
        }

        async fn add_user(&self, user: &UserRecord) -> Result<(), StoreError> {
            $engine::users::add_user(&self.pool, user).await
        }

        async fn user(&self, name: &str) -> Result<Option<UserRecord>, StoreError> {
            $engine::users::user(&self.pool, name).await
        }

        async fn list_users(&self) -> Result<Vec<UserRecord>, StoreError> {
            $engine::users::list_users(&self.pool).await
        }

        async fn set_password(&self, name: &str, password_hash: &str) -> Result<(), StoreError> {
            $engine::users::set_password(&self.pool, name, password_hash).await
        }

        async fn set_role(&self, name: &str, role: Role) -> Result<(), StoreError> {
            $engine::users::set_role(&self.pool, name, role).await
        }

        async fn set_disabled(&self, name: &str, disabled: bool) -> Result<(), StoreError> {
            $engine::users::set_disabled(&self.pool, name, disabled).await
        }

        async fn grant(&self, user: &str, path: &RepoPath, role: Role) -> Result<(), StoreError> {
            $engine::users::grant(&self.pool, user, path, role).await
        }

        async fn revoke(&self, user: &str, path: &RepoPath) -> Result<bool, StoreError> {
            $engine::users::revoke(&self.pool, user, path).await
        }

        async fn grants(&self, user: Option<&str>) -> Result<Vec<Grant>, StoreError> {
            $engine::users::grants(&self.pool, user).await
        }

        async fn body_paths(&self, hash: &BodyHash) -> Result<Vec<RepoPath>, StoreError> {
            $engine::objects::body_paths(&self.pool, hash).await
        }

        async fn remove_user(&self, name: &str) -> Result<(), StoreError> {
            $engine::users::remove_user(&self.pool, name).await
        }

        async fn add_token(
            &self,
            user: &str,
            token_hash: &str,
            expires: i64,
        ) -> Result<(), StoreError> {
            $engine::users::add_token(&self.pool, user, token_hash, expires).await
        }

        async fn token_user(
            &self,
            token_hash: &str,
            now: i64,
        ) -> Result<Option<String>, StoreError> {
            $engine::users::token_user(&self.pool, token_hash, now).await
        }

        async fn remove_token(&self, token_hash: &str) -> Result<bool, StoreError> {
            $engine::users::remove_token(&self.pool, token_hash).await
        }

        async fn add_ssh_key(&self, key: &SshKeyRecord) -> Result<(), StoreError> {
            $engine::keys::add_key(&self.pool, key).await
        }

        async fn ssh_keys(&self, user: Option<&str>) -> Result<Vec<SshKeyRecord>, StoreError> {
            $engine::keys::keys(&self.pool, user).await
        }

        async fn remove_ssh_key(&self, user: &str, fingerprint: &str) -> Result<bool, StoreError> {
            $engine::keys::remove_key(&self.pool, user, fingerprint).await
        }

        async fn lock(
            &self,
            user: &str,
            paths: &[(RepoPath, String)],
            comment: &str,
            created: i64,
            steal: bool,
        ) -> Result<Vec<LockRecord>, StoreError> {
            $engine::locks::lock(&self.pool, user, paths, comment, created, steal).await
        }

        async fn unlock(
            &self,
            paths: &[RepoPath],
            owner: Option<&str>,
        ) -> Result<Vec<LockRecord>, StoreError> {
            $engine::locks::unlock(&self.pool, paths, owner).await
        }

        async fn locks(&self, root: &RepoPath) -> Result<Vec<LockRecord>, StoreError> {
            $engine::locks::locks(&self.pool, root).await
        }

        async fn changes(&self, since: Rev, limit: u32) -> Result<Vec<LogEntry>, StoreError> {
            $engine::objects::changes(&self.pool, since, limit).await
        }

        async fn wait_for_head(&self, since: Rev, timeout: Duration) -> Result<Rev, StoreError> {
            self.feed
                .wait(since, timeout, || $engine::objects::head(&self.pool))
                .await
        }
    };
}

impl Store for SqlStore {
    delegate_store!(sqlite);
}

/// The object store on PostgreSQL, for one of several `zsyncd` processes
/// sharing one database. Cheap to clone: clones share one pool.
///
/// Nothing another process needs is kept here: the pool, where uploads
/// are spooled, and the feed of announced revisions, which a task fills
/// from `LISTEN` so this process's change-feed waiters wake on any
/// process's commit.
#[derive(Clone, Debug)]
pub struct PgStore {
    pool: postgres::Pool,
    tmp_dir: PathBuf,
    feed: Feed,
    listening: Arc<Listening>,
}

/// The task that turns `NOTIFY`s into announcements. Dropping this (with
/// the last clone of the store) ends it.
#[derive(Debug)]
struct Listening {
    stop: std::sync::Mutex<Option<tokio::sync::oneshot::Sender<()>>>,
    task: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl PgStore {
    /// Connects to the database at `url` (`postgres://…`), creating the
    /// schema and the root folder as needed and migrating an older schema.
    /// Uploads are spooled in `spool_dir`, which is created if missing.
    pub async fn connect(url: &str, spool_dir: &Path) -> Result<PgStore, StoreError> {
        tokio::fs::create_dir_all(spool_dir).await?;
        let pool = postgres::connect(url).await?;
        sqlx::query(postgres::INSERT_ROOT)
            .bind(Oid::root().as_str())
            .bind(Kind::FOLDER)
            .execute(&pool)
            .await?;
        let feed = Feed::new();
        let mut listener = PgListener::connect_with(&pool).await?;
        listener.listen(postgres::CHANNEL).await?;
        feed.announce(postgres::objects::head(&pool).await?);
        let (listening, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let announced = feed.clone();
        let listener_pool = pool.clone();
        let task = tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = &mut stopped => break,
                    received = listener.recv() => match received {
                        Ok(n) => match n.payload().parse::<Rev>() {
                            Ok(rev) => announced.announce(rev),
                            Err(_) => tracing::warn!(payload = n.payload(), "bad change notification"),
                        },
                        Err(_) if listener_pool.is_closed() => break,
                        // recv reconnects on its next call; waiters poll meanwhile.
                        Err(e) => {
                            tracing::warn!("change notifications: {e}");
                            tokio::time::sleep(Duration::from_secs(1)).await;
                        }
                    },
                }
            }
        });
        Ok(PgStore {
            pool,
            tmp_dir: spool_dir.to_owned(),
            feed,
            listening: Arc::new(Listening {
                stop: std::sync::Mutex::new(Some(listening)),
                task: std::sync::Mutex::new(Some(task)),
            }),
        })
    }

    /// Stops listening and closes the pool, waiting for connections in use
    /// to be returned.
    pub async fn close(&self) {
        let stop = self.listening.stop.lock().ok().and_then(|mut s| s.take());
        if let Some(stop) = stop {
            let _ = stop.send(());
        }
        let task = self.listening.task.lock().ok().and_then(|mut t| t.take());
        if let Some(task) = task {
            let _ = task.await;
        }
        self.pool.close().await;
    }
}

impl Store for PgStore {
    delegate_store!(postgres);
}

/// A migrator over one engine's embedded migrations (version, description,
/// SQL), so neither engine needs the migration files at run time.
fn migrator(migrations: &'static [(i64, &'static str, &'static str)]) -> sqlx::migrate::Migrator {
    use sqlx::SqlSafeStr;
    use sqlx::migrate::{Migration, MigrationType, Migrator};
    let migrations = migrations
        .iter()
        .map(|&(version, description, sql)| {
            Migration::new(
                version,
                description.into(),
                MigrationType::Simple,
                sql.into_sql_str(),
                false,
            )
        })
        .collect();
    Migrator::with_migrations(migrations)
}
