//! What `/metrics` shows, kept in the Prometheus project's own client (`prometheus-client`) and
//! written out in its OpenMetrics text, so the exposition's escaping, cumulative buckets and
//! `# EOF` are a maintained library's concern rather than ours.
//!
//! Two kinds of figures live here. Per-node ones (request latency, requests in flight, SSE
//! streams, commit batches) are counted as they happen. Whole-server ones (users, files, bytes
//! stored, dedup ratio, open upload sessions) are the database's, read at most once a
//! [`STORE_REFRESH`] by the scrape that finds them stale: a scrape every few seconds must not
//! cost a count of every table each time.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

use crate::db::ops::Stats;

/// The exposition's content type (OpenMetrics 1.0, which Prometheus reads natively).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// How old the database's figures may be before a scrape reads them again.
pub const STORE_REFRESH: Duration = Duration::from_secs(60);

/// Request latency bucket bounds, seconds.
const LATENCY_BOUNDS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];
/// Commits-per-transaction bucket bounds.
const BATCH_BOUNDS: [f64; 9] = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0];

/// The method label: a closed set, so a client inventing method names cannot add series
/// (10,000 junk methods once made `/metrics` 1.2 GB and 10 s to render).
pub fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// The status label: real statuses as they are, anything else (a status outside 100–599
/// cannot come from this server, but the label must stay bounded) as 0.
fn status_label(status: u16) -> u16 {
    if (100..600).contains(&status) {
        status
    } else {
        0
    }
}

/// Every part comes from a bounded set: `method_label`, the router's templates (or
/// `unmatched`), `status_label`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

type LatencyFamily = Family<RequestLabels, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BOUNDS)
}

/// The database's figures, as last read.
#[derive(Default)]
struct StoreGauges {
    users: Gauge,
    files: Gauge,
    versions: Gauge,
    logical_bytes: Gauge,
    stored_bytes: Gauge,
    dedup_ratio: Gauge<f64, AtomicU64>,
    uploads_open: Gauge,
}

pub struct Metrics {
    registry: Registry,
    requests: LatencyFamily,
    in_flight: Family<RouteLabels, Gauge>,
    /// What the contract check in the integration tests compares with `/openapi.json`.
    answered: Mutex<BTreeSet<(&'static str, String, u16)>>,
    batches: Histogram,
    commits: Counter,
    conflicts: Counter,
    backoffs: Counter,
    sse_clients: Gauge,
    store: StoreGauges,
    /// Milliseconds after `born` when the store's figures were last claimed for a read;
    /// `i64::MIN` before the first.
    store_read_at: AtomicI64,
    born: Instant,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("cairn");
        let requests = LatencyFamily::new_with_constructor(latency_histogram);
        registry.register_with_unit(
            "http_request_duration",
            "Time to answer a request (to the first byte of a stream)",
            Unit::Seconds,
            requests.clone(),
        );
        let in_flight = Family::<RouteLabels, Gauge>::default();
        registry.register(
            "http_requests_in_flight",
            "Requests this node is answering now, by route (chunk PUTs and commits are the uploads in flight)",
            in_flight.clone(),
        );
        let batches = Histogram::new(BATCH_BOUNDS);
        registry.register(
            "commit_batch_size",
            "Commits per group-commit transaction",
            batches.clone(),
        );
        let commits = Counter::default();
        registry.register("commits", "Versions written by commits", commits.clone());
        let conflicts = Counter::default();
        registry.register(
            "conflicts",
            "Commits that became conflicted copies",
            conflicts.clone(),
        );
        let backoffs = Counter::default();
        registry.register(
            "backoffs",
            "Requests answered with `backoff` because the server was loaded",
            backoffs.clone(),
        );
        let sse_clients = Gauge::default();
        registry.register(
            "sse_clients",
            "Server-sent event streams open on this node",
            sse_clients.clone(),
        );
        let store = StoreGauges::default();
        let whole = "(the whole server's, read from the database at most once a minute)";
        registry.register("users", format!("Accounts {whole}"), store.users.clone());
        registry.register("files", format!("Live files {whole}"), store.files.clone());
        registry.register(
            "versions",
            format!("Versions kept, current and old {whole}"),
            store.versions.clone(),
        );
        registry.register_with_unit(
            "logical",
            format!("What the kept versions would take stored one by one {whole}"),
            Unit::Bytes,
            store.logical_bytes.clone(),
        );
        registry.register_with_unit(
            "stored",
            format!("Verified chunks' bytes, each chunk once {whole}"),
            Unit::Bytes,
            store.stored_bytes.clone(),
        );
        registry.register(
            "dedup_ratio",
            format!("Logical bytes per stored byte {whole}"),
            store.dedup_ratio.clone(),
        );
        registry.register(
            "upload_sessions_open",
            format!("Upload sessions begun and neither committed nor expired {whole}"),
            store.uploads_open.clone(),
        );
        Metrics {
            registry,
            requests,
            in_flight,
            answered: Mutex::default(),
            batches,
            commits,
            conflicts,
            backoffs,
            sse_clients,
            store,
            store_read_at: AtomicI64::new(i64::MIN),
            born: Instant::now(),
        }
    }
}

