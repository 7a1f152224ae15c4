//! Progress reports: the library's events (through a recording `Ui`,
//! against the real server) and the terminal bar of the real binary,
//! which only a terminal gets.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};

use common::{Client, Server, zsync_bin};
use zsync_client::ui::RecordingUi;
use zsync_client::{Context, Phase, ProgressEvent};

/// A step: its phase, its totals (objects, bytes) and the sums of its advances.
type Step = (Phase, (u64, u64), (u64, u64));

/// The steps of the events; panics if the events do not nest as start,
/// advance..., finish.
fn steps(events: &[ProgressEvent]) -> Vec<Step> {
    let mut out = Vec::new();
    let mut open: Option<Step> = None;
    for e in events {
        match (e, &mut open) {
            (
                ProgressEvent::Start {
                    phase,
                    objects,
                    bytes,
                },
                None,
            ) => open = Some((*phase, (*objects, *bytes), (0, 0))),
            (ProgressEvent::Advance { objects, bytes }, Some((_, _, done))) => {
                done.0 += objects;
                done.1 += bytes;
            }
            (ProgressEvent::Finish, Some(_)) => out.extend(open.take()),
            _ => panic!("events out of order: {events:?}"),
        }
    }
    assert!(open.is_none(), "a step never finished: {events:?}");
    out
}

/// Every file and folder below `dir` (outside `.zsync`), and the files' bytes.
fn tree_totals(dir: &Path) -> (u64, u64) {
    let mut objects = 1;
    let mut bytes = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        if entry.file_name() == ".zsync" {
            continue;
        }
        let meta = entry.metadata().unwrap();
        if meta.is_dir() {
            let (o, b) = tree_totals(&entry.path());
            objects += o;
            bytes += b;
        } else {
            objects += 1;
            bytes += meta.len();
        }
    }
    (objects, bytes)
}

fn take(ui: &RecordingUi) -> Vec<ProgressEvent> {
    std::mem::take(&mut *ui.progress.lock().unwrap())
}

#[test]
fn checkout_update_and_commit_report_what_they_move() {
    let server = Server::demo();
    let work = tempfile::tempdir().unwrap();
    let config = tempfile::tempdir().unwrap();
    let ui = RecordingUi::default();
    let ctx = Context::new(&ui, work.path().to_path_buf(), config.path().to_path_buf());

    zsync_client::checkout::checkout(&ctx, &server.url("demo"), None, None).unwrap();
    let wc = work.path().join("demo");
    let (objects, bytes) = tree_totals(&wc);
    let got = steps(&take(&ui));
    assert_eq!(got.len(), 2, "{got:?}");
    let (phase, total, done) = got[0];
    assert_eq!(phase, Phase::Receiving);
    assert_eq!(total, done, "received as announced");
    assert!(total.0 > 0 && total.1 > 0 && total.0 < objects, "{got:?}");
    // Writing counts every item written, folders too, and the files' bytes.
    assert_eq!(got[1], (Phase::Writing, (objects, bytes), (objects, bytes)));

    // A commit scans every item, then sends the one new body.
    std::fs::write(wc.join("new.txt"), "twelve bytes").unwrap();
    std::fs::write(wc.join("README.md"), "changed\n").unwrap();
    let target = |p: &Path| ctx.targets(&[p.to_path_buf()]).unwrap().remove(0);
    zsync_client::schedule::add(&ctx, &[wc.join("new.txt")], None, false).unwrap();
    take(&ui);
    zsync_client::commit::commit(&ctx, &target(&wc), "two").unwrap();
    let got = steps(&take(&ui));
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0].0, Phase::Scanning);
    assert_eq!(got[0].1.0, objects + 1, "{got:?}");
    assert_eq!(got[0].1, got[0].2);
    assert_eq!(got[1], (Phase::Sending, (2, 20), (2, 20)));

    // Another copy's update receives that body and looks at what changed.
    let other = work.path().join("other");
    std::fs::create_dir(&other).unwrap();
    let ui2 = RecordingUi::default();
    let ctx2 = Context::new(&ui2, other.clone(), config.path().to_path_buf());
    zsync_client::checkout::checkout(&ctx2, &server.url("demo"), None, None).unwrap();
    let other_wc = other.join("demo");
    std::fs::write(wc.join("new.txt"), "now thirteen!").unwrap();
    zsync_client::commit::commit(&ctx, &target(&wc), "three").unwrap();
    take(&ui2);
    let t2 = ctx2
        .targets(std::slice::from_ref(&other_wc))
        .unwrap()
        .remove(0);
    zsync_client::update::update(&ctx2, &t2, None).unwrap();
    let got = steps(&take(&ui2));
    assert_eq!(
        got,
        vec![
            (Phase::Receiving, (1, 13), (1, 13)),
            // The change feed names one path: only it is looked at.
            (Phase::Writing, (1, 0), (1, 0)),
        ]
    );
}

