//! The API's integration tests: the real server on a free loopback port over a real SQLite
//! file or a fresh PostgreSQL database (every test runs on both), and the real chunk
//! directory, driven over HTTP like any client.

mod bad_input;
mod concurrency;
mod devices;
mod fixture;
mod quota;
mod search;
mod tree;
mod upload;
mod versions;
