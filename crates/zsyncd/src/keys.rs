//! `zsyncd key add|list|remove`: the SSH public keys users log in with.

use std::path::Path;

use anyhow::{Context as _, Result};
use zsync_server::ssh;
use zsync_store::{Store, StoreError};

use crate::hint::hinted;

pub async fn add(store: &impl Store, user: &str, file: &Path) -> Result<()> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("cannot read the public key file {}", file.display()))?;
    let record = ssh::key_record(user, &text).map_err(|e| {
        hinted(
            format!("{}: {e}", file.display()),
            "give the public half (the .pub file), one OpenSSH key line",
        )
    })?;
    match store.add_ssh_key(&record).await {
        Ok(()) => {
            println!("zsyncd: added key {} for {user}", record.fingerprint);
            Ok(())
        }
        Err(StoreError::NotFound(_)) => Err(hinted(
            format!("no user '{user}'"),
            "add the user first with `zsyncd user add NAME`",
        )),
        Err(StoreError::AlreadyExists(what)) => Err(hinted(
            format!("{what} already exists"),
            "a key belongs to one user; remove it first with `zsyncd key remove USER FINGERPRINT`",
        )),
        Err(e) => Err(e).context("adding the key failed"),
    }
}

pub async fn list(store: &impl Store, user: Option<&str>) -> Result<()> {
    for key in store.ssh_keys(user).await? {
        let kind = key.public_key.split_whitespace().next().unwrap_or("?");
        println!("{}\t{}\t{kind}", key.user, key.fingerprint);
    }
    Ok(())
}

pub async fn remove(store: &impl Store, user: &str, fingerprint: &str) -> Result<()> {
    if store.remove_ssh_key(user, fingerprint).await? {
        println!("zsyncd: removed key {fingerprint} of {user}");
        Ok(())
    } else {
        Err(hinted(
            format!("{user} has no key {fingerprint}"),
            "list the keys with `zsyncd key list USER`",
        ))
    }
}
