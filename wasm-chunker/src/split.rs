//! One file chunked in several pieces at once (a browser worker each), stitched back into
//! exactly the chunks of chunking it whole — so a large file is not limited to one core.
//!
//! Why stitching is exact: a cut decision depends only on the bytes before the candidate and on
//! the length since the previous cut (see the crate docs), so two chunkers that once cut at the
//! same position cut alike from there on. A piece that starts mid-file cuts differently from
//! the whole-file chunker at first; its left neighbour is therefore chunked past its own end,
//! into the piece, until the two cut at one same position — the *meeting point*. The stitch
//! keeps the left chunks up to the meeting point and the right ones after it. On random data
//! they meet within a few average chunks; [`SPLIT_OVERLAP`] bounds how far the left one reads.
//! Where they never meet within it (a run of identical bytes longer than the overlap, where
//! every cut is forced at the maximum size and the two stay out of phase), [`stitch`] says so
//! and the caller chunks the file whole.

use crate::ChunkRef;

/// How far each piece but the last reads into the next one to find a meeting point: four
/// maximum-size chunks, so even forced cuts get a chance to line up.
pub const SPLIT_OVERLAP: u64 = 4 * crate::MAX_SIZE as u64;

/// The chunks of one piece, with offsets counted from the start of the file. `start` is where
/// the piece began; the last chunk is cut short by the end of the piece's range unless that
/// range reached the end of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    pub start: u64,
    pub end: u64,
    pub chunks: Vec<ChunkRef>,
}

/// The byte ranges to chunk for `pieces` pieces of a file of `size` bytes: equal shares, each
/// but the last extended by `overlap` into the next (never past the end).
pub fn split_ranges(size: u64, pieces: usize, overlap: u64) -> Vec<(u64, u64)> {
    let pieces = pieces.max(1) as u64;
    let share = size.div_ceil(pieces).max(1);
    (0..pieces)
        .map(|k| k * share)
        .take_while(|&start| start < size || start == 0)
        .map(|start| {
            let end = start.saturating_add(share);
            let end = if end >= size {
                size
            } else {
                end.saturating_add(overlap).min(size)
            };
            (start, end)
        })
        .collect()
}

/// Joins pieces (in file order, the first starting at 0, the last ending at the end of the
/// file) into the whole file's chunks, or `None` if two neighbours found no meeting point.
pub fn stitch(pieces: Vec<Piece>, file_size: u64) -> Option<Vec<ChunkRef>> {
    let mut pieces = pieces.into_iter();
    let first = pieces.next()?;
    if first.start != 0 {
        return None;
    }
    let mut out = Vec::new();
    let mut left = first;
    for right in pieces {
        if left.end == file_size {
            // The left piece already chunked to the end of the file: nothing more to join.
            break;
        }
        // Where the right piece cuts: its own start, and the end of each of its chunks
        // except a last one that its range cut short.
        let complete = complete_chunks(&right, file_size);
        let mut right_cuts = std::iter::once(right.start)
            .chain(complete.iter().map(|c| c.offset + c.size as u64))
            .peekable();
        let meeting = complete_chunks(&left, file_size).iter().position(|c| {
            let end = c.offset + c.size as u64;
            while right_cuts.next_if(|&cut| cut < end).is_some() {}
            end >= right.start && right_cuts.peek() == Some(&end)
        })?;
        let meet_at = {
            let c = left.chunks[meeting];
            c.offset + c.size as u64
        };
        out.extend_from_slice(&left.chunks[..=meeting]);
        left = Piece {
            start: meet_at,
            end: right.end,
            chunks: right
                .chunks
                .into_iter()
                .filter(|c| c.offset >= meet_at)
                .collect(),
        };
    }
    if left.end != file_size {
        return None;
    }
    out.extend(left.chunks);
    Some(out)
}

/// The chunks of `piece` whose end is a real cut: all of them if the piece reached the end of
/// the file, else all but the last (which the end of its range cut).
fn complete_chunks(piece: &Piece, file_size: u64) -> &[ChunkRef] {
    match piece.chunks.split_last() {
        Some((_, rest)) if piece.end < file_size => rest,
        _ => &piece.chunks,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_cover_the_file_with_overlaps() {
        assert_eq!(split_ranges(100, 3, 10), vec![(0, 44), (34, 78), (68, 100)]);
        assert_eq!(split_ranges(100, 1, 10), vec![(0, 100)]);
        assert_eq!(split_ranges(0, 4, 10), vec![(0, 0)]);
        assert_eq!(split_ranges(2, 4, 10), vec![(0, 2), (1, 2)]);
    }
}
