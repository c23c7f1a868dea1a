//! A device as the PWA's live sync (`www/js/live.js`) runs it: one event stream on a fresh
//! ticket, and `client-core`'s feed planner deciding when to pull `/changes` — on every hint
//! and every reconnect — and how long to wait after a failed pull. Unlike the page, which
//! waits 1 s and more before reopening a broken stream, the device reopens it at once (with
//! `Last-Event-ID`), so the resets meet streams in every state. Each page is applied to the device's copy of the tree; every seq it
//! applies is written down, so the test can tell a change applied twice from one never seen.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use client_core::feed::{Action, Feed, Page};
use tokio::sync::watch;
use tokio::time::Instant;
use wire::{ChangesResponse, EventHint, Node};

/// What a device holds and what it went through, read by the test while it runs.
#[derive(Debug, Default)]
pub struct Seen {
    /// The device's copy of the tree (the root itself is never in the feed).
    pub nodes: BTreeMap<i64, Node>,
    /// Every change applied, in the order it was applied: (seq, kind, node).
    pub applied: Vec<(i64, String, i64)>,
    /// When each change of `applied` was applied.
    pub applied_at: Vec<Instant>,
    /// The highest seq applied.
    pub top: i64,
    /// The highest seq any hint announced.
    pub hinted: i64,
    pub streams_opened: u64,
    pub streams_broken: u64,
    pub stream_refusals: u64,
    /// Time spent opening streams (ticket and `GET /events`), failed tries included.
    pub opening: Duration,
    pub hints: u64,
    pub pulls: u64,
    pub pull_failures: u64,
    /// The longest wait the planner asked for after a failed pull.
    pub longest_wait_ms: u32,
    /// Things that must never happen (a `cursor_reset`, a refusal).
    pub problems: Vec<String>,
}

pub struct Device {
    pub name: String,
    pub token: String,
    /// Where the device reaches the server: the fault proxy.
    pub base: String,
    pub seen: Arc<Mutex<Seen>>,
    http: reqwest::Client,
}

/// An open `text/event-stream` answer, read frame by frame.
struct Stream {
    body: reqwest::Response,
    buf: String,
}

enum Frame {
    Hint(Option<i64>, EventHint),
    Other,
}

impl Stream {
    /// The next frame; `Err` when the stream broke or ended. Cancel-safe: what was read stays
    /// in `buf`.
    async fn next(&mut self) -> Result<Frame, String> {
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                let (mut id, mut hint, mut named) = (None, None, false);
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id:") {
                        id = v.trim().parse::<i64>().ok();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        hint = serde_json::from_str::<EventHint>(v.trim()).ok();
                    } else if line.starts_with("event:") {
                        named = true;
                    }
                }
                return match hint {
                    Some(h) if !named => Ok(Frame::Hint(id, h)),
                    _ => Ok(Frame::Other),
                };
            }
            match self.body.chunk().await {
                Ok(Some(chunk)) => self.buf.push_str(&String::from_utf8_lossy(&chunk)),
                Ok(None) => return Err("the stream ended".into()),
                Err(e) => return Err(e.to_string()),
            }
        }
    }
}

impl Device {
    pub fn new(name: String, token: String, base: String) -> Device {
        Device {
            name,
            token,
            base,
            seen: Arc::default(),
            http: reqwest::Client::new(),
        }
    }

    /// A ticket, then `GET /events?ticket=`, as a browser opens its stream.
    async fn open(&self, last_event_id: Option<i64>) -> Result<Stream, String> {
        let r = self
            .http
            .post(format!("{}/api/v1/events/ticket", self.base))
            .bearer_auth(&self.token)
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if !r.status().is_success() {
            return Err(format!("ticket: {}", r.status()));
        }
        let t: wire::StreamTicket = r.json().await.map_err(|e| e.to_string())?;
        let mut req = self
            .http
            .get(format!("{}/api/v1/events?ticket={}", self.base, t.ticket));
        if let Some(id) = last_event_id {
            req = req.header("last-event-id", id.to_string());
        }
        let r = req.send().await.map_err(|e| e.to_string())?;
        if r.status() != reqwest::StatusCode::OK {
            if r.status() == reqwest::StatusCode::TOO_MANY_REQUESTS {
                self.seen.lock().unwrap().stream_refusals += 1;
            }
            return Err(format!("events: {}", r.status()));
        }
        Ok(Stream {
            body: r,
            buf: String::new(),
        })
    }

