//! `zsync-bench`: times zsync's everyday steps on a generated tree, side by
//! side in one run with Subversion over svnserve, git and tar (issue 9).
//! Timings are noisy: compare the columns of one run, as ratios.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::Write as _;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use clap::Parser;
use serde::Serialize;
use zsync_bench::fsutil::{self, disk_usage, read_all, remove_tree, settle, stat_walk};
use zsync_bench::proc::{Measured, proc_status_kib, reset_hwm, run_measured};
use zsync_bench::tree;

mod bigfile;
mod load;
mod server;

use server::Server;

/// Times zsync against svn, git and tar on a deterministic content tree.
#[derive(Parser)]
///
/// Without a subcommand: the side-by-side steps. `load`: many clients
/// against one server. `bigfile`: memory with one big file.
#[command(
    name = "zsync-bench",
    max_term_width = 100,
    args_conflicts_with_subcommands = true
)]
struct Args {
    #[command(subcommand)]
    mode: Option<Mode>,
    /// How many files the generated tree has.
    #[arg(long, default_value_t = 20_000)]
    files: usize,
    /// How many times each step runs; the table shows medians.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Where to write every number as JSON.
    #[arg(long, default_value = "bench-results.json")]
    out: PathBuf,
    /// Work directory (kept, with the generated tree, for later runs);
    /// default: a temporary directory removed at the end.
    #[arg(long)]
    work: Option<PathBuf>,
    /// Leave out Subversion.
    #[arg(long)]
    skip_svn: bool,
    /// Never drop the page cache, even as root (all figures are then warm).
    #[arg(long)]
    no_drop_caches: bool,
    /// Only write the tree (as `gen_tree.py DIR FILES` does) into DIR and exit.
    #[arg(long, value_name = "DIR")]
    generate: Option<PathBuf>,
}

#[derive(clap::Subcommand)]
enum Mode {
    /// Concurrent clients doing checkout/commit/update loops against one
    /// zsyncd (or several nodes on one PostgreSQL database) for a while:
    /// throughput and latency per operation, stale refusals, peak RSS.
    Load(load::LoadArgs),
    /// Peak memory of client and server with one big binary file through
    /// checkin, checkout, commit and update.
    Bigfile(bigfile::BigfileArgs),
}

/// The steps, in the order they run and are shown.
const STEPS: [(&str, &str); 9] = [
    ("import", "import of the tree"),
    ("checkout", "checkout"),
    ("checkout_2", "second checkout"),
    ("status_clean", "status, clean"),
    ("status_clean_2", "status, clean, again"),
    ("status_10_modified", "status, 10 modified"),
    ("commit_10", "commit of 10 files"),
    ("update_10", "update receiving 10"),
    ("update_noop", "no-op update"),
];

const TOOLS: [&str; 4] = ["zsync", "svn", "git", "floor"];
const EDITED: usize = 10;

#[derive(Serialize, Clone, Copy)]
struct Sample {
    secs: f64,
    /// Peak RSS of the client process (wait4's ru_maxrss).
    #[serde(skip_serializing_if = "Option::is_none")]
    client_rss_kib: Option<u64>,
    /// Peak RSS of zsyncd during the step (VmHWM, see `server_hwm_per_step`).
    #[serde(skip_serializing_if = "Option::is_none")]
    server_rss_kib: Option<u64>,
}

/// How the zsync import runs: `zsync checkin`, or (older clients) a
/// checkout of /demo with mkdir + add + commit.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ImportMode {
    Checkin,
    Emulated,
}

struct Bench {
    args: Args,
    work: PathBuf,
    tree: PathBuf,
    tarball: PathBuf,
    logs: PathBuf,
    zsync: PathBuf,
    zsyncd: PathBuf,
    drop_caches: bool,
    svn: bool,
    git: bool,
    mode: ImportMode,
    /// Whether zsyncd's VmHWM could be reset before each step.
    server_hwm_per_step: bool,
    edited: Vec<PathBuf>,
    samples: BTreeMap<(&'static str, &'static str), Vec<Sample>>,
    /// Allocated bytes of each tool's working copy, per run.
    disk: BTreeMap<&'static str, Vec<u64>>,
    /// Set up once the tree's size is known.
    trash: Option<fsutil::Trash>,
    started: Instant,
}

/// Writes what the last checkout left in the page cache to disk, untimed:
/// a status right after it would otherwise time the kernel's writeback
/// of the checkout too (a 20,000-file zsync checkout leaves ~1 GB of it;
/// svn's slower checkout has written most of its own by the end; git's
/// tree was written long before).
fn settle_writes() -> Result<()> {
    settle(false).context("cannot sync")
}

