//! Several `zsyncd` processes on one real PostgreSQL database: concurrent
//! commits through all of them stay consistent, a commit through one is
//! seen through another at once, killing one loses nothing, and a SQLite
//! store migrates with its history.

mod common;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write as _;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::{Client, Server, zsyncd_bin};
use serde_json::{Value, json};
use zsync_model::BodyHash;

const USER: &str = "zsync";
const PASSWORD: &str = "zsync";
const FILES: usize = 8;

/// `zsyncd ARGS --database URL`, which must succeed; stdin is `input`.
fn zsyncd(url: &str, args: &[&str], input: &str) -> String {
    let data = tempfile::tempdir().unwrap();
    let mut child = Command::new(zsyncd_bin())
        .args(args)
        .args(["--database", url, "--data"])
        .arg(data.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "zsyncd {args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn node(url: &str) -> Server {
    Server::start_with(tempfile::tempdir().unwrap(), "serve", &["--database", url])
}

fn http() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

fn api(base: &str, rest: &str) -> String {
    format!("{base}/api/v1{rest}")
}

/// A client that sends a bearer token (one argon2 check at login, not one
/// per request).
struct Api {
    http: reqwest::blocking::Client,
    token: String,
}

fn login(base: &str) -> Api {
    let http = http();
    let answer: Value = http
        .post(api(base, "/login"))
        .basic_auth(USER, Some(PASSWORD))
        .send()
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .unwrap();
    Api {
        http,
        token: answer["token"].as_str().unwrap().to_owned(),
    }
}

fn upload(c: &Api, base: &str, body: &str) -> reqwest::Result<BodyHash> {
    let hash = BodyHash::of(body.as_bytes());
    c.http
        .put(api(base, &format!("/bodies/{hash}")))
        .bearer_auth(&c.token)
        .body(body.to_owned())
        .send()?
        .error_for_status()?;
    Ok(hash)
}

fn commit(c: &Api, base: &str, message: &str, ops: Value) -> reqwest::Result<(u16, Value)> {
    let response = c
        .http
        .post(api(base, "/commit"))
        .bearer_auth(&c.token)
        .json(&json!({"message": message, "ops": ops}))
        .send()?;
    let status = response.status().as_u16();
    Ok((status, response.json()?))
}

fn get_json(c: &Api, url: &str) -> reqwest::Result<Value> {
    c.http
        .get(url)
        .bearer_auth(&c.token)
        .send()?
        .error_for_status()?
        .json()
}

/// The store's revisions 1..: the user's folder `s` with [`FILES`] documents.
fn seed(base: &str) {
    let http = login(base);
    let mut ops = vec![json!({"op": "add", "path": "s", "kind": "folder"})];
    for i in 0..FILES {
        let hash = upload(&http, base, &format!("seed {i}\n")).unwrap();
        ops.push(
            json!({"op": "add", "path": format!("s/f{i}.txt"), "kind": "document", "hash": hash}),
        );
    }
    let (status, body) = commit(&http, base, "seed", Value::Array(ops)).unwrap();
    assert_eq!(status, 200, "{body}");
}

/// What one worker saw.
#[derive(Default, Debug)]
struct Tally {
    attempts: u64,
    /// (rev, path, body hash) of each commit the server confirmed.
    committed: Vec<(u64, String, String)>,
    /// Refused as stale, with the stale path listed.
    stale: u64,
    /// (path, body hash) of commits whose answer never came (the node
    /// died): each must be in the history completely or not at all.
    unknown: Vec<(String, String)>,
}

fn worker(id: usize, nodes: Vec<String>, first: usize, stop: Arc<AtomicBool>) -> Tally {
    // Tokens live in the database, so one works through every node.
    let http = login(&nodes[first % nodes.len()]);
    let mut tally = Tally::default();
    let mut at = first;
    let mut k = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let base = &nodes[at % nodes.len()];
        // Update: the folder's manifest (oid and base revision of each file).
        let manifest = match get_json(&http, &api(base, "/tree/s")) {
            Ok(m) => m,
            Err(_) => {
                // The node is gone: go on through the next one.
                at += 1;
                continue;
            }
        };
        let i = (id * 7 + k as usize) % FILES;
        k += 1;
        let path = format!("s/f{i}.txt");
        let entry = manifest["entries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["path"] == format!("f{i}.txt"))
            .unwrap()
            .clone();
        // Edit and commit.
        let text = format!("worker {id} edit {k}\n");
        let Ok(hash) = upload(&http, base, &text) else {
            at += 1;
            continue;
        };
        tally.attempts += 1;
        let op = json!([{
            "op": "modify", "path": path, "oid": entry["oid"],
            "base_rev": entry["rev"], "hash": hash,
        }]);
        match commit(&http, base, &format!("w{id} k{k}"), op) {
            Ok((200, body)) => {
                tally
                    .committed
                    .push((body["rev"].as_u64().unwrap(), path, hash.to_hex()))
            }
            Ok((409, body)) => {
                assert_eq!(body["code"], "stale", "{body}");
                let paths: Vec<&str> = body["paths"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|p| p["path"].as_str().unwrap())
                    .collect();
                assert_eq!(paths, [path.as_str()], "{body}");
                tally.stale += 1;
            }
            Ok((status, body)) => panic!("worker {id}: commit answered {status}: {body}"),
            Err(_) => {
                tally.unknown.push((path, hash.to_hex()));
                at += 1;
            }
        }
    }
    tally
}

/// Runs `workers` workers spread over `nodes` for `secs`, killing the
/// last node halfway if `kill_one`; returns the tallies and commits/s.
fn load(
    servers: &mut [Option<Server>],
    workers: usize,
    secs: u64,
    kill_one: bool,
) -> (Vec<Tally>, f64) {
    let bases: Vec<String> = servers
        .iter()
        .map(|s| s.as_ref().unwrap().base.clone())
        .collect();
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let handles: Vec<_> = (0..workers)
        .map(|id| {
            let (bases, stop) = (bases.clone(), stop.clone());
            std::thread::spawn(move || worker(id, bases, id, stop))
        })
        .collect();
    if kill_one {
        std::thread::sleep(Duration::from_secs(secs / 2));
        // Killed (SIGKILL) with commits in flight.
        servers.last_mut().unwrap().take();
        std::thread::sleep(Duration::from_secs(secs - secs / 2));
    } else {
        std::thread::sleep(Duration::from_secs(secs));
    }
    stop.store(true, Ordering::Relaxed);
    let tallies: Vec<Tally> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let elapsed = started.elapsed().as_secs_f64();
    let committed: usize = tallies.iter().map(|t| t.committed.len()).sum();
    (tallies, committed as f64 / elapsed)
}

#[test]
fn three_nodes_32_workers_one_database() {
    let url = zsync_pgtest::fresh_database();
    zsyncd(
        &url,
        &["user", "add", USER, "--password-stdin", "--role", "Manager"],
        "zsync\n",
    );
    let mut servers: Vec<Option<Server>> = (0..3).map(|_| Some(node(&url))).collect();
    let base = |i: usize, servers: &[Option<Server>]| servers[i].as_ref().unwrap().base.clone();
    seed(&base(0, &servers));
    let http = login(&base(1, &servers));

    // A commit through node 1 is seen through node 3's change feed (a
    // long poll woken by NOTIFY) within a second.
    let node3 = base(2, &servers);
    let feed = std::thread::spawn(move || {
        let answer = get_json(&login(&node3), &api(&node3, "/changes/s?since=1&wait=20")).unwrap();
        (answer, Instant::now())
    });
    std::thread::sleep(Duration::from_millis(300));
    let manifest = get_json(&http, &api(&base(0, &servers), "/tree/s")).unwrap();
    let f0 = &manifest["entries"][1];
    assert_eq!(f0["path"], "f0.txt");
    let hash = upload(&http, &base(0, &servers), "first edit\n").unwrap();
    let (status, body) = commit(
        &http,
        &base(0, &servers),
        "through node 1",
        json!([{"op": "modify", "path": "s/f0.txt", "oid": f0["oid"], "base_rev": f0["rev"], "hash": hash}]),
    )
    .unwrap();
    assert_eq!(status, 200, "{body}");
    let committed_at = Instant::now();
    let (answer, seen_at) = feed.join().unwrap();
    let delay = seen_at.saturating_duration_since(committed_at);
    assert!(delay < Duration::from_secs(1), "seen after {delay:?}");
    assert_eq!(answer["head"], 2, "{answer}");
    assert_eq!(answer["revisions"][0]["changes"][0]["path"], "s/f0.txt");

    // 32 workers over 3 nodes; the third is killed halfway.
    let (tallies, rate) = load(&mut servers, 32, 12, true);
    eprintln!("3 nodes, 32 workers: {rate:.1} commits/s");
    let survivor = base(0, &servers);

    // Every confirmed commit is in the history exactly once, at its
    // revision, with its path.
    let log = get_json(&http, &api(&survivor, "/log/s")).unwrap();
    let log = log.as_array().unwrap();
    let mut by_rev: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    for entry in log {
        let paths = entry["changes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["path"].as_str().unwrap().to_owned())
            .collect();
        assert!(
            by_rev
                .insert(entry["rev"].as_u64().unwrap(), paths)
                .is_none(),
            "revision listed twice"
        );
    }
    let mut confirmed = HashSet::new();
    let mut attempts = 0;
    let mut outcomes = 0;
    for t in &tallies {
        attempts += t.attempts;
        outcomes += t.committed.len() as u64 + t.stale + t.unknown.len() as u64;
        for (rev, path, _) in &t.committed {
            assert!(confirmed.insert(*rev), "revision {rev} confirmed twice");
            assert_eq!(by_rev.get(rev), Some(&vec![path.clone()]), "revision {rev}");
        }
    }
    // Each worker's counters add up: every attempt has one outcome.
    assert_eq!(attempts, outcomes);
    let stale: u64 = tallies.iter().map(|t| t.stale).sum();
    assert!(confirmed.len() > 32, "only {} commits", confirmed.len());
    assert!(stale > 0, "overlapping edits never collided");

    // Revisions are contiguous; those not confirmed to anyone are the
    // commits whose node died before answering, each one whole.
    let head = *by_rev.keys().last().unwrap();
    assert_eq!(by_rev.len() as u64, head, "revisions 1..={head}");
    let unknown: Vec<&(String, String)> = tallies.iter().flat_map(|t| &t.unknown).collect();
    let unconfirmed: Vec<u64> = (3..=head).filter(|r| !confirmed.contains(r)).collect();
    assert!(
        unconfirmed.len() <= unknown.len(),
        "revisions {unconfirmed:?} were committed but no worker lost an answer"
    );

    // No update was lost: each file holds the body of its newest revision.
    let manifest = get_json(&http, &api(&survivor, "/tree/s")).unwrap();
    let mut newest: HashMap<String, (u64, String)> = HashMap::new();
    for (rev, path, hash) in tallies.iter().flat_map(|t| &t.committed) {
        let e = newest.entry(path.clone()).or_insert((0, String::new()));
        if *rev > e.0 {
            *e = (*rev, hash.clone());
        }
    }
    for e in manifest["entries"].as_array().unwrap().iter().skip(1) {
        let path = format!("s/{}", e["path"].as_str().unwrap());
        let rev = e["rev"].as_u64().unwrap();
        match newest.get(&path) {
            Some((r, h)) if *r == rev => assert_eq!(e["hash"].as_str(), Some(h.as_str())),
            // Changed last by a commit whose answer was lost.
            _ => assert!(
                unknown
                    .iter()
                    .any(|(p, h)| *p == path && e["hash"].as_str() == Some(h.as_str())),
                "{path} at r{rev} is no confirmed or in-flight commit"
            ),
        }
    }

    let check = zsyncd(&url, &["check"], "");
    assert!(check.contains("store is sound"), "{check}");
}

/// Every file below `dir` but the working copy's own `.zsync`, with its
/// bytes.
fn tree(dir: &std::path::Path) -> BTreeMap<String, String> {
    let mut found = BTreeMap::new();
    let mut todo = vec![dir.to_owned()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
            if e.file_name() == ".zsync" {
                continue;
            }
            if p.is_dir() {
                todo.push(p);
            } else {
                found.insert(rel, BodyHash::of(&std::fs::read(&p).unwrap()).to_hex());
            }
        }
    }
    assert!(found.len() > 2, "{:?}", found.keys());
    found
}

/// A SQLite store with history, migrated, serves the same checkout and log.
#[test]
fn migrated_store_serves_the_same_checkout_and_log() {
    let sqlite = Server::demo();
    let client = Client::new();
    client.run(&["checkout", &sqlite.url("demo"), "a"]).ok();
    client.write("a/demo/new.txt", "new\n");
    client.run(&["add", "a/demo/new.txt"]).ok();
    client.run(&["commit", "-m", "second", "a"]).ok();
    client.write("a/demo/new.txt", "changed\n");
    client.run(&["commit", "-m", "third", "a"]).ok();
    client.run(&["rm", "a/demo/new.txt"]).ok();
    client.run(&["commit", "-m", "fourth", "a"]).ok();
    client.run(&["lock", "-m", "kept", "a/demo/notes.txt"]).ok();
    // Copied while the SQLite server runs (WAL readers see one snapshot).
    let data = sqlite.data.path().to_owned();
    let log_before = client.run(&["log", "-v", "a/demo"]).ok().stdout;
    assert!(log_before.contains("fourth"), "{log_before}");
    let url = zsync_pgtest::fresh_database();
    let out = Command::new(zsyncd_bin())
        .args(["migrate-store", "--from"])
        .arg(&data)
        .args(["--to", &url])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("verified"));
    // Migrating again would mix two stores: refused, nothing changed.
    let again = Command::new(zsyncd_bin())
        .args(["migrate-store", "--from"])
        .arg(&data)
        .args(["--to", &url])
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("nothing was copied"));

    drop(sqlite);
    let pg = node(&url);
    client.run(&["checkout", &pg.url("demo"), "b"]).ok();
    assert_eq!(tree(&client.path("a")), tree(&client.path("b")));
    let log_after = client.run(&["log", "-v", "b/demo"]).ok().stdout;
    assert_eq!(log_before, log_after);
    // Locks are copied too: the lock taken before still holds.
    let locks = client.run(&["locks", "b"]).ok().stdout;
    assert!(
        locks.starts_with("b/demo/notes.txt  zsync  ") && locks.ends_with("  kept\n"),
        "{locks}"
    );
}

/// The benchmark of docs/scale-out.md: commits per second through 1 and
/// through 3 nodes, 32 workers each (run with `--ignored --nocapture`).
#[test]
#[ignore = "a benchmark; run it with --ignored --nocapture"]
fn commit_rate_with_1_and_3_nodes() {
    for nodes in [1, 3] {
        let url = zsync_pgtest::fresh_database();
        zsyncd(
            &url,
            &["user", "add", USER, "--password-stdin", "--role", "Manager"],
            "zsync\n",
        );
        let mut servers: Vec<Option<Server>> = (0..nodes).map(|_| Some(node(&url))).collect();
        seed(&servers[0].as_ref().unwrap().base);
        let (tallies, rate) = load(&mut servers, 32, 15, false);
        let stale: u64 = tallies.iter().map(|t| t.stale).sum();
        println!("{nodes} node(s), 32 workers: {rate:.1} commits/s ({stale} refused as stale)");
        assert!(rate > 0.0);
    }
}
