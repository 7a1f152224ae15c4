//! Runs the benchmark's modes small so they keep working: the comparison
//! at 200 files, the load test with 4 clients for a few seconds, the big
//! file at 8 MiB. Timings are not checked (they are noisy), only that every
//! step ran and reported.

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

/// The bench runs the zsync and zsyncd of its own profile, which cargo
/// does not build for this package's tests: build them once (a no-op when
/// up to date), so the tests never skip.
fn bench() -> &'static Path {
    static BUILD: std::sync::Once = std::sync::Once::new();
    BUILD.call_once(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.args(["build", "--quiet", "-p", "zsync-cli", "-p", "zsyncd"]);
        if !cfg!(debug_assertions) {
            cmd.arg("--release");
        }
        assert!(cmd.status().unwrap().success(), "cargo build failed");
    });
    Path::new(env!("CARGO_BIN_EXE_zsync-bench"))
}

#[test]
fn bench_runs_at_200_files() {
    let bench = bench();
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
    // Every tree waited in the trash until the end, and is gone now.
    assert_eq!(report["deletes"], "trees deleted after the last step");
    assert!(!work.path().join("work/trash").exists());
    assert!(!work.path().join("work/run").exists());
    if svn {
        assert!(report["disk"]["svn_wc_bytes"].as_u64().unwrap() > 0);
    }
}

/// Four clients for a few seconds: every operation ran, none failed, and
/// the numbers the table shows are in the JSON.
#[test]
fn load_runs_with_4_clients() {
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("load.json");
    let run = Command::new(bench())
        .args(["load", "--clients", "4", "--seconds", "4", "--files", "20"])
        .args(["--checkout-every", "2"])
        .arg("--work")
        .arg(work.path().join("work"))
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "zsync-bench load failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(stdout.contains("| operation | count | per second | p50 ms | p99 ms | max ms |"));
    let report: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(report["clients"], 4);
    assert_eq!(report["errors"], 0, "{report:#}");
    assert!(report["commits"].as_u64().unwrap() > 0, "{report:#}");
    for op in ["checkout", "commit", "update"] {
        let o = report["ops"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["op"] == op)
            .unwrap_or_else(|| panic!("no {op} in {report:#}"));
        assert!(o["count"].as_u64().unwrap() > 0, "{op}: {o}");
        let (p50, p99) = (o["p50_ms"].as_f64().unwrap(), o["p99_ms"].as_f64().unwrap());
        assert!(p50 > 0.0 && p99 >= p50, "{op}: {o}");
    }
    assert!(report["server_peak_rss_kib"][0].as_u64().unwrap() > 0);
}

/// A small big file: the mode runs end to end and reports every step.
/// (The memory bound itself is checked by zsync-cli's big_body test.)
#[test]
fn bigfile_runs_at_8_mib() {
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("bigfile.json");
    let run = Command::new(bench())
        .args(["bigfile", "--mib", "8"])
        .arg("--work")
        .arg(work.path().join("work"))
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "zsync-bench bigfile failed:\n{}\n{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    let report: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(report["file_bytes"], 8 << 20);
    assert_eq!(report["within_limit"], true);
    let steps: Vec<&str> = report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"].as_str().unwrap())
        .collect();
    assert_eq!(
        steps,
        ["checkin", "checkout", "checkout2", "commit", "update"]
    );
}
