//! Runs the benchmark on a 200-file tree so it keeps working; the timings
//! themselves are not checked (they are noisy), only that every step ran.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

const STEPS: [&str; 9] = [
    "import",
    "checkout",
    "checkout_2",
    "status_clean",
    "status_clean_2",
    "status_10_modified",
    "commit_10",
    "update_10",
    "update_noop",
];

#[test]
fn bench_runs_at_200_files() {
    let bench = Path::new(env!("CARGO_BIN_EXE_zsync-bench"));
    // The bench runs the zsync and zsyncd of its own profile; `cargo test
    // --workspace` builds them, a lone `cargo test -p zsync-bench` may not.
    for name in ["zsync", "zsyncd"] {
        if !bench.with_file_name(name).is_file() {
            eprintln!(
                "skipped: {name} is not built beside {}; run `cargo build -p zsync-cli -p zsyncd` (or `cargo test --workspace`)",
                bench.display()
            );
            return;
        }
    }
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("results.json");
    let svn = Command::new("svn").arg("--version").output().is_ok();
    let mut cmd = Command::new(bench);
    cmd.args(["--files", "200", "--runs", "1", "--no-drop-caches"])
        .arg("--work")
        .arg(work.path().join("work"))
        .arg("--out")
        .arg(&out);
    if !svn {
        cmd.arg("--skip-svn");
    }
    let run = cmd.output().unwrap();
    assert!(
        run.status.success(),
        "zsync-bench failed:\n{}\n{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(stdout.contains("| step | zsync | svn | git | floor | zsync/svn | zsync/floor |"));

    let report: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(report["files"], 200);
    assert!(report["bytes"].as_u64().unwrap() > 0);
    assert!(report["machine"]["nproc"].as_u64().unwrap() > 0);
    let steps = report["steps"].as_array().unwrap();
    let tools: &[&str] = if svn { &["zsync", "svn"] } else { &["zsync"] };
    for name in STEPS {
        let step = steps
            .iter()
            .find(|s| s["step"] == name)
            .unwrap_or_else(|| panic!("no step {name} in {report:#}"));
        for tool in tools {
            let secs = step["tools"][tool]["median_secs"].as_f64();
            assert!(
                secs.is_some_and(|s| s > 0.0),
                "{tool} {name}: no positive time in {step:#}"
            );
            let rss = step["tools"][tool]["client_peak_rss_kib"].as_u64();
            assert!(rss.is_some_and(|k| k > 0), "{tool} {name}: no client RSS");
        }
    }
    let checkout = steps.iter().find(|s| s["step"] == "checkout").unwrap();
    assert!(
        checkout["tools"]["zsync"]["server_peak_rss_kib"]
            .as_u64()
            .unwrap()
            > 0
    );
    assert!(checkout["tools"]["floor"]["median_secs"].as_f64().unwrap() > 0.0);
    assert!(report["disk"]["zsync_wc_bytes"].as_u64().unwrap() > 0);
    if svn {
        assert!(report["disk"]["svn_wc_bytes"].as_u64().unwrap() > 0);
    }
}
