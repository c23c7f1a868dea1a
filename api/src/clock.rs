//! The server's "now", injected through the state so tests can move time instead of sleeping:
//! expiry rules (signed URLs, stream tickets, links, uploads, retention) read it here.
//!
//! A test clock is the system time plus an offset the test moves forward. It keeps flowing
//! between jumps so that reads which still take the system time directly (inside `db/`) stay
//! in step with it.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch, as every timestamp in the metadata database.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    /// How far a test moved time ahead of the system's; `None` in production.
    offset_ms: Option<Arc<AtomicI64>>,
}

impl Clock {
    /// The system's time, for production.
    pub fn system() -> Clock {
        Clock { offset_ms: None }
    }

    /// A clock a test can move with [`Clock::advance`]; it starts at the system time.
    pub fn adjustable() -> Clock {
        Clock {
            offset_ms: Some(Arc::new(AtomicI64::new(0))),
        }
    }

    /// Now, in milliseconds since the epoch.
    pub fn now_ms(&self) -> i64 {
        system_ms()
            + self
                .offset_ms
                .as_ref()
                .map_or(0, |o| o.load(Ordering::SeqCst))
    }

    /// Now, as a `SystemTime` (for signers that take one).
    pub fn now(&self) -> SystemTime {
        let ms = self.now_ms();
        if ms >= 0 {
            UNIX_EPOCH + Duration::from_millis(ms as u64)
        } else {
            UNIX_EPOCH - Duration::from_millis(ms.unsigned_abs())
        }
    }

    /// Moves a test clock forward by `by`. Panics on the system clock: production time is
    /// never moved.
    pub fn advance(&self, by: Duration) {
        self.shift(i64::try_from(by.as_millis()).unwrap_or(i64::MAX));
    }

    /// Moves a test clock back by `by` (to sign something "in the past" for a peer, such as
    /// an S3 server, that reads its own system time).
    pub fn rewind(&self, by: Duration) {
        self.shift(-i64::try_from(by.as_millis()).unwrap_or(i64::MAX));
    }

    fn shift(&self, ms: i64) {
        let offset = self
            .offset_ms
            .as_ref()
            .expect("only a test clock (Clock::adjustable) can be moved");
        offset.fetch_add(ms, Ordering::SeqCst);
    }
}

fn system_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_test_clock_moves_and_keeps_flowing() {
        let c = Clock::adjustable();
        let before = c.now_ms();
        c.advance(Duration::from_secs(3600));
        let after = c.now_ms();
        assert!(after >= before + 3_600_000 && after < before + 3_660_000);
        c.rewind(Duration::from_secs(7200));
        assert!(c.now_ms() < before);
        let s = c.now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64;
        assert!((s - c.now_ms()).abs() < 1000);
    }

    #[test]
    #[should_panic(expected = "only a test clock")]
    fn the_system_clock_cannot_be_moved() {
        Clock::system().advance(Duration::from_secs(1));
    }
}
