//! The server-rendered share page, `/s/{token}`, as a browser without JavaScript gets it: the
//! facts of a file, a folder's listing with subfolders by `?path=`, names escaped, the password
//! form (a wrong password said with 403, the right one a 303 back with the grant cookie, which
//! then opens the page), and refusals as HTML pages with the API's statuses.

use reqwest::header::{CONTENT_TYPE, LOCATION, SET_COOKIE};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::fixture::{bytes, Backend, TestServer};
use crate::links::{make, public};

crate::both!(
    the_page_of_a_file_and_a_folder,
    the_password_form_works_without_javascript,
    refusals_are_pages,
);

/// A client that shows redirects instead of following them.
fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn page(server: &TestServer, path: &str, cookie: Option<&str>) -> (StatusCode, String) {
    let headers: Vec<(&str, &str)> = cookie.map(|c| vec![("cookie", c)]).unwrap_or_default();
    let r = public(server, path, &headers).await;
    let status = r.status();
    let kind = r.headers()[CONTENT_TYPE].to_str().unwrap().to_owned();
    assert_eq!(kind, "text/html; charset=utf-8", "{path}");
    assert!(
        r.headers().get("x-robots-tag").is_some(),
        "{path} is not indexed"
    );
    (status, r.text().await.unwrap())
}

async fn the_page_of_a_file_and_a_folder(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let file = alice
        .upload_file("Tom & Jerry's report.pdf", &bytes(1, 3000), None)
        .await;
    let trip = alice.mkdir(alice.session.root_id, "Trip & Co").await;
    let docs = alice.mkdir(trip.id, "Docs").await;
    alice
        .upload_to(docs.id, "plan 'final' #1.txt", b"Day 1", None)
        .await;
    alice
        .upload_to(trip.id, "notes.txt", b"tickets", None)
        .await;

    let f = make(&alice, json!({"node_id": file.node.id})).await;
    let (status, html) = page(&server, &f.url, None).await;
    assert_eq!(status, StatusCode::OK);
    // The name rules refuse `<`, `>` and `"`; what they allow is escaped all the same.
    assert!(html.contains("Tom &amp; Jerry&#39;s report.pdf"), "escaped");
    assert!(!html.contains("Jerry's"), "never raw");
    for fact in ["2.9 KiB", "application/pdf", "alice", "never"] {
        assert!(html.contains(fact), "{fact}");
    }
    assert!(html.contains(&format!(r#"href="/s/{}/download""#, f.token)));
    assert!(html.contains(r#"<script type="module" src="/js/share.js"></script>"#));
    assert!(
        !html.contains("<style") && !html.contains(" style="),
        "no inline style"
    );

    let d = make(&alice, json!({"node_id": trip.id})).await;
    let (status, html) = page(&server, &d.url, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Trip &amp; Co"));
    let docs_at = html.find(r#"?path=Docs""#).expect("a link into Docs");
    let notes_at = html
        .find(&format!(r#"href="/s/{}/files/notes.txt""#, d.token))
        .expect("a plain link to notes.txt");
    assert!(docs_at < notes_at, "folders first");
    assert!(html.contains(&format!(r#"href="/s/{}/download""#, d.token)));

    let (status, html) = page(&server, &format!("{}?path=Docs", d.url), None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(&format!(
        r#"href="/s/{}/files/Docs/plan%20%27final%27%20%231.txt""#,
        d.token
    )));
    assert!(html.contains("plan &#39;final&#39; #1.txt"));
    for bad in ["..", "Docs/..", "../Trip", "nothing"] {
        let (status, html) = page(&server, &format!("{}?path={bad}", d.url), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{bad}");
        assert!(!html.contains("notes.txt"), "{bad}: nothing of the folder");
    }
}

async fn the_password_form_works_without_javascript(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let file = alice.upload_file("secret.txt", b"the secret", None).await;
    let l = make(
        &alice,
        json!({"node_id": file.node.id, "password": "open sesame"}),
    )
    .await;
    let (status, html) = page(&server, &l.url, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(html.contains(&format!(r#"action="/s/{}/unlock""#, l.token)));
    assert!(!html.contains("secret.txt"), "nothing before the password");

    let client = no_redirects();
    let unlock = server.url(&format!("/s/{}/unlock", l.token));
    let post = |body: &'static str| {
        client
            .post(&unlock)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };
    let r = post("password=open+says+me").await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r.headers().get(SET_COOKIE).is_none());
    assert!(r.text().await.unwrap().contains("not right"));
    let r = post("nothing=here").await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    let r = post("password=open+sesame").await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()[LOCATION], l.url.as_str());
    let cookie = r.headers()[SET_COOKIE].to_str().unwrap();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    let pair = cookie.split(';').next().unwrap().to_owned();
    let (status, html) = page(&server, &l.url, Some(&pair)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("secret.txt"));

    // The owner's access log has both tries, never the password.
    let log = alice
        .call(
            Method::GET,
            &format!("/api/v1/links/{}/access", l.link.id),
            None,
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(log.contains("wrong_password") && log.contains("unlock"));
    assert!(!log.contains("sesame") && !log.contains(&l.token));
}

async fn refusals_are_pages(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let file = alice.upload_file("gone.txt", b"soon gone", None).await;
    let l = make(&alice, json!({"node_id": file.node.id})).await;

    let (status, html) = page(&server, "/s/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(html.contains("No such link"));
    let (status, _) = page(&server, "/s/not-a-token", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    alice.revoke_link(l.link.id).await;
    let (status, html) = page(&server, &l.url, None).await;
    assert_eq!(status, StatusCode::GONE);
    assert!(html.contains("revoked"));
    assert!(
        !html.contains("gone.txt"),
        "nothing of the share in a refusal"
    );
}
