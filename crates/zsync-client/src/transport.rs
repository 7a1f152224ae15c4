//! How the client talks to a server. [`Transport`] is the role; the
//! [`HttpTransport`] speaks the `/api/v1` HTTP API.

use std::io::Read;
use std::path::PathBuf;
use std::time::Duration;

use base64::Engine;
use zsync_format::{
    API_PREFIX, ApiError, ChangeFeed, CommitRequest, CommitResponse, DiffResponse, HashList,
    LockInfo, LockRequest, LogEntry, LoginResponse, Manifest, UnlockRequest,
};
use zsync_model::{BodyHash, CommitId, RepoPath, Rev};

use crate::error::{ClientError, Result};
use crate::url::{Scheme, ServerUrl, percent_encode};

/// A byte stream from the server (an archive).
pub type ByteStream = Box<dyn Read + Send>;

/// The requests of the sync protocol. Blocking: the working-copy code is
/// sequential file I/O, and a transport may run its own runtime inside.
/// `Sync`: bodies are uploaded on a few threads at once.
pub trait Transport: Sync {
    fn manifest(&self, path: &RepoPath) -> Result<Manifest>;
    /// The subtree as it was at revision `rev`.
    fn manifest_at(&self, path: &RepoPath, rev: Rev) -> Result<Manifest>;
    /// The subtree as one archive stream (manifest, then bodies).
    fn archive(&self, path: &RepoPath) -> Result<ByteStream>;
    /// An archive holding just these bodies.
    fn fetch_bodies(&self, hashes: &[BodyHash]) -> Result<ByteStream>;
    fn missing_bodies(&self, hashes: &[BodyHash]) -> Result<Vec<BodyHash>>;
    fn upload_body(&self, hash: &BodyHash, body: std::fs::File, size: u64) -> Result<()>;
    /// Uploads many small bodies in one request: a finished
    /// [`zsync_format::batch`], stored by the server all or none.
    fn upload_batch(&self, batch: Vec<u8>) -> Result<()>;
    fn commit(&self, request: &CommitRequest) -> Result<CommitResponse>;
    /// The result of this user's commit `id`, or `None` if it never landed.
    fn commit_result(&self, id: &CommitId) -> Result<Option<CommitResponse>>;
    fn log(&self, path: &RepoPath, limit: Option<u32>) -> Result<Vec<LogEntry>>;
    /// What changed in the subtree between two revisions, diffed by the
    /// server.
    fn diff(&self, path: &RepoPath, from: Rev, to: Rev) -> Result<DiffResponse>;
    /// The revisions after `since` that changed something at or below
    /// `path`; the server waits up to `wait` seconds for one to come.
    fn changes(&self, path: &RepoPath, since: Rev, wait: u64) -> Result<ChangeFeed>;
    /// Locks objects, all or none; the answer carries each new token.
    fn lock(&self, request: &LockRequest) -> Result<Vec<LockInfo>>;
    /// Releases (or with `force`, breaks) locks; answers those removed.
    fn unlock(&self, request: &UnlockRequest) -> Result<Vec<LockInfo>>;
    /// The locks at `path` and below.
    fn locks(&self, path: &RepoPath) -> Result<Vec<LockInfo>>;
    /// Exchanges the current credentials for a token.
    fn login(&self) -> Result<LoginResponse>;
    /// Revokes the current token.
    fn logout(&self) -> Result<()>;
    /// Whom the server sees: the commit author.
    fn user_name(&self) -> &str {
        "anonymous"
    }
}

