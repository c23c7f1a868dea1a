//! The account export (`GET /api/v1/account/export`) through the core, since the page makes no
//! HTTP request of its own: the core sends the device's token and hands the zip's body to the
//! page piece by piece as it arrives, so the page can stream it to disk however large it is.

use js_sys::{Reflect, Uint8Array};
use serde_json::json;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::ReadableStreamDefaultReader;

use crate::client::{report, settle, Client};
use crate::http::{self, Body, Failure};

/// The name an export is saved under when the answer names none.
const FALLBACK_NAME: &str = "cairn-export.zip";

#[wasm_bindgen]
impl Client {
    /// Downloads everything of the account's own tree as one zip. `on_start({name, size})`
    /// comes first and is awaited (the page opens its disk writer there); then each piece of
    /// the body goes to `on_chunk(bytes)` in order, awaited (a disk writer's back-pressure);
    /// `on_progress` gets `{done, total}`. Answers `{name, size}`. The server checks every chunk
    /// as it sends it and ends the body early at a bad one: a body short of its size fails.
    #[wasm_bindgen(js_name = exportAccount)]
    pub async fn export_account(
        &self,
        on_start: js_sys::Function,
        on_chunk: js_sys::Function,
        on_progress: js_sys::Function,
    ) -> Result<JsValue, JsValue> {
        let url = self.url(wire::paths::ACCOUNT_EXPORT);
        let r = http::send("GET", &url, self.token.as_deref(), Body::None).await?;
        let headers = r.headers();
        let size: f64 = headers
            .get("content-length")
            .ok()
            .flatten()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0);
        let name = headers
            .get("content-disposition")
            .ok()
            .flatten()
            .and_then(|v| file_name(&v))
            .unwrap_or_else(|| FALLBACK_NAME.to_owned());
        let about = http::to_js(&json!({ "name": name, "size": size }));
        let body = r
            .body()
            .ok_or_else(|| Failure::local("bad_response", "the export came without a body"))?;
        let reader: ReadableStreamDefaultReader = body.get_reader().unchecked_into();
        let read = pump(&reader, &about, size, &on_start, &on_chunk, &on_progress).await;
        if read.is_err() {
            // The user closed the save dialog, or the disk failed: stop the transfer too.
            let _ = reader.cancel();
        }
        read?;
        Ok(about)
    }
}

/// `on_start`, then the body piece by piece to `on_chunk`; fails when it ends short of `size`.
async fn pump(
    reader: &ReadableStreamDefaultReader,
    about: &JsValue,
    size: f64,
    on_start: &js_sys::Function,
    on_chunk: &js_sys::Function,
    on_progress: &js_sys::Function,
) -> Result<(), JsValue> {
    settle(on_start.call1(&JsValue::NULL, about)?).await?;
    let mut done = 0f64;
    loop {
        let next = JsFuture::from(reader.read())
            .await
            .map_err(Failure::network)?;
        if Reflect::get(&next, &"done".into())?.is_truthy() {
            break;
        }
        let bytes: Uint8Array = Reflect::get(&next, &"value".into())?.unchecked_into();
        done += bytes.length() as f64;
        settle(on_chunk.call1(&JsValue::NULL, &bytes)?).await?;
        report(on_progress, &[("done", done), ("total", size)]);
    }
    if done != size {
        return Err(Failure {
            status: 0,
            code: "network".into(),
            message: format!("the export was cut short ({done} of {size} bytes)"),
        }
        .into());
    }
    Ok(())
}

/// The file name of a `Content-Disposition` answer: the UTF-8 `filename*`, else `filename`.
fn file_name(header: &str) -> Option<String> {
    let mut plain = None;
    for part in header.split(';').map(str::trim) {
        if let Some(v) = part.strip_prefix("filename*=UTF-8''") {
            if let Ok(decoded) = js_sys::decode_uri_component(v) {
                return Some(String::from(decoded));
            }
        }
        if let Some(v) = part.strip_prefix("filename=") {
            plain = Some(v.trim_matches('"').to_owned());
        }
    }
    plain.filter(|n| !n.is_empty())
}
