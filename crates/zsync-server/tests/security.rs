//! The security policy end to end, against the real server on a loopback
//! port: every route for every kind of caller, path and name attacks,
//! limits, slow clients, failed-login limiting and HTTPS.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::sync::oneshot;
use zsync_format::{API_PREFIX, ApiError, LoginResponse, Manifest};
use zsync_model::{BodyHash, RepoPath, Role};
use zsync_server::auth::token_hash;
use zsync_server::{ServerConfig, ServerState, TlsConfig, hash_password};
use zsync_store::{SqlStore, Store, UserRecord};

const PASSWORD: &str = "secret";

struct TestServer {
    addr: std::net::SocketAddr,
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

fn p(s: &str) -> RepoPath {
    RepoPath::parse(s).unwrap()
}

/// A store with /demo (a.txt), /public (p.txt) and /other, and users:
/// reader, editor and manager on /demo; `nogrant` (Editor on /other only);
/// anonymous may read /public.
async fn start_with(config: ServerConfig, tls: Option<TlsConfig>) -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    let store = SqlStore::open(dir.path()).await.unwrap();
    let password_hash = hash_password(PASSWORD).unwrap();
    for (name, path, role) in [
        ("reader", "demo", Role::Reader),
        ("editor", "demo", Role::Editor),
        ("manager", "demo", Role::Manager),
        ("nogrant", "other", Role::Editor),
    ] {
        store
            .add_user(&UserRecord {
                name: name.into(),
                password_hash: password_hash.clone(),
                role: None,
                disabled: false,
            })
            .await
            .unwrap();
        store.grant(name, &p(path), role).await.unwrap();
    }
    store
        .grant("anonymous", &p("public"), Role::Reader)
        .await
        .unwrap();
    for body in [b"demo body".as_slice(), b"public body"] {
        store
            .put_body(BodyHash::of(body), body, 1 << 20)
            .await
            .unwrap();
    }
    let request = serde_json::from_value(json!({"message": "setup", "ops": [
        {"op": "add", "path": "demo", "kind": "folder"},
        {"op": "add", "path": "demo/a.txt", "kind": "file", "hash": BodyHash::of(b"demo body")},
        {"op": "add", "path": "public", "kind": "folder"},
        {"op": "add", "path": "public/p.txt", "kind": "file", "hash": BodyHash::of(b"public body")},
        {"op": "add", "path": "other", "kind": "folder"},
    ]}))
    .unwrap();
    store.commit("setup", &request).await.unwrap();

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let scheme = if tls.is_some() { "https" } else { "http" };
    let base = format!("{scheme}://{addr}{API_PREFIX}");
    let (stop, stopped) = oneshot::channel::<()>();
    let state = ServerState::new(store.clone(), config);
    tokio::spawn(zsync_server::serve_with_tls(listener, state, tls, async {
        let _ = stopped.await;
    }));
    TestServer {
        addr,
        base,
        http: reqwest::Client::new(),
        store,
        stop: Some(stop),
        _dir: dir,
    }
}

/// Limits generous enough that the table's wrong passwords never trip the
/// failed-login limiter.
fn roomy() -> ServerConfig {
    ServerConfig {
        login_failures_per_user: 1000,
        login_failures_per_address: 1000,
        ..ServerConfig::default()
    }
}

async fn api_error(response: reqwest::Response, status: StatusCode) -> ApiError {
    assert_eq!(response.status(), status);
    response.json().await.unwrap()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    NoCredentials,
    WrongPassword,
    ExpiredToken,
    RevokedToken,
    Reader,
    Editor,
    Manager,
    /// A user with no grant on the path (Editor elsewhere).
    NoGrant,
    /// No credentials, on a folder that grants Reader to anonymous.
    AnonymousFolder,
}

