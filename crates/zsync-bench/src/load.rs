//! `zsync-bench load`: many clients against one server (or several nodes
//! on one PostgreSQL database) for a fixed time. Each client is a thread
//! that runs real `zsync` processes, so every operation costs what a
//! user's command costs: process start, the index, the network, the store.
//!
//! A client checks the load folder out once, then loops: edit its own line
//! of one of a few shared files, commit, update, and every few rounds a
//! fresh checkout. Clients share the files on purpose, so commits collide:
//! a commit refused as stale is followed by an update (which merges the
//! other client's line cleanly) and a retry, and counted apart. Any other
//! failure is an error and fails the run.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use serde::Serialize;
use zsync_bench::fsutil::remove_tree;
use zsync_bench::proc::proc_status_kib;
use zsync_bench::tree;

use crate::server::Server;

/// Shared files the clients edit; each client owns two lines of each.
const HOT_FILES: usize = 8;
/// How often a client retries a commit refused as stale, once the run is
/// over and the others have stopped committing, before it counts as an
/// error (each retry follows an update). While the run lasts, a client
/// retries as often as it takes: on 2 cores under 32 clients some lose
/// the race for a shared file 20 times in a row and then commit at once
/// when the load is gone, which is contention, not a stuck copy; the
/// longest such streak is reported.
const STALE_RETRIES: usize = 20;

#[derive(clap::Args)]
pub struct LoadArgs {
    /// Concurrent clients (threads, each running real `zsync` processes).
    #[arg(long, default_value_t = 32)]
    clients: usize,
    /// How long the clients loop.
    #[arg(long, default_value_t = 60)]
    seconds: u64,
    /// Files in the checked-out folder besides the shared ones (the
    /// benchmark's generated tree, so ~5% binary).
    #[arg(long, default_value_t = 100)]
    files: usize,
    /// A fresh checkout every N rounds of each client.
    #[arg(long, default_value_t = 5)]
    checkout_every: u64,
    /// Keep the store in this PostgreSQL database (must be empty or a
    /// zsync store) instead of a fresh SQLite store.
    #[arg(long, value_name = "URL")]
    database: Option<String>,
    /// zsyncd nodes on the one --database; clients are spread over them.
    #[arg(long, default_value_t = 1)]
    nodes: usize,
    /// Where to write the results as JSON.
    #[arg(long, default_value = "load-results.json")]
    out: PathBuf,
    /// Work directory (default: a temporary one, removed at the end).
    #[arg(long)]
    work: Option<PathBuf>,
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Op {
    Checkout,
    Commit,
    Update,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Checkout => "checkout",
            Op::Commit => "commit",
            Op::Update => "update",
        }
    }
}

/// What one client saw.
#[derive(Default)]
struct Tally {
    latencies: BTreeMap<Op, Vec<Duration>>,
    committed: u64,
    stale: u64,
    /// The most stale refusals one commit took before it landed.
    longest_stale_streak: usize,
    errors: Vec<String>,
}

/// One client's fixed surroundings.
struct Client {
    id: usize,
    zsync: PathBuf,
    config: PathBuf,
    url: String,
    /// The folder's name, which a checkout creates in its target.
    name: String,
    dir: PathBuf,
}

enum Outcome {
    Done,
    Stale,
    Failed(String),
}

impl Client {
    /// Runs one timed `zsync` command.
    fn run(&self, tally: &mut Tally, op: Op, args: &[&std::ffi::OsStr]) -> Outcome {
        let start = Instant::now();
        let out = Command::new(&self.zsync)
            .env("ZSYNC_CONFIG_DIR", &self.config)
            .args(args)
            .stdin(Stdio::null())
            .output();
        let took = start.elapsed();
        let out = match out {
            Ok(out) => out,
            Err(e) => return Outcome::Failed(format!("cannot run zsync: {e}")),
        };
        tally.latencies.entry(op).or_default().push(took);
        if out.status.success() {
            return Outcome::Done;
        }
        let stderr = String::from_utf8_lossy(&out.stderr);
        if op == Op::Commit && stderr.contains("changed on the server since your last update") {
            Outcome::Stale
        } else {
            Outcome::Failed(format!(
                "client {}: zsync {} failed ({}): {}",
                self.id,
                op.name(),
                out.status,
                stderr.trim()
            ))
        }
    }

