//! Dedup must not be a timing oracle. Storing bytes that someone else already stores used to
//! skip work (the local store's rename and directory fsync on a PUT, S3's server-side copy in a
//! resume or commit), so the answer came measurably sooner and a client could tell from latency alone
//! whether another user holds some content. These tests time many pairs of probes — a chunk
//! another user stores and one nobody has, the same size, in random order within each pair so
//! load hits both alike — and assert that an attacker guesses no better than by chance.
//!
//! Work left behind counts too: a probe's cost may land on the request after it, and since
//! the two probes of a pair differ in kind, the second one's latency carries the first's
//! (how second copies kept in a directory of their own were caught, `blob::local`).
//!
//! `CAIRN_TIMING_PAIRS` runs more pairs (a slower, more sensitive measurement) and
//! `CAIRN_TIMING_SEED` picks the order; each run prints what it measured.

use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::fixture::{bytes, fresh_client, Backend, TestRng, TestServer, User};

/// Size of each probe: small, so any skipped work is a large share of the request's time.
const SIZE: usize = 6 * 1024;

/// Pairs run (and thrown away) first, while connections, caches and statements warm up.
const WARM_UP: usize = 10;

/// An attacker guessing better than this fails the test. Chance is 0.5; with the numbers of
/// pairs below, a true coin comes this far from 0.5 less than once in 10^4 runs (paired sign:
/// z > 4.2 for 200 pairs, 4.6 for 240; best threshold: a two-sample KS distance of 0.3,
/// p < 10^-8). Against the skipped work the faster of a pair was the stored probe 93 % of the
/// time on the local store with SQLite and 67 % with PostgreSQL (whose commit fsync is
/// noisier); on S3 the skipped copy is about 2 ms of a 52 ms resume, which 200 pairs do not
/// reliably see (55 %) and 1,000 do (63–67 %, `CAIRN_TIMING_PAIRS=1000`).
const MAX_ACCURACY: f64 = 0.65;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// How well an attacker tells the two kinds of probe apart from their latencies.
struct Verdict {
    pairs: usize,
    /// Share of pairs in which the probe of stored bytes was the faster one.
    paired: f64,
    /// The best accuracy of one latency threshold (either way round) sorting every probe,
    /// fitted on these very samples, so slightly optimistic: a guess from one request alone.
    threshold: f64,
    median_stored: Duration,
    median_fresh: Duration,
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} pairs: stored faster in {:.1} % of pairs, best threshold right {:.1} % of the \
             time; medians {:?} stored, {:?} new",
            self.pairs,
            100.0 * self.paired,
            100.0 * self.threshold,
            self.median_stored,
            self.median_fresh
        )
    }
}

fn median(xs: &[Duration]) -> Duration {
    let mut v = xs.to_vec();
    v.sort();
    v[v.len() / 2]
}

fn paired_accuracy(stored: &[Duration], fresh: &[Duration]) -> f64 {
    let wins = stored.iter().zip(fresh).filter(|(s, f)| s < f).count();
    wins as f64 / stored.len() as f64
}

fn threshold_accuracy(stored: &[Duration], fresh: &[Duration]) -> f64 {
    let mut all: Vec<(Duration, bool)> = stored
        .iter()
        .map(|d| (*d, true))
        .chain(fresh.iter().map(|d| (*d, false)))
        .collect();
    all.sort();
    let total = all.len();
    // Guess "stored" for the k fastest probes and "fresh" for the rest (or the other way).
    let mut correct = fresh.len();
    let mut best = correct.max(total - correct);
    for (_, is_stored) in &all {
        if *is_stored {
            correct += 1;
        } else {
            correct -= 1;
        }
        best = best.max(correct.max(total - correct));
    }
    best as f64 / total as f64
}

fn judge(stored: &[Duration], fresh: &[Duration]) -> Verdict {
    Verdict {
        pairs: stored.len(),
        paired: paired_accuracy(stored, fresh),
        threshold: threshold_accuracy(stored, fresh),
        median_stored: median(stored),
        median_fresh: median(fresh),
    }
}

fn assert_indistinguishable(what: &str, v: &Verdict) {
    eprintln!("{what}: {v}");
    assert!(
        (1.0 - MAX_ACCURACY..=MAX_ACCURACY).contains(&v.paired),
        "{what}: the faster of each pair tells stored bytes from new ones: {v}"
    );
    assert!(
        v.threshold <= MAX_ACCURACY,
        "{what}: one latency tells stored bytes from new ones: {v}"
    );
}

