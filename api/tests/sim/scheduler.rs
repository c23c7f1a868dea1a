//! The seeded scheduler: one PRNG per seed picks every step (device, action, target, fault),
//! and the trace of what happened hashes to one number per seed. No wall clock, no sleeps.

/// xorshift64*, seeded: the only source of choices in a run.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn seeded(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..below` (0 when `below` is 0).
    pub fn below(&mut self, below: u64) -> u64 {
        self.next_u64() % below.max(1)
    }

    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// One of `items` (None when empty).
    pub fn pick<T: Clone>(&mut self, items: &[T]) -> Option<T> {
        if items.is_empty() {
            None
        } else {
            Some(items[self.below(items.len() as u64) as usize].clone())
        }
    }

    /// An index into `weights`, chosen in proportion to them.
    pub fn weighted(&mut self, weights: &[u64]) -> usize {
        let total: u64 = weights.iter().sum();
        let mut at = self.below(total);
        for (i, w) in weights.iter().enumerate() {
            if at < *w {
                return i;
            }
            at -= w;
        }
        weights.len() - 1
    }

    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(len + 8);
        while out.len() < len {
            out.extend_from_slice(&self.next_u64().to_le_bytes());
        }
        out.truncate(len);
        out
    }
}

/// What a seed did, line by line, folded into an FNV-1a hash (the lines are kept for a
/// failing seed's report).
#[derive(Debug, Default)]
pub struct Trace {
    pub hash: u64,
    pub lines: Vec<String>,
}

impl Trace {
    pub fn new() -> Trace {
        Trace {
            hash: 0xcbf2_9ce4_8422_2325,
            lines: Vec::new(),
        }
    }

    pub fn push(&mut self, line: String) {
        for b in line.bytes().chain([b'\n']) {
            self.hash ^= u64::from(b);
            self.hash = self.hash.wrapping_mul(0x0100_0000_01b3);
        }
        self.lines.push(line);
    }
}

/// The user-level actions the scheduler chooses among, with their weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Mkdir,
    UploadNew,
    UploadEdit,
    Rename,
    Move,
    MoveIntoOwnSubtree,
    Trash,
    Restore,
    Offline,
    Online,
    Pull,
    Crash,
}

pub const ACTIONS: &[(Action, u64)] = &[
    (Action::Mkdir, 12),
    (Action::UploadNew, 14),
    (Action::UploadEdit, 16),
    (Action::Rename, 8),
    (Action::Move, 8),
    (Action::MoveIntoOwnSubtree, 3),
    (Action::Trash, 5),
    (Action::Restore, 3),
    (Action::Offline, 5),
    (Action::Online, 6),
    (Action::Pull, 14),
    (Action::Crash, 3),
];

impl Rng {
    pub fn action(&mut self) -> Action {
        let weights: Vec<u64> = ACTIONS.iter().map(|(_, w)| *w).collect();
        ACTIONS[self.weighted(&weights)].0
    }
}
