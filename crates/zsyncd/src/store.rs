//! Opening the store in the data directory.

use std::path::Path;

use anyhow::Result;
use zsync_store::SqlStore;

use crate::hint::{HintExt as _, hinted};

/// Opens the store in `data`, creating both if they are new.
pub async fn open(data: &Path) -> Result<SqlStore> {
    SqlStore::open(data).await.hint(format!(
        "is {} a zsyncd data directory that this user may write?",
        data.display()
    ))
}

/// Opens the store in `data`, which must exist already.
pub async fn open_existing(data: &Path) -> Result<SqlStore> {
    if !data.is_dir() {
        return Err(hinted(
            format!("no data directory at {}", data.display()),
            "name the data directory with --data DIR (or ZSYNCD_DATA), \
             or create a store with `zsyncd user add NAME`",
        ));
    }
    open(data).await
}
