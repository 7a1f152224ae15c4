//! `zsync+ssh://`: the same HTTP/1.1 requests as over TCP, carried on an
//! SSH exec channel running `zsync-serve` (russh), or on the stdin/stdout
//! of an external command named by `ZSYNC_SSH` (e.g. `ssh -p 2222`).
//!
//! The SSH login is the authentication: requests carry no credentials.
//! Host keys are checked against `~/.ssh/fssync_known_hosts`, then
//! `~/.ssh/known_hosts`; an unknown key is asked about through the [`Ui`].

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::client::conn::http1::SendRequest;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use russh::client::{self, AuthResult};
use russh::keys::agent::AgentIdentity;
use russh::keys::{HashAlg, PrivateKey, PrivateKeyWithHashAlg, PublicKey};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, oneshot};
use zsync_format::{
    API_PREFIX, ApiError, ChangeFeed, CommitRequest, CommitResponse, DiffResponse, HashList,
    LockInfo, LockRequest, LogEntry, LoginResponse, Manifest, UnlockRequest,
};
use zsync_model::{BodyHash, CommitId, RepoPath, Rev};

use crate::credentials::{Login, TokenStore};
use crate::error::{ClientError, Result};
use crate::known_hosts::{self, Verdict};
use crate::transport::{ByteStream, Transport};
use crate::ui::Ui;
use crate::url::{ServerUrl, percent_encode};

/// The command the server runs on the exec channel.
pub const SERVE_COMMAND: &str = "zsync-serve";

/// The known_hosts file zsync writes (OpenSSH's own is only read).
pub const KNOWN_HOSTS_FILE: &str = "fssync_known_hosts";

/// Choices from the command line for SSH connections.
#[derive(Clone, Debug, Default)]
pub struct SshOptions {
    /// `-i FILE`: the private key to try (instead of `~/.ssh/id_*`).
    pub identity: Option<PathBuf>,
    /// `--accept-host-key=FINGERPRINT`: trust exactly this unknown host key.
    pub accept_host_key: Option<String>,
}

type Body = BoxBody<Bytes, std::io::Error>;

/// A way to open one more byte stream to the server's `zsync-serve`.
enum Link {
    Russh(client::Handle<KeyCheck>),
    Command(Vec<String>),
}

pub struct SshTransport {
    runtime: Arc<tokio::runtime::Runtime>,
    url: ServerUrl,
    user: String,
    link: Link,
    /// The HTTP connection of the last request, reused while it is idle.
    idle: Mutex<Option<SendRequest<Body>>>,
}

fn connect_error(url: &ServerUrl, detail: impl std::fmt::Display) -> ClientError {
    ClientError::Connect {
        url: url.server(),
        detail: detail.to_string(),
    }
}

fn home() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default()
}

