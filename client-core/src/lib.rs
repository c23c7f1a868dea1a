//! Every decision Cairn's browser client makes, with no browser in it: what the offline outbox
//! sends and what an answer means, how the change feed is followed, where an upload job goes
//! next, how the cached tree changes before the server agrees, which pinned chunks stay, what
//! type a file is (`sniff`). The page (`web-client` and `www/js`) only performs what these
//! return, so the same rules run natively in tests and, later, in a multi-device simulation.
//!
//! Architecture invariant: no I/O and no browser here (no web-sys, js-sys, wasm-bindgen,
//! tokio, sqlx, reqwest); `tests/tidy.rs` fails when Cargo.toml gains one.

pub mod feed;
pub mod names;
pub mod outbox;
pub mod pins;
pub mod retry;
pub mod sniff;
pub mod tree;
pub mod upload;
