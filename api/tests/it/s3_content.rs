//! `GET /api/v1/nodes/{id}/content` on both stores: the whole file, single ranges (206, 416),
//! a Content-Disposition that cannot be abused, and no access without the owner's token.

use reqwest::header::{CONTENT_DISPOSITION, CONTENT_RANGE, RANGE};
use reqwest::StatusCode;

use crate::fixture::{assert_error, bytes, Backend, TestServer};

#[tokio::test]
async fn whole_files_and_ranges_stream_from_either_store() {
    for s3 in [false, true] {
        let server = TestServer::on(Backend::Sqlite).s3(s3).start().await;
        let alice = server.register("alice").await;
        let data = bytes(51, 3 * 1024 * 1024 + 4321);
        // (`"` cannot be in a name any more; `content.rs`'s unit test still escapes it.)
        let name = "Ünïcode 'quoted'; filename=evil.exe";
        let f = alice.upload_file("report.pdf", &data, None).await;
        let g = alice.upload_file(name, &data[..1000], None).await;
        let url = server.url(&format!("/api/v1/nodes/{}/content", f.node.id));
        let get = |range: Option<&str>| {
            let mut r = server.http.get(&url).bearer_auth(&alice.session.token);
            if let Some(v) = range {
                r = r.header(RANGE, v);
            }
            r.send()
        };

        let r = get(None).await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["accept-ranges"], "bytes");
        assert_eq!(
            r.headers()[CONTENT_DISPOSITION],
            "attachment; filename=\"report.pdf\"; filename*=UTF-8''report.pdf"
        );
        assert_eq!(r.bytes().await.unwrap().as_ref(), &data[..], "s3={s3}");

        let n = data.len() as u64;
        for (spec, from, to) in [
            ("bytes=0-0", 0, 0),
            ("bytes=1000-1999999", 1000, 1_999_999),
            ("bytes=2000000-", 2_000_000, n - 1),
            ("bytes=-5000", n - 5000, n - 1),
        ] {
            let r = get(Some(spec)).await.unwrap();
            assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT, "{spec}");
            assert_eq!(
                r.headers()[CONTENT_RANGE].to_str().unwrap(),
                format!("bytes {from}-{to}/{n}")
            );
            let body = r.bytes().await.unwrap();
            assert_eq!(
                &body[..],
                &data[from as usize..=to as usize],
                "s3={s3} {spec}"
            );
        }
        let r = get(Some(&format!("bytes={n}-"))).await.unwrap();
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
        // Several ranges: the whole file (allowed by RFC 9110).
        let r = get(Some("bytes=0-1,5-6")).await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.bytes().await.unwrap().len(), data.len());

        // A hostile name stays inside its header.
        let r = server
            .http
            .get(server.url(&format!("/api/v1/nodes/{}/content", g.node.id)))
            .bearer_auth(&alice.session.token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let d = r.headers()[CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .to_owned();
        assert_eq!(
            d,
            "attachment; filename=\"_n_code 'quoted'; filename=evil.exe\"; \
             filename*=UTF-8''%C3%9Cn%C3%AFcode%20%27quoted%27%3B%20filename%3Devil.exe"
        );
        assert_eq!(r.bytes().await.unwrap().as_ref(), &data[..1000]);

        // Auth required, and only the owner's namespace.
        let r = server.http.get(&url).send().await.unwrap();
        assert_error(r, StatusCode::UNAUTHORIZED, "unauthorized").await;
        let bob = server.register("bob").await;
        let r = server
            .http
            .get(&url)
            .bearer_auth(&bob.session.token)
            .send()
            .await
            .unwrap();
        assert_error(r, StatusCode::NOT_FOUND, "not_found").await;
        let r = alice
            .call(
                reqwest::Method::GET,
                &format!("/api/v1/nodes/{}/content", alice.session.root_id),
                None,
            )
            .await;
        assert_error(r, StatusCode::BAD_REQUEST, "bad_request").await;
    }
}
