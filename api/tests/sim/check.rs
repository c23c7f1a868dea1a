//! The end of a seed: every device brought online, its outbox replayed and its feed pulled to
//! the end; then the invariants, each failure a divergence.

use std::collections::BTreeMap;

use wire::NodeKind;

use crate::device::Device;
use crate::server::{Net, Payload};

/// A commit answer (200) a device received.
#[derive(Debug, Clone)]
pub struct Acked {
    pub node: i64,
    pub version: i64,
    pub device: usize,
    pub key: String,
}

pub type Tree = BTreeMap<i64, (i64, String, NodeKind, Option<i64>)>;

/// The tree as the API lists it, folder by folder from the root (no faults, no trace).
pub async fn server_tree(net: &Net, token: &str, root: i64) -> Tree {
    let mut out = Tree::new();
    let mut todo = vec![root];
    while let Some(f) = todo.pop() {
        let a = net
            .server
            .raw(
                "GET",
                &format!("/api/v1/nodes/{f}/children"),
                Some(token),
                Payload::None,
            )
            .await;
        assert_eq!(a.status, 200, "listing {f}");
        for c in a.json::<wire::Listing>().children {
            if c.kind == NodeKind::Folder {
                todo.push(c.id);
            }
            out.insert(c.id, (f, c.name, c.kind, c.version_id));
        }
    }
    out
}

/// Brings every device online with no more faults, until no outbox or upload is left, then
/// pulls every feed to its end.
pub async fn settle(net: &mut Net, devices: &mut [Device]) {
    net.faults = false;
    for round in 0.. {
        for d in devices.iter_mut() {
            d.online = true;
            d.catch_up(net).await;
        }
        if devices
            .iter()
            .all(|d| d.disk.outbox.is_empty() && d.disk.uploads.is_empty())
        {
            break;
        }
        if round == 20 {
            for d in devices.iter() {
                net.problems.push(format!(
                    "d{}: still waiting after 20 replays: outbox {:?}, uploads {}",
                    d.idx,
                    d.disk.outbox.iter().map(|q| &q.op).collect::<Vec<_>>(),
                    d.disk.uploads.len()
                ));
            }
            break;
        }
    }
    for d in devices.iter_mut() {
        d.pull(net).await;
    }
}

/// The invariants; each failure goes to `net.problems`.
pub async fn invariants(net: &mut Net, devices: &[Device]) {
    // 1. Every device holds its user's tree as the server lists it.
    let mut trees: BTreeMap<usize, (String, i64, Tree)> = BTreeMap::new();
    for d in devices {
        if let std::collections::btree_map::Entry::Vacant(e) = trees.entry(d.user) {
            let t = server_tree(net, &d.token, d.root).await;
            e.insert((d.token.clone(), d.root, t));
        }
        let want = &trees[&d.user].2;
        // What the page shows, optimistic guesses replaced by now.
        let shown = d.shown_tree();
        if &shown != want {
            let mut diff: Vec<String> = Vec::new();
            for (id, n) in want {
                if shown.get(id) != Some(n) {
                    diff.push(format!("server {id}={n:?} shown {:?}", shown.get(id)));
                }
            }
            for (id, n) in &shown {
                if !want.contains_key(id) {
                    diff.push(format!("shown only {id}={n:?}"));
                }
            }
            diff.truncate(6);
            net.problems.push(format!(
                "d{} (user {}) shows what the server does not hold: {}",
                d.idx,
                d.user,
                diff.join("; ")
            ));
        }
        let got = d.tree();
        if &got != want {
            let mut diff = Vec::new();
            for (id, n) in want {
                if got.get(id) != Some(n) {
                    diff.push(format!("server {id}={n:?} device {:?}", got.get(id)));
                }
            }
            for (id, n) in &got {
                if !want.contains_key(id) {
                    diff.push(format!("device only {id}={n:?}"));
                }
            }
            diff.truncate(6);
            net.problems.push(format!(
                "d{} (user {}) diverges from the server: {}",
                d.idx,
                d.user,
                diff.join("; ")
            ));
        }
    }
    // 2. Every acknowledged version is still retrievable: the trash restored first (a trashed
    // node's versions are not listed), then each node's versions read.
    for (token, _, _) in trees.values() {
        for _ in 0..50 {
            let a = net
                .server
                .raw("GET", "/api/v1/trash", Some(token), Payload::None)
                .await;
            let items = a.json::<wire::TrashList>().items;
            if items.is_empty() {
                break;
            }
            for i in items {
                let r = net
                    .server
                    .raw(
                        "POST",
                        &format!("/api/v1/trash/{}/restore", i.node.id),
                        Some(token),
                        Payload::None,
                    )
                    .await;
                if !r.ok() {
                    net.problems.push(format!(
                        "restoring trash item {} answered {}: {}",
                        i.node.id,
                        r.status,
                        String::from_utf8_lossy(&r.body)
                    ));
                }
            }
        }
    }
    let mut versions_of: BTreeMap<(usize, i64), Vec<wire::VersionInfo>> = BTreeMap::new();
    for (user, (token, root, _)) in &trees {
        for (id, (_, _, kind, _)) in server_tree(net, token, *root).await {
            if kind == NodeKind::File {
                let a = net
                    .server
                    .raw(
                        "GET",
                        &format!("/api/v1/nodes/{id}/versions"),
                        Some(token),
                        Payload::None,
                    )
                    .await;
                versions_of.insert((*user, id), a.json::<wire::VersionList>().versions);
            }
        }
    }
    // By node, whoever lists it: a file a member moved out of the shared folder into their own
    // home left the owner's view with its versions.
    let by_node: BTreeMap<i64, &Vec<wire::VersionInfo>> = versions_of
        .iter()
        .map(|((_, node), vs)| (*node, vs))
        .collect();
    for a in &net.acked {
        let kept = by_node
            .get(&a.node)
            .is_some_and(|v| v.iter().any(|x| x.id == a.version));
        if !kept {
            net.problems.push(format!(
                "version {} of node {} acknowledged to d{} (key {}) is not retrievable",
                a.version, a.node, a.device, a.key
            ));
        }
    }
    // 3. One key, one answer: a device never got two different commits for one idempotency
    // key.
    let mut by_key: BTreeMap<(usize, &str), (i64, i64)> = BTreeMap::new();
    let mut twice = Vec::new();
    for a in &net.acked {
        if let Some(first) = by_key.insert((a.device, &a.key), (a.node, a.version)) {
            if first != (a.node, a.version) {
                twice.push(format!(
                    "d{} key {} answered {first:?} and then ({}, {})",
                    a.device, a.key, a.node, a.version
                ));
            }
        }
    }
    net.problems.extend(twice);
    // 4. Nothing was applied twice: every upload carried bytes of its own, so no content may
    // be a version twice. (A shared folder's files are listed by both users: each once here.)
    let mut seen: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for (node, vs) in &by_node {
        for v in *vs {
            let h = v.content_hash.to_string();
            if let Some((n0, v0)) = seen.insert(h, (*node, v.id)) {
                net.problems.push(format!(
                    "one upload written twice: version {v0} of node {n0} and version {} of node {node}",
                    v.id
                ));
            }
        }
    }
}
