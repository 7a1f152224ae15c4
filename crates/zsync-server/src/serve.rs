//! The accept loop. axum's own `serve` cannot limit how long a client may
//! take to send its headers, so connections are served with hyper directly:
//! a TLS handshake (if any) and the request headers must arrive within
//! `header_read_timeout`, which stops slow-loris clients from holding
//! connections open. Each request learns the client's address for the
//! failed-login limiter.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::Service as _;

use crate::auth::TransportUser;
use crate::tls::TlsConfig;

pub async fn serve(
    listener: TcpListener,
    app: Router,
    header_timeout: Duration,
    tls: Option<TlsConfig>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let acceptor = tls.map(|t| tokio_rustls::TlsAcceptor::from(t.0));
    // Every connection holds a receiver; once they are all gone, the
    // sender's `closed()` resolves and the drain is complete.
    let (closing_tx, closing_rx) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let (tcp, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors and the like: wait a little
                    // rather than spin.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // A response goes out as headers, then body: with Nagle's
        // algorithm the second write waits for the client's delayed ACK
        // (40 ms on Linux), once per request.
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
        let app = app.clone();
        let closing = closing_rx.clone();
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            match acceptor {
                None => connection(tcp, app, Some(remote), None, header_timeout, closing).await,
                Some(acceptor) => {
                    match tokio::time::timeout(header_timeout, acceptor.accept(tcp)).await {
                        Ok(Ok(stream)) => {
                            connection(stream, app, Some(remote), None, header_timeout, closing)
                                .await;
                        }
                        Ok(Err(e)) => {
                            tracing::debug!(%remote, error = %e, "TLS handshake failed");
                        }
                        Err(_) => tracing::debug!(%remote, "TLS handshake timed out"),
                    }
                }
            }
        });
    }
    drop(listener);
    let _ = closing_tx.send(true);
    drop(closing_rx);
    closing_tx.closed().await;
    Ok(())
}

/// Serves HTTP/1.1 on one connection. `user` is set when the transport
/// authenticated the caller (SSH, stdio); `remote` when there is a peer
/// address for the failed-login limiter.
pub(crate) async fn connection<I>(
    io: I,
    app: Router,
    remote: Option<SocketAddr>,
    user: Option<TransportUser>,
    header_timeout: Duration,
    mut closing: watch::Receiver<bool>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let half_close = user.is_some();
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        if let Some(remote) = remote {
            request.extensions_mut().insert(ConnectInfo(remote));
        }
        if let Some(user) = &user {
            request.extensions_mut().insert(user.clone());
        }
        app.clone().call(request)
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        // Over SSH or a pipe, a client may send EOF right after its
        // request (`ssh host zsync-serve < request`) and still await the
        // answer.
        .half_close(half_close);
    let conn = builder.serve_connection(TokioIo::new(io), service);
    tokio::pin!(conn);
    let finished = tokio::select! {
        result = conn.as_mut() => Some(result),
        _ = closing.changed() => None,
    };
    let result = match finished {
        Some(result) => result,
        None => {
            // Finish the request in flight, then close.
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = result {
        tracing::debug!(?remote, error = %e, "connection ended with an error");
    }
}