/// Times `probe(pair, stored)` for both probes of every pair, in an order drawn per pair, and
/// returns the latencies of the stored and the fresh probes (warm-up pairs left out). A pair
/// whose probe fails for a reason outside Cairn (Garage answering 503 on a loaded machine) is
/// left out — it cannot be measured again, its other probe has done its work — as long as
/// that stays rare.
async fn time_pairs<F, Fut>(pairs: usize, mut probe: F) -> (Vec<Duration>, Vec<Duration>)
where
    F: FnMut(usize, bool) -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    let seed = env_or("CAIRN_TIMING_SEED", 0x5eed_u64);
    let mut rng = TestRng::seeded(seed);
    let (mut stored, mut fresh) = (Vec::new(), Vec::new());
    let mut failed = 0;
    'pairs: for i in 0..pairs {
        let stored_first = rng.coin();
        let mut times = [Duration::ZERO; 2];
        for is_stored in [stored_first, !stored_first] {
            let t = Instant::now();
            if let Err(e) = probe(i, is_stored).await {
                eprintln!("pair {i} left out: {e}");
                failed += 1;
                assert!(failed <= pairs / 20, "{failed} pairs failed, the last: {e}");
                continue 'pairs;
            }
            times[usize::from(is_stored)] = t.elapsed();
        }
        if i >= WARM_UP {
            stored.push(times[1]);
            fresh.push(times[0]);
        }
    }
    (stored, fresh)
}

/// Content for pair `i`: the bytes another user stores, and bytes nobody has.
fn contents(i: usize) -> (Vec<u8>, Vec<u8>) {
    (
        bytes(1_000_000 + i as u64, SIZE),
        bytes(2_000_000 + i as u64, SIZE),
    )
}

/// The PUT URL of the single chunk of `data`, in a new upload of `user`'s.
async fn put_url(user: &User<'_>, data: &[u8]) -> String {
    let (_, up) = user.start_upload(data).await;
    assert_eq!(up.missing.len(), 1, "a small file is one chunk");
    up.missing[0].url.clone()
}

crate::both!(a_chunk_put_takes_as_long_whether_or_not_someone_stores_the_bytes);

/// Local store: the attacker PUTs a chunk the victim stores and one nobody has; the answer's
/// latency must not tell which is which.
async fn a_chunk_put_takes_as_long_whether_or_not_someone_stores_the_bytes(backend: Backend) {
    // Each probe leaves an upload open: more than one account may usually hold.
    let server = TestServer::on(backend)
        .settings(|s| s.max_open_uploads = 100_000)
        .start()
        .await;
    let victim = server.register("victim").await;
    let attacker = server.register("attacker").await;
    let pairs = WARM_UP + env_or("CAIRN_TIMING_PAIRS", 240);
    let mut urls = Vec::with_capacity(pairs);
    for i in 0..pairs {
        let (stored, fresh) = contents(i);
        let (manifest, up) = victim.start_upload(&stored).await;
        victim.put_missing(&manifest, &up, &stored).await;
        urls.push((
            put_url(&attacker, &stored).await,
            put_url(&attacker, &fresh).await,
        ));
    }
    // One pooled connection, as a browser would keep.
    let http = reqwest::Client::new();
    let (stored, fresh) = time_pairs(pairs, |i, is_stored| {
        let (s, f) = contents(i);
        let (url, body) = if is_stored {
            (&urls[i].0, s)
        } else {
            (&urls[i].1, f)
        };
        let req = http.put(server.url(url)).body(body);
        async move {
            let r = req.send().await.unwrap();
            assert_eq!(r.status(), StatusCode::OK);
            r.bytes().await.unwrap();
            Ok(())
        }
    })
    .await;
    assert_indistinguishable(&format!("local PUT, {backend:?}"), &judge(&stored, &fresh));
    // The second copies were set aside beside their chunks, and the collector removes them.
    let api::blob::BlobStore::Local(store) = &server.state.blobs else {
        unreachable!("a local store")
    };
    assert_eq!(store.duplicates().await.unwrap(), pairs);
    assert_eq!(server.stored_files().len(), 2 * pairs);
    api::gc::expire_uploads(&server.state, server.now_ms())
        .await
        .unwrap();
    assert_eq!(store.duplicates().await.unwrap(), 0);
    assert_eq!(server.stored_files().len(), 2 * pairs);
    // What the victim stored is untouched.
    for i in [0, pairs - 1] {
        let (data, _) = contents(i);
        let hash = wasm_chunker::hash_chunk(&data);
        assert_eq!(store.read(&hash, None).await.unwrap(), data);
    }
}

crate::both!(a_resume_takes_as_long_whether_or_not_someone_stores_the_bytes_on_s3);

