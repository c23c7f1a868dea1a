//! Download limits that hold: a link with limit N sends each file under it at most N × its
//! size bytes, whatever mix of whole, ranged, repeated and parallel requests asks for them
//! (no over-count), while N whole downloads always succeed and a resumed download is charged
//! only for the bytes it still lacks (no under-count). Zips draw on the same budget.

use reqwest::StatusCode;
use serde_json::json;
use wire::links::{LinkList, PublicShare};

use crate::content_verify::drain;
use crate::fixture::{assert_error, bytes, Backend, TestRng, TestServer, User};
use crate::links::{make, public};

crate::both!(
    a_limit_of_two_gives_exactly_two_whole_downloads,
    parallel_clients_with_ranges_and_retries_never_get_more_than_the_limit,
    a_resumed_download_is_charged_only_for_the_rest,
    zips_and_single_files_draw_on_one_budget,
);

/// The largest chunk the chunker makes: the most a refused piece can leave unspent.
const MAX_PIECE: u64 = wasm_chunker::MAX_SIZE as u64;

/// Bytes of the link's budget spent so far (all versions), as the owner sees it.
async fn served(owner: &User<'_>, link_id: i64) -> u64 {
    let l: LinkList = owner.ok(reqwest::Method::GET, "/api/v1/links", None).await;
    l.links
        .iter()
        .find(|l| l.id == link_id)
        .unwrap()
        .bytes_served
}