impl SshTransport {
    /// Connects and authenticates (see the module docs for the order).
    /// A password that worked is exchanged for a token (`POST /login` on
    /// the channel), stored in `tokens` and sent as the SSH password next
    /// time, so the password itself is never kept.
    pub fn connect(
        url: &ServerUrl,
        ui: &dyn Ui,
        options: &SshOptions,
        tokens: &TokenStore,
    ) -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .map_err(|e| connect_error(url, format!("cannot start the async runtime: {e}")))?;
        let user = url
            .user
            .clone()
            .or_else(|| std::env::var("USER").ok())
            .or_else(|| std::env::var("LOGNAME").ok())
            .filter(|u| !u.is_empty())
            .ok_or_else(|| ClientError::AuthRequired {
                url: url.redacted(),
                hint: "name the user in the URL (zsync+ssh://USER@HOST/PATH)".into(),
            })?;
        let mut used_password = false;
        let link = match std::env::var("ZSYNC_SSH")
            .ok()
            .filter(|c| !c.trim().is_empty())
        {
            Some(command) => {
                let mut argv: Vec<String> = command.split_whitespace().map(str::to_owned).collect();
                argv.push(format!("{user}@{}", url.host));
                argv.push(SERVE_COMMAND.to_owned());
                Link::Command(argv)
            }
            None => {
                let stored = tokens
                    .find(&url.server(), Some(&user))
                    .ok()
                    .flatten()
                    .map(|login| login.token);
                let (handle, password) =
                    runtime.block_on(open_session(url, &user, ui, options, stored))?;
                used_password = password;
                Link::Russh(handle)
            }
        };
        let transport = Self {
            runtime: Arc::new(runtime),
            url: url.clone(),
            user,
            link,
            idle: Mutex::new(None),
        };
        if used_password {
            // Best effort: without a token the next command asks again.
            if let Ok(login) = transport.http_login() {
                let _ = tokens.save(Login {
                    server: url.server(),
                    user: login.user,
                    token: login.token,
                    expires: login.expires,
                });
            }
        }
        Ok(transport)
    }

    /// An HTTP connection: the idle one, or a new channel or process.
    async fn sender(&self) -> Result<SendRequest<Body>> {
        let cached = self.idle.lock().ok().and_then(|mut idle| idle.take());
        if let Some(mut sender) = cached
            && sender.ready().await.is_ok()
        {
            return Ok(sender);
        }
        match &self.link {
            Link::Russh(handle) => {
                let channel = handle
                    .channel_open_session()
                    .await
                    .map_err(|e| connect_error(&self.url, format!("cannot open a channel: {e}")))?;
                channel.exec(true, SERVE_COMMAND).await.map_err(|e| {
                    connect_error(&self.url, format!("cannot run {SERVE_COMMAND}: {e}"))
                })?;
                self.handshake(channel.into_stream()).await
            }
            Link::Command(argv) => {
                let (program, args) = argv
                    .split_first()
                    .ok_or_else(|| connect_error(&self.url, "ZSYNC_SSH is empty"))?;
                let mut child = tokio::process::Command::new(program)
                    .args(args)
                    .stdin(std::process::Stdio::piped())
                    .stdout(std::process::Stdio::piped())
                    .kill_on_drop(true)
                    .spawn()
                    .map_err(|e| {
                        connect_error(&self.url, format!("cannot run ZSYNC_SSH ({program}): {e}"))
                    })?;
                let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
                    return Err(connect_error(&self.url, "ZSYNC_SSH has no pipes"));
                };
                // The process is reaped when the connection ends.
                tokio::spawn(async move {
                    let _ = child.wait().await;
                });
                self.handshake(tokio::io::join(stdout, stdin)).await
            }
        }
    }

    async fn handshake<I>(&self, io: I) -> Result<SendRequest<Body>>
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(io))
            .await
            .map_err(|e| connect_error(&self.url, e))?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(sender)
    }

    fn uri(&self, route: &str, path: Option<&RepoPath>, query: Option<String>) -> String {
        let mut s = format!("{API_PREFIX}/{route}");
        if let Some(path) = path {
            for c in path.components() {
                s.push('/');
                s.push_str(&percent_encode(c));
            }
        }
        if let Some(q) = query {
            s.push('?');
            s.push_str(&q);
        }
        s
    }

    /// Sends one request; a non-2xx answer becomes the matching error.
    fn send(
        &self,
        method: Method,
        uri: String,
        body: Body,
        length: Option<u64>,
        json: bool,
    ) -> Result<Response<Incoming>> {
        self.runtime.block_on(async {
            let mut sender = self.sender().await?;
            let mut request = Request::builder()
                .method(method)
                .uri(uri)
                .header(hyper::header::HOST, self.url.host.as_str())
                .header(
                    hyper::header::USER_AGENT,
                    concat!("zsync/", env!("CARGO_PKG_VERSION")),
                );
            if let Some(length) = length {
                request = request.header(hyper::header::CONTENT_LENGTH, length);
            }
            if json {
                request = request.header(hyper::header::CONTENT_TYPE, "application/json");
            }
            let request = request
                .body(body)
                .map_err(|e| ClientError::Protocol(e.to_string()))?;
            let response = sender
                .send_request(request)
                .await
                .map_err(|e| connect_error(&self.url, e))?;
            if let Ok(mut idle) = self.idle.lock() {
                *idle = Some(sender);
            }
            if response.status().is_success() {
                return Ok(response);
            }
            let status = response.status();
            let text = response
                .into_body()
                .collect()
                .await
                .map(|b| String::from_utf8_lossy(&b.to_bytes()).into_owned())
                .unwrap_or_default();
            Err(self.error_from(status, &text))
        })
    }

    fn error_from(&self, status: StatusCode, text: &str) -> ClientError {
        let status = status.as_u16();
        let api: Option<ApiError> = serde_json::from_str(text).ok();
        let message = api
            .as_ref()
            .map(|a| a.message.clone())
            .unwrap_or_else(|| text.chars().take(300).collect::<String>().trim().to_owned());
        match status {
            401 => ClientError::AuthFailed {
                user: self.user.clone(),
                url: self.url.server(),
            },
            403 => match api {
                Some(a) if !a.paths.is_empty() => ClientError::ForbiddenPaths {
                    message,
                    problems: a.paths,
                },
                _ => ClientError::Forbidden(message),
            },
            404 => ClientError::NotFound { what: message },
            423 => ClientError::LockedPaths {
                message,
                problems: api.map(|a| a.paths).unwrap_or_default(),
            },
            409 if api.as_ref().is_some_and(|a| a.code == "stale") => ClientError::Stale {
                paths: api
                    .map(|a| a.paths.into_iter().map(|p| p.path).collect())
                    .unwrap_or_default(),
            },
            422 => ClientError::Invalid {
                problems: api.map(|a| a.paths).unwrap_or_default(),
            },
            400..=499 => ClientError::Rejected { status, message },
            _ => ClientError::Server { status, message },
        }
    }

    fn http_login(&self) -> Result<LoginResponse> {
        let response = self.send(
            Method::POST,
            self.uri("login", None, None),
            empty(),
            None,
            false,
        )?;
        self.json(response)
    }

    fn get(&self, uri: String) -> Result<Response<Incoming>> {
        self.send(Method::GET, uri, empty(), None, false)
    }

    fn post_json<T: serde::Serialize>(&self, uri: String, value: &T) -> Result<Response<Incoming>> {
        let bytes = serde_json::to_vec(value).map_err(|e| ClientError::Protocol(e.to_string()))?;
        let length = bytes.len() as u64;
        let body = Full::new(Bytes::from(bytes))
            .map_err(|never| match never {})
            .boxed();
        self.send(Method::POST, uri, body, Some(length), true)
    }

    fn json<T: serde::de::DeserializeOwned>(&self, response: Response<Incoming>) -> Result<T> {
        let bytes = self
            .runtime
            .block_on(response.into_body().collect())
            .map_err(|e| connect_error(&self.url, e))?
            .to_bytes();
        serde_json::from_slice(&bytes).map_err(|e| ClientError::Protocol(e.to_string()))
    }

    fn stream(&self, response: Response<Incoming>) -> ByteStream {
        Box::new(BodyReader {
            runtime: Arc::clone(&self.runtime),
            body: response.into_body(),
            pending: Bytes::new(),
        })
    }
}

