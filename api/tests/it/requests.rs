//! File requests (upload-only links): a stranger drops files into the owner's folder through
//! the chunked upload, sends every byte (dedup tells them nothing), resumes after a reload,
//! never overwrites (`name (from <uploader>)`), stays within the link's size limit and the
//! owner's quota; on both databases and both chunk stores.

use reqwest::{Method, StatusCode};
use serde_json::json;
use wire::links::RequestLanded;
use wire::{Manifest, UploadResponse};

use crate::fixture::{assert_error, bytes, Backend, TestServer, User};
use crate::links::make;

crate::both!(
    a_stranger_drops_files_and_learns_nothing,
    a_request_into_a_shared_folder_lands_in_it,
);

#[tokio::test]
async fn file_requests_work_on_s3_too() {
    let server = TestServer::on(Backend::Sqlite).s3(true).start().await;
    drop_files(&server).await;
}

async fn a_stranger_drops_files_and_learns_nothing(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    drop_files(&server).await;
}

struct Dropper<'a> {
    server: &'a TestServer,
    base: String,
}

impl Dropper<'_> {
    async fn start(&self, name: &str, path: &str, data: &[u8]) -> (Manifest, reqwest::Response) {
        let manifest = Manifest::from_chunks(wasm_chunker::chunk_all(data));
        let r = self
            .server
            .http
            .post(self.server.url(&format!("{}/uploads", self.base)))
            .json(&json!({"manifest": manifest, "name": name, "path": path, "uploader": "Eve"}))
            .send()
            .await
            .unwrap();
        (manifest, r)
    }

    async fn put(
        &self,
        manifest: &Manifest,
        up: &UploadResponse,
        data: &[u8],
        keep: impl Fn(usize) -> bool,
    ) {
        for (i, t) in up.missing.iter().enumerate() {
            if !keep(i) {
                continue;
            }
            let c = manifest.chunks.iter().find(|c| c.hash == t.hash).unwrap();
            let body = data[c.offset as usize..(c.offset + c.size as u64) as usize].to_vec();
            let r = self
                .server
                .http
                .put(self.server.url(&t.url))
                .body(body)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::OK);
        }
    }

    async fn commit(&self, upload_id: &str) -> reqwest::Response {
        self.server
            .http
            .post(self.server.url(&format!("{}/commit", self.base)))
            .json(&json!({ "upload_id": upload_id }))
            .send()
            .await
            .unwrap()
    }

    async fn resume(&self, upload_id: &str) -> UploadResponse {
        let r = self
            .server
            .http
            .get(
                self.server
                    .url(&format!("{}/uploads/{upload_id}", self.base)),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        r.json().await.unwrap()
    }
}

async fn used(u: &User<'_>) -> u64 {
    let me: wire::MeResponse = u.ok(Method::GET, "/api/v1/me", None).await;
    me.used_bytes
}

