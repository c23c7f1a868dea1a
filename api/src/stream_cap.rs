//! How many event streams each user holds open on this API node, so one account cannot tie up
//! the node with thousands of idle streams (each costs a connection, a task and ~19 KB).
//! The count lives in memory per node, like the streams themselves; with several nodes behind
//! a balancer a user may hold up to the cap on each.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub struct StreamCounts {
    max: usize,
    open: Mutex<HashMap<i64, usize>>,
}

/// One open stream of a user; dropping it (the stream ended or its client went away) frees
/// the place.
pub struct StreamSlot {
    counts: Arc<StreamCounts>,
    user_id: i64,
}

impl StreamCounts {
    pub fn new(max: usize) -> Arc<StreamCounts> {
        Arc::new(StreamCounts {
            max,
            open: Mutex::default(),
        })
    }

    /// A place for one more stream of `user_id`, or `None` if the user already holds `max`.
    pub fn try_open(self: &Arc<Self>, user_id: i64) -> Option<StreamSlot> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let n = open.entry(user_id).or_insert(0);
        if *n >= self.max {
            return None;
        }
        *n += 1;
        Some(StreamSlot {
            counts: Arc::clone(self),
            user_id,
        })
    }

    /// Streams `user_id` holds open on this node.
    pub fn open(&self, user_id: i64) -> usize {
        let open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        open.get(&user_id).copied().unwrap_or(0)
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut open = self.counts.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = open.get_mut(&self.user_id) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.user_id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_gets_max_places_and_a_freed_one_comes_back() {
        let c = StreamCounts::new(2);
        let a = c.try_open(1).unwrap();
        let _b = c.try_open(1).unwrap();
        assert!(c.try_open(1).is_none());
        assert!(
            c.try_open(2).is_some(),
            "another user has places of their own"
        );
        drop(a);
        assert_eq!(c.open(1), 1);
        let _c = c.try_open(1).unwrap();
        assert!(c.try_open(1).is_none());
    }
}
