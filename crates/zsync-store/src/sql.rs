//! [`SqlStore`]: the [`Store`] on SQLite through sqlx.
//!
//! The database file is `zsync.db` in the data directory; uploads are
//! spooled to `tmp/` beside it before they enter the database. Engine
//! specifics live in [`sqlite`]; the other submodules use portable SQL.

use std::path::{Path, PathBuf};

use tokio::io::AsyncRead;
use zsync_format::{CommitRequest, CommitResponse, LogEntry, Manifest};
use zsync_model::{BodyHash, CommitId, Kind, Oid, RepoPath, Rev, Role};

use crate::{
    BodyStream, Grant, IntegrityReport, ObjectRecord, RecordedCommit, SshKeyRecord, Store,
    StoreError, UserRecord,
};

mod bodies;
mod check;
mod commit;
mod keys;
mod objects;
mod rows;
mod sqlite;
mod users;

use sqlite::Pool;

/// The name of the database file inside the data directory.
const DB_FILE: &str = "zsync.db";
/// Where uploads are spooled, inside the data directory.
const TMP_DIR: &str = "tmp";

/// The object store on SQLite. Cheap to clone: clones share one pool.
#[derive(Clone, Debug)]
pub struct SqlStore {
    pool: Pool,
    tmp_dir: PathBuf,
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
        Ok(SqlStore { pool, tmp_dir })
    }

    /// Closes the pool, waiting for connections in use to be returned.
    /// Dropping every clone also closes it; this makes it deterministic.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

impl Store for SqlStore {
    async fn head(&self) -> Result<Rev, StoreError> {
        objects::head(&self.pool).await
    }

    async fn manifest(&self, root: &RepoPath) -> Result<Manifest, StoreError> {
        objects::manifest(&self.pool, root).await
    }

    async fn manifest_at(&self, root: &RepoPath, rev: Rev) -> Result<Manifest, StoreError> {
        objects::manifest_at(&self.pool, root, rev).await
    }

    async fn object(&self, path: &RepoPath) -> Result<Option<ObjectRecord>, StoreError> {
        objects::object(&self.pool, path).await
    }

    async fn missing_bodies(&self, hashes: &[BodyHash]) -> Result<Vec<BodyHash>, StoreError> {
        bodies::missing(&self.pool, hashes).await
    }

    async fn put_body<R: AsyncRead + Unpin + Send>(
        &self,
        expected: BodyHash,
        body: R,
        max_size: u64,
    ) -> Result<(), StoreError> {
        bodies::put(&self.pool, &self.tmp_dir, expected, body, max_size).await
    }

    async fn body_size(&self, hash: &BodyHash) -> Result<Option<u64>, StoreError> {
        bodies::size(&self.pool, hash).await
    }

    async fn read_body(&self, hash: &BodyHash) -> Result<BodyStream, StoreError> {
        bodies::read(&self.pool, hash).await
    }

    async fn commit(
        &self,
        user: &str,
        request: &CommitRequest,
    ) -> Result<CommitResponse, StoreError> {
        commit::commit(&self.pool, user, request).await
    }

    async fn commit_by_id(&self, id: &CommitId) -> Result<Option<RecordedCommit>, StoreError> {
        commit::by_id(&self.pool, id).await
    }

    async fn check(&self) -> Result<IntegrityReport, StoreError> {
        check::check(&self.pool).await
    }

    async fn log(&self, path: &RepoPath, limit: Option<u32>) -> Result<Vec<LogEntry>, StoreError> {
        objects::log(&self.pool, path, limit).await
    }

    async fn add_user(&self, user: &UserRecord) -> Result<(), StoreError> {
        users::add_user(&self.pool, user).await
    }

    async fn user(&self, name: &str) -> Result<Option<UserRecord>, StoreError> {
        users::user(&self.pool, name).await
    }

    async fn list_users(&self) -> Result<Vec<UserRecord>, StoreError> {
        users::list_users(&self.pool).await
    }

    async fn set_password(&self, name: &str, password_hash: &str) -> Result<(), StoreError> {
        users::set_password(&self.pool, name, password_hash).await
    }

    async fn set_role(&self, name: &str, role: Role) -> Result<(), StoreError> {
        users::set_role(&self.pool, name, role).await
    }

    async fn set_disabled(&self, name: &str, disabled: bool) -> Result<(), StoreError> {
        users::set_disabled(&self.pool, name, disabled).await
    }

    async fn grant(&self, user: &str, path: &RepoPath, role: Role) -> Result<(), StoreError> {
        users::grant(&self.pool, user, path, role).await
    }

    async fn revoke(&self, user: &str, path: &RepoPath) -> Result<bool, StoreError> {
        users::revoke(&self.pool, user, path).await
    }

    async fn grants(&self, user: Option<&str>) -> Result<Vec<Grant>, StoreError> {
        users::grants(&self.pool, user).await
    }

    async fn body_paths(&self, hash: &BodyHash) -> Result<Vec<RepoPath>, StoreError> {
        objects::body_paths(&self.pool, hash).await
    }

    async fn remove_user(&self, name: &str) -> Result<(), StoreError> {
        users::remove_user(&self.pool, name).await
    }

    async fn add_token(
        &self,
        user: &str,
        token_hash: &str,
        expires: i64,
    ) -> Result<(), StoreError> {
        users::add_token(&self.pool, user, token_hash, expires).await
    }

    async fn token_user(&self, token_hash: &str, now: i64) -> Result<Option<String>, StoreError> {
        users::token_user(&self.pool, token_hash, now).await
    }

    async fn remove_token(&self, token_hash: &str) -> Result<bool, StoreError> {
        users::remove_token(&self.pool, token_hash).await
    }

    async fn add_ssh_key(&self, key: &SshKeyRecord) -> Result<(), StoreError> {
        keys::add_key(&self.pool, key).await
    }

    async fn ssh_keys(&self, user: Option<&str>) -> Result<Vec<SshKeyRecord>, StoreError> {
        keys::keys(&self.pool, user).await
    }

    async fn remove_ssh_key(&self, user: &str, fingerprint: &str) -> Result<bool, StoreError> {
        keys::remove_key(&self.pool, user, fingerprint).await
    }
}
