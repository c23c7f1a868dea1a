//! The FastCDC cut-point scan: the hot loop of the crate, with no hashing and no buffering.
//!
//! The cut rule, for a chunk that has reached length `L` with byte `x` (counting from 1):
//!
//! * bytes with `L <= min - 64` are skipped; from there on the gear hash rolls,
//!   `h = (h << 1) + GEAR[x]`, starting from 0 at each chunk start;
//! * for `min <= L < avg` the chunk ends after `x` when `h & mask_strict == 0`;
//! * for `avg <= L < max` it ends when `h & mask_loose == 0`;
//! * at `L == max` it ends regardless.
//!
//! Since a 64-bit gear hash forgets a byte 64 shifts later and rolling starts 64 bytes before
//! `min`, every decision depends only on the 64 bytes ending at `x` and on `L` (for chunks with
//! `min < 64` the window is shorter at the start of a chunk).
//!
//! That locality is what makes the scan fast: past the first 64 bytes of a chunk, the hash at
//! any byte can be computed without rolling from the chunk start, so [`find_cut`] runs several
//! independent hash chains over as many parts of a block side by side. One chain is bound by the
//! latency of its shift and add; several are bound by how many instructions the processor can
//! issue, which is what a scan over gigabytes a second has to be.

use crate::gear::GEAR;
use crate::params::WINDOW;
use crate::ChunkerParams;

/// The whole state of the cut-point search between two input slices: the parameters, the
/// length of the current chunk so far and the gear hash.
#[derive(Debug, Clone)]
pub(crate) struct Cutter {
    params: ChunkerParams,
    /// Bytes of the current chunk seen so far.
    len: u32,
    /// Gear hash over the current chunk's bytes since the warm-up started.
    hash: u64,
}

impl Cutter {
    pub(crate) fn new(params: ChunkerParams) -> Self {
        Cutter {
            params,
            len: 0,
            hash: 0,
        }
    }

    pub(crate) fn params(&self) -> &ChunkerParams {
        &self.params
    }

    /// Bytes of the current, unfinished chunk.
    pub(crate) fn pending(&self) -> u32 {
        self.len
    }

    /// Consumes `data` up to and including the next cut point. Returns `Some(n)` when the
    /// current chunk ends after `data[n - 1]` (the state is then reset for the next chunk), or
    /// `None` when all of `data` belongs to the current chunk.
    #[inline]
    pub(crate) fn next_cut(&mut self, data: &[u8]) -> Option<usize> {
        let min = self.params.min_size() as usize;
        let avg = self.params.avg_size() as usize;
        let max = self.params.max_size() as usize;
        let warm = min.saturating_sub(WINDOW as usize);
        let mut len = self.len as usize;
        let mut rest = data;

        // Each phase consumes the bytes whose chunk length falls in its range, or stops at the
        // end of `data`; `len` is the chunk length before the next byte.
        if len < warm {
            let skip = (warm - len).min(rest.len());
            len += skip;
            rest = &rest[skip..];
        }
        if len < min - 1 && !rest.is_empty() {
            let take = (min - 1 - len).min(rest.len());
            self.hash = roll(self.hash, &rest[..take]);
            len += take;
            rest = &rest[take..];
        }
        for (end, mask) in [
            (avg - 1, self.params.mask_strict()),
            (max - 1, self.params.mask_loose()),
        ] {
            if len < end && !rest.is_empty() {
                let take = (end - len).min(rest.len());
                if let Some(at) = find_cut(&mut self.hash, &rest[..take], mask) {
                    return Some(self.cut(data, rest, at + 1));
                }
                len += take;
                rest = &rest[take..];
            }
        }
        if rest.is_empty() {
            self.len = len as u32;
            return None;
        }
        // The chunk has reached `max - 1` bytes: the next one ends it.
        Some(self.cut(data, rest, 1))
    }

    /// Resets for the next chunk and returns how much of `data` the finished chunk used, given
    /// that it ends `n` bytes into `rest` (a suffix of `data`).
    fn cut(&mut self, data: &[u8], rest: &[u8], n: usize) -> usize {
        self.len = 0;
        self.hash = 0;
        data.len() - rest.len() + n
    }
}

/// Rolls the gear hash over `data` without looking for a cut (the warm-up before `min`).
#[inline]
fn roll(hash: u64, data: &[u8]) -> u64 {
    data.iter()
        .fold(hash, |h, &b| (h << 1).wrapping_add(GEAR[b as usize]))
}

