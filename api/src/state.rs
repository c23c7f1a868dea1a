//! What every handler shares: the metadata store, the chunk store, the settings, and the
//! sync plane's machinery (group committer, push hub, metrics, load limits).

use std::sync::Arc;

use crate::blob::BlobStore;
use crate::commit::Committer;
use crate::db::Db;
use crate::metrics::Metrics;
use crate::settings::Settings;

#[derive(Clone)]
pub struct AppState(pub Arc<Inner>);

pub struct Inner {
    pub db: Arc<Db>,
    pub blobs: BlobStore,
    pub settings: Settings,
    pub committer: Committer,
    pub metrics: Arc<Metrics>,
    /// Feed reads allowed at once; beyond that clients are asked to back off.
    pub feed_permits: Arc<tokio::sync::Semaphore>,
    /// Staged chunks checked while their upload still sends (`blob::early`).
    pub early: crate::blob::lanes::Early,
    /// An S3 store's small chunks received by the API, written in groups (`blob::inline`).
    pub inline: crate::blob::inline_queue::Inline,
    /// Set when the server starts shutting down, so endless SSE streams end and let it.
    pub stopping: tokio::sync::watch::Sender<bool>,
    /// Background tasks (LISTEN, retention) stopped with the state.
    pub tasks: Vec<AbortOnDrop>,
    /// Rate limits and the password-hash bound of the unauthenticated endpoints.
    pub guards: Arc<crate::abuse::Guards>,
    /// Open event streams per user on this node, capped at `settings.sse_max_per_user`.
    pub streams: Arc<crate::stream_cap::StreamCounts>,
    /// The origin signed chunk URLs point at when it is not ours (the S3 endpoint), which the
    /// Content-Security-Policy must let pages connect to; `None` for the local store.
    pub chunk_origin: Option<String>,
    /// "Now" for expiry rules: the system time in production, movable in tests.
    pub clock: crate::clock::Clock,
}

/// Aborts a background task when the state that owns it goes away.
pub struct AbortOnDrop(pub tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}
