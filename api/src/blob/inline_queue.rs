//! The queue of `blob::inline`: small chunks checked and waiting to be written in a group. Apart
//! from the writing so the shared state can hold it without importing what writes.

use std::sync::Mutex;

use bytes::Bytes;
use tokio::sync::oneshot;
use wire::Hash;

use crate::error::ApiResult;

/// Chunks written under one transaction at most.
pub const GROUP: usize = 64;

/// A checked chunk waiting for its group.
pub struct Item {
    pub upload_id: String,
    pub namespace_id: i64,
    pub hash: Hash,
    pub size: u32,
    pub bytes: Bytes,
    pub done: oneshot::Sender<ApiResult<()>>,
}

/// The queue of checked chunks, and whether a task is writing groups from it.
#[derive(Default)]
pub struct Inline {
    queue: Mutex<Queue>,
}

#[derive(Default)]
struct Queue {
    items: Vec<Item>,
    writing: bool,
}

impl Inline {
    /// Queues `item`; answers whether the caller must start a writer (none is running).
    pub fn push(&self, item: Item) -> bool {
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        q.items.push(item);
        !std::mem::replace(&mut q.writing, true)
    }

    /// The next group of at most `max`, oldest first; `None` when the queue is empty, and the
    /// writer asking must then stop (the next `push` starts another).
    pub fn take(&self, max: usize) -> Option<Vec<Item>> {
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        if q.items.is_empty() {
            q.writing = false;
            return None;
        }
        let n = q.items.len().min(max);
        Some(q.items.drain(..n).collect())
    }

    /// A writer that panicked: the next `push` starts another instead of waiting for it.
    pub fn writer_lost(&self) {
        self.queue.lock().unwrap_or_else(|e| e.into_inner()).writing = false;
    }
}
