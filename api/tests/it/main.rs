//! The API's integration tests: the real server on a free loopback port over a real SQLite
//! file or a fresh PostgreSQL database (every test runs on both), and the real chunk
//! directory, driven over HTTP like any client.

mod abuse;
mod account;
mod bad_input;
mod cancel;
mod chunk_sizes;
mod commit_order;
mod concurrency;
mod content_verify;
mod crash;
mod dedup_timing;
mod depth;
mod devices;
mod feed;
mod fixture;
mod garage;
mod gc;
mod group_commit;
mod keep;
mod links;
mod migrations;
mod names;
mod ops;
mod permission_matrix;
mod quota;
mod requests;
mod s3_content;
mod s3_store;
mod scrub;
mod search;
mod security;
mod share_budget;
mod share_bytes;
mod share_page;
mod share_tools;
mod shared_sync;
mod shared_writes;
mod sharing;
mod slow_body;
mod sse;
mod tree;
mod trust;
mod upload;
mod versions;
mod wal;