/// A boxed transport is one too, so commands can take either kind.
impl<T: Transport + ?Sized> Transport for Box<T> {
    fn manifest(&self, path: &RepoPath) -> Result<Manifest> {
        (**self).manifest(path)
    }
    fn manifest_at(&self, path: &RepoPath, rev: Rev) -> Result<Manifest> {
        (**self).manifest_at(path, rev)
    }
    fn archive(&self, path: &RepoPath) -> Result<ByteStream> {
        (**self).archive(path)
    }
    fn fetch_bodies(&self, hashes: &[BodyHash]) -> Result<ByteStream> {
        (**self).fetch_bodies(hashes)
    }
    fn missing_bodies(&self, hashes: &[BodyHash]) -> Result<Vec<BodyHash>> {
        (**self).missing_bodies(hashes)
    }
    fn upload_body(&self, hash: &BodyHash, body: std::fs::File, size: u64) -> Result<()> {
        (**self).upload_body(hash, body, size)
    }
    fn upload_batch(&self, batch: Vec<u8>) -> Result<()> {
        (**self).upload_batch(batch)
    }
    fn commit(&self, request: &CommitRequest) -> Result<CommitResponse> {
        (**self).commit(request)
    }
    fn commit_result(&self, id: &CommitId) -> Result<Option<CommitResponse>> {
        (**self).commit_result(id)
    }
    fn log(&self, path: &RepoPath, limit: Option<u32>) -> Result<Vec<LogEntry>> {
        (**self).log(path, limit)
    }
    fn diff(&self, path: &RepoPath, from: Rev, to: Rev) -> Result<DiffResponse> {
        (**self).diff(path, from, to)
    }
    fn changes(&self, path: &RepoPath, since: Rev, wait: u64) -> Result<ChangeFeed> {
        (**self).changes(path, since, wait)
    }
    fn lock(&self, request: &LockRequest) -> Result<Vec<LockInfo>> {
        (**self).lock(request)
    }
    fn unlock(&self, request: &UnlockRequest) -> Result<Vec<LockInfo>> {
        (**self).unlock(request)
    }
    fn locks(&self, path: &RepoPath) -> Result<Vec<LockInfo>> {
        (**self).locks(path)
    }
    fn login(&self) -> Result<LoginResponse> {
        (**self).login()
    }
    fn logout(&self) -> Result<()> {
        (**self).logout()
    }
    fn user_name(&self) -> &str {
        (**self).user_name()
    }
}

#[derive(Clone)]
pub enum Auth {
    None,
    Basic { user: String, password: String },
    Bearer { user: String, token: String },
}

impl Auth {
    pub fn user(&self) -> &str {
        match self {
            Auth::None => "anonymous",
            Auth::Basic { user, .. } | Auth::Bearer { user, .. } => user,
        }
    }
}

/// How HTTPS servers are verified: against the system's trusted
/// certificates plus `ca_certs` (PEM files), or, with `insecure`, not at all.
#[derive(Clone, Debug, Default)]
pub struct TlsOptions {
    pub ca_certs: Vec<PathBuf>,
    pub insecure: bool,
}

/// A streamed response read on the calling thread: its own
/// single-threaded runtime drives the connection inside each read.
/// reqwest's blocking client drives it on a thread of its own and hands
/// over each chunk as it arrives, waking both threads per chunk: some
/// 85,000 thread switches in a 20,000-file checkout.
struct StreamedBody {
    runtime: tokio::runtime::Runtime,
    response: reqwest::Response,
    chunk: bytes::Bytes,
}

impl Read for StreamedBody {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.chunk.is_empty() {
            match self.runtime.block_on(self.response.chunk()) {
                Ok(Some(chunk)) => self.chunk = chunk,
                Ok(None) => return Ok(0),
                Err(e) => return Err(std::io::Error::other(e)),
            }
        }
        let n = buf.len().min(self.chunk.len());
        buf[..n].copy_from_slice(&self.chunk[..n]);
        bytes::Buf::advance(&mut self.chunk, n);
        Ok(n)
    }
}

/// Redirects followed, as reqwest does by default.
const MAX_REDIRECTS: usize = 10;

pub struct HttpTransport {
    client: reqwest::blocking::Client,
    url: ServerUrl,
    auth: Auth,
    /// For the client of each streamed response (see [`StreamedBody`]).
    tls: TlsOptions,
}

