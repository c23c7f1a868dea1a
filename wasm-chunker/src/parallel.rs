//! Native-only helper: one thread finds cut points while others hash the chunks, for servers,
//! tools and benchmarks that have the whole input in memory and more than one core.

use std::sync::{mpsc, Mutex};
use std::thread;

use crate::cut::Cutter;
use crate::{chunk_all_with, hash_chunk, ChunkRef, ChunkerParams};

/// [`chunk_all`](crate::chunk_all) with hashing spread over `hash_threads` threads: the calling
/// thread runs the cut-point search (the part that cannot be split) and hands each chunk to
/// the next idle hasher as soon as it is found. The result is identical to `chunk_all`.
pub fn chunk_and_hash_parallel(data: &[u8], hash_threads: usize) -> Vec<ChunkRef> {
    chunk_and_hash_parallel_with(&ChunkerParams::DEFAULT, data, hash_threads)
}

/// [`chunk_and_hash_parallel`] with custom parameters.
pub fn chunk_and_hash_parallel_with(
    params: &ChunkerParams,
    data: &[u8],
    hash_threads: usize,
) -> Vec<ChunkRef> {
    if hash_threads == 0 {
        return chunk_all_with(params, data);
    }
    let (jobs, queue) = mpsc::channel::<(usize, usize, usize)>();
    let queue = Mutex::new(queue);
    let mut chunks = Vec::with_capacity(data.len() / params.avg_size() as usize + 1);
    thread::scope(|scope| {
        let hashers: Vec<_> = (0..hash_threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        // The lock is held only to take one job; chunks are ~1 MiB of work.
                        let job = queue.lock().expect("a hasher panicked").recv();
                        let Ok((index, start, end)) = job else {
                            return done;
                        };
                        done.push((index, hash_chunk(&data[start..end])));
                    }
                })
            })
            .collect();

        let mut cutter = Cutter::new(*params);
        let mut start = 0;
        loop {
            let end = match cutter.next_cut(&data[start..]) {
                Some(n) => start + n,
                None if start < data.len() => data.len(),
                None => break,
            };
            let size = (end - start) as u32;
            chunks.push(ChunkRef {
                hash: crate::Hash([0; 32]),
                offset: start as u64,
                size,
            });
            // Cannot fail: the hashers only stop when this sender is dropped.
            let _ = jobs.send((chunks.len() - 1, start, end));
            start = end;
        }
        drop(jobs);

        for hasher in hashers {
            for (index, hash) in hasher.join().expect("hasher thread panicked") {
                chunks[index].hash = hash;
            }
        }
    });
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunk_all_with;

    #[test]
    fn equals_chunk_all_for_any_thread_count() {
        let params = ChunkerParams::new(64, 256, 1024).unwrap();
        let data: Vec<u8> = (0..100_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
            .collect();
        let expected = chunk_all_with(&params, &data);
        assert!(expected.len() > 100);
        for threads in [0, 1, 2, 5] {
            assert_eq!(
                chunk_and_hash_parallel_with(&params, &data, threads),
                expected
            );
        }
        assert!(chunk_and_hash_parallel_with(&params, &[], 2).is_empty());
    }
}
