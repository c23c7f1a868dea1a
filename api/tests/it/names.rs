//! The name rules through the API: refused names change nothing wherever a name comes in,
//! names that only case folding tells apart share a key, names Cairn derives are shortened to
//! fit, and names stored under the older rules are brought up to them when the server starts.

use reqwest::{Method, StatusCode};
use serde_json::json;
use sqlx::Row as _;
use wire::{CommitResponse, Node, SearchResponse};

use crate::fixture::{assert_error, bytes, Backend, TestServer, User};

crate::both!(
    names_that_break_the_rules_are_refused_everywhere,
    names_equal_under_case_folding_share_a_folder_slot,
    derived_names_are_shortened_to_fit,
    stored_names_are_brought_up_to_the_rules_at_start,
);

/// Names each rule refuses; every one was accepted before these rules.
const REFUSED: &[&str] = &[
    "invoice\u{202E}gpj.exe",
    "zero\u{200B}width",
    "\u{FEFF}bom.txt",
    "line\u{2028}break",
    "CON",
    "con.txt",
    "lpt1.log",
    "trailing.",
    "a:b",
    "what?",
    "a\u{200D}",
];

async fn listing(u: &User<'_>) -> Vec<String> {
    u.names(u.session.root_id).await
}

async fn names_that_break_the_rules_are_refused_everywhere(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let root = alice.session.root_id;
    let file = alice.upload_file("fine.txt", b"fine", None).await;
    let before = listing(&alice).await;
    for name in REFUSED {
        let r = alice.new_folder(root, name).await;
        assert_error(r, StatusCode::BAD_REQUEST, "invalid_name").await;
        let r = alice
            .call(
                Method::PATCH,
                &format!("/api/v1/nodes/{}", file.node.id),
                Some(json!({"name": name})),
            )
            .await;
        assert_error(r, StatusCode::BAD_REQUEST, "invalid_name").await;
        let (manifest, up) = alice.start_upload(b"data").await;
        alice.put_missing(&manifest, &up, b"data").await;
        let r = alice.commit(&up.upload_id, root, name, None).await;
        assert_error(r, StatusCode::BAD_REQUEST, "invalid_name").await;
    }
    assert_eq!(listing(&alice).await, before);
    // The message names the rule.
    let r = alice.new_folder(root, "con.txt").await;
    let v: serde_json::Value = r.json().await.unwrap();
    let message = v["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("reserved device name on Windows"),
        "{message}"
    );
    // What real names need still goes: emoji sequences, ZWNJ in Persian.
    for name in ["👨\u{200D}👩\u{200D}👧.jpg", "می\u{200C}خواهم"] {
        alice.mkdir(root, name).await;
    }
}

async fn names_equal_under_case_folding_share_a_folder_slot(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let root = alice.session.root_id;
    alice.mkdir(root, "straße").await;
    for clash in ["STRASSE", "Strasse", "STRAẞE"] {
        let r = alice.new_folder(root, clash).await;
        assert_error(r, StatusCode::CONFLICT, "name_taken").await;
    }
    // A file under a folded-equal name is the same file: no base version, so a conflicted copy.
    let first = alice.upload_file("Maße.txt", &bytes(1, 100), None).await;
    let second = alice.upload_file("MASSE.TXT", &bytes(2, 100), None).await;
    assert!(second.conflict.is_some(), "{second:?}");
    assert_ne!(second.node.id, first.node.id);
    // Search folds the query the same way.
    let r: SearchResponse = alice.ok(Method::GET, "/api/v1/search?q=STRASS", None).await;
    let found: Vec<String> = r.results.into_iter().map(|r| r.path).collect();
    assert_eq!(found, ["/straße"]);
}

