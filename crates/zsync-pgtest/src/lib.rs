//! A real PostgreSQL for tests. `.ci/run` starts a private cluster and
//! exports `ZSYNC_TEST_PG_URL`; without it, the first test in a process
//! starts its own private cluster (`initdb` + `pg_ctl` on a loopback port
//! in a temporary directory), which a watchdog stops when the process
//! ends. Each test gets its own database, so tests run in parallel.
//!
//! Nothing is skipped: without PostgreSQL the tests fail and say why.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

/// The variable naming a running server (`postgres://user@host:port/db`).
pub const URL_VAR: &str = "ZSYNC_TEST_PG_URL";

/// The URL of a new, empty database of its own for one test.
///
/// # Panics
/// If no PostgreSQL server is given and none can be started; the message
/// says what to install or set.
pub fn fresh_database() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let server = server_url();
    let name = format!(
        "zt_{}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos())
    );
    psql(&server, &format!("CREATE DATABASE {name}"));
    with_database(&server, &name)
}

/// `url` with its database replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (base, _) = url
        .rsplit_once('/')
        .unwrap_or_else(|| panic!("{URL_VAR}={url} has no /DATABASE"));
    format!("{base}/{name}")
}

fn psql(url: &str, sql: &str) {
    let out = Command::new("psql")
        .args([url, "-v", "ON_ERROR_STOP=1", "-qc", sql])
        .output()
        .unwrap_or_else(|e| panic!("psql (Debian package postgresql-client) cannot run: {e}"));
    assert!(
        out.status.success(),
        "psql {url} -c {sql:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn server_url() -> String {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| match std::env::var(URL_VAR) {
        Ok(url) if !url.is_empty() => url,
        _ => start_private_cluster(),
    })
    .clone()
}

/// The directory holding `initdb` and `pg_ctl`.
fn bin_dir() -> Option<PathBuf> {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|bin| bin.join("initdb").exists())
        .collect();
    versions.sort();
    versions.pop()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

/// Runs a PostgreSQL program, as user `postgres` when we are root
/// (`initdb` refuses to run as root).
fn run_pg(bin: &Path, program: &str, args: &[&str], root: bool) {
    let mut cmd = if root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin.join(program));
        c
    } else {
        Command::new(bin.join(program))
    };
    let out = cmd
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    assert!(
        out.status.success(),
        "{program} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn start_private_cluster() -> String {
    let Some(bin) = bin_dir() else {
        panic!(
            "these tests need PostgreSQL: set {URL_VAR}=postgres://USER@127.0.0.1:PORT/postgres \
             or install Debian's postgresql package (the tests then start a private cluster)"
        );
    };
    let root = is_root();
    // Not a TempDir: the watchdog below removes it after the server stops.
    let dir = std::env::temp_dir().join(format!("zsync-pgtest-{}", std::process::id()));
    let data = dir.join("data");
    let sock = dir.join("sock");
    std::fs::create_dir_all(&data).expect("create the cluster directory");
    std::fs::create_dir_all(&sock).expect("create the socket directory");
    if root {
        let status = Command::new("chown")
            .args(["-R", "postgres"])
            .arg(&dir)
            .status()
            .expect("run chown");
        assert!(status.success(), "chown postgres {}", dir.display());
    }
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("find a free port")
        .port();
    let (data_s, sock_s) = (data.to_string_lossy(), sock.to_string_lossy());
    run_pg(
        &bin,
        "initdb",
        &["-D", &data_s, "-A", "trust", "-U", "zs", "--no-sync"],
        root,
    );
    let log = format!("{sock_s}/pg.log");
    let options = format!(
        "-p {port} -k {sock_s} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=400"
    );
    run_pg(
        &bin,
        "pg_ctl",
        &["-D", &data_s, "-l", &log, "-o", &options, "-w", "start"],
        root,
    );
    // Stops the cluster once this test process is gone.
    let pg_ctl = bin.join("pg_ctl");
    let stop = if root {
        format!(
            "runuser -u postgres -- {} -D {data_s} -m immediate stop",
            pg_ctl.display()
        )
    } else {
        format!("{} -D {data_s} -m immediate stop", pg_ctl.display())
    };
    let watchdog = format!(
        "while kill -0 {} 2>/dev/null; do sleep 1; done; {stop} >/dev/null 2>&1; rm -rf {}",
        std::process::id(),
        dir.display()
    );
    #[expect(
        clippy::zombie_processes,
        reason = "the watchdog must outlive this process, so it is never waited for"
    )]
    Command::new("sh")
        .args(["-c", &watchdog])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the cluster's watchdog");
    format!("postgres://zs@127.0.0.1:{port}/postgres")
}