/// Most bytes each lane of [`find_cut`] scans per block: long enough that the 64-byte warm-up
/// of a lane costs under 1 %, short enough that lanes scanning past a cut waste little.
const LANE_BYTES: usize = 8 * 1024;
/// Independent hash chains [`find_cut`] runs side by side: four natively, two in WASM, where
/// the engine's code keeps fewer values in registers (in alternating runs of `cargo xtask
/// bench-chunker`, two lanes gave WASM chunk + hash 916–986 MB/s against 806–967 for four).
const LANES: usize = if cfg!(target_arch = "wasm32") { 2 } else { 4 };
/// Shorter than this, a slice is scanned serially: the lanes' warm-ups would not pay.
const LANED_MIN: usize = LANES * 4 * WINDOW as usize;

/// Rolls the gear hash over `data` and returns the index of the first byte after which
/// `hash & mask == 0`; otherwise leaves the rolled hash in `hash`.
///
/// The hash after a byte depends only on the 64 bytes ending there (the module docs), so it
/// can be computed anywhere without rolling from the chunk start. A block of `data` is split in
/// [`LANES`] consecutive parts, each lane warms up on the 64 bytes before its part, and the
/// lanes roll in step, one byte each per iteration. The chains do not depend on each other, so
/// the processor overlaps them: one chain alone is bound by its shift-add latency, several are
/// bound by instruction throughput (a load, a shift, an add-from-table and a test per byte).
/// The first cut wins: a lane that hits sends the lanes before it on to the end of their
/// parts, since any hit there comes earlier in `data`. Blocks shrink to fit the end of
/// `data`; only the last few bytes go through [`find_cut_serial`].
///
/// Not inlined: inlined into the chunker's loop beside the hasher, the lanes ran out of
/// registers and chunk + hash got slower while the scan alone got faster.
#[inline(never)]
fn find_cut(hash: &mut u64, data: &[u8], mask: u64) -> Option<usize> {
    let mut h = *hash;
    let mut base = 0;
    while data.len() - base >= LANED_MIN {
        let lane = ((data.len() - base) / LANES).min(LANE_BYTES);
        match find_cut_block(h, &data[base..base + lane * LANES], lane, mask) {
            Ok(end) => h = end,
            Err(at) => return Some(base + at),
        }
        base += lane * LANES;
    }
    let found = find_cut_serial(&mut h, &data[base..], mask);
    *hash = h;
    found.map(|at| base + at)
}

/// One block of [`find_cut`], `LANES` parts of `lane` bytes: `Err(index)` of the first cut, or
/// `Ok` with the hash after the block.
#[inline(always)]
fn find_cut_block(h: u64, block: &[u8], lane: usize, mask: u64) -> Result<u64, usize> {
    let parts: [&[u8]; LANES] = std::array::from_fn(|k| &block[k * lane..(k + 1) * lane]);
    let mut hashes = [h; LANES];
    // Lane 0 goes on from `h`; the others warm up on the 64 bytes before their parts.
    for (k, hash) in (1..).zip(&mut hashes[1..]) {
        *hash = roll(0, &block[k * lane - WINDOW as usize..k * lane]);
    }
    for i in 0..lane {
        // `k` is a constant once the compiler unrolls this loop: the hashes live in registers.
        for k in 0..LANES {
            let byte = parts[k][i];
            hashes[k] = (hashes[k] << 1).wrapping_add(GEAR[byte as usize]);
            if hashes[k] & mask == 0 {
                return Err(settle(&parts, &mut hashes[..k], i, mask).unwrap_or(k * lane + i));
            }
        }
    }
    Ok(hashes[LANES - 1])
}

/// Lane `lanes.len()` hit at byte `i` of its part, and no lane hit earlier: the first cut in
/// the parts of the lanes before it, given their hashes after byte `i`. Those parts come first
/// in the block, so a cut there is earlier than the hit.
#[cold]
#[inline(never)]
fn settle(parts: &[&[u8]; LANES], lanes: &mut [u64], i: usize, mask: u64) -> Option<usize> {
    let lane = parts[0].len();
    lanes.iter_mut().enumerate().find_map(|(k, h)| {
        find_cut_serial(h, &parts[k][i + 1..], mask).map(|n| k * lane + i + 1 + n)
    })
}

