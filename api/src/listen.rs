//! The accept loop: hyper's HTTP/1 connections served with a header-read timeout, which
//! `axum::serve` has no setting for. Without it a client that sends its request head a byte at
//! a time (slowloris) — or opens connections and sends nothing — holds each one for ever; with
//! it hyper closes a connection whose next request head has not fully arrived in time, idle
//! keep-alive connections included.
//!
//! Requests carry `ConnectInfo<SocketAddr>` as under `axum::serve`'s
//! `into_make_service_with_connect_info`, for handlers that want the peer's address.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower::ServiceExt as _;

/// Serves `app` on `listener` until `shutdown` resolves, then waits for the open connections
/// to finish their requests (streams end on their own when the server is stopping).
pub async fn serve_connections(
    listener: TcpListener,
    app: Router,
    header_read_timeout: Duration,
    shutdown: impl Future<Output = ()>,
) {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout);
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
        let conn = http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            // A client that hung up or timed out its head; nothing to tell anyone.
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
}