    fn checkout(&self, tally: &mut Tally, target: &Path) -> bool {
        let outcome = self.run(
            tally,
            Op::Checkout,
            &["checkout".as_ref(), self.url.as_ref(), target.as_os_str()],
        );
        self.settle(tally, outcome)
    }

    fn update(&self, tally: &mut Tally, wc: &Path) -> bool {
        let outcome = self.run(tally, Op::Update, &["update".as_ref(), wc.as_os_str()]);
        self.settle(tally, outcome)
    }

    /// Records a failure; true if the operation succeeded.
    fn settle(&self, tally: &mut Tally, outcome: Outcome) -> bool {
        match outcome {
            Outcome::Done => true,
            Outcome::Stale => {
                tally.stale += 1;
                false
            }
            Outcome::Failed(why) => {
                tally.errors.push(why);
                false
            }
        }
    }

    /// Commits `wc`, updating and retrying while the commit is stale.
    fn commit(&self, tally: &mut Tally, wc: &Path, message: &str, stop: &AtomicBool) -> bool {
        let (mut streak, mut after_stop) = (0, 0);
        while after_stop < STALE_RETRIES {
            let args = [
                "commit".as_ref(),
                "-m".as_ref(),
                message.as_ref(),
                wc.as_os_str(),
            ];
            match self.run(tally, Op::Commit, &args) {
                Outcome::Done => {
                    tally.committed += 1;
                    tally.longest_stale_streak = tally.longest_stale_streak.max(streak);
                    return true;
                }
                Outcome::Stale => {
                    tally.stale += 1;
                    streak += 1;
                    if stop.load(Ordering::Relaxed) {
                        after_stop += 1;
                    }
                    if !self.update(tally, wc) {
                        return false;
                    }
                }
                Outcome::Failed(why) => {
                    tally.errors.push(why);
                    return false;
                }
            }
        }
        tally.errors.push(format!(
            "client {}: commit still stale after {streak} updates, {STALE_RETRIES} of them after the run",
            self.id
        ));
        false
    }

    fn work(&self, clients: usize, checkout_every: u64, stop: &AtomicBool) -> Tally {
        let mut tally = Tally::default();
        let home = self.dir.join("wc");
        if !self.checkout(&mut tally, &home) {
            return tally;
        }
        let wc = home.join(&self.name);
        let mut round = 0u64;
        while !stop.load(Ordering::Relaxed) {
            round += 1;
            let file = wc
                .join("hot")
                .join(format!("h{}.txt", (self.id + round as usize) % HOT_FILES));
            if let Err(e) = edit_line(&file, self.id, clients, round) {
                tally.errors.push(format!("client {}: {e:#}", self.id));
                break;
            }
            if !self.commit(
                &mut tally,
                &wc,
                &format!("client {} round {round}", self.id),
                stop,
            ) {
                break;
            }
            if stop.load(Ordering::Relaxed) {
                break;
            }
            if !self.update(&mut tally, &wc) {
                break;
            }
            if checkout_every > 0 && round.is_multiple_of(checkout_every) {
                let fresh = self.dir.join(format!("fresh{round}"));
                let ok = self.checkout(&mut tally, &fresh);
                let _ = remove_tree(&fresh);
                if !ok {
                    break;
                }
            }
        }
        tally
    }
}

/// The body of a shared file: a separator line between any two clients'
/// lines, so edits of different clients never touch and always merge.
fn hot_body(clients: usize) -> String {
    let mut text = String::new();
    for c in 0..clients {
        text.push_str(&format!("client {c}: start\n--\n"));
    }
    text
}

/// Replaces client `id`'s line of `file`.
fn edit_line(file: &Path, id: usize, clients: usize, round: u64) -> Result<()> {
    let text =
        fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    if lines.len() != 2 * clients {
        bail!(
            "{} has {} lines, expected {} (a bad merge?)",
            file.display(),
            lines.len(),
            2 * clients
        );
    }
    lines[2 * id] = format!("client {id}: round {round}");
    let body = lines.join("\n") + "\n";
    fs::write(file, body).with_context(|| format!("cannot write {}", file.display()))
}

