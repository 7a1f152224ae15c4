//! Serving HTTP until Ctrl-C or SIGTERM.

use std::io::Write as _;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context as _, Result};
use tokio::net::TcpListener;
use zsync_server::{ServerConfig, ServerState};
use zsync_store::Store;

use crate::hint::HintExt as _;

/// How long requests in flight may take to finish after a shutdown signal.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Binds `addr` and prints the `listening on` line with the address
/// actually bound (the port may have been 0).
pub async fn bind(addr: &str) -> Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))
        .hint("is another server using that address? choose another one with --http ADDR")?;
    let local = listener
        .local_addr()
        .context("the bound address is unknown")?;
    Ok((listener, local))
}

/// Prints lines to stdout and flushes them at once: scripts and tests wait
/// for them. A closed stdout is no reason to stop serving.
pub fn announce(lines: &[String]) {
    let mut out = std::io::stdout().lock();
    let written = lines
        .iter()
        .try_for_each(|line| writeln!(out, "{line}"))
        .and_then(|()| out.flush());
    if let Err(e) = written {
        tracing::warn!(error = %e, "cannot write to stdout");
    }
}

/// The base URL of a bound address, for people: a wildcard address is
/// shown as the loopback one, which reaches it from this machine.
pub fn base_url(local: SocketAddr) -> String {
    let mut shown = local;
    if local.ip().is_unspecified() {
        shown.set_ip(match local {
            SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    format!("http://{shown}")
}

/// A bound SSH listener and the host key to serve it with.
pub struct Ssh {
    pub listener: TcpListener,
    pub local: SocketAddr,
    pub key: zsync_server::ssh::HostKey,
}

/// Binds the SSH address: `addr` if given (`off` for none), else
/// `default`. A busy default is a warning, not an error, so a second demo
/// (or a test suite running many) still serves HTTP.
pub async fn bind_ssh(
    data: &std::path::Path,
    host_key: Option<&std::path::Path>,
    addr: Option<&str>,
    default: Option<&str>,
) -> Result<Option<Ssh>> {
    let (addr, explicit) = match (addr, default) {
        (Some(a), _) if a.eq_ignore_ascii_case("off") => return Ok(None),
        (Some(a), _) => (a, true),
        (None, Some(d)) => (d, false),
        (None, None) => return Ok(None),
    };
    let listener = match TcpListener::bind(addr).await {
        Ok(l) => l,
        Err(e) if !explicit => {
            eprintln!("zsyncd: not serving SSH: cannot listen on {addr}: {e} (choose --ssh ADDR)");
            return Ok(None);
        }
        Err(e) => {
            return Err(e)
                .with_context(|| format!("cannot listen for SSH on {addr}"))
                .hint("is another server using that address? choose another one with --ssh ADDR");
        }
    };
    let local = listener
        .local_addr()
        .context("the bound address is unknown")?;
    let (key, created) = match host_key {
        Some(file) => zsync_server::ssh::HostKey::load_or_create_file(file)?,
        None => zsync_server::ssh::HostKey::load_or_create(data)?,
    };
    if created {
        tracing::info!(fingerprint = %key.fingerprint(), "generated the SSH host key");
    }
    Ok(Some(Ssh {
        listener,
        local,
        key,
    }))
}

/// Serves one HTTP connection on stdin/stdout as `user`.
pub async fn stdio<S: Store>(store: S, user: &str, config: ServerConfig) -> Result<()> {
    let state = ServerState::new(store, config);
    zsync_server::ssh::serve_stdio(state, user)
        .await
        .with_context(|| format!("cannot serve as {user}"))
}

/// Serves until a shutdown signal, then gives requests in flight
/// [`DRAIN_TIMEOUT`] to finish.
pub async fn run<S: Store>(
    listener: TcpListener,
    store: S,
    config: ServerConfig,
    tls: Option<zsync_server::TlsConfig>,
    ssh: Option<Ssh>,
) -> Result<()> {
    let state = ServerState::new(store, config);
    // SSH sessions are not drained: they end with the process.
    let _ssh_task = ssh.map(|ssh| {
        AbortOnDrop(tokio::spawn(zsync_server::ssh::serve(
            ssh.listener,
            state.clone(),
            ssh.key,
        )))
    });
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    // The web UI at /manage beside the API, with Secure cookies over TLS.
    let web = zsync_web::router(
        state.clone(),
        zsync_web::WebConfig {
            secure_cookies: tls.is_some(),
            ..zsync_web::WebConfig::default()
        },
    );
    let config = state.config.clone();
    let app = zsync_server::router_with(state, web);
    let server = zsync_server::serve_app(listener, app, &config, tls, async {
        // A dropped sender also means stop.
        let _ = stop_rx.await;
    });
    tokio::pin!(server);
    tokio::select! {
        result = &mut server => return result.context("the HTTP server failed"),
        () = shutdown_signal() => {}
    }
    tracing::info!("shutting down");
    let _ = stop_tx.send(());
    match tokio::time::timeout(DRAIN_TIMEOUT, server).await {
        Ok(result) => result.context("the HTTP server failed"),
        Err(_) => {
            tracing::warn!("requests still running after {DRAIN_TIMEOUT:?}; stopping anyway");
            Ok(())
        }
    }
}

struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot watch for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut sigterm) => {
                sigterm.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot watch for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