async fn derived_names_are_shortened_to_fit(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let root = alice.session.root_id;
    let long = format!("{}.txt", "é".repeat(125));
    assert_eq!(long.len(), 254);
    let first = alice.upload_file(&long, &bytes(1, 100), None).await;
    // A stale base: the newcomer becomes a conflicted copy, shortened, tag and extension kept.
    let copy = alice.upload_file(&long, &bytes(2, 100), None).await;
    let name = &copy.node.name;
    assert!(copy.conflict.is_some());
    assert!(name.len() <= 255, "{}", name.len());
    assert!(name.starts_with("éééé"), "{name}");
    assert!(name.contains(" (conflicted copy laptop "), "{name}");
    assert!(name.ends_with(").txt"), "{name}");
    // A restore into a taken name is shortened the same way.
    alice.trash(first.node.id).await;
    alice.upload_file(&long, &bytes(3, 100), None).await;
    let back: Node = alice
        .ok(
            Method::POST,
            &format!("/api/v1/trash/{}/restore", first.node.id),
            None,
        )
        .await;
    assert!(back.name.len() <= 255, "{}", back.name.len());
    assert!(back.name.ends_with("é (restored).txt"), "{}", back.name);
    // And a rename replayed with keep_both.
    let other = alice.upload_file("other.txt", b"o", None).await;
    let placed: wire::PlacedNode = alice
        .ok(
            Method::PATCH,
            &format!("/api/v1/nodes/{}", other.node.id),
            Some(json!({"name": long, "keep_both": true})),
        )
        .await;
    assert!(placed.clash.is_some());
    assert!(placed.node.name.len() <= 255);
    assert!(placed.node.name.ends_with(").txt"), "{}", placed.node.name);
    assert_eq!(alice.names(root).await.len(), 4);
}

/// Writes rows as a server under the old rules did (key = NFC then lower case, no character
/// rules), marks the keys as old, and opens the database again as a new server would.
async fn stored_names_are_brought_up_to_the_rules_at_start(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let ns = alice.session.namespace_id;
    let root = alice.session.root_id;
    let keep: CommitResponse = alice.upload_file("keep.txt", b"k", None).await;
    let db = server.db().await;
    let mut ids = Vec::new();
    for (name, deleted) in [
        ("straße.txt", false),
        ("STRASSE.txt", false),
        ("invoice\u{202E}gpj.exe", false),
        ("CON", false),
        ("Maße", true),
    ] {
        let id: i64 = sqlx::query(
            "INSERT INTO nodes (namespace_id, parent_id, name, name_key, kind, created_at, modified_at, deleted_at, trashed_with) \
             VALUES ($1, $2, $3, $4, 'folder', 0, 0, $5, NULL) RETURNING id",
        )
        .bind(ns)
        .bind(root)
        .bind(name)
        .bind(name.to_lowercase())
        .bind(deleted.then_some(1i64))
        .fetch_one(&db.pool)
        .await
        .unwrap()
        .get(0);
        ids.push(id);
    }
    sqlx::query("UPDATE nodes SET trashed_with = id WHERE id = $1")
        .bind(ids[4])
        .execute(&db.pool)
        .await
        .unwrap();
    // (Opening the database, as `changes` does, would re-key it: count before marking.)
    let changes_before = server.changes(ns).await.len();
    sqlx::query("UPDATE name_rules SET key_version = 0")
        .execute(&db.pool)
        .await
        .unwrap();
    db.pool.close().await;

    // A server starting on this database re-keys it (once).
    let db = server.db().await;
    assert_eq!(api::db::rekey::run(&db).await.unwrap(), 0, "already done");
    let row = |id: i64| {
        let pool = db.pool.clone();
        async move {
            let r = sqlx::query("SELECT name, name_key FROM nodes WHERE id = $1")
                .bind(id)
                .fetch_one(&pool)
                .await
                .unwrap();
            (r.get::<String, _>(0), r.get::<String, _>(1))
        }
    };
    assert_eq!(
        row(ids[0]).await,
        ("straße.txt".into(), "strasse.txt".into())
    );
    assert_eq!(
        row(ids[1]).await,
        (
            "STRASSE (name clash).txt".into(),
            "strasse (name clash).txt".into()
        )
    );
    assert_eq!(
        row(ids[2]).await,
        ("invoicegpj.exe".into(), "invoicegpj.exe".into())
    );
    assert_eq!(row(ids[3]).await, ("_CON".into(), "_con".into()));
    assert_eq!(row(ids[4]).await, ("Maße".into(), "masse".into()));
    db.pool.close().await;

    // Devices hear of every visible rename; nothing was lost.
    let changes = server.changes(ns).await;
    let renamed: Vec<i64> = changes[changes_before..]
        .iter()
        .filter(|(_, kind)| kind == "rename")
        .map(|(id, _)| *id)
        .collect();
    assert_eq!(renamed, [ids[1], ids[2], ids[3]]);
    let mut names = alice.names(root).await;
    names.sort();
    assert_eq!(
        names,
        [
            "STRASSE (name clash).txt",
            "_CON",
            "invoicegpj.exe",
            "keep.txt",
            "straße.txt"
        ]
    );
    assert_eq!(alice.download(keep.node.id).await, b"k");
    // The search index follows the new keys.
    let r: SearchResponse = alice
        .ok(Method::GET, "/api/v1/search?q=strasse", None)
        .await;
    assert_eq!(r.results.len(), 2);
}
