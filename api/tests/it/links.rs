//! Share links, the owner's side and the public JSON API: making, listing, changing and
//! revoking links; the password gate and its grants; and the permission matrix — every public
//! route against every state a link can be in, answered with the right status and code, and
//! nothing of the share (its name, its files) in any refusal.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use wire::links::{LinkCreated, LinkInfo, LinkList, LinkState, PublicListing, PublicShare};

use crate::fixture::{assert_error, bytes, Backend, TestServer, User};

crate::both!(
    owners_make_list_change_and_revoke_their_links,
    a_password_link_opens_with_a_grant_or_basic_auth,
    the_permission_matrix_holds,
    a_folder_link_reaches_nothing_outside_its_folder,
    public_routes_and_link_passwords_are_rate_limited,
);

fn rate(count: u32, secs: u64) -> api::abuse::RateSpec {
    api::abuse::RateSpec::new(std::num::NonZeroU32::new(count).unwrap(), secs)
}

async fn public_routes_and_link_passwords_are_rate_limited(backend: Backend) {
    let server = TestServer::on(backend)
        .settings(|s| {
            s.public_rate_per_ip = rate(6, 3600);
            s.public_rate_per_link = rate(4, 3600);
            s.link_password_rate = rate(2, 3600);
            s.trusted_proxy = Some(api::abuse::TrustedProxy {
                header: "x-forwarded-for".into(),
                proxies: vec!["127.0.0.1/32".parse().unwrap()],
            });
        })
        .start()
        .await;
    let alice = server.register("alice").await;
    let file = alice.upload_file("a.txt", b"hello", None).await;
    let open = make(&alice, json!({"node_id": file.node.id})).await;
    let locked = make(
        &alice,
        json!({"node_id": file.node.id, "password": "right one"}),
    )
    .await;
    let face = |t: &str| format!("/api/v1/public/{t}");

    // Per link, whoever asks: the fifth request from five addresses is refused.
    for i in 0..4 {
        let ip = format!("203.0.113.{i}");
        let r = public(&server, &face(&open.token), &[("x-forwarded-for", &ip)]).await;
        assert_eq!(r.status(), StatusCode::OK);
    }
    let r = public(
        &server,
        &face(&open.token),
        &[("x-forwarded-for", "203.0.113.9")],
    )
    .await;
    assert!(r.headers().contains_key("retry-after"));
    assert_error(r, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    let r = public(
        &server,
        &format!("/s/{}/download", open.token),
        &[("x-forwarded-for", "203.0.113.8")],
    )
    .await;
    assert_error(r, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;

    // Password guesses per link: the third is refused before any hash, right or wrong.
    for (ip, pw, want) in [
        ("198.51.100.1", "nope", 403),
        ("198.51.100.2", "nope", 403),
        ("198.51.100.3", "right one", 429),
    ] {
        let r = server
            .http
            .post(server.url(&format!("{}/unlock", face(&locked.token))))
            .header("x-forwarded-for", ip)
            .json(&json!({ "password": pw }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), want, "{ip}");
    }

    // Per address, across links: 192.0.2.7 spends its six, then nothing answers it; the
    // forwarded address counts, since 127.0.0.1 is a trusted proxy.
    let other = make(&alice, json!({"node_id": file.node.id})).await;
    let third = make(&alice, json!({"node_id": file.node.id})).await;
    let mut statuses = Vec::new();
    for t in [
        &other.token,
        &third.token,
        &other.token,
        &third.token,
        &other.token,
        &third.token,
        &other.token,
    ] {
        let r = public(&server, &face(t), &[("x-forwarded-for", "192.0.2.7")]).await;
        statuses.push(r.status().as_u16());
    }
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
    assert!(!statuses[..6].contains(&429), "{statuses:?}");
}

pub async fn make(u: &User<'_>, body: Value) -> LinkCreated {
    let r = u.call(Method::POST, "/api/v1/links", Some(body)).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    r.json().await.unwrap()
}

/// Alice's tree (`a.txt`; `Holidays/inner.txt`; `private/diary.txt` outside it), Bob, and one
/// link in every state a link can be in, named as the permission matrices name them: `file`
/// (a download limit of `file_limit`), `folder`, `expired`, `revoked`, `gone` (target
/// trashed), `exhausted` (limit spent), `locked` (password `letmein1`, a folder), `request`
/// (upload-only), `private` (the folder outside), `unknown`.
pub struct Zoo<'a> {
    pub alice: User<'a>,
    pub bob: User<'a>,
    pub tokens: std::collections::HashMap<&'static str, String>,
    /// A grant of `locked`, and one of another link of Alice's.
    pub grant: String,
    pub other_grant: String,
}

pub async fn zoo(server: &TestServer, file_limit: u64) -> Zoo<'_> {
    let alice = server.register("alice").await;
    let bob = server.register("bob").await;
    let root = alice.session.root_id;
    let file = alice.upload_file("a.txt", &bytes(2, 3000), None).await;
    let dir = alice.mkdir(root, "Holidays").await;
    alice.upload_to(dir.id, "inner.txt", b"inside", None).await;
    let elsewhere = alice.mkdir(root, "private").await;
    alice
        .upload_to(elsewhere.id, "diary.txt", b"dear diary", None)
        .await;
    let doomed = alice.upload_file("doomed.txt", b"soon gone", None).await;

    let mut tokens = std::collections::HashMap::new();
    let db = server.db().await;
    let an_hour = 3_600_000;
    for (name, body) in [
        (
            "file",
            json!({"node_id": file.node.id, "max_downloads": file_limit}),
        ),
        ("folder", json!({"node_id": dir.id})),
        (
            "expired",
            json!({"node_id": file.node.id, "expires_at": server.now_ms() + an_hour}),
        ),
        ("revoked", json!({"node_id": dir.id})),
        ("gone", json!({"node_id": doomed.node.id})),
        (
            "exhausted",
            json!({"node_id": file.node.id, "max_downloads": 1}),
        ),
        ("locked", json!({"node_id": dir.id, "password": "letmein1"})),
        ("request", json!({"node_id": dir.id, "kind": "request"})),
        ("private", json!({"node_id": elsewhere.id})),
    ] {
        let made = make(&alice, body).await;
        match name {
            "revoked" => {
                alice.revoke_link(made.link.id).await;
            }
            "exhausted" => {
                sqlx::query(
                    "INSERT INTO link_served (link_id, version_id, bytes) VALUES ($1, $2, 3000)",
                )
                .bind(made.link.id)
                .bind(file.version_id)
                .execute(&db.pool)
                .await
                .unwrap();
            }
            _ => {}
        }
        tokens.insert(name, made.token);
    }
    db.pool.close().await;
    // `expired` passes its deadline; every other link has none.
    server.advance(std::time::Duration::from_millis(2 * an_hour as u64));
    alice.trash(doomed.node.id).await;
    tokens.insert("unknown", "A".repeat(32));
    let grant_of = |token: String, pw: &'static str| async move {
        let r = server
            .post(
                &format!("/api/v1/public/{token}/unlock"),
                json!({ "password": pw }),
            )
            .await;
        r.json::<wire::links::Grant>().await.unwrap().grant
    };
    let grant = grant_of(tokens["locked"].clone(), "letmein1").await;
    let other_link = make(
        &alice,
        json!({"node_id": file.node.id, "password": "different"}),
    )
    .await;
    let other_grant = grant_of(other_link.token, "different").await;
    Zoo {
        alice,
        bob,
        tokens,
        grant,
        other_grant,
    }
}