fn main() -> Result<()> {
    let mut args = Args::parse();
    match args.mode.take() {
        Some(Mode::Load(a)) => return load::run(&a),
        Some(Mode::Bigfile(a)) => return bigfile::run(&a),
        None => {}
    }
    if args.runs == 0 || args.files == 0 {
        bail!("--runs and --files must be at least 1");
    }
    if let Some(dir) = &args.generate {
        let stats = tree::generate(dir, args.files, tree::BINARY_SHARE)
            .with_context(|| format!("cannot generate the tree in {}", dir.display()))?;
        println!(
            "{} files, {:.1} MB in {}",
            stats.files,
            stats.bytes as f64 / 1e6,
            dir.display()
        );
        return Ok(());
    }
    // `_temp` removes a temporary work directory when the run ends.
    let (work, _temp) = work_dir(args.work.as_deref(), "zsync-bench.")?;
    let zsync = sibling("zsync")?;
    let zsyncd = sibling("zsyncd")?;
    let drop_caches = !args.no_drop_caches && fsutil::can_drop_caches();
    if !args.no_drop_caches && !drop_caches {
        eprintln!(
            "note: not root, page cache not dropped: all figures are warm, and creating files within minutes of a large delete may be slow"
        );
    }
    let svn = !args.skip_svn && have_svn();
    if !args.skip_svn && !svn {
        eprintln!(
            "note: svn or svnserve not found; skipping the svn column (install it with `apt-get install subversion`)"
        );
    }
    let git = tool_version("git", &["--version"]).is_some();
    if !git {
        eprintln!("note: git not found; skipping the git column");
    }
    // ZSYNC_BENCH_EMULATE_IMPORT=1 exercises the add + commit path on a
    // client that has checkin.
    let emulate = std::env::var_os("ZSYNC_BENCH_EMULATE_IMPORT").is_some_and(|v| v == "1");
    let mode = if !emulate && zsync_has_checkin(&zsync) {
        ImportMode::Checkin
    } else {
        eprintln!(
            "note: import emulated with add + commit (no `checkin` in this zsync, or ZSYNC_BENCH_EMULATE_IMPORT=1)"
        );
        ImportMode::Emulated
    };
    let mut bench = Bench {
        tree: work.join("tree"),
        tarball: work.join("tree.tar"),
        logs: work.join("logs"),
        work,
        args,
        zsync,
        zsyncd,
        drop_caches,
        svn,
        git,
        mode,
        server_hwm_per_step: true,
        edited: Vec::new(),
        samples: BTreeMap::new(),
        disk: BTreeMap::new(),
        trash: None,
        started: Instant::now(),
    };
    bench.run()
}

