//! Running a timed child: wall time and the child's own peak RSS from
//! `wait4`, and the server's high-water mark from `/proc`.

use std::fs;
use std::io;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use std::os::unix::process::ExitStatusExt;

/// One timed command.
#[derive(Debug, Clone, Copy)]
pub struct Measured {
    pub wall: Duration,
    /// ru_maxrss of the child (and the children it waited for), in KiB.
    pub max_rss_kib: u64,
    pub status: ExitStatus,
}

/// Spawns `cmd` (stdin closed) and reaps it with `wait4`, so its rusage
/// is its own and not mixed with other children's.
pub fn run_measured(cmd: &mut Command) -> io::Result<Measured> {
    cmd.stdin(Stdio::null());
    let start = Instant::now();
    let child = cmd.spawn()?;
    wait_measured(child, start)
}

fn wait_measured(child: Child, start: Instant) -> io::Result<Measured> {
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is plain old data; all-zero is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: pid is our unreaped child; both pointers are valid for writes.
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if r == pid {
            break;
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
    let wall = start.elapsed();
    // Reaped by wait4 above: dropping `child` neither waits nor kills.
    drop(child);
    Ok(Measured {
        wall,
        max_rss_kib: u64::try_from(usage.ru_maxrss).unwrap_or(0),
        status: ExitStatus::from_raw(status),
    })
}

/// A field of `/proc/PID/status` in KiB (`VmHWM`, `VmRSS`).
pub fn proc_status_kib(pid: u32, field: &str) -> Option<u64> {
    let text = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines().find_map(|line| {
        let rest = line.strip_prefix(field)?.strip_prefix(':')?;
        rest.trim().trim_end_matches("kB").trim().parse().ok()
    })
}

/// Resets the peak RSS of `pid` to its current RSS (Linux ≥ 4.0, needs
/// the right to write its `clear_refs`), so VmHWM is then per step.
pub fn reset_hwm(pid: u32) -> bool {
    fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok()
}
