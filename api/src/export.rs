//! What an account export holds, decided from one snapshot of the tree (`db::export`): the
//! zip's entries — `cairn-index.json` first, then every folder and every file's current bytes,
//! named by their path from the root (`Photos/2024/a.jpg`) — and the index, which lists each
//! file with all its versions, so a user leaving keeps their history as data even where the
//! archive holds only the current bytes.
//!
//! A member's place for someone else's shared folder is not theirs to take away: it is left
//! out of the archive and named in the index (`mounted`). Folders the user shared are theirs
//! and go in where they are. Pure, so the layout is unit-tested without a server.

use std::collections::HashMap;

use bytes::Bytes;
use serde::Serialize;

use crate::db::export::{Tree, TreeNode};
use crate::serve::zip::{Content, ZipEntry};

/// Most files and folders one export holds (a member's places for shared folders count too):
/// the plan and every chunk list are held in memory while it streams, about 1 KiB a file.
/// The same bound as a share link's zip.
pub const MAX_ENTRIES: usize = 100_000;

/// The index's name: first in the archive, so a reader finds it without the central directory.
pub const INDEX_NAME: &str = "cairn-index.json";

/// The layout of the index; a reader checks `format` before anything else.
pub const FORMAT: u32 = 1;

#[derive(Debug, Serialize)]
pub struct Index {
    pub format: u32,
    pub username: String,
    /// Milliseconds since the epoch.
    pub exported_at: i64,
    /// Every file in the archive, by path.
    pub files: Vec<IndexFile>,
    /// Where the user keeps shared folders of other people, by path: mounted, not exported.
    pub mounted: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct IndexFile {
    pub path: String,
    pub node_id: i64,
    pub size: u64,
    pub modified_at: i64,
    /// Newest first; the `current` one is the bytes in the archive.
    pub versions: Vec<IndexVersion>,
}

#[derive(Debug, Serialize)]
pub struct IndexVersion {
    pub version_id: i64,
    pub size: u64,
    pub created_at: i64,
    /// BLAKE3 of the version's whole content, hex.
    pub content_hash: String,
    /// The media type the uploading client sniffed (`image/png`), when it sent one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    pub current: bool,
}

/// The archive's entries, its index first, for `tree` read under `root_id`.
pub fn entries(tree: Tree, root_id: i64, username: &str, now: i64) -> Vec<ZipEntry> {
    let Tree {
        nodes,
        versions,
        mut chunks,
    } = tree;
    let paths = paths(&nodes, root_id);
    let current_of: HashMap<i64, i64> = nodes
        .iter()
        .filter_map(|n| Some((n.id, n.version_id?)))
        .collect();
    let mut history: HashMap<i64, Vec<IndexVersion>> = HashMap::new();
    for v in versions {
        let current = current_of.get(&v.node_id) == Some(&v.id);
        history.entry(v.node_id).or_default().push(IndexVersion {
            version_id: v.id,
            size: v.size,
            created_at: v.created_at,
            content_hash: v.content_hash,
            content_type: v.content_type,
            current,
        });
    }
    let mut items: Vec<(&str, &TreeNode)> = nodes
        .iter()
        .filter_map(|n| Some((paths.get(&n.id)?.as_str(), n)))
        .collect();
    // Folders before what they hold: by path, `a` sorts before `a/x`.
    items.sort_by(|a, b| a.0.cmp(b.0));
    let mut index = Index {
        format: FORMAT,
        username: username.to_owned(),
        exported_at: now,
        files: Vec::new(),
        mounted: Vec::new(),
    };
    let mut out = Vec::with_capacity(items.len() + 1);
    for (path, n) in items {
        if n.mount {
            index.mounted.push(path.to_owned());
        } else if n.folder {
            out.push(ZipEntry::dir(path, n.modified_at));
        } else {
            let version_id = n.version_id.unwrap_or(0);
            out.push(ZipEntry::file(
                path,
                n.modified_at,
                Content {
                    version_id,
                    size: n.size,
                    chunks: chunks.remove(&version_id).unwrap_or_default(),
                },
            ));
            index.files.push(IndexFile {
                path: path.to_owned(),
                node_id: n.id,
                size: n.size,
                modified_at: n.modified_at,
                versions: history.remove(&n.id).unwrap_or_default(),
            });
        }
    }
    let json = serde_json::to_vec_pretty(&index).expect("the index serializes");
    out.insert(0, ZipEntry::bytes(INDEX_NAME, now, Bytes::from(json)));
    out
}

/// Each node's path from the root (`a/b/c`), the root itself left out. A node whose chain of
/// parents does not reach the root within the snapshot gets none.
fn paths(nodes: &[TreeNode], root_id: i64) -> HashMap<i64, String> {
    let by_id: HashMap<i64, &TreeNode> = nodes.iter().map(|n| (n.id, n)).collect();
    let mut out: HashMap<i64, String> = HashMap::with_capacity(nodes.len());
    for n in nodes {
        if n.id == root_id || out.contains_key(&n.id) {
            continue;
        }
        // Up to the root, or to an ancestor whose path is already known.
        let mut chain = vec![n];
        let mut base = String::new();
        let reached = loop {
            let last = chain[chain.len() - 1];
            match last.parent_id {
                Some(p) if p == root_id => break true,
                Some(p) => {
                    if let Some(known) = out.get(&p) {
                        base = known.clone();
                        break true;
                    }
                    match by_id.get(&p) {
                        // The tree has no cycles; the bound only guards a broken snapshot.
                        Some(parent) if chain.len() <= nodes.len() => chain.push(parent),
                        _ => break false,
                    }
                }
                None => break false,
            }
        };
        if !reached {
            continue;
        }
        for m in chain.iter().rev() {
            base = if base.is_empty() {
                m.name.clone()
            } else {
                format!("{base}/{}", m.name)
            };
            out.insert(m.id, base.clone());
        }
    }
    out
}

#[cfg(test)]
#[path = "export_tests.rs"]
mod tests;
