//! `zsync-bench bigfile`: peak memory of the real `zsync` (wait4's
//! ru_maxrss) and of zsyncd (VmHWM, reset before each step) while a tree
//! with one big binary file is checked in, checked out, committed after an
//! edit, and received by an update. Bodies must stream: the client's peak
//! must stay under --limit-mib whatever the file's size.

use std::fs::{self, File};
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context as _, Result, bail};
use serde::Serialize;
use zsync_bench::fsutil::remove_tree;
use zsync_bench::proc::{proc_status_kib, reset_hwm, run_measured};

use crate::server::Server;

#[derive(clap::Args)]
pub struct BigfileArgs {
    /// Size of the binary file in MiB.
    #[arg(long, default_value_t = 1024)]
    mib: u64,
    /// The most the client may use (peak RSS, MiB); the run fails above it.
    #[arg(long, default_value_t = 100)]
    limit_mib: u64,
    /// Keep the store in this PostgreSQL database instead of SQLite.
    #[arg(long, value_name = "URL")]
    database: Option<String>,
    /// Where to write the results as JSON.
    #[arg(long, default_value = "bigfile-results.json")]
    out: PathBuf,
    /// Work directory (default: a temporary one, removed at the end).
    #[arg(long)]
    work: Option<PathBuf>,
}

#[derive(Serialize)]
struct StepReport {
    step: &'static str,
    secs: f64,
    client_peak_rss_kib: u64,
    server_peak_rss_kib: Option<u64>,
    /// zsyncd's RSS right before the step (its peak was reset to this).
    server_rss_before_kib: Option<u64>,
}

#[derive(Serialize)]
struct BigfileReport {
    file_bytes: u64,
    limit_mib: u64,
    store: &'static str,
    server_hwm_reset: bool,
    steps: Vec<StepReport>,
    client_peak_rss_kib: u64,
    within_limit: bool,
}

/// Deterministic incompressible bytes (xorshift64*), so compression in
/// the archive cannot hide a buffered body.
struct Noise(u64);

impl Noise {
    fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let mut x = self.0;
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            self.0 = x;
            let v = x.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }
}

fn write_noise(path: &Path, bytes: u64) -> Result<()> {
    let mut f = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut noise = Noise(0x9e37_79b9_7f4a_7c15);
    let mut buf = vec![0u8; 1 << 20];
    let mut left = bytes;
    while left > 0 {
        let n = left.min(buf.len() as u64) as usize;
        noise.fill(&mut buf[..n]);
        f.write_all(&buf[..n])?;
        left -= n as u64;
    }
    Ok(())
}

/// Overwrites the first 64 KiB in place: a new body of the same size (the
/// server's body limit may be exactly the file's size).
fn edit_in_place(path: &Path) -> Result<()> {
    let mut f = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    let mut head = vec![0u8; 64 * 1024];
    let n = f.read(&mut head)?;
    for b in &mut head[..n] {
        *b = !*b;
    }
    f.seek(SeekFrom::Start(0))?;
    f.write_all(&head[..n])?;
    Ok(())
}

fn head(path: &Path) -> Result<Vec<u8>> {
    let mut buf = vec![0u8; 64 * 1024];
    let n = File::open(path)
        .with_context(|| format!("cannot open {}", path.display()))?
        .read(&mut buf)?;
    buf.truncate(n);
    Ok(buf)
}

