//! The server's name rules for the page (`wire::names`), so a name is refused, and two names
//! compared, exactly as the API will: before an offline change is queued, not at its replay.

use wasm_bindgen::prelude::*;

use crate::http::Failure;

/// The name in the form the server stores (NFC), or an `Error` with status 400 and code
/// `invalid_name` whose message says which rule it breaks.
#[wasm_bindgen(js_name = checkName)]
pub fn check_name(name: &str) -> Result<String, JsValue> {
    client_core::names::check(name).map_err(|e| {
        Failure {
            status: 400,
            code: wire::ErrorCode::InvalidName.as_str().into(),
            message: format!("invalid name: {e}"),
        }
        .into()
    })
}

/// The key the server keeps names unique by in a folder (full case folding, NFC): two names
/// with equal keys cannot share a folder.
#[wasm_bindgen(js_name = nameKey)]
pub fn name_key(name: &str) -> String {
    client_core::names::key(name)
}
