//! scratch (to delete)
use std::time::Instant;
use wasm_chunker::GEAR;
type F = fn(&mut u64, &[u8], u64) -> Option<usize>;
#[inline(always)]
fn naive(hash: &mut u64, data: &[u8], mask: u64) -> Option<usize> {
    let mut h = *hash;
    for (i, &b) in data.iter().enumerate() {
        h = (h << 1).wrapping_add(GEAR[b as usize]);
        if h & mask == 0 {
            return Some(i);
        }
    }
    *hash = h;
    None
}
#[inline(always)]
fn two(hash: &mut u64, data: &[u8], mask: u64) -> Option<usize> {
    let mut h = *hash;
    let ml = mask << 1;
    let mut base = 0;
    let mut it = data.chunks_exact(2);
    for q in it.by_ref() {
        h = (h << 2).wrapping_add(GEAR[q[0] as usize] << 1);
        if h & ml == 0 {
            return Some(base);
        }
        h = h.wrapping_add(GEAR[q[1] as usize]);
        if h & mask == 0 {
            return Some(base + 1);
        }
        base += 2;
    }
    for (i, &b) in it.remainder().iter().enumerate() {
        h = (h << 1).wrapping_add(GEAR[b as usize]);
        if h & mask == 0 {
            return Some(base + i);
        }
    }
    *hash = h;
    None
}
#[inline(always)]
fn four(hash: &mut u64, data: &[u8], mask: u64) -> Option<usize> {
    let mut h = *hash;
    let mut base = 0;
    let mut it = data.chunks_exact(4);
    for q in it.by_ref() {
        let t1 = GEAR[q[0] as usize];
        let t2 = (t1 << 1).wrapping_add(GEAR[q[1] as usize]);
        let t3 = (t2 << 1).wrapping_add(GEAR[q[2] as usize]);
        let t4 = (t3 << 1).wrapping_add(GEAR[q[3] as usize]);
        if (h << 1).wrapping_add(t1) & mask == 0 {
            return Some(base);
        }
        if (h << 2).wrapping_add(t2) & mask == 0 {
            return Some(base + 1);
        }
        if (h << 3).wrapping_add(t3) & mask == 0 {
            return Some(base + 2);
        }
        h = (h << 4).wrapping_add(t4);
        if h & mask == 0 {
            return Some(base + 3);
        }
        base += 4;
    }
    for (i, &b) in it.remainder().iter().enumerate() {
        h = (h << 1).wrapping_add(GEAR[b as usize]);
        if h & mask == 0 {
            return Some(base + i);
        }
    }
    *hash = h;
    None
}
#[inline(always)]
fn four_any(hash: &mut u64, data: &[u8], mask: u64) -> Option<usize> {
    let mut h = *hash;
    let mut base = 0;
    let mut it = data.chunks_exact(4);
    for q in it.by_ref() {
        let t1 = GEAR[q[0] as usize];
        let t2 = (t1 << 1).wrapping_add(GEAR[q[1] as usize]);
        let t3 = (t2 << 1).wrapping_add(GEAR[q[2] as usize]);
        let t4 = (t3 << 1).wrapping_add(GEAR[q[3] as usize]);
        let h1 = (h << 1).wrapping_add(t1);
        let h2 = (h << 2).wrapping_add(t2);
        let h3 = (h << 3).wrapping_add(t3);
        let h4 = (h << 4).wrapping_add(t4);
        if (h1 & mask).min(h2 & mask).min(h3 & mask).min(h4 & mask) == 0 {
            return Some(base + [h1, h2, h3, h4].iter().position(|x| x & mask == 0).unwrap());
        }
        h = h4;
        base += 4;
    }
    for (i, &b) in it.remainder().iter().enumerate() {
        h = (h << 1).wrapping_add(GEAR[b as usize]);
        if h & mask == 0 {
            return Some(base + i);
        }
    }
    *hash = h;
    None
}
#[inline(always)]
fn eight(hash: &mut u64, data: &[u8], mask: u64) -> Option<usize> {
    let mut h = *hash;
    let mut base = 0;
    let mut it = data.chunks_exact(8);
    for q in it.by_ref() {
        let mut t = [0u64; 8];
        let mut acc = 0u64;
        for k in 0..8 {
            acc = (acc << 1).wrapping_add(GEAR[q[k] as usize]);
            t[k] = acc;
        }
        for k in 0..8 {
            if (h << (k + 1)).wrapping_add(t[k]) & mask == 0 {
                return Some(base + k);
            }
        }
        h = (h << 8).wrapping_add(t[7]);
        base += 8;
    }
    for (i, &b) in it.remainder().iter().enumerate() {
        h = (h << 1).wrapping_add(GEAR[b as usize]);
        if h & mask == 0 {
            return Some(base + i);
        }
    }
    *hash = h;
    None
}
#[inline(always)]
fn drive(f: F, data: &[u8], mask: u64) -> usize {
    let mut n = 0;
    let mut start = 0;
    let mut h = 0;
    while start < data.len() {
        let end = (start + (4 << 20)).min(data.len());
        match f(&mut h, &data[start..end], mask) {
            Some(i) => {
                n += 1;
                start += i + 1;
                h = 0;
            }
            None => start = end,
        }
    }
    n
}
#[inline(never)]
fn d_naive(d: &[u8], m: u64) -> usize {
    drive(naive, d, m)
}
#[inline(never)]
fn d_two(d: &[u8], m: u64) -> usize {
    drive(two, d, m)
}
#[inline(never)]
fn d_four(d: &[u8], m: u64) -> usize {
    drive(four, d, m)
}
#[inline(never)]
fn d_four_any(d: &[u8], m: u64) -> usize {
    drive(four_any, d, m)
}
#[inline(never)]
fn d_eight(d: &[u8], m: u64) -> usize {
    drive(eight, d, m)
}
fn main() {
    let data = wasm_chunker::vectors::vector_input(
        1,
        256 << 20,
        wasm_chunker::vectors::VectorKind::Random,
    );
    let mask = !0u64 << 44;
    let fs: [(&str, fn(&[u8], u64) -> usize); 5] = [
        ("naive", d_naive),
        ("two", d_two),
        ("four", d_four),
        ("four_any", d_four_any),
        ("eight", d_eight),
    ];
    let mut counts = vec![];
    for _ in 0..2 {
        for (name, f) in fs {
            let mut best = f64::MAX;
            for _ in 0..5 {
                let t = Instant::now();
                counts.push(std::hint::black_box(f(std::hint::black_box(&data), mask)));
                best = best.min(t.elapsed().as_secs_f64());
            }
            println!("{name:8} {:.0} MB/s", data.len() as f64 / best / 1e6);
        }
    }
    counts.dedup();
    println!("{counts:?}");
    let params = wasm_chunker::ChunkerParams::DEFAULT;
    let mut best = f64::MAX;
    for _ in 0..5 {
        let t = Instant::now();
        std::hint::black_box(wasm_chunker::cut_points(&params, &data));
        best = best.min(t.elapsed().as_secs_f64());
    }
    println!("cut_points {:.0} MB/s", data.len() as f64 / best / 1e6);
    let mut best = f64::MAX;
    for _ in 0..5 {
        let t = Instant::now();
        std::hint::black_box(blake3::hash(&data));
        best = best.min(t.elapsed().as_secs_f64());
    }
    println!("blake3 {:.0} MB/s", data.len() as f64 / best / 1e6);
}
