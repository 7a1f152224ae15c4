//! The SSH front door (russh): password and public-key authentication for
//! zsync users, then plain HTTP/1.1 on an exec channel running
//! `zsync-serve`, served by the same router as TCP connections with the
//! SSH user as the caller. No shell, pty, subsystem or forwarding.
//!
//! Also `serve --stdio`: one HTTP/1.1 connection on stdin/stdout as a user
//! the operator names (for OpenSSH forced commands).

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use russh::keys::ssh_key::LineEnding;
use russh::keys::ssh_key::private::Ed25519Keypair;
use russh::keys::{Algorithm, HashAlg, PrivateKey, PublicKey};
use russh::server::{Auth, ChannelOpenHandle, Msg, PublicKeyOffer, Session, VerifiedPublicKey};
use russh::{Channel, ChannelId, ChannelOpenFailure, MethodKind, MethodSet};
use tokio::net::TcpListener;
use tokio::sync::watch;
use zsync_store::{SshKeyRecord, Store};

use crate::auth::{TransportUser, check_password, token_owner, unix_now, validate_user_name};
use crate::{ServerState, router};

/// The only command an exec request may run.
pub const SERVE_COMMAND: &str = "zsync-serve";

/// The file in the data directory that holds the host key.
pub const HOST_KEY_FILE: &str = "ssh_host_ed25519_key";

#[derive(Debug, thiserror::Error)]
pub enum SshError {
    #[error("cannot read the SSH host key {path}: {source}")]
    ReadHostKey { path: String, source: io::Error },
    #[error("cannot write the SSH host key {path}: {source}")]
    WriteHostKey { path: String, source: io::Error },
    #[error("the SSH host key {path} is not an OpenSSH private key: {message}")]
    BadHostKey { path: String, message: String },
    #[error("not an SSH public key: {0}")]
    BadPublicKey(String),
    #[error("{0}")]
    Store(#[from] zsync_store::StoreError),
    #[error("{0}")]
    User(#[from] crate::UserNameError),
}

/// The server's SSH host key.
pub struct HostKey(PrivateKey);

impl HostKey {
    /// Loads `DIR/ssh_host_ed25519_key`, or generates an ed25519 key and
    /// stores it there (mode 0600) so clients see the same key after a
    /// restart. The flag is true if the key was generated now.
    pub fn load_or_create(data_dir: &Path) -> Result<(Self, bool), SshError> {
        Self::load_or_create_file(&data_dir.join(HOST_KEY_FILE))
    }

    /// The host key in `path`, created there if missing. Several servers
    /// behind one name share one file (or copies of it), so clients see
    /// one key whichever server answers.
    pub fn load_or_create_file(path: &Path) -> Result<(Self, bool), SshError> {
        let shown = path.display().to_string();
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let key = PrivateKey::from_openssh(&text).map_err(|e| SshError::BadHostKey {
                    path: shown,
                    message: e.to_string(),
                })?;
                Ok((Self(key), false))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let key = PrivateKey::from(Ed25519Keypair::from_seed(&rand::random()));
                let text = key
                    .to_openssh(LineEnding::LF)
                    .map_err(|e| SshError::BadHostKey {
                        path: shown.clone(),
                        message: e.to_string(),
                    })?;
                write_private(path, text.as_bytes()).map_err(|source| SshError::WriteHostKey {
                    path: shown,
                    source,
                })?;
                Ok((Self(key), true))
            }
            Err(source) => Err(SshError::ReadHostKey {
                path: shown,
                source,
            }),
        }
    }

    /// `SHA256:...`, as `ssh-keygen -l` and the client show it.
    pub fn fingerprint(&self) -> String {
        fingerprint(self.0.public_key())
    }

    /// The public key in OpenSSH one-line form (for known_hosts files).
    pub fn public_openssh(&self) -> String {
        self.0.public_key().to_openssh().unwrap_or_default()
    }
}

