//! The optimistic offline tree (`client_core::tree`) for the page, which keeps listings in
//! IndexedDB (`idb`) and draws what this decides.

use client_core::tree;
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