/// Applies zsync's settings to a reqwest client builder, blocking or not
/// (the two have the same methods but no common trait).
macro_rules! configured {
    ($builder:expr, $url:expr, $tls:expr) => {{
        let builder = $builder;
        let builder = if $url.scheme == Scheme::Http {
            // Plain HTTP needs no roots (loading the system's was a few ms
            // of every command); a redirect to https:// would then fail
            // on its certificate, so it is refused with a hint instead.
            builder
                .tls_certs_only(Vec::new())
                .redirect(reqwest::redirect::Policy::custom(|attempt| {
                    if attempt.url().scheme() == "https" {
                        attempt.error("the server redirects to https://; use the https:// URL")
                    } else if attempt.previous().len() >= MAX_REDIRECTS {
                        attempt.error("too many redirects")
                    } else {
                        attempt.follow()
                    }
                }))
        } else {
            // Extra roots are trusted besides the system's, not instead.
            builder.tls_certs_merge(ca_certificates($tls)?)
        };
        builder
            .tls_danger_accept_invalid_certs($tls.insecure)
            .connect_timeout(Duration::from_secs(15))
            .user_agent(concat!("zsync/", env!("CARGO_PKG_VERSION")))
    }};
}

/// The certificates of the PEM files in `tls.ca_certs`.
fn ca_certificates(tls: &TlsOptions) -> Result<Vec<reqwest::Certificate>> {
    let mut certs = Vec::new();
    for path in &tls.ca_certs {
        let pem = std::fs::read(path).map_err(ClientError::io(path))?;
        let found = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
            ClientError::refused(path.display(), format!("not a PEM certificate: {e}"))
        })?;
        if found.is_empty() {
            return Err(ClientError::refused(
                path.display(),
                "holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
            ));
        }
        certs.extend(found);
    }
    Ok(certs)
}

impl HttpTransport {
    pub fn new(url: &ServerUrl, auth: Auth) -> Result<Self> {
        Self::with_tls(url, auth, &TlsOptions::default())
    }

    pub fn with_tls(url: &ServerUrl, auth: Auth, tls: &TlsOptions) -> Result<Self> {
        let client = configured!(reqwest::blocking::Client::builder(), url, tls)
            // Long answers stream for a long time: no overall timeout
            // (the async client, for streams, has none by default).
            .timeout(None)
            .build()
            .map_err(|e| ClientError::Connect {
                url: url.server(),
                detail: e.to_string(),
            })?;
        Ok(Self {
            client,
            url: url.clone(),
            auth,
            tls: tls.clone(),
        })
    }

    pub fn set_auth(&mut self, auth: Auth) {
        self.auth = auth;
    }

    pub fn auth(&self) -> &Auth {
        &self.auth
    }

    fn endpoint(&self, route: &str, path: Option<&RepoPath>) -> String {
        let mut s = format!("{}{}/{}", self.url.server(), API_PREFIX, route);
        if let Some(path) = path {
            for c in path.components() {
                s.push('/');
                s.push_str(&percent_encode(c));
            }
        }
        s
    }

