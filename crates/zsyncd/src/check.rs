//! `zsyncd check`: the store's integrity report.

use std::path::Path;

use anyhow::{Context as _, Result};
use zsync_store::Store as _;

use crate::hint::hinted;
use crate::store;

/// Prints a summary, or every problem found (one per line on stdout, so
/// scripts can keep them) and fails.
pub async fn run(data: &Path) -> Result<()> {
    let store = store::open_existing(data).await?;
    let report = store
        .check()
        .await
        .context("the integrity check could not run")?;
    store.close().await;
    let summary = format!(
        "revision {}, {} object(s), {} bod{}",
        report.head,
        report.objects,
        report.bodies,
        if report.bodies == 1 { "y" } else { "ies" }
    );
    if report.is_sound() {
        println!("zsyncd: store is sound: {summary}");
        return Ok(());
    }
    for problem in &report.problems {
        println!("problem: {problem}");
    }
    Err(hinted(
        format!(
            "the store in {} has {} problem(s) ({summary})",
            data.display(),
            report.problems.len()
        ),
        "stop the server and restore the data directory from a backup; \
         keep a copy of the damaged one for diagnosis",
    ))
}
