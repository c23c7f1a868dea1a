//! The in-process broadcast hub behind SSE: one `watch` channel per namespace that somebody
//! listens to, holding the newest seq known to be committed. Watch channels coalesce, so a
//! slow subscriber gets the latest hint rather than a backlog, and an idle one costs no work.
//!
//! Hints must only announce committed changes. On SQLite the writer publishes after its
//! transaction committed (see `Db::write`); on PostgreSQL `log_change` issues `pg_notify`
//! inside the writing transaction, which PostgreSQL delivers only on commit, and every API
//! node's [`listen_postgres`] task forwards those notifications into its own hub — the same
//! path serves one node or many.
//!
//! Revoking a device must also end its open streams, on every node: the hub keeps the set of
//! device ids revoked since it started and a generation counter that open streams watch. On
//! PostgreSQL the revocation travels as a `revoke:<device>` notification on the same channel.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;

/// The PostgreSQL channel carrying `"<namespace>:<seq>"` payloads.
pub const PG_CHANNEL: &str = "cairn_changes";

pub struct Hub {
    namespaces: Mutex<HashMap<i64, watch::Sender<i64>>>,
    /// device id → the highest seq it acknowledged on this node (mirror of `device_cursors`),
    /// so an open stream stops announcing what the device has already pulled.
    seen: Mutex<HashMap<i64, i64>>,
    /// Devices revoked while this node ran (tokens are checked in the database; this only
    /// serves streams that were already open), and a counter bumped on every revocation.
    revoked: Mutex<HashSet<i64>>,
    revocations: watch::Sender<u64>,
}

impl Hub {
    pub fn new() -> Arc<Hub> {
        Arc::new(Hub {
            namespaces: Mutex::default(),
            seen: Mutex::default(),
            revoked: Mutex::default(),
            revocations: watch::channel(0).0,
        })
    }

    /// Ends the open streams of `device_id` on this node.
    pub fn revoke(&self, device_id: i64) {
        let fresh = self
            .revoked
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(device_id);
        if fresh {
            self.revocations.send_modify(|g| *g += 1);
        }
    }

    pub fn is_revoked(&self, device_id: i64) -> bool {
        self.revoked
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&device_id)
    }

    /// Changes whenever a device is revoked; take it *before* checking a token, so a
    /// revocation racing the check is still seen.
    pub fn revocations(&self) -> watch::Receiver<u64> {
        self.revocations.subscribe()
    }

    /// Announces that `namespace_id` has committed changes up to `seq`. Never moves backwards.
    pub fn publish(&self, namespace_id: i64, seq: i64) {
        let map = self.namespaces.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(tx) = map.get(&namespace_id) {
            tx.send_if_modified(|cur| {
                if seq > *cur {
                    *cur = seq;
                    true
                } else {
                    false
                }
            });
        }
    }

    /// A receiver of `namespace_id`'s newest seq, starting from `known` (what the caller
    /// already knows to be committed, e.g. read from the database).
    pub fn subscribe(self: &Arc<Self>, namespace_id: i64, known: i64) -> Subscription {
        let mut map = self.namespaces.lock().unwrap_or_else(|e| e.into_inner());
        let tx = map
            .entry(namespace_id)
            .or_insert_with(|| watch::channel(known).0);
        tx.send_if_modified(|cur| {
            if known > *cur {
                *cur = known;
                true
            } else {
                false
            }
        });
        Subscription {
            rx: tx.subscribe(),
            hub: Arc::clone(self),
            namespace_id,
        }
    }

    /// Records that `device_id` has everything up to `seq`; true if that is news (worth storing).
    pub fn note_seen(&self, device_id: i64, seq: i64) -> bool {
        let mut m = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        let e = m.entry(device_id).or_insert(0);
        if seq > *e {
            *e = seq;
            true
        } else {
            false
        }
    }

    pub fn seen(&self, device_id: i64) -> i64 {
        self.seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&device_id)
            .copied()
            .unwrap_or(0)
    }

    /// The namespaces with at least one subscriber, in ascending order.
    pub fn watched(&self) -> Vec<i64> {
        sorted_keys(&self.namespaces)
    }

    /// The devices that opened a stream on this node since it started.
    pub fn streaming_devices(&self) -> Vec<i64> {
        sorted_keys(&self.seen)
    }

    /// How many namespaces have at least one subscriber.
    pub fn namespaces(&self) -> usize {
        self.namespaces
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .len()
    }
}

/// A subscriber; dropping the last one of a namespace frees its channel.
pub struct Subscription {
    pub rx: watch::Receiver<i64>,
    hub: Arc<Hub>,
    namespace_id: i64,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let mut map = self
            .hub
            .namespaces
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        // Our receiver still counts until this function returns, so "1" means "only us".
        if map
            .get(&self.namespace_id)
            .is_some_and(|tx| tx.receiver_count() <= 1)
        {
            map.remove(&self.namespace_id);
        }
    }
}

/// The keys of a map behind a lock, in ascending order.
fn sorted_keys<V>(map: &Mutex<HashMap<i64, V>>) -> Vec<i64> {
    let mut ids: Vec<i64> = map
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .keys()
        .copied()
        .collect();
    ids.sort_unstable();
    ids
}

/// What a `pg_notify` payload on [`PG_CHANNEL`] says.
#[derive(Debug, PartialEq, Eq)]
pub enum Notice {
    /// `"<namespace>:<seq>"`: the namespace committed up to seq.
    Committed(i64, i64),
    /// `"revoke:<device>"`: the device was revoked.
    Revoked(i64),
}

