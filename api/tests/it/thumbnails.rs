//! A version's thumbnail (issue 22): the page draws it in the browser and PUTs it; the server
//! checks type, size and signature only, stores it, lists which current versions have one,
//! serves it sandboxed to the file's readers, and lets it go with its version.

use reqwest::header::{CACHE_CONTROL, CONTENT_TYPE};
use reqwest::{Method, Response, StatusCode};
use serde_json::json;
use wire::Listing;

use crate::fixture::{assert_error, bytes, fresh_client, share_with, Backend, TestServer, User};

crate::both!(
    a_thumbnail_is_stored_served_replaced_and_listed,
    bad_thumbnails_are_refused_and_store_nothing,
    readers_read_and_writers_write,
    a_thumbnail_goes_with_its_version,
    a_thumbnail_moves_the_listing_tag,
);

/// The first bytes of a WebP file (the server checks no more than the signature).
pub const WEBP: &[u8] = b"RIFF\x24\0\0\0WEBPVP8 \x18\0\0\0thumbnail-bytes-here";
const JPEG: &[u8] = b"\xFF\xD8\xFF\xE0\0\x10JFIF\0thumbnail";

pub fn path(node: i64, version: i64) -> String {
    format!("/api/v1/nodes/{node}/versions/{version}/thumbnail")
}

/// `PUT`s `body` as the thumbnail of `version` of `node`, typed `content_type` (none if empty).
pub async fn put(
    u: &User<'_>,
    node: i64,
    version: i64,
    content_type: &str,
    body: &[u8],
) -> Response {
    // Refused bodies may close the connection: never reuse one.
    let mut r = fresh_client()
        .put(u.server.url(&path(node, version)))
        .bearer_auth(&u.session.token)
        .body(body.to_vec());
    if !content_type.is_empty() {
        r = r.header(CONTENT_TYPE, content_type);
    }
    r.send().await.unwrap()
}

async fn get(u: &User<'_>, node: i64, version: i64) -> Response {
    u.call(Method::GET, &path(node, version), None).await
}

async fn stored(server: &TestServer) -> i64 {
    api::db::thumbnails::count_all(&server.db().await)
        .await
        .unwrap()
}

/// The children of `folder` as (name, thumbnail).
async fn flags(u: &User<'_>, folder: i64) -> Vec<(String, bool)> {
    let l: Listing = u
        .ok(
            Method::GET,
            &format!("/api/v1/nodes/{folder}/children"),
            None,
        )
        .await;
    l.children
        .into_iter()
        .map(|n| (n.name, n.thumbnail))
        .collect()
}

async fn a_thumbnail_is_stored_served_replaced_and_listed(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let root = alice.session.root_id;
    let photo = alice.upload_file("photo.png", &bytes(1, 5000), None).await;
    alice.upload_file("notes.txt", b"hello", None).await;
    let (id, v1) = (photo.node.id, photo.version_id);
    assert_error(
        get(&alice, id, v1).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_eq!(
        flags(&alice, root).await,
        [("notes.txt".into(), false), ("photo.png".into(), false)]
    );

    let r = put(&alice, id, v1, "image/webp", WEBP).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = get(&alice, id, v1).await;
    assert_eq!(r.status(), StatusCode::OK);
    let h = r.headers();
    assert_eq!(h[CONTENT_TYPE], "image/webp");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["content-security-policy"], "sandbox");
    assert_eq!(h[CACHE_CONTROL], "private, max-age=31536000, immutable");
    assert_eq!(r.bytes().await.unwrap(), WEBP);
    assert_eq!(
        flags(&alice, root).await,
        [("notes.txt".into(), false), ("photo.png".into(), true)]
    );

    // Sent again (another type, a parameter, any case): replaced, still one.
    let r = put(&alice, id, v1, "Image/JPEG; q=1", JPEG).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = get(&alice, id, v1).await;
    assert_eq!(r.headers()[CONTENT_TYPE], "image/jpeg");
    assert_eq!(r.bytes().await.unwrap(), JPEG);
    assert_eq!(stored(&server).await, 1);

    // A new version has none of its own: the listing says so; the old one keeps its own.
    let next = alice
        .upload_file("photo.png", &bytes(2, 5000), Some(v1))
        .await;
    assert_eq!(
        flags(&alice, root).await,
        [("notes.txt".into(), false), ("photo.png".into(), false)]
    );
    assert_eq!(get(&alice, id, v1).await.status(), StatusCode::OK);
    let r = put(&alice, id, next.version_id, "image/webp", WEBP).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        flags(&alice, root).await,
        [("notes.txt".into(), false), ("photo.png".into(), true)]
    );
}

