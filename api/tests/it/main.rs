//! The API's integration tests: the real server on a free loopback port, a real SQLite file
//! and the real chunk directory, driven over HTTP like any client.

mod bad_input;
mod feed;
mod fixture;
mod group_commit;
mod ops;
mod sse;
mod upload;
