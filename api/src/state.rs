//! What every handler shares: the metadata store, the chunk store and the settings.

use std::sync::Arc;

use crate::blob::BlobStore;
use crate::db::Db;
use crate::settings::Settings;

#[derive(Clone)]
pub struct AppState(pub Arc<Inner>);

pub struct Inner {
    pub db: Db,
    pub blobs: BlobStore,
    pub settings: Settings,
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}