/// The serial form of [`find_cut`] for short slices.
///
/// Four bytes per iteration: the four intermediate hashes are computed from the hash before
/// the group, `h_k = (h << k) + t_k`, where `t_k` depends only on the data. That keeps the
/// loop-carried dependency at one shift and one add per four bytes (the byte-at-a-time loop
/// carries a shift and an add per byte), the idea of FastCDC 2020's two-bytes-per-iteration
/// rolling taken one step further. The result is exactly that of the byte-at-a-time rule.
#[inline(always)]
fn find_cut_serial(hash: &mut u64, data: &[u8], mask: u64) -> Option<usize> {
    let mut h = *hash;
    let mut quads = data.chunks_exact(4);
    let mut base = 0;
    for q in quads.by_ref() {
        let t1 = GEAR[q[0] as usize];
        let t2 = (t1 << 1).wrapping_add(GEAR[q[1] as usize]);
        let t3 = (t2 << 1).wrapping_add(GEAR[q[2] as usize]);
        let t4 = (t3 << 1).wrapping_add(GEAR[q[3] as usize]);
        let h1 = (h << 1).wrapping_add(t1);
        if h1 & mask == 0 {
            return Some(base);
        }
        let h2 = (h << 2).wrapping_add(t2);
        if h2 & mask == 0 {
            return Some(base + 1);
        }
        let h3 = (h << 3).wrapping_add(t3);
        if h3 & mask == 0 {
            return Some(base + 2);
        }
        h = (h << 4).wrapping_add(t4);
        if h & mask == 0 {
            return Some(base + 3);
        }
        base += 4;
    }
    for (i, &b) in quads.remainder().iter().enumerate() {
        h = (h << 1).wrapping_add(GEAR[b as usize]);
        if h & mask == 0 {
            return Some(base + i);
        }
    }
    *hash = h;
    None
}

/// The end offset of every chunk of `data` (the last is `data.len()`; none for empty input):
/// chunking without hashing, for [`chunk_and_hash_parallel`](crate::chunk_and_hash_parallel)
/// and benchmarks.
pub fn cut_points(params: &ChunkerParams, data: &[u8]) -> Vec<usize> {
    let mut cutter = Cutter::new(*params);
    let mut ends = Vec::with_capacity(data.len() / params.avg_size() as usize + 1);
    let mut start = 0;
    while let Some(n) = cutter.next_cut(&data[start..]) {
        start += n;
        ends.push(start);
    }
    if cutter.pending() > 0 {
        ends.push(data.len());
    }
    ends
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The cut rule of the module docs, one byte at a time.
    fn reference(params: &ChunkerParams, data: &[u8]) -> Vec<usize> {
        let (min, avg, max) = (
            params.min_size() as usize,
            params.avg_size() as usize,
            params.max_size() as usize,
        );
        let mut ends = Vec::new();
        let (mut len, mut h) = (0usize, 0u64);
        for (i, &b) in data.iter().enumerate() {
            len += 1;
            if len + 64 > min {
                h = (h << 1).wrapping_add(GEAR[b as usize]);
            }
            let mask = if len < avg {
                params.mask_strict()
            } else {
                params.mask_loose()
            };
            if len == max || (len >= min && h & mask == 0) {
                ends.push(i + 1);
                len = 0;
                h = 0;
            }
        }
        if len > 0 {
            ends.push(data.len());
        }
        ends
    }

    fn noise(len: usize, seed: u64) -> Vec<u8> {
        let mut state = seed;
        (0..len)
            .map(|_| crate::prng::splitmix64(&mut state) as u8)
            .collect()
    }

    #[test]
    fn matches_the_byte_at_a_time_rule() {
        let data = noise(50_000, 7);
        for (min, avg, max) in [
            (64, 256, 1024),
            (1, 8, 8),
            (8, 8, 64),
            (100, 128, 130),
            (63, 64, 65),
            (65, 512, 4096),
        ] {
            let params = ChunkerParams::new(min, avg, max).unwrap();
            assert_eq!(
                cut_points(&params, &data),
                reference(&params, &data),
                "{min}/{avg}/{max}"
            );
        }
    }

    /// Chunks long enough for the lanes of `find_cut`, with cuts rare (whole blocks pass) and
    /// frequent (several lanes hit in one block, in any order).
    #[test]
    fn the_lanes_match_the_byte_at_a_time_rule() {
        let data = noise(3 << 20, 11);
        for (min, avg, max) in [
            (64 << 10, 256 << 10, 1 << 20),
            (1000, 32 << 10, 1 << 20),
            (1, 64 << 10, 1 << 20),
            (63, 4096, 1 << 20),
            (20_000, 1 << 20, 1 << 20),
            (40_000, 64 << 10, 200_000),
        ] {
            let params = ChunkerParams::new(min, avg, max).unwrap();
            assert_eq!(
                cut_points(&params, &data),
                reference(&params, &data),
                "{min}/{avg}/{max}"
            );
        }
    }

    #[test]
    fn empty_input_has_no_chunks() {
        assert!(cut_points(&ChunkerParams::DEFAULT, &[]).is_empty());
    }

    #[test]
    fn a_run_of_zeros_is_cut() {
        let params = ChunkerParams::new(64, 256, 1024).unwrap();
        let ends = cut_points(&params, &[0; 10_000]);
        assert_eq!(ends.last(), Some(&10_000));
        assert!(ends.windows(2).all(|w| w[1] - w[0] <= 1024));
    }
}
