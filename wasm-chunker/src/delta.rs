//! Delta plans: which chunks of a new version must be uploaded, given the chunks of the previous
//! one. This is what makes a one-byte edit cost one chunk, not the whole file.

use std::collections::HashSet;

use crate::{ChunkRef, Hash};

/// What uploading a new version costs, given the chunks the other side already has.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeltaPlan {
    /// Chunks to upload: the first occurrence of each hash that is not in the previous version,
    /// in file order.
    pub upload: Vec<ChunkRef>,
    /// Sum of the sizes of `upload`.
    pub upload_bytes: u64,
    /// Bytes of the new version that need no upload (`total_bytes - upload_bytes`).
    pub reused_bytes: u64,
    /// Size of the new version.
    pub total_bytes: u64,
}

/// Plans the upload of `next` when the chunks of `previous` are already stored: a chunk whose
/// hash is in `previous`, or earlier in `next`, is not uploaded again.
pub fn delta_plan(previous: &[ChunkRef], next: &[ChunkRef]) -> DeltaPlan {
    let mut known: HashSet<Hash> = previous.iter().map(|c| c.hash).collect();
    let mut plan = DeltaPlan::default();
    for chunk in next {
        let size = u64::from(chunk.size);
        plan.total_bytes += size;
        if known.insert(chunk.hash) {
            plan.upload_bytes += size;
            plan.upload.push(*chunk);
        }
    }
    plan.reused_bytes = plan.total_bytes - plan.upload_bytes;
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash_chunk;

    fn chunk(name: &str, offset: u64, size: u32) -> ChunkRef {
        ChunkRef {
            hash: hash_chunk(name.as_bytes()),
            offset,
            size,
        }
    }

    #[test]
    fn uploads_only_new_unique_chunks_in_order() {
        let previous = [chunk("a", 0, 10), chunk("b", 10, 20)];
        let next = [
            chunk("c", 0, 5),
            chunk("a", 5, 10),
            chunk("d", 15, 7),
            chunk("c", 22, 5),
            chunk("b", 27, 20),
        ];
        let plan = delta_plan(&previous, &next);
        assert_eq!(plan.upload, vec![next[0], next[2]]);
        assert_eq!(
            (plan.upload_bytes, plan.reused_bytes, plan.total_bytes),
            (12, 35, 47)
        );
    }

    #[test]
    fn first_version_uploads_everything_once() {
        let next = [chunk("a", 0, 3), chunk("a", 3, 3)];
        let plan = delta_plan(&[], &next);
        assert_eq!(plan.upload, vec![next[0]]);
        assert_eq!((plan.upload_bytes, plan.reused_bytes), (3, 3));
    }
}
