//! SSH public keys of users, by fingerprint.

use super::Pool;
use crate::{SshKeyRecord, StoreError};

type KeyRow = (String, String, String, i64);

fn record((fingerprint, user, public_key, added): KeyRow) -> SshKeyRecord {
    SshKeyRecord {
        fingerprint,
        user,
        public_key,
        added,
    }
}

pub(crate) async fn add_key(pool: &Pool, key: &SshKeyRecord) -> Result<(), StoreError> {
    let mut tx = super::begin_write(pool).await?;
    let exists: Option<(String,)> = sqlx::query_as("SELECT name FROM users WHERE name = $1")
        .bind(&key.user)
        .fetch_optional(&mut *tx)
        .await?;
    if exists.is_none() {
        tx.rollback().await?;
        return Err(StoreError::NotFound(format!("user {}", key.user)));
    }
    let taken: Option<(String,)> =
        sqlx::query_as("SELECT username FROM ssh_keys WHERE fingerprint = $1")
            .bind(&key.fingerprint)
            .fetch_optional(&mut *tx)
            .await?;
    if let Some((owner,)) = taken {
        tx.rollback().await?;
        return Err(StoreError::AlreadyExists(format!(
            "key {} (registered for {owner})",
            key.fingerprint
        )));
    }
    sqlx::query(
        "INSERT INTO ssh_keys (fingerprint, username, public_key, added) VALUES ($1, $2, $3, $4)",
    )
    .bind(&key.fingerprint)
    .bind(&key.user)
    .bind(&key.public_key)
    .bind(key.added)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn keys(pool: &Pool, user: Option<&str>) -> Result<Vec<SshKeyRecord>, StoreError> {
    let rows: Vec<KeyRow> = match user {
        Some(user) => {
            sqlx::query_as(
                "SELECT fingerprint, username, public_key, added FROM ssh_keys \
                 WHERE username = $1 ORDER BY added, fingerprint",
            )
            .bind(user)
            .fetch_all(pool)
            .await?
        }
        None => {
            sqlx::query_as(
                "SELECT fingerprint, username, public_key, added FROM ssh_keys \
                 ORDER BY username, added, fingerprint",
            )
            .fetch_all(pool)
            .await?
        }
    };
    Ok(rows.into_iter().map(record).collect())
}

pub(crate) async fn remove_key(
    pool: &Pool,
    user: &str,
    fingerprint: &str,
) -> Result<bool, StoreError> {
    let mut tx = super::begin_write(pool).await?;
    let done = sqlx::query("DELETE FROM ssh_keys WHERE username = $1 AND fingerprint = $2")
        .bind(user)
        .bind(fingerprint)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(done.rows_affected() > 0)
}