async fn drop_files(server: &TestServer) {
    let alice = server.register("alice").await;
    let inbox = alice.mkdir(alice.session.root_id, "Inbox").await;
    // What alice already stores, and a stranger would like to find out about.
    let secret = bytes(7, 3 * 1024 * 1024);
    alice.upload_to(inbox.id, "report.pdf", &secret, None).await;
    let link = make(
        &alice,
        json!({"node_id": inbox.id, "kind": "request", "max_bytes": 12 * 1024 * 1024}),
    )
    .await;
    let d = Dropper {
        server,
        base: format!("/api/v1/public/{}", link.token),
    };
    let before = used(&alice).await;

    // Every chunk is asked for, even those alice has; committing without them is refused.
    let (m, r) = d.start("report.pdf", "", &secret).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let up: UploadResponse = r.json().await.unwrap();
    let distinct: std::collections::HashSet<_> = m.chunks.iter().map(|c| c.hash).collect();
    assert_eq!(up.missing.len(), distinct.len());
    assert_error(
        d.commit(&up.upload_id).await,
        StatusCode::CONFLICT,
        "upload_incomplete",
    )
    .await;
    assert_eq!(d.resume(&up.upload_id).await.missing.len(), distinct.len());

    // Half now, then a "reload": resuming asks for the rest only.
    d.put(&m, &up, &secret, |i| i % 2 == 0).await;
    let rest = d.resume(&up.upload_id).await;
    assert_eq!(rest.missing.len(), distinct.len() / 2);
    d.put(&m, &rest, &secret, |_| true).await;
    let r = d.commit(&up.upload_id).await;
    assert_eq!(r.status(), StatusCode::OK);
    let landed: RequestLanded = r.json().await.unwrap();
    assert_eq!(landed.name, "report (from Eve).pdf");
    assert_eq!(
        alice.names(inbox.id).await,
        vec!["report (from Eve).pdf", "report.pdf"]
    );
    assert_eq!(
        alice
            .download(landed_id(&alice, inbox.id, &landed.name).await)
            .await,
        secret
    );
    assert!(
        used(&alice).await >= before + secret.len() as u64,
        "the owner pays"
    );

    // Folders are made as asked; a second drop of the same name gets a number.
    let small = bytes(8, 5000);
    for expect in ["notes.txt", "notes (from Eve).txt"] {
        let (m, r) = d.start("notes.txt", "Trip/Day 1", &small).await;
        let up: UploadResponse = r.json().await.unwrap();
        d.put(&m, &up, &small, |_| true).await;
        let landed: RequestLanded = d.commit(&up.upload_id).await.json().await.unwrap();
        assert_eq!(
            (landed.name.as_str(), landed.path.as_str()),
            (expect, "Trip/Day 1")
        );
    }

    // The size limit holds across uploads.
    let big = bytes(9, 9 * 1024 * 1024);
    let (_, r) = d.start("big.bin", "", &big).await;
    assert_error(r, StatusCode::PAYLOAD_TOO_LARGE, "request_too_large").await;

    // Bad input changes nothing.
    for (name, path) in [
        ("a/b", ""),
        ("", ""),
        ("ok.txt", "../up"),
        ("ok.txt", "a//b"),
    ] {
        let (_, r) = d.start(name, path, b"x").await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{name:?} {path:?}");
    }
    // Someone else's upload id is nobody's business here.
    let (_, own) = alice.start_upload(b"alice's own upload").await;
    let r = d.commit(&own.upload_id).await;
    assert_error(r, StatusCode::NOT_FOUND, "not_found").await;

    // The owner's change log has every drop (what their devices hear over SSE).
    let changes = server.changes(alice.session.namespace_id).await;
    let count = |kind: &str| changes.iter().filter(|(_, k)| k == kind).count();
    // Alice made Inbox and report.pdf; then three drops, and two folders made for them.
    assert!(count("version") >= 4 && count("create") >= 3, "{changes:?}");

    // Past the deadline, the request takes nothing more.
    let db = server.db().await;
    sqlx::query("UPDATE share_links SET expires_at = 1 WHERE id = $1")
        .bind(link.link.id)
        .execute(&db.pool)
        .await
        .unwrap();
    let (_, r) = d.start("late.txt", "", b"late").await;
    assert_error(r, StatusCode::GONE, "request_closed").await;
}

async fn landed_id(u: &User<'_>, folder: i64, name: &str) -> i64 {
    let list: wire::Listing = u
        .ok(
            Method::GET,
            &format!("/api/v1/nodes/{folder}/children"),
            None,
        )
        .await;
    list.children.iter().find(|n| n.name == name).unwrap().id
}

/// A file request on a folder that was shared after the link was made: what is dropped, with
/// the folders its path names, lands in the shared folder (its log, its owner's quota), where
/// a member sees it.
async fn a_request_into_a_shared_folder_lands_in_it(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let bob = server.register("bob").await;
    let team = alice.mkdir(alice.session.root_id, "Team").await;
    let inbox = alice.mkdir(team.id, "Inbox").await;
    let link = make(&alice, json!({"node_id": inbox.id, "kind": "request"})).await;
    let s: wire::shares::Share = alice
        .ok(
            Method::POST,
            &format!("/api/v1/nodes/{}/share", team.id),
            None,
        )
        .await;
    let invite = json!({"username": "bob", "role": "viewer"});
    let _: serde_json::Value = alice
        .ok(
            Method::POST,
            &format!("/api/v1/shares/{}/members", s.id),
            Some(invite),
        )
        .await;
    let _: wire::shares::Share = bob
        .ok(
            Method::POST,
            &format!("/api/v1/shares/{}/accept", s.id),
            None,
        )
        .await;

    let d = Dropper {
        server: &server,
        base: format!("/api/v1/public/{}", link.token),
    };
    let data = bytes(3, 5_000);
    let (m, r) = d.start("scan.pdf", "2026/june", &data).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let up: UploadResponse = r.json().await.unwrap();
    d.put(&m, &up, &data, |_| true).await;
    assert_eq!(d.commit(&up.upload_id).await.status(), StatusCode::OK);

    // The member finds it where the path says, inside the shared folder.
    let year = landed_id(&bob, inbox.id, "2026").await;
    let month = landed_id(&bob, year, "june").await;
    let scan = landed_id(&bob, month, "scan.pdf").await;
    assert_eq!(bob.download(scan).await, data);
    let kinds: Vec<String> = server
        .changes(s.id)
        .await
        .into_iter()
        .map(|(_, k)| k)
        .collect();
    assert_eq!(
        kinds.iter().filter(|k| *k == "create").count(),
        3,
        "{kinds:?}"
    );
    assert!(kinds.contains(&"version".to_owned()), "{kinds:?}");
    let me: wire::MeResponse = alice.ok(Method::GET, "/api/v1/me", None).await;
    assert_eq!(
        me.used_bytes, 5_000,
        "charged to the owner, reservation given back"
    );
}
