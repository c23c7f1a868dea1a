//! What protects the endpoints anyone can call without signing in (sign-in, sign-up, and
//! next the public share links): per-key rate limits, the client address they key on, and
//! the bound on concurrent password hashes. Each piece keeps its memory bounded, because an
//! attacker chooses its keys.

pub mod client_ip;
pub mod hash_gate;
pub mod limiter;

use std::net::IpAddr;
use std::sync::Weak;
use std::time::Duration;

pub use client_ip::{ClientIp, TrustedProxy};
pub use hash_gate::HashGate;
pub use limiter::{KeyedLimiter, RateSpec};

/// Keys one limiter tracks at most (~100 bytes each); past that, new keys share one bucket.
pub const MAX_KEYS: usize = 100_000;
/// How often limiters forget keys whose bucket has refilled.
pub const PRUNE_EVERY: Duration = Duration::from_secs(60);

/// The limits of the account endpoints, built from the settings (`Settings::guards`).
pub struct Guards {
    /// Sign-in attempts per client address (IPv6 per /64).
    pub signin_per_ip: KeyedLimiter<IpAddr>,
    /// Sign-up attempts per client address.
    pub signup_per_ip: KeyedLimiter<IpAddr>,
    /// Sign-in and sign-up attempts naming one username (any case), known or not, so the
    /// limit says nothing about which accounts exist.
    pub per_account: KeyedLimiter<String>,
    /// Requests to share links' public routes per client address.
    pub public_per_ip: KeyedLimiter<IpAddr>,
    /// Requests each share link answers (by link id), from everyone together.
    pub public_per_link: KeyedLimiter<i64>,
    /// Password attempts per share link.
    pub link_password: KeyedLimiter<i64>,
    /// Password hashes (argon2id) running at once.
    pub hashes: HashGate,
}

impl Guards {
    /// Forgets refilled keys in every limiter.
    pub fn prune(&self) {
        self.signin_per_ip.prune();
        self.signup_per_ip.prune();
        self.per_account.prune();
        self.public_per_ip.prune();
        self.public_per_link.prune();
        self.link_password.prune();
    }
}

/// Prunes the limiters every `every` until they are gone.
pub async fn prune_every(guards: Weak<Guards>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(guards) = guards.upgrade() else {
            return;
        };
        guards.prune();
    }
}
