//! The example server refuses broken templates on commit, with every
//! problem's path, line and column, through the real `zsync` client.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn zsync_bin() -> PathBuf {
    // The client lives in another package: build it, then use it from the
    // same target directory as this test's server binary.
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "--quiet", "-p", "zsync-cli"])
        .status()
        .unwrap();
    assert!(status.success());
    Path::new(env!("CARGO_BIN_EXE_zsyncd-template")).with_file_name("zsync")
}

fn zsync(dir: &Path, config: &Path, args: &[&str]) -> Output {
    Command::new(zsync_bin())
        .args(args)
        .current_dir(dir)
        .env("ZSYNC_CONFIG_DIR", config)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn broken_templates_are_refused_with_their_positions() {
    let data = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_zsyncd-template"))
        .args(["--user", "zsync:zsync", "--http", "127.0.0.1:0", "--data"])
        .arg(data.path())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let line = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .next()
        .unwrap()
        .unwrap();
    let _server = Server(child);
    let base = line
        .strip_prefix("zsyncd: listening on http://")
        .unwrap()
        .to_owned();
    let work = tempfile::tempdir().unwrap();
    let config = tempfile::tempdir().unwrap();
    let w = work.path();
    std::fs::create_dir(w.join("site")).unwrap();
    std::fs::write(w.join("site/readme.txt"), "site\n").unwrap();
    let url = format!("http://zsync:zsync@{base}/site");
    let out = zsync(w, config.path(), &["checkin", "-m", "site", &url, "site"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    std::fs::write(w.join("site/good.tmpl"), "Hello {{ name }}!\n").unwrap();
    std::fs::write(w.join("site/bad.tmpl"), "line one\nHello {{ name \n").unwrap();
    std::fs::write(w.join("site/worse.tmpl"), "{% if x %}\nno end\n").unwrap();
    for f in ["good.tmpl", "bad.tmpl", "worse.tmpl"] {
        let out = zsync(
            w,
            config.path(),
            &["add", "-t", "template", &format!("site/{f}")],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out = zsync(w, config.path(), &["commit", "-m", "templates", "site"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("2 problem(s)"), "{stderr}");
    assert!(stderr.contains("  site/bad.tmpl:2:"), "{stderr}");
    assert!(stderr.contains("  site/worse.tmpl:"), "{stderr}");
    assert!(!stderr.contains("good.tmpl"), "{stderr}");

    // Nothing was committed; fixed templates go in.
    std::fs::write(w.join("site/bad.tmpl"), "line one\nHello {{ name }}\n").unwrap();
    std::fs::write(w.join("site/worse.tmpl"), "{% if x %}\nend\n{% endif %}\n").unwrap();
    let out = zsync(w, config.path(), &["commit", "-m", "templates", "site"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
