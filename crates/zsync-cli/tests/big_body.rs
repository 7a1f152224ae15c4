//! Bodies stream: a 64 MiB binary file goes through checkin, checkout,
//! commit and update while neither the real `zsync` (its own peak RSS, from
//! wait4) nor `zsyncd` (its VmHWM, reset before each step) grows by
//! anything near the body's size. A client or server that held a whole
//! body in memory would exceed the bound by 16 MiB or more; the bound is
//! generous otherwise, so timing and allocator noise cannot fail it. A
//! debug client peaks at 26–30 MiB here: ~16 MiB of it is the debug
//! binary's code mapped in, the rest its heap. (Receiving commands turn
//! transparent huge pages off, see `small_pages` in main.rs: with them,
//! each of a checkout's dozen threads touched a 2 MiB page of its own and
//! the client peaked at 43–49 MiB, failing 1 run in 4.)

mod common;

use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::path::Path;
use std::process::{Command, Stdio};

use common::{Client, Server, zsync_bin};

const BODY_MIB: u64 = 64;
/// Peak RSS the client may reach (a debug build's is near 30 MiB here),
/// and what the server may grow by, in KiB.
const BOUND_KIB: u64 = 48 * 1024;

/// Writes `len` incompressible bytes (so the archive's compression cannot
/// hide a buffered body) a MiB at a time: the test process stays small,
/// which matters as a child's ru_maxrss starts from its parent's RSS at
/// the spawn.
fn write_noise(path: &Path, len: u64) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut f = std::fs::File::create(path).unwrap();
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut buf = Vec::with_capacity(1 << 20);
    for _ in 0..len >> 20 {
        buf.clear();
        while buf.len() < 1 << 20 {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            buf.extend_from_slice(&x.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes());
        }
        f.write_all(&buf).unwrap();
    }
}

/// Whether two files hold the same bytes, compared a MiB at a time.
fn same_bytes(a: &Path, b: &Path) -> bool {
    let (mut a, mut b) = (
        std::fs::File::open(a).unwrap(),
        std::fs::File::open(b).unwrap(),
    );
    let (mut x, mut y) = (vec![0u8; 1 << 20], vec![0u8; 1 << 20]);
    loop {
        let n = a.read(&mut x).unwrap();
        if n == 0 {
            return b.read(&mut y).unwrap() == 0;
        }
        if b.read_exact(&mut y[..n]).is_err() || x[..n] != y[..n] {
            return false;
        }
    }
}

fn status_kib(pid: u32, field: &str) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

/// Runs `zsync ARGS` and returns its own peak RSS in KiB (wait4, so no
/// other child's usage is mixed in).
fn zsync_peak_kib(client: &Client, args: &[&str]) -> u64 {
    let child = Command::new(zsync_bin())
        .args(args)
        .current_dir(client.dir.path())
        .env("ZSYNC_CONFIG_DIR", client.config.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: rusage is plain old data; all-zero is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: pid is our unreaped child; both pointers are valid.
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(reaped, pid);
    drop(child);
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "zsync {args:?} failed ({status})"
    );
    u64::try_from(usage.ru_maxrss).unwrap()
}

/// One step: the client's peak, and how far the server rose above its RSS
/// at the start (its high-water mark is reset to that first).
fn step(server: &Server, client: &Client, args: &[&str]) -> (u64, u64) {
    let pid = server.pid();
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").unwrap();
    let before = status_kib(pid, "VmRSS");
    let client_kib = zsync_peak_kib(client, args);
    let grown = status_kib(pid, "VmHWM").saturating_sub(before);
    eprintln!(
        "{args:?}: client {} MiB, server +{} MiB",
        client_kib / 1024,
        grown / 1024
    );
    (client_kib, grown)
}

#[test]
fn a_64_mib_body_streams_through_client_and_server() {
    let server = Server::demo();
    let client = Client::new();
    client.run(&["login", &server.url("")]).ok();
    write_noise(&client.path("src/blob.bin"), BODY_MIB << 20);
    client.write("src/readme.txt", "one big file\n");
    let url = server.url("big");

    let mut peaks = Vec::new();
    peaks.push(step(
        &server,
        &client,
        &["checkin", "-m", "big", &url, "src"],
    ));
    peaks.push(step(&server, &client, &["checkout", &url, "a"]));
    peaks.push(step(&server, &client, &["checkout", &url, "b"]));
    // A new body of the same size: the first 64 KiB inverted in place.
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(client.path("a/big/blob.bin"))
        .unwrap();
    let mut head = vec![0u8; 64 * 1024];
    f.read_exact(&mut head).unwrap();
    head.iter_mut().for_each(|b| *b = !*b);
    f.seek(SeekFrom::Start(0)).unwrap();
    f.write_all(&head).unwrap();
    drop(f);
    peaks.push(step(&server, &client, &["commit", "-m", "edit", "a/big"]));
    peaks.push(step(&server, &client, &["update", "b/big"]));

    assert!(same_bytes(
        &client.path("a/big/blob.bin"),
        &client.path("b/big/blob.bin")
    ));
    let mut got = vec![0u8; head.len()];
    std::fs::File::open(client.path("b/big/blob.bin"))
        .unwrap()
        .read_exact(&mut got)
        .unwrap();
    assert!(got == head, "the update did not bring the edit");
    for (i, (client_kib, grown_kib)) in peaks.into_iter().enumerate() {
        assert!(
            client_kib < BOUND_KIB,
            "step {i}: zsync peaked at {client_kib} KiB with a {BODY_MIB} MiB body"
        );
        assert!(
            grown_kib < BOUND_KIB,
            "step {i}: zsyncd grew by {grown_kib} KiB with a {BODY_MIB} MiB body"
        );
    }
}