    /// One `GET /changes` from `cursor`, applied; the planner's next action.
    async fn pull(&self, feed: &mut Feed, cursor: Option<String>) -> Action {
        let url = match &cursor {
            Some(c) => format!("{}/api/v1/changes?cursor={c}", self.base),
            None => format!("{}/api/v1/changes", self.base),
        };
        // A hint heard before this pull began speaks of a committed change: a complete
        // answer (no more pages) must reach it, or the hint ran ahead of the log.
        let hinted = {
            let mut seen = self.seen.lock().unwrap();
            seen.pulls += 1;
            seen.hinted
        };
        let answer = async {
            let r = self
                .http
                .get(url)
                .bearer_auth(&self.token)
                .timeout(Duration::from_secs(10))
                .send()
                .await
                .map_err(|_| (0, String::from("network"), None))?;
            let status = r.status().as_u16();
            let retry = r
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u32>().ok());
            let text = r
                .text()
                .await
                .map_err(|_| (0, String::from("network"), None))?;
            if status != 200 {
                let code = serde_json::from_str::<serde_json::Value>(&text)
                    .ok()
                    .and_then(|v| v["error"]["code"].as_str().map(str::to_owned))
                    .unwrap_or_default();
                return Err((status, code, retry));
            }
            Ok(text)
        }
        .await;
        let text = match answer {
            Ok(text) => text,
            Err((status, code, retry)) => {
                let mut seen = self.seen.lock().unwrap();
                seen.pull_failures += 1;
                // A server killed mid-answer, a reset connection, the proxy with no upstream
                // yet: the network. Anything else the server said on purpose is a bug here.
                if status != 0 && status != 502 && status != 503 {
                    seen.problems
                        .push(format!("{}: /changes answered {status} {code}", self.name));
                }
                let next = feed.error(status, &code, retry);
                if let Action::Wait { ms, .. } = next {
                    seen.longest_wait_ms = seen.longest_wait_ms.max(ms);
                }
                return next;
            }
        };
        let page: ChangesResponse = serde_json::from_str(&text).unwrap();
        {
            let mut seen = self.seen.lock().unwrap();
            let now = Instant::now();
            for c in &page.changes {
                seen.applied.push((c.seq, c.kind.clone(), c.node_id));
                seen.applied_at.push(now);
                seen.top = seen.top.max(c.seq);
                // The node as it is now, or gone from the live tree.
                match &c.node {
                    Some(n) => {
                        seen.nodes.insert(c.node_id, n.clone());
                    }
                    None => {
                        seen.nodes.remove(&c.node_id);
                    }
                }
            }
        }
        {
            let mut seen = self.seen.lock().unwrap();
            if !page.has_more && seen.top < hinted {
                let problem = format!(
                    "{}: a hint announced seq {hinted}, the feed after it ended at {}",
                    self.name, seen.top
                );
                seen.problems.push(problem);
            }
        }
        let planned: Page = serde_json::from_str(&text).unwrap();
        feed.apply(planned).next
    }

    /// Runs until `stop` turns true.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let mut feed = Feed::new(None);
        let mut stream: Option<Stream> = None;
        let mut last_event_id: Option<i64> = None;
        // The last hint id of the open stream.
        let mut stream_at = 0;
        // The pull the planner asked for, and when.
        let mut due: Option<(Instant, Option<String>)> = None;
        let mut reconnect_at = Instant::now();
        let mut refused = 0u32;
        let far = Duration::from_secs(3600);
        loop {
            if *stop.borrow() {
                return;
            }
            if stream.is_none() && Instant::now() >= reconnect_at {
                let opening = Instant::now();
                let opened = self.open(last_event_id).await;
                self.seen.lock().unwrap().opening += opening.elapsed();
                match opened {
                    Ok(s) => {
                        stream = Some(s);
                        stream_at = 0;
                        refused = 0;
                        self.seen.lock().unwrap().streams_opened += 1;
                        // A reconnect may have missed hints: pull (now, even when a
                        // backoff was running: the server answers again).
                        plan(feed.reconnected(), &mut due);
                    }
                    Err(_) => {
                        // The server is down or restarting: try again soon, a bit later each
                        // time.
                        refused += 1;
                        reconnect_at = Instant::now() + Duration::from_millis(10 << refused.min(3));
                    }
                }
            }
            let pull_at = due.as_ref().map_or(Instant::now() + far, |d| d.0);
            tokio::select! {
                frame = async { stream.as_mut().unwrap().next().await }, if stream.is_some() => {
                    match frame {
                        Ok(Frame::Hint(id, hint)) => {
                            let mut seen = self.seen.lock().unwrap();
                            seen.hints += 1;
                            // Hints of one stream only move forward.
                            if let Some(id) = id {
                                if stream_at >= id {
                                    let problem =
                                        format!("{}: hint {id} after {stream_at}", self.name);
                                    seen.problems.push(problem);
                                }
                                stream_at = id;
                                last_event_id = Some(id);
                            }
                            seen.hinted = seen.hinted.max(hint.seq);
                            drop(seen);
                            plan(feed.hint(Some(hint.namespace_id), Some(hint.seq)), &mut due);
                        }
                        Ok(Frame::Other) => {}
                        Err(_) => {
                            stream = None;
                            reconnect_at = Instant::now();
                            self.seen.lock().unwrap().streams_broken += 1;
                        }
                    }
                }
                _ = tokio::time::sleep_until(pull_at), if due.is_some() => {
                    let (_, cursor) = due.take().unwrap();
                    let next = self.pull(&mut feed, cursor).await;
                    plan(next, &mut due);
                }
                _ = tokio::time::sleep_until(reconnect_at), if stream.is_none() => {}
                _ = stop.changed() => {}
            }
        }
    }
}

/// Turns the planner's action into the pull that is due, if any.
fn plan(action: Action, due: &mut Option<(Instant, Option<String>)>) {
    match action {
        Action::Pull { cursor } => *due = Some((Instant::now(), cursor)),
        Action::Wait { ms, cursor } => {
            *due = Some((Instant::now() + Duration::from_millis(ms.into()), cursor))
        }
        Action::Idle => {}
        Action::Relist => panic!("cursor_reset: the server lost track of a device's cursor"),
    }
}