impl Bench {
    fn run(&mut self) -> Result<()> {
        fs::create_dir_all(&self.logs)?;
        let stats = self.prepare_tree()?;
        eprintln!(
            "tree: {} files, {:.1} MB in {} ({:.1} s so far)",
            stats.files,
            stats.bytes as f64 / 1e6,
            self.tree.display(),
            self.started.elapsed().as_secs_f64()
        );
        self.edited = fsutil::list_files(&self.tree)?
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "html"))
            .take(EDITED)
            .collect();
        // Measured now, while the tree is in the page cache.
        let tree_disk = disk_usage(&self.tree)?;
        // Room for the biggest step (two working copies and a server) to
        // come after the trash took what it may.
        let reserve = 6 * tree_disk + (1 << 30);
        self.trash = Some(fsutil::Trash::new(self.work.join("trash"), reserve)?);
        // git's steps need no server and no cold cache: all runs first, so
        // its repository is removed while still cached.
        if self.git {
            self.git_setup()?;
            for run in 0..self.args.runs {
                eprintln!("== git run {}/{}", run + 1, self.args.runs);
                self.git_run()?;
            }
            self.cleanup(&self.work.join("git"))?;
        }
        for run in 0..self.args.runs {
            eprintln!("== run {}/{}", run + 1, self.args.runs);
            let dir = self.work.join("run");
            self.cleanup(&dir)?;
            fs::create_dir_all(&dir)?;
            self.zsync_run(&dir)?;
            if self.svn {
                self.svn_run(&dir)?;
            }
            self.floor_run(&dir)?;
            self.cleanup(&dir)?;
        }
        let report = self.report(stats, tree_disk)?;
        let json = serde_json::to_string_pretty(&report)?;
        fs::write(&self.args.out, json + "\n")
            .with_context(|| format!("cannot write {}", self.args.out.display()))?;
        print_tables(&report);
        if let Some(trash) = &mut self.trash {
            let start = Instant::now();
            trash.empty().context("cannot empty the trash")?;
            eprintln!(
                "(deleted the runs' trees in {:.1} s)",
                start.elapsed().as_secs_f64()
            );
        }
        eprintln!(
            "wrote {} ({:.0} s in all)",
            self.args.out.display(),
            self.started.elapsed().as_secs_f64()
        );
        Ok(())
    }

    /// Generates the tree, or reuses the one a previous run left in --work.
    fn prepare_tree(&self) -> Result<tree::TreeStats> {
        let stamp = self.work.join("tree.stamp");
        let want = format!(
            "files={} seed={} binary_share={}",
            self.args.files,
            tree::SEED,
            tree::BINARY_SHARE
        );
        if let Ok(text) = fs::read_to_string(&stamp)
            && let Some((have, bytes)) = text.trim().rsplit_once(" bytes=")
            && have == want
            && self.tarball.is_file()
            && let Ok(bytes) = bytes.parse()
        {
            return Ok(tree::TreeStats {
                files: self.args.files,
                bytes,
            });
        }
        remove_tree(&self.tree)?;
        let _ = fs::remove_file(&stamp);
        let stats = tree::generate(&self.tree, self.args.files, tree::BINARY_SHARE)
            .context("cannot generate the tree")?;
        let mut tar = Command::new("tar");
        tar.arg("cf")
            .arg(&self.tarball)
            .arg("-C")
            .arg(&self.tree)
            .arg(".");
        self.timed("tar-create", &mut tar)?;
        fs::write(&stamp, format!("{want} bytes={}\n", stats.bytes))?;
        Ok(stats)
    }

    /// Runs a command to completion with output to a log file, measured;
    /// fails with the log's tail if it fails.
    fn timed(&self, what: &str, cmd: &mut Command) -> Result<Measured> {
        let log = self.logs.join(format!("{what}.log"));
        let out = File::create(&log).with_context(|| format!("cannot create {}", log.display()))?;
        cmd.stdout(out.try_clone()?).stderr(out);
        let m = run_measured(cmd)
            .with_context(|| format!("cannot run {}", cmd.get_program().to_string_lossy()))?;
        if !m.status.success() {
            let text = fs::read_to_string(&log).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(15).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            bail!(
                "{what} failed ({}): {:?}\n{}",
                m.status,
                cmd,
                tail.join("\n")
            );
        }
        Ok(m)
    }

    fn record(&mut self, tool: &'static str, step: &'static str, sample: Sample) {
        eprintln!(
            "  {tool:<5} {step:<20} {:>9.3} s{}{}  [{:.0} s]",
            sample.secs,
            sample
                .client_rss_kib
                .map(|k| format!("  client {:.1} MiB", k as f64 / 1024.0))
                .unwrap_or_default(),
            sample
                .server_rss_kib
                .map(|k| format!("  server {:.1} MiB", k as f64 / 1024.0))
                .unwrap_or_default(),
            self.started.elapsed().as_secs_f64()
        );
        self.samples.entry((tool, step)).or_default().push(sample);
    }

    /// sync, drop the caches if allowed, and optionally read `warm` back.
    fn settle(&self, warm: Option<&Path>) -> Result<()> {
        settle(self.drop_caches).context("cannot drop the page cache")?;
        if let Some(dir) = warm {
            read_all(dir)?;
        }
        Ok(())
    }

    /// Puts a directory its steps are done with in the trash (see
    /// [`fsutil::Trash`]), or removes it if there is no trash yet.
    fn cleanup(&mut self, path: &Path) -> Result<()> {
        match &mut self.trash {
            Some(trash) => trash.discard(path),
            None => remove_tree(path),
        }
        .with_context(|| format!("cannot remove {}", path.display()))
    }

    fn edit(&self, wc: &Path) -> Result<()> {
        for rel in &self.edited {
            let path = wc.join(rel);
            let mut f = fs::OpenOptions::new()
                .append(true)
                .open(&path)
                .with_context(|| format!("cannot edit {}", path.display()))?;
            f.write_all(b"edit\n")?;
        }
        Ok(())
    }

    // ---- zsync ------------------------------------------------------------

    fn zsync_cmd(&self, config: &Path) -> Command {
        let mut c = Command::new(&self.zsync);
        c.env("ZSYNC_CONFIG_DIR", config);
        c
    }

    /// Times one zsync step, with zsyncd's peak RSS over it when `server`.
    fn zsync_step(
        &mut self,
        step: &'static str,
        server: Option<&Server>,
        cmd: &mut Command,
    ) -> Result<Measured> {
        if let Some(s) = server
            && !reset_hwm(s.pid)
        {
            self.server_hwm_per_step = false;
        }
        let m = self.timed(&format!("zsync-{step}"), cmd)?;
        let server_rss_kib = server.and_then(|s| proc_status_kib(s.pid, "VmHWM"));
        self.record(
            "zsync",
            step,
            Sample {
                secs: m.wall.as_secs_f64(),
                client_rss_kib: Some(m.max_rss_kib),
                server_rss_kib,
            },
        );
        Ok(m)
    }

    fn zsync_run(&mut self, dir: &Path) -> Result<()> {
        let config = dir.join("zsync-config");
        let server = Server::start(
            &self.zsyncd,
            &dir.join("zsyncd-data"),
            None,
            &self.logs.join("zsyncd.log"),
        )?;
        // Log in once, untimed (as svn caches credentials): the timed steps
        // then use the stored token rather than an Argon2 password check each.
        let mut login = self.zsync_cmd(&config);
        login.arg("login").arg(server.url(true, "/"));
        self.timed("zsync-login", &mut login)?;
        let folder = match self.mode {
            ImportMode::Checkin => "/tree",
            ImportMode::Emulated => "/demo/tree",
        };
        let url = server.url(false, folder);
        let import = dir.join("zsync-import");
        match self.mode {
            ImportMode::Checkin => {
                let src = import.join("tree");
                // Hard links: checkin only reads the files, and unlinking a
                // link later frees no blocks (deletes are slow on this disk).
                copy_tree(&self.tree, &src, true)?;
                self.settle(Some(&src))?;
                let mut c = self.zsync_cmd(&config);
                c.args(["checkin", "-m", "import"]).arg(&url).arg(&src);
                self.zsync_step("import", Some(&server), &mut c)?;
            }
            ImportMode::Emulated => {
                let mut co = self.zsync_cmd(&config);
                co.arg("checkout")
                    .arg(server.url(false, "/demo"))
                    .arg(&import);
                self.timed("zsync-import-checkout", &mut co)?;
                let demo = import.join("demo");
                let dst = demo.join("tree");
                let mut mkdir = self.zsync_cmd(&config);
                mkdir.arg("mkdir").arg(&dst);
                self.timed("zsync-import-mkdir", &mut mkdir)?;
                copy_tree(&self.tree, &dst, true)?;
                self.settle(Some(&dst))?;
                let reset = reset_hwm(server.pid);
                let mut add = self.zsync_cmd(&config);
                add.arg("add");
                for entry in fs::read_dir(&dst)? {
                    add.arg(entry?.path());
                }
                let a = self.timed("zsync-import-add", &mut add)?;
                let mut commit = self.zsync_cmd(&config);
                commit.args(["commit", "-m", "import"]).arg(&demo);
                let c = self.timed("zsync-import-commit", &mut commit)?;
                self.server_hwm_per_step &= reset;
                self.record(
                    "zsync",
                    "import",
                    Sample {
                        secs: (a.wall + c.wall).as_secs_f64(),
                        client_rss_kib: Some(a.max_rss_kib.max(c.max_rss_kib)),
                        server_rss_kib: proc_status_kib(server.pid, "VmHWM"),
                    },
                );
            }
        }
        self.cleanup(&import)?;
        let (wc1, wc2) = (dir.join("zsync-wc1"), dir.join("zsync-wc2"));
        // wc1, which status, edit and commit use, is checked out last, so it
        // is in the page cache as right after a checkout (the drop before the
        // second checkout evicts the first).
        for (step, target) in [("checkout", &wc2), ("checkout_2", &wc1)] {
            self.settle(None)?;
            let mut c = self.zsync_cmd(&config);
            c.arg("checkout").arg(&url).arg(target);
            self.zsync_step(step, Some(&server), &mut c)?;
        }
        // The checkout lands in TARGETDIR/<folder name>.
        let (wc1, wc2) = (wc1.join("tree"), wc2.join("tree"));
        settle_writes()?;
        for step in ["status_clean", "status_clean_2"] {
            let mut c = self.zsync_cmd(&config);
            c.arg("status").arg(&wc1);
            self.zsync_step(step, None, &mut c)?;
        }
        self.edit(&wc1)?;
        let mut c = self.zsync_cmd(&config);
        c.arg("status").arg(&wc1);
        self.zsync_step("status_10_modified", None, &mut c)?;
        let listed = fs::read_to_string(self.logs.join("zsync-status_10_modified.log"))?;
        let shown = listed.lines().filter(|l| l.starts_with('M')).count();
        if shown != self.edited.len() {
            bail!(
                "zsync status shows {shown} modified files, expected {}:\n{listed}",
                self.edited.len()
            );
        }
        let mut c = self.zsync_cmd(&config);
        c.args(["commit", "-m", "edit"]).arg(&wc1);
        self.zsync_step("commit_10", Some(&server), &mut c)?;
        for step in ["update_10", "update_noop"] {
            let mut c = self.zsync_cmd(&config);
            c.arg("update").arg(&wc2);
            self.zsync_step(step, Some(&server), &mut c)?;
        }
        self.check_edited(&wc2, "zsync")?;
        self.disk
            .entry("zsync")
            .or_default()
            .push(disk_usage(&wc1)?);
        drop(server);
        for name in ["zsync-wc1", "zsync-wc2", "zsyncd-data", "zsync-config"] {
            self.cleanup(&dir.join(name))?;
        }
        Ok(())
    }

    /// The update really brought the edits (a fast no-op would be no news).
    fn check_edited(&self, wc: &Path, tool: &str) -> Result<()> {
        for rel in &self.edited {
            let body = fs::read(wc.join(rel))?;
            if !body.ends_with(b"\nedit\n") {
                bail!("{tool} update did not bring the edit of {}", rel.display());
            }
        }
        Ok(())
    }

    // ---- svn --------------------------------------------------------------

    fn svn_cmd(&self, dir: &Path, sub: &str) -> Command {
        let mut c = Command::new("svn");
        c.arg(sub)
            .arg("--non-interactive")
            .arg("--config-dir")
            .arg(dir.join("svn-config"));
        c
    }

    fn svn_step(&mut self, step: &'static str, cmd: &mut Command) -> Result<()> {
        let m = self.timed(&format!("svn-{step}"), cmd)?;
        self.record(
            "svn",
            step,
            Sample {
                secs: m.wall.as_secs_f64(),
                client_rss_kib: Some(m.max_rss_kib),
                server_rss_kib: None,
            },
        );
        Ok(())
    }

    fn svn_run(&mut self, dir: &Path) -> Result<()> {
        let root = dir.join("svn");
        fs::create_dir_all(&root)?;
        let repo = root.join("repo");
        let mut create = Command::new("svnadmin");
        create.arg("create").arg(&repo);
        self.timed("svnadmin-create", &mut create)?;
        fs::write(
            repo.join("conf/svnserve.conf"),
            "[general]\nanon-access = write\n",
        )?;
        let port = free_port()?;
        let log = File::create(self.logs.join("svnserve.log"))?;
        let child = Command::new("svnserve")
            .args(["-d", "--foreground", "-r"])
            .arg(&root)
            .args(["--listen-host", "127.0.0.1", "--listen-port"])
            .arg(port.to_string())
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("cannot start svnserve")?;
        let guard = server::KillOnDrop(child);
        wait_for_port(port)?;
        let url = format!("svn://127.0.0.1:{port}/repo/tree");
        self.settle(Some(&self.tree))?;
        let mut c = self.svn_cmd(dir, "import");
        c.args(["-q", "-m", "import"]).arg(&self.tree).arg(&url);
        self.svn_step("import", &mut c)?;
        let (wc1, wc2) = (root.join("wc1"), root.join("wc2"));
        // wc1 last, as for zsync.
        for (step, target) in [("checkout", &wc2), ("checkout_2", &wc1)] {
            self.settle(None)?;
            let mut c = self.svn_cmd(dir, "checkout");
            c.arg("-q").arg(&url).arg(target);
            self.svn_step(step, &mut c)?;
        }
        settle_writes()?;
        for step in ["status_clean", "status_clean_2"] {
            let mut c = self.svn_cmd(dir, "status");
            c.arg(&wc1);
            self.svn_step(step, &mut c)?;
        }
        self.edit(&wc1)?;
        let mut c = self.svn_cmd(dir, "status");
        c.arg(&wc1);
        self.svn_step("status_10_modified", &mut c)?;
        let mut c = self.svn_cmd(dir, "commit");
        c.args(["-q", "-m", "edit"]).arg(&wc1);
        self.svn_step("commit_10", &mut c)?;
        for step in ["update_10", "update_noop"] {
            let mut c = self.svn_cmd(dir, "update");
            c.arg("-q").arg(&wc2);
            self.svn_step(step, &mut c)?;
        }
        self.check_edited(&wc2, "svn")?;
        self.disk.entry("svn").or_default().push(disk_usage(&wc1)?);
        drop(guard);
        self.cleanup(&root)?;
        Ok(())
    }

    // ---- git and floors ---------------------------------------------------

    fn git_cmd(&self) -> Command {
        let mut c = Command::new("git");
        c.arg("-C").arg(self.work.join("git")).args([
            "-c",
            "gc.auto=0",
            "-c",
            "maintenance.auto=false",
            "-c",
            "user.name=bench",
            "-c",
            "user.email=bench@localhost",
        ]);
        c
    }

    /// One git repository for all runs: `git add -A` + `git commit` of a
    /// copy of the tree, timed once as git's import.
    fn git_setup(&mut self) -> Result<()> {
        let dir = self.work.join("git");
        remove_tree(&dir)?;
        // Hard links (the edits below replace files rather than write
        // into them): no second copy of the data to write and delete.
        copy_tree(&self.tree, &dir, true)?;
        let mut init = self.git_cmd();
        init.args(["init", "-q"]);
        self.timed("git-init", &mut init)?;
        self.settle(Some(&dir))?;
        let mut add = self.git_cmd();
        add.args(["add", "-A"]);
        let a = self.timed("git-add", &mut add)?;
        let mut commit = self.git_cmd();
        commit.args(["commit", "-q", "-m", "import"]);
        let c = self.timed("git-commit", &mut commit)?;
        self.record(
            "git",
            "import",
            Sample {
                secs: (a.wall + c.wall).as_secs_f64(),
                client_rss_kib: Some(a.max_rss_kib.max(c.max_rss_kib)),
                server_rss_kib: None,
            },
        );
        // Refresh the index once so the first timed status is not the one
        // that rewrites it.
        let mut status = self.git_cmd();
        status.args(["status", "--porcelain"]);
        self.timed("git-status-refresh", &mut status)?;
        Ok(())
    }

    fn git_step(&mut self, step: &'static str) -> Result<()> {
        let mut c = self.git_cmd();
        c.args(["status", "--porcelain"]);
        let m = self.timed(&format!("git-{step}"), &mut c)?;
        self.record(
            "git",
            step,
            Sample {
                secs: m.wall.as_secs_f64(),
                client_rss_kib: Some(m.max_rss_kib),
                server_rss_kib: None,
            },
        );
        Ok(())
    }

    fn git_run(&mut self) -> Result<()> {
        let dir = self.work.join("git");
        self.git_step("status_clean")?;
        self.git_step("status_clean_2")?;
        // New files in place of the hard links, so the tree stays as it is.
        for rel in &self.edited {
            let (path, temp) = (dir.join(rel), dir.join(rel).with_extension("edit"));
            let mut body = fs::read(&path)?;
            body.extend_from_slice(b"edit\n");
            fs::write(&temp, body)?;
            fs::rename(&temp, &path)?;
        }
        self.git_step("status_10_modified")?;
        // Put the originals back for the next run, and let git see it.
        for rel in &self.edited {
            let path = dir.join(rel);
            fs::remove_file(&path)?;
            fs::hard_link(self.tree.join(rel), &path)?;
        }
        let mut c = self.git_cmd();
        c.args(["status", "--porcelain"]);
        self.timed("git-status-refresh", &mut c)?;
        Ok(())
    }

    fn floor_run(&mut self, dir: &Path) -> Result<()> {
        // `tar x` of the tree: what writing the files costs at least.
        let target = dir.join("tarx");
        fs::create_dir_all(&target)?;
        self.settle(None)?;
        let mut c = Command::new("tar");
        c.arg("xf").arg(&self.tarball).arg("-C").arg(&target);
        let m = self.timed("tar-x", &mut c)?;
        let sample = Sample {
            secs: m.wall.as_secs_f64(),
            client_rss_kib: Some(m.max_rss_kib),
            server_rss_kib: None,
        };
        self.record("floor", "checkout", sample);
        self.record("floor", "checkout_2", sample);
        self.cleanup(&target)?;
        // A stat walk of the tree (warm): what any status costs at least.
        stat_walk(&self.tree)?;
        for step in ["status_clean", "status_clean_2", "status_10_modified"] {
            let start = Instant::now();
            stat_walk(&self.tree)?;
            let secs = start.elapsed().as_secs_f64();
            self.record(
                "floor",
                step,
                Sample {
                    secs,
                    client_rss_kib: None,
                    server_rss_kib: None,
                },
            );
        }
        Ok(())
    }

    // ---- report -----------------------------------------------------------

    fn report(&self, stats: tree::TreeStats, tree_disk: u64) -> Result<Report> {
        let mut steps = Vec::new();
        for (step, label) in STEPS {
            let mut tools = BTreeMap::new();
            for tool in TOOLS {
                if let Some(samples) = self.samples.get(&(tool, step)) {
                    tools.insert(tool, summarize(samples));
                }
            }
            let ratio = |other: &str| {
                let z = tools.get("zsync")?.median_secs;
                let o = tools.get(other)?.median_secs;
                (o > 0.0).then(|| z / o)
            };
            steps.push(StepReport {
                step,
                label,
                floor_is: match step {
                    "checkout" | "checkout_2" => Some("tar x of the tree"),
                    s if s.starts_with("status") => Some("lstat walk of the tree"),
                    _ => None,
                },
                zsync_over_svn: ratio("svn"),
                zsync_over_floor: ratio("floor"),
                tools,
            });
        }
        let median_disk = |tool: &str| self.disk.get(tool).map(|v| median_u64(v));
        let nproc = std::thread::available_parallelism().map_or(0, |n| n.get());
        let cpu = fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|t| {
                t.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split_once(':'))
                    .map(|(_, v)| v.trim().to_owned())
            })
            .unwrap_or_default();
        let mem_kib = fs::read_to_string("/proc/meminfo").ok().and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        });
        Ok(Report {
            machine: Machine {
                nproc,
                cpu,
                mem_kib,
                kernel: fs::read_to_string("/proc/sys/kernel/osrelease")
                    .map(|s| s.trim().to_owned())
                    .unwrap_or_default(),
            },
            files: stats.files,
            bytes: stats.bytes,
            runs: self.args.runs,
            deletes: if self.trash.as_ref().is_some_and(|t| t.deleted_early) {
                "some trees deleted between steps (the disk was short of space): on ext4 without a journal, creating files within minutes of that is slower"
            } else {
                "trees deleted after the last step"
            },
            caches: if self.drop_caches {
                "cold checkouts: page cache dropped (after sync) before each checkout and tar x; import input read once after dropping (warm); status, commit, update warm"
            } else {
                "warm: page cache never dropped"
            },
            zsync_import: match self.mode {
                ImportMode::Checkin => "zsync checkin",
                ImportMode::Emulated => "zsync add + commit (no checkin in this build)",
            },
            zsync_auth: "one untimed `zsync login` per run; timed commands use the stored token",
            server_rss: if self.server_hwm_per_step {
                "VmHWM of zsyncd over the step (reset through /proc/PID/clear_refs before it)"
            } else {
                "VmHWM of zsyncd, highest so far in the run (could not reset it)"
            },
            git_import: "git add -A + git commit, once (not per run)",
            versions: Versions {
                zsync: tool_version(&self.zsync, &["--version"]),
                svn: self
                    .svn
                    .then(|| tool_version("svn", &["--version", "--quiet"]))
                    .flatten(),
                git: tool_version("git", &["--version"]),
                tar: tool_version("tar", &["--version"]),
            },
            steps,
            disk: Disk {
                tree_bytes: tree_disk,
                zsync_wc_bytes: median_disk("zsync"),
                svn_wc_bytes: median_disk("svn"),
            },
            total_secs: self.started.elapsed().as_secs_f64(),
        })
    }
}

