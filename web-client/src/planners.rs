//! The two sans-I/O planners (`outbox`, `sync`) as opaque JS handles. Values cross as plain JS
//! objects through JSON, so the page's IndexedDB records are read exactly as stored.

use wasm_bindgen::prelude::*;

use crate::client::from_js;
use crate::http::to_js;
use client_core::{feed as sync, outbox};

/// Replays the offline outbox in order (see `outbox::Replay`).
#[wasm_bindgen]
pub struct OutboxReplay(outbox::Replay);

#[wasm_bindgen]
impl OutboxReplay {
    #[wasm_bindgen(constructor)]
    pub fn new() -> OutboxReplay {
        OutboxReplay(outbox::Replay::new())
    }

    /// The user's home root: a file queued into a folder that could not be made goes there.
    #[wasm_bindgen(js_name = setHome)]
    pub fn set_home(&mut self, root: f64) {
        self.0.set_home(root as i64);
    }

    /// `{step:"send", op, rehomed?}` with real ids (`rehomed`: a file sent into the home root
    /// because its folder could not be made), or `{step:"skip", seq, reason}`.
    pub fn step(&self, op: JsValue) -> Result<JsValue, JsValue> {
        let op: outbox::Op = from_js(&op)?;
        Ok(to_js(&self.0.step(&op)))
    }

    /// `outcome` is `{outcome:"ok", id, conflict}` or `{outcome:"failed", status, code,
    /// message}`; answers `{verdict: "done"|"conflict"|"retry_later"|"rejected", message?}`.
    pub fn outcome(&mut self, op: JsValue, outcome: JsValue) -> Result<JsValue, JsValue> {
        let op: outbox::Op = from_js(&op)?;
        let outcome: outbox::Outcome = from_js(&outcome)?;
        Ok(to_js(&self.0.outcome(&op, &outcome)))
    }

    /// Seeds a temporary → server id mapping from an earlier, interrupted replay.
    pub fn learn(&mut self, temp: f64, real: f64) {
        self.0.learn(temp as i64, real as i64);
    }

    /// The server id of a folder made offline (`-seq`), once replay created it.
    pub fn resolved(&self, id: f64) -> Option<f64> {
        self.0.resolved(id as i64).map(|v| v as f64)
    }
}

impl Default for OutboxReplay {
    fn default() -> Self {
        Self::new()
    }
}

/// The queue as it will be replayed (see `outbox::compact`).
#[wasm_bindgen(js_name = compactOutbox)]
pub fn compact_outbox(ops: JsValue) -> Result<JsValue, JsValue> {
    let ops: Vec<outbox::Op> = from_js(&ops)?;
    Ok(to_js(&outbox::compact(&ops)))
}

/// Whether a change goes to the server now or waits in the outbox (see `outbox::send_now`).
#[wasm_bindgen(js_name = sendNow)]
pub fn send_now(online: bool, waiting: u32) -> bool {
    outbox::send_now(online, waiting as usize)
}

/// The live-sync decisions (see `sync::Feed`).
#[wasm_bindgen]
pub struct SyncFeed(sync::Feed);

#[wasm_bindgen]
impl SyncFeed {
    #[wasm_bindgen(constructor)]
    pub fn new(cursor: Option<String>) -> SyncFeed {
        SyncFeed(sync::Feed::new(cursor))
    }

    #[wasm_bindgen(getter)]
    pub fn cursor(&self) -> Option<String> {
        self.0.cursor().map(str::to_owned)
    }

    pub fn saw(&mut self, node_id: f64, parent_id: Option<f64>) {
        self.0.saw(node_id as i64, parent_id.map(|p| p as i64));
    }

    /// An SSE hint that namespace `namespace_id` is at `seq` (either unknown: `undefined`).
    pub fn hint(&mut self, namespace_id: Option<f64>, seq: Option<f64>) -> JsValue {
        to_js(
            &self
                .0
                .hint(namespace_id.map(|n| n as i64), seq.map(|s| s as i64)),
        )
    }

    /// The event stream (re)opened: a pull waiting out a backoff goes now (see
    /// `client_core::feed::Feed::reconnected`).
    pub fn reconnected(&mut self) -> JsValue {
        to_js(&self.0.reconnected())
    }

    /// `page` is the `/changes` answer; returns `{folders: [ids], next: Action}`.
    pub fn page(&mut self, page: JsValue) -> Result<JsValue, JsValue> {
        let page: sync::Page = from_js(&page)?;
        Ok(to_js(&self.0.apply(page)))
    }

    /// A failed pull: its HTTP status (0 without an answer) and the API's error code. The code
    /// comes in as any value and counts only as a string: a page once passed a DOMException's
    /// numeric `code`, which wasm-bindgen's string copy turned into a realloc of a dangling
    /// pointer, trapping the page's WASM.
    pub fn error(&mut self, status: u16, code: JsValue, retry_after: Option<u32>) -> JsValue {
        let code = code.as_string().unwrap_or_default();
        to_js(&self.0.error(status, &code, retry_after))
    }
}
