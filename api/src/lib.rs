//! Cairn's API server as a library: `router` builds the whole HTTP surface from a state, and
//! `serve` runs it on a listener until a shutdown signal, so tests bind port 0 and never sleep.
//!
//! Architecture invariant: this is the only crate that knows SQL, object stores and HTTP
//! serving; bytes of files never pass through a metadata transaction.

pub mod auth;
pub mod blob;
pub mod commit;
pub mod db;
pub mod error;
pub mod extract;
pub mod gc;
pub mod names;
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
    let db = db::Db::connect(&settings.database_url()).await?;
    let blobs = match &settings.s3 {
        Some(s3) => blob::BlobStore::S3(blob::S3Store::new(s3)),
        None => blob::BlobStore::Local(
            blob::LocalStore::open(&settings.data_dir)
                .context("cannot open the chunk directory")?,
        ),
    };
    Ok(AppState(Arc::new(state::Inner {
        db,
        blobs,
        settings,
    })))
}

pub async fn serve(
    state: AppState,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let _collector = gc::spawn(state.clone());
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
        .context("server error")
}