#[derive(Serialize)]
struct Report {
    machine: Machine,
    files: usize,
    bytes: u64,
    runs: usize,
    caches: &'static str,
    deletes: &'static str,
    zsync_import: &'static str,
    zsync_auth: &'static str,
    server_rss: &'static str,
    git_import: &'static str,
    versions: Versions,
    steps: Vec<StepReport>,
    disk: Disk,
    total_secs: f64,
}

#[derive(Serialize)]
struct Machine {
    nproc: usize,
    cpu: String,
    mem_kib: Option<u64>,
    kernel: String,
}

#[derive(Serialize)]
struct Versions {
    zsync: Option<String>,
    svn: Option<String>,
    git: Option<String>,
    tar: Option<String>,
}

#[derive(Serialize)]
struct StepReport {
    step: &'static str,
    label: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    floor_is: Option<&'static str>,
    tools: BTreeMap<&'static str, ToolSummary>,
    zsync_over_svn: Option<f64>,
    zsync_over_floor: Option<f64>,
}

#[derive(Serialize)]
struct ToolSummary {
    median_secs: f64,
    samples_secs: Vec<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_peak_rss_kib: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    server_peak_rss_kib: Option<u64>,
}

#[derive(Serialize)]
struct Disk {
    tree_bytes: u64,
    zsync_wc_bytes: Option<u64>,
    svn_wc_bytes: Option<u64>,
}

