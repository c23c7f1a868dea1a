//! The export's layout from a snapshot: paths from the root, folders before what they hold,
//! the index first and whole, mounts named but never entered.

use serde_json::Value;
use wire::{ChunkRef, Hash};

use super::*;
use crate::db::export::TreeVersion;

fn node(id: i64, parent: i64, name: &str, kind: &str) -> TreeNode {
    TreeNode {
        id,
        parent_id: Some(parent),
        name: name.to_owned(),
        folder: kind != "file",
        version_id: (kind == "file").then_some(id * 10),
        size: if kind == "file" { 5 } else { 0 },
        modified_at: 1_000 + id,
        mount: kind == "mount",
    }
}

fn version(node_id: i64, id: i64) -> TreeVersion {
    TreeVersion {
        node_id,
        id,
        size: 5,
        content_hash: format!("{id:064x}"),
        created_at: id,
        content_type: None,
    }
}

fn sample() -> Tree {
    let root = TreeNode {
        parent_id: None,
        ..node(1, 0, "", "folder")
    };
    let mut chunks = HashMap::new();
    chunks.insert(
        30,
        vec![ChunkRef {
            hash: Hash([3; 32]),
            offset: 0,
            size: 5,
        }],
    );
    Tree {
        // Out of order on purpose: the snapshot promises none.
        nodes: vec![
            node(4, 2, "2024", "folder"),
            node(3, 4, "a.jpg", "file"),
            root,
            node(2, 1, "Photos", "folder"),
            node(5, 1, "Team (shared)", "mount"),
            node(6, 1, "notes.txt", "file"),
            // Its parent is not in the snapshot: no path, so not exported.
            node(7, 99, "stray.txt", "file"),
        ],
        versions: vec![version(3, 30), version(3, 29), version(6, 60)],
        chunks,
    }
}

#[test]
fn entries_are_the_index_then_paths_from_the_root() {
    let entries = entries(sample(), 1, "alice", 42);
    let names: Vec<&str> = entries.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        names,
        [
            INDEX_NAME,
            "Photos/",
            "Photos/2024/",
            "Photos/2024/a.jpg",
            "notes.txt"
        ]
    );
    assert_eq!(entries[3].modified_at, 1_003);
}

#[test]
fn the_index_lists_every_version_and_the_mounts() {
    let entries = entries(sample(), 1, "alice", 42);
    let data = entries[0].in_memory().expect("the index is in memory");
    let v: Value = serde_json::from_slice(data).unwrap();
    assert_eq!(v["format"], 1);
    assert_eq!(v["username"], "alice");
    assert_eq!(v["exported_at"], 42);
    assert_eq!(v["mounted"], serde_json::json!(["Team (shared)"]));
    let files = v["files"].as_array().unwrap();
    assert_eq!(files.len(), 2);
    assert_eq!(files[0]["path"], "Photos/2024/a.jpg");
    assert_eq!(files[0]["node_id"], 3);
    let versions = files[0]["versions"].as_array().unwrap();
    let ids: Vec<(i64, bool)> = versions
        .iter()
        .map(|v| (v["version_id"].as_i64().unwrap(), v["current"] == true))
        .collect();
    assert_eq!(ids, [(30, true), (29, false)]);
    assert_eq!(versions[1]["content_hash"], format!("{:064x}", 29));
    assert_eq!(files[1]["path"], "notes.txt");
}

#[test]
fn an_empty_tree_is_the_index_alone() {
    let root = TreeNode {
        parent_id: None,
        ..node(1, 0, "", "folder")
    };
    let tree = Tree {
        nodes: vec![root],
        ..Tree::default()
    };
    let entries = entries(tree, 1, "bob", 0);
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].path, INDEX_NAME);
}