/// Creates `path` readable by its owner only, then fills it; a key is
/// never on disk with looser permissions, even for a moment.
fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// RSA signatures must use SHA-2 (`rsa-sha2-256`/`-512`): SHA-1
/// (`ssh-rsa`) is refused, as OpenSSH does since 8.8.
fn sha2_or_not_rsa(algorithm: &Algorithm) -> bool {
    !matches!(algorithm, Algorithm::Rsa { hash: None })
}

pub fn fingerprint(key: &PublicKey) -> String {
    key.fingerprint(HashAlg::Sha256).to_string()
}

/// Parses an OpenSSH public key line (`ssh-ed25519 AAAA... comment`) into
/// the record the store keeps for `user`.
pub fn key_record(user: &str, line: &str) -> Result<SshKeyRecord, SshError> {
    validate_user_name(user)?;
    let line = line
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .ok_or_else(|| SshError::BadPublicKey("the file holds no key".into()))?;
    let key = PublicKey::from_openssh(line).map_err(|e| SshError::BadPublicKey(e.to_string()))?;
    Ok(SshKeyRecord {
        fingerprint: fingerprint(&key),
        user: user.to_owned(),
        public_key: key
            .to_openssh()
            .map_err(|e| SshError::BadPublicKey(e.to_string()))?,
        added: unix_now(),
    })
}

fn config(host_key: &HostKey, state_config: &crate::ServerConfig) -> russh::server::Config {
    let mut methods = MethodSet::empty();
    methods.push(MethodKind::PublicKey);
    methods.push(MethodKind::Password);
    russh::server::Config {
        methods,
        // Failed attempts cost time, but the `none` probe every client
        // opens with does not.
        auth_rejection_time: Duration::from_millis(300),
        auth_rejection_time_initial: Some(Duration::ZERO),
        keys: vec![host_key.0.clone()],
        inactivity_timeout: Some(state_config.request_timeout + Duration::from_secs(60)),
        max_auth_attempts: 10,
        nodelay: true,
        ..Default::default()
    }
}

