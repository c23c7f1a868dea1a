//! Search by name with filters, inside the database's own text index.

use reqwest::{Method, StatusCode};
use wire::SearchResponse;

use crate::fixture::{assert_error, bytes, share_with, Backend, TestServer, User};

crate::both!(
    search_matches_names_with_filters_and_paths,
    search_uses_the_database_text_index,
    bad_search_queries_are_refused,
    members_find_what_is_shared_with_them_and_no_more,
);

async fn find(u: &User<'_>, query: &str) -> Vec<String> {
    let r: SearchResponse = u
        .ok(Method::GET, &format!("/api/v1/search?{query}"), None)
        .await;
    r.results.into_iter().map(|r| r.path).collect()
}

async fn search_matches_names_with_filters_and_paths(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let bob = server.register("bob").await;
    let root = alice.session.root_id;
    let photos = alice.mkdir(root, "Photos").await;
    let y2024 = alice.mkdir(photos.id, "2024").await;
    alice
        .upload_to(y2024.id, "Cat Picture.JPG", &bytes(1, 3000), None)
        .await;
    alice
        .upload_to(photos.id, "dog_picture.png", &bytes(2, 100), None)
        .await;
    alice
        .upload_to(root, "Café menu.pdf", &bytes(3, 50), None)
        .await;
    let gone = alice
        .upload_to(root, "picture of trash.bmp", b"x", None)
        .await;
    alice.trash(gone.node.id).await;
    bob.upload_file("bob picture.jpg", b"bob", None).await;

    // Anywhere in the name, ignoring case; only live nodes of the caller; sorted by name.
    assert_eq!(
        find(&alice, "q=PICTURE").await,
        ["/Photos/2024/Cat Picture.JPG", "/Photos/dog_picture.png"]
    );
    assert_eq!(find(&alice, "q=caf%C3%A9").await, ["/Café menu.pdf"]);
    // NFD input finds the NFC name.
    assert_eq!(find(&alice, "q=cafe%CC%81").await, ["/Café menu.pdf"]);
    // A query of one or two characters (no trigram to look up) matches the start of a name.
    assert_eq!(find(&alice, "q=20").await, ["/Photos/2024"]);
    assert_eq!(
        find(&alice, "q=cA").await,
        ["/Café menu.pdf", "/Photos/2024/Cat Picture.JPG"]
    );
    assert_eq!(find(&alice, "q=p").await, ["/Photos"]);
    assert!(find(&alice, "q=pi").await.is_empty());
    // `_` and `%` are plain characters, not wildcards.
    assert_eq!(find(&alice, "q=g_p").await, ["/Photos/dog_picture.png"]);
    assert!(find(&alice, "q=%25").await.is_empty());
    // Filters.
    assert_eq!(
        find(&alice, "q=pic&kind=file&min_size=1000").await,
        ["/Photos/2024/Cat Picture.JPG"]
    );
    assert_eq!(
        find(&alice, "q=pic&max_size=100").await,
        ["/Photos/dog_picture.png"]
    );
    assert_eq!(
        find(&alice, "kind=folder").await,
        ["/Photos/2024", "/Photos"]
    );
    assert_eq!(find(&alice, "q=pic&limit=1").await.len(), 1);
    let future = wire_now() + 3_600_000;
    assert!(find(&alice, &format!("modified_after={future}"))
        .await
        .is_empty());
    assert_eq!(
        find(
            &alice,
            &format!("q=menu&modified_before={future}&modified_after=0")
        )
        .await,
        ["/Café menu.pdf"]
    );
    // A rename is found under its new name at once.
    alice
        .call(
            Method::PATCH,
            &format!("/api/v1/nodes/{}", photos.id),
            Some(serde_json::json!({"name": "Pictures"})),
        )
        .await;
    assert_eq!(find(&alice, "q=picture&kind=folder").await, ["/Pictures"]);
    assert_eq!(find(&bob, "q=picture").await, ["/bob picture.jpg"]);
}

fn wire_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