fn empty() -> Body {
    Full::new(Bytes::new())
        .map_err(|never| match never {})
        .boxed()
}

/// A response body read synchronously, frame by frame.
struct BodyReader {
    runtime: Arc<tokio::runtime::Runtime>,
    body: Incoming,
    pending: Bytes,
}

impl Read for BodyReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            if !self.pending.is_empty() {
                let n = buf.len().min(self.pending.len());
                buf[..n].copy_from_slice(&self.pending.split_to(n));
                return Ok(n);
            }
            match self.runtime.block_on(self.body.frame()) {
                None => return Ok(0),
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        self.pending = data;
                    }
                }
                Some(Err(e)) => return Err(std::io::Error::other(e)),
            }
        }
    }
}

impl Transport for SshTransport {
    fn manifest(&self, path: &RepoPath) -> Result<Manifest> {
        let response = self.get(self.uri("tree", Some(path), None))?;
        self.json(response)
    }

    fn manifest_at(&self, path: &RepoPath, rev: Rev) -> Result<Manifest> {
        let response = self.get(self.uri("tree", Some(path), Some(format!("rev={rev}"))))?;
        self.json(response)
    }

    fn archive(&self, path: &RepoPath) -> Result<ByteStream> {
        let response = self.get(self.uri("archive", Some(path), None))?;
        Ok(self.stream(response))
    }