/// S3: the API verifies and promotes staged bytes when a client resumes an upload and before a
/// commit (`promote::settle`, the same code), so those answers' latency is what could leak.
/// The resume is the sharper probe (a commit adds its own transaction's noise): the attacker
/// stages a chunk the victim stores and one nobody has, each in an upload of its own, and asks
/// what each upload still misses.
async fn a_resume_takes_as_long_whether_or_not_someone_stores_the_bytes_on_s3(backend: Backend) {
    let server = TestServer::on(backend)
        .s3(true)
        .settings(|s| s.max_open_uploads = 100_000)
        .start()
        .await;
    let victim = server.register("victim").await;
    let attacker = server.register("attacker").await;
    let pairs = WARM_UP + env_or("CAIRN_TIMING_PAIRS", 200);
    let mut uploads = Vec::with_capacity(pairs);
    for i in 0..pairs {
        let (stored, fresh) = contents(i);
        let kept = stage(&victim, &stored).await;
        // The victim's resume verifies and stores the chunk.
        retrying(|| resume(&victim, &kept)).await;
        uploads.push((
            stage(&attacker, &stored).await,
            stage(&attacker, &fresh).await,
        ));
    }
    let (stored, fresh) = time_pairs(pairs, |i, is_stored| {
        let id = if is_stored {
            &uploads[i].0
        } else {
            &uploads[i].1
        };
        resume(&attacker, id)
    })
    .await;
    assert_indistinguishable(&format!("S3 resume, {backend:?}"), &judge(&stored, &fresh));
    // The promoted copies are whole: every chunk downloads and hashes to its name.
    let r = attacker
        .commit(&uploads[WARM_UP].0, attacker.session.root_id, "s.bin", None)
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let node: wire::CommitResponse = r.json().await.unwrap();
    assert_eq!(attacker.download(node.node.id).await, contents(WARM_UP).0);
}

/// A new upload of `data` (one chunk) by `user`, its bytes PUT to staging; answers its id.
async fn stage(user: &User<'_>, data: &[u8]) -> String {
    let (_, up) = user.start_upload(data).await;
    let url = user.server.url(&up.missing[0].url);
    retrying(|| async {
        let r = fresh_client()
            .put(&url)
            .body(data.to_vec())
            .send()
            .await
            .map_err(|e| e.to_string())?;
        match r.status() {
            StatusCode::OK => Ok(()),
            s => Err(format!("{s}: {}", r.text().await.unwrap_or_default())),
        }
    })
    .await;
    up.upload_id
}

/// Resumes `upload_id` as a client would, and checks that nothing is missing any more (the
/// staged chunk was verified and promoted). An error from the object store (a 5xx) is an
/// `Err`; anything else unexpected fails the test.
async fn resume(user: &User<'_>, upload_id: &str) -> Result<(), String> {
    let r = user
        .call(
            reqwest::Method::GET,
            &format!("/api/v1/uploads/{upload_id}"),
            None,
        )
        .await;
    let status = r.status();
    let text = r.text().await.unwrap();
    if status.is_server_error() {
        return Err(format!("{status}: {text}"));
    }
    assert_eq!(status, StatusCode::OK, "{text}");
    let up: wire::UploadResponse = serde_json::from_str(&text).unwrap();
    assert!(up.missing.is_empty(), "{text}");
    Ok(())
}

/// Runs `f` until it succeeds, a few times at most: Garage under load sometimes answers 503
/// (its own metadata database busy), and a client retries.
async fn retrying<F, Fut>(mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    for attempt in 1.. {
        match f().await {
            Ok(()) => return,
            Err(e) if attempt < 4 => eprintln!("trying again: {e}"),
            Err(e) => panic!("failed {attempt} times: {e}"),
        }
    }
}

#[test]
fn the_accuracies_see_a_gap_and_no_gap() {
    let ms = Duration::from_millis;
    let slow: Vec<_> = (10..20).map(ms).collect();
    let fast: Vec<_> = (0..10).map(ms).collect();
    let v = judge(&fast, &slow);
    assert_eq!((v.paired, v.threshold), (1.0, 1.0));
    let v = judge(&slow, &fast);
    assert_eq!((v.paired, v.threshold), (0.0, 1.0));
    // Interleaved samples: no threshold sorts them better than a few lucky ones.
    let evens: Vec<_> = (0..100).map(|i| ms(2 * i)).collect();
    let odds: Vec<_> = (0..100).map(|i| ms(2 * i + 1)).collect();
    let v = judge(&evens, &odds);
    assert_eq!(v.paired, 1.0, "each even is below its odd neighbour");
    assert!(v.threshold < 0.51, "{v}");
}