#[derive(Serialize)]
struct OpReport {
    op: &'static str,
    count: usize,
    per_sec: f64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
}

#[derive(Serialize)]
struct LoadReport {
    clients: usize,
    clients_are: &'static str,
    seconds: f64,
    files: usize,
    hot_files: usize,
    store: &'static str,
    nodes: usize,
    nproc: usize,
    load_average: String,
    ops: Vec<OpReport>,
    commits: u64,
    commits_per_sec: f64,
    stale_refusals: u64,
    longest_stale_streak: usize,
    errors: usize,
    first_errors: Vec<String>,
    server_peak_rss_kib: Vec<Option<u64>>,
}

pub fn run(args: &LoadArgs) -> Result<()> {
    if args.clients == 0 || args.seconds == 0 || args.nodes == 0 {
        bail!("--clients, --seconds and --nodes must be at least 1");
    }
    if args.nodes > 1 && args.database.is_none() {
        bail!("--nodes needs --database: nodes share one PostgreSQL database");
    }
    // `_temp` removes a temporary work directory when the run ends.
    let (work, _temp) = crate::work_dir(args.work.as_deref(), "zsync-load.")?;
    let zsync = crate::sibling("zsync")?;
    let zsyncd = crate::sibling("zsyncd")?;
    let logs = work.join("logs");
    fs::create_dir_all(&logs)?;

    let mut servers = vec![Server::start(
        &zsyncd,
        &work.join("zsyncd-data-0"),
        args.database.as_deref(),
        &logs.join("zsyncd-0.log"),
    )?];
    if let Some(url) = &args.database {
        for n in 1..args.nodes {
            servers.push(Server::node(
                &zsyncd,
                &work.join(format!("zsyncd-data-{n}")),
                url,
                &logs.join(format!("zsyncd-{n}.log")),
            )?);
        }
    }

    // The folder: the generated tree plus the shared files, checked in.
    let src = work.join("load");
    remove_tree(&src)?;
    tree::generate(&src, args.files, tree::BINARY_SHARE).context("cannot generate the tree")?;
    fs::create_dir_all(src.join("hot"))?;
    for j in 0..HOT_FILES {
        fs::write(
            src.join("hot").join(format!("h{j}.txt")),
            hot_body(args.clients),
        )?;
    }
    // One login (untimed; argon2 once), its token shared by every client.
    let config = work.join("zsync-config");
    let setup = |what: &str, cmd: &mut Command| -> Result<()> {
        let out = cmd
            .env("ZSYNC_CONFIG_DIR", &config)
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("cannot run zsync {what}"))?;
        if !out.status.success() {
            bail!(
                "zsync {what} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(())
    };
    setup(
        "login",
        Command::new(&zsync)
            .arg("login")
            .arg(servers[0].url(true, "/")),
    )?;
    // A rerun against the same --database finds /load already there.
    let folder = format!("/load-{}", std::process::id());
    setup(
        "checkin",
        Command::new(&zsync)
            .args(["checkin", "-m", "load"])
            .arg(servers[0].url(false, &folder))
            .arg(&src),
    )?;
    remove_tree(&src)?;

    eprintln!(
        "{} clients, {} s, {} node(s) on {}",
        args.clients,
        args.seconds,
        servers.len(),
        if args.database.is_some() {
            "PostgreSQL"
        } else {
            "SQLite"
        }
    );
    let stop = Arc::new(AtomicBool::new(false));
    let results = Arc::new(Mutex::new(Vec::new()));
    let started = Instant::now();
    let mut handles = Vec::new();
    for id in 0..args.clients {
        let server = &servers[id % servers.len()];
        let client = Client {
            id,
            zsync: zsync.clone(),
            config: config.clone(),
            url: server.url(false, &folder),
            name: folder.trim_start_matches('/').to_owned(),
            dir: work.join(format!("c{id}")),
        };
        let (stop, results) = (stop.clone(), results.clone());
        let (clients, every) = (args.clients, args.checkout_every);
        handles.push(std::thread::spawn(move || {
            let tally = client.work(clients, every, &stop);
            if let Ok(mut r) = results.lock() {
                r.push(tally);
            }
        }));
    }
    let deadline = started + Duration::from_secs(args.seconds);
    while Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
        if handles.iter().all(|h| h.is_finished()) {
            break;
        }
    }
    stop.store(true, Ordering::Relaxed);
    for h in handles {
        if h.join().is_err() {
            bail!("a client thread panicked");
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let server_rss: Vec<Option<u64>> = servers
        .iter()
        .map(|s| proc_status_kib(s.pid, "VmHWM"))
        .collect();
    drop(servers);
    let tallies = match Arc::try_unwrap(results) {
        Ok(m) => m.into_inner().unwrap_or_default(),
        Err(_) => bail!("client results still shared"),
    };

    let mut all: BTreeMap<Op, Vec<Duration>> = BTreeMap::new();
    let (mut commits, mut stale, mut streak) = (0, 0, 0);
    let mut errors = Vec::new();
    for t in tallies {
        for (op, mut v) in t.latencies {
            all.entry(op).or_default().append(&mut v);
        }
        commits += t.committed;
        stale += t.stale;
        streak = streak.max(t.longest_stale_streak);
        errors.extend(t.errors);
    }
    let ops = all
        .into_iter()
        .map(|(op, mut v)| {
            v.sort();
            let ms = |d: Duration| d.as_secs_f64() * 1000.0;
            OpReport {
                op: op.name(),
                count: v.len(),
                per_sec: v.len() as f64 / elapsed,
                p50_ms: ms(percentile(&v, 50.0)),
                p99_ms: ms(percentile(&v, 99.0)),
                max_ms: ms(v.last().copied().unwrap_or_default()),
            }
        })
        .collect();
    let report = LoadReport {
        clients: args.clients,
        clients_are: "threads each running real zsync processes (one process per operation)",
        seconds: elapsed,
        files: args.files,
        hot_files: HOT_FILES,
        store: if args.database.is_some() {
            "PostgreSQL"
        } else {
            "SQLite"
        },
        nodes: args.nodes,
        nproc: std::thread::available_parallelism().map_or(0, |n| n.get()),
        load_average: fs::read_to_string("/proc/loadavg")
            .map(|s| s.trim().to_owned())
            .unwrap_or_default(),
        ops,
        commits,
        commits_per_sec: commits as f64 / elapsed,
        stale_refusals: stale,
        longest_stale_streak: streak,
        errors: errors.len(),
        first_errors: errors.iter().take(10).cloned().collect(),
        server_peak_rss_kib: server_rss,
    };
    let json = serde_json::to_string_pretty(&report)?;
    fs::write(&args.out, json + "\n")
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    print_report(&report);
    if !errors.is_empty() {
        bail!(
            "{} error(s) under load; the first:\n{}",
            errors.len(),
            errors
                .iter()
                .take(5)
                .cloned()
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    Ok(())
}

/// The nearest-rank percentile of sorted `v`.
fn percentile(v: &[Duration], p: f64) -> Duration {
    if v.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
    v[rank.clamp(1, v.len()) - 1]
}

fn print_report(r: &LoadReport) {
    println!();
    println!(
        "{} clients: {}; {:.1} s, {} node(s) on {}, {} cores, load average {}",
        r.clients, r.clients_are, r.seconds, r.nodes, r.store, r.nproc, r.load_average
    );
    println!();
    println!("| operation | count | per second | p50 ms | p99 ms | max ms |");
    println!("|---|---:|---:|---:|---:|---:|");
    for o in &r.ops {
        println!(
            "| {} | {} | {:.2} | {:.0} | {:.0} | {:.0} |",
            o.op, o.count, o.per_sec, o.p50_ms, o.p99_ms, o.max_ms
        );
    }
    println!();
    let rss: Vec<String> = r
        .server_peak_rss_kib
        .iter()
        .map(|k| k.map_or_else(|| "-".to_owned(), |k| format!("{:.1}", k as f64 / 1024.0)))
        .collect();
    println!(
        "{} commits ({:.2}/s), {} refused as stale (then update + retry; at most {} before one landed), {} errors; zsyncd peak RSS {} MiB",
        r.commits,
        r.commits_per_sec,
        r.stale_refusals,
        r.longest_stale_streak,
        r.errors,
        rss.join(", ")
    );
}