const WHO: [Who; 9] = [
    Who::NoCredentials,
    Who::WrongPassword,
    Who::ExpiredToken,
    Who::RevokedToken,
    Who::Reader,
    Who::Editor,
    Who::Manager,
    Who::NoGrant,
    Who::AnonymousFolder,
];

/// Expected status per route, in the order of [`WHO`].
const TABLE: &[(&str, &str, [u16; 9])] = &[
    //                                 none wrong exp  rev  R    E    M    nogr anon
    (
        "GET",
        "/tree/{*path}",
        [401, 401, 401, 401, 200, 200, 200, 403, 200],
    ),
    (
        "GET",
        "/archive/{*path}",
        [401, 401, 401, 401, 200, 200, 200, 403, 200],
    ),
    (
        "GET",
        "/log/{*path}",
        [401, 401, 401, 401, 200, 200, 200, 403, 200],
    ),
    (
        "GET",
        "/changes/{*path}",
        [401, 401, 401, 401, 200, 200, 200, 403, 200],
    ),
    (
        "GET",
        "/diff/{*path}",
        [401, 401, 401, 401, 200, 200, 200, 403, 200],
    ),
    (
        "POST",
        "/bodies/missing",
        [401, 401, 401, 401, 403, 200, 200, 200, 401],
    ),
    // A body the caller may not read is "not found", like a missing one.
    (
        "POST",
        "/bodies/fetch",
        [401, 401, 401, 401, 200, 200, 200, 404, 200],
    ),
    (
        "PUT",
        "/bodies/{hash}",
        [401, 401, 401, 401, 403, 204, 204, 204, 401],
    ),
    (
        "POST",
        "/bodies",
        [401, 401, 401, 401, 403, 204, 204, 204, 401],
    ),
    (
        "POST",
        "/commit",
        [401, 401, 401, 401, 403, 200, 200, 403, 401],
    ),
    // Asks about the commit the same caller just sent with the row above:
    // only one's own landed commits are found.
    (
        "GET",
        "/commits/{id}",
        [401, 401, 401, 401, 404, 200, 200, 404, 401],
    ),
    // The editor locks /demo/a.txt, the manager steals it; the editor
    // then may not unlock the manager's lock, the manager breaks it.
    (
        "POST",
        "/locks",
        [401, 401, 401, 401, 403, 200, 200, 403, 401],
    ),
    (
        "POST",
        "/unlock",
        [401, 401, 401, 401, 403, 423, 200, 403, 401],
    ),
    (
        "GET",
        "/locks/{*path}",
        [401, 401, 401, 401, 200, 200, 200, 403, 200],
    ),
    (
        "POST",
        "/login",
        [401, 401, 401, 401, 200, 200, 200, 200, 401],
    ),
    // Logout revokes the token it is sent with; Basic has none (400).
    (
        "POST",
        "/logout",
        [401, 401, 401, 401, 400, 400, 400, 400, 401],
    ),
];

struct Tokens {
    expired: String,
    revoked: String,
}

