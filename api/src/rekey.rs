//! Bringing stored names up to the current name rules, decided purely: given stored rows,
//! which get a new name or key. A name stored under older rules is cleaned
//! (`wire::names::sanitize`: a bidi control dropped, `:` made `_`, …); its key is recomputed;
//! and when two live siblings now share a key (`straße` and `STRASSE`, once keys fold case in
//! full), the older keeps its name and the later one is renamed `name (name clash).ext`. No
//! node is ever dropped. Reading and writing the rows is `db::rekey`.

use std::collections::{BTreeMap, HashSet};

use wire::names::{derive, key, sanitize};

/// What `derive` adds to the later of two siblings whose names now clash.
pub const CLASH_TAG: &str = "name clash";

/// A node as stored (never the root, whose name is empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub id: i64,
    pub namespace_id: i64,
    pub parent_id: i64,
    pub name: String,
    pub key: String,
    pub live: bool,
}

/// A node whose stored name or key must change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rekeyed {
    pub id: i64,
    pub namespace_id: i64,
    pub name: String,
    pub key: String,
    /// The name a user sees changed (not only its key): clients must hear of it.
    pub renamed: bool,
    pub live: bool,
}

/// The name and key `row` has under the current rules, before any clash is settled.
pub fn target(row: &Stored) -> (String, String) {
    let name = sanitize(&row.name);
    let k = key(&name);
    (name, k)
}

/// True if `row` needs a new name or key on its own (clashes aside).
pub fn changes(row: &Stored) -> bool {
    let (name, k) = target(row);
    name != row.name || k != row.key
}

/// The changes for `rows`: every trashed row that changes on its own, and for live rows,
/// whole sibling groups (every live child of a folder that holds a changing row must be
/// given, or a clash with an unchanged sibling would go unseen).
pub fn plan(rows: &[Stored]) -> Vec<Rekeyed> {
    let mut out = Vec::new();
    let mut folders: BTreeMap<i64, Vec<&Stored>> = BTreeMap::new();
    for row in rows {
        if row.live {
            folders.entry(row.parent_id).or_default().push(row);
        } else {
            let (name, k) = target(row);
            push(&mut out, row, name, k);
        }
    }
    for (_, mut siblings) in folders {
        siblings.sort_by_key(|r| r.id);
        let targets: Vec<(String, String)> = siblings.iter().map(|r| target(r)).collect();
        // The oldest holder of each key keeps it; every key any of them holds is taken.
        let mut taken: HashSet<String> = HashSet::new();
        let mut winner = vec![false; siblings.len()];
        for (i, (_, k)) in targets.iter().enumerate() {
            winner[i] = taken.insert(k.clone());
        }
        for (i, (row, (name, k))) in siblings.iter().zip(targets).enumerate() {
            if winner[i] {
                push(&mut out, row, name, k);
                continue;
            }
            let free = (1..)
                .map(|n| match n {
                    1 => derive(&name, CLASH_TAG),
                    n => derive(&name, &format!("{CLASH_TAG} {n}")),
                })
                .find(|candidate| !taken.contains(&candidate.key))
                .expect("some numbered tag is free");
            taken.insert(free.key.clone());
            push(&mut out, row, free.display, free.key);
        }
    }
    out
}

fn push(out: &mut Vec<Rekeyed>, row: &Stored, name: String, k: String) {
    if name == row.name && k == row.key {
        return;
    }
    out.push(Rekeyed {
        id: row.id,
        namespace_id: row.namespace_id,
        renamed: name != row.name,
        name,
        key: k,
        live: row.live,
    });
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn row(id: i64, parent_id: i64, name: &str, live: bool) -> Stored {
        Stored {
            id,
            namespace_id: 1,
            parent_id,
            name: name.to_owned(),
            // What the old rule (NFC, then lower case) stored.
            key: name.to_lowercase(),
            live,
        }
    }

    #[test]
    fn clashes_rename_the_later_sibling() {
        let rows = [
            row(5, 1, "STRASSE.txt", true),
            row(3, 1, "straße.txt", true),
            row(4, 1, "straße (name clash).txt", true),
            row(6, 1, "a:b", true),
            row(7, 2, "Maße", false),
            row(8, 2, "plain", true),
        ];
        let mut got = plan(&rows);
        got.sort_by_key(|r| r.id);
        let short: Vec<(i64, &str, &str, bool)> = got
            .iter()
            .map(|r| (r.id, r.name.as_str(), r.key.as_str(), r.renamed))
            .collect();
        assert_eq!(
            short,
            [
                (3, "straße.txt", "strasse.txt", false),
                (
                    4,
                    "straße (name clash).txt",
                    "strasse (name clash).txt",
                    false
                ),
                (
                    5,
                    "STRASSE (name clash 2).txt",
                    "strasse (name clash 2).txt",
                    true
                ),
                (6, "a_b", "a_b", true),
                (7, "Maße", "masse", false),
            ]
        );
    }

    fn name() -> impl Strategy<Value = String> {
        prop::collection::vec(
            prop::sample::select(vec!['a', 'A', 'ß', 's', 'S', 'ẞ', ':', '_', '.', 'x']),
            1..6,
        )
        .prop_map(|v| v.into_iter().collect())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        /// Whatever the stored siblings, afterwards every live key in a folder is unique,
        /// every name is valid, and no node is lost.
        #[test]
        fn live_keys_end_unique_and_valid(names in prop::collection::vec((name(), 0..3i64, any::<bool>()), 1..12)) {
            // Stored rows were unique under the old key among live siblings.
            let mut seen = HashSet::new();
            let rows: Vec<Stored> = names
                .iter()
                .enumerate()
                .map(|(i, (n, p, live))| row(i as i64 + 10, *p, n, *live))
                .filter(|r| !r.live || seen.insert((r.parent_id, r.key.clone())))
                .collect();
            let got = plan(&rows);
            let mut after: BTreeMap<i64, (i64, String, String, bool)> = rows
                .iter()
                .map(|r| (r.id, (r.parent_id, r.name.clone(), r.key.clone(), r.live)))
                .collect();
            for r in &got {
                let e = after.get_mut(&r.id).unwrap();
                e.1 = r.name.clone();
                e.2 = r.key.clone();
            }
            prop_assert_eq!(after.len(), rows.len());
            let mut keys = HashSet::new();
            for (parent, name, k, live) in after.values() {
                prop_assert!(wire::names::check(name).is_ok(), "{:?}", name);
                prop_assert_eq!(&wire::names::key(name), k);
                if *live {
                    prop_assert!(keys.insert((*parent, k.clone())), "{:?} twice", k);
                }
            }
        }
    }
}
