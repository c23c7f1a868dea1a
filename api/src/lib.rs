//! Cairn's API server as a library: `router` builds the whole HTTP surface from a state, and
//! `serve` runs it on a listener until a shutdown signal, so tests bind port 0 and never sleep.
//!
//! Architecture invariant: this is the only crate that knows SQL, object stores and HTTP
//! serving; bytes of files never pass through a metadata transaction.

pub mod abuse;
pub mod access;
pub mod admin;
pub mod auth;
pub mod blob;
pub mod cli;
pub mod clock;
pub mod commit;
pub mod db;
pub mod error;
pub mod export;
pub mod extract;
pub mod gc;
pub mod hub;
pub mod links;
pub mod listen;
pub mod metrics;
pub mod mime;
pub mod names;
pub mod rekey;
pub mod retention;
pub mod routes;
pub mod scrub;
pub mod serve;
pub mod settings;
pub mod state;
pub mod stream_cap;
pub mod stream_ticket;
pub mod tls;

use std::future::Future;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;

pub use routes::{openapi, router};
pub use settings::Settings;
pub use state::AppState;

/// Opens the stores the settings name (creating the data directory on first start).
pub async fn build_state(settings: Settings) -> anyhow::Result<AppState> {
    build_state_with_clock(settings, clock::Clock::system()).await
}

/// [`build_state`] with the clock expiry rules read (a test's movable one).
pub async fn build_state_with_clock(
    settings: Settings,
    clock: clock::Clock,
) -> anyhow::Result<AppState> {
    std::fs::create_dir_all(&settings.data_dir).with_context(|| {
        format!(
            "cannot create the data directory {}",
            settings.data_dir.display()
        )
    })?;
    let url = settings.database_url();
    let db = Arc::new(db::Db::connect(&url).await?);
    let blobs = match &settings.s3 {
        Some(s3) => blob::BlobStore::S3(blob::S3Store::new(s3, clock.clone())),
        None => blob::BlobStore::Local(
            blob::LocalStore::open(&settings.data_dir, clock.clone())
                .context("cannot open the chunk directory")?,
        ),
    };
    let chunk_origin = chunk_origin(&blobs).await;
    let metrics = Arc::new(metrics::Metrics::default());
    let committer = commit::Committer::start(Arc::clone(&db), Arc::clone(&metrics), clock.clone());
    let mut tasks = vec![state::AbortOnDrop(tokio::spawn(retention::hourly(
        Arc::downgrade(&db),
        retention::Keep::from_settings(&settings),
        clock.clone(),
    )))];
    if db.backend == db::Backend::Postgres {
        let listener = hub::pg_listener(&url)
            .await
            .context("cannot LISTEN for change notifications")?;
        // After a reconnect the listener asks the database for the newest seq of the
        // namespaces followed here and which streaming devices were revoked (it holds the
        // `Db` weakly: it must not keep it open).
        let weak_db = Arc::downgrade(&db);
        let missed = move |namespaces: Vec<i64>, devices: Vec<i64>| {
            let weak_db = weak_db.clone();
            async move {
                let Some(db) = weak_db.upgrade() else {
                    return Ok(hub::Missed::default());
                };
                let seqs = if namespaces.is_empty() {
                    Default::default()
                } else {
                    db::changes::positions_of(&db, &namespaces).await?
                };
                Ok(hub::Missed {
                    seqs: seqs.into_iter().map(|(ns, (seq, _))| (ns, seq)).collect(),
                    revoked: db::users::revoked_among(&db, &devices).await?,
                })
            }
        };
        tasks.push(state::AbortOnDrop(tokio::spawn(hub::listen_postgres(
            listener,
            url.clone(),
            Arc::downgrade(&db.hub),
            missed,
        ))));
    }
    let guards = Arc::new(settings.guards());
    tasks.push(state::AbortOnDrop(tokio::spawn(abuse::prune_every(
        Arc::downgrade(&guards),
        abuse::PRUNE_EVERY,
    ))));
    let settings_sse_max = settings.sse_max_per_user;
    Ok(AppState(Arc::new(state::Inner {
        feed_permits: Arc::new(tokio::sync::Semaphore::new(settings.feed_max_inflight)),
        early: Default::default(),
        inline: Default::default(),
        db,
        blobs,
        settings,
        committer,
        metrics,
        stopping: tokio::sync::watch::channel(false).0,
        tasks,
        guards,
        streams: stream_cap::StreamCounts::new(settings_sse_max),
        chunk_origin,
        clock,
    })))
}

/// Where the store's signed URLs point, read off a real one (so it is exactly what browsers
/// will be sent to); `None` when they are relative (the local store, on our own origin).
async fn chunk_origin(blobs: &blob::BlobStore) -> Option<String> {
    let url = blobs
        .get_url(&wire::Hash([0; 32]), std::time::Duration::from_secs(60))
        .await
        .ok()?;
    let origin = routes::headers::origin_of(&url);
    if origin.is_none() && !url.starts_with('/') {
        tracing::warn!("the chunk store's URL origin cannot go into the Content-Security-Policy; browsers will be refused");
    }
    origin
}

pub async fn serve(
    state: AppState,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let tls = state.settings.tls.as_ref().map(tls::acceptor).transpose()?;
    let _collector = gc::spawn(state.clone());
    let _scrubber = scrub::spawn(state.clone());
    let app = router(state.clone());
    let header_read_timeout = state.settings.header_read_timeout;
    let shutdown = async move {
        shutdown.await;
        state.stopping.send_replace(true);
    };
    listen::serve_connections(listener, app, tls, header_read_timeout, shutdown).await;
    Ok(())
}

/// Serves `GET /metrics` alone, without a token, on `listener` (`CAIRN_METRICS_ADDR`: an
/// address only the scraper can reach), until the server stops.
pub async fn serve_metrics(state: AppState, listener: TcpListener) -> anyhow::Result<()> {
    let mut stopping = state.stopping.subscribe();
    let app = axum::Router::new()
        .route(
            "/metrics",
            axum::routing::get(
                |axum::extract::State(state): axum::extract::State<AppState>| async move {
                    routes::ops::exposition(&state).await
                },
            ),
        )
        .with_state(state);
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            let _ = stopping.wait_for(|s| *s).await;
        })
        .await?;
    Ok(())
}
