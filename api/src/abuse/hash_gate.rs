//! How many password hashes run at once. Each argon2id hash takes ~19 MiB for its whole run,
//! so without a bound anyone can send sign-ins until the server's memory is gone (96 at once
//! took it from 269 MiB to 2 GB, and the allocator kept it). A few more than the permits wait
//! their turn; the rest are answered 503 `backoff` at once, before any memory is spent.
//!
//! Hashes run on threads of their own, one per permit, never on tokio's blocking pool: glibc
//! gives each thread its own arena and keeps a freed 19 MiB block in it, so hashes spread over
//! the pool's many threads left up to 8 × cores arenas holding one each (measured: 2 permits
//! on the blocking pool still ended at ~305 MiB after 96 sign-ins). A fixed set of threads
//! keeps at most one block per permit.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::ApiError;

/// Requests that may wait for a permit, per permit.
const WAITING_PER_PERMIT: usize = 8;
/// Longest wait for a permit before the request is told to come back.
const MAX_WAIT: Duration = Duration::from_secs(5);

#[derive(Clone)]
pub struct HashGate(Arc<Inner>);

type Job = Box<dyn FnOnce() + Send>;

struct Inner {
    /// The hashing threads' queue; they end when it is dropped with the gate.
    jobs: mpsc::Sender<Job>,
    permits: Arc<Semaphore>,
    max_waiting: usize,
    waiting: AtomicUsize,
    running: AtomicUsize,
    peak: AtomicUsize,
    granted: AtomicUsize,
}

impl HashGate {
    /// At most `permits` hashes at once (at least one).
    pub fn new(permits: usize) -> HashGate {
        let permits = permits.max(1);
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..permits {
            let queue = Arc::clone(&queue);
            std::thread::Builder::new()
                .name(format!("cairn-hash-{i}"))
                .spawn(move || loop {
                    // The lock is held only while waiting for the next job.
                    let job = match queue.lock() {
                        Ok(q) => q.recv(),
                        Err(_) => return,
                    };
                    match job {
                        // A panicking hash drops its permit and its answer on the way out;
                        // the thread lives on for the next one.
                        Ok(job) => {
                            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                        }
                        Err(_) => return,
                    }
                })
                .expect("cannot start a password-hashing thread");
        }
        HashGate(Arc::new(Inner {
            jobs,
            permits: Arc::new(Semaphore::new(permits)),
            max_waiting: permits * WAITING_PER_PERMIT,
            waiting: AtomicUsize::new(0),
            running: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
            granted: AtomicUsize::new(0),
        }))
    }

    /// Runs `hash` on a hashing thread once a permit is free; `Backoff` if too many wait
    /// already or none frees up in time. The permit travels with the work, so a request
    /// dropped mid-hash (its client went away) still holds it until the hash ends, and a
    /// thread is always free for a permit holder.
    pub async fn run<T: Send + 'static>(
        &self,
        hash: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let permit = self.acquire().await?;
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let out = hash();
            drop(permit);
            let _ = tx.send(out);
        });
        if self.0.jobs.send(job).is_err() {
            return Err(ApiError::Internal(anyhow::anyhow!(
                "the password-hashing threads are gone"
            )));
        }
        rx.await
            .map_err(|_| ApiError::Internal(anyhow::anyhow!("a password hash panicked")))
    }

    /// A permit to hash, held until the returned value drops.
    pub async fn acquire(&self) -> Result<HashPermit, ApiError> {
        let inner = &self.0;
        let permit = match Arc::clone(&inner.permits).try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                if inner.waiting.fetch_add(1, Ordering::AcqRel) >= inner.max_waiting {
                    inner.waiting.fetch_sub(1, Ordering::AcqRel);
                    return Err(ApiError::Backoff(1));
                }
                let _waiting = Waiting(&inner.waiting);
                match tokio::time::timeout(MAX_WAIT, Arc::clone(&inner.permits).acquire_owned())
                    .await
                {
                    Ok(Ok(p)) => p,
                    _ => return Err(ApiError::Backoff(1)),
                }
            }
        };
        inner.granted.fetch_add(1, Ordering::AcqRel);
        let now = inner.running.fetch_add(1, Ordering::AcqRel) + 1;
        inner.peak.fetch_max(now, Ordering::AcqRel);
        Ok(HashPermit {
            _permit: permit,
            gate: self.clone(),
        })
    }

    /// The most hashes that ever held a permit at once (for tests and measurements).
    pub fn peak(&self) -> usize {
        self.0.peak.load(Ordering::Acquire)
    }

    /// Permits granted so far: how many hashes were let run.
    pub fn granted(&self) -> usize {
        self.0.granted.load(Ordering::Acquire)
    }

    /// Requests waiting for a permit now.
    pub fn waiting(&self) -> usize {
        self.0.waiting.load(Ordering::Acquire)
    }
}

/// The right to run one hash.
pub struct HashPermit {
    _permit: OwnedSemaphorePermit,
    gate: HashGate,
}

impl Drop for HashPermit {
    fn drop(&mut self) {
        self.gate.0.running.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Counts a waiter for as long as it waits, however the wait ends.
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn past_the_permits_a_few_wait_and_the_rest_are_shed() {
        let gate = HashGate::new(1);
        let held = gate.acquire().await.unwrap();
        let waiters: Vec<_> = (0..WAITING_PER_PERMIT)
            .map(|_| {
                let g = gate.clone();
                tokio::spawn(async move { g.run(|| 7).await })
            })
            .collect();
        while gate.waiting() < WAITING_PER_PERMIT {
            tokio::task::yield_now().await;
        }
        assert!(matches!(gate.run(|| 7).await, Err(ApiError::Backoff(1))));
        drop(held);
        for w in waiters {
            assert_eq!(w.await.unwrap().unwrap(), 7);
        }
        assert_eq!(gate.peak(), 1);
        assert_eq!(gate.waiting(), 0);
    }
}