pub fn run(args: &BigfileArgs) -> Result<()> {
    if args.mib == 0 {
        bail!("--mib must be at least 1");
    }
    // `_temp` removes a temporary work directory when the run ends.
    let (work, _temp) = crate::work_dir(args.work.as_deref(), "zsync-bigfile.")?;
    let zsync = crate::sibling("zsync")?;
    let zsyncd = crate::sibling("zsyncd")?;
    let logs = work.join("logs");
    fs::create_dir_all(&logs)?;
    let server = Server::start(
        &zsyncd,
        &work.join("zsyncd-data"),
        args.database.as_deref(),
        &logs.join("zsyncd.log"),
    )?;
    let config = work.join("zsync-config");
    let zsync_cmd = || {
        let mut c = Command::new(&zsync);
        c.env("ZSYNC_CONFIG_DIR", &config);
        c
    };
    let mut steps = Vec::new();
    let mut hwm_reset = true;
    let mut step = |name: &'static str, cmd: &mut Command| -> Result<()> {
        let before = proc_status_kib(server.pid, "VmRSS");
        hwm_reset &= reset_hwm(server.pid);
        let log = logs.join(format!("{name}.log"));
        let out = File::create(&log)?;
        cmd.stdout(out.try_clone()?).stderr(out);
        let m = run_measured(cmd).context("cannot run zsync")?;
        if !m.status.success() {
            let text = fs::read_to_string(&log).unwrap_or_default();
            bail!("zsync {name} failed ({}):\n{text}", m.status);
        }
        let report = StepReport {
            step: name,
            secs: m.wall.as_secs_f64(),
            client_peak_rss_kib: m.max_rss_kib,
            server_peak_rss_kib: proc_status_kib(server.pid, "VmHWM"),
            server_rss_before_kib: before,
        };
        eprintln!(
            "  {name:<9} {:>8.2} s  client {:>6.1} MiB  zsyncd {:>6.1} MiB",
            report.secs,
            report.client_peak_rss_kib as f64 / 1024.0,
            report.server_peak_rss_kib.unwrap_or(0) as f64 / 1024.0
        );
        steps.push(report);
        Ok(())
    };

    let mut login = zsync_cmd();
    login.arg("login").arg(server.url(true, "/"));
    step("login", &mut login)?;
    // A rerun against the same --database finds an older folder there.
    let folder = format!("big-{}", std::process::id());
    let src = work.join("src");
    fs::create_dir_all(&src)?;
    let bytes = args.mib << 20;
    let started = Instant::now();
    write_noise(&src.join("blob.bin"), bytes)?;
    fs::write(src.join("readme.txt"), "one big file\n")?;
    eprintln!(
        "{} MiB file written in {:.1} s",
        args.mib,
        started.elapsed().as_secs_f64()
    );
    let url = server.url(false, &format!("/{folder}"));
    let mut c = zsync_cmd();
    c.args(["checkin", "-m", "big"]).arg(&url).arg(&src);
    step("checkin", &mut c)?;
    remove_tree(&src)?;
    let (wc1, wc2) = (work.join("wc1"), work.join("wc2"));
    let mut c = zsync_cmd();
    c.arg("checkout").arg(&url).arg(&wc1);
    step("checkout", &mut c)?;
    let mut c = zsync_cmd();
    c.arg("checkout").arg(&url).arg(&wc2);
    step("checkout2", &mut c)?;
    let (wc1, wc2) = (wc1.join(&folder), wc2.join(&folder));
    edit_in_place(&wc1.join("blob.bin"))?;
    let mut c = zsync_cmd();
    c.args(["commit", "-m", "edit"]).arg(&wc1);
    step("commit", &mut c)?;
    let mut c = zsync_cmd();
    c.arg("update").arg(&wc2);
    step("update", &mut c)?;
    let (a, b) = (wc1.join("blob.bin"), wc2.join("blob.bin"));
    if fs::metadata(&b)?.len() != bytes || head(&a)? != head(&b)? {
        bail!("the update did not bring the edited file");
    }
    drop(server);
    let _ = remove_tree(&work.join("wc1"));
    let _ = remove_tree(&work.join("wc2"));

    steps.retain(|s| s.step != "login");
    let peak = steps
        .iter()
        .map(|s| s.client_peak_rss_kib)
        .max()
        .unwrap_or(0);
    let report = BigfileReport {
        file_bytes: bytes,
        limit_mib: args.limit_mib,
        store: if args.database.is_some() {
            "PostgreSQL"
        } else {
            "SQLite"
        },
        server_hwm_reset: hwm_reset,
        within_limit: peak <= args.limit_mib * 1024,
        client_peak_rss_kib: peak,
        steps,
    };
    let json = serde_json::to_string_pretty(&report)?;
    fs::write(&args.out, json + "\n")
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    println!();
    println!(
        "one {} MiB binary file (plus a small text file), store {}",
        args.mib, report.store
    );
    println!();
    println!("| step | seconds | zsync peak RSS MiB | zsyncd peak RSS MiB |");
    println!("|---|---:|---:|---:|");
    for s in &report.steps {
        println!(
            "| {} | {:.2} | {:.1} | {} |",
            s.step,
            s.secs,
            s.client_peak_rss_kib as f64 / 1024.0,
            s.server_peak_rss_kib
                .map_or_else(|| "-".to_owned(), |k| format!("{:.1}", k as f64 / 1024.0))
        );
    }
    println!();
    if !report.within_limit {
        bail!(
            "the client peaked at {:.1} MiB, over the {} MiB limit",
            peak as f64 / 1024.0,
            args.limit_mib
        );
    }
    println!(
        "client peak {:.1} MiB, within {} MiB",
        peak as f64 / 1024.0,
        args.limit_mib
    );
    Ok(())
}