impl Metrics {
    /// One answered request; `route` must be a route template or `unmatched`, never a path.
    pub fn observe_request(
        &self,
        method: &axum::http::Method,
        route: &str,
        status: u16,
        seconds: f64,
    ) {
        let labels = RequestLabels {
            method: method_label(method),
            route: route.to_owned(),
            status: status_label(status),
        };
        self.requests.get_or_create(&labels).observe(seconds);
        self.answered
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert((labels.method, labels.route, labels.status));
    }

    /// Every (method, route template, status) answered so far.
    pub fn answered(&self) -> Vec<(&'static str, String, u16)> {
        self.answered
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .cloned()
            .collect()
    }

    /// Counts a request to `route` (a template or `unmatched`) as in flight until the guard
    /// drops.
    pub fn in_flight(&self, route: &str) -> InFlight {
        let gauge = self
            .in_flight
            .get_or_create(&RouteLabels {
                route: route.to_owned(),
            })
            .clone();
        gauge.inc();
        InFlight(gauge)
    }

    pub fn observe_batch(&self, size: usize) {
        self.batches.observe(size as f64);
    }

    pub fn count_commit(&self, conflict: bool) {
        self.commits.inc();
        if conflict {
            self.conflicts.inc();
        }
    }

    pub fn count_backoff(&self) {
        self.backoffs.inc();
    }

    /// Counts an open SSE stream until the guard drops.
    pub fn sse_client(self: &Arc<Self>) -> SseGuard {
        self.sse_clients.inc();
        SseGuard(Arc::clone(self))
    }

    /// Whether the database's figures are due for a read; true for exactly one caller per
    /// [`STORE_REFRESH`], so scrapes arriving together read them once.
    pub fn claim_store_read(&self) -> bool {
        let now = self.born.elapsed().as_millis() as i64;
        let last = self.store_read_at.load(Ordering::Relaxed);
        let due = last == i64::MIN || now - last >= STORE_REFRESH.as_millis() as i64;
        due && self
            .store_read_at
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
    }

    pub fn set_store(&self, s: &Stats) {
        let g = &self.store;
        g.users.set(s.users);
        g.files.set(s.files);
        g.versions.set(s.versions);
        g.logical_bytes.set(s.logical_bytes);
        g.stored_bytes.set(s.stored_bytes);
        g.dedup_ratio.set(s.dedup_ratio());
        g.uploads_open.set(s.uploads_open);
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String does not fail");
        out
    }
}

pub struct SseGuard(Arc<Metrics>);

impl Drop for SseGuard {
    fn drop(&mut self) {
        self.0.sse_clients.dec();
    }
}

pub struct InFlight(Gauge);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.dec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_cumulative_buckets() {
        let m = Metrics::default();
        m.observe_request(&axum::http::Method::GET, "/api/v1/me", 200, 0.003);
        m.observe_request(&axum::http::Method::GET, "/api/v1/me", 200, 0.2);
        m.count_commit(true);
        let text = m.render();
        assert!(text.contains(
            "cairn_http_request_duration_seconds_bucket{le=\"0.005\",method=\"GET\",route=\"/api/v1/me\",status=\"200\"} 1"
        ), "{text}");
        assert!(text.contains("le=\"+Inf\",method=\"GET\""), "{text}");
        assert!(text.contains("cairn_conflicts_total 1"), "{text}");
        assert!(text.contains("cairn_commit_batch_size_count 0"), "{text}");
        assert!(text.ends_with("# EOF\n"), "{text}");
    }

    #[test]
    fn invented_methods_share_one_series() {
        let m = Metrics::default();
        for i in 0..1000 {
            let method = axum::http::Method::from_bytes(format!("JUNK{i}").as_bytes()).unwrap();
            m.observe_request(&method, "unmatched", 405, 0.001);
        }
        let text = m.render();
        assert_eq!(text.matches("_count{").count(), 1, "{text}");
        assert!(text.contains("method=\"other\""), "{text}");
    }

    #[test]
    fn the_store_is_read_once_per_refresh_and_in_flight_guards_count_down() {
        let m = Metrics::default();
        assert!(m.claim_store_read());
        assert!(!m.claim_store_read(), "a second scrape within the minute");
        m.set_store(&Stats {
            logical_bytes: 300,
            stored_bytes: 100,
            ..Stats::default()
        });
        let guard = m.in_flight("/api/v1/commits");
        assert!(m
            .render()
            .contains("cairn_http_requests_in_flight{route=\"/api/v1/commits\"} 1"));
        drop(guard);
        let text = m.render();
        assert!(text.contains("cairn_http_requests_in_flight{route=\"/api/v1/commits\"} 0"));
        assert!(text.contains("cairn_dedup_ratio 3.0"), "{text}");
        assert!(text.contains("cairn_stored_bytes 100"), "{text}");
    }
}