    fn fetch_bodies(&self, hashes: &[BodyHash]) -> Result<ByteStream> {
        let list = HashList {
            hashes: hashes.to_vec(),
        };
        let response = self.post_json(self.uri("bodies/fetch", None, None), &list)?;
        Ok(self.stream(response))
    }

    fn missing_bodies(&self, hashes: &[BodyHash]) -> Result<Vec<BodyHash>> {
        let list = HashList {
            hashes: hashes.to_vec(),
        };
        let response = self.post_json(self.uri("bodies/missing", None, None), &list)?;
        Ok(self.json::<HashList>(response)?.hashes)
    }

    fn upload_body(&self, hash: &BodyHash, body: std::fs::File, size: u64) -> Result<()> {
        let uri = self.uri(&format!("bodies/{}", hash.to_hex()), None, None);
        // Entered so that the file and its stream belong to our runtime.
        let body = {
            let _runtime = self.runtime.enter();
            let file = tokio::fs::File::from_std(body);
            let stream =
                futures_util::StreamExt::map(tokio_util::io::ReaderStream::new(file), |chunk| {
                    chunk.map(Frame::data)
                });
            BodyExt::boxed(StreamBody::new(stream))
        };
        self.send(Method::PUT, uri, body, Some(size), false)?;
        Ok(())
    }

    fn upload_batch(&self, batch: Vec<u8>) -> Result<()> {
        let length = batch.len() as u64;
        let body = Full::new(Bytes::from(batch))
            .map_err(|never| match never {})
            .boxed();
        self.send(
            Method::POST,
            self.uri("bodies", None, None),
            body,
            Some(length),
            false,
        )?;
        Ok(())
    }

    fn commit(&self, request: &CommitRequest) -> Result<CommitResponse> {
        let response = self.post_json(self.uri("commit", None, None), request)?;
        self.json(response)
    }