fn summarize(samples: &[Sample]) -> ToolSummary {
    let secs: Vec<f64> = samples.iter().map(|s| s.secs).collect();
    ToolSummary {
        median_secs: median(&secs),
        samples_secs: secs,
        client_peak_rss_kib: samples.iter().filter_map(|s| s.client_rss_kib).max(),
        server_peak_rss_kib: samples.iter().filter_map(|s| s.server_rss_kib).max(),
    }
}

fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

fn median_u64(values: &[u64]) -> u64 {
    let mut v = values.to_vec();
    v.sort_unstable();
    v.get(v.len() / 2).copied().unwrap_or(0)
}

fn print_tables(r: &Report) {
    let secs = |s: &StepReport, tool: &str| {
        s.tools
            .get(tool)
            .map_or_else(|| "-".to_owned(), |t| format!("{:.3}", t.median_secs))
    };
    let ratio = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |x| format!("{x:.2}×"));
    println!();
    println!(
        "{} files, {:.1} MB, {} run(s), {} cores; medians in seconds; {}",
        r.files,
        r.bytes as f64 / 1e6,
        r.runs,
        r.machine.nproc,
        r.caches
    );
    if r.deletes.starts_with("some") {
        println!("note: {}", r.deletes);
    }
    println!();
    println!("| step | zsync | svn | git | floor | zsync/svn | zsync/floor |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for s in &r.steps {
        println!(
            "| {} | {} | {} | {} | {} | {} | {} |",
            s.label,
            secs(s, "zsync"),
            secs(s, "svn"),
            secs(s, "git"),
            secs(s, "floor"),
            ratio(s.zsync_over_svn),
            ratio(s.zsync_over_floor)
        );
    }
    let mb =
        |b: Option<u64>| b.map_or_else(|| "-".to_owned(), |b| format!("{:.0} MB", b as f64 / 1e6));
    let d = &r.disk;
    println!(
        "| working copy on disk | {} | {} | | {} (the tree) | {} | {} |",
        mb(d.zsync_wc_bytes),
        mb(d.svn_wc_bytes),
        mb(Some(d.tree_bytes)),
        ratio(
            d.zsync_wc_bytes
                .zip(d.svn_wc_bytes)
                .map(|(z, s)| z as f64 / s as f64)
        ),
        ratio(d.zsync_wc_bytes.map(|z| z as f64 / d.tree_bytes as f64)),
    );
    println!();
    println!("Floors: checkout = `tar x` of the tree; status = an lstat walk of the tree.");
    println!();
    println!("| step | zsync client | zsyncd | svn client | git |");
    println!("|---|---:|---:|---:|---:|");
    let mib = |s: &StepReport, tool: &str, server: bool| {
        s.tools
            .get(tool)
            .and_then(|t| {
                if server {
                    t.server_peak_rss_kib
                } else {
                    t.client_peak_rss_kib
                }
            })
            .map_or_else(|| "-".to_owned(), |k| format!("{:.1}", k as f64 / 1024.0))
    };
    for s in &r.steps {
        println!(
            "| {} | {} | {} | {} | {} |",
            s.label,
            mib(s, "zsync", false),
            mib(s, "zsync", true),
            mib(s, "svn", false),
            mib(s, "git", false)
        );
    }
    println!();
    println!(
        "Peak RSS in MiB (clients: wait4's ru_maxrss; zsyncd: {}).",
        r.server_rss
    );
}

