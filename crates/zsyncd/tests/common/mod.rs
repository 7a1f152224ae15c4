//! Running the real `zsyncd` binary against a temporary data directory.

#![allow(dead_code)] // Each test file uses a different part of this.

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub const LISTENING: &str = "zsyncd: listening on ";

/// A `zsyncd` command with a clean environment for its settings.
pub fn zsyncd(data: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_zsyncd"));
    cmd.arg("--data")
        .arg(data)
        .env_remove("ZSYNCD_DATA")
        .env_remove("ZSYNCD_HTTP")
        .env_remove("ZSYNCD_LOG")
        .env_remove("RUST_LOG");
    cmd
}

/// Runs `zsyncd ARGS`, feeding `stdin`.
pub fn run(data: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = zsyncd(data)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// A running server, killed when dropped.
pub struct Server {
    child: Child,
    /// `http://IP:PORT`, from the listening line.
    pub url: String,
    /// Every stdout line up to and including the listening line, and the
    /// lines that followed within a moment.
    pub stdout: Vec<String>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Starts `zsyncd COMMAND --http 127.0.0.1:0` and waits for it to listen.
    pub fn start(data: &Path, command: &str) -> Server {
        let child = zsyncd(data)
            .args([command, "--http", "127.0.0.1:0"])
            .env("ZSYNCD_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut server = Server {
            child,
            url: String::new(),
            stdout: Vec::new(),
        };
        let stdout = server.child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        loop {
            let line = rx
                .recv_timeout(Duration::from_secs(60))
                .expect("zsyncd did not print its listening line");
            server.stdout.push(line.clone());
            if let Some(url) = line.strip_prefix(LISTENING) {
                server.url = url.to_owned();
                break;
            }
        }
        // The lines printed together with the listening line.
        while let Ok(line) = rx.recv_timeout(Duration::from_millis(300)) {
            server.stdout.push(line);
        }
        server
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the process to exit by itself.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = std::time::Instant::now() + timeout;
        while std::time::Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    pub fn get(&self, route: &str, user: &str, password: &str) -> reqwest::blocking::Response {
        reqwest::blocking::Client::new()
            .get(format!("{}/api/v1{route}", self.url))
            .basic_auth(user, Some(password))
            .send()
            .unwrap()
    }
}