/// A public GET with optional extra headers.
pub async fn public(
    server: &TestServer,
    path: &str,
    headers: &[(&str, &str)],
) -> reqwest::Response {
    let mut r = server.http.get(server.url(path));
    for (k, v) in headers {
        r = r.header(*k, *v);
    }
    r.send().await.unwrap()
}

async fn owners_make_list_change_and_revoke_their_links(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let bob = server.register("bob").await;
    let file = alice.upload_file("report.pdf", &bytes(1, 5000), None).await;

    // Bad input changes nothing.
    let bad = [
        json!({"node_id": file.node.id, "expires_at": 1}),
        json!({"node_id": file.node.id, "max_downloads": 0}),
        json!({"node_id": file.node.id, "max_bytes": 10}),
        json!({"node_id": file.node.id, "kind": "request"}),
        json!({"node_id": alice.session.root_id, "pin_version": true}),
        json!({"node_id": file.node.id, "password": ""}),
        json!({"node_id": file.node.id, "surprise": 1}),
    ];
    for b in bad {
        let r = alice
            .call(Method::POST, "/api/v1/links", Some(b.clone()))
            .await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{b}");
    }
    let r = bob
        .call(
            Method::POST,
            "/api/v1/links",
            Some(json!({"node_id": file.node.id})),
        )
        .await;
    assert_error(r, StatusCode::NOT_FOUND, "not_found").await;
    let none: LinkList = alice.ok(Method::GET, "/api/v1/links", None).await;
    assert!(none.links.is_empty());

    let made = make(
        &alice,
        json!({"node_id": file.node.id, "max_downloads": 3, "pin_version": true}),
    )
    .await;
    assert_eq!(made.url, format!("/s/{}", made.token));
    assert!(made.token.len() >= 22, "at least 128 bits");
    let l = &made.link;
    assert_eq!(
        (l.state, l.name.as_str(), l.max_downloads),
        (LinkState::Active, "report.pdf", Some(3))
    );
    assert_eq!(l.pinned_version_id, Some(file.version_id));
    assert!(!l.has_password);

    // The token is never stored or listed.
    let listed: LinkList = alice.ok(Method::GET, "/api/v1/links", None).await;
    assert_eq!(listed.links.len(), 1);
    assert!(!serde_json::to_string(&listed)
        .unwrap()
        .contains(&made.token));
    let db = server.db().await;
    let stored: Vec<String> = sqlx::query_scalar("SELECT token_hash FROM share_links")
        .fetch_all(&db.pool)
        .await
        .unwrap();
    assert!(stored.iter().all(|h| !h.contains(&made.token)));
    let theirs: LinkList = bob.ok(Method::GET, "/api/v1/links", None).await;
    assert!(theirs.links.is_empty());

    // The public side sees it.
    let face: PublicShare = public(&server, &format!("/api/v1/public/{}", made.token), &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (face.name.as_str(), face.size, face.shared_by.as_str()),
        ("report.pdf", 5000, "alice")
    );
    assert_eq!(face.content_type.as_deref(), Some("application/pdf"));
    assert_eq!(face.downloads_left, Some(3));

    // Changes: a stranger cannot; the owner can, and null clears.
    let path = format!("/api/v1/links/{}", l.id);
    let r = bob
        .call(Method::PATCH, &path, Some(json!({"max_downloads": 9})))
        .await;
    assert_error(r, StatusCode::NOT_FOUND, "not_found").await;
    let later = server.now_ms() + 3_600_000;
    let changed: LinkInfo = alice
        .ok(
            Method::PATCH,
            &path,
            Some(json!({"max_downloads": null, "expires_at": later, "password": "open sesame"})),
        )
        .await;
    assert_eq!(
        (
            changed.max_downloads,
            changed.expires_at,
            changed.has_password
        ),
        (None, Some(later), true)
    );
    let r = alice
        .call(Method::PATCH, &path, Some(json!({"expires_at": 5})))
        .await;
    assert_error(r, StatusCode::BAD_REQUEST, "bad_request").await;

    // Revoking cuts access at once.
    let r = bob.call(Method::DELETE, &path, None).await;
    assert_error(r, StatusCode::NOT_FOUND, "not_found").await;
    let r = alice.call(Method::DELETE, &path, None).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = public(&server, &format!("/api/v1/public/{}", made.token), &[]).await;
    assert_error(r, StatusCode::GONE, "link_gone").await;
    let listed: LinkList = alice.ok(Method::GET, "/api/v1/links", None).await;
    assert_eq!(listed.links[0].state, LinkState::Revoked);

    // Neither the token nor a password reaches the metrics.
    let metrics = server.metrics_text().await;
    assert!(!metrics.contains(&made.token) && !metrics.contains("open sesame"));
    assert!(
        metrics.contains("/api/v1/public/{token}"),
        "routes by template"
    );

    // The access log saw the view, with a truncated address and no token.
    let log: wire::links::AccessLog = alice.ok(Method::GET, &format!("{path}/access"), None).await;
    assert!(log
        .entries
        .iter()
        .any(|e| e.action == "view" && e.network == "127.0.0.0/24"));
    let r = bob.call(Method::GET, &format!("{path}/access"), None).await;
    assert_error(r, StatusCode::NOT_FOUND, "not_found").await;
}

