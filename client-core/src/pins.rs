//! "Available offline" bookkeeping: which pinned copies are whole, which chunks the chunk store
//! must keep, how a pin run ends, and when a copy is stale. A pinned file is a record (its node
//! and ordered chunk list) and its bytes are chunks keyed by hash, shared between files and
//! versions. A re-pin first writes its new chunk list as `pending` beside the copy it replaces,
//! so a sweep keeps both lists' chunks and a failed re-pin leaves the old copy openable. The
//! page holds the records and chunks in IndexedDB and performs what these decide.

use std::collections::HashSet;

use serde::{de::IgnoredAny, Deserialize, Serialize};

/// A pinned node, as much as the rules read.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PinnedNode {
    #[serde(default)]
    pub version_id: Option<i64>,
}

/// A chunk list being fetched, and the key of the run that fetches it.
#[derive(Debug, Clone, Deserialize)]
pub struct Pending {
    #[serde(default)]
    pub chunks: Vec<(String, u64)>,
    #[serde(default)]
    pub key: String,
}

/// A `pins` record. `blob` marks a copy from before chunks (the whole file in one Blob).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Record {
    #[serde(default)]
    pub node: Option<PinnedNode>,
    #[serde(default)]
    pub chunks: Option<Vec<(String, u64)>>,
    #[serde(default)]
    pub pending: Option<Pending>,
    #[serde(default)]
    pub blob: Option<IgnoredAny>,
}

impl Record {
    /// A copy that can be opened now: chunked, or a whole Blob.
    pub fn usable(&self) -> bool {
        self.chunks.is_some() || self.blob.is_some()
    }

    /// Worth fetching again: another device changed the file, or it is a whole-file copy to
    /// turn into chunks.
    pub fn stale(&self, current_version: Option<i64>) -> bool {
        self.usable()
            && (self.blob.is_some()
                || self.node.as_ref().and_then(|n| n.version_id) != current_version)
    }

    /// A copy from before chunks, to re-pin as chunks.
    pub fn whole(&self) -> bool {
        self.blob.is_some() && self.chunks.is_none()
    }
}

/// The chunks in the store no record names, current or pending: what a sweep deletes.
pub fn unnamed<'a>(records: &[Record], stored: &'a [String]) -> Vec<&'a str> {
    let keep: HashSet<&str> = records
        .iter()
        .flat_map(|r| {
            let current = r.chunks.iter().flatten();
            let pending = r.pending.iter().flat_map(|p| &p.chunks);
            current.chain(pending).map(|(h, _)| h.as_str())
        })
        .collect();
    stored
        .iter()
        .map(String::as_str)
        .filter(|h| !keep.contains(h))
        .collect()
}

/// How a pin run ends for its record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Settle {
    /// The fetched list becomes the copy.
    Promote,
    /// The run failed: keep the old copy, without the pending list.
    KeepOld,
    /// The run failed and there is no older copy: forget the record.
    Forget,
    /// The file was unpinned meanwhile, or another run took over: touch nothing.
    Leave,
}

/// The end of run `key` on `record` (`None`: unpinned meanwhile); `ok` when every chunk came.
pub fn settle(record: Option<&Record>, key: Option<&str>, ok: bool) -> Settle {
    let Some(r) = record else {
        return Settle::Leave;
    };
    let ours = matches!((&r.pending, key), (Some(p), Some(k)) if p.key == k);
    match (ours, ok) {
        (false, _) => Settle::Leave,
        (true, true) => Settle::Promote,
        (true, false) if r.usable() => Settle::KeepOld,
        (true, false) => Settle::Forget,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(json: &str) -> Record {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn a_sweep_keeps_what_any_list_names() {
        let records = [
            record(r#"{"node":{"version_id":1},"chunks":[["a",1],["b",2]]}"#),
            record(r#"{"chunks":[["c",1]],"pending":{"chunks":[["d",1]],"key":"k"}}"#),
            record(r#"{"node":{},"blob":{}}"#),
        ];
        let stored: Vec<String> = ["a", "b", "c", "d", "e", "f"].map(String::from).into();
        assert_eq!(unnamed(&records, &stored), ["e", "f"]);
    }

    #[test]
    fn copies_are_usable_stale_or_whole() {
        let chunked = record(r#"{"node":{"version_id":3},"chunks":[]}"#);
        assert!(chunked.usable() && !chunked.whole());
        assert!(!chunked.stale(Some(3)));
        assert!(chunked.stale(Some(4)));
        let whole = record(r#"{"node":{"version_id":3},"blob":{}}"#);
        assert!(whole.usable() && whole.whole() && whole.stale(Some(3)));
        let fetching = record(r#"{"pending":{"chunks":[],"key":"k"}}"#);
        assert!(!fetching.usable() && !fetching.stale(None));
    }

    #[test]
    fn a_run_ends_by_its_own_key_only() {
        let first = record(r#"{"pending":{"chunks":[],"key":"k1"}}"#);
        let again = record(r#"{"chunks":[["a",1]],"pending":{"chunks":[],"key":"k2"}}"#);
        assert_eq!(settle(Some(&first), Some("k1"), true), Settle::Promote);
        assert_eq!(settle(Some(&first), Some("k1"), false), Settle::Forget);
        assert_eq!(settle(Some(&again), Some("k2"), false), Settle::KeepOld);
        assert_eq!(settle(Some(&again), Some("k1"), true), Settle::Leave);
        assert_eq!(settle(None, Some("k1"), true), Settle::Leave);
        assert_eq!(settle(Some(&first), None, false), Settle::Leave);
    }
}