    /// The `Authorization` header this transport sends, if any.
    fn authorization(&self) -> Option<String> {
        match &self.auth {
            Auth::None => None,
            Auth::Basic { user, password } => Some(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
            )),
            Auth::Bearer { token, .. } => Some(format!("Bearer {token}")),
        }
    }

    fn send(
        &self,
        request: reqwest::blocking::RequestBuilder,
    ) -> Result<reqwest::blocking::Response> {
        let request = match self.authorization() {
            Some(value) => request.header(reqwest::header::AUTHORIZATION, value),
            None => request,
        };
        let response = request.send().map_err(|e| self.network_error(e))?;
        if response.status().is_success() {
            return Ok(response);
        }
        let status = response.status().as_u16();
        let text = response.text().unwrap_or_default();
        Err(self.error_of(status, &text))
    }

    /// Sends a request whose answer is a long byte stream (an archive),
    /// read as a [`StreamedBody`].
    fn stream(
        &self,
        method: reqwest::Method,
        url: String,
        json: Option<&HashList>,
    ) -> Result<ByteStream> {
        let connect_error = |detail: String| ClientError::Connect {
            url: self.url.server(),
            detail,
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| connect_error(e.to_string()))?;
        let client = configured!(reqwest::Client::builder(), &self.url, &self.tls)
            .build()
            .map_err(|e| connect_error(e.to_string()))?;
        let mut request = client.request(method, url);
        if let Some(value) = self.authorization() {
            request = request.header(reqwest::header::AUTHORIZATION, value);
        }
        if let Some(json) = json {
            request = request.json(json);
        }
        let response = runtime
            .block_on(request.send())
            .map_err(|e| self.network_error(e))?;
        if !response.status().is_success() {
            let status = response.status().as_u16();
            let text = runtime.block_on(response.text()).unwrap_or_default();
            return Err(self.error_of(status, &text));
        }
        Ok(Box::new(StreamedBody {
            runtime,
            response,
            chunk: bytes::Bytes::new(),
        }))
    }

    fn network_error(&self, e: reqwest::Error) -> ClientError {
        let mut detail = e.to_string();
        let mut source = std::error::Error::source(&e);
        let mut certificate = false;
        while let Some(s) = source {
            detail = s.to_string();
            // rustls and the platform verifier say "certificate" in every
            // verification failure; nothing else on the way does.
            certificate |= detail.contains("certificate");
            source = s.source();
        }
        if certificate {
            return ClientError::Certificate {
                host: self.url.server(),
                detail,
            };
        }
        ClientError::Connect {
            url: self.url.server(),
            detail,
        }
    }

    fn error_of(&self, status: u16, text: &str) -> ClientError {
        let api: Option<ApiError> = serde_json::from_str(text).ok();
        let message = api
            .as_ref()
            .map(|a| a.message.clone())
            .unwrap_or_else(|| text.chars().take(300).collect::<String>().trim().to_owned());
        match status {
            401 => match self.auth {
                Auth::None => ClientError::AuthRequired {
                    url: self.url.redacted(),
                    hint: "put the user and password in the URL once (http://USER:PASSWORD@HOST/PATH), or run `zsync login URL`".into(),
                },
                Auth::Bearer { ref user, .. } => ClientError::AuthRequired {
                    url: self.url.redacted(),
                    hint: format!("the stored login of {user} is no longer valid; run `zsync login URL`"),
                },
                Auth::Basic { .. } => ClientError::AuthFailed {
                    user: self.auth.user().to_owned(),
                    url: self.url.server(),
                },
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
                paths: api.map(|a| a.paths.into_iter().map(|p| p.path).collect()).unwrap_or_default(),
            },
            422 => ClientError::Invalid {
                problems: api.map(|a| a.paths).unwrap_or_default(),
            },
            400..=499 => ClientError::Rejected { status, message },
            _ => ClientError::Server { status, message },
        }
    }

    fn json<T: serde::de::DeserializeOwned>(
        &self,
        response: reqwest::blocking::Response,
    ) -> Result<T> {
        let bytes = response.bytes().map_err(|e| self.network_error(e))?;
        serde_json::from_slice(&bytes).map_err(|e| {
            ClientError::Protocol(format!(
                "not the JSON a zsync server sends ({e}); is the URL a zsync server?"
            ))
        })
    }
}

impl Transport for HttpTransport {
    fn manifest(&self, path: &RepoPath) -> Result<Manifest> {
        let response = self.send(self.client.get(self.endpoint("tree", Some(path))))?;
        self.json(response)
    }

    fn manifest_at(&self, path: &RepoPath, rev: Rev) -> Result<Manifest> {
        let request = self
            .client
            .get(self.endpoint("tree", Some(path)))
            .query(&[("rev", rev)]);
        let response = self.send(request)?;
        self.json(response)
    }