async fn bad_thumbnails_are_refused_and_store_nothing(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let photo = alice.upload_file("photo.png", &bytes(1, 5000), None).await;
    let other = alice.upload_file("other.png", &bytes(2, 5000), None).await;
    let folder = alice.mkdir(alice.session.root_id, "pics").await;
    let (id, v) = (photo.node.id, photo.version_id);
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
    let svg = b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>";
    for (ct, body) in [
        ("image/png", &png[..]),
        ("image/svg+xml", &svg[..]),
        ("text/html", &b"<html>"[..]),
        ("", WEBP),
    ] {
        let r = put(&alice, id, v, ct, body).await;
        assert_error(
            r,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        )
        .await;
    }
    // The declared type's signature must open the bytes: a PNG, an SVG or nothing called WebP.
    for (ct, body) in [
        ("image/webp", &png[..]),
        ("image/webp", &svg[..]),
        ("image/jpeg", WEBP),
        ("image/webp", JPEG),
        ("image/webp", &b""[..]),
        ("image/webp", &b"RIFF"[..]),
    ] {
        let r = put(&alice, id, v, ct, body).await;
        assert_error(r, StatusCode::BAD_REQUEST, "bad_request").await;
    }
    let mut big = WEBP.to_vec();
    big.resize(wire::thumbnails::MAX_BYTES + 1, 0);
    let r = put(&alice, id, v, "image/webp", &big).await;
    assert_error(r, StatusCode::PAYLOAD_TOO_LARGE, "too_large").await;
    // Another file's version, a version that does not exist, a folder.
    let r = put(&alice, id, other.version_id, "image/webp", WEBP).await;
    assert_error(r, StatusCode::NOT_FOUND, "not_found").await;
    let r = put(&alice, id, v + 1000, "image/webp", WEBP).await;
    assert_error(r, StatusCode::NOT_FOUND, "not_found").await;
    let r = put(&alice, folder.id, v, "image/webp", WEBP).await;
    assert_error(r, StatusCode::BAD_REQUEST, "bad_request").await;
    assert_eq!(stored(&server).await, 0);
    assert_error(get(&alice, id, v).await, StatusCode::NOT_FOUND, "not_found").await;
    // Exactly the limit is taken.
    big.truncate(wire::thumbnails::MAX_BYTES);
    let r = put(&alice, id, v, "image/webp", &big).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    // Another file's version is not reached through this one's id.
    let r = get(&alice, other.node.id, v).await;
    assert_error(r, StatusCode::NOT_FOUND, "not_found").await;
    assert_eq!(stored(&server).await, 1);
}

