//! A share link's folder listing comes in pages like the owner's (`db::listing`): a folder of
//! 2,500 entries is three answers, in the owner's order with the member's mount left out, each
//! entry once; the server-rendered page links page to page; bad paging is a 400.

use futures::StreamExt;
use reqwest::{Method, StatusCode};
use serde_json::json;
use wire::links::PublicListing;

use crate::fixture::{assert_error, share_with, Backend, TestServer};
use crate::links::{make, public};

crate::both!(
    a_long_shared_folder_comes_in_pages,
    bad_public_paging_is_refused,
);

/// Percent-encodes a query value.
fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Every page of the listing at `list` (a `/list?…` URL), `limit` at a time when given: the
/// entries' names, and how many each page held.
async fn walk(server: &TestServer, list: &str, limit: Option<u32>) -> (Vec<String>, Vec<usize>) {
    let (mut names, mut sizes) = (vec![], vec![]);
    let mut after: Option<String> = None;
    loop {
        let mut url = list.to_owned();
        if let Some(l) = limit {
            url.push_str(&format!("&limit={l}"));
        }
        if let Some(a) = &after {
            url.push_str(&format!("&after={}", urlencode(a)));
        }
        let r = public(server, &url, &[]).await;
        assert_eq!(r.status(), StatusCode::OK, "{url}");
        let page: PublicListing = r.json().await.unwrap();
        assert!(page.entries.len() <= limit.unwrap_or(1000) as usize);
        sizes.push(page.entries.len());
        for e in page.entries {
            assert_eq!(e.path, e.name, "entries of the shared folder itself");
            names.push(e.name);
        }
        match page.next {
            Some(n) => after = Some(n),
            None => return (names, sizes),
        }
    }
}

async fn a_long_shared_folder_comes_in_pages(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let bob = server.register("bob").await;
    let ana = server.register("ana").await;
    let big = bob.mkdir(bob.session.root_id, "Big").await;
    // 2,497 folders (made eight at a time) and three files: 2,500 entries.
    futures::stream::iter(0..2497)
        .map(|i| {
            let bob = &bob;
            async move { bob.mkdir(big.id, &format!("f{i:04}")).await }
        })
        .buffer_unordered(8)
        .collect::<Vec<_>>()
        .await;
    for name in ["c.txt", "B.txt", "a.txt"] {
        bob.upload_to(big.id, name, name.as_bytes(), None).await;
    }
    // Ana's shared folder, placed by Bob among them: his listing shows it, a link of his
    // never does (the folder is not his to give).
    let team = ana.mkdir(ana.session.root_id, "Team").await;
    let s = share_with(&ana, team.id, &bob, "bob", "viewer", true).await;
    let placed = bob
        .call(
            Method::PATCH,
            &format!("/api/v1/nodes/{}", s.root_id),
            Some(json!({ "parent_id": big.id })),
        )
        .await;
    assert_eq!(placed.status(), StatusCode::OK);

    // The owner's own listing, in its pages, is the order to expect.
    let mut own = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let q = after
            .as_ref()
            .map(|a| format!("?after={}", urlencode(a)))
            .unwrap_or_default();
        let l: wire::Listing = bob
            .ok(
                Method::GET,
                &format!("/api/v1/nodes/{}/children{q}", big.id),
                None,
            )
            .await;
        own.extend(l.children.into_iter().map(|n| n.name));
        match l.next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    assert_eq!(own.len(), 2501);
    assert!(own.contains(&"Team".to_owned()));
    let expected: Vec<String> = own.into_iter().filter(|n| n != "Team").collect();

    let link = make(&bob, json!({ "node_id": big.id })).await;
    let list = format!("/api/v1/public/{}/list?path=", link.token);
    let (names, sizes) = walk(&server, &list, None).await;
    assert_eq!(sizes, [1000, 1000, 500], "three pages");
    assert_eq!(names, expected, "the owner's order, the mount left out");
    let mut seen = std::collections::HashSet::new();
    assert!(names.iter().all(|n| seen.insert(n)), "no entry twice");
    assert_eq!(names[0], "f0000", "folders first");
    assert_eq!(names[2496], "f2496");
    assert_eq!(
        &names[2497..],
        ["a.txt", "B.txt", "c.txt"],
        "then files, by name"
    );
    // Any page size gives the same entries once.
    let (again, sizes) = walk(&server, &list, Some(999)).await;
    assert_eq!(sizes, [999, 999, 502]);
    assert_eq!(again, names);

    // The page without JavaScript: 1,000 rows, then a link to the next 1,000.
    let mut url = link.url.clone();
    let mut rows = Vec::new();
    for _ in 0..3 {
        let r = public(&server, &url, &[]).await;
        assert_eq!(r.status(), StatusCode::OK, "{url}");
        let html = r.text().await.unwrap();
        rows.push(html.matches(r#"<tr><td class="name">"#).count());
        match html.split_once(r#"<a id="share-more" href=""#) {
            Some((_, rest)) => url = rest.split('"').next().unwrap().replace("&amp;", "&"),
            None => break,
        }
    }
    assert_eq!(rows, [1000, 1000, 500]);
    let r = public(&server, &format!("{}?after=zz", link.url), &[]).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}

async fn bad_public_paging_is_refused(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let bob = server.register("bob").await;
    let dir = bob.mkdir(bob.session.root_id, "Photos").await;
    bob.mkdir(dir.id, "2026").await;
    let link = make(&bob, json!({ "node_id": dir.id })).await;
    let list = format!("/api/v1/public/{}/list", link.token);
    for q in [
        "?after=zz",
        "?after=",
        "?after=q%3Aa",
        "?limit=0",
        "?limit=1001",
        "?limit=x",
        "?path=2026&after=f",
    ] {
        let r = public(&server, &format!("{list}{q}"), &[]).await;
        assert_error(r, StatusCode::BAD_REQUEST, "bad_request").await;
    }
    // A good cursor past the end is an empty last page, not an error.
    let r = public(&server, &format!("{list}?after=f%3Azzz"), &[]).await;
    let page: PublicListing = r.json().await.unwrap();
    assert!(page.entries.is_empty() && page.next.is_none());
}
