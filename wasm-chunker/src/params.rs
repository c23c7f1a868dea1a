//! Chunk size parameters: the production constants, the chunker id that names them in every
//! manifest, and custom parameters for tests and benchmarks.

use std::fmt::Write as _;

use crate::ChunkerError;

/// No chunk but the last of a file is smaller than this (256 KiB).
pub const MIN_SIZE: u32 = 256 * 1024;
/// The normalisation point: below it the cut condition is strict, above it loose (1 MiB).
pub const AVG_SIZE: u32 = 1024 * 1024;
/// No chunk is larger than this; a chunk that reaches it is cut there (4 MiB).
pub const MAX_SIZE: u32 = 4 * 1024 * 1024;

/// The id written into every manifest made with the default parameters.
///
/// The file hash and every cut point depend on the algorithm, the gear table, the masks and
/// the three sizes, so a manifest names them all: `fastcdc2020-l2` is FastCDC 2020 with
/// normalisation level 2 as defined in this crate (gear table from
/// [`GEAR_SEED`](crate::gear::GEAR_SEED), top-bit masks), then min-avg-max, then the chunk hash.
pub const CHUNKER_ID: &str = "fastcdc2020-l2-256k-1m-4m+blake3";

/// The largest `max` accepted by [`ChunkerParams::new`]; chunk sizes must fit a `u32` anyway.
pub const MAX_PARAM: u32 = 1 << 30;

/// How many bytes the gear hash sees: the window of a 64-bit gear hash shifted left per byte.
pub(crate) const WINDOW: u32 = 64;

/// Normalisation level: the strict mask has `log2(avg) + LEVEL` bits, the loose one `- LEVEL`.
const LEVEL: u32 = 2;

/// Min, average and max chunk sizes, with the two masks derived from them.
///
/// The default is [`MIN_SIZE`], [`AVG_SIZE`], [`MAX_SIZE`]; other values exist so tests and
/// benchmarks can produce many chunks from small inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkerParams {
    min: u32,
    avg: u32,
    max: u32,
    mask_strict: u64,
    mask_loose: u64,
}

impl ChunkerParams {
    /// The production parameters, named by [`CHUNKER_ID`].
    pub const DEFAULT: ChunkerParams = {
        assert!(problem(MIN_SIZE, AVG_SIZE, MAX_SIZE).is_none());
        ChunkerParams::derive(MIN_SIZE, AVG_SIZE, MAX_SIZE)
    };

    /// Checks and builds parameters: `1 <= min <= avg <= max <= MAX_PARAM`, and `avg` a power of
    /// two of at least 8 (the loose mask needs at least one bit).
    pub fn new(min: u32, avg: u32, max: u32) -> Result<Self, ChunkerError> {
        match problem(min, avg, max) {
            None => Ok(Self::derive(min, avg, max)),
            Some(reason) => Err(ChunkerError::InvalidParams {
                min,
                avg,
                max,
                reason,
            }),
        }
    }

    const fn derive(min: u32, avg: u32, max: u32) -> Self {
        let bits = avg.trailing_zeros();
        ChunkerParams {
            min,
            avg,
            max,
            mask_strict: top_bits(bits + LEVEL),
            mask_loose: top_bits(bits - LEVEL),
        }
    }

    /// The smallest size of a chunk that is not the last of its file.
    pub const fn min_size(&self) -> u32 {
        self.min
    }

    /// The normalisation point (the target average).
    pub const fn avg_size(&self) -> u32 {
        self.avg
    }

    /// The largest chunk size.
    pub const fn max_size(&self) -> u32 {
        self.max
    }

    /// Mask used for chunk lengths in `[min, avg)`: `log2(avg) + 2` top bits.
    pub const fn mask_strict(&self) -> u64 {
        self.mask_strict
    }

    /// Mask used for chunk lengths in `[avg, max)`: `log2(avg) - 2` top bits.
    pub const fn mask_loose(&self) -> u64 {
        self.mask_loose
    }

    /// The chunker id for these parameters, as written into manifests, for example
    /// `fastcdc2020-l2-256k-1m-4m+blake3` or `fastcdc2020-l2-64-256-1k+blake3`.
    pub fn id(&self) -> String {
        let mut id = String::from("fastcdc2020-l2");
        for size in [self.min, self.avg, self.max] {
            id.push('-');
            push_size(&mut id, size);
        }
        id.push_str("+blake3");
        id
    }
}

impl Default for ChunkerParams {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Why `min`, `avg`, `max` cannot be used, if they cannot.
const fn problem(min: u32, avg: u32, max: u32) -> Option<&'static str> {
    if min == 0 {
        Some("min must be at least 1")
    } else if min > avg || avg > max {
        Some("sizes must satisfy min <= avg <= max")
    } else if max > MAX_PARAM {
        Some("max must be at most 1 GiB")
    } else if !avg.is_power_of_two() || avg < 8 {
        Some("avg must be a power of two, at least 8")
    } else {
        None
    }
}

/// A mask of the `n` most significant bits. Bit k of a gear hash depends on the last k + 1
/// bytes, so the top bits see the widest window; top-bit masks are also nested (the strict
/// mask contains the loose one), so a position that passes the strict test passes the loose
/// one too, which helps chunk boundaries line up again after an edit.
const fn top_bits(n: u32) -> u64 {
    if n == 0 {
        0
    } else {
        u64::MAX << (64 - n)
    }
}

/// Writes a size as `4m`, `256k` or `100` (binary units, lowercase).
fn push_size(out: &mut String, size: u32) {
    const MIB: u32 = 1024 * 1024;
    // Writing to a String cannot fail.
    let _ = if size.is_multiple_of(MIB) {
        write!(out, "{}m", size / MIB)
    } else if size.is_multiple_of(1024) {
        write!(out, "{}k", size / 1024)
    } else {
        write!(out, "{size}")
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_id_is_the_constant() {
        assert_eq!(ChunkerParams::DEFAULT.id(), CHUNKER_ID);
        assert_eq!(ChunkerParams::default(), ChunkerParams::DEFAULT);
    }

    #[test]
    fn ids_name_the_sizes() {
        let cases = [
            ((64, 256, 1024), "fastcdc2020-l2-64-256-1k+blake3"),
            ((1000, 4096, 3 << 20), "fastcdc2020-l2-1000-4k-3m+blake3"),
        ];
        for ((min, avg, max), expected) in cases {
            assert_eq!(ChunkerParams::new(min, avg, max).unwrap().id(), expected);
        }
    }

    #[test]
    fn masks_are_nested_top_bits() {
        let p = ChunkerParams::DEFAULT;
        assert_eq!(p.mask_strict().count_ones(), 22);
        assert_eq!(p.mask_loose().count_ones(), 18);
        assert_eq!(p.mask_strict().leading_ones(), 22);
        assert_eq!(p.mask_strict() & p.mask_loose(), p.mask_loose());
    }

    #[test]
    fn rejects_impossible_params() {
        let bad = [
            (0, 256, 1024),
            (512, 256, 1024),
            (64, 256, 128),
            (64, 200, 1024),
            (1, 4, 16),
            (64, 256, MAX_PARAM + 1),
        ];
        for (min, avg, max) in bad {
            let err = ChunkerParams::new(min, avg, max).unwrap_err();
            assert!(
                matches!(err, ChunkerError::InvalidParams { .. }),
                "{min}/{avg}/{max}: {err}"
            );
        }
        assert!(ChunkerParams::new(1, 8, 8).is_ok());
    }
}
