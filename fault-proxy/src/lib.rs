//! A seeded fault proxy on loopback, for tests.
//!
//! Cairn's clients claim to survive a bad network: chunk PUTs and GETs retried, commits
//! replayed under their idempotency keys, event streams re-opened. The in-process
//! simulation loses whole answers; only real sockets cut in the middle of a body, truncate
//! an answer after its headers, or leave an event stream open and silent. This proxy sits
//! between a client (Chromium, a simulated device) and the server and does exactly that, at
//! the TCP level so it needs to know nothing of HTTP.
//!
//! Each accepted connection draws its plan from one seeded PRNG: the same seed and the same
//! order of connections give the same faults, so a failing run can be replayed. It only ever
//! binds and connects 127.0.0.1.

mod conn;
mod plan;

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use plan::{Plan, Rng};

/// What goes wrong, per connection. The default is a faithful proxy.
#[derive(Debug, Clone, PartialEq)]
pub struct Faults {
    /// Seeds the PRNG every connection's plan is drawn from.
    pub seed: u64,
    /// Added before every forwarded read, both ways.
    pub latency: Duration,
    /// Chance a connection is reset (RST both sides) after a random byte count in one
    /// direction (up to 2 MiB in: mostly inside a chunk's body).
    pub reset_chance: f64,
    /// Chance an answer is cut after a random byte count (up to 128 KiB) and the
    /// connection closed cleanly (FIN), as a crashed server or a cut proxy would.
    pub truncate_chance: f64,
    /// Chance one direction stops forwarding for `stall` after a random byte count (up to
    /// 16 KiB: an event stream goes silent while its socket stays open).
    pub stall_chance: f64,
    /// How long a stall lasts.
    pub stall: Duration,
}

impl Default for Faults {
    fn default() -> Faults {
        Faults {
            seed: 0,
            latency: Duration::ZERO,
            reset_chance: 0.0,
            truncate_chance: 0.0,
            stall_chance: 0.0,
            stall: Duration::ZERO,
        }
    }
}

/// Counts since the proxy started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Connections accepted.
    pub connections: u64,
    /// Connections closed with RST: planned resets and those of [`Proxy::reset_all`].
    pub resets: u64,
    /// Answers cut short and closed cleanly.
    pub truncations: u64,
    /// Stalls served.
    pub stalls: u64,
    /// Bytes forwarded client → upstream.
    pub bytes_up: u64,
    /// Bytes forwarded upstream → client.
    pub bytes_down: u64,
}

#[derive(Default)]
struct Counters {
    connections: AtomicU64,
    resets: AtomicU64,
    truncations: AtomicU64,
    stalls: AtomicU64,
    bytes_up: AtomicU64,
    bytes_down: AtomicU64,
}

struct State {
    upstream: SocketAddr,
    faults: Faults,
    rng: Rng,
    /// Moves on with every `set_faults`; plans drawn under an older one no longer fire.
    epoch: u64,
    next_id: u64,
    open: HashMap<u64, oneshot::Sender<()>>,
    closed: bool,
}

/// What the accept loop, the connections and the handle share.
struct Shared {
    state: Mutex<State>,
    counters: Counters,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panicking connection task must not take the proxy down with it.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers a new connection and draws its plan, in accept order.
    fn accept(&self) -> Option<conn::Accepted> {
        let mut s = self.lock();
        if s.closed {
            return None;
        }
        let (tx, kill) = oneshot::channel();
        let id = s.next_id;
        s.next_id += 1;
        s.open.insert(id, tx);
        let faults = s.faults.clone();
        let plan = Plan::draw(&mut s.rng, &faults);
        self.counters.connections.fetch_add(1, Ordering::Relaxed);
        Some(conn::Accepted {
            id,
            upstream: s.upstream,
            plan,
            epoch: s.epoch,
            kill,
        })
    }

    fn forget(&self, id: u64) {
        self.lock().open.remove(&id);
    }

    fn latency_and_live(&self, epoch: u64) -> (Duration, bool) {
        let s = self.lock();
        (s.faults.latency, s.epoch == epoch)
    }

    fn stall(&self) -> Duration {
        self.lock().faults.stall
    }

    fn reset_all(&self) -> usize {
        let open: Vec<_> = self.lock().open.drain().collect();
        let n = open
            .into_iter()
            .filter_map(|(_, tx)| tx.send(()).ok())
            .count();
        self.counters.resets.fetch_add(n as u64, Ordering::Relaxed);
        n
    }
}

/// A running proxy. Dropping it stops accepting and resets every open connection.
pub struct Proxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: JoinHandle<()>,
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proxy")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

fn loopback_only(addr: SocketAddr) -> std::io::Result<()> {
    if addr.ip().is_loopback() {
        Ok(())
    } else {
        Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("fault-proxy only forwards to loopback, not {addr}"),
        ))
    }
}

impl Proxy {
    /// Listens on 127.0.0.1 on a free port and forwards every connection to `upstream`
    /// (which must be a loopback address).
    pub async fn start(upstream: SocketAddr, faults: Faults) -> std::io::Result<Proxy> {
        loopback_only(upstream)?;
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                upstream,
                rng: Rng::new(faults.seed),
                faults,
                epoch: 0,
                next_id: 0,
                open: HashMap::new(),
                closed: false,
            }),
            counters: Counters::default(),
        });
        let accept = tokio::spawn(accept_loop(listener, shared.clone()));
        Ok(Proxy {
            addr,
            shared,
            accept,
        })
    }

    /// Where clients connect: 127.0.0.1 and the port the proxy was given.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// New connections go to `upstream` (the server restarted on another port); open ones
    /// stay where they are.
    ///
    /// # Panics
    /// If `upstream` is not a loopback address: this proxy never reaches off the machine.
    pub fn set_upstream(&self, upstream: SocketAddr) {
        if let Err(e) = loopback_only(upstream) {
            panic!("{e}");
        }
        self.shared.lock().upstream = upstream;
    }

    /// Replaces the faults and re-seeds the PRNG from `faults.seed`. Faults planned for
    /// connections already open are called off; latency applies to them at once.
    pub fn set_faults(&self, faults: Faults) {
        let mut s = self.shared.lock();
        s.rng = Rng::new(faults.seed);
        s.faults = faults;
        s.epoch += 1;
    }

    /// Closes every open connection with RST on both sides; returns how many.
    pub fn reset_all(&self) -> usize {
        self.shared.reset_all()
    }

    pub fn stats(&self) -> Stats {
        let c = &self.shared.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        Stats {
            connections: get(&c.connections),
            resets: get(&c.resets),
            truncations: get(&c.truncations),
            stalls: get(&c.stalls),
            bytes_up: get(&c.bytes_up),
            bytes_down: get(&c.bytes_down),
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.shared.lock().closed = true;
        self.shared.reset_all();
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let client = match listener.accept().await {
            Ok((client, _)) => client,
            // Out of file descriptors or a connection aborted before we took it: keep
            // serving the others rather than end the proxy under a test.
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(5)).await;
                continue;
            }
        };
        let Some(accepted) = shared.accept() else {
            return;
        };
        tokio::spawn(conn::serve(shared.clone(), client, accepted));
    }
}

#[cfg(test)]
mod tests;
