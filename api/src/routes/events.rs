//! Server-sent events: push hints "namespace N is at seq S", never the changes themselves — a
//! device that hears one pulls `/api/v1/changes`. One stream carries every namespace the user
//! follows: their own tree and the shared ones they belong to when it opens. Hints only move
//! forward and skip what the device has already seen (its acknowledged cursor,
//! `Last-Event-ID`, earlier hints); the event id is the own tree's seq, and a shared tree's
//! hint carries none, so `Last-Event-ID` always speaks of the own tree.
//!
//! A revoked device's open stream ends at once, with a last `event: revoked`.
//!
//! Auth: the `Authorization: Bearer` header, or `?ticket=` from `POST /api/v1/events/ticket`
//! because the browser's `EventSource` cannot set headers; the device token itself is never
//! accepted in the URL (see `stream_ticket`). Each user may hold `sse_max_per_user` streams
//! open on a node; the next is answered 429 `rate_limited`.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use serde::Deserialize;
use wire::{EventHint, StreamTicket};

use crate::auth;
use crate::db::changes;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Query};
use crate::state::AppState;
use crate::stream_ticket;

/// What a client refused for holding too many streams is told to wait before trying again.
const STREAM_CAP_RETRY_SECS: u64 = 30;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct EventsQuery {
    /// A ticket from `POST /api/v1/events/ticket`, for clients that cannot send an
    /// `Authorization` header (a browser's `EventSource`).
    ticket: Option<String>,
}

/// A ticket that opens this device's event stream for the next 60 seconds, so a browser's
/// `EventSource` (which cannot send headers) never carries the device token in its URL.
#[utoipa::path(post, path = "/api/v1/events/ticket", tag = "sync", security(("bearer" = [])),
    responses(
        (status = 200, description = "A ticket for `GET /api/v1/events?ticket=`", body = StreamTicket),
        (status = 401, description = "Missing, unknown or revoked token", body = wire::ErrorBody),
    ))]
pub async fn ticket(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> ApiResult<Json<StreamTicket>> {
    // The hash the ticket's key comes from, with the caller: `Auth` yields only the caller.
    let token = bearer(&headers).ok_or(ApiError::Unauthorized)?;
    let c = auth::caller_for_token(&state, token).await?;
    let expires_at = state.clock.now_ms() + stream_ticket::TTL.as_millis() as i64;
    Ok(Json(StreamTicket {
        ticket: stream_ticket::mint(&auth::token_hash(token), c.device_id, expires_at),
        expires_at,
    }))
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

#[utoipa::path(get, path = "/api/v1/events", tag = "sync", params(EventsQuery,
        ("Last-Event-ID" = Option<i64>, Header, description = "The last hint's id: nothing up to it is announced again")),
    security(("bearer" = []), ("stream_ticket" = [])),
    responses(
        (status = 200, description = "`text/event-stream`: events `data: EventHint` as JSON — with `id: <seq>` for the caller's own tree, without an id for a shared folder's namespace — and keep-alive comments", body = EventHint, content_type = "text/event-stream"),
        (status = 401, description = "Missing, unknown or revoked token; a ticket that is malformed, expired, forged or of a revoked device", body = wire::ErrorBody),
        (status = 429, description = "`rate_limited`: the user already holds the most streams allowed on this node; retry after `Retry-After`", body = wire::ErrorBody),
    ))]
