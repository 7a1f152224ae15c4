//! `zsyncd migrate-store --from DATA_DIR --to postgres://…`: moving a
//! SQLite store into PostgreSQL, for serving it from several nodes.

use std::path::Path;

use anyhow::{Context as _, Result};
use zsync_store::StoreError;

use crate::hint::hinted;
use crate::store::{self, Location, Opened};

pub async fn run(from: &Path, to: &str) -> Result<()> {
    let source = store::open_existing(from).await?;
    let Opened::Postgres(target) = Location::new(from, Some(to))?.open(false).await? else {
        return Err(hinted(
            "the target is not a PostgreSQL database",
            "give --to postgres://USER@HOST:PORT/DBNAME",
        ));
    };
    let report = match zsync_store::copy_sqlite_to_postgres(&source, &target).await {
        Ok(report) => report,
        Err(StoreError::AlreadyExists(what)) => {
            return Err(hinted(
                format!("there is already {what}; nothing was copied"),
                "migrate into a new, empty database (CREATE DATABASE …)",
            ));
        }
        Err(e) => {
            return Err(e).context(format!(
                "copying {} into {} failed; the copy is rolled back or unverified, \
                 keep serving from the data directory",
                from.display(),
                store::redact(to)
            ));
        }
    };
    for (table, rows) in &report.tables {
        println!("zsyncd: copied {rows} row(s) of {table}");
    }
    println!(
        "zsyncd: verified every table and {} bod(ies) by hash; serve it with \
         `zsyncd serve --database {}`",
        report.bodies_verified,
        store::redact(to)
    );
    source.close().await;
    target.close().await;
    Ok(())
}
