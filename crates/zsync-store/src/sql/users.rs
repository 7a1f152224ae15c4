//! Users, login tokens and grants.

use zsync_model::{RepoPath, Role};

use super::Pool;
use crate::sql::rows;
use crate::{Grant, StoreError, TokenRecord, UserRecord, WebSessionRecord};

type UserRow = (String, String, Option<String>, bool);

/// A user with the role granted at the root, if any.
const USER_COLUMNS: &str = "SELECT u.name, u.password_hash, g.role, u.disabled FROM users u \
     LEFT JOIN grants g ON g.username = u.name AND g.path = ''";

fn role(s: &str) -> Result<Role, StoreError> {
    s.parse::<Role>()
        .map_err(|e| StoreError::Corrupt(format!("grant: {e}")))
}

fn user_record((name, password_hash, role, disabled): UserRow) -> Result<UserRecord, StoreError> {
    let role = role.as_deref().map(self::role).transpose()?;
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
    let mut tx = super::begin_write(pool).await?;
    let sql = "INSERT INTO users (name, password_hash, disabled) VALUES ($1, $2, $3)";
    let result = sqlx::query(sql)
        .bind(&user.name)
        .bind(&user.password_hash)
        .bind(user.disabled)
        .execute(&mut *tx)
        .await;
    match result {
        Ok(_) => {}
        Err(e) if is_unique_violation(&e) => {
            return Err(StoreError::AlreadyExists(format!("user {}", user.name)));
        }
        Err(e) => return Err(e.into()),
    }
    // Grants outlive nobody: a new account starts with only what it is
    // given here, never with leftovers of a removed namesake.
    sqlx::query("DELETE FROM grants WHERE username = $1")
        .bind(&user.name)
        .execute(&mut *tx)
        .await?;
    if let Some(role) = user.role {
        upsert_grant(&mut tx, &user.name, &RepoPath::root(), role).await?;
    }
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn user(pool: &Pool, name: &str) -> Result<Option<UserRecord>, StoreError> {
    let sql = format!("{USER_COLUMNS} WHERE u.name = $1");
    let row: Option<UserRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(name)
        .fetch_optional(pool)
        .await?;
    row.map(user_record).transpose()
}

pub(crate) async fn list_users(pool: &Pool) -> Result<Vec<UserRecord>, StoreError> {
    let sql = format!("{USER_COLUMNS} ORDER BY u.name");
    let rows: Vec<UserRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .fetch_all(pool)
        .await?;
    rows.into_iter().map(user_record).collect()
}

pub(crate) async fn set_password(
    pool: &Pool,
    name: &str,
    password_hash: &str,
) -> Result<(), StoreError> {
    let mut tx = super::begin_write(pool).await?;
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
    end_sessions(&mut tx, name).await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn set_role(pool: &Pool, name: &str, role: Role) -> Result<(), StoreError> {
    let mut tx = super::begin_write(pool).await?;
    if !user_exists(&mut tx, name).await? {
        tx.rollback().await?;
        return Err(user_not_found(name));
    }
    upsert_grant(&mut tx, name, &RepoPath::root(), role).await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn set_disabled(
    pool: &Pool,
    name: &str,
    disabled: bool,
) -> Result<(), StoreError> {
    let mut tx = super::begin_write(pool).await?;
    let done = sqlx::query("UPDATE users SET disabled = $1 WHERE name = $2")
        .bind(disabled)
        .bind(name)
        .execute(&mut *tx)
        .await?;
    if done.rows_affected() == 0 {
        tx.rollback().await?;
        return Err(user_not_found(name));
    }
    if disabled {
        // Disabling ends the sessions too, so enabling later needs a login.
        end_sessions(&mut tx, name).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Revokes every API token and web session of `name`.
async fn end_sessions(tx: &mut super::Tx, name: &str) -> Result<(), StoreError> {
    for sql in [
        "DELETE FROM tokens WHERE username = $1",
        "DELETE FROM web_sessions WHERE username = $1",
    ] {
        sqlx::query(sql).bind(name).execute(&mut **tx).await?;
    }
    Ok(())
}

async fn user_exists(tx: &mut super::Tx, name: &str) -> Result<bool, StoreError> {
    let row: Option<(String,)> = sqlx::query_as("SELECT name FROM users WHERE name = $1")
        .bind(name)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(row.is_some())
}

async fn upsert_grant(
    tx: &mut super::Tx,
    user: &str,
    path: &RepoPath,
    role: Role,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO grants (username, path, role) VALUES ($1, $2, $3) \
         ON CONFLICT (username, path) DO UPDATE SET role = excluded.role",
    )
    .bind(user)
    .bind(path.as_str())
    .bind(role.as_str())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub(crate) async fn grant(
    pool: &Pool,
    user: &str,
    path: &RepoPath,
    role: Role,
) -> Result<(), StoreError> {
    let mut tx = super::begin_write(pool).await?;
    upsert_grant(&mut tx, user, path, role).await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn revoke(pool: &Pool, user: &str, path: &RepoPath) -> Result<bool, StoreError> {
    let done = sqlx::query("DELETE FROM grants WHERE username = $1 AND path = $2")
        .bind(user)
        .bind(path.as_str())
        .execute(pool)
        .await?;
    Ok(done.rows_affected() > 0)
}

pub(crate) async fn grants(pool: &Pool, user: Option<&str>) -> Result<Vec<Grant>, StoreError> {
    let found: Vec<(String, String, String)> = match user {
        Some(u) => {
            sqlx::query_as(
                "SELECT username, path, role FROM grants WHERE username = $1 ORDER BY path",
            )
            .bind(u)
            .fetch_all(pool)
            .await?
        }
        None => {
            sqlx::query_as("SELECT username, path, role FROM grants ORDER BY username, path")
                .fetch_all(pool)
                .await?
        }
    };
    found
        .into_iter()
        .map(|(user, path, r)| {
            Ok(Grant {
                user,
                path: rows::path(path)?,
                role: role(&r)?,
            })
        })
        .collect()
}

pub(crate) async fn remove_user(pool: &Pool, name: &str) -> Result<(), StoreError> {
    let mut tx = super::begin_write(pool).await?;
    end_sessions(&mut tx, name).await?;
    sqlx::query("DELETE FROM grants WHERE username = $1")
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

pub(crate) async fn tokens(
    pool: &Pool,
    user: Option<&str>,
) -> Result<Vec<TokenRecord>, StoreError> {
    let rows: Vec<(String, String, i64)> = match user {
        Some(u) => {
            sqlx::query_as(
                "SELECT token_hash, username, expires FROM tokens WHERE username = $1 \
                 ORDER BY expires, token_hash",
            )
            .bind(u)
            .fetch_all(pool)
            .await?
        }
        None => {
            sqlx::query_as(
                "SELECT token_hash, username, expires FROM tokens \
                 ORDER BY username, expires, token_hash",
            )
            .fetch_all(pool)
            .await?
        }
    };
    Ok(rows
        .into_iter()
        .map(|(token_hash, user, expires)| TokenRecord {
            token_hash,
            user,
            expires,
        })
        .collect())
}

pub(crate) async fn add_web_session(
    pool: &Pool,
    session: &WebSessionRecord,
) -> Result<(), StoreError> {
    let result = sqlx::query(
        "INSERT INTO web_sessions (token_hash, username, created, expires) VALUES ($1, $2, $3, $4)",
    )
    .bind(&session.token_hash)
    .bind(&session.user)
    .bind(session.created)
    .bind(session.expires)
    .execute(pool)
    .await;
    match result {
        Ok(_) => Ok(()),
        Err(e) if is_foreign_key_violation(&e) => Err(user_not_found(&session.user)),
        Err(e) if is_unique_violation(&e) => Err(StoreError::AlreadyExists("session".into())),
        Err(e) => Err(e.into()),
    }
}

pub(crate) async fn web_session_user(
    pool: &Pool,
    token_hash: &str,
    now: i64,
) -> Result<Option<String>, StoreError> {
    let row: Option<(String,)> =
        sqlx::query_as("SELECT username FROM web_sessions WHERE token_hash = $1 AND expires > $2")
            .bind(token_hash)
            .bind(now)
            .fetch_optional(pool)
            .await?;
    Ok(row.map(|(name,)| name))
}

pub(crate) async fn web_sessions(
    pool: &Pool,
    user: Option<&str>,
    now: i64,
) -> Result<Vec<WebSessionRecord>, StoreError> {
    // Expired sessions are swept here, the one place that reads them all.
    sqlx::query("DELETE FROM web_sessions WHERE expires <= $1")
        .bind(now)
        .execute(pool)
        .await?;
    let rows: Vec<(String, String, i64, i64)> = match user {
        Some(u) => {
            sqlx::query_as(
                "SELECT token_hash, username, created, expires FROM web_sessions \
                 WHERE username = $1 ORDER BY created, token_hash",
            )
            .bind(u)
            .fetch_all(pool)
            .await?
        }
        None => {
            sqlx::query_as(
                "SELECT token_hash, username, created, expires FROM web_sessions \
                 ORDER BY username, created, token_hash",
            )
            .fetch_all(pool)
            .await?
        }
    };
    Ok(rows
        .into_iter()
        .map(|(token_hash, user, created, expires)| WebSessionRecord {
            token_hash,
            user,
            created,
            expires,
        })
        .collect())
}

pub(crate) async fn remove_web_session(pool: &Pool, token_hash: &str) -> Result<bool, StoreError> {
    let done = sqlx::query("DELETE FROM web_sessions WHERE token_hash = $1")
        .bind(token_hash)
        .execute(pool)
        .await?;
    Ok(done.rows_affected() > 0)
}
