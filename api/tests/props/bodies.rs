//! Request bodies by property: every POST and PATCH operation of `/openapi.json`, with path
//! parameters naming real things (a folder, a file and its versions, a trashed file, a link, a
//! file request, a shared folder and its member, the device, an open upload), is sent a body
//! made from a good one by breaking it — a field dropped, of another type, a number past every
//! range, an extra field, nested past any parser's depth, not JSON, another content type — or
//! any JSON at all. Accepted, fine; refused, a 4xx JSON error and nothing changed.

use proptest::prelude::*;
use reqwest::Method;
use serde_json::{json, Value};

use crate::fixture::{bytes, Backend, TestServer, User};
use crate::support::{check, ensure, Answer, Snapshot, Tally};

crate::both!(broken_bodies_are_refused_with_nothing_changed);

/// How a good body is broken.
#[derive(Debug, Clone)]
enum Shape {
    Good,
    /// The `i`th field (of the good body's, in order) dropped.
    Drop(usize),
    /// The `i`th field given this JSON text instead.
    Retype(usize, String),
    Extra,
    /// Any JSON text in place of the body.
    Any(String),
    /// The good body nested `n` arrays or objects deep.
    Deep(usize, bool),
    NotJson(String),
}

/// A JSON text that `serde_json::Value` could not even hold (numbers past f64) or holds
/// awkwardly.
fn wild() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("null".to_owned()),
        Just("true".to_owned()),
        Just("-1".to_owned()),
        Just("0".to_owned()),
        Just("1e400".to_owned()),
        Just("-1e400".to_owned()),
        Just("18446744073709551616".to_owned()),
        Just("9223372036854775808".to_owned()),
        Just("-9223372036854775809".to_owned()),
        Just("123456789012345678901234567890".to_owned()),
        Just("0.5".to_owned()),
        Just("\"\"".to_owned()),
        Just("\"\\u0000\"".to_owned()),
        Just("\"\\ud800\"".to_owned()),
        Just("[]".to_owned()),
        Just("{}".to_owned()),
        Just(format!("\"{}\"", "x".repeat(70_000))),
        any::<i64>().prop_map(|n| n.to_string()),
        "\\PC{0,20}".prop_map(|s| Value::from(s).to_string()),
    ]
}

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        "\\PC{0,10}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,12}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn shape() -> impl Strategy<Value = Shape> {
    prop_oneof![
        1 => Just(Shape::Good),
        3 => (0usize..6).prop_map(Shape::Drop),
        5 => (0usize..6, wild()).prop_map(|(i, w)| Shape::Retype(i, w)),
        1 => Just(Shape::Extra),
        2 => prop_oneof![any_json().prop_map(|v| v.to_string()), wild()].prop_map(Shape::Any),
        1 => (prop_oneof![Just(127usize), Just(200), Just(5000)], any::<bool>())
            .prop_map(|(n, a)| Shape::Deep(n, a)),
        1 => prop_oneof![
            Just(String::new()),
            Just("{".to_owned()),
            Just("{\"a\":1,}".to_owned()),
            Just("\u{FEFF}{}".to_owned()),
            "\\PC{0,30}",
        ]
        .prop_map(Shape::NotJson),
    ]
}