async fn search_uses_the_database_text_index(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    alice.mkdir(alice.session.root_id, "holiday").await;
    let db = server.db().await;
    if backend == Backend::Postgres {
        // Enough rows, and fresh statistics, for the planner to prefer an index to a scan.
        sqlx::raw_sql(&format!(
            "INSERT INTO nodes (namespace_id, parent_id, name, name_key, kind, created_at, modified_at) \
             SELECT {ns}, {root}, md5(g::text), md5(g::text), 'file', 0, 0 \
             FROM generate_series(1, 50000) g; ANALYZE nodes",
            ns = alice.session.namespace_id,
            root = alice.session.root_id
        ))
        .execute(&db.pool)
        .await
        .unwrap();
    }
    let filter = api::db::search::Filter {
        q: Some("Holi".into()),
        limit: 50,
        ..Default::default()
    };
    let plan = api::db::search::explain(&db, alice.session.namespace_id, &filter)
        .await
        .unwrap()
        .join("\n");
    match backend {
        // FTS5 answers MATCH from its own index: a virtual-table scan with an index plan.
        Backend::Sqlite => assert!(plan.contains("VIRTUAL TABLE INDEX"), "{plan}"),
        Backend::Postgres => assert!(plan.contains("nodes_name_trgm"), "{plan}"),
    }
    // One or two characters: a range of the names index, in its order, up to the limit.
    let short = api::db::search::Filter {
        q: Some("ho".into()),
        limit: 50,
        ..Default::default()
    };
    let plan = api::db::search::explain(&db, alice.session.namespace_id, &short)
        .await
        .unwrap()
        .join("\n");
    assert!(plan.contains("nodes_live_names"), "{plan}");
    assert!(
        !plan.contains("TEMP B-TREE") && !plan.contains("Sort"),
        "{plan}"
    );
    db.pool.close().await;
    assert_eq!(find(&alice, "q=Holi").await, ["/holiday"]);
    assert_eq!(find(&alice, "q=ho").await, ["/holiday"]);
}

async fn bad_search_queries_are_refused(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    for q in [
        "limit=0",
        "limit=1000",
        "limit=x",
        "kind=symlink",
        "min_size=-1",
        "min_size=10&max_size=5",
        "modified_after=10&modified_before=5",
        "q=%00",
    ] {
        assert_error(
            alice
                .call(Method::GET, &format!("/api/v1/search?{q}"), None)
                .await,
            StatusCode::BAD_REQUEST,
            "bad_request",
        )
        .await;
    }
    let long = "x".repeat(300);
    assert_error(
        alice
            .call(Method::GET, &format!("/api/v1/search?q={long}"), None)
            .await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    )
    .await;
}

/// A member's search covers their own tree and the shared ones they accepted, merged by name;
/// an invitation not yet accepted, or a tree they left, shows nothing. (The shared folder is
/// `docs`, at the top of the member's tree once accepted: paths start there.)
async fn members_find_what_is_shared_with_them_and_no_more(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let frank = server.register("frank").await;
    let ivan = server.register("ivan").await;
    let docs = alice.mkdir(alice.session.root_id, "docs").await;
    let s = share_with(&alice, docs.id, &frank, "frank", "viewer", true).await;
    alice.invite(s.id, &ivan, "ivan", "editor", false).await;
    alice
        .upload_to(docs.id, "b plan.txt", &bytes(1, 10), None)
        .await;
    frank.upload_file("a plan.txt", &bytes(2, 10), None).await;
    frank.upload_file("c plan.txt", &bytes(3, 10), None).await;
    assert_eq!(
        find(&frank, "q=plan").await,
        ["/a plan.txt", "/docs/b plan.txt", "/c plan.txt"]
    );
    assert_eq!(
        find(&frank, "q=plan&limit=2").await,
        ["/a plan.txt", "/docs/b plan.txt"]
    );
    assert!(find(&ivan, "q=plan").await.is_empty());
    frank.drop_member(s.id, frank.session.user_id).await;
    assert_eq!(find(&frank, "q=plan").await, ["/a plan.txt", "/c plan.txt"]);
}