async fn readers_read_and_writers_write(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let (vera, edith, bob) = (
        server.register("vera").await,
        server.register("edith").await,
        server.register("bob").await,
    );
    let team = alice.mkdir(alice.session.root_id, "team").await;
    let s = share_with(&alice, team.id, &vera, "vera", "viewer", true).await;
    alice.invite(s.id, &edith, "edith", "editor", true).await;
    let photo = alice
        .upload_to(team.id, "photo.png", &bytes(1, 5000), None)
        .await;
    let mine = alice.upload_file("mine.png", &bytes(2, 5000), None).await;
    let (id, v) = (photo.node.id, photo.version_id);

    // A stranger sees nothing, not even whether there is one.
    let r = put(&bob, id, v, "image/webp", WEBP).await;
    assert_error(r, StatusCode::NOT_FOUND, "not_found").await;
    assert_error(get(&bob, id, v).await, StatusCode::NOT_FOUND, "not_found").await;
    // A viewer reads, never writes; members reach nothing outside the shared folder.
    let r = put(&vera, id, v, "image/webp", WEBP).await;
    assert_error(r, StatusCode::FORBIDDEN, "role_too_low").await;
    assert_eq!(stored(&server).await, 0);
    let r = put(&edith, id, v, "image/webp", WEBP).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    for u in [&alice, &vera, &edith] {
        let r = get(u, id, v).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.bytes().await.unwrap(), WEBP);
    }
    assert_eq!(flags(&vera, team.id).await, [("photo.png".into(), true)]);
    let r = put(&alice, mine.node.id, mine.version_id, "image/webp", WEBP).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    for u in [&vera, &edith, &bob] {
        let r = get(u, mine.node.id, mine.version_id).await;
        assert_error(r, StatusCode::NOT_FOUND, "not_found").await;
        let r = put(u, mine.node.id, mine.version_id, "image/webp", JPEG).await;
        assert_error(r, StatusCode::NOT_FOUND, "not_found").await;
    }
    // Signed out: nothing.
    let r = server
        .http
        .get(server.url(&path(id, v)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

async fn a_thumbnail_goes_with_its_version(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let bob = server.register("bob").await;
    let a = alice.upload_file("a.png", &bytes(1, 5000), None).await;
    let b = alice.upload_file("b.png", &bytes(2, 5000), None).await;
    let b2 = alice
        .upload_file("b.png", &bytes(3, 5000), Some(b.version_id))
        .await;
    let theirs = bob.upload_file("c.png", &bytes(4, 5000), None).await;
    for (u, c) in [(&alice, &a), (&alice, &b), (&alice, &b2), (&bob, &theirs)] {
        let r = put(u, c.node.id, c.version_id, "image/webp", WEBP).await;
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
    }
    assert_eq!(stored(&server).await, 4);
    // Purged from the trash: both versions' thumbnails go.
    alice.trash(b.node.id).await;
    assert_eq!(stored(&server).await, 4, "the trash keeps them");
    alice.purge(b.node.id).await;
    assert_eq!(stored(&server).await, 2);
    // The account deleted: its thumbnails go, nobody else's.
    let r = alice
        .call(
            Method::DELETE,
            "/api/v1/account",
            Some(json!({"password": "correct horse", "confirm_username": "alice"})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(stored(&server).await, 1);
    let r = get(&bob, theirs.node.id, theirs.version_id).await;
    assert_eq!(r.status(), StatusCode::OK);
}

/// A device that fetched a listing before the uploader's page sent the thumbnail (the usual
/// order: the thumbnail is drawn after the commit) sees it when it revalidates.
async fn a_thumbnail_moves_the_listing_tag(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let root = alice.session.root_id;
    let photo = alice.upload_file("photo.png", &bytes(3, 4000), None).await;
    let listing = format!("/api/v1/nodes/{root}/children");
    let r = alice.call(Method::GET, &listing, None).await;
    let tag = r.headers()["etag"].to_str().unwrap().to_owned();
    let revalidate = |tag: String| {
        alice
            .server
            .http
            .get(alice.server.url(&listing))
            .bearer_auth(&alice.session.token)
            .header(reqwest::header::IF_NONE_MATCH, tag)
            .send()
    };
    assert_eq!(
        revalidate(tag.clone()).await.unwrap().status(),
        StatusCode::NOT_MODIFIED
    );
    let r = put(&alice, photo.node.id, photo.version_id, "image/webp", WEBP).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = revalidate(tag.clone()).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "the tag moved");
    let moved = r.headers()["etag"].to_str().unwrap().to_owned();
    assert_ne!(moved, tag);
    let l: Listing = r.json().await.unwrap();
    assert!(l
        .children
        .iter()
        .any(|n| n.name == "photo.png" && n.thumbnail));
    assert_eq!(
        revalidate(moved).await.unwrap().status(),
        StatusCode::NOT_MODIFIED
    );
}
