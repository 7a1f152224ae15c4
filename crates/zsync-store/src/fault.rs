//! A test-only fault hook: in debug builds, `ZSYNCD_FAULT=NAME` makes the
//! server stop at the point called NAME, announce it on stderr and wait,
//! so a crash test can kill it with SIGKILL exactly there (inside a store
//! transaction, say). Release builds compile it to nothing.

/// How long a stopped server waits to be killed before going on.
const PAUSE: std::time::Duration = std::time::Duration::from_secs(30);

pub async fn point(name: &str) {
    if !cfg!(debug_assertions) {
        return;
    }
    if std::env::var("ZSYNCD_FAULT").is_ok_and(|v| v == name) {
        tracing::warn!(point = name, "stopped at a fault point");
        eprintln!("zsyncd-fault: {name}");
        tokio::time::sleep(PAUSE).await;
    }
}
