//! `zsyncd user add|passwd|remove|list|disable|enable` and
//! `zsyncd grant|revoke|grants`: accounts and their roles in the store.

use std::io::{BufRead as _, IsTerminal as _};

use anyhow::{Context as _, Result, bail};
use zsync_model::{RepoPath, Role};
use zsync_store::{Store, StoreError, UserRecord};

use crate::hint::hinted;

pub async fn add(
    store: &impl Store,
    name: &str,
    role: Option<Role>,
    password_stdin: bool,
) -> Result<()> {
    zsync_server::validate_user_name(name)?;
    if store.user(name).await?.is_some() {
        return Err(already_exists(name));
    }
    let password = read_password(name, password_stdin)?;
    let password_hash = hash(password).await?;
    let record = UserRecord {
        name: name.to_owned(),
        password_hash,
        role,
        disabled: false,
    };
    match store.add_user(&record).await {
        Ok(()) => {}
        Err(StoreError::AlreadyExists(_)) => return Err(already_exists(name)),
        Err(e) => return Err(e).context(format!("adding user '{name}' failed")),
    }
    match role {
        Some(role) => println!("zsyncd: added user {name} ({role})"),
        None => println!(
            "zsyncd: added user {name} with no role yet; give one with `zsyncd grant ROLE {name} PATH`"
        ),
    }
    Ok(())
}

pub async fn passwd(store: &impl Store, name: &str, password_stdin: bool) -> Result<()> {
    existing(store, name).await?;
    let password = read_password(name, password_stdin)?;
    let password_hash = hash(password).await?;
    store
        .set_password(name, &password_hash)
        .await
        .with_context(|| format!("changing the password of '{name}' failed"))?;
    println!("zsyncd: changed the password of {name}; their login tokens are revoked");
    Ok(())
}

pub async fn remove(store: &impl Store, name: &str) -> Result<()> {
    existing(store, name).await?;
    store
        .remove_user(name)
        .await
        .with_context(|| format!("removing user '{name}' failed"))?;
    println!("zsyncd: removed user {name}");
    Ok(())
}

pub async fn list(store: &impl Store) -> Result<()> {
    let users = store.list_users().await?;
    if users.is_empty() {
        eprintln!("zsyncd: no users yet; add one with `zsyncd user add NAME`");
        return Ok(());
    }
    let width = users.iter().map(|u| u.name.len()).max().unwrap_or(0).max(4);
    // ROLE is the role on everything (granted at /); `zsyncd grants` lists
    // the roles on folders too.
    println!("{:width$}  {:8}  DISABLED", "NAME", "ROLE");
    for u in users {
        let disabled = if u.disabled { "yes" } else { "no" };
        let role = u.role.map_or("-", |r| r.as_str());
        println!("{:width$}  {role:8}  {disabled}", u.name);
    }
    Ok(())
}

pub async fn set_disabled(store: &impl Store, name: &str, disabled: bool) -> Result<()> {
    existing(store, name).await?;
    store
        .set_disabled(name, disabled)
        .await
        .with_context(|| format!("changing user '{name}' failed"))?;
    if disabled {
        println!("zsyncd: disabled user {name}; their login tokens are revoked");
    } else {
        println!("zsyncd: enabled user {name}");
    }
    Ok(())
}

/// A server path as people write it: `/demo/pages`, `demo/pages/`, `/`.
fn server_path(path: &str) -> Result<RepoPath> {
    let trimmed = path.trim_matches('/');
    RepoPath::parse(trimmed).map_err(|e| {
        hinted(
            format!("invalid path {path:?}: {e}"),
            "write a server path such as /demo/pages, or / for everything",
        )
    })
}

/// A grantee: an existing user, or `anonymous` (everyone, logged in or not).
async fn grantee(store: &impl Store, user: &str) -> Result<()> {
    if user != zsync_server::auth::ANONYMOUS {
        existing(store, user).await?;
    }
    Ok(())
}

pub async fn grant(store: &impl Store, role: Role, user: &str, path: &str) -> Result<()> {
    let path = server_path(path)?;
    grantee(store, user).await?;
    store
        .grant(user, &path, role)
        .await
        .with_context(|| format!("granting {role} to '{user}' failed"))?;
    println!("zsyncd: granted {role} on /{path} to {user}");
    Ok(())
}

pub async fn revoke(store: &impl Store, user: &str, path: &str) -> Result<()> {
    let path = server_path(path)?;
    grantee(store, user).await?;
    if !store.revoke(user, &path).await? {
        return Err(hinted(
            format!("{user} holds no grant on exactly /{path}"),
            format!("`zsyncd grants {user}` lists their grants"),
        ));
    }
    println!("zsyncd: revoked the grant of {user} on /{path}");
    Ok(())
}

pub async fn list_grants(store: &impl Store, user: Option<&str>) -> Result<()> {
    if let Some(user) = user {
        grantee(store, user).await?;
    }
    let grants = store.grants(user).await?;
    if grants.is_empty() {
        eprintln!("zsyncd: no grants; give one with `zsyncd grant ROLE USER PATH`");
        return Ok(());
    }
    let width = grants
        .iter()
        .map(|g| g.user.len())
        .max()
        .unwrap_or(0)
        .max(4);
    println!("{:width$}  {:8}  PATH", "USER", "ROLE");
    for g in grants {
        println!("{:width$}  {:8}  /{}", g.user, g.role.as_str(), g.path);
    }
    Ok(())
}

fn already_exists(name: &str) -> anyhow::Error {
    hinted(
        format!("user '{name}' already exists"),
        format!("change the password with `zsyncd user passwd {name}`"),
    )
}

async fn existing(store: &impl Store, name: &str) -> Result<UserRecord> {
    match store.user(name).await? {
        Some(user) => Ok(user),
        None => Err(hinted(
            format!("user '{name}' does not exist"),
            "`zsyncd user list` shows the users",
        )),
    }
}

/// The new password: one line from stdin, or typed twice at the terminal.
fn read_password(name: &str, from_stdin: bool) -> Result<String> {
    let password = if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("reading the password from stdin failed")?;
        let line = line.strip_suffix('\n').unwrap_or(&line);
        line.strip_suffix('\r').unwrap_or(line).to_owned()
    } else if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password(format!("New password for {name}: "))
            .context("reading the password failed")?;
        let second = rpassword::prompt_password("Repeat the password: ")
            .context("reading the password failed")?;
        if first != second {
            bail!("the passwords do not match; nothing was changed");
        }
        first
    } else {
        return Err(hinted(
            "stdin is not a terminal, so zsyncd cannot prompt for a password",
            "pipe the password in with --password-stdin",
        ));
    };
    if password.is_empty() {
        bail!("the password is empty; nothing was changed");
    }
    Ok(password)
}

async fn hash(password: String) -> Result<String> {
    // argon2 is slow on purpose; keep it off the async workers.
    tokio::task::spawn_blocking(move || zsync_server::hash_password(&password))
        .await
        .context("hashing the password failed")?
        .map_err(Into::into)
}
