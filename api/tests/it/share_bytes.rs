//! The bytes of share links over plain HTTP: a file link's file with the headers download
//! tools rely on, on both chunk stores; a folder link's files one by one and as zips that
//! Python's `zipfile` reads back; previews; nothing outside the shared folder; a rotten chunk
//! never served; and the owner's access log and byte tally.

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::header::{
    ACCEPT_RANGES, CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_RANGE,
    CONTENT_SECURITY_POLICY, CONTENT_TYPE, ETAG, IF_NONE_MATCH, LAST_MODIFIED,
};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use wire::links::{AccessLog, LinkList};

use crate::content_verify::{corrupt_chunk, drain};
use crate::fixture::{assert_error, bytes, eventually, Backend, TestServer};
use crate::links::{make, public, zoo, Zoo};

crate::both!(
    folder_links_serve_files_and_zips,
    owners_see_downloads_in_the_log_and_the_tally
);

/// The headers every public answer carries.
fn assert_public_headers(r: &reqwest::Response) {
    let h = r.headers();
    assert_eq!(h["referrer-policy"], "no-referrer");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert!(h["x-robots-tag"].to_str().unwrap().contains("noindex"));
    assert_eq!(h[CACHE_CONTROL], "no-store");
    assert!(h[CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .starts_with("sandbox"));
}

#[tokio::test]
async fn file_links_serve_bytes_with_the_headers_tools_need_on_both_stores() {
    for s3 in [false, true] {
        let server = TestServer::on(Backend::Sqlite).s3(s3).start().await;
        let alice = server.register("alice").await;
        let data = bytes(81, 3 * 1024 * 1024 + 999);
        let n = data.len() as u64;
        let f = alice.upload_file("Report 2026.pdf", &data, None).await;
        let hash = alice.download_plan(f.node.id).await.manifest.hash;
        let made = make(&alice, json!({"node_id": f.node.id})).await;
        let url = format!("/s/{}/download", made.token);

        let r = public(&server, &url, &[]).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_public_headers(&r);
        let h = r.headers();
        assert_eq!(h[CONTENT_TYPE], "application/octet-stream");
        assert_eq!(h[CONTENT_LENGTH], n.to_string().as_str());
        assert_eq!(h[ACCEPT_RANGES], "bytes");
        assert_eq!(h[ETAG].to_str().unwrap(), format!("\"{hash}\""));
        assert!(h[LAST_MODIFIED].to_str().unwrap().ends_with(" GMT"));
        assert_eq!(
            h[CONTENT_DISPOSITION],
            "attachment; filename=\"Report 2026.pdf\"; filename*=UTF-8''Report%202026.pdf"
        );
        assert_eq!(r.bytes().await.unwrap(), &data[..], "s3={s3}");

        for (spec, from, to) in [
            ("bytes=0-0", 0, 0),
            ("bytes=1000-1999999", 1000, 1_999_999),
            ("bytes=2000000-", 2_000_000, n - 1),
            ("bytes=-5000", n - 5000, n - 1),
        ] {
            let r = public(&server, &url, &[("range", spec)]).await;
            assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT, "{spec}");
            assert_eq!(
                r.headers()[CONTENT_RANGE].to_str().unwrap(),
                format!("bytes {from}-{to}/{n}")
            );
            assert_eq!(
                r.bytes().await.unwrap(),
                &data[from as usize..=to as usize],
                "s3={s3} {spec}"
            );
        }
        let r = public(&server, &url, &[("range", &format!("bytes={n}-"))]).await;
        assert_eq!(
            r.headers()[CONTENT_RANGE].to_str().unwrap(),
            format!("bytes */{n}")
        );
        assert_error(
            r,
            StatusCode::RANGE_NOT_SATISFIABLE,
            "range_not_satisfiable",
        )
        .await;
        let etag = format!("\"{hash}\"");
        let r = public(&server, &url, &[(IF_NONE_MATCH.as_str(), &etag)]).await;
        assert_eq!(r.status(), StatusCode::NOT_MODIFIED);

        // A preview: the real type, inline, sandboxed, framable by the share page only.
        let r = public(&server, &format!("{url}?inline=1"), &[]).await;
        assert_eq!(r.status(), StatusCode::OK);
        let h = r.headers();
        assert_eq!(h[CONTENT_TYPE], "application/pdf");
        assert!(h[CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .starts_with("inline; "));
        assert_eq!(
            h[CONTENT_SECURITY_POLICY],
            "sandbox; frame-ancestors 'self'"
        );
        assert_eq!(h["x-frame-options"], "SAMEORIGIN");
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(r.bytes().await.unwrap().len(), data.len());

        // Not a folder link: no files/ and no zip.
        let r = public(&server, &format!("/s/{}/files/x", made.token), &[]).await;
        assert_error(r, StatusCode::NOT_FOUND, "not_found").await;
        let r = public(&server, &format!("/s/{}/zip", made.token), &[]).await;
        assert_error(r, StatusCode::NOT_FOUND, "not_found").await;
        // Revoked: gone at once.
        alice.revoke_link(made.link.id).await;
        let r = public(&server, &url, &[]).await;
        assert_error(r, StatusCode::GONE, "link_gone").await;
    }
}

#[tokio::test]
async fn a_rotten_chunk_is_never_served_through_a_link() {
    let server = TestServer::on(Backend::Sqlite).start().await;
    let alice = server.register("alice").await;
    let data = bytes(82, 8 * 1024 * 1024 + 5);
    let f = alice.upload_file("movie.mp4", &data, None).await;
    let chunks = alice.download_plan(f.node.id).await.manifest.chunks;
    assert!(chunks.len() >= 4);
    let bad = chunks[chunks.len() / 2];
    corrupt_chunk(&server, &bad.hash);
    let made = make(&alice, json!({"node_id": f.node.id})).await;
    let url = format!("/s/{}/download", made.token);
    for query in ["", "?inline=1"] {
        let r = public(&server, &format!("{url}{query}"), &[]).await;
        assert_eq!(r.status(), StatusCode::OK);
        let (got, failed) = drain(r).await;
        assert!(failed, "the answer must end in an error");
        assert!(got.len() as u64 <= bad.offset, "{} bytes", got.len());
        assert_eq!(got, &data[..got.len()]);
    }
    let r = public(
        &server,
        &url,
        &[("range", &format!("bytes={}-", bad.offset))],
    )
    .await;
    assert_error(r, StatusCode::INTERNAL_SERVER_ERROR, "internal").await;
}

/// Python's view of a zip: entry name → content (hex), `null` for folders; every CRC checked.
pub fn unzip(body: &[u8]) -> BTreeMap<String, Value> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("z.zip");
    std::fs::write(&path, body).unwrap();
    let script = r#"
import json, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
assert z.testzip() is None
print(json.dumps({i.filename: (None if i.is_dir() else z.read(i).hex()) for i in z.infolist()}))
"#;
    let out = std::process::Command::new("python3")
        .args(["-c", script, path.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

async fn folder_links_serve_files_and_zips(backend: Backend) {
    for s3 in [false, true] {
        if s3 && backend == Backend::Postgres {
            // The stores are covered on SQLite; PostgreSQL adds the database side only.
            continue;
        }
        let server = TestServer::on(backend).s3(s3).start().await;
        let alice = server.register("alice").await;
        let root = alice.session.root_id;
        let dir = alice.mkdir(root, "Holidays").await;
        let sub = alice.mkdir(dir.id, "sub").await;
        let deeper = alice.mkdir(sub.id, "deeper").await;
        alice.mkdir(dir.id, "empty").await;
        let a = bytes(83, 1000);
        let b = bytes(84, 2 * 1024 * 1024 + 3);
        let c = b"the deepest".to_vec();
        alice.upload_to(dir.id, "a.txt", &a, None).await;
        alice.upload_to(sub.id, "b.bin", &b, None).await;
        alice.upload_to(deeper.id, "Ünï 😀.txt", &c, None).await;
        let private = alice.mkdir(root, "private").await;
        alice
            .upload_to(private.id, "diary.txt", b"dear diary", None)
            .await;
        let made = make(&alice, json!({"node_id": dir.id})).await;
        let t = &made.token;

        for (path, want) in [
            ("a.txt", &a[..]),
            ("sub/b.bin", &b[..]),
            ("sub/deeper/%C3%9Cn%C3%AF%20%F0%9F%98%80.txt", &c[..]),
            // Names match as the server compares them.
            ("SUB/B.BIN", &b[..]),
        ] {
            let r = public(&server, &format!("/s/{t}/files/{path}"), &[]).await;
            assert_eq!(r.status(), StatusCode::OK, "{path}");
            assert_public_headers(&r);
            assert_eq!(r.bytes().await.unwrap(), want, "{path}");
        }
        let r = public(
            &server,
            &format!("/s/{t}/files/sub/b.bin"),
            &[("range", "bytes=10-19")],
        )
        .await;
        assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
        assert_eq!(r.bytes().await.unwrap(), &b[10..20]);
        for escape in [
            "sub",
            "..%2Fprivate%2Fdiary.txt",
            "sub%2F..%2F..%2Fprivate%2Fdiary.txt",
            // (`..` and `.` written plainly never leave the client: URLs are normalised.)
            "sub%2F%2E%2E%2F%2E%2E%2Fprivate%2Fdiary.txt",
            "%2E%2Fa.txt",
            "sub%2F%2Fb.bin",
            "diary.txt",
            "a.txt%00",
        ] {
            let r = public(&server, &format!("/s/{t}/files/{escape}"), &[]).await;
            assert_eq!(r.status(), StatusCode::NOT_FOUND, "{escape}");
            assert_error(r, StatusCode::NOT_FOUND, "not_found").await;
        }

        // The whole folder.
        let r = public(&server, &format!("/s/{t}/download"), &[]).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_public_headers(&r);
        assert_eq!(r.headers()[CONTENT_TYPE], "application/zip");
        assert_eq!(
            r.headers()[CONTENT_DISPOSITION],
            "attachment; filename=\"Holidays.zip\"; filename*=UTF-8''Holidays.zip"
        );
        let len: u64 = r.headers()[CONTENT_LENGTH]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        let body = r.bytes().await.unwrap();
        assert_eq!(body.len() as u64, len);
        let got = unzip(&body);
        let want: BTreeMap<String, Value> = [
            ("Holidays/", Value::Null),
            ("Holidays/a.txt", json!(hex::encode(&a))),
            ("Holidays/empty/", Value::Null),
            ("Holidays/sub/", Value::Null),
            ("Holidays/sub/b.bin", json!(hex::encode(&b))),
            ("Holidays/sub/deeper/", Value::Null),
            ("Holidays/sub/deeper/Ünï 😀.txt", json!(hex::encode(&c))),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        assert_eq!(got, want, "s3={s3}");

        // A selection (a folder and a file; a file inside the folder named twice counts once).
        let r = public(
            &server,
            &format!("/s/{t}/zip?path=sub/deeper&path=a.txt&path=sub%2Fdeeper%2F%C3%9Cn%C3%AF%20%F0%9F%98%80.txt"),
            &[],
        )
        .await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(
            r.headers()[CONTENT_DISPOSITION],
            "attachment; filename=\"Holidays.zip\"; filename*=UTF-8''Holidays.zip"
        );
        let got = unzip(&r.bytes().await.unwrap());
        let names: Vec<&str> = got.keys().map(String::as_str).collect();
        assert_eq!(
            names,
            [
                "Holidays/",
                "Holidays/a.txt",
                "Holidays/sub/deeper/",
                "Holidays/sub/deeper/Ünï 😀.txt"
            ]
        );
        let r = public(&server, &format!("/s/{t}/zip?path=sub"), &[]).await;
        assert_eq!(
            r.headers()[CONTENT_DISPOSITION],
            "attachment; filename=\"sub.zip\"; filename*=UTF-8''sub.zip"
        );
        assert_eq!(unzip(&r.bytes().await.unwrap()).len(), 5);
        for bad in ["nothing", "..", "..%2Fprivate"] {
            let r = public(&server, &format!("/s/{t}/zip?path={bad}"), &[]).await;
            assert_error(r, StatusCode::NOT_FOUND, "not_found").await;
        }
    }
}

async fn owners_see_downloads_in_the_log_and_the_tally(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let data = bytes(85, 1_500_000);
    let f = alice.upload_file("pic.png", &data, None).await;
    let made = make(&alice, json!({"node_id": f.node.id})).await;
    let url = format!("/s/{}/download", made.token);
    assert_eq!(
        public(&server, &url, &[])
            .await
            .bytes()
            .await
            .unwrap()
            .len(),
        data.len()
    );
    let r = public(
        &server,
        &format!("{url}?inline=1"),
        &[("range", "bytes=0-99")],
    )
    .await;
    assert_eq!(r.headers()[CONTENT_TYPE], "image/png");
    assert_eq!(r.bytes().await.unwrap().len(), 100);
    // A continuation range is part of a download already logged.
    let r = public(&server, &url, &[("range", "bytes=100-")]).await;
    assert_eq!(r.bytes().await.unwrap().len(), data.len() - 100);

    let log: AccessLog = alice
        .ok(
            Method::GET,
            &format!("/api/v1/links/{}/access", made.link.id),
            None,
        )
        .await;
    let seen: Vec<(&str, &str, &str)> = log
        .entries
        .iter()
        .map(|e| (e.action.as_str(), e.outcome.as_str(), e.network.as_str()))
        .collect();
    assert_eq!(
        seen.iter().filter(|e| e.0 == "download").count(),
        1,
        "{seen:?}"
    );
    assert_eq!(
        seen.iter().filter(|e| e.0 == "preview").count(),
        1,
        "{seen:?}"
    );
    assert!(
        seen.iter().all(|e| e.1 == "ok" && e.2 == "127.0.0.0/24"),
        "{seen:?}"
    );
    assert!(!serde_json::to_string(&log).unwrap().contains(&made.token));

    // Without a limit, bytes are tallied once an answer ends: poll for it, bounded.
    let want = 2 * data.len() as u64;
    eventually(
        Duration::from_secs(10),
        "the link's bytes_served tally",
        || async {
            let l: LinkList = alice.ok(Method::GET, "/api/v1/links", None).await;
            (l.links[0].bytes_served == want).then_some(())
        },
    )
    .await;
}

crate::both!(the_byte_routes_keep_the_permission_matrix);

/// (link, route, proof, status, code). Links: `file`, `folder`, `expired`, `revoked`, `gone`
/// (target trashed), `exhausted` (limit spent), `locked` (password, a folder), `request`
/// (upload-only), `unknown`. Routes: `download`, `inline`, `file_in` (`/files/inner.txt`),
/// `file_out` (`/files/..%2Fprivate%2Fdiary.txt`), `zip`. Proofs as in `links.rs`.
const BYTE_MATRIX: &[(&str, &str, &str, u16, &str)] = &[
    ("file", "download", "none", 200, ""),
    ("file", "inline", "none", 200, ""),
    ("file", "file_in", "none", 404, "not_found"),
    ("file", "zip", "none", 404, "not_found"),
    ("file", "download", "owner", 200, ""),
    ("file", "download", "stranger", 200, ""),
    ("folder", "download", "none", 200, ""),
    ("folder", "file_in", "none", 200, ""),
    ("folder", "file_out", "none", 404, "not_found"),
    ("folder", "zip", "none", 200, ""),
    ("expired", "download", "none", 410, "link_gone"),
    ("expired", "download", "owner", 410, "link_gone"),
    ("revoked", "download", "none", 410, "link_gone"),
    ("revoked", "file_in", "none", 410, "link_gone"),
    ("revoked", "zip", "none", 410, "link_gone"),
    ("gone", "download", "none", 410, "link_gone"),
    ("gone", "inline", "none", 410, "link_gone"),
    ("exhausted", "download", "none", 410, "link_exhausted"),
    ("exhausted", "inline", "none", 410, "link_exhausted"),
    ("locked", "download", "none", 401, "password_required"),
    ("locked", "file_in", "none", 401, "password_required"),
    ("locked", "zip", "none", 401, "password_required"),
    ("locked", "download", "owner", 401, "password_required"),
    ("locked", "download", "stranger", 401, "password_required"),
    ("locked", "download", "wrong", 403, "wrong_password"),
    ("locked", "file_in", "wrong", 403, "wrong_password"),
    (
        "locked",
        "download",
        "other_grant",
        401,
        "password_required",
    ),
    ("locked", "download", "grant", 200, ""),
    ("locked", "file_in", "grant", 200, ""),
    ("locked", "zip", "query_grant", 200, ""),
    ("locked", "file_in", "basic", 200, ""),
    ("locked", "file_out", "basic", 404, "not_found"),
    ("request", "download", "none", 404, "not_found"),
    ("request", "file_in", "none", 404, "not_found"),
    ("request", "zip", "none", 404, "not_found"),
    ("unknown", "download", "none", 404, "not_found"),
    ("unknown", "file_in", "none", 404, "not_found"),
];

async fn the_byte_routes_keep_the_permission_matrix(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let Zoo {
        alice,
        bob,
        tokens,
        grant,
        other_grant,
    } = zoo(&server, 100).await;
    let bearer_alice = format!("Bearer {}", alice.session.token);
    let bearer_bob = format!("Bearer {}", bob.session.token);

    let mut failures = Vec::new();
    for &(link, route, proof, status, code) in BYTE_MATRIX {
        let t = &tokens[link];
        let mut path = match route {
            "download" => format!("/s/{t}/download"),
            "inline" => format!("/s/{t}/download?inline=1"),
            "file_in" => format!("/s/{t}/files/inner.txt"),
            "file_out" => format!("/s/{t}/files/..%2Fprivate%2Fdiary.txt"),
            "zip" => format!("/s/{t}/zip?path=inner.txt"),
            other => unreachable!("{other}"),
        };
        let headers: Vec<(&str, &str)> = match proof {
            "none" => vec![],
            "grant" => vec![("x-cairn-grant", grant.as_str())],
            "query_grant" => {
                path.push_str(&format!("&grant={grant}"));
                vec![]
            }
            "other_grant" => vec![("x-cairn-grant", other_grant.as_str())],
            "wrong" => vec![("authorization", "Basic Om5vdCBpdA==")],
            "basic" => vec![("authorization", "Basic OmxldG1laW4x")],
            "owner" => vec![("authorization", bearer_alice.as_str())],
            "stranger" => vec![("authorization", bearer_bob.as_str())],
            other => unreachable!("{other}"),
        };
        let r = public(&server, &path, &headers).await;
        let got = r.status().as_u16();
        let body = r.bytes().await.unwrap();
        let text = String::from_utf8_lossy(&body);
        let got_code = serde_json::from_slice::<Value>(&body)
            .ok()
            .and_then(|v| v["error"]["code"].as_str().map(str::to_owned))
            .unwrap_or_default();
        if got != status || got_code != code {
            failures.push(format!(
                "{link} {route} {proof}: got {got} {got_code}, want {status} {code}"
            ));
        }
        if got >= 400 {
            for secret in [
                "a.txt", "inner", "diary", "Holidays", "private", "alice", "inside",
            ] {
                if text.contains(secret) {
                    failures.push(format!("{link} {route} {proof}: leaks {secret}: {text}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn empty_files_download_and_zip_with_a_limit() {
    let server = TestServer::on(Backend::Sqlite).start().await;
    let alice = server.register("alice").await;
    let dir = alice.mkdir(alice.session.root_id, "Nothing").await;
    let f = alice.upload_to(dir.id, "empty.txt", b"", None).await;
    let file_link = make(&alice, json!({"node_id": f.node.id, "max_downloads": 1})).await;
    let url = format!("/s/{}/download", file_link.token);
    for _ in 0..3 {
        // Nothing to send costs nothing, so it never runs out.
        let r = public(&server, &url, &[]).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()[CONTENT_LENGTH], "0");
        assert!(r.bytes().await.unwrap().is_empty());
    }
    let r = public(&server, &url, &[("range", "bytes=0-")]).await;
    assert_error(
        r,
        StatusCode::RANGE_NOT_SATISFIABLE,
        "range_not_satisfiable",
    )
    .await;
    let folder_link = make(&alice, json!({"node_id": dir.id, "max_downloads": 1})).await;
    let r = public(&server, &format!("/s/{}/download", folder_link.token), &[]).await;
    assert_eq!(r.status(), StatusCode::OK);
    let got = unzip(&r.bytes().await.unwrap());
    assert_eq!(got["Nothing/empty.txt"], json!(""));
}
