//! The browser half of Cairn, compiled to WASM: a narrow boundary of a few exported handles
//! (`Chunker`, `Client`, `UploadJob`, `OutboxReplay`, `SyncFeed`) over pure Rust. The decisions
//! are `client-core`'s; this crate binds them, speaks HTTP through `fetch`, and hands typed
//! values to the page as plain JS objects. The page's JavaScript draws the UI and holds the
//! browser's handles (files, workers); what is kept in IndexedDB is kept from here (`idb`).

#![allow(unsafe_code)] // wasm-bindgen's generated glue

#[cfg(feature = "hooks")]
mod bench;
mod chunker;
mod client;
mod drafts;
mod export;
mod http;
mod idb;
mod links;
mod manage;
mod names;
mod offline;
mod planners;
mod public;
mod shares;
mod sniff;
mod thumbs;
mod upload;
// Compiled for the native tests too, which check it against the committed vectors.
#[cfg(any(test, feature = "hooks"))]
#[cfg_attr(not(feature = "hooks"), allow(dead_code))]
mod vectors;

#[cfg(feature = "hooks")]
pub use bench::BenchData;
pub use chunker::Chunker;
pub use client::Client;
pub use names::{check_name, name_key};
pub use offline::{edit_listing, find_child, pending_file, pending_folder};
pub use planners::{compact_outbox, send_now, OutboxReplay, SyncFeed};
pub use sniff::sniff_type;
pub use upload::UploadJob;
#[cfg(feature = "hooks")]
pub use vectors::{check_vector_case, vector_input};

use wasm_bindgen::prelude::*;

#[wasm_bindgen(start)]
pub fn start() {
    std::panic::set_hook(Box::new(|info| {
        web_sys::console::error_1(&JsValue::from_str(&format!("cairn panicked: {info}")));
    }));
}
