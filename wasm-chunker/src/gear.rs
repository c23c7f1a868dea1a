//! The gear table of the rolling hash, generated at compile time from a fixed seed so that it is
//! part of the algorithm's definition rather than 2 KiB of unexplained constants.

use crate::prng::splitmix64;

/// The seed of the gear table: the ASCII bytes `cairn-cd` read as a big-endian u64.
///
/// Changing it (or the generator) moves every cut point: it would need a new
/// [`CHUNKER_ID`](crate::CHUNKER_ID), and the test vectors would catch it.
pub const GEAR_SEED: u64 = u64::from_be_bytes(*b"cairn-cd");

/// `GEAR[b]` is the b-th SplitMix64 output from [`GEAR_SEED`].
pub static GEAR: [u64; 256] = gear_table(GEAR_SEED);

const fn gear_table(seed: u64) -> [u64; 256] {
    let mut state = seed;
    let mut table = [0u64; 256];
    let mut i = 0;
    while i < 256 {
        table[i] = splitmix64(&mut state);
        i += 1;
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_generated_from_the_seed() {
        let mut state = GEAR_SEED;
        for (i, entry) in GEAR.iter().enumerate() {
            assert_eq!(*entry, splitmix64(&mut state), "entry {i}");
        }
        assert_eq!(GEAR_SEED, 0x6361_6972_6E2D_6364);
    }

    #[test]
    fn entries_are_distinct() {
        let mut sorted = GEAR.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 256);
    }
}