    fn commit_result(&self, id: &CommitId) -> Result<Option<CommitResponse>> {
        match self.get(self.uri(&format!("commits/{id}"), None, None)) {
            Ok(response) => self.json(response).map(Some),
            Err(ClientError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn log(&self, path: &RepoPath, limit: Option<u32>) -> Result<Vec<LogEntry>> {
        let query = limit.map(|l| format!("limit={l}"));
        let response = self.get(self.uri("log", Some(path), query))?;
        self.json(response)
    }

    fn diff(&self, path: &RepoPath, from: Rev, to: Rev) -> Result<DiffResponse> {
        let query = Some(format!("from={from}&to={to}"));
        let response = self.get(self.uri("diff", Some(path), query))?;
        self.json(response)
    }

    fn changes(&self, path: &RepoPath, since: Rev, wait: u64) -> Result<ChangeFeed> {
        let query = Some(format!("since={since}&wait={wait}"));
        let response = self.get(self.uri("changes", Some(path), query))?;
        self.json(response)
    }

    fn lock(&self, request: &LockRequest) -> Result<Vec<LockInfo>> {
        let response = self.post_json(self.uri("locks", None, None), request)?;
        self.json(response)
    }

    fn unlock(&self, request: &UnlockRequest) -> Result<Vec<LockInfo>> {
        let response = self.post_json(self.uri("unlock", None, None), request)?;
        self.json(response)
    }

    fn locks(&self, path: &RepoPath) -> Result<Vec<LockInfo>> {
        let response = self.get(self.uri("locks", Some(path), None))?;
        self.json(response)
    }

    fn login(&self) -> Result<LoginResponse> {
        Err(ClientError::refused(
            self.url.redacted(),
            "over SSH the SSH login is the authentication; no zsync login is needed",
        ))
    }

    fn logout(&self) -> Result<()> {
        Err(ClientError::refused(
            self.url.redacted(),
            "over SSH there is no stored zsync login to end",
        ))
    }

    fn user_name(&self) -> &str {
        &self.user
    }
}

/// The russh handler: hands the server's host key to the connecting
/// thread and waits for its verdict (which may involve asking the user).
struct KeyCheck {
    questions: mpsc::UnboundedSender<(PublicKey, oneshot::Sender<bool>)>,
}

impl client::Handler for KeyCheck {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        key: &russh::keys::PublicKeyOrCertificate,
    ) -> std::result::Result<bool, Self::Error> {
        let russh::keys::PublicKeyOrCertificate::PublicKey { key, .. } = key else {
            // Host certificates would need a CA; none is configured.
            return Ok(false);
        };
        let (answer, wait) = oneshot::channel();
        if self.questions.send((key.clone(), answer)).is_err() {
            return Ok(false);
        }
        Ok(wait.await.unwrap_or(false))
    }
}

/// Connects, checks the host key and authenticates.
async fn open_session(
    url: &ServerUrl,
    user: &str,
    ui: &dyn Ui,
    options: &SshOptions,
    stored_token: Option<String>,
) -> Result<(client::Handle<KeyCheck>, bool)> {
    let tcp = tokio::net::TcpStream::connect((url.host.as_str(), url.port))
        .await
        .map_err(|e| connect_error(url, e))?;
    let _ = tcp.set_nodelay(true);
    let config = Arc::new(client::Config {
        nodelay: true,
        ..Default::default()
    });
    let (questions, mut asked) = mpsc::unbounded_channel();
    let connecting = client::connect_stream(config, tcp, KeyCheck { questions });
    tokio::pin!(connecting);
    let mut refusal = None;
    let connected = loop {
        tokio::select! {
            result = &mut connecting => break result,
            Some((key, answer)) = asked.recv() => {
                let verdict = check_host_key(url, &key, ui, options);
                let trusted = verdict.is_ok();
                if let Err(e) = verdict {
                    refusal = Some(e);
                }
                let _ = answer.send(trusted);
            }
        }
    };
    let mut handle = match (connected, refusal) {
        (Ok(handle), _) => handle,
        (Err(_), Some(refusal)) => return Err(refusal),
        (Err(e), None) => return Err(connect_error(url, e)),
    };
    let used_password = authenticate(&mut handle, url, user, ui, options, stored_token).await?;
    Ok((handle, used_password))
}

/// Ok if the host key is trusted (perhaps just now, by the user).
fn check_host_key(
    url: &ServerUrl,
    key: &PublicKey,
    ui: &dyn Ui,
    options: &SshOptions,
) -> Result<()> {
    let ssh_dir = home().join(".ssh");
    let ours = ssh_dir.join(KNOWN_HOSTS_FILE);
    let files = [ours.clone(), ssh_dir.join("known_hosts")];
    let fingerprint = key.fingerprint(HashAlg::Sha256).to_string();
    let host = known_hosts::host_entry(&url.host, url.port);
    match known_hosts::check(&files, &url.host, url.port, key) {
        Verdict::Known => Ok(()),
        Verdict::Changed { file, line } => Err(connect_error(
            url,
            format!(
                "WARNING: THE HOST KEY OF {host} HAS CHANGED! Someone may be intercepting \
                 the connection, or the server's key was replaced. It now offers {} {fingerprint}, \
                 which does not match line {line} of {}. Refusing to connect; if the change is \
                 expected, remove that line.",
                key.algorithm(),
                file.display()
            ),
        )),
        Verdict::Unknown => {
            if let Some(accepted) = &options.accept_host_key {
                if accepted.trim() == fingerprint {
                    return known_hosts::append(&ours, &url.host, url.port, key);
                }
                return Err(connect_error(
                    url,
                    format!(
                        "the host key of {host} is {fingerprint}, not the {} given with \
                         --accept-host-key; refusing to connect",
                        accepted.trim()
                    ),
                ));
            }
            let question = format!(
                "The authenticity of host {host} can't be established.\n\
                 {} key fingerprint is {fingerprint}.\n\
                 Are you sure you want to continue connecting (yes/no)? ",
                key.algorithm()
            );
            match ui.confirm(&question) {
                Some(true) => known_hosts::append(&ours, &url.host, url.port, key),
                Some(false) => Err(connect_error(
                    url,
                    "host key verification failed: the host key was not accepted",
                )),
                None => Err(connect_error(
                    url,
                    format!(
                        "the host key of {host} is unknown ({fingerprint}) and there is no \
                         terminal to ask on; check it, then pass \
                         --accept-host-key={fingerprint}"
                    ),
                )),
            }
        }
    }
}

/// Password from the URL or a stored token, the agent, key files, then a
/// password prompt. True if the account's password was used.
async fn authenticate(
    handle: &mut client::Handle<KeyCheck>,
    url: &ServerUrl,
    user: &str,
    ui: &dyn Ui,
    options: &SshOptions,
    stored_token: Option<String>,
) -> Result<bool> {
    let failed = |e: russh::Error| connect_error(url, format!("SSH authentication: {e}"));
    if let Some(password) = &url.password {
        let result = handle
            .authenticate_password(user, password.as_str())
            .await
            .map_err(failed)?;
        if result.success() {
            return Ok(true);
        }
        return Err(ClientError::AuthFailed {
            user: user.to_owned(),
            url: url.server(),
        });
    }
    if let Some(token) = stored_token {
        let result = handle
            .authenticate_password(user, token)
            .await
            .map_err(failed)?;
        if result.success() {
            return Ok(false);
        }
    }
    // RSA keys sign with SHA-2; `None` from the server means it did not
    // say, and SHA-256 is what every current server accepts.
    let rsa_hash = handle
        .best_supported_rsa_hash()
        .await
        .ok()
        .flatten()
        .flatten()
        .or(Some(HashAlg::Sha256));

    if let Ok(mut agent) = russh::keys::agent::client::AgentClient::connect_env().await {
        let identities = agent.request_identities().await.unwrap_or_default();
        for identity in identities {
            let AgentIdentity::PublicKey { key, .. } = identity else {
                continue;
            };
            let hash = if key.algorithm().is_rsa() {
                rsa_hash
            } else {
                None
            };
            if let Ok(AuthResult::Success) = handle
                .authenticate_publickey_with(user, key, hash, &mut agent)
                .await
            {
                return Ok(false);
            }
        }
    }

    let files: Vec<PathBuf> = match &options.identity {
        Some(file) => vec![file.clone()],
        None => ["id_ed25519", "id_ecdsa", "id_rsa"]
            .iter()
            .map(|name| home().join(".ssh").join(name))
            .filter(|p| p.exists())
            .collect(),
    };
    for file in files {
        let key = load_key(url, &file, ui)?;
        let hash = if key.algorithm().is_rsa() {
            rsa_hash
        } else {
            None
        };
        let result = handle
            .authenticate_publickey(user, PrivateKeyWithHashAlg::new(Arc::new(key), hash))
            .await
            .map_err(failed)?;
        if result.success() {
            return Ok(false);
        }
    }

    let prompt = format!("Password for {user} at {}: ", url.server());
    let Some(password) = ui.password(&prompt) else {
        return Err(ClientError::AuthRequired {
            url: url.redacted(),
            hint: format!(
                "no SSH key of yours is registered for {user} and there is no terminal to ask \
                 for a password; register a key with `zsyncd key add`, or put the password in \
                 the URL"
            ),
        });
    };
    let result = handle
        .authenticate_password(user, password)
        .await
        .map_err(failed)?;
    if result.success() {
        Ok(true)
    } else {
        Err(ClientError::AuthFailed {
            user: user.to_owned(),
            url: url.server(),
        })
    }
}

/// Reads a private key, asking for its passphrase if it is encrypted.
fn load_key(url: &ServerUrl, file: &Path, ui: &dyn Ui) -> Result<PrivateKey> {
    match russh::keys::load_secret_key(file, None) {
        Ok(key) => Ok(key),
        Err(russh::keys::Error::KeyIsEncrypted) => {
            let prompt = format!("Enter passphrase for key '{}': ", file.display());
            let passphrase = ui.password(&prompt).ok_or_else(|| {
                ClientError::refused(
                    file.display(),
                    "the key is encrypted and there is no terminal to ask for its passphrase \
                     on; load it into ssh-agent first",
                )
            })?;
            russh::keys::load_secret_key(file, Some(&passphrase)).map_err(|e| {
                ClientError::refused(
                    file.display(),
                    format!("cannot decrypt the key (wrong passphrase?): {e}"),
                )
            })
        }
        Err(e) => Err(ClientError::refused(
            file.display(),
            format!("cannot read the SSH key for {}: {e}", url.server()),
        )),
    }
}