pub async fn stream(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<EventsQuery>,
) -> ApiResult<(
    [(HeaderName, HeaderValue); 1],
    Sse<impl Stream<Item = Result<Event, Infallible>>>,
)> {
    // Watch revocations before the token check, so one racing the check still ends the stream.
    let revocations = state.db.hub.revocations();
    let c = match (bearer(&headers), q.ticket.as_deref()) {
        (Some(token), _) => auth::caller_for_token(&state, token).await?,
        (None, Some(ticket)) => stream_ticket::caller_for_ticket(&state, ticket).await?,
        (None, None) => return Err(ApiError::Unauthorized),
    };
    let slot = state.streams.try_open(c.user_id).ok_or_else(|| {
        tracing::info!(user_id = c.user_id, "event stream refused: too many open");
        ApiError::RateLimited(STREAM_CAP_RETRY_SECS)
    })?;
    let last_event_id = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok())
        .unwrap_or(0);
    let acked = changes::device_cursor(&state.db, c.device_id).await?;
    state.db.hub.note_seen(c.device_id, acked);

    // Every namespace the user follows: their own tree and the shared ones they belong to
    // (one joined later is followed from the next stream on). Subscribe before reading the
    // current seq, so a commit in between is not missed.
    let mut subs = Vec::new();
    let mut home_at = 0;
    for ns in crate::access::readable(&state.db, &c).await? {
        let sub = state.db.hub.subscribe(ns, 0);
        let (seq, _) = changes::positions(&state.db, ns).await?;
        state.db.hub.publish(ns, seq);
        // The own tree's floor is what the device has seen; a shared one's hint comes once
        // at the start (the device pulls), then with each commit.
        let floor = if crate::access::is_home(&c, ns) {
            last_event_id
        } else {
            0
        };
        if crate::access::is_home(&c, ns) {
            home_at = seq;
        }
        subs.push(Watched { ns, sub, floor });
    }

    let hub = std::sync::Arc::clone(&state.db.hub);
    let follow = (state.clone(), c.clone());
    let guard = state.metrics.sse_client();
    let stopping = state.stopping.subscribe();
    let home = c.namespace_id;
    let device_id = c.device_id;
    tracing::info!(
        device_id,
        namespaces = subs.len(),
        last_event_id,
        "event stream opened"
    );

    struct Watched {
        ns: i64,
        sub: crate::hub::Subscription,
        floor: i64,
    }
    struct Live {
        subs: Vec<Watched>,
        stopping: tokio::sync::watch::Receiver<bool>,
        revocations: tokio::sync::watch::Receiver<u64>,
        /// Look at every namespace before waiting: at the start, and after each hint (one
        /// hint per turn; others may be waiting behind it).
        scan: bool,
        ended: bool,
        /// The own tree's seq when the followed trees were last read.
        home_at: i64,
        _guard: crate::metrics::SseGuard,
        _slot: crate::stream_cap::StreamSlot,
    }
    let live = Live {
        subs,
        stopping,
        revocations,
        scan: true,
        ended: false,
        home_at,
        _guard: guard,
        _slot: slot,
    };
    let events = futures::stream::unfold(live, move |mut l| {
        let hub = std::sync::Arc::clone(&hub);
        let follow = follow.clone();
        async move {
            loop {
                if l.ended {
                    return None;
                }
                if hub.is_revoked(device_id) {
                    // Said once, so the page signs out rather than reconnecting into 401s.
                    tracing::info!(device_id, "event stream closed: device revoked");
                    l.ended = true;
                    return Some((Ok(Event::default().event("revoked").data("{}")), l));
                }
                if !l.scan {
                    let changed = futures::future::select_all(
                        l.subs.iter_mut().map(|w| Box::pin(w.sub.rx.changed())),
                    );
                    tokio::select! {
                        (r, _, _) = changed => if r.is_err() { return None },
                        _ = l.stopping.wait_for(|s| *s) => return None,
                        r = l.revocations.changed() => if r.is_err() { return None } else { continue },
                    }
                }
                l.scan = false;
                let home_at = l
                    .subs
                    .iter()
                    .find(|w| w.ns == home)
                    .map(|w| *w.sub.rx.borrow());
                if home_at.is_some_and(|at| at != l.home_at) {
                    l.home_at = home_at.unwrap_or_default();
                    // The own tree moved: a share begun or ended, an invitation accepted or a
                    // membership ended may have changed which trees this stream follows.
                    let (state, c) = &follow;
                    if let Ok(now) = crate::access::readable(&state.db, c).await {
                        l.subs.retain(|w| now.contains(&w.ns));
                        for ns in now {
                            if !l.subs.iter().any(|w| w.ns == ns) {
                                let sub = hub.subscribe(ns, 0);
                                // Hints from here on: the device pulls on the home hint anyway.
                                let floor = *sub.rx.borrow();
                                l.subs.push(Watched { ns, sub, floor });
                            }
                        }
                    }
                }
                let seen = hub.seen(device_id);
                for w in &mut l.subs {
                    let seq = *w.sub.rx.borrow_and_update();
                    if w.ns == home {
                        w.floor = w.floor.max(seen);
                    }
                    if seq > w.floor {
                        w.floor = seq;
                        let hint = EventHint {
                            namespace_id: w.ns,
                            seq,
                        };
                        let data = serde_json::to_string(&hint).unwrap_or_default();
                        let mut event = Event::default().data(data);
                        // `Last-Event-ID` speaks of the own tree's log alone.
                        if w.ns == home {
                            event = event.id(seq.to_string());
                        }
                        l.scan = true;
                        return Some((Ok(event), l));
                    }
                }
            }
        }
    });
    let sse = Sse::new(events).keep_alive(
        KeepAlive::new()
            .interval(state.settings.sse_keepalive.max(Duration::from_millis(10)))
            .text("keep-alive"),
    );
    // A reverse proxy must pass each event on at once (nginx reads this; others are told
    // in their config: see README, "Behind a reverse proxy").
    Ok((
        [(
            HeaderName::from_static("x-accel-buffering"),
            HeaderValue::from_static("no"),
        )],
        sse,
    ))
}
