//! Property tests of the HTTP API (issue 19): proptest strategies over what a client sends —
//! names, manifests, cursors, signed URL parameters, JSON bodies — against a real server, each
//! case either accepted and read back as sent, or refused with a 4xx JSON error and nothing
//! changed. Its own binary, so it builds without the big `it` crate; the cases are drawn from a
//! fixed seed and bounded, so a run is the same every time and stays under a minute.

#[allow(dead_code)]
#[path = "../it/fixture.rs"]
mod fixture;
#[allow(dead_code)]
#[path = "../it/garage.rs"]
mod garage;

mod bodies;
mod cursors;
mod manifests;
mod names;
mod signed;
mod support;
