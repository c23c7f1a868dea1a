//! The server's dependencies restarted under load: PostgreSQL (a private throwaway cluster,
//! stopped `-m immediate` and started again while clients commit) and Garage (killed and
//! started again on the same data while clients upload and download), and the LISTEN gap:
//! a hint committed while the notification connection is down still reaches open streams.
//!
//! A binary of its own, apart from `it`, so it builds without the big crate. Knobs:
//! `CAIRN_RESTARTS_ROUNDS` (restarts per test, default 3), `CAIRN_RESTARTS_SEED` (timing).

#[allow(dead_code)]
#[path = "../it/fixture.rs"]
mod fixture;
#[allow(dead_code)]
#[path = "../it/garage.rs"]
mod garage;

mod client;
mod cluster;
mod listen_gap;
mod postgres;
mod server;
mod storage;

/// Restarts per test (`CAIRN_RESTARTS_ROUNDS`).
pub fn rounds() -> u64 {
    std::env::var("CAIRN_RESTARTS_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
}

/// The seed of every drawn size and moment (`CAIRN_RESTARTS_SEED`).
pub fn seed() -> u64 {
    std::env::var("CAIRN_RESTARTS_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5eed)
}
