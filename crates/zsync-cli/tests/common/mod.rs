//! Test harness: the real `zsyncd` on 127.0.0.1:0 in a temp data dir, and
//! the real `zsync` run in temp directories with its own config dir.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

pub fn zsync_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_zsync"))
}

/// `zsyncd` lives in another package of the workspace, so cargo does not
/// hand us its path, nor rebuild it for `cargo test -p zsync-cli`: build it
/// once per test process (a no-op when it is up to date), then use the one
/// beside `zsync`. `ZSYNCD_BIN` names one built already (CI sets it: `cargo
/// test --workspace` builds zsyncd before any test runs, and a `cargo build
/// -p zsyncd` here would resolve features differently and rebuild it, and
/// its dependencies, inside the first test).
pub fn zsyncd_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("ZSYNCD_BIN") {
        return PathBuf::from(bin);
    }
    static BUILD: std::sync::Once = std::sync::Once::new();
    BUILD.call_once(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.args(["build", "--quiet", "-p", "zsyncd"]);
        if !cfg!(debug_assertions) {
            cmd.arg("--release");
        }
        let status = cmd.status().expect("run cargo build -p zsyncd");
        assert!(status.success(), "cargo build -p zsyncd failed");
    });
    zsync_bin().with_file_name(format!("zsyncd{}", std::env::consts::EXE_SUFFIX))
}

pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    pub data: tempfile::TempDir,
    /// With `--ssh`: the SSH port and the host key's SHA256 fingerprint.
    pub ssh: Option<(u16, String)>,
}

impl Server {
    /// `zsyncd demo` with a fresh store: user zsync/zsync and /demo.
    pub fn demo() -> Self {
        let data = tempfile::tempdir().unwrap();
        Self::start(data, "demo")
    }

    pub fn start(data: tempfile::TempDir, command: &str) -> Self {
        Self::start_with(data, command, &[])
    }

    /// `zsyncd demo` also serving SSH on a free loopback port.
    pub fn demo_ssh() -> Self {
        let data = tempfile::tempdir().unwrap();
        Self::start_with(data, "demo", &["--ssh", "127.0.0.1:0"])
    }

    pub fn start_with(data: tempfile::TempDir, command: &str, extra: &[&str]) -> Self {
        let mut child = Command::new(zsyncd_bin())
            .args([command, "--data"])
            .arg(data.path())
            .args(["--http", "127.0.0.1:0"])
            .args(extra)
            // Unless a test asks for SSH (--ssh wins over the variable),
            // demo servers leave port 2200 alone.
            .env("ZSYNCD_SSH", "off")
            .env("ZSYNCD_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start zsyncd");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let base = loop {
            let line = lines
                .next()
                .expect("zsyncd exited before listening")
                .unwrap();
            if let Some(url) = line.strip_prefix("zsyncd: listening on ") {
                break url.trim().to_owned();
            }
        };
        let mut ssh = None;
        if extra.contains(&"--ssh") {
            let mut port = None;
            while ssh.is_none() {
                let line = lines.next().expect("zsyncd exited early").unwrap();
                if let Some(addr) = line.strip_prefix("zsyncd: ssh listening on ") {
                    port = addr.trim().rsplit(':').next().map(|p| p.parse().unwrap());
                } else if let Some(fp) = line.strip_prefix("zsyncd: ssh host key ") {
                    ssh = Some((port.expect("ssh port first"), fp.trim().to_owned()));
                }
            }
        }
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Self {
            child,
            base,
            data,
            ssh,
        }
    }

    /// `http://zsync:zsync@127.0.0.1:PORT/PATH`
    pub fn url(&self, path: &str) -> String {
        self.url_as("zsync:zsync", path)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn url_as(&self, userinfo: &str, path: &str) -> String {
        let host = self.base.trim_start_matches("http://");
        format!("http://{userinfo}@{host}/{path}")
    }

    pub fn add_user(&self, name: &str, password: &str, role: &str) {
        let mut child = Command::new(zsyncd_bin())
            .args([
                "user",
                "add",
                name,
                "--password-stdin",
                "--role",
                role,
                "--data",
            ])
            .arg(self.data.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
        assert!(child.wait().unwrap().success(), "zsyncd user add failed");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A user's machine: a work directory and a config directory.
pub struct Client {
    pub dir: tempfile::TempDir,
    pub config: tempfile::TempDir,
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(out: Output) -> Self {
        Self {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    #[track_caller]
    pub fn ok(self) -> Self {
        assert_eq!(
            self.code, 0,
            "expected success\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    #[track_caller]
    pub fn fails(self, code: i32) -> Self {
        assert_eq!(
            self.code, code,
            "expected exit {code}\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

impl Client {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            config: tempfile::tempdir().unwrap(),
        }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Runs `zsync ARGS` in `cwd` (relative to the work directory).
    pub fn run_in(&self, cwd: &str, args: &[&str]) -> Run {
        let out = Command::new(zsync_bin())
            .args(args)
            .current_dir(self.path(cwd))
            .env("ZSYNC_CONFIG_DIR", self.config.path())
            .env_remove("EDITOR")
            .env_remove("VISUAL")
            .stdin(Stdio::null())
            .output()
            .expect("run zsync");
        Run::from(out)
    }

    pub fn run(&self, args: &[&str]) -> Run {
        self.run_in("", args)
    }

    /// Runs `zsync ARGS` in the work directory with extra environment
    /// variables (e.g. `EDITOR`).
    pub fn run_env(&self, env: &[(&str, &str)], args: &[&str]) -> Run {
        let out = Command::new(zsync_bin())
            .args(args)
            .current_dir(self.dir.path())
            .env("ZSYNC_CONFIG_DIR", self.config.path())
            .env_remove("EDITOR")
            .env_remove("VISUAL")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .output()
            .expect("run zsync");
        Run::from(out)
    }

    pub fn write(&self, rel: &str, text: &str) {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    pub fn write_bytes(&self, rel: &str, data: &[u8]) {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, data).unwrap();
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap()
    }

    pub fn exists(&self, rel: &str) -> bool {
        self.path(rel).exists()
    }
}

pub fn lines(text: &str) -> Vec<&str> {
    text.lines().collect()
}

pub fn contains_line(text: &str, line: &str) -> bool {
    text.lines().any(|l| l == line)
}

pub fn ls(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}
