//! The accept loop: hyper's HTTP/1 connections served with a header-read timeout, which
//! `axum::serve` has no setting for. Without it a client that sends its request head a byte at
//! a time (slowloris) — or opens connections and sends nothing — holds each one for ever; with
//! it hyper closes a connection whose next request head has not fully arrived in time, idle
//! keep-alive connections included.
//!
//! Requests carry `ConnectInfo<SocketAddr>` as under `axum::serve`'s
//! `into_make_service_with_connect_info`, for handlers that want the peer's address.
//!
//! With TLS (`tls.rs`) the handshake gets the same time limit as a request head, and the
//! protocol the client chose by ALPN picks HTTP/2 or HTTP/1.1. Plain connections are HTTP/1.1
//! only: sniffing for an HTTP/2 preface would read with no time limit.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt as _;

/// Serves `app` on `listener` until `shutdown` resolves, then waits for the open connections
/// to finish their requests (streams end on their own when the server is stopping).
pub async fn serve_connections(
    listener: TcpListener,
    app: Router,
    tls: Option<TlsAcceptor>,
    header_read_timeout: Duration,
    shutdown: impl Future<Output = ()>,
) {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout);
    let mut h2 = hyper::server::conn::http2::Builder::new(TokioExecutor::new());
    h2.timer(TokioTimer::new())
        // A peer that vanished without a FIN is found within a minute.
        .keep_alive_interval(Duration::from_secs(30))
        .keep_alive_timeout(Duration::from_secs(30))
        .max_concurrent_streams(250);
    let (http, h2) = (Arc::new(http), Arc::new(h2));
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors, say: wait a little rather than spin, as
                    // `axum::serve` does. Connections that close free some.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let service = app
            .clone()
            .map_request(move |mut r: hyper::Request<Incoming>| {
                r.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
                r
            });
        let service = TowerToHyperService::new(service);
        let Some(tls) = tls.clone() else {
            let conn = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
            tokio::spawn(ended(conn));
            continue;
        };
        // Taken now, so shutdown waits for handshakes under way too.
        let (http, h2, watcher) = (http.clone(), h2.clone(), graceful.watcher());
        tokio::spawn(async move {
            let stream = match tokio::time::timeout(header_read_timeout, tls.accept(stream)).await {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => return tracing::debug!(error = %e, "TLS handshake failed"),
                Err(_) => return tracing::debug!("TLS handshake timed out"),
            };
            if stream.get_ref().1.alpn_protocol() == Some(b"h2") {
                ended(watcher.watch(h2.serve_connection(TokioIo::new(stream), service))).await;
            } else {
                ended(watcher.watch(http.serve_connection(TokioIo::new(stream), service))).await;
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

async fn ended<E: std::fmt::Display>(conn: impl Future<Output = Result<(), E>>) {
    // A client that hung up or timed out its head; nothing to tell anyone.
    if let Err(e) = conn.await {
        tracing::debug!(error = %e, "connection ended with an error");
    }
}
