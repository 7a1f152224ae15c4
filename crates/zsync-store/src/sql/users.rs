//! Users and login tokens.

use zsync_model::Role;

use super::sqlite::{self, Pool};
use crate::{StoreError, UserRecord};

type UserRow = (String, String, String, bool);

const USER_BY_NAME: &str = "SELECT name, password_hash, role, disabled FROM users WHERE name = $1";
const ALL_USERS: &str = "SELECT name, password_hash, role, disabled FROM users ORDER BY name";

fn user_record((name, password_hash, role, disabled): UserRow) -> Result<UserRecord, StoreError> {
    let role = role
        .parse::<Role>()
        .map_err(|e| StoreError::Corrupt(format!("user {name}: {e}")))?;
    Ok(UserRecord {
        name,
        password_hash,
        role,
        disabled,
    })
}

fn user_not_found(name: &str) -> StoreError {
    StoreError::NotFound(format!("user {name}"))
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

fn is_foreign_key_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_foreign_key_violation())
}

pub(crate) async fn add_user(pool: &Pool, user: &UserRecord) -> Result<(), StoreError> {
    let sql = "INSERT INTO users (name, password_hash, role, disabled) VALUES ($1, $2, $3, $4)";
    let result = sqlx::query(sql)
        .bind(&user.name)
        .bind(&user.password_hash)
        .bind(user.role.as_str())
        .bind(user.disabled)
        .execute(pool)
        .await;
    match result {
        Ok(_) => Ok(()),
        Err(e) if is_unique_violation(&e) => {
            Err(StoreError::AlreadyExists(format!("user {}", user.name)))
        }
        Err(e) => Err(e.into()),
    }
}

pub(crate) async fn user(pool: &Pool, name: &str) -> Result<Option<UserRecord>, StoreError> {
    let row: Option<UserRow> = sqlx::query_as(USER_BY_NAME)
        .bind(name)
        .fetch_optional(pool)
        .await?;
    row.map(user_record).transpose()
}

pub(crate) async fn list_users(pool: &Pool) -> Result<Vec<UserRecord>, StoreError> {
    let rows: Vec<UserRow> = sqlx::query_as(ALL_USERS).fetch_all(pool).await?;
    rows.into_iter().map(user_record).collect()
}

pub(crate) async fn set_password(
    pool: &Pool,
    name: &str,
    password_hash: &str,
) -> Result<(), StoreError> {
    let mut tx = sqlite::begin_write(pool).await?;
    let done = sqlx::query("UPDATE users SET password_hash = $1 WHERE name = $2")
        .bind(password_hash)
        .bind(name)
        .execute(&mut *tx)
        .await?;
    if done.rows_affected() == 0 {
        tx.rollback().await?;
        return Err(user_not_found(name));
    }
    // A new password ends every session opened with the old one.
    sqlx::query("DELETE FROM tokens WHERE username = $1")
        .bind(name)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn set_role(pool: &Pool, name: &str, role: Role) -> Result<(), StoreError> {
    let done = sqlx::query("UPDATE users SET role = $1 WHERE name = $2")
        .bind(role.as_str())
        .bind(name)
        .execute(pool)
        .await?;
    if done.rows_affected() == 0 {
        return Err(user_not_found(name));
    }
    Ok(())
}

pub(crate) async fn remove_user(pool: &Pool, name: &str) -> Result<(), StoreError> {
    let mut tx = sqlite::begin_write(pool).await?;
    sqlx::query("DELETE FROM tokens WHERE username = $1")
        .bind(name)
        .execute(&mut *tx)
        .await?;
    let done = sqlx::query("DELETE FROM users WHERE name = $1")
        .bind(name)
        .execute(&mut *tx)
        .await?;
    if done.rows_affected() == 0 {
        tx.rollback().await?;
        return Err(user_not_found(name));
    }
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn add_token(
    pool: &Pool,
    user: &str,
    token_hash: &str,
    expires: i64,
) -> Result<(), StoreError> {
    let result =
        sqlx::query("INSERT INTO tokens (token_hash, username, expires) VALUES ($1, $2, $3)")
            .bind(token_hash)
            .bind(user)
            .bind(expires)
            .execute(pool)
            .await;
    match result {
        Ok(_) => Ok(()),
        Err(e) if is_foreign_key_violation(&e) => Err(user_not_found(user)),
        Err(e) if is_unique_violation(&e) => Err(StoreError::AlreadyExists("token".into())),
        Err(e) => Err(e.into()),
    }
}

pub(crate) async fn token_user(
    pool: &Pool,
    token_hash: &str,
    now: i64,
) -> Result<Option<String>, StoreError> {
    let row: Option<(String,)> =
        sqlx::query_as("SELECT username FROM tokens WHERE token_hash = $1 AND expires > $2")
            .bind(token_hash)
            .bind(now)
            .fetch_optional(pool)
            .await?;
    Ok(row.map(|(name,)| name))
}

pub(crate) async fn remove_token(pool: &Pool, token_hash: &str) -> Result<bool, StoreError> {
    let done = sqlx::query("DELETE FROM tokens WHERE token_hash = $1")
        .bind(token_hash)
        .execute(pool)
        .await?;
    Ok(done.rows_affected() > 0)
}
