//! SplitMix64, the one pseudo-random generator of the crate: it builds the gear table at compile
//! time and the test-vector inputs at run time, so both are reproducible anywhere.

/// Advances `state` and returns the next SplitMix64 output (Steele, Lea and Flood, 2014; the
/// constants are those of `java.util.SplittableRandom`).
pub const fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::splitmix64;

    #[test]
    fn matches_the_reference_sequence() {
        // First outputs for seed 0 from the reference C implementation (prng.di.unimi.it).
        let mut state = 0;
        assert_eq!(splitmix64(&mut state), 0xE220_A839_7B1D_CDAF);
        assert_eq!(splitmix64(&mut state), 0x6E78_9E6A_A1B9_65F4);
        assert_eq!(splitmix64(&mut state), 0x06C4_5D18_8009_454F);
    }
}