async fn a_password_link_opens_with_a_grant_or_basic_auth(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let file = alice.upload_file("secret.txt", b"the plans", None).await;
    let other = alice.upload_file("other.txt", b"x", None).await;
    let made = make(
        &alice,
        json!({"node_id": file.node.id, "password": "open sesame"}),
    )
    .await;
    let plain = make(
        &alice,
        json!({"node_id": other.node.id, "password": "another one"}),
    )
    .await;
    let face = format!("/api/v1/public/{}", made.token);

    let r = public(&server, &face, &[]).await;
    assert_error(r, StatusCode::UNAUTHORIZED, "password_required").await;
    let unlock = |pw: &str| {
        server
            .http
            .post(server.url(&format!("{face}/unlock")))
            .json(&json!({ "password": pw }))
            .send()
    };
    let r = unlock("wrong").await.unwrap();
    assert_error(r, StatusCode::FORBIDDEN, "wrong_password").await;
    let r = unlock("open sesame").await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    assert!(!cookie.contains("Secure"), "plain HTTP: {cookie}");
    let g: wire::links::Grant = r.json().await.unwrap();
    // Behind a proxy that terminates HTTPS, the cookie never travels over plain HTTP.
    let r = server
        .http
        .post(server.url(&format!("{face}/unlock")))
        .header("x-forwarded-proto", "https")
        .json(&json!({ "password": "open sesame" }))
        .send()
        .await
        .unwrap();
    assert!(r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .ends_with("; Secure"));

    for headers in [
        vec![("x-cairn-grant", g.grant.as_str())],
        vec![("cookie", cookie.split(';').next().unwrap())],
        // curl -u :open sesame
        vec![("authorization", "Basic Om9wZW4gc2VzYW1l")],
    ] {
        let r = public(&server, &face, &headers).await;
        assert_eq!(r.status(), StatusCode::OK, "{headers:?}");
    }
    let r = public(&server, &format!("{face}?grant={}", g.grant), &[]).await;
    assert_eq!(r.status(), StatusCode::OK);
    // A grant opens its own link only.
    let r = public(
        &server,
        &format!("/api/v1/public/{}", plain.token),
        &[("x-cairn-grant", &g.grant)],
    )
    .await;
    assert_error(r, StatusCode::UNAUTHORIZED, "password_required").await;
    // A wrong Basic password is a wrong password.
    let r = public(&server, &face, &[("authorization", "Basic Ondyb25n")]).await;
    assert_error(r, StatusCode::FORBIDDEN, "wrong_password").await;
    // Changing the password ends the grants given for the old one.
    let id = made.link.id;
    let _: LinkInfo = alice
        .ok(
            Method::PATCH,
            &format!("/api/v1/links/{id}"),
            Some(json!({"password": "new words"})),
        )
        .await;
    let r = public(&server, &face, &[("x-cairn-grant", &g.grant)]).await;
    assert_error(r, StatusCode::UNAUTHORIZED, "password_required").await;
    // Failed attempts are in the owner's log.
    let log: wire::links::AccessLog = alice
        .ok(Method::GET, &format!("/api/v1/links/{id}/access"), None)
        .await;
    assert_eq!(
        log.entries
            .iter()
            .filter(|e| e.outcome == "wrong_password")
            .count(),
        2
    );
}

