//! `zsyncd check`: the store's integrity report.

use anyhow::{Context as _, Result};
use zsync_store::Store;

use crate::hint::hinted;

/// Prints a summary, or every problem found (one per line on stdout, so
/// scripts can keep them) and fails.
pub async fn run(store: &impl Store, place: &str) -> Result<()> {
    let report = store
        .check()
        .await
        .context("the integrity check could not run")?;
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
            "the store in {place} has {} problem(s) ({summary})",
            report.problems.len()
        ),
        "stop the servers and restore the store from a backup; \
         keep a copy of the damaged one for diagnosis",
    ))
}