pub fn parse_payload(p: &str) -> Option<Notice> {
    let (head, tail) = p.split_once(':')?;
    if head == "revoke" {
        return Some(Notice::Revoked(tail.parse().ok()?));
    }
    Some(Notice::Committed(head.parse().ok()?, tail.parse().ok()?))
}

/// Connects and LISTENs, so hints are flowing before the server accepts its first request.
pub async fn pg_listener(url: &str) -> sqlx::Result<sqlx::postgres::PgListener> {
    let mut listener = sqlx::postgres::PgListener::connect(url).await?;
    listener.listen(PG_CHANNEL).await?;
    Ok(listener)
}

/// Forwards PostgreSQL notifications into `hub` until the hub is gone (the server shut down).
///
/// A notification sent while the listening connection is down is lost for good: PostgreSQL
/// queues them only for sessions that are listening. So when the connection drops (the
/// database restarted, the backend was terminated, the network hiccuped) the task reconnects
/// at once, retrying every second while the database is away, and once `LISTEN` is in place
/// again asks `missed` for the seq of every namespace somebody follows on this node (and which
/// of the devices that opened streams here were revoked meanwhile) and publishes those. The
/// order matters: a commit after the `LISTEN` is notified, one before it is in what `missed`
/// reads. Publishing never moves a hint backwards, so a seq read twice
/// (notified and read) is harmless.
///
/// `PgListener` would reconnect by itself inside `try_recv`, but only there, and without
/// telling us when `LISTEN` is back; a listener built afresh (`pg_listener`) says exactly that.
pub async fn listen_postgres<F, Fut>(
    mut listener: sqlx::postgres::PgListener,
    url: String,
    hub: std::sync::Weak<Hub>,
    missed: F,
) where
    F: Fn(Vec<i64>, Vec<i64>) -> Fut,
    Fut: std::future::Future<Output = sqlx::Result<Missed>>,
{
    loop {
        match listener.try_recv().await {
            Ok(Some(n)) => {
                let Some(hub) = hub.upgrade() else { return };
                match parse_payload(n.payload()) {
                    Some(Notice::Committed(ns, seq)) => hub.publish(ns, seq),
                    Some(Notice::Revoked(device)) => hub.revoke(device),
                    None => tracing::warn!(payload = n.payload(), "unknown notification"),
                }
                continue;
            }
            Ok(None) => tracing::warn!("notification connection lost; reconnecting"),
            Err(e) => tracing::warn!(error = %e, "notification stream failed; reconnecting"),
        }
        listener = loop {
            if hub.strong_count() == 0 {
                return;
            }
            match resubscribe(&url, &hub, &missed).await {
                Ok(l) => break l,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot LISTEN again yet; retrying in 1 s");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        };
        tracing::info!("notifications flowing again");
    }
}

/// What was announced while nobody listened, read back from the database.
#[derive(Debug, Default)]
pub struct Missed {
    /// (namespace, newest seq) of the namespaces asked for.
    pub seqs: Vec<(i64, i64)>,
    /// The devices asked for that are revoked.
    pub revoked: Vec<i64>,
}

/// A fresh listener, `LISTEN`ing, then the hints missed while there was none.
async fn resubscribe<F, Fut>(
    url: &str,
    hub: &std::sync::Weak<Hub>,
    missed: &F,
) -> sqlx::Result<sqlx::postgres::PgListener>
where
    F: Fn(Vec<i64>, Vec<i64>) -> Fut,
    Fut: std::future::Future<Output = sqlx::Result<Missed>>,
{
    let listener = pg_listener(url).await?;
    let Some((watched, devices)) = hub.upgrade().map(|h| (h.watched(), h.streaming_devices()))
    else {
        return Ok(listener);
    };
    let missed = missed(watched, devices).await?;
    if let Some(hub) = hub.upgrade() {
        for (ns, seq) in missed.seqs {
            hub.publish(ns, seq);
        }
        for device in missed.revoked {
            hub.revoke(device);
        }
    }
    Ok(listener)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hints_only_move_forward_and_channels_are_freed() {
        let hub = Hub::new();
        let mut a = hub.subscribe(7, 3);
        assert_eq!(*a.rx.borrow_and_update(), 3);
        hub.publish(7, 2);
        assert!(!a.rx.has_changed().unwrap());
        hub.publish(7, 5);
        a.rx.changed().await.unwrap();
        assert_eq!(*a.rx.borrow_and_update(), 5);
        hub.publish(8, 9); // nobody listens: nothing kept
        assert_eq!(hub.namespaces(), 1);
        let c = hub.subscribe(2, 0);
        assert_eq!(hub.watched(), vec![2, 7]);
        hub.note_seen(9, 1);
        hub.note_seen(4, 0);
        assert_eq!(hub.streaming_devices(), vec![4, 9]);
        drop(c);
        let b = hub.subscribe(7, 0);
        assert_eq!(*b.rx.borrow(), 5);
        drop(a);
        assert_eq!(hub.namespaces(), 1);
        drop(b);
        assert_eq!(hub.namespaces(), 0);
        assert_eq!(parse_payload("12:34"), Some(Notice::Committed(12, 34)));
        assert_eq!(parse_payload("revoke:5"), Some(Notice::Revoked(5)));
        assert_eq!(parse_payload("12"), None);
        assert_eq!(parse_payload("revoke:x"), None);

        let r = hub.revocations();
        hub.revoke(5);
        assert!(r.has_changed().unwrap() && hub.is_revoked(5) && !hub.is_revoked(6));
    }
}
