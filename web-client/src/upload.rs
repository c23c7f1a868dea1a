//! The upload job lifecycle (`client_core::upload`) as a JS handle: the page asks `next()`,
//! performs the step with its File and workers, and reports how it went.

use client_core::upload::{Fault, Job, Mode, State};
use wasm_bindgen::prelude::*;

use crate::http::to_js;

#[wasm_bindgen]
pub struct UploadJob(Job);

fn name(state: State) -> String {
    serde_json::to_value(state)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

#[wasm_bindgen]
impl UploadJob {
    /// A job of the upload list into folder `parent_id`; `hashed`, `upload_id` and `key` (its
    /// commit's idempotency key, `key` below) describe one stored before a reload.
    #[wasm_bindgen(constructor)]
    pub fn new(
        parent_id: f64,
        hashed: bool,
        upload_id: Option<String>,
        key: Option<String>,
    ) -> UploadJob {
        let job = Job::new(Mode::Interactive, parent_id as i64, hashed, upload_id);
        UploadJob(match key {
            Some(key) => job.with_key(key),
            None => job,
        })
    }

    /// A job run straight through (the outbox's replay, a drop page): no pause, no outbox, an
    /// outage fails it. `key` is the commit's idempotency key (the upload id when absent).
    pub fn plain(hashed: bool, upload_id: Option<String>, key: Option<String>) -> UploadJob {
        let job = Job::new(Mode::Plain, 0, hashed, upload_id);
        UploadJob(match key {
            Some(key) => job.with_key(key),
            None => job,
        })
    }

    /// Commits into `root` (the user's home root) if its folder is lost on the way.
    #[wasm_bindgen(js_name = setHome)]
    pub fn set_home(&mut self, root: f64) {
        self.0 = self.0.clone().with_home(root as i64);
    }

    /// Its folder was lost: the file went, or goes, into the home root.
    #[wasm_bindgen(getter)]
    pub fn rehomed(&self) -> bool {
        self.0.rehomed()
    }

    /// `{do: "hash"|"queue"|"resume"|"start"|"send"|"commit"|"wait_resume"|"wait_network"|"stop",
    /// upload_id?, key?, into_home?}`.
    pub fn next(&mut self, online: bool) -> JsValue {
        to_js(&self.0.next(online))
    }

    #[wasm_bindgen(getter)]
    pub fn state(&self) -> String {
        name(self.0.state())
    }

    #[wasm_bindgen(getter, js_name = uploadId)]
    pub fn upload_id(&self) -> Option<String> {
        self.0.upload_id().map(str::to_owned)
    }

    /// The commit's idempotency key: stored with the upload id, so a reload commits under it.
    #[wasm_bindgen(getter)]
    pub fn key(&self) -> Option<String> {
        self.0.key().map(str::to_owned)
    }

    #[wasm_bindgen(getter, js_name = waitingForNetwork)]
    pub fn waiting_for_network(&self) -> bool {
        self.0.waiting_for_network()
    }

    /// While the browser says it is online, resume a job waiting for the network after this
    /// many ms: no `online` event comes when it is the server that was unreachable.
    #[wasm_bindgen(getter, js_name = networkRetryMs)]
    pub fn network_retry_ms(&self) -> u32 {
        self.0.network_retry_ms()
    }

    pub fn hashed(&mut self) {
        self.0.hashed();
    }

    pub fn queued(&mut self) {
        self.0.queued();
    }

    pub fn answered(&mut self) {
        self.0.answered();
    }

    pub fn started(&mut self, upload_id: String) {
        self.0.started(upload_id);
    }

    pub fn sent(&mut self) {
        self.0.sent();
    }

    pub fn committed(&mut self) {
        self.0.committed();
    }

    /// `fault`: `"offline"`, `"aborted"`, `"folder_lost"` or `"other"`.
    pub fn failed(&mut self, fault: JsValue) -> Result<(), JsError> {
        let fault: Fault = serde_wasm_bindgen::from_value(fault)
            .map_err(|e| JsError::new(&format!("fault: {e}")))?;
        self.0.failed(fault);
        Ok(())
    }

    /// True when a transfer in flight should be aborted.
    pub fn pause(&mut self) -> bool {
        self.0.pause()
    }

    pub fn resume(&mut self) -> bool {
        self.0.resume()
    }

    /// The state it had before.
    pub fn cancel(&mut self) -> String {
        name(self.0.cancel())
    }

    pub fn retry(&mut self) {
        self.0.retry();
    }
}
