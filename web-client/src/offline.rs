//! The optimistic offline tree (`client_core::tree`) and the pin bookkeeping
//! (`client_core::pins`) for the page, which keeps listings, pins and chunks in IndexedDB and
//! performs what these decide.

use client_core::{pins, tree};
use wasm_bindgen::prelude::*;

use crate::client::from_js;
use crate::http::to_js;

/// `listing` with `edit` applied (`{edit:"add", node}`, `{edit:"rename", node_id, name}`,
/// `{edit:"remove", node_id}`).
#[wasm_bindgen(js_name = editListing)]
pub fn edit_listing(listing: JsValue, edit: JsValue) -> Result<JsValue, JsValue> {
    let mut listing: tree::Listing = from_js(&listing)?;
    let edit: tree::Edit = from_js(&edit)?;
    tree::apply(&mut listing, &edit);
    Ok(to_js(&listing))
}

/// The listing row of a folder made offline by outbox operation `seq`.
#[wasm_bindgen(js_name = pendingFolder)]
pub fn pending_folder(seq: f64, parent_id: f64, name: &str, now: f64) -> JsValue {
    to_js(&tree::pending_folder(
        seq as i64,
        parent_id as i64,
        name,
        now,
    ))
}

/// The listing row of a file queued offline by outbox operation `seq`.
#[wasm_bindgen(js_name = pendingFile)]
pub fn pending_file(seq: f64, parent_id: f64, name: &str, size: f64, now: f64) -> JsValue {
    to_js(&tree::pending_file(
        seq as i64,
        parent_id as i64,
        name,
        size as u64,
        now,
    ))
}

/// The child of `kind` in `children` the server would call `name`, or `undefined`.
#[wasm_bindgen(js_name = findChild)]
pub fn find_child(children: JsValue, kind: &str, name: &str) -> Result<JsValue, JsValue> {
    let children: Vec<tree::Node> = from_js(&children)?;
    Ok(tree::find(&children, kind, name)
        .map(to_js)
        .unwrap_or(JsValue::UNDEFINED))
}

/// A pins record's state: `{usable, whole, stale}` (`stale` against `version_id`).
#[wasm_bindgen(js_name = pinState)]
pub fn pin_state(record: JsValue, version_id: Option<f64>) -> Result<JsValue, JsValue> {
    if record.is_undefined() || record.is_null() {
        return Ok(to_js(
            &serde_json::json!({"usable": false, "whole": false, "stale": false}),
        ));
    }
    let r: pins::Record = from_js(&record)?;
    Ok(to_js(&serde_json::json!({
        "usable": r.usable(),
        "whole": r.whole(),
        "stale": r.stale(version_id.map(|v| v as i64)),
    })))
}

/// The stored chunk hashes no record names: what a sweep deletes.
#[wasm_bindgen(js_name = unnamedChunks)]
pub fn unnamed_chunks(records: JsValue, stored: Vec<String>) -> Result<Vec<String>, JsValue> {
    let records: Vec<pins::Record> = from_js(&records)?;
    Ok(pins::unnamed(&records, &stored)
        .into_iter()
        .map(str::to_owned)
        .collect())
}

/// How pin run `key` ends on `record`: `"promote"`, `"keep_old"`, `"forget"` or `"leave"`.
#[wasm_bindgen(js_name = settlePin)]
pub fn settle_pin(record: JsValue, key: Option<String>, ok: bool) -> Result<String, JsValue> {
    let record: Option<pins::Record> = if record.is_undefined() || record.is_null() {
        None
    } else {
        Some(from_js(&record)?)
    };
    let s = pins::settle(record.as_ref(), key.as_deref(), ok);
    Ok(serde_json::to_value(s)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default())
}
