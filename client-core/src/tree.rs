//! The optimistic offline tree: how a cached folder listing changes the moment the user edits
//! without a network, before the server has said yes. The page keeps the listings in
//! IndexedDB and applies these edits to them; the outbox replays the same changes later, and
//! the next listing from the server replaces the guess. Names are found by the server's own
//! comparison (`names::same`), so the guess and the truth agree on what "the same name" is.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One entry of a folder listing. Only the fields the rules read are typed; the others are
/// kept as they came, so a cached listing loses nothing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Node {
    pub id: i64,
    #[serde(default)]
    pub parent_id: Option<i64>,
    // Defaults, so a cached listing of an older shape is still edited, never refused.
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub kind: String,
    /// Made or changed here and not yet sent.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pending: bool,
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

/// A folder and its children, as `GET /folders/{id}` answered (plus `etag`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Listing {
    pub folder: Node,
    pub children: Vec<Node>,
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

/// One optimistic change to one listing.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "edit", rename_all = "snake_case")]
pub enum Edit {
    /// A node arrives (made here, or moved in): it replaces a child of the same kind and name.
    Add {
        node: Node,
    },
    Rename {
        node_id: i64,
        name: String,
    },
    /// A node leaves (moved out, deleted).
    Remove {
        node_id: i64,
    },
}

/// A folder made offline by outbox operation `seq`: its id is `-seq` until replay makes it.
pub fn pending_folder(seq: i64, parent_id: i64, name: &str, now: f64) -> Node {
    pending(seq, parent_id, name, "folder", 0, now)
}

/// A file queued offline by outbox operation `seq`.
pub fn pending_file(seq: i64, parent_id: i64, name: &str, size: u64, now: f64) -> Node {
    pending(seq, parent_id, name, "file", size, now)
}

fn pending(seq: i64, parent_id: i64, name: &str, kind: &str, size: u64, now: f64) -> Node {
    let mut rest = Map::new();
    rest.insert("version_id".into(), Value::Null);
    rest.insert("size".into(), size.into());
    rest.insert("content_hash".into(), Value::Null);
    rest.insert("modified_at".into(), now.into());
    Node {
        id: -seq,
        parent_id: Some(parent_id),
        name: name.to_owned(),
        kind: kind.to_owned(),
        pending: true,
        rest,
    }
}

/// Applies `edit` to `listing`. The listing's `etag` goes: it is no longer what the server
/// sent under that tag.
pub fn apply(listing: &mut Listing, edit: &Edit) {
    match edit {
        Edit::Add { node } => {
            let mut node = node.clone();
            node.parent_id = Some(listing.folder.id);
            node.pending = true;
            // A file queued under a name (id `-seq`) replaces what the listing showed there.
            let queued = node.kind == "file" && node.id < 0;
            let replaces =
                |c: &Node| c.id == node.id || (queued && crate::names::same(&c.name, &node.name));
            listing.children.retain(|c| !replaces(c));
            listing.children.push(node);
        }
        Edit::Rename { node_id, name } => {
            if let Some(n) = listing.children.iter_mut().find(|c| c.id == *node_id) {
                n.name = name.clone();
                n.pending = true;
            }
        }
        Edit::Remove { node_id } => listing.children.retain(|c| c.id != *node_id),
    }
    listing.rest.remove("etag");
}

/// The child of kind `kind` ("file", "folder") the server would call `name`.
pub fn find<'a>(children: &'a [Node], kind: &str, name: &str) -> Option<&'a Node> {
    children
        .iter()
        .find(|c| c.kind == kind && crate::names::same(&c.name, name))
}

#[cfg(test)]
mod tests;
