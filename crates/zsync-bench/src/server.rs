//! The servers the benchmark starts: zsyncd on a fresh store (or a shared
//! PostgreSQL database), stopped on drop.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use anyhow::{Context as _, Result, bail};

pub struct KillOnDrop(pub Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A zsyncd serving HTTP on a free loopback port, stopped on drop.
pub struct Server {
    _child: KillOnDrop,
    pub pid: u32,
    base: String,
    user: &'static str,
    password: &'static str,
}

impl Server {
    /// `zsyncd demo` (user zsync/zsync, Manager, and /demo) on the store in
    /// `data`, or in `database` when given; its stderr goes to `log`.
    pub fn start(zsyncd: &Path, data: &Path, database: Option<&str>, log: &Path) -> Result<Server> {
        Self::spawn(zsyncd, "demo", data, database, log)
    }

    /// A further node (`zsyncd serve`) on the PostgreSQL `database` a
    /// [`Server::start`] prepared.
    pub fn node(zsyncd: &Path, data: &Path, database: &str, log: &Path) -> Result<Server> {
        Self::spawn(zsyncd, "serve", data, Some(database), log)
    }

    fn spawn(
        zsyncd: &Path,
        sub: &str,
        data: &Path,
        database: Option<&str>,
        log: &Path,
    ) -> Result<Server> {
        let (user, password) = ("zsync", "zsync");
        let err = File::create(log).with_context(|| format!("cannot create {}", log.display()))?;
        let mut cmd = Command::new(zsyncd);
        cmd.arg(sub)
            .arg("--data")
            .arg(data)
            .args(["--http", "127.0.0.1:0", "--ssh", "off"]);
        if let Some(url) = database {
            cmd.args(["--database", url]);
        }
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(err)
            .spawn()
            .context("cannot start zsyncd")?;
        let pid = child.id();
        let Some(stdout) = child.stdout.take() else {
            bail!("zsyncd's stdout is not a pipe");
        };
        let child = KillOnDrop(child);
        let mut lines = BufReader::new(stdout);
        let mut line = String::new();
        let base = loop {
            line.clear();
            if lines.read_line(&mut line)? == 0 {
                let text = std::fs::read_to_string(log).unwrap_or_default();
                bail!("zsyncd exited before listening:\n{text}");
            }
            if let Some((_, url)) = line.trim().split_once("listening on ") {
                break url.trim_end_matches('/').to_owned();
            }
        };
        // Keep reading so zsyncd never blocks on a full stdout pipe.
        std::thread::spawn(move || {
            let mut sink = String::new();
            while lines.read_line(&mut sink).is_ok_and(|n| n > 0) {
                sink.clear();
            }
        });
        Ok(Server {
            _child: child,
            pid,
            base,
            user,
            password,
        })
    }

    /// The URL of `path`, with the password (for `login`) or without.
    pub fn url(&self, with_password: bool, path: &str) -> String {
        let (scheme, host) = self
            .base
            .split_once("://")
            .unwrap_or(("http", self.base.as_str()));
        let who = if with_password {
            format!("{}:{}", self.user, self.password)
        } else {
            self.user.to_owned()
        };
        format!("{scheme}://{who}@{host}{path}")
    }
}