/// zsync and zsyncd beside this executable: the same profile's build.
pub(crate) fn sibling(name: &str) -> Result<PathBuf> {
    let exe = std::env::current_exe().context("cannot locate this executable")?;
    let path = exe.with_file_name(name);
    if path.is_file() {
        return Ok(path);
    }
    bail!(
        "{} not found beside {}; build it first: cargo build --release -p zsync-bench -p zsync-cli -p zsyncd",
        name,
        exe.display()
    )
}

fn tool_version(program: impl AsRef<std::ffi::OsStr>, args: &[&str]) -> Option<String> {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .ok()?;
    out.status.success().then(|| {
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .next()
            .unwrap_or_default()
            .trim()
            .to_owned()
    })
}

fn have_svn() -> bool {
    ["svn", "svnserve", "svnadmin"]
        .iter()
        .all(|p| tool_version(p, &["--version", "--quiet"]).is_some())
}

fn zsync_has_checkin(zsync: &Path) -> bool {
    Command::new(zsync)
        .arg("help")
        .stdin(Stdio::null())
        .output()
        .is_ok_and(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .any(|l| l.trim_start().starts_with("checkin "))
        })
}

/// Copies the contents of `from` into `to` (made if missing) with `cp -a`,
/// or `cp -al` (hard links) when `link` (untimed setup).
fn copy_tree(from: &Path, to: &Path, link: bool) -> Result<()> {
    fs::create_dir_all(to)?;
    let status = Command::new("cp")
        .arg(if link { "-al" } else { "-a" })
        .arg(from.join("."))
        .arg(to)
        .status()
        .context("cannot run cp")?;
    if !status.success() {
        bail!("cp -a {} {} failed", from.display(), to.display());
    }
    Ok(())
}

fn free_port() -> Result<u16> {
    let l = TcpListener::bind("127.0.0.1:0").context("cannot find a free port")?;
    Ok(l.local_addr()?.port())
}

fn wait_for_port(port: u16) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    bail!("svnserve did not listen on port {port} within 10 s")
}

/// The run's work directory: `given` (created if missing), or a new
/// temporary one, returned too so that it lives as long as the run.
fn work_dir(given: Option<&Path>, prefix: &str) -> Result<(PathBuf, Option<tempfile::TempDir>)> {
    if let Some(w) = given {
        fs::create_dir_all(w).with_context(|| format!("cannot create {}", w.display()))?;
        return Ok((fs::canonicalize(w)?, None));
    }
    let temp = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir()
        .context("cannot create a temporary work directory")?;
    Ok((temp.path().to_path_buf(), Some(temp)))
}
