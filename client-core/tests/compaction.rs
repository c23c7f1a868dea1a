//! Compaction may shorten the outbox but never change where it leads: replaying the compacted
//! queue leaves the same tree as replaying every queued operation, and the upload that remains
//! for a name still carries the first queued base version (so a collision is still seen).

use std::collections::BTreeMap;

use client_core::names;
use client_core::outbox::{compact, Op, OpKind};
use proptest::prelude::*;

/// What a replay leaves: each folder made offline with its parent and name, each file name
/// with the seq of the bytes that won and the base version it was sent with, and the rest.
#[derive(Debug, Default, PartialEq)]
struct End {
    folders: BTreeMap<i64, (i64, String)>,
    files: BTreeMap<(i64, String), (i64, Option<i64>)>,
    other: Vec<(i64, String)>,
}

fn replay(ops: &[Op]) -> End {
    let mut end = End::default();
    for op in ops {
        match &op.kind {
            OpKind::Mkdir { parent_id, name } => {
                end.folders.insert(-op.seq, (*parent_id, name.clone()));
            }
            OpKind::Rename { node_id, name } if end.folders.contains_key(node_id) => {
                end.folders.get_mut(node_id).unwrap().1 = name.clone();
            }
            OpKind::Upload {
                parent_id,
                name,
                base_version,
            } => {
                let k = (*parent_id, names::key(name));
                let base = end.files.get(&k).map_or(*base_version, |f| f.1);
                end.files.insert(k, (op.seq, base));
            }
            other => end.other.push((op.seq, format!("{other:?}"))),
        }
    }
    end
}

fn kind() -> impl Strategy<Value = OpKind> {
    let name = prop::sample::select(vec!["a", "A", "b", "Straße", "STRASSE", "c.txt"]);
    let parent = prop::sample::select(vec![1i64, 2, -1, -2, -3]);
    prop_oneof![
        (parent.clone(), name.clone()).prop_map(|(p, n)| OpKind::Mkdir {
            parent_id: p,
            name: n.into()
        }),
        (parent.clone(), name.clone(), prop::option::of(1i64..5)).prop_map(|(p, n, b)| {
            OpKind::Upload {
                parent_id: p,
                name: n.into(),
                base_version: b,
            }
        }),
        (parent.clone(), name).prop_map(|(id, n)| OpKind::Rename {
            node_id: id,
            name: n.into()
        }),
        (parent.clone(), parent.clone()).prop_map(|(id, p)| OpKind::Move {
            node_id: id,
            parent_id: p
        }),
        parent.prop_map(|id| OpKind::Delete { node_id: id }),
    ]
}

proptest! {
    #[test]
    fn compaction_keeps_the_end_state(kinds in prop::collection::vec(kind(), 0..24)) {
        let ops: Vec<Op> = kinds
            .into_iter()
            .enumerate()
            .map(|(i, kind)| Op { seq: i as i64 + 1, key: format!("k{i}"), kind })
            .collect();
        let compacted = compact(&ops);
        prop_assert!(compacted.len() <= ops.len());
        prop_assert_eq!(replay(&compacted), replay(&ops));
    }
}