/// Serves SSH on `listener` until the future is dropped.
pub async fn serve<S: Store>(
    listener: TcpListener,
    state: ServerState<S>,
    host_key: HostKey,
) -> io::Result<()> {
    let config = Arc::new(config(&host_key, &state.config));
    let header_timeout = state.config.header_read_timeout;
    let app = router(state.clone());
    loop {
        let (tcp, remote) = match listener.accept().await {
            Ok(pair) => pair,
            Err(e) => {
                tracing::warn!(error = %e, "accepting an SSH connection failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let handler = Connection {
            state: state.clone(),
            app: app.clone(),
            header_timeout,
            remote,
            user: None,
            by_password: false,
            channels: HashMap::new(),
        };
        let config = Arc::clone(&config);
        tokio::spawn(async move {
            match russh::server::run_stream(config, tcp, handler).await {
                Ok(session) => {
                    if let Err(e) = session.await {
                        tracing::debug!(%remote, error = %e, "SSH connection ended with an error");
                    }
                }
                Err(e) => tracing::debug!(%remote, error = %e, "SSH handshake failed"),
            }
        });
    }
}

/// Serves one HTTP/1.1 connection on stdin/stdout as `user`, who must
/// exist and be enabled.
pub async fn serve_stdio<S: Store>(state: ServerState<S>, user: &str) -> Result<(), SshError> {
    validate_user_name(user)?;
    match state.store.user(user).await? {
        Some(u) if !u.disabled => {}
        Some(_) => {
            return Err(SshError::Store(zsync_store::StoreError::NotFound(format!(
                "enabled user {user}"
            ))));
        }
        None => {
            return Err(SshError::Store(zsync_store::StoreError::NotFound(format!(
                "user {user}"
            ))));
        }
    }
    let header_timeout = state.config.header_read_timeout;
    let app = router(state);
    let io = tokio::io::join(tokio::io::stdin(), tokio::io::stdout());
    // Never closed: the connection ends when the client closes stdin.
    let (_open, closing) = watch::channel(false);
    crate::serve::connection(
        io,
        app,
        None,
        Some(TransportUser {
            name: user.to_owned(),
            by_password: false,
        }),
        header_timeout,
        closing,
    )
    .await;
    Ok(())
}

struct Connection<S> {
    state: ServerState<S>,
    app: Router,
    header_timeout: Duration,
    remote: SocketAddr,
    /// Set once authentication succeeded.
    user: Option<String>,
    /// The login used the account's password (not a key or a token).
    by_password: bool,
    /// Session channels opened but not yet given a command.
    channels: HashMap<ChannelId, Channel<Msg>>,
}

impl<S: Store> Connection<S> {
    /// True if `key` is registered for the enabled user `user`.
    async fn key_allowed(&self, user: &str, key: &PublicKey) -> Result<bool, russh::Error> {
        let wanted = fingerprint(key);
        let store = &self.state.store;
        let enabled = matches!(store.user(user).await, Ok(Some(u)) if !u.disabled);
        if !enabled {
            return Ok(false);
        }
        match store.ssh_keys(Some(user)).await {
            Ok(keys) => Ok(keys.iter().any(|k| k.fingerprint == wanted)),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read SSH keys");
                Ok(false)
            }
        }
    }

    /// Accepts the request on the channel, writes `message` to its stderr
    /// and ends it with exit status 1.
    fn refuse(
        channel: ChannelId,
        session: &mut Session,
        message: &str,
    ) -> Result<(), russh::Error> {
        session.channel_success(channel)?;
        session.extended_data(channel, 1, format!("zsyncd: {message}\r\n").into_bytes())?;
        session.exit_status_request(channel, 1)?;
        session.eof(channel)?;
        session.close(channel)
    }
}

impl<S: Store> russh::server::Handler for Connection<S> {
    type Error = russh::Error;

    async fn auth_password(&mut self, user: &str, password: &str) -> Result<Auth, Self::Error> {
        // A token from `POST /login` is as good as the password it was
        // issued for (the client stores tokens, never passwords).
        let looks_like_token =
            password.len() == 64 && password.bytes().all(|b| b.is_ascii_hexdigit());
        if looks_like_token
            && let Some(owner) = token_owner(&self.state.store, password).await
            && owner == user
        {
            tracing::info!(remote = %self.remote, %user, "SSH login with a token");
            self.user = Some(owner);
            return Ok(Auth::Accept);
        }
        match check_password(&self.state, user, password, Some(self.remote.ip())).await {
            Ok(name) => {
                tracing::info!(remote = %self.remote, user = %name, "SSH login with a password");
                self.user = Some(name);
                self.by_password = true;
                Ok(Auth::Accept)
            }
            Err(e) => {
                tracing::info!(remote = %self.remote, error = %e, "SSH password refused");
                Ok(Auth::reject())
            }
        }
    }

    async fn auth_publickey_offered(
        &mut self,
        user: &str,
        offer: PublicKeyOffer<'_>,
    ) -> Result<Auth, Self::Error> {
        if !sha2_or_not_rsa(offer.algorithm) {
            return Ok(Auth::reject());
        }
        if self.key_allowed(user, offer.public_key).await? {
            Ok(Auth::Accept)
        } else {
            Ok(Auth::reject())
        }
    }

    async fn auth_publickey(
        &mut self,
        user: &str,
        key: VerifiedPublicKey<'_>,
    ) -> Result<Auth, Self::Error> {
        if sha2_or_not_rsa(key.algorithm) && self.key_allowed(user, key.public_key).await? {
            tracing::info!(remote = %self.remote, %user, "SSH login with a key");
            self.user = Some(user.to_owned());
            Ok(Auth::Accept)
        } else {
            Ok(Auth::reject())
        }
    }

    async fn channel_open_session(
        &mut self,
        channel: Channel<Msg>,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        // A handful is plenty for one client; more is a resource attack.
        if self.channels.len() >= 8 {
            reply.reject(ChannelOpenFailure::ResourceShortage).await;
            return Ok(());
        }
        self.channels.insert(channel.id(), channel);
        reply.accept().await;
        Ok(())
    }

    async fn channel_open_direct_tcpip(
        &mut self,
        _channel: Channel<Msg>,
        _host_to_connect: &str,
        _port_to_connect: u32,
        _originator_address: &str,
        _originator_port: u32,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        reply
            .reject(ChannelOpenFailure::AdministrativelyProhibited)
            .await;
        Ok(())
    }

    async fn channel_close(
        &mut self,
        channel: ChannelId,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.channels.remove(&channel);
        Ok(())
    }

    async fn pty_request(
        &mut self,
        channel: ChannelId,
        _term: &str,
        _col_width: u32,
        _row_height: u32,
        _pix_width: u32,
        _pix_height: u32,
        _modes: &[(russh::Pty, u32)],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_failure(channel)
    }

    async fn x11_request(
        &mut self,
        channel: ChannelId,
        _single_connection: bool,
        _x11_auth_protocol: &str,
        _x11_auth_cookie: &str,
        _x11_screen_number: u32,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_failure(channel)
    }

    async fn shell_request(
        &mut self,
        channel: ChannelId,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.channels.remove(&channel);
        Self::refuse(
            channel,
            session,
            &format!("no shell here; this server only runs `{SERVE_COMMAND}` for the zsync client"),
        )
    }

    async fn subsystem_request(
        &mut self,
        channel: ChannelId,
        name: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        tracing::info!(remote = %self.remote, subsystem = name, "SSH subsystem refused");
        self.channels.remove(&channel);
        session.channel_failure(channel)
    }

    async fn exec_request(
        &mut self,
        channel: ChannelId,
        data: &[u8],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        let command = String::from_utf8_lossy(data);
        let by_password = self.by_password;
        let (Some(user), true) = (self.user.clone(), command.trim() == SERVE_COMMAND) else {
            self.channels.remove(&channel);
            let shown: String = command.chars().take(80).collect();
            return Self::refuse(
                channel,
                session,
                &format!("cannot run {shown:?}; this server only runs `{SERVE_COMMAND}`"),
            );
        };
        let Some(open) = self.channels.remove(&channel) else {
            return session.channel_failure(channel);
        };
        session.channel_success(channel)?;
        let handle = session.handle();
        let app = self.app.clone();
        let remote = self.remote;
        let header_timeout = self.header_timeout;
        tokio::spawn(async move {
            let (_open, closing) = watch::channel(false);
            crate::serve::connection(
                open.into_stream(),
                app,
                Some(remote),
                Some(TransportUser {
                    name: user,
                    by_password,
                }),
                header_timeout,
                closing,
            )
            .await;
            // The client closed its side (or the connection broke): end
            // the channel the way a finished command does.
            let _ = handle.exit_status_request(channel, 0).await;
            let _ = handle.eof(channel).await;
            let _ = handle.close(channel).await;
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_key_lines_become_records() {
        let line = "# my key\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJg0xUrKmmgOCK/EOrTLkUADitaIgiE4fmQQiNaAnqqR me@host\n";
        let record = key_record("ann", line).unwrap();
        assert_eq!(record.user, "ann");
        assert!(record.fingerprint.starts_with("SHA256:"));
        assert!(record.public_key.starts_with("ssh-ed25519 AAAA"));
        assert!(key_record("ann", "not a key").is_err());
        assert!(key_record("ann", "").is_err());
        assert!(key_record("bad name", line).is_err());
    }

    #[test]
    fn host_keys_are_made_once() {
        let dir = tempfile::tempdir().unwrap();
        let (first, created) = HostKey::load_or_create(dir.path()).unwrap();
        assert!(created);
        let (again, created) = HostKey::load_or_create(dir.path()).unwrap();
        assert!(!created);
        assert_eq!(first.fingerprint(), again.fingerprint());
        std::fs::write(dir.path().join(HOST_KEY_FILE), "garbage").unwrap();
        assert!(HostKey::load_or_create(dir.path()).is_err());
    }
}
