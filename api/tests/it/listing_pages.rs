//! Listings come in pages: folders first, then files, each by name ignoring case; every page
//! carries the listing's one ETag; only the first page answers 304; bad paging is a 400.

use reqwest::StatusCode;
use wire::Listing;

use crate::fixture::{assert_error, Backend, TestServer, User};

crate::both!(
    pages_cover_the_folder_once_in_order,
    a_change_between_pages_shows_in_the_tag,
    bad_paging_is_refused,
);

async fn page(u: &User<'_>, folder: i64, query: &str, tag: Option<&str>) -> reqwest::Response {
    let mut r = u
        .server
        .http
        .get(
            u.server
                .url(&format!("/api/v1/nodes/{folder}/children{query}")),
        )
        .bearer_auth(&u.session.token);
    if let Some(t) = tag {
        r = r.header("if-none-match", t);
    }
    r.send().await.unwrap()
}

/// Every page of `folder`, `limit` at a time: the names in order and the tag of each page.
async fn walk(u: &User<'_>, folder: i64, limit: u32) -> (Vec<String>, Vec<String>) {
    let (mut names, mut tags) = (vec![], vec![]);
    let mut after: Option<String> = None;
    loop {
        let q = match &after {
            Some(a) => format!("?limit={limit}&after={}", urlencode(a)),
            None => format!("?limit={limit}"),
        };
        let r = page(u, folder, &q, None).await;
        assert_eq!(r.status(), StatusCode::OK);
        tags.push(r.headers()["etag"].to_str().unwrap().to_owned());
        let l: Listing = r.json().await.unwrap();
        assert!(l.children.len() <= limit as usize);
        names.extend(l.children.into_iter().map(|n| n.name));
        match l.next {
            Some(n) => after = Some(n),
            None => return (names, tags),
        }
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn pages_cover_the_folder_once_in_order(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let root = alice.session.root_id;
    let folders = ["zeta", "Alpha", "b&c", "Ärger"];
    let files = [
        "y.txt", "A.txt", "b.txt", "B2.txt", "c d.txt", "ö.txt", "x%y.txt",
    ];
    for name in folders {
        alice.mkdir(root, name).await;
    }
    for name in files {
        alice.upload_to(root, name, name.as_bytes(), None).await;
    }
    // Folders first, then files; within each, the database's order of the folded names
    // (which its collation decides).
    let (whole, _) = walk(&alice, root, 1000).await;
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    assert_eq!(
        sorted(whole[..4].to_vec()),
        sorted(folders.map(String::from).to_vec())
    );
    assert_eq!(
        sorted(whole[4..].to_vec()),
        sorted(files.map(String::from).to_vec())
    );
    // Any page size, a page ending on the last folder included, gives the same list once.
    for limit in [1, 2, 3, 4, 5, 10, 11] {
        let (names, tags) = walk(&alice, root, limit).await;
        assert_eq!(names, whole, "limit {limit}");
        assert!(tags.windows(2).all(|w| w[0] == w[1]), "one tag: {tags:?}");
        assert_eq!(tags.len(), whole.len().div_ceil(limit as usize).max(1));
    }
}

async fn a_change_between_pages_shows_in_the_tag(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let root = alice.session.root_id;
    for name in ["a", "b", "c", "d"] {
        alice.mkdir(root, name).await;
    }
    let r = page(&alice, root, "?limit=2", None).await;
    let tag = r.headers()["etag"].to_str().unwrap().to_owned();
    let first: Listing = r.json().await.unwrap();
    let next = first.next.expect("a second page");
    // The first page revalidates; a later page never answers 304, as the tag stands for the
    // whole listing, which a client holding one page does not hold.
    let r = page(&alice, root, "?limit=2", Some(&tag)).await;
    assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
    let later = format!("?limit=2&after={}", urlencode(&next));
    let r = page(&alice, root, &later, Some(&tag)).await;
    assert_eq!(r.status(), StatusCode::OK);
    alice.mkdir(root, "e").await;
    let r = page(&alice, root, &later, None).await;
    assert_ne!(r.headers()["etag"].to_str().unwrap(), tag);
    let l: Listing = r.json().await.unwrap();
    let names: Vec<_> = l.children.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names, ["c", "d"]);
    assert!(l.next.is_some(), "e follows");
}

async fn bad_paging_is_refused(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let root = alice.session.root_id;
    for (q, code) in [
        ("?limit=0", "bad_request"),
        ("?limit=1001", "bad_request"),
        ("?limit=x", "bad_request"),
        ("?after=", "bad_request"),
        ("?after=zz", "bad_request"),
        ("?after=q%3Aa", "bad_request"),
    ] {
        let r = page(&alice, root, q, None).await;
        assert_error(r, StatusCode::BAD_REQUEST, code).await;
    }
}
