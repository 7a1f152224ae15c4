//! The HTTP API end to end: the real router on a loopback port, a SQLite
//! store in a temporary directory, and reqwest as the client.

use std::io::Read as _;

use reqwest::StatusCode;
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::sync::oneshot;
use zsync_format::archive::{self, ArchiveReader, Header};
use zsync_format::batch;
use zsync_format::{
    API_PREFIX, ApiError, CommitResponse, HashList, LogEntry, LoginResponse, Manifest,
};
use zsync_model::{BodyHash, Role};
use zsync_server::{ServerConfig, ServerState, hash_password};
use zsync_store::{SqlStore, Store, UserRecord};

const EDITOR: (&str, &str) = ("ed", "ed-secret");
const READER: (&str, &str) = ("rita", "rita-secret");
const DISABLED: (&str, &str) = ("dan", "dan-secret");

struct TestServer {
    base: String,
    http: reqwest::Client,
    store: SqlStore,
    stop: Option<oneshot::Sender<()>>,
    _dir: TempDir,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn start() -> TestServer {
    start_with(ServerConfig::default()).await
}

async fn start_with(config: ServerConfig) -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    let store = SqlStore::open(dir.path()).await.unwrap();
    for ((name, password), role, disabled) in [
        (EDITOR, Role::Editor, false),
        (READER, Role::Reader, false),
        (DISABLED, Role::Editor, true),
    ] {
        store
            .add_user(&UserRecord {
                name: name.into(),
                password_hash: hash_password(password).unwrap(),
                role: Some(role),
                disabled,
            })
            .await
            .unwrap();
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}{API_PREFIX}", listener.local_addr().unwrap());
    let (stop, stopped) = oneshot::channel::<()>();
    let state = ServerState::new(store.clone(), config);
    tokio::spawn(zsync_server::serve(listener, state, async {
        let _ = stopped.await;
    }));
    TestServer {
        base,
        http: reqwest::Client::new(),
        store,
        stop: Some(stop),
        _dir: dir,
    }
}

impl TestServer {
    fn get(&self, route: &str, (user, password): (&str, &str)) -> reqwest::RequestBuilder {
        self.http
            .get(format!("{}{route}", self.base))
            .basic_auth(user, Some(password))
    }

    fn post(&self, route: &str, (user, password): (&str, &str)) -> reqwest::RequestBuilder {
        self.http
            .post(format!("{}{route}", self.base))
            .basic_auth(user, Some(password))
    }

