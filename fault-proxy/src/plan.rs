//! The per-connection fault plan, drawn from a seeded PRNG so a failing run can be replayed:
//! pure, no I/O, so it is tested by data.

use crate::Faults;

/// SplitMix64: tiny, fast and good enough to pick fault points; one stream per proxy, so
/// the same seed and the same order of connections give the same plans.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A byte count in [1, 2^max_log2], log-uniform: small offsets (inside headers, inside a
    /// short JSON answer) are as likely as large ones (deep inside a 4 MiB chunk).
    fn offset(&mut self, max_log2: u32) -> u64 {
        let x = 2f64.powf(self.unit() * f64::from(max_log2));
        (x as u64).max(1)
    }

    /// A byte count in [1, 2^max_log2]: half the time log-uniform (headers, short answers),
    /// half uniform (most of a connection's bytes are chunk bodies: cut in their middle).
    fn body_offset(&mut self, max_log2: u32) -> u64 {
        let uniform = self.next_u64() & 1 == 0;
        let log = self.offset(max_log2);
        let flat = 1 + self.next_u64() % (1u64 << max_log2);
        if uniform {
            flat
        } else {
            log
        }
    }
}

/// Which way bytes flow: `Up` from the client to the upstream (a PUT's body), `Down` back
/// (a GET's body, an SSE stream).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dir {
    Up,
    Down,
}

/// Resets land up to 2 MiB into a direction: most chunk PUTs and GETs are cut in the body.
const RESET_MAX_LOG2: u32 = 21;
/// Truncations land up to 128 KiB into the answers: headers, JSON, the head of a chunk.
const TRUNCATE_MAX_LOG2: u32 = 17;
/// Stalls land up to 16 KiB in: early enough to silence an event stream.
const STALL_MAX_LOG2: u32 = 14;

/// What one connection will suffer, as byte offsets into each direction. A fault fires once
/// the direction has forwarded that many bytes; whichever comes first acts first.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Plan {
    pub(crate) reset: Option<(Dir, u64)>,
    pub(crate) truncate: Option<u64>,
    pub(crate) stall: Option<(Dir, u64)>,
}

/// One direction's share of a [`Plan`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Side {
    pub(crate) reset_at: Option<u64>,
    pub(crate) truncate_at: Option<u64>,
    pub(crate) stall_at: Option<u64>,
}

impl Plan {
    /// Always takes the same number of draws, whatever the chances, so turning one fault
    /// kind up or down does not shift the others' decisions for later connections.
    pub(crate) fn draw(rng: &mut Rng, faults: &Faults) -> Plan {
        let mut roll = |chance: f64| rng.unit() < chance;
        let reset = roll(faults.reset_chance);
        let truncate = roll(faults.truncate_chance);
        let stall = roll(faults.stall_chance) && !faults.stall.is_zero();
        let dir = |r: &mut Rng| {
            if r.next_u64() & 1 == 0 {
                Dir::Up
            } else {
                Dir::Down
            }
        };
        let reset_dir = dir(rng);
        let reset_at = rng.body_offset(RESET_MAX_LOG2);
        let truncate_at = rng.offset(TRUNCATE_MAX_LOG2);
        let stall_dir = dir(rng);
        let stall_at = rng.offset(STALL_MAX_LOG2);
        Plan {
            reset: reset.then_some((reset_dir, reset_at)),
            truncate: truncate.then_some(truncate_at),
            stall: stall.then_some((stall_dir, stall_at)),
        }
    }

    pub(crate) fn side(&self, dir: Dir) -> Side {
        let on = |f: Option<(Dir, u64)>| f.and_then(|(d, at)| (d == dir).then_some(at));
        Side {
            reset_at: on(self.reset),
            // Only answers are truncated: a request cut short is what a reset is for.
            truncate_at: if dir == Dir::Down {
                self.truncate
            } else {
                None
            },
            stall_at: on(self.stall),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn faults(seed: u64) -> Faults {
        Faults {
            seed,
            reset_chance: 0.3,
            truncate_chance: 0.2,
            stall_chance: 0.2,
            stall: Duration::from_millis(10),
            ..Faults::default()
        }
    }

    fn plans(f: &Faults, n: usize) -> Vec<Plan> {
        let mut rng = Rng::new(f.seed);
        (0..n).map(|_| Plan::draw(&mut rng, f)).collect()
    }

    #[test]
    fn the_same_seed_draws_the_same_plans_and_another_seed_others() {
        assert_eq!(plans(&faults(7), 200), plans(&faults(7), 200));
        assert_ne!(plans(&faults(7), 200), plans(&faults(8), 200));
    }

    #[test]
    fn no_faults_draws_empty_plans() {
        assert!(plans(&Faults::default(), 500)
            .iter()
            .all(|p| *p == Plan::default()));
    }

    #[test]
    fn chances_are_kept_and_offsets_stay_in_range() {
        let all = plans(&faults(1), 10_000);
        let share = |n: usize| n as f64 / all.len() as f64;
        let resets = all.iter().filter(|p| p.reset.is_some()).count();
        let truncs = all.iter().filter(|p| p.truncate.is_some()).count();
        assert!((share(resets) - 0.3).abs() < 0.03, "{resets}");
        assert!((share(truncs) - 0.2).abs() < 0.03, "{truncs}");
        for p in &all {
            if let Some((_, at)) = p.reset {
                assert!((1..=1 << RESET_MAX_LOG2).contains(&at));
            }
            if let Some(at) = p.truncate {
                assert!((1..=1 << TRUNCATE_MAX_LOG2).contains(&at));
            }
        }
        let ups = all
            .iter()
            .filter(|p| matches!(p.reset, Some((Dir::Up, _))))
            .count();
        assert!(
            ups > resets / 3 && ups < resets * 2 / 3,
            "{ups} of {resets}"
        );
    }

    #[test]
    fn a_side_sees_only_its_own_faults_and_only_answers_are_truncated() {
        let p = Plan {
            reset: Some((Dir::Up, 5)),
            truncate: Some(9),
            stall: Some((Dir::Down, 3)),
        };
        let up = Side {
            reset_at: Some(5),
            ..Side::default()
        };
        let down = Side {
            reset_at: None,
            truncate_at: Some(9),
            stall_at: Some(3),
        };
        assert_eq!((p.side(Dir::Up), p.side(Dir::Down)), (up, down));
    }
}
