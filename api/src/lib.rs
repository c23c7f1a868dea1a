//! Cairn's API server as a library: `router` builds the whole HTTP surface from a state, and
//! `serve` runs it on a listener until a shutdown signal, so tests bind port 0 and never sleep.
//!
//! Architecture invariant: this is the only crate that knows SQL, object stores and HTTP
//! serving; bytes of files never pass through a metadata transaction.

pub mod auth;
pub mod batch_commit;
pub mod blob;
pub mod commit;
pub mod db;
pub mod error;
pub mod extract;
pub mod gc;
pub mod group_commit;
pub mod hub;
pub mod metrics;
pub mod names;
pub mod openapi;
pub mod rekey;
pub mod routes;
pub mod settings;
pub mod state;

use std::future::Future;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;

pub use routes::router;
pub use settings::Settings;
pub use state::AppState;

/// Opens the stores the settings name (creating the data directory on first start).
pub async fn build_state(settings: Settings) -> anyhow::Result<AppState> {
    std::fs::create_dir_all(&settings.data_dir).with_context(|| {
        format!(
            "cannot create the data directory {}",
            settings.data_dir.display()
        )
    })?;
    let url = settings.database_url();
    let db = Arc::new(db::Db::connect(&url).await?);
    let blobs = match &settings.s3 {
        Some(s3) => blob::BlobStore::S3(blob::S3Store::new(s3)),
        None => blob::BlobStore::Local(
            blob::LocalStore::open(&settings.data_dir)
                .context("cannot open the chunk directory")?,
        ),
    };
    let metrics = Arc::new(metrics::Metrics::default());
    let committer = group_commit::Committer::start(Arc::clone(&db), Arc::clone(&metrics));
    let mut tasks = vec![state::AbortOnDrop(tokio::spawn(retention(
        Arc::downgrade(&db),
        settings.change_retention,
    )))];
    if db.backend == db::Backend::Postgres {
        let listener = hub::pg_listener(&url)
            .await
            .context("cannot LISTEN for change notifications")?;
        tasks.push(state::AbortOnDrop(tokio::spawn(hub::listen_postgres(
            listener,
            Arc::downgrade(&db.hub),
        ))));
    }
    Ok(AppState(Arc::new(state::Inner {
        feed_permits: Arc::new(tokio::sync::Semaphore::new(settings.feed_max_inflight)),
        db,
        blobs,
        settings,
        committer,
        metrics,
        stopping: tokio::sync::watch::channel(false).0,
        tasks,
    })))
}

/// Change-log retention: hourly, drops changes older than `keep` (each namespace keeps its
/// newest). Devices whose cursor is older get `cursor_reset` and re-list.
async fn retention(db: std::sync::Weak<db::Db>, keep: std::time::Duration) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
    loop {
        tick.tick().await;
        let Some(db) = db.upgrade() else { return };
        let cutoff = db::now_ms() - keep.as_millis() as i64;
        match db::changes::prune(&db, cutoff).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(removed = n, "change log pruned"),
            Err(e) => tracing::warn!(error = %e, "change log retention failed"),
        }
    }
}

pub async fn serve(
    state: AppState,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let _collector = gc::spawn(state.clone());
    let app = router(state.clone());
    let shutdown = async move {
        shutdown.await;
        state.stopping.send_replace(true);
    };
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
        .context("server error")
}
