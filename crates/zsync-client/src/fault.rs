//! A test-only fault hook: in debug builds, `ZSYNC_FAULT=NAME` makes the
//! client stop at the point called NAME, announce it on stderr and wait,
//! so a crash test can kill it exactly there. Release builds compile it to
//! nothing.

/// How long a stopped client waits to be killed before going on, unless
/// `ZSYNC_FAULT_PAUSE_MS` says otherwise (a test that lets it go on, to
/// act meanwhile).
const PAUSE: std::time::Duration = std::time::Duration::from_secs(30);

pub fn point(name: &str) {
    if !cfg!(debug_assertions) {
        return;
    }
    if std::env::var("ZSYNC_FAULT").is_ok_and(|v| v == name) {
        // The library never writes to the terminal, but this is a test
        // harness signal, not output; it exists only in debug builds.
        eprintln!("zsync-fault: {name}");
        let pause = std::env::var("ZSYNC_FAULT_PAUSE_MS")
            .ok()
            .and_then(|ms| ms.parse().ok())
            .map_or(PAUSE, std::time::Duration::from_millis);
        std::thread::sleep(pause);
    }
}