    async fn upload(&self, body: &[u8]) -> BodyHash {
        let hash = BodyHash::of(body);
        let response = self
            .http
            .put(format!("{}/bodies/{hash}", self.base))
            .basic_auth(EDITOR.0, Some(EDITOR.1))
            .body(body.to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        hash
    }

    async fn commit(&self, request: Value) -> reqwest::Response {
        self.post("/commit", EDITOR)
            .json(&request)
            .send()
            .await
            .unwrap()
    }

    async fn committed(&self, request: Value) -> CommitResponse {
        let response = self.commit(request).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    async fn tree(&self, path: &str) -> Manifest {
        let response = self
            .get(&format!("/tree/{path}"), READER)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }
}

/// The JSON error of a failed response, after checking its status.
async fn api_error(response: reqwest::Response, status: StatusCode) -> ApiError {
    assert_eq!(response.status(), status);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    response.json().await.unwrap()
}

/// A folder `docs` holding `a.txt` and `b.txt` and `copy.txt` (the same
/// body as `a.txt`).
async fn docs_folder(server: &TestServer) -> (CommitResponse, BodyHash, BodyHash) {
    let a = server.upload(b"alpha\n").await;
    let b = server.upload(b"bravo\n").await;
    let response = server
        .committed(json!({"message": "Add docs", "ops": [
            {"op": "add", "path": "docs", "kind": "folder"},
            {"op": "add", "path": "docs/a.txt", "kind": "document", "hash": a,
             "props": {"content_type": "text/plain", "title": "A"}},
            {"op": "add", "path": "docs/b.txt", "kind": "document", "hash": b},
            {"op": "add", "path": "docs/copy.txt", "kind": "document", "hash": a},
        ]}))
        .await;
    (response, a, b)
}

fn oid_of(response: &CommitResponse, path: &str) -> String {
    response
        .objects
        .iter()
        .find(|o| o.path.as_str() == path)
        .unwrap()
        .oid
        .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn authentication_is_required_and_failures_look_alike() {
    let server = start().await;

    let response = server
        .http
        .get(format!("{}/tree/", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()["www-authenticate"],
        "Basic realm=\"zsync\""
    );
    let error = api_error(response, StatusCode::UNAUTHORIZED).await;
    assert_eq!(error.code, "unauthorized");

    for (user, password) in [
        (EDITOR.0, "wrong"),
        ("nobody", "whatever"),
        (DISABLED.0, DISABLED.1),
    ] {
        let response = server.get("/tree/", (user, password)).send().await.unwrap();
        assert!(response.headers().contains_key("www-authenticate"));
        let error = api_error(response, StatusCode::UNAUTHORIZED).await;
        assert_eq!(error.code, "unauthorized");
        assert_eq!(error.message, format!("authentication failed for {user}"));
    }

    let response = server.get("/tree/", EDITOR).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    let response = server
        .http
        .get(format!("{}/tree/", server.base))
        .bearer_auth("not-a-token")
        .send()
        .await
        .unwrap();
    api_error(response, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reader_may_read_but_not_commit_or_upload() {
    let server = start().await;
    let response = server
        .post("/commit", READER)
        .json(&json!({"message": "x", "ops": [{"op": "add", "path": "f", "kind": "folder"}]}))
        .send()
        .await
        .unwrap();
    let error = api_error(response, StatusCode::FORBIDDEN).await;
    assert_eq!(error.code, "forbidden");
    assert_eq!(
        error.message,
        "rita may not change 1 of the path(s); nothing was changed"
    );
    assert_eq!(error.paths.len(), 1);
    assert_eq!(error.paths[0].path, "f");
    assert_eq!(error.paths[0].message, "an Editor role on / is needed");

    let response = server
        .http
        .put(format!("{}/bodies/{}", server.base, BodyHash::of(b"x")))
        .basic_auth(READER.0, Some(READER.1))
        .body("x")
        .send()
        .await
        .unwrap();
    api_error(response, StatusCode::FORBIDDEN).await;
    assert!(
        server
            .store
            .body_size(&BodyHash::of(b"x"))
            .await
            .unwrap()
            .is_none()
    );

    assert!(server.tree("").await.entries[0].path.is_root());
}

#[tokio::test(flavor = "multi_thread")]
async fn upload_commit_tree_archive_and_log() {
    let server = start().await;
    let a = BodyHash::of(b"alpha\n");
    let b = BodyHash::of(b"bravo\n");

    let missing: HashList = server
        .post("/bodies/missing", EDITOR)
        .json(&HashList { hashes: vec![a, b] })
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(missing.hashes, vec![a, b]);

    let (committed, _, _) = docs_folder(&server).await;
    assert_eq!(committed.rev, 1);
    assert_eq!(committed.objects.len(), 4);

    let missing: HashList = server
        .post("/bodies/missing", EDITOR)
        .json(&HashList { hashes: vec![a, b] })
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(missing.hashes.is_empty());

    // The same manifest with and without the trailing slash.
    let manifest = server.tree("docs").await;
    assert_eq!(server.tree("docs/").await, manifest);
    assert_eq!(manifest.root.as_str(), "docs");
    assert_eq!(manifest.head, 1);
    let paths: Vec<_> = manifest.entries.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(paths, ["", "a.txt", "b.txt", "copy.txt"]);
    let entry_a = &manifest.entries[1];
    assert_eq!(entry_a.hash, Some(a));
    assert_eq!(entry_a.size, 6);
    assert_eq!(entry_a.props["title"], "A");
    assert_eq!(entry_a.author, EDITOR.0);

    // The root of the store, in both spellings.
    assert_eq!(server.tree("").await.entries.len(), 5);
    let response = server
        .http
        .get(format!("{}/tree", server.base))
        .basic_auth(READER.0, Some(READER.1))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    let response = server.get("/archive/docs", READER).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], archive::CONTENT_TYPE);
    let bytes = response.bytes().await.unwrap();
    let (archived_manifest, bodies) = read_archive(&bytes);
    assert_eq!(archived_manifest, Some(manifest));
    // a.txt and copy.txt share one body, sent once.
    assert_eq!(
        bodies,
        vec![(a, b"alpha\n".to_vec()), (b, b"bravo\n".to_vec())]
    );

    let response = server
        .post("/bodies/fetch", READER)
        .json(&HashList {
            hashes: vec![b, a, b],
        })
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let (no_manifest, bodies) = read_archive(&response.bytes().await.unwrap());
    assert_eq!(no_manifest, None);
    assert_eq!(
        bodies,
        vec![(b, b"bravo\n".to_vec()), (a, b"alpha\n".to_vec())]
    );

    let unknown = BodyHash::of(b"never uploaded");
    let response = server
        .post("/bodies/fetch", READER)
        .json(&HashList {
            hashes: vec![a, unknown],
        })
        .send()
        .await
        .unwrap();
    let error = api_error(response, StatusCode::NOT_FOUND).await;
    assert!(
        error.message.contains(&unknown.to_string()),
        "{}",
        error.message
    );

    let a2 = server.upload(b"alpha, changed\n").await;
    let oid = oid_of(&committed, "docs/a.txt");
    let second = server
        .committed(json!({"message": "Change a", "ops": [
            {"op": "modify", "path": "docs/a.txt", "oid": oid, "base_rev": 1, "hash": a2},
        ]}))
        .await;
    assert_eq!(second.rev, 2);

    let log: Vec<LogEntry> = server
        .get("/log/docs", READER)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let revs: Vec<_> = log.iter().map(|e| e.rev).collect();
    assert_eq!(revs, [2, 1]);
    assert_eq!(log[0].message, "Change a");
    assert_eq!(log[0].user, EDITOR.0);

    let log: Vec<LogEntry> = server
        .get("/log/docs?limit=1", READER)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(log.len(), 1);

    let response = server
        .get("/log/docs?limit=many", READER)
        .send()
        .await
        .unwrap();
    assert_eq!(
        api_error(response, StatusCode::BAD_REQUEST).await.code,
        "bad_request"
    );

    let response = server
        .get("/tree/nowhere/else", READER)
        .send()
        .await
        .unwrap();
    let error = api_error(response, StatusCode::NOT_FOUND).await;
    assert_eq!(error.code, "not_found");
    assert_eq!(error.paths[0].path, "nowhere/else");
    let response = server.get("/archive/nowhere", READER).send().await.unwrap();
    api_error(response, StatusCode::NOT_FOUND).await;
}

/// The manifest (if any) and every body of an archive, in order.
fn read_archive(bytes: &[u8]) -> (Option<Manifest>, Vec<(BodyHash, Vec<u8>)>) {
    let mut reader = ArchiveReader::new(bytes).unwrap();
    let mut manifest = None;
    let mut bodies = Vec::new();
    loop {
        match reader.next_header().unwrap() {
            Header::Manifest(m) => manifest = Some(m),
            Header::Body { hash, size } => {
                let mut body = Vec::new();
                reader.body().read_to_end(&mut body).unwrap();
                assert_eq!(body.len() as u64, size);
                assert_eq!(BodyHash::of(&body), hash);
                bodies.push((hash, body));
            }
            Header::End => break,
        }
    }
    (manifest, bodies)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stale_commit_lists_every_stale_path() {
    let server = start().await;
    let (first, _, _) = docs_folder(&server).await;
    let (oid_a, oid_b) = (oid_of(&first, "docs/a.txt"), oid_of(&first, "docs/b.txt"));
    let title = |t: &str| json!({"title": t});
    server
        .committed(json!({"message": "Theirs", "ops": [
            {"op": "modify", "path": "docs/a.txt", "oid": oid_a, "base_rev": 1, "props": title("theirs")},
            {"op": "modify", "path": "docs/b.txt", "oid": oid_b, "base_rev": 1, "props": title("theirs")},
        ]}))
        .await;
    let response = server
        .commit(json!({"message": "Mine", "ops": [
            {"op": "modify", "path": "docs/a.txt", "oid": oid_a, "base_rev": 1, "props": title("mine")},
            {"op": "modify", "path": "docs/b.txt", "oid": oid_b, "base_rev": 1, "props": title("mine")},
        ]}))
        .await;
    let error = api_error(response, StatusCode::CONFLICT).await;
    assert_eq!(error.code, "stale");
    assert_eq!(
        error.message,
        "2 object(s) changed on the server since your base revision; run `zsync update` first"
    );
    let mut paths: Vec<_> = error.paths.iter().map(|p| p.path.as_str()).collect();
    paths.sort();
    assert_eq!(paths, ["docs/a.txt", "docs/b.txt"]);
    assert!(
        error
            .paths
            .iter()
            .all(|p| p.message == "changed on the server")
    );
    // Nothing of the refused commit was applied.
    assert_eq!(
        server.tree("docs/a.txt").await.entries[0].props["title"],
        "theirs"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invalid_commit_lists_every_problem() {
    let server = start().await;
    let never = BodyHash::of(b"never uploaded");
    let response = server
        .commit(json!({"message": "Bad", "ops": [
            {"op": "add", "path": "f", "kind": "folder"},
            {"op": "add", "path": "f/a.txt", "kind": "document", "hash": never},
            {"op": "add", "path": "f/b.txt", "kind": "document"},
        ]}))
        .await;
    let error = api_error(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error.code, "invalid");
    let paths: Vec<_> = error.paths.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(paths, ["f/a.txt", "f/b.txt"], "{error:?}");
    assert_eq!(server.tree("").await.entries.len(), 1, "nothing committed");

    let response = server
        .commit(json!({"message": "x".repeat(64 * 1024 + 1), "ops": [
            {"op": "add", "path": "f", "kind": "folder"},
        ]}))
        .await;
    api_error(response, StatusCode::BAD_REQUEST).await;

    // Properties the client would refuse are refused here too: a NUL (which
    // PostgreSQL cannot hold), a bad name, an oversized value.
    let big = "v".repeat(zsync_model::MAX_PROP_VALUE_BYTES + 1);
    for (name, value, why) in [
        ("title", "a\u{0}b", "NUL"),
        ("bad name", "x", "property name"),
        ("title", big.as_str(), "256 KiB"),
    ] {
        let response = server
            .commit(json!({"message": "props", "ops": [
                {"op": "add", "path": "f", "kind": "folder", "props": {name: value}},
            ]}))
            .await;
        let error = api_error(response, StatusCode::BAD_REQUEST).await;
        assert!(error.message.contains(why), "{}", error.message);
        assert!(
            error.message.starts_with("f: property"),
            "{}",
            error.message
        );
    }
    assert_eq!(server.tree("").await.entries.len(), 1, "nothing committed");
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_requests_and_paths_are_400_json() {
    let server = start().await;
    for route in ["/tree/demo/.zsync", "/archive/a%00b", "/log/a%5Cb"] {
        let response = server.get(route, READER).send().await.unwrap();
        let error = api_error(response, StatusCode::BAD_REQUEST).await;
        assert_eq!(error.code, "bad_request");
        assert!(
            error.message.starts_with("invalid path"),
            "{}",
            error.message
        );
    }

    let response = server
        .post("/commit", EDITOR)
        .header("content-type", "application/json")
        .body("{\"message\": 3}")
        .send()
        .await
        .unwrap();
    let error = api_error(response, StatusCode::BAD_REQUEST).await;
    assert!(error.message.contains("invalid type"), "{}", error.message);

    let response = server
        .commit(json!({"message": "m", "ops": [{"op": "add", "path": "../x", "kind": "folder"}]}))
        .await;
    api_error(response, StatusCode::BAD_REQUEST).await;

    let response = server
        .http
        .put(format!("{}/bodies/not-a-hash", server.base))
        .basic_auth(EDITOR.0, Some(EDITOR.1))
        .body("x")
        .send()
        .await
        .unwrap();
    api_error(response, StatusCode::BAD_REQUEST).await;

    let response = server
        .http
        .put(format!("{}/bodies/{}", server.base, BodyHash::of(b"other")))
        .basic_auth(EDITOR.0, Some(EDITOR.1))
        .body("this")
        .send()
        .await
        .unwrap();
    api_error(response, StatusCode::BAD_REQUEST).await;

    let response = server.get("/no/such/route", READER).send().await.unwrap();
    assert_eq!(
        api_error(response, StatusCode::NOT_FOUND).await.code,
        "not_found"
    );
    let response = server.get("/commit", EDITOR).send().await.unwrap();
    api_error(response, StatusCode::METHOD_NOT_ALLOWED).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn login_token_works_until_logout() {
    let server = start().await;
    let response = server.post("/login", READER).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let login: LoginResponse = response.json().await.unwrap();
    assert_eq!(login.user, READER.0);
    assert_eq!(login.token.len(), 64);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!((login.expires - now - 30 * 24 * 3600).abs() < 60);

    let with_token = |route: &str| {
        server
            .http
            .get(format!("{}{route}", server.base))
            .bearer_auth(&login.token)
    };
    assert_eq!(
        with_token("/tree/").send().await.unwrap().status(),
        StatusCode::OK
    );

    // A token cannot mint more tokens.
    let response = server
        .http
        .post(format!("{}/login", server.base))
        .bearer_auth(&login.token)
        .send()
        .await
        .unwrap();
    api_error(response, StatusCode::UNAUTHORIZED).await;

    let response = server
        .http
        .post(format!("{}/logout", server.base))
        .bearer_auth(&login.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);

    let response = with_token("/tree/").send().await.unwrap();
    assert_eq!(
        api_error(response, StatusCode::UNAUTHORIZED).await.code,
        "unauthorized"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_body_over_the_limit_is_refused_and_not_stored() {
    let server = start_with(ServerConfig {
        max_body_bytes: 1000,
        ..ServerConfig::default()
    })
    .await;
    let big = vec![b'x'; 5000];
    let hash = BodyHash::of(&big);
    let url = format!("{}/bodies/{hash}", server.base);

    // Announced by Content-Length.
    let response = server
        .http
        .put(&url)
        .basic_auth(EDITOR.0, Some(EDITOR.1))
        .body(big.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(
        api_error(response, StatusCode::PAYLOAD_TOO_LARGE)
            .await
            .code,
        "too_large"
    );

    // Streamed without a length: the store stops at the limit.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        big.chunks(700).map(|c| Ok(c.to_vec())).collect();
    let response = server
        .http
        .put(&url)
        .basic_auth(EDITOR.0, Some(EDITOR.1))
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(
        api_error(response, StatusCode::PAYLOAD_TOO_LARGE)
            .await
            .code,
        "too_large"
    );

    assert!(server.store.body_size(&hash).await.unwrap().is_none());
    let missing: HashList = server
        .post("/bodies/missing", EDITOR)
        .json(&HashList { hashes: vec![hash] })
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(missing.hashes, vec![hash]);

    // A JSON request over its own limit.
    let server = start_with(ServerConfig {
        max_request_json_bytes: 100,
        ..ServerConfig::default()
    })
    .await;
    let response = server
        .commit(json!({"message": "y".repeat(200), "ops": []}))
        .await;
    api_error(response, StatusCode::PAYLOAD_TOO_LARGE).await;
}

fn batch_of(bodies: &[&[u8]]) -> Vec<u8> {
    let mut writer = batch::BatchWriter::new();
    for body in bodies {
        writer.push(&BodyHash::of(body), body);
    }
    writer.finish()
}

async fn missing(server: &TestServer, hashes: &[BodyHash]) -> Vec<BodyHash> {
    let list: HashList = server
        .post("/bodies/missing", EDITOR)
        .json(&HashList {
            hashes: hashes.to_vec(),
        })
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    list.hashes
}

#[tokio::test(flavor = "multi_thread")]
async fn a_batch_of_bodies_is_stored_whole_or_not_at_all() {
    let server = start_with(ServerConfig {
        max_batch_bytes: 4096,
        max_batch_bodies: 5,
        ..ServerConfig::default()
    })
    .await;
    let bodies: Vec<Vec<u8>> = (0..4)
        .map(|i| format!("batched {i}").into_bytes())
        .collect();
    let slices: Vec<&[u8]> = bodies.iter().map(|b| &b[..]).collect();
    let hashes: Vec<BodyHash> = bodies.iter().map(|b| BodyHash::of(b)).collect();
    let send = |batch: Vec<u8>, who: Option<(&str, &str)>| {
        let request = server
            .http
            .post(format!("{}/bodies", server.base))
            .header("content-type", batch::CONTENT_TYPE)
            .body(batch);
        match who {
            Some((user, password)) => request.basic_auth(user, Some(password)),
            None => request,
        }
    };

    // Neither anonymous nor a reader may upload.
    let response = send(batch_of(&slices), None).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let response = send(batch_of(&slices), Some(READER)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);

    // One wrong hash refuses the whole batch, naming it.
    let mut bad = batch::BatchWriter::new();
    bad.push(&hashes[0], &bodies[0]);
    bad.push(&hashes[1], b"not what the hash says");
    bad.push(&hashes[2], &bodies[2]);
    let response = send(bad.finish(), Some(EDITOR)).send().await.unwrap();
    let error = api_error(response, StatusCode::BAD_REQUEST).await;
    assert!(error.message.contains(&hashes[1].to_string()), "{error:?}");

    // Over the batch's size, its body count, or a body too big for a
    // batch: refused, nothing stored.
    let big = vec![b'x'; 5000];
    let response = send(batch_of(&[&big]), Some(EDITOR)).send().await.unwrap();
    assert_eq!(
        api_error(response, StatusCode::PAYLOAD_TOO_LARGE)
            .await
            .code,
        "too_large"
    );
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = batch_of(&[&big])
        .chunks(700)
        .map(|c| Ok(c.to_vec()))
        .collect();
    let response = server
        .post("/bodies", EDITOR)
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let six: Vec<&[u8]> = vec![b"1", b"2", b"3", b"4", b"5", b"6"];
    let response = send(batch_of(&six), Some(EDITOR)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let mut all = hashes.clone();
    all.extend(six.iter().map(|b| BodyHash::of(b)));
    assert_eq!(missing(&server, &all).await, all);

    // Framing errors are the client's.
    let mut cut = batch_of(&slices);
    cut.truncate(cut.len() - 3);
    let response = send(cut, Some(EDITOR)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let response = send(b"garbage".to_vec(), Some(EDITOR))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(missing(&server, &hashes).await, hashes);

    // A good batch is stored, and its bodies commit and read back.
    let response = send(batch_of(&slices), Some(EDITOR)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(missing(&server, &hashes).await.is_empty());
    server
        .committed(json!({"message": "Batched", "ops": [
            {"op": "add", "path": "b0.txt", "kind": "file", "hash": hashes[0]},
            {"op": "add", "path": "b3.txt", "kind": "file", "hash": hashes[3]},
        ]}))
        .await;
    let response = server.get("/archive/b3.txt", READER).send().await.unwrap();
    let (_, read) = read_archive(&response.bytes().await.unwrap());
    assert_eq!(read[0].1, bodies[3]);
    // Sending it again is fine.
    let response = send(batch_of(&slices), Some(EDITOR)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
}

/// A body uploaded in a batch and seen to be text is not read back by a
/// commit that adds it as a document; every other body, and the same body
/// as another kind, is still checked.
#[tokio::test(flavor = "multi_thread")]
async fn bodies_seen_as_text_on_upload_are_still_checked_by_their_kind() {
    let server = start().await;
    let text: &[u8] = b"plain text\n";
    let nul: &[u8] = b"text\0with a NUL\n";
    let latin1: &[u8] = b"caf\xe9\n";
    let response = server
        .post("/bodies", EDITOR)
        .header("content-type", batch::CONTENT_TYPE)
        .body(batch_of(&[text, nul, latin1]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let add = |path: &str, kind: &str, body: &[u8]| json!({"op": "add", "path": path, "kind": kind, "hash": BodyHash::of(body)});
    let response = server
        .commit(json!({"message": "Bad", "ops": [
            {"op": "add", "path": "t", "kind": "folder"},
            add("t/nul.txt", "document", nul),
            add("t/latin1.txt", "document", latin1),
            add("t/text.png", "image", text),
            add("t/text.txt", "document", text),
        ]}))
        .await;
    let error = api_error(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    let paths: Vec<_> = error.paths.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(
        paths,
        ["t/nul.txt", "t/latin1.txt", "t/text.png"],
        "{error:?}"
    );
    let response = server
        .commit(json!({"message": "Good", "ops": [
            {"op": "add", "path": "t", "kind": "folder"},
            add("t/text.txt", "document", text),
        ]}))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread")]
async fn bodies_larger_than_a_chunk_stream_in_and_out() {
    let server = start().await;
    // Over axum's default 2 MB body limit and several store chunks long.
    let big: Vec<u8> = (0..(3 << 20) + 12345)
        .map(|i: u32| (i % 251) as u8)
        .collect();
    let hash = server.upload(&big).await;
    server
        .committed(json!({"message": "Big", "ops": [
            {"op": "add", "path": "big.bin", "kind": "file", "hash": hash},
        ]}))
        .await;
    let response = server.get("/archive/big.bin", READER).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let (manifest, bodies) = read_archive(&response.bytes().await.unwrap());
    assert_eq!(manifest.unwrap().entries[0].size, big.len() as u64);
    assert_eq!(bodies.len(), 1);
    assert!(bodies[0].1 == big, "the body came back changed");

    let response = server
        .http
        .get(server.base.replace("/api/v1", "/"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.text().await.unwrap().contains("/api/v1"));
}