#[test]
fn export_and_import_report_bodies() {
    let server = Server::demo();
    let work = tempfile::tempdir().unwrap();
    let config = tempfile::tempdir().unwrap();
    let ui = RecordingUi::default();
    let ctx = Context::new(&ui, work.path().to_path_buf(), config.path().to_path_buf());
    let bundle = work.path().join("demo.zsb");
    let s = zsync_client::bundle::export(&ctx, &server.url("demo"), &bundle, false).unwrap();
    let got = steps(&take(&ui));
    let all = (s.bodies as u64, s.bytes);
    assert_eq!(got, vec![(Phase::Receiving, all, all)]);

    zsync_client::bundle::import(&ctx, &bundle, &server.url("copy"), false, "again").unwrap();
    let got = steps(&take(&ui));
    // Checked whole; nothing to send, as the server has every body.
    assert_eq!(got, vec![(Phase::Checking, all, all)]);
}

/// Checks out with stderr a pipe: no bar, no control characters.
#[test]
fn no_progress_when_stderr_is_not_a_terminal() {
    let server = Server::demo();
    let c = Client::new();
    let out = c.run(&["checkout", &server.url("demo"), "w"]).ok();
    assert_eq!(out.stderr, "");
    assert!(!out.stdout.contains('\r') && !out.stdout.contains('\x1b'));
}

/// Under a pseudo-terminal (util-linux `script`), the bar is drawn on
/// stderr: its phase and object count appear, and it is cleared at the end.
#[test]
fn a_terminal_gets_a_bar() {
    let server = Server::demo();
    let work = tempfile::tempdir().unwrap();
    let config = tempfile::tempdir().unwrap();
    let log = work.path().join("typescript");
    // stdout goes to /dev/null so that stderr alone draws on the terminal.
    let command = format!(
        "{} checkout {} w >/dev/null",
        zsync_bin().display(),
        server.url("demo")
    );
    let status = Command::new("script")
        .args(["-qec", &command])
        .arg(&log)
        .current_dir(work.path())
        .env("ZSYNC_CONFIG_DIR", config.path())
        .env("TERM", "xterm")
        .env("COLUMNS", "120")
        .stdin(Stdio::null())
        .status()
        .expect("run script (util-linux)");
    assert!(status.success());
    let drawn = String::from_utf8_lossy(&std::fs::read(&log).unwrap()).into_owned();
    assert!(drawn.contains("receiving"), "{drawn:?}");
    assert!(drawn.contains("writing"), "{drawn:?}");
    assert!(drawn.contains(" objects"), "{drawn:?}");
    // Cleared at the end: the line is erased after the last bar.
    let last_bar = drawn.rfind(" objects").unwrap();
    assert!(drawn[last_bar..].contains("\x1b[2K"), "{drawn:?}");
}

#[test]
fn checkin_reports_hashing_and_sending() {
    let server = Server::demo();
    let work = tempfile::tempdir().unwrap();
    let config = tempfile::tempdir().unwrap();
    let ui = RecordingUi::default();
    let ctx = Context::new(&ui, work.path().to_path_buf(), config.path().to_path_buf());
    let dir = work.path().join("tree");
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::write(dir.join("a.txt"), "abc").unwrap();
    std::fs::write(dir.join("sub/b.txt"), "hello").unwrap();
    zsync_client::checkin::checkin(&ctx, &server.url("tree"), Some(&dir), "new").unwrap();
    let got = steps(&take(&ui));
    assert_eq!(got.len(), 2, "{got:?}");
    // Every item is looked at (the bytes hashed are counted as they go),
    // then both bodies are sent.
    let (phase, total, done) = got[0];
    assert_eq!(phase, Phase::Scanning);
    assert_eq!((total.0, total.1), (done.0, 0), "{got:?}");
    assert!(done.0 >= 4 && done.1 == 8, "{got:?}");
    assert_eq!(got[1], (Phase::Sending, (2, 8), (2, 8)));
}
