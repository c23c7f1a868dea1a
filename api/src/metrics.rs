//! Prometheus metrics, hand-rolled: a handful of counters and histograms rendered in the text
//! exposition format, so the server needs no metrics framework for what `/metrics` shows.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Mutex;

/// Request latency bucket bounds, seconds.
const LATENCY_BOUNDS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];
/// Commits-per-transaction bucket bounds.
const BATCH_BOUNDS: [f64; 9] = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0];

#[derive(Debug, Clone, Default)]
struct Histogram {
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

impl Histogram {
    fn observe(&mut self, bounds: &[f64], v: f64) {
        if self.counts.is_empty() {
            self.counts = vec![0; bounds.len()];
        }
        for (i, b) in bounds.iter().enumerate() {
            if v <= *b {
                self.counts[i] += 1;
            }
        }
        self.sum += v;
        self.count += 1;
    }

    fn render(&self, out: &mut String, name: &str, labels: &str, bounds: &[f64]) {
        let sep = if labels.is_empty() { "" } else { "," };
        for (i, b) in bounds.iter().enumerate() {
            let c = self.counts.get(i).copied().unwrap_or(0);
            let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{b}\"}} {c}");
        }
        let _ = writeln!(
            out,
            "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {}",
            self.count
        );
        let braces = if labels.is_empty() {
            String::new()
        } else {
            format!("{{{labels}}}")
        };
        let _ = writeln!(out, "{name}_sum{braces} {}", self.sum);
        let _ = writeln!(out, "{name}_count{braces} {}", self.count);
    }
}

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

#[derive(Default)]
pub struct Metrics {
    /// (method, route template, status) → latency. Every part comes from a bounded set:
    /// `method_label`, the router's templates (or `unmatched`), `status_label`.
    requests: Mutex<BTreeMap<(&'static str, String, u16), Histogram>>,
    batches: Mutex<Histogram>,
    commits: AtomicU64,
    conflicts: AtomicU64,
    backoffs: AtomicU64,
    sse_clients: AtomicI64,
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
        let key = (method_label(method), route.to_owned(), status_label(status));
        let mut m = self.requests.lock().unwrap_or_else(|e| e.into_inner());
        m.entry(key).or_default().observe(&LATENCY_BOUNDS, seconds);
    }

    /// Every (method, route template, status) answered so far: what the contract check in the
    /// integration tests compares with `/openapi.json`.
    pub fn answered(&self) -> Vec<(&'static str, String, u16)> {
        self.requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .keys()
            .cloned()
            .collect()
    }

    pub fn observe_batch(&self, size: usize) {
        self.batches
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .observe(&BATCH_BOUNDS, size as f64);
    }

    pub fn count_commit(&self, conflict: bool) {
        self.commits.fetch_add(1, Ordering::Relaxed);
        if conflict {
            self.conflicts.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn count_backoff(&self) {
        self.backoffs.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts an open SSE stream until the guard drops.
    pub fn sse_client(self: &std::sync::Arc<Self>) -> SseGuard {
        self.sse_clients.fetch_add(1, Ordering::Relaxed);
        SseGuard(std::sync::Arc::clone(self))
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str("# HELP cairn_http_request_duration_seconds Time to answer a request (to the first byte of a stream).\n");
        out.push_str("# TYPE cairn_http_request_duration_seconds histogram\n");
        for ((method, route, status), h) in self
            .requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            let labels = format!(
                "method=\"{}\",route=\"{}\",status=\"{status}\"",
                escape(method),
                escape(route)
            );
            h.render(
                &mut out,
                "cairn_http_request_duration_seconds",
                &labels,
                &LATENCY_BOUNDS,
            );
        }
        let counters = [
            (
                "cairn_commits_total",
                "Versions written by commits.",
                self.commits.load(Ordering::Relaxed),
            ),
            (
                "cairn_conflicts_total",
                "Commits that became conflicted copies.",
                self.conflicts.load(Ordering::Relaxed),
            ),
            (
                "cairn_backoffs_total",
                "Requests answered with `backoff` because the server was loaded.",
                self.backoffs.load(Ordering::Relaxed),
            ),
        ];
        for (name, help, v) in counters {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP cairn_sse_clients Open server-sent event streams.\n# TYPE cairn_sse_clients gauge\ncairn_sse_clients {}",
            self.sse_clients.load(Ordering::Relaxed)
        );
        out.push_str("# HELP cairn_commit_batch_size Commits per group-commit transaction.\n");
        out.push_str("# TYPE cairn_commit_batch_size histogram\n");
        self.batches
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .render(&mut out, "cairn_commit_batch_size", "", &BATCH_BOUNDS);
        out
    }
}

pub struct SseGuard(std::sync::Arc<Metrics>);

impl Drop for SseGuard {
    fn drop(&mut self) {
        self.0.sse_clients.fetch_sub(1, Ordering::Relaxed);
    }
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
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
            "cairn_http_request_duration_seconds_bucket{method=\"GET\",route=\"/api/v1/me\",status=\"200\",le=\"0.005\"} 1"
        ), "{text}");
        assert!(text.contains("le=\"+Inf\"} 2"), "{text}");
        assert!(text.contains("cairn_conflicts_total 1"), "{text}");
        assert!(text.contains("cairn_commit_batch_size_count 0"), "{text}");
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
}