/// One row of the matrix: a link in some state, asked through one route with some proof.
struct Case {
    link: &'static str,
    route: &'static str,
    proof: &'static str,
    status: u16,
    code: &'static str,
}

const fn case(
    link: &'static str,
    route: &'static str,
    proof: &'static str,
    status: u16,
    code: &'static str,
) -> Case {
    Case {
        link,
        route,
        proof,
        status,
        code,
    }
}

/// Links: `file` (limit 2), `folder`, `expired`, `revoked`, `gone` (target trashed),
/// `exhausted` (limit spent), `locked` (password), `request` (upload-only), `unknown` (no such
/// token). Routes: `show`, `list`, `manifest`, `manifest_other` (a file of another link by
/// path), `list_up` (`..`). Proofs: `none`, `grant`, `wrong`, `basic`, `other_grant`, `owner`
/// (the owner's bearer token, which opens nothing more), `stranger` (another user's).
const MATRIX: &[Case] = &[
    case("file", "show", "none", 200, ""),
    case("file", "manifest", "none", 200, ""),
    case("file", "list", "none", 404, "not_found"),
    case("file", "show", "owner", 200, ""),
    case("file", "show", "stranger", 200, ""),
    case("folder", "show", "none", 200, ""),
    case("folder", "list", "none", 200, ""),
    case("folder", "manifest", "none", 404, "not_found"),
    case("folder", "manifest_in", "none", 200, ""),
    case("folder", "manifest_other", "none", 404, "not_found"),
    case("folder", "list_up", "none", 404, "not_found"),
    case("expired", "show", "none", 410, "link_gone"),
    case("expired", "manifest", "none", 410, "link_gone"),
    case("expired", "show", "owner", 410, "link_gone"),
    case("revoked", "show", "none", 410, "link_gone"),
    case("revoked", "manifest", "none", 410, "link_gone"),
    case("revoked", "list", "none", 410, "link_gone"),
    case("gone", "show", "none", 410, "link_gone"),
    case("gone", "manifest", "none", 410, "link_gone"),
    case("exhausted", "show", "none", 200, ""),
    case("exhausted", "manifest", "none", 410, "link_exhausted"),
    case("locked", "show", "none", 401, "password_required"),
    case("locked", "list", "none", 401, "password_required"),
    case("locked", "manifest", "none", 401, "password_required"),
    case("locked", "show", "owner", 401, "password_required"),
    case("locked", "show", "stranger", 401, "password_required"),
    case("locked", "show", "wrong", 403, "wrong_password"),
    case("locked", "manifest", "wrong", 403, "wrong_password"),
    case("locked", "show", "other_grant", 401, "password_required"),
    case("locked", "show", "grant", 200, ""),
    case("locked", "list", "grant", 200, ""),
    case("locked", "show", "basic", 200, ""),
    case("locked", "manifest_in", "basic", 200, ""),
    case("request", "show", "none", 200, ""),
    case("request", "list", "none", 404, "not_found"),
    case("request", "manifest_in", "none", 404, "not_found"),
    case("unknown", "show", "none", 404, "not_found"),
    case("unknown", "manifest", "none", 404, "not_found"),
];