async fn tokens(server: &TestServer) -> Tokens {
    let expired = "e".repeat(64);
    server
        .store
        .add_token("editor", &token_hash(&expired), 1)
        .await
        .unwrap();
    let login: LoginResponse = server
        .http
        .post(format!("{}/login", server.base))
        .basic_auth("editor", Some(PASSWORD))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let response = server
        .http
        .post(format!("{}/logout", server.base))
        .bearer_auth(&login.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    Tokens {
        expired,
        revoked: login.token,
    }
}

fn request(
    server: &TestServer,
    method: &str,
    route: &str,
    who: Who,
    n: usize,
) -> reqwest::RequestBuilder {
    let folder = if who == Who::AnonymousFolder {
        "public"
    } else {
        "demo"
    };
    let url = |rest: &str| format!("{}{rest}", server.base);
    let http = &server.http;
    match (method, route) {
        ("GET", "/diff/{*path}") => http.get(url(&format!("/diff/{folder}?from=0&to=1"))),
        ("GET", path_route) if path_route.ends_with("/{*path}") => {
            let base = path_route.trim_end_matches("/{*path}");
            http.get(url(&format!("{base}/{folder}?since=0")))
        }
        ("POST", "/bodies/missing") => http
            .post(url("/bodies/missing"))
            .json(&json!({"hashes": [BodyHash::of(b"not there")]})),
        ("POST", "/bodies/fetch") => {
            let body = if who == Who::AnonymousFolder {
                b"public body".as_slice()
            } else {
                b"demo body"
            };
            http.post(url("/bodies/fetch"))
                .json(&json!({"hashes": [BodyHash::of(body)]}))
        }
        ("PUT", "/bodies/{hash}") => {
            let body = format!("upload {n}");
            http.put(url(&format!("/bodies/{}", BodyHash::of(body.as_bytes()))))
                .body(body)
        }
        ("POST", "/bodies") => {
            let body = format!("batched upload {n}");
            let mut batch = zsync_format::batch::BatchWriter::new();
            batch.push(&BodyHash::of(body.as_bytes()), body.as_bytes());
            http.post(url("/bodies")).body(batch.finish())
        }
        ("POST", "/commit") => http.post(url("/commit")).json(&json!({
            "message": "table",
            "ops": [{"op": "add", "path": format!("{folder}/new-{n}"), "kind": "folder"}],
            "id": commit_id(who),
        })),
        ("POST", "/locks") => http.post(url("/locks")).json(&json!({
            "paths": [format!("{folder}/a.txt")],
            "comment": "table",
            "steal": who == Who::Manager,
        })),
        ("POST", "/unlock") => http.post(url("/unlock")).json(&json!({
            "paths": [format!("{folder}/a.txt")],
            "force": who == Who::Manager,
        })),
        ("GET", "/commits/{id}") => http.get(url(&format!("/commits/{}", commit_id(who)))),
        ("POST", "/login") => http.post(url("/login")),
        ("POST", "/logout") => http.post(url("/logout")),
        _ => panic!("no request for {method} {route}: add one, and a row to TABLE"),
    }
}

/// The id the table's commit as `who` carries.
fn commit_id(who: Who) -> String {
    format!("{:032x}", who as usize + 1)
}

fn authenticate(
    request: reqwest::RequestBuilder,
    who: Who,
    tokens: &Tokens,
) -> reqwest::RequestBuilder {
    match who {
        Who::NoCredentials | Who::AnonymousFolder => request,
        Who::WrongPassword => request.basic_auth("reader", Some("wrong")),
        Who::ExpiredToken => request.bearer_auth(&tokens.expired),
        Who::RevokedToken => request.bearer_auth(&tokens.revoked),
        Who::Reader => request.basic_auth("reader", Some(PASSWORD)),
        Who::Editor => request.basic_auth("editor", Some(PASSWORD)),
        Who::Manager => request.basic_auth("manager", Some(PASSWORD)),
        Who::NoGrant => request.basic_auth("nogrant", Some(PASSWORD)),
    }
}

#[test]
fn the_table_covers_every_route() {
    let routes: BTreeSet<(String, String)> = zsync_server::api_routes()
        .into_iter()
        .map(|(m, r)| (m.to_string(), r.to_owned()))
        .collect();
    let table: BTreeSet<(String, String)> = TABLE
        .iter()
        .map(|(m, r, _)| ((*m).to_owned(), (*r).to_owned()))
        .collect();
    assert_eq!(
        routes, table,
        "every /api/v1 route needs a row in TABLE (and a request in `request`)"
    );
    assert_eq!(routes.len(), TABLE.len(), "no route is listed twice");
}

#[tokio::test(flavor = "multi_thread")]
async fn every_route_for_every_caller() {
    let server = start_with(roomy(), None).await;
    let tokens = tokens(&server).await;
    let mut failures = Vec::new();
    let mut n = 0;
    for (method, route, expected) in TABLE {
        for (who, status) in WHO.iter().zip(expected) {
            n += 1;
            let response = authenticate(request(&server, method, route, *who, n), *who, &tokens)
                .send()
                .await
                .unwrap();
            let got = response.status().as_u16();
            if got != *status {
                let body = response.text().await.unwrap_or_default();
                failures.push(format!(
                    "{method} {route} as {who:?}: {got}, expected {status}: {body}"
                ));
                continue;
            }
            if got >= 400 {
                // Every refusal is a JSON ApiError.
                let error: ApiError = response.json().await.unwrap();
                assert!(!error.message.is_empty());
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The root routes (no path) follow the same rules: anonymous may read
    // /public only, so that is all of / it gets.
    let manifest: Manifest = server
        .http
        .get(format!("{}/tree", server.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let paths: Vec<String> = manifest
        .entries
        .iter()
        .map(|e| e.path.to_string())
        .collect();
    assert_eq!(paths, ["", "public", "public/p.txt"]);
    // demo, demo/a.txt, other, and the two folders the table committed.
    assert_eq!(manifest.omitted, 5);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refusal_does_not_tell_whether_a_path_exists() {
    let server = start_with(roomy(), None).await;
    for path in ["other", "no/such/thing"] {
        let response = server
            .http
            .get(format!("{}/tree/{path}", server.base))
            .basic_auth("reader", Some(PASSWORD))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn manifests_leave_out_what_the_caller_may_not_read() {
    let server = start_with(roomy(), None).await;
    // Reader on /demo (and, like everyone, on /public), asking for the
    // root: those subtrees and the way to them.
    let response = server
        .http
        .get(format!("{}/tree/", server.base))
        .basic_auth("reader", Some(PASSWORD))
        .send()
        .await
        .unwrap();
    // No role on / itself.
    assert_eq!(response.status(), StatusCode::OK);
    let manifest: Manifest = response.json().await.unwrap();
    let paths: Vec<String> = manifest
        .entries
        .iter()
        .map(|e| e.path.to_string())
        .collect();
    assert_eq!(paths, ["", "demo", "demo/a.txt", "public", "public/p.txt"]);
    // other
    assert_eq!(manifest.omitted, 1);

    // The log of / shows only the readable changes.
    let log: Vec<zsync_format::LogEntry> = server
        .http
        .get(format!("{}/log/", server.base))
        .basic_auth("reader", Some(PASSWORD))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let changed: Vec<String> = log
        .iter()
        .flat_map(|e| e.changes.iter().map(|c| c.path.to_string()))
        .collect();
    assert_eq!(changed, ["demo", "demo/a.txt", "public", "public/p.txt"]);
    // With no grant on /other, its log is refused.
    let response = server
        .http
        .get(format!("{}/log/other", server.base))
        .basic_auth("reader", Some(PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_commit_outside_the_grant_is_refused_whole_listing_every_path() {
    let server = start_with(roomy(), None).await;
    let head = server.store.head().await.unwrap();
    let a = server
        .store
        .object(&p("demo/a.txt"))
        .await
        .unwrap()
        .unwrap();
    let p_txt = server
        .store
        .object(&p("public/p.txt"))
        .await
        .unwrap()
        .unwrap();
    let response = server
        .http
        .post(format!("{}/commit", server.base))
        .basic_auth("editor", Some(PASSWORD))
        .json(&json!({"message": "too far", "ops": [
            {"op": "add", "path": "demo/ok", "kind": "folder"},
            {"op": "add", "path": "other/x", "kind": "folder"},
            {"op": "add", "path": "top", "kind": "folder"},
            {"op": "modify", "path": "demo/a.txt", "oid": a.oid, "base_rev": a.rev, "props": {"t": "x"}},
            {"op": "delete", "path": "public/p.txt", "oid": p_txt.oid, "base_rev": p_txt.rev},
        ]}))
        .send()
        .await
        .unwrap();
    let error = api_error(response, StatusCode::FORBIDDEN).await;
    let paths: Vec<&str> = error.paths.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(paths, ["other/x", "top", "public/p.txt"]);
    assert!(
        error.message.contains("editor may not change 3"),
        "{}",
        error.message
    );
    assert_eq!(
        server.store.head().await.unwrap(),
        head,
        "nothing committed"
    );
    assert!(server.store.object(&p("demo/ok")).await.unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_move_needs_editor_where_it_leaves_and_where_it_lands() {
    let server = start_with(roomy(), None).await;
    let head = server.store.head().await.unwrap();
    let a = server
        .store
        .object(&p("demo/a.txt"))
        .await
        .unwrap()
        .unwrap();
    let p_txt = server
        .store
        .object(&p("public/p.txt"))
        .await
        .unwrap()
        .unwrap();
    let response = commit_as_editor(
        &server,
        json!([
            {"op": "move", "from": "demo/a.txt", "to": "public/a.txt", "oid": a.oid, "base_rev": a.rev},
            {"op": "move", "from": "public/p.txt", "to": "demo/p.txt", "oid": p_txt.oid, "base_rev": p_txt.rev},
        ]),
    )
    .await;
    let error = api_error(response, StatusCode::FORBIDDEN).await;
    let paths: Vec<&str> = error.paths.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(paths, ["public/a.txt", "public/p.txt"]);
    assert_eq!(
        server.store.head().await.unwrap(),
        head,
        "nothing committed"
    );

    let response = commit_as_editor(
        &server,
        json!([{"op": "move", "from": "demo/a.txt", "to": "demo/b.txt", "oid": a.oid, "base_rev": a.rev}]),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let moved = server
        .store
        .object(&p("demo/b.txt"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(moved.oid, a.oid);
}

async fn commit_as_editor(server: &TestServer, ops: Value) -> reqwest::Response {
    server
        .http
        .post(format!("{}/commit", server.base))
        .basic_auth("editor", Some(PASSWORD))
        .json(&json!({"message": "attack", "ops": ops}))
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn path_and_name_attacks_are_refused_and_store_nothing() {
    let server = start_with(roomy(), None).await;
    let head = server.store.head().await.unwrap();
    let before = server.store.manifest(&RepoPath::root()).await.unwrap();

    // Paths that do not parse: refused as malformed before anything else.
    for bad in [
        "demo/..",
        "demo/../other/x",
        "..",
        // One leading slash means the store root (as in URLs); more is refused.
        "//etc/passwd",
        "C:\\Windows",
        "demo//x",
        "demo/./x",
        "demo/a\u{0}b",
        "demo/a\u{1}b",
        "demo/a\nb",
        "demo/a\u{7f}b",
        "demo/.zsync",
        "demo/a\\b",
    ] {
        let response = commit_as_editor(
            &server,
            json!([{"op": "add", "path": bad, "kind": "folder"}]),
        )
        .await;
        let status = response.status();
        assert!(
            status == StatusCode::BAD_REQUEST || status == StatusCode::UNPROCESSABLE_ENTITY,
            "{bad:?}: {status}"
        );
    }

    // Names that parse but would collide on case-insensitive or
    // normalizing file systems, or are not NFC: 422 naming the path.
    for (bad, expected) in [
        ("demo/A.TXT", "only by case"),
        ("demo/e\u{301}.txt", "NFC"),
        ("demo/\u{e0}.txt", ""),
    ] {
        let mut ops = vec![json!({"op": "add", "path": bad, "kind": "folder"})];
        if expected.is_empty() {
            // Both spellings of à in one commit.
            ops.push(json!({"op": "add", "path": "demo/a\u{300}.txt", "kind": "folder"}));
        }
        let response = commit_as_editor(&server, Value::Array(ops)).await;
        let error = api_error(response, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert!(
            error.paths.iter().any(|p| p.message.contains(expected)),
            "{bad:?}: {error:?}"
        );
    }

    // Traversal in URLs: decoded, then refused. Sent raw, since URL
    // libraries resolve dot segments (even encoded ones) before sending.
    for route in [
        "/tree/demo/../other",
        "/tree/%2e%2e",
        "/tree/demo/%2e%2e/other",
        "/tree/demo/%2E%2E",
        "/log/demo/%00",
        "/log/demo/a%0ab",
        "/archive/demo%2f..%2fother",
        "/archive/demo%5c..%5cother",
    ] {
        let raw = raw_request(
            server.addr,
            &format!(
                "GET /api/v1{route} HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {}\r\n\
                 Connection: close\r\n\r\n",
                base64_basic("editor", PASSWORD)
            ),
        )
        .await;
        assert!(raw.starts_with("HTTP/1.1 400"), "{route}: {raw}");
    }

    // Uploads: the hash in the URL must be a hash, and the body match it.
    for hash in ["..", "%2e%2e", "../../etc/passwd", "00", &"g".repeat(64)] {
        let response = server
            .http
            .put(format!("{}/bodies/{hash}", server.base))
            .basic_auth("editor", Some(PASSWORD))
            .body("x")
            .send()
            .await
            .unwrap();
        assert!(
            matches!(response.status().as_u16(), 400 | 404),
            "{hash}: {}",
            response.status()
        );
    }
    let response = server
        .http
        .put(format!(
            "{}/bodies/{}",
            server.base,
            BodyHash::of(b"claimed")
        ))
        .basic_auth("editor", Some(PASSWORD))
        .body("actual")
        .send()
        .await
        .unwrap();
    api_error(response, StatusCode::BAD_REQUEST).await;
    for body in [b"claimed".as_slice(), b"actual", b"x"] {
        assert_eq!(
            server.store.body_size(&BodyHash::of(body)).await.unwrap(),
            None
        );
    }

    assert_eq!(
        server.store.head().await.unwrap(),
        head,
        "nothing committed"
    );
    assert_eq!(
        server.store.manifest(&RepoPath::root()).await.unwrap(),
        before
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn oversized_and_malformed_requests_are_refused() {
    let server = start_with(
        ServerConfig {
            max_body_bytes: 1024,
            max_request_json_bytes: 2048,
            max_manifest_entries: 2,
            max_commit_ops: 2,
            ..roomy()
        },
        None,
    )
    .await;
    let head = server.store.head().await.unwrap();
    let big = vec![b'x'; 4096];
    let response = server
        .http
        .put(format!("{}/bodies/{}", server.base, BodyHash::of(&big)))
        .basic_auth("editor", Some(PASSWORD))
        .body(big.clone())
        .send()
        .await
        .unwrap();
    api_error(response, StatusCode::PAYLOAD_TOO_LARGE).await;
    assert_eq!(
        server.store.body_size(&BodyHash::of(&big)).await.unwrap(),
        None
    );

    let long_message = "m".repeat(4096);
    let response = server
        .http
        .post(format!("{}/commit", server.base))
        .basic_auth("editor", Some(PASSWORD))
        .json(&json!({"message": long_message, "ops": []}))
        .send()
        .await
        .unwrap();
    api_error(response, StatusCode::PAYLOAD_TOO_LARGE).await;

    let ops: Vec<Value> = (0..3)
        .map(|i| json!({"op": "add", "path": format!("demo/f{i}"), "kind": "folder"}))
        .collect();
    let error = api_error(
        commit_as_editor(&server, Value::Array(ops)).await,
        StatusCode::PAYLOAD_TOO_LARGE,
    )
    .await;
    assert!(error.message.contains("limit of 2"), "{}", error.message);

    // /demo has two objects, / five.
    let response = server
        .http
        .get(format!("{}/tree/other", server.base))
        .basic_auth("editor", Some(PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response = server
        .http
        .get(format!("{}/tree/demo", server.base))
        .basic_auth("manager", Some(PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    server
        .store
        .grant("manager", &RepoPath::root(), Role::Reader)
        .await
        .unwrap();
    let response = server
        .http
        .get(format!("{}/archive/", server.base))
        .basic_auth("manager", Some(PASSWORD))
        .send()
        .await
        .unwrap();
    let error = api_error(response, StatusCode::PAYLOAD_TOO_LARGE).await;
    assert!(error.message.contains("subfolder"), "{}", error.message);

    for body in [
        "{",
        "[]",
        "{\"message\": 1, \"ops\": []}",
        "{\"message\": \"m\", \"ops\": [{\"op\": \"rename\"}]}",
        "\u{0}",
    ] {
        let response = server
            .http
            .post(format!("{}/commit", server.base))
            .basic_auth("editor", Some(PASSWORD))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let error = api_error(response, StatusCode::BAD_REQUEST).await;
        assert!(
            error.message.contains("malformed JSON"),
            "{}",
            error.message
        );
    }
    assert_eq!(
        server.store.head().await.unwrap(),
        head,
        "nothing committed"
    );
}

/// Sends `text` on a fresh connection and returns what comes back until
/// the server closes it (or 10 s pass).
async fn raw_request(addr: std::net::SocketAddr, text: &str) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(text.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn slow_clients_are_cut_off() {
    let server = start_with(
        ServerConfig {
            header_read_timeout: Duration::from_secs(1),
            request_timeout: Duration::from_secs(1),
            ..roomy()
        },
        None,
    )
    .await;
    // Slow-loris: headers that never end. The server closes the
    // connection once the header timeout passes.
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let started = Instant::now();
    stream
        .write_all(b"GET /api/v1/tree/public HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            // Keep trickling a header byte now and then, as slow-loris does.
            tokio::select! {
                n = stream.read_to_end(&mut buf) => return n,
                () = tokio::time::sleep(Duration::from_millis(200)) => {
                    if stream.write_all(b"X").await.is_err() {
                        return Ok(0);
                    }
                }
            }
        }
    })
    .await;
    assert!(read.is_ok(), "the connection was still open after 10 s");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(!String::from_utf8_lossy(&buf).contains("200 OK"));

    // A body that never arrives: the request times out with a JSON 408
    // and stores nothing.
    let hash = BodyHash::of(&[b'y'; 100]);
    let started = Instant::now();
    let response = raw_request(
        server.addr,
        &format!(
            "PUT /api/v1/bodies/{hash} HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {}\r\n\
             Content-Length: 100\r\n\r\nyyyyyyyyyy",
            base64_basic("editor", PASSWORD)
        ),
    )
    .await;
    assert!(response.starts_with("HTTP/1.1 408"), "{response}");
    assert!(response.contains("\"code\":\"timeout\""), "{response}");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(server.store.body_size(&hash).await.unwrap(), None);
}

fn base64_basic(user: &str, password: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn failed_logins_are_limited_without_telling_who_exists() {
    let server = start_with(
        ServerConfig {
            login_failures_per_user: 3,
            login_failures_per_address: 100,
            ..ServerConfig::default()
        },
        None,
    )
    .await;
    let get = |user: &'static str, password: &'static str| {
        server
            .http
            .get(format!("{}/tree/demo", server.base))
            .basic_auth(user, Some(password))
            .send()
    };
    let mut answers = Vec::new();
    for user in ["reader", "ghost"] {
        for _ in 0..3 {
            assert_eq!(
                get(user, "wrong").await.unwrap().status(),
                StatusCode::UNAUTHORIZED
            );
        }
        let response = get(user, "wrong").await.unwrap();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS, "{user}");
        let retry: u64 = response.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=300).contains(&retry), "{retry}");
        let error: ApiError = response.json().await.unwrap();
        assert_eq!(error.code, "too_many_requests");
        answers.push(error.message.replace(char::is_numeric, "N"));
    }
    // The same answer for a real and a made-up name.
    assert_eq!(answers[0], answers[1]);
    assert!(!answers[0].contains("reader") && !answers[0].contains("ghost"));
    // Even the right password waits out the window.
    assert_eq!(
        get("reader", PASSWORD).await.unwrap().status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    // Other users are not affected.
    assert_eq!(
        get("editor", PASSWORD).await.unwrap().status(),
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn failed_logins_are_limited_per_address() {
    let server = start_with(
        ServerConfig {
            login_failures_per_user: 100,
            login_failures_per_address: 4,
            ..ServerConfig::default()
        },
        None,
    )
    .await;
    for user in ["a1", "a2", "a3", "a4"] {
        let response = server
            .http
            .get(format!("{}/tree/demo", server.base))
            .basic_auth(user, Some("x"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let response = server
        .http
        .get(format!("{}/tree/demo", server.base))
        .basic_auth("reader", Some(PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test(flavor = "multi_thread")]
async fn https_with_a_private_ca() {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let key = rcgen::KeyPair::generate().unwrap();
    let params =
        rcgen::CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .unwrap();
    let cert = params.signed_by(&key, &issuer).unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cert.pem"), cert.pem()).unwrap();
    std::fs::write(dir.path().join("key.pem"), key.serialize_pem()).unwrap();
    let tls = TlsConfig::from_pem_files(&dir.path().join("cert.pem"), &dir.path().join("key.pem"))
        .unwrap();
    let server = start_with(roomy(), Some(tls)).await;

    let trusting = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(ca.pem().as_bytes()).unwrap()])
        .build()
        .unwrap();
    let response = trusting
        .get(format!("{}/tree/public", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    let error = server
        .http
        .get(format!("{}/tree/public", server.base))
        .send()
        .await
        .unwrap_err();
    assert!(error.is_connect(), "{error:?}");

    // Plain HTTP on the HTTPS port gets nowhere.
    let raw = raw_request(
        server.addr,
        "GET /api/v1/tree/public HTTP/1.1\r\nHost: x\r\n\r\n",
    )
    .await;
    assert!(!raw.contains("200 OK"), "{raw}");

    // Bad files are reported, not served.
    let missing =
        TlsConfig::from_pem_files(&dir.path().join("nope.pem"), &dir.path().join("key.pem"));
    assert!(missing.unwrap_err().to_string().contains("nope.pem"));
    let swapped =
        TlsConfig::from_pem_files(&dir.path().join("key.pem"), &dir.path().join("cert.pem"));
    assert!(swapped.is_err());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_commit_id_is_answered_only_to_whoever_committed_it() {
    let server = start_with(roomy(), None).await;
    let id = "0123456789abcdef0123456789abcdef";
    let commit = json!({
        "message": "with an id",
        "ops": [{"op": "add", "path": "demo/once", "kind": "folder"}],
        "id": id,
    });
    let mut answers = Vec::new();
    for _ in 0..2 {
        let response = server
            .http
            .post(format!("{}/commit", server.base))
            .basic_auth("editor", Some(PASSWORD))
            .json(&commit)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        answers.push(response.json::<Value>().await.unwrap());
    }
    assert_eq!(
        answers[0], answers[1],
        "the resent commit gets the first answer"
    );
    let get = |user: &'static str, id: &str| {
        server
            .http
            .get(format!("{}/commits/{id}", server.base))
            .basic_auth(user, Some(PASSWORD))
            .send()
    };
    let own = get("editor", id).await.unwrap();
    assert_eq!(own.status(), StatusCode::OK);
    assert_eq!(own.json::<Value>().await.unwrap(), answers[0]);
    assert_eq!(
        get("manager", id).await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get("editor", "../../etc").await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get("editor", "NOT-AN-ID").await.unwrap().status(),
        StatusCode::BAD_REQUEST
    );
}
