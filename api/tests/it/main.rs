//! The API's integration tests: the real server on a free loopback port, a real SQLite file
//! and the real chunk directory, driven over HTTP like any client.

mod bad_input;
mod fixture;
mod garage;
mod gc;
mod s3_content;
mod s3_store;
mod trust;
mod upload;
