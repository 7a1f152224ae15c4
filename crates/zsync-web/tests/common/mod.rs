//! A real server for the UI's tests: `SqlStore` on SQLite in a temp dir,
//! the API and the UI on 127.0.0.1:0, and a cookie-keeping HTTP client
//! that logs in through the login form.

#![allow(dead_code)]

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::redirect::Policy;
use tempfile::TempDir;
use zsync_format::{CommitOp, CommitRequest};
use zsync_model::{BodyHash, Kind, Props, RepoPath, Role};
use zsync_server::{ServerConfig, ServerState};
use zsync_store::{SqlStore, Store, UserRecord};

pub struct TestServer {
    pub base: String,
    pub store: SqlStore,
    _dir: TempDir,
    _stop: tokio::sync::oneshot::Sender<()>,
}

pub fn p(s: &str) -> RepoPath {
    RepoPath::parse(s).unwrap()
}

impl TestServer {
    /// Users: `mia` (Manager at /), `eddie` (Editor on /docs), `rita`
    /// (Reader on /docs), all with password `pw-NAME`; content: /docs and
    /// /docs/a.txt ("one\ntwo\n").
    pub async fn start() -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let store = SqlStore::open(dir.path()).await.unwrap();
        for (name, grant) in [
            ("mia", Some(("", Role::Manager))),
            ("eddie", Some(("docs", Role::Editor))),
            ("rita", Some(("docs", Role::Reader))),
            ("bob", Some(("", Role::Editor))),
        ] {
            let password = format!("pw-{name}");
            let hash = tokio::task::spawn_blocking(move || zsync_server::hash_password(&password))
                .await
                .unwrap()
                .unwrap();
            store
                .add_user(&UserRecord {
                    name: name.into(),
                    password_hash: hash,
                    role: None,
                    disabled: false,
                })
                .await
                .unwrap();
            if let Some((path, role)) = grant {
                let path = if path.is_empty() {
                    RepoPath::root()
                } else {
                    p(path)
                };
                store.grant(name, &path, role).await.unwrap();
            }
        }
        let text = b"one\ntwo\n";
        let hash = BodyHash::of(text);
        store.put_body(hash, &text[..], 1 << 20).await.unwrap();
        store
            .commit(
                "mia",
                &CommitRequest {
                    message: "setup".into(),
                    id: None,
                    keep_locks: false,
                    ops: vec![
                        CommitOp::Add {
                            path: p("docs"),
                            kind: Kind::folder(),
                            props: Props::new(),
                            hash: None,
                        },
                        CommitOp::Add {
                            path: p("docs/a.txt"),
                            kind: Kind::document(),
                            props: Props::from([("title".into(), "A".into())]),
                            hash: Some(hash),
                        },
                    ],
                },
            )
            .await
            .unwrap();
        let config = ServerConfig {
            login_failures_per_user: 3,
            ..ServerConfig::default()
        };
        let state = ServerState::new(store.clone(), config);
        let web = zsync_web::router(state.clone(), zsync_web::WebConfig::default());
        let config = state.config.clone();
        let app = zsync_server::router_with(state, web);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            zsync_server::serve_app(listener, app, &config, None, async {
                let _ = stopped.await;
            })
            .await
        });
        TestServer {
            base,
            store,
            _dir: dir,
            _stop: stop,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A browser-like client (cookies, no automatic redirects).
    pub fn client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .cookie_store(true)
            .redirect(Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap()
    }

    /// Logs in through the form; returns the client and the session's
    /// CSRF token.
    pub async fn login(&self, user: &str) -> (reqwest::Client, String) {
        let client = self.client();
        let password = format!("pw-{user}");
        let response = self.post_login(&client, user, &password).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "login as {user}");
        let page = client
            .get(self.url("/manage/browse/docs"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let csrf = field(&page, "csrf").expect("a CSRF token on the page");
        (client, csrf)
    }

    pub async fn post_login(
        &self,
        client: &reqwest::Client,
        user: &str,
        password: &str,
    ) -> reqwest::Response {
        let form = client
            .get(self.url("/manage/login"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let nonce = field(&form, "nonce").unwrap();
        client
            .post(self.url("/manage/login"))
            .form(&[("user", user), ("password", password), ("nonce", &nonce)])
            .send()
            .await
            .unwrap()
    }

    pub async fn text_of(&self, path: &str) -> Option<String> {
        use futures_util::TryStreamExt;
        let object = self.store.object(&p(path)).await.unwrap()?;
        let stream = self.store.read_body(&object.hash?).await.unwrap();
        let chunks: Vec<_> = stream.try_collect().await.unwrap();
        Some(String::from_utf8(chunks.concat()).unwrap())
    }
}

/// The value of the first hidden input named `name` on a page.
pub fn field(page: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page.find(&marker)? + marker.len();
    let end = page[start..].find('"')? + start;
    Some(page[start..end].to_owned())
}