async fn a_limit_of_two_gives_exactly_two_whole_downloads(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let data = bytes(91, 3 * 1024 * 1024 + 17);
    let f = alice.upload_file("two.bin", &data, None).await;
    let made = make(&alice, json!({"node_id": f.node.id, "max_downloads": 2})).await;
    let url = format!("/s/{}/download", made.token);

    // Two at once, both whole: racing for the budget does not starve either.
    let (r1, r2) = tokio::join!(public(&server, &url, &[]), public(&server, &url, &[]));
    for r in [r1, r2] {
        assert_eq!(r.status(), StatusCode::OK);
        let (got, failed) = drain(r).await;
        assert!(!failed);
        assert_eq!(got, data);
    }
    assert_eq!(served(&alice, made.link.id).await, 2 * data.len() as u64);
    let face: PublicShare = public(&server, &format!("/api/v1/public/{}", made.token), &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(face.downloads_left, Some(0));
    for range in [None, Some("bytes=0-0"), Some("bytes=-1")] {
        let headers: Vec<(&str, &str)> = range.map(|r| ("range", r)).into_iter().collect();
        let r = public(&server, &url, &headers).await;
        assert_error(r, StatusCode::GONE, "link_exhausted").await;
    }
    // The owner's own route is not the link's: it still works.
    let r = alice
        .call(
            reqwest::Method::GET,
            &format!("/api/v1/nodes/{}/content", f.node.id),
            None,
        )
        .await;
    assert_eq!(r.bytes().await.unwrap().len(), data.len());
}

/// One client assembling the file: (bytes received in all, whether it got the whole file).
async fn client(
    http: reqwest::Client,
    url: String,
    data: std::sync::Arc<Vec<u8>>,
    seed: u64,
) -> (u64, bool) {
    let size = data.len() as u64;
    let mut rng = TestRng::seeded(seed);
    let mut have: Vec<u8> = Vec::new();
    let mut received = 0u64;
    for _ in 0..100 {
        let at = have.len() as u64;
        // Three habits: resume from what it has; small windows; and now and then a wasteful
        // retry of bytes it already holds (or of everything).
        let (from, to) = match seed % 3 {
            1 => (at, (at + 100_000 + rng.below(3_000_000)).min(size - 1)),
            2 if rng.below(3) == 0 => {
                let a = rng.below(at.max(1));
                (a, (a + rng.below(2_000_000)).min(size - 1))
            }
            _ => (at, size - 1),
        };
        let spec = format!("bytes={from}-{to}");
        let mut req = http.get(&url);
        if !(from == 0 && to == size - 1 && seed.is_multiple_of(2)) {
            req = req.header("range", &spec);
        }
        let r = req.send().await.unwrap();
        match r.status() {
            StatusCode::GONE => return (received, false),
            StatusCode::OK | StatusCode::PARTIAL_CONTENT => {}
            s => panic!("{spec}: {s}"),
        }
        let (got, _) = drain(r).await;
        received += got.len() as u64;
        assert_eq!(
            got,
            &data[from as usize..from as usize + got.len()],
            "{spec}"
        );
        if from == at {
            have.extend_from_slice(&got);
        }
        if have.len() as u64 == size {
            assert_eq!(have, *data);
            return (received, true);
        }
    }
    panic!("client {seed} neither finished nor was refused in 100 requests");
}

async fn parallel_clients_with_ranges_and_retries_never_get_more_than_the_limit(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let data = std::sync::Arc::new(bytes(92, 12 * 1024 * 1024 + 5));
    let size = data.len() as u64;
    let f = alice.upload_file("chaos.bin", &data, None).await;
    let made = make(&alice, json!({"node_id": f.node.id, "max_downloads": 2})).await;
    let url = server.url(&format!("/s/{}/download", made.token));

    let tasks: Vec<_> = (0..6)
        .map(|seed| tokio::spawn(client(server.http.clone(), url.clone(), data.clone(), seed)))
        .collect();
    let mut total = 0;
    let mut whole = 0;
    for t in tasks {
        let (received, done) = t.await.unwrap();
        total += received;
        whole += usize::from(done);
    }
    let charged = served(&alice, made.link.id).await;
    // No over-count: nobody, all together, got more than two downloads' worth; and nothing
    // was sent that was not charged.
    assert!(total <= charged, "received {total} > charged {charged}");
    assert!(charged <= 2 * size, "charged {charged} > {}", 2 * size);
    assert!(whole <= 2, "{whole} whole downloads");
    // No under-count: everyone was refused only when less than one piece was left.
    assert!(
        charged + MAX_PIECE > 2 * size,
        "charged {charged}, left {}",
        2 * size - charged
    );
}

async fn a_resumed_download_is_charged_only_for_the_rest(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let data = bytes(93, 2 * 1024 * 1024 + 501);
    let size = data.len() as u64;
    let half = size / 2;
    let f = alice.upload_file("resume.bin", &data, None).await;
    let made = make(&alice, json!({"node_id": f.node.id, "max_downloads": 1})).await;
    let url = format!("/s/{}/download", made.token);

    let r = public(
        &server,
        &url,
        &[("range", &format!("bytes=0-{}", half - 1))],
    )
    .await;
    assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
    let mut got = r.bytes().await.unwrap().to_vec();
    assert_eq!(served(&alice, made.link.id).await, half);
    let r = public(&server, &url, &[("range", &format!("bytes={half}-"))]).await;
    assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
    got.extend_from_slice(&r.bytes().await.unwrap());
    assert_eq!(got, data);
    assert_eq!(served(&alice, made.link.id).await, size);
    let r = public(&server, &url, &[("range", "bytes=0-0")]).await;
    assert_error(r, StatusCode::GONE, "link_exhausted").await;

    // Every byte sent counts: the same first half twice spends the whole budget.
    let again = make(&alice, json!({"node_id": f.node.id, "max_downloads": 1})).await;
    let url = format!("/s/{}/download", again.token);
    for _ in 0..2 {
        let r = public(
            &server,
            &url,
            &[("range", &format!("bytes=0-{}", half - 1))],
        )
        .await;
        assert_eq!(r.bytes().await.unwrap().len() as u64, half);
    }
    // (Nothing is left when the size is even; else one byte, less than the piece asked for.)
    let r = public(&server, &url, &[("range", &format!("bytes={half}-"))]).await;
    assert_error(r, StatusCode::GONE, "link_exhausted").await;
}

async fn zips_and_single_files_draw_on_one_budget(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let dir = alice.mkdir(alice.session.root_id, "Box").await;
    let a = bytes(94, 1024 * 1024 + 3);
    let b = bytes(95, 2 * 1024 * 1024 + 7);
    alice.upload_to(dir.id, "a.bin", &a, None).await;
    alice.upload_to(dir.id, "b.bin", &b, None).await;
    let link = |_: ()| make(&alice, json!({"node_id": dir.id, "max_downloads": 1}));

    // A zip spends the budget of every file in it.
    let l = link(()).await;
    let r = public(&server, &format!("/s/{}/download", l.token), &[]).await;
    assert_eq!(r.status(), StatusCode::OK);
    let (zip, failed) = drain(r).await;
    assert!(!failed);
    assert_eq!(crate::share_bytes::unzip(&zip).len(), 3);
    let r = public(&server, &format!("/s/{}/download", l.token), &[]).await;
    assert_error(r, StatusCode::GONE, "link_exhausted").await;
    let r = public(&server, &format!("/s/{}/files/b.bin", l.token), &[]).await;
    assert_error(r, StatusCode::GONE, "link_exhausted").await;

    // A file fetched alone first: the zip starts with it, so nothing can be sent.
    let l = link(()).await;
    let r = public(&server, &format!("/s/{}/files/a.bin", l.token), &[]).await;
    assert_eq!(r.bytes().await.unwrap().len(), a.len());
    let r = public(
        &server,
        &format!("/s/{}/zip?path=a.bin&path=b.bin", l.token),
        &[],
    )
    .await;
    assert_error(r, StatusCode::GONE, "link_exhausted").await;
    // The second file first: the zip sends a.bin, then ends short where b.bin would start.
    let l = link(()).await;
    let r = public(&server, &format!("/s/{}/files/b.bin", l.token), &[]).await;
    assert_eq!(r.bytes().await.unwrap().len(), b.len());
    let r = public(&server, &format!("/s/{}/download", l.token), &[]).await;
    assert_eq!(r.status(), StatusCode::OK);
    let len = r.content_length().unwrap();
    let (got, failed) = drain(r).await;
    assert!(failed && (got.len() as u64) < len);
    assert!(
        (got.len() as u64) < a.len() as u64 + 200,
        "{} bytes",
        got.len()
    );
    // b.bin is still downloadable through another link: budgets are per link.
    let other = make(&alice, json!({"node_id": dir.id})).await;
    let r = public(&server, &format!("/s/{}/files/b.bin", other.token), &[]).await;
    assert_eq!(r.bytes().await.unwrap(), &b[..]);
}
