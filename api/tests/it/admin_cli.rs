//! The operator's commands, run as the real `cairn` binary against a live server's database
//! and store: accounts listed, limited, disabled and enabled; devices signed out; what is stored
//! counted; and a backup taken under the running server that restores elsewhere.

use std::path::Path;
use std::process::Output;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use wire::MeResponse;

use crate::fixture::{assert_error, bytes, Backend, EmptyDatabase, TestServer};

crate::both!(
    accounts_are_listed_limited_disabled_and_enabled,
    stats_count_logical_and_stored_bytes,
    a_backup_taken_while_serving_restores_elsewhere,
);

/// `cairn <args>` on the server's database and data directory.
fn cairn(server: &TestServer, args: &[&str]) -> Output {
    cairn_on(&server.database_url, server.dir.path(), args)
}

fn cairn_on(database_url: &str, data_dir: &Path, args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_cairn"))
        .args(args)
        .arg("--database-url")
        .arg(database_url)
        .arg("--data-dir")
        .arg(data_dir)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

async fn sign_in(server: &TestServer, password: &str) -> reqwest::Response {
    server
        .post(
            "/api/v1/sessions",
            json!({"username": "alice", "password": password, "device_name": "tablet"}),
        )
        .await
}

async fn accounts_are_listed_limited_disabled_and_enabled(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    alice.upload_file("a.txt", &bytes(1, 5000), None).await;
    server.register("bob").await;

    let list: Value =
        serde_json::from_str(&ok(cairn(&server, &["admin", "user", "list", "--json"]))).unwrap();
    let names: Vec<_> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["alice", "bob"]);
    assert_eq!(list[0]["devices"], 1);
    assert_eq!(list[0]["used_bytes"], 5000);
    assert_eq!(list[0]["quota_bytes"], Value::Null);

    // A quota, in the operator's units, and back to the server's default.
    ok(cairn(&server, &["admin", "user", "quota", "Alice", "1K"]));
    let me: MeResponse = alice.ok(Method::GET, "/api/v1/me", None).await;
    assert_eq!(me.quota_bytes, 1024);
    ok(cairn(
        &server,
        &["admin", "user", "quota", "alice", "default"],
    ));
    let me: MeResponse = alice.ok(Method::GET, "/api/v1/me", None).await;
    assert_eq!(me.quota_bytes, server.state.settings.quota_bytes);
    let out = cairn(&server, &["admin", "user", "quota", "nobody", "1K"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no account nobody"));
    let out = cairn(&server, &["admin", "user", "quota", "alice", "lots"]);
    assert!(!out.status.success());

    // Disabled: every device signed out at once, sign-in refused, and said so only to the
    // right password; the files stay.
    let said = ok(cairn(&server, &["admin", "user", "disable", "alice"]));
    assert!(said.contains("1 device(s) signed out"), "{said}");
    let r = alice.call(Method::GET, "/api/v1/me", None).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_error(
        sign_in(&server, "correct horse").await,
        StatusCode::FORBIDDEN,
        "account_disabled",
    )
    .await;
    assert_error(
        sign_in(&server, "wrong horse!").await,
        StatusCode::UNAUTHORIZED,
        "bad_credentials",
    )
    .await;
    ok(cairn(&server, &["admin", "user", "enable", "alice"]));
    let tablet = server.sign_in("alice", "tablet").await;
    assert_eq!(
        tablet.names(tablet.session.root_id).await,
        ["a.txt"],
        "the files stayed"
    );

    // One device signed out by id.
    let id = tablet.session.device_id.to_string();
    let devices = ok(cairn(&server, &["admin", "device", "list", "alice"]));
    assert!(devices.contains("tablet"), "{devices}");
    assert!(ok(cairn(&server, &["admin", "device", "revoke", &id])).contains("signed out"));
    let r = tablet.call(Method::GET, "/api/v1/me", None).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(ok(cairn(&server, &["admin", "device", "revoke", &id])).contains("already"));
    assert!(!cairn(&server, &["admin", "device", "revoke", "999999"])
        .status
        .success());
}

async fn stats_count_logical_and_stored_bytes(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let data = bytes(7, 20_000);
    alice.upload_file("one.bin", &data, None).await;
    alice.upload_file("two.bin", &data, None).await;
    alice.mkdir(alice.session.root_id, "Folder").await;
    let s: Value = serde_json::from_str(&ok(cairn(&server, &["stats", "--json"]))).unwrap();
    assert_eq!(s["users"], 1);
    assert_eq!(s["files"], 2);
    assert_eq!(s["folders"], 1);
    assert_eq!(s["logical_bytes"], 40_000);
    assert_eq!(s["stored_bytes"], 20_000);
    assert_eq!(s["dedup_ratio"], 2.0);
    assert!(ok(cairn(&server, &["stats"])).contains("dedup ratio    2.00"));
    assert!(ok(cairn(&server, &["migrate"])).contains("up to date"));
    assert!(ok(cairn(&server, &["gc"])).contains("chunks deleted 0"));
}

async fn a_backup_taken_while_serving_restores_elsewhere(backend: Backend) {
    let server = TestServer::on(backend).start().await;
    let alice = server.register("alice").await;
    let docs = alice.mkdir(alice.session.root_id, "Docs").await;
    let small = bytes(3, 3_000);
    let large = bytes(4, 3 << 20);
    let a = alice.upload_to(docs.id, "a.txt", &small, None).await;
    let b = alice.upload_file("b.bin", &large, None).await;

    let place = tempfile::tempdir().unwrap();
    let to = place.path().join("backup");
    let to_s = to.to_str().unwrap();
    let said = ok(cairn(&server, &["backup", to_s]));
    assert!(said.contains("checked complete"), "{said}");
    // The server went on; a second backup into the same place is refused.
    alice
        .upload_file("after.txt", b"after the backup", None)
        .await;
    let ahead: Value = alice.ok(Method::GET, "/api/v1/changes", None).await;
    assert!(!cairn(&server, &["backup", to_s]).status.success());

    // Restored elsewhere: the same files, the same bytes, nothing after the snapshot.
    let restored_db = EmptyDatabase::create(backend).await;
    let url = match backend {
        Backend::Sqlite => format!("sqlite://{}?mode=rwc", to.join("cairn.db").display()),
        Backend::Postgres => {
            let out = std::process::Command::new("pg_restore")
                .arg("--no-owner")
                .arg("--dbname")
                .arg(&restored_db.url)
                .arg(to.join("cairn.pgdump"))
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            restored_db.url.clone()
        }
    };
    let (data_dir, url2) = (to.clone(), url.clone());
    let restored = TestServer::on(backend)
        .settings(move |s| {
            s.data_dir = data_dir;
            s.database_url = Some(url2);
        })
        .start()
        .await;
    let alice2 = restored.sign_in("alice", "restored").await;
    assert_eq!(
        alice2.names(alice2.session.root_id).await,
        ["Docs", "b.bin"]
    );
    assert_eq!(alice2.download(a.node.id).await, small);
    assert_eq!(alice2.download(b.node.id).await, large);
    // A device that pulled past the snapshot is told to list again, not handed a gap.
    let r = alice2
        .call(
            Method::GET,
            &format!(
                "/api/v1/changes?cursor={}",
                ahead["cursor"].as_str().unwrap()
            ),
            None,
        )
        .await;
    assert_error(r, StatusCode::GONE, "cursor_reset").await;
    // Nothing in it points at a missing chunk: its own scrub finds every one.
    let said = ok(cairn_on(&url, &to, &["scrub"]));
    assert!(
        said.contains("0 corrupt, 0 missing, 0 unreadable"),
        "{said}"
    );
}