async fn the_permission_matrix_holds(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let Zoo {
        alice,
        bob,
        tokens,
        grant,
        other_grant,
        ..
    } = zoo(&server, 2).await;

    let mut failures = Vec::new();
    for c in MATRIX {
        let t = &tokens[c.link];
        let base = format!("/api/v1/public/{t}");
        let path = match c.route {
            "show" => base.clone(),
            "list" => format!("{base}/list"),
            "list_up" => format!("{base}/list?path=.."),
            "manifest" => format!("{base}/manifest"),
            "manifest_in" => format!("{base}/manifest?path=inner.txt"),
            "manifest_other" => format!("{base}/manifest?path=..%2Fprivate%2Fdiary.txt"),
            other => unreachable!("{other}"),
        };
        let bearer_alice = format!("Bearer {}", alice.session.token);
        let bearer_bob = format!("Bearer {}", bob.session.token);
        let headers: Vec<(&str, &str)> = match c.proof {
            "none" => vec![],
            "grant" => vec![("x-cairn-grant", grant.as_str())],
            "other_grant" => vec![("x-cairn-grant", other_grant.as_str())],
            "wrong" => vec![("authorization", "Basic Om5vdCBpdA==")],
            "basic" => vec![("authorization", "Basic OmxldG1laW4x")],
            "owner" => vec![("authorization", bearer_alice.as_str())],
            "stranger" => vec![("authorization", bearer_bob.as_str())],
            other => unreachable!("{other}"),
        };
        let r = public(&server, &path, &headers).await;
        let status = r.status().as_u16();
        let body = r.text().await.unwrap();
        let code = serde_json::from_str::<Value>(&body)
            .ok()
            .and_then(|v| v["error"]["code"].as_str().map(str::to_owned))
            .unwrap_or_default();
        if status != c.status || code != c.code {
            failures.push(format!(
                "{} {} {}: got {status} {code}, want {} {}",
                c.link, c.route, c.proof, c.status, c.code
            ));
        }
        // Nothing of the share leaks into a refusal.
        if status >= 400 {
            for secret in [
                "a.txt",
                "inner.txt",
                "diary",
                "Holidays",
                "private",
                "alice",
            ] {
                if body.contains(secret) {
                    failures.push(format!(
                        "{} {} {}: leaks {secret}: {body}",
                        c.link, c.route, c.proof
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

async fn a_folder_link_reaches_nothing_outside_its_folder(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let root = alice.session.root_id;
    let dir = alice.mkdir(root, "Photos").await;
    let sub = alice.mkdir(dir.id, "2026").await;
    alice
        .upload_to(sub.id, "Beach.jpg", &bytes(3, 2048), None)
        .await;
    alice.upload_file("outside.txt", b"no", None).await;
    let made = make(&alice, json!({"node_id": dir.id})).await;
    let base = format!("/api/v1/public/{}", made.token);

    let top: PublicListing = public(&server, &format!("{base}/list"), &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(top.entries.len(), 1);
    assert_eq!(
        (top.entries[0].name.as_str(), top.entries[0].path.as_str()),
        ("2026", "2026")
    );
    // Names are matched as the server compares them (case-insensitively).
    let inner: PublicListing = public(&server, &format!("{base}/list?path=2026"), &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(inner.entries[0].path, "2026/Beach.jpg");
    assert_eq!(inner.entries[0].content_type.as_deref(), Some("image/jpeg"));
    let m: wire::links::PublicManifest = public(
        &server,
        &format!("{base}/manifest?path=2026/beach.JPG"),
        &[],
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(m.size, 2048);
    assert!(m.chunks.iter().all(|c| !c.ranged));
    for escape in [
        "..",
        "../outside.txt",
        "2026/../../outside.txt",
        "/../outside.txt",
        "2026/./Beach.jpg",
        "outside.txt",
    ] {
        let r = public(
            &server,
            &format!("{base}/manifest?path={}", urlencode(escape)),
            &[],
        )
        .await;
        assert_error(r, StatusCode::NOT_FOUND, "not_found").await;
    }
    // Moving a file out of the shared folder takes it out of the link.
    let r = alice
        .call(
            Method::PATCH,
            &format!("/api/v1/nodes/{}", sub.id),
            Some(json!({"parent_id": root})),
        )
        .await;
    assert!(r.status().is_success());
    let r = public(
        &server,
        &format!("{base}/manifest?path=2026/Beach.jpg"),
        &[],
    )
    .await;
    assert_error(r, StatusCode::NOT_FOUND, "not_found").await;
}

fn urlencode(s: &str) -> String {
    s.bytes().map(|b| format!("%{b:02X}")).collect()
}