/// The body as sent.
fn body(good: &Value, s: &Shape) -> String {
    let fields: Vec<(String, Value)> = good
        .as_object()
        .map(|o| o.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    let object = |fields: Vec<(String, String)>| {
        let inner: Vec<String> = fields
            .iter()
            .map(|(k, v)| format!("{}:{v}", Value::from(k.as_str())))
            .collect();
        format!("{{{}}}", inner.join(","))
    };
    let texts = || -> Vec<(String, String)> {
        fields
            .iter()
            .map(|(k, v)| (k.clone(), v.to_string()))
            .collect()
    };
    match s {
        Shape::Good => good.to_string(),
        Shape::Drop(i) => {
            let mut f = texts();
            if !f.is_empty() {
                f.remove(i % f.len());
            }
            object(f)
        }
        Shape::Retype(i, w) => {
            let mut f = texts();
            if f.is_empty() {
                f.push(("x".to_owned(), w.clone()));
            } else {
                let n = f.len();
                f[i % n].1 = w.clone();
            }
            object(f)
        }
        Shape::Extra => {
            let mut f = texts();
            f.push(("surprise".to_owned(), "{\"a\":[1,2]}".to_owned()));
            object(f)
        }
        Shape::Any(t) | Shape::NotJson(t) => t.clone(),
        Shape::Deep(n, arrays) => {
            let (open, close) = if *arrays {
                ("[", "]")
            } else {
                ("{\"a\":", "}")
            };
            format!("{}{}{}", open.repeat(*n), good, close.repeat(*n))
        }
    }
}

/// The real things path parameters name, and good bodies that use them.
struct World {
    root: i64,
    folder: i64,
    file: i64,
    old_version: i64,
    trashed: i64,
    link: i64,
    token: String,
    request_token: String,
    share: i64,
    bob: i64,
    device: i64,
    upload: String,
    manifest: Value,
    cursor: String,
}

impl World {
    async fn build(alice: &User<'_>, bob: &User<'_>) -> World {
        let root = alice.session.root_id;
        let folder = alice.mkdir(root, "docs").await.id;
        let v1 = alice.upload_to(folder, "x.txt", b"one", None).await;
        let v2 = alice
            .upload_to(folder, "x.txt", b"two", Some(v1.version_id))
            .await;
        let trashed = alice.upload_file("gone.txt", b"gone", None).await.node.id;
        alice.trash(trashed).await;
        let link: wire::links::LinkCreated = alice
            .ok(
                Method::POST,
                "/api/v1/links",
                Some(json!({"node_id": v2.node.id, "kind": "download", "password": "pw"})),
            )
            .await;
        let request: wire::links::LinkCreated = alice
            .ok(
                Method::POST,
                "/api/v1/links",
                Some(json!({"node_id": folder, "kind": "request"})),
            )
            .await;
        let team = alice.mkdir(root, "team").await.id;
        let share = crate::fixture::share_with(alice, team, bob, "bob", "editor", true).await;
        let data = bytes(1, 100);
        let (manifest, up) = alice.start_upload(&data).await;
        alice.put_missing(&manifest, &up, &data).await;
        let latest: wire::ChangesResponse =
            alice.ok(Method::GET, "/api/v1/changes/latest", None).await;
        World {
            root,
            folder,
            file: v2.node.id,
            old_version: v1.version_id,
            trashed,
            link: link.link.id,
            token: link.token,
            request_token: request.token,
            share: share.id,
            bob: bob.session.user_id,
            device: alice.session.device_id,
            upload: up.upload_id,
            manifest: serde_json::to_value(&manifest).unwrap(),
            cursor: latest.cursor,
        }
    }

    /// The path with its parameters filled in.
    fn path(&self, template: &str) -> String {
        let node = if template.contains("/share") || template.ends_with("/children") {
            self.folder
        } else {
            self.file
        };
        let id = if template.starts_with("/api/v1/trash") {
            self.trashed
        } else if template.starts_with("/api/v1/links") {
            self.link
        } else if template.starts_with("/api/v1/shares") {
            self.share
        } else if template.starts_with("/api/v1/devices") {
            self.device
        } else {
            node
        };
        let token = if template.contains("/uploads") || template.contains("/commit") {
            &self.request_token
        } else {
            &self.token
        };
        template
            .replace("{id}", &id.to_string())
            .replace("{version_id}", &self.old_version.to_string())
            .replace("{user_id}", &self.bob.to_string())
            .replace("{token}", token)
            .replace("/uploads/{id}", &format!("/uploads/{}", self.upload))
    }

    /// A body the operation would take (`{}` where it takes none).
    fn good(&self, method: &str, template: &str) -> Value {
        match (method, template) {
            ("post", "/api/v1/accounts") => {
                json!({"username": "carol", "password": "correct horse", "device_name": "d"})
            }
            ("post", "/api/v1/sessions") => {
                json!({"username": "alice", "password": "correct horse", "device_name": "d"})
            }
            ("post", "/api/v1/folders") => json!({"parent_id": self.root, "name": "new"}),
            ("post", "/api/v1/uploads") => json!({"manifest": self.manifest}),
            ("post", "/api/v1/commits") => json!({"upload_id": self.upload, "parent_id": self.root,
                "name": "c.txt", "base_version": null, "idempotency_key": "k"}),
            ("post", "/api/v1/changes/ack") => json!({"cursor": self.cursor}),
            ("post", "/api/v1/links") => json!({"node_id": self.file, "kind": "download",
                "expires_at": null, "max_downloads": 3, "max_bytes": 100, "pin_version": false}),
            ("patch", "/api/v1/links/{id}") => json!({"max_downloads": 5, "expires_at": null}),
            ("patch", "/api/v1/nodes/{id}") => {
                json!({"name": "renamed.txt", "parent_id": self.root, "keep_both": false})
            }
            ("patch", "/api/v1/devices/{id}") => json!({"name": "laptop 2"}),
            ("post", "/api/v1/public/{token}/unlock") => json!({"password": "pw"}),
            ("post", "/api/v1/public/{token}/uploads") => json!({"manifest": self.manifest,
                "name": "dropped.txt", "path": "a/b", "uploader": "someone"}),
            ("post", "/api/v1/public/{token}/commit") => json!({"upload_id": "nope"}),
            ("post", "/api/v1/shares/{id}/members") => {
                json!({"username": "carol", "role": "viewer"})
            }
            ("patch", "/api/v1/shares/{id}/members/{user_id}") => json!({"role": "viewer"}),
            _ => json!({}),
        }
    }
}

/// Operations left out: the password change (a body could be good by chance, and the run would
/// go on signed out) and the share page's no-JS password form (a form answered with HTML, not
/// JSON; `it/share_page.rs` covers it).
const LEFT_OUT: &[&str] = &["/api/v1/account/password", "/s/{token}/unlock"];

async fn broken_bodies_are_refused_with_nothing_changed(backend: Backend) {
    let server = TestServer::on(backend)
        .settings(|s| s.signup_rate_per_ip = "1000/60".parse().unwrap())
        .start()
        .await;
    let alice = server.register("alice").await;
    let bob = server.register("bob").await;
    let world = World::build(&alice, &bob).await;
    let doc = serde_json::to_value(api::openapi::document()).unwrap();
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in ["post", "patch", "put"] {
            if item.get(method).is_some() && !LEFT_OUT.contains(&path.as_str()) {
                ops.push((method, path.clone()));
            }
        }
    }
    ops.retain(|(_, p)| !p.starts_with("/blobs"));
    assert!(ops.len() >= 15, "{ops:?}");
    let snapshot = std::sync::Mutex::new(None::<Snapshot>);
    let (u, world, ops, snapshot, server) = (&alice, &world, &ops, &snapshot, &server);
    let http = crate::fixture::fresh_client();
    let http = &http;
    let content_type = prop_oneof![
        8 => Just(Some("application/json")),
        1 => Just(None),
        1 => Just(Some("text/plain")),
        1 => Just(Some("application/json; charset=latin1")),
    ];
    let strategy = (0..ops.len(), shape(), content_type);
    let tally = Tally::default();
    let tally = &tally;
    check("bodies", 200, strategy, |(op, shape, ct)| async move {
        let (method, template) = &ops[op];
        let path = world.path(template);
        let text = body(&world.good(method, template), &shape);
        let cached = snapshot.lock().unwrap().take();
        let before = match cached {
            Some(s) => s,
            None => Snapshot::of(u, world.root).await,
        };
        let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let mut req = http
            .request(m, server.url(&path))
            .bearer_auth(&u.session.token)
            .body(text.clone());
        if let Some(ct) = ct {
            req = req.header("content-type", ct);
        }
        let r = Answer::of(req.send().await.unwrap()).await;
        let what = format!("{method} {path} ({shape:?}, {ct:?})");
        ensure!(r.status < 500, "{what}: {} {}", r.status, r.text);
        let after = Snapshot::of(u, world.root).await;
        if r.ok() {
            tally.accepted();
        } else if !(300..400).contains(&r.status) {
            tally.refused();
            r.refusal(&what)?;
            before.unchanged(&after, &what)?;
        }
        *snapshot.lock().unwrap() = Some(after);
        Ok(())
    });
    tally.saw_both("bodies");
}