    fn archive(&self, path: &RepoPath) -> Result<ByteStream> {
        self.stream(
            reqwest::Method::GET,
            self.endpoint("archive", Some(path)),
            None,
        )
    }

    fn fetch_bodies(&self, hashes: &[BodyHash]) -> Result<ByteStream> {
        let list = HashList {
            hashes: hashes.to_vec(),
        };
        self.stream(
            reqwest::Method::POST,
            self.endpoint("bodies/fetch", None),
            Some(&list),
        )
    }

    fn missing_bodies(&self, hashes: &[BodyHash]) -> Result<Vec<BodyHash>> {
        let list = HashList {
            hashes: hashes.to_vec(),
        };
        let response = self.send(
            self.client
                .post(self.endpoint("bodies/missing", None))
                .json(&list),
        )?;
        Ok(self.json::<HashList>(response)?.hashes)
    }

    fn upload_body(&self, hash: &BodyHash, body: std::fs::File, size: u64) -> Result<()> {
        let url = self.endpoint(&format!("bodies/{}", hash.to_hex()), None);
        let body = reqwest::blocking::Body::sized(body, size);
        self.send(self.client.put(url).body(body))?;
        Ok(())
    }

    fn upload_batch(&self, batch: Vec<u8>) -> Result<()> {
        let request = self
            .client
            .post(self.endpoint("bodies", None))
            .header(
                reqwest::header::CONTENT_TYPE,
                zsync_format::batch::CONTENT_TYPE,
            )
            .body(batch);
        self.send(request)?;
        Ok(())
    }

    fn commit(&self, request: &CommitRequest) -> Result<CommitResponse> {
        let response = self.send(
            self.client
                .post(self.endpoint("commit", None))
                .json(request),
        )?;
        self.json(response)
    }

    fn commit_result(&self, id: &CommitId) -> Result<Option<CommitResponse>> {
        match self.send(
            self.client
                .get(self.endpoint(&format!("commits/{id}"), None)),
        ) {
            Ok(response) => self.json(response).map(Some),
            Err(ClientError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn log(&self, path: &RepoPath, limit: Option<u32>) -> Result<Vec<LogEntry>> {
        let mut request = self.client.get(self.endpoint("log", Some(path)));
        if let Some(limit) = limit {
            request = request.query(&[("limit", limit)]);
        }
        let response = self.send(request)?;
        self.json(response)
    }

    fn diff(&self, path: &RepoPath, from: Rev, to: Rev) -> Result<DiffResponse> {
        let request = self
            .client
            .get(self.endpoint("diff", Some(path)))
            .query(&[("from", from), ("to", to)]);
        let response = self.send(request)?;
        self.json(response)
    }

    fn changes(&self, path: &RepoPath, since: Rev, wait: u64) -> Result<ChangeFeed> {
        let request = self
            .client
            .get(self.endpoint("changes", Some(path)))
            .query(&[("since", since), ("wait", wait)]);
        let response = self.send(request)?;
        self.json(response)
    }

    fn lock(&self, request: &LockRequest) -> Result<Vec<LockInfo>> {
        let response = self.send(self.client.post(self.endpoint("locks", None)).json(request))?;
        self.json(response)
    }

    fn unlock(&self, request: &UnlockRequest) -> Result<Vec<LockInfo>> {
        let response = self.send(
            self.client
                .post(self.endpoint("unlock", None))
                .json(request),
        )?;
        self.json(response)
    }

    fn locks(&self, path: &RepoPath) -> Result<Vec<LockInfo>> {
        let response = self.send(self.client.get(self.endpoint("locks", Some(path))))?;
        self.json(response)
    }

    fn login(&self) -> Result<LoginResponse> {
        let response = self.send(self.client.post(self.endpoint("login", None)))?;
        self.json(response)
    }

    fn logout(&self) -> Result<()> {
        self.send(self.client.post(self.endpoint("logout", None)))?;
        Ok(())
    }

    fn user_name(&self) -> &str {
        self.auth.user()
    }
}
