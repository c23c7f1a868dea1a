//! The lanes of `early`'s checks, one per upload being checked, apart from the state that
//! holds them so the state does not import the checks.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// What the checks of one upload found so far.
#[derive(Debug, Default)]
pub struct Seen {
    /// A staged object did not hash to its name (and was deleted).
    pub mismatch: AtomicBool,
}

impl Seen {
    pub fn saw_mismatch(&self) {
        self.mismatch.store(true, Ordering::Relaxed);
    }

    /// Whether a mismatch was seen since the last call.
    pub fn take_mismatch(&self) -> bool {
        self.mismatch.swap(false, Ordering::Relaxed)
    }
}

pub type Lane = Arc<tokio::sync::RwLock<Seen>>;

/// The lanes of the uploads being checked, and bounds on how many checks run at once and
/// how many may wait: past that a `sent` call is not acted on (the commit checks anyway), so
/// a client repeating it cannot pile up work.
pub struct Early {
    lanes: Mutex<HashMap<String, Lane>>,
    pub(super) running: Arc<tokio::sync::Semaphore>,
    pub(super) waiting: Arc<tokio::sync::Semaphore>,
}

/// Lanes kept before idle ones are dropped (an idle lane holds at most a mismatch flag of an
/// upload that was never committed).
const LANES: usize = 4096;
/// Background checks at once, server-wide; each reads up to `promote`'s parallel objects.
const RUNNING: usize = 4;
/// Background checks running or waiting, server-wide.
const WAITING: usize = 256;

impl Default for Early {
    fn default() -> Self {
        Early {
            lanes: Mutex::new(HashMap::new()),
            running: Arc::new(tokio::sync::Semaphore::new(RUNNING)),
            waiting: Arc::new(tokio::sync::Semaphore::new(WAITING)),
        }
    }
}

impl Early {
    /// The lane of `upload_id`, made on first use.
    pub fn lane(&self, upload_id: &str) -> Lane {
        let mut lanes = self.lanes.lock().unwrap_or_else(|e| e.into_inner());
        if lanes.len() >= LANES && !lanes.contains_key(upload_id) {
            lanes.retain(|_, l| Arc::strong_count(l) > 1);
        }
        lanes.entry(upload_id.to_owned()).or_default().clone()
    }

    /// Drops the lane of an upload that is committed or cancelled.
    pub fn forget(&self, upload_id: &str) {
        let mut lanes = self.lanes.lock().unwrap_or_else(|e| e.into_inner());
        lanes.remove(upload_id);
    }
}
