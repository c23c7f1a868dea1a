use proptest::prelude::*;
use wire::{ChunkRef, CommitRequest, Manifest, Node, NodeKind};

use super::*;

fn caller(device_id: i64, namespace_id: i64) -> Caller {
    Caller {
        user_id: namespace_id,
        username: format!("u{namespace_id}"),
        device_id,
        device_name: format!("d{device_id}"),
        namespace_id,
        root_id: 1,
        quota_bytes: 1_000,
        shared_bytes: 0,
        last_seen_at: 0,
    }
}

fn manifest(bytes: &[u8]) -> Manifest {
    let hash = wasm_chunker::hash_chunk(bytes);
    let chunk = ChunkRef {
        hash,
        offset: 0,
        size: bytes.len() as u32,
    };
    Manifest::from_chunks(vec![chunk])
}

fn upload(id: &str, bytes: &[u8]) -> Upload {
    Upload {
        id: id.into(),
        namespace_id: 1,
        device_id: 1,
        manifest: manifest(bytes),
        expires_at: 0,
        reserved_bytes: 0,
    }
}

fn request(parent_id: i64, name: &str, key: &str, base: Option<i64>) -> CommitRequest {
    CommitRequest {
        upload_id: key.into(),
        parent_id,
        name: name.into(),
        base_version: base,
        idempotency_key: key.into(),
        content_type: None,
    }
}

fn file(id: i64, name: &str, version: i64, bytes: &[u8]) -> Node {
    Node {
        id,
        parent_id: Some(1),
        name: name.into(),
        kind: NodeKind::File,
        version_id: Some(version),
        size: bytes.len() as u64,
        content_hash: Some(manifest(bytes).hash),
        modified_at: 0,
        modified_by: None,
        content_type: None,
        thumbnail: false,
    }
}

#[test]
fn validation_checks_name_and_key() {
    assert!(validate(&request(1, "a.txt", "k", None)).is_ok());
    let e = validate(&request(1, "a:b", "k", None)).unwrap_err();
    assert_eq!(e.code(), "invalid_name");
    let e = validate(&request(1, "a.txt", "", None)).unwrap_err();
    assert_eq!(e.code(), "bad_request");
    let long = "k".repeat(MAX_KEY_LEN + 1);
    assert!(validate(&request(1, "a.txt", &long, None)).is_err());
    assert!(validate(&request(1, "a.txt", &long[1..], None)).is_ok());
    let typed = |t: &str| CommitRequest {
        content_type: Some(t.into()),
        ..request(1, "a.txt", "k", None)
    };
    assert!(validate(&typed("image/PNG")).is_ok());
    assert_eq!(
        content_type(&typed("image/PNG")).unwrap().as_deref(),
        Some("image/png")
    );
    let e = validate(&typed("image/png; charset=x")).unwrap_err();
    assert_eq!(e.code(), "bad_request");
}

#[test]
fn outcome_follows_what_the_name_holds() {
    let m = manifest(b"new");
    let held = file(7, "a.txt", 3, b"old");
    let folder = Node {
        kind: NodeKind::Folder,
        version_id: None,
        content_hash: None,
        ..held.clone()
    };
    let req = |base| request(1, "a.txt", "k", base);
    assert_eq!(outcome(None, &m, &req(None)), Outcome::NewFile);
    assert_eq!(outcome(Some(&folder), &m, &req(None)), Outcome::Folder);
    assert_eq!(
        outcome(Some(&held), &m, &req(Some(3))),
        Outcome::NextVersion
    );
    assert_eq!(outcome(Some(&held), &m, &req(Some(2))), Outcome::StaleBase);
    assert_eq!(outcome(Some(&held), &m, &req(None)), Outcome::StaleBase);
    let same = file(7, "a.txt", 3, b"new");
    assert_eq!(outcome(Some(&same), &m, &req(Some(1))), Outcome::Unchanged);
}

#[test]
fn deltas_move_replaced_bytes_to_history_and_free_the_reservation() {
    let m = manifest(b"0123456789");
    assert_eq!(
        delta(&m, 4, 10),
        Delta {
            current: 6,
            history: 4,
            staged: -10
        }
    );
    assert_eq!(delta(&m, 0, 0).total(), 10);
}

#[test]
fn chunk_checks_count_missing_and_catch_wrong_sizes() {
    let m = manifest(b"abc");
    let mut stored = HashMap::new();
    let e = check_chunks(&m.chunks, &stored).unwrap_err();
    assert_eq!(e.code(), "upload_incomplete");
    stored.insert(m.chunks[0].hash, 4);
    let e = check_chunks(&m.chunks, &stored).unwrap_err();
    assert_eq!(e.code(), "invalid_manifest");
    stored.insert(m.chunks[0].hash, 3);
    assert!(check_chunks(&m.chunks, &stored).is_ok());
}

#[test]
fn only_a_folder_of_the_callers_namespace_keeps_a_commit_plain() {
    let (c, u) = (caller(1, 1), upload("u", b"x"));
    let req = request(1, "a.txt", "k", Some(3));
    let commit = Commit::home(&c, &u, &req);
    let (mut plain, _) = split(&[commit]);
    let p = &mut plain[0];
    let mine = Folder {
        namespace_id: 1,
        kind: NodeKind::Folder,
    };
    let theirs = Folder {
        namespace_id: 2,
        ..mine
    };
    assert!(!keep_plain(&mut p.clone(), commit, None, None));
    assert!(!keep_plain(&mut p.clone(), commit, Some(theirs), None));
    assert!(keep_plain(&mut p.clone(), commit, Some(mine), None));
    let held = file(9, "A.txt", 3, b"old");
    assert!(keep_plain(p, commit, Some(mine), Some(&held)));
    assert_eq!((p.node_id, p.parent_version), (Some(9), Some(3)));
    assert_eq!(
        p.name.display, "A.txt",
        "a new version keeps the stored name"
    );
    assert_eq!((p.delta.current, p.delta.history), (-2, 3));
    let stale = file(9, "A.txt", 4, b"old");
    assert!(!keep_plain(p, commit, Some(mine), Some(&stale)));
}

#[test]
fn charges_sum_per_namespace_in_first_seen_order() {
    let (a, b) = (caller(1, 10), caller(2, 20));
    let (u1, u2, u3) = (upload("1", b"aa"), upload("2", b"bbb"), upload("3", b"c"));
    let reqs = [
        request(1, "x", "1", None),
        request(1, "y", "2", None),
        request(1, "z", "3", None),
    ];
    let batch = [
        Commit::home(&b, &u1, &reqs[0]),
        Commit::home(&a, &u2, &reqs[1]),
        Commit::home(&b, &u3, &reqs[2]),
    ];
    let (plain, _) = split(&batch);
    let c = charges(&batch, &plain);
    assert_eq!(c.len(), 2);
    assert_eq!(
        (c[0].namespace_id, c[0].delta.current, c[0].commits),
        (20, 3, 2)
    );
    assert_eq!(
        (c[1].namespace_id, c[1].delta.current, c[1].commits),
        (10, 3, 1)
    );
    assert_eq!(c[0].quota, 1_000);
}

/// A batch of commits drawn from few folders, names, keys and devices, so that clashes are
/// common.
fn batch_shape() -> impl Strategy<Value = Vec<(i64, i64, u8, u8)>> {
    // (device, namespace, name, key); the key's number also picks one of four uploads
    prop::collection::vec((1i64..4, 1i64..3, 0u8..4, 0u8..6), 0..24)
}

/// Commits by `shape`'s callers, each with a name, key and upload of its own.
struct Distinct {
    callers: Vec<Caller>,
    uploads: Vec<Upload>,
    reqs: Vec<CommitRequest>,
}

impl Distinct {
    fn of(shape: &[(i64, i64, u8, u8)]) -> Distinct {
        Distinct {
            callers: shape.iter().map(|&(d, ns, _, _)| caller(d, ns)).collect(),
            uploads: (0..shape.len())
                .map(|i| upload(&format!("u{i}"), b"x"))
                .collect(),
            reqs: (0..shape.len())
                .map(|i| request(1, &format!("f{i}"), &format!("k{i}"), None))
                .collect(),
        }
    }

    fn batch(&self) -> Vec<Commit<'_>> {
        self.callers
            .iter()
            .zip(&self.reqs)
            .zip(&self.uploads)
            .map(|((caller, req), upload)| Commit::home(caller, upload, req))
            .collect()
    }
}

proptest! {
    /// The split keeps the batch's order: a commit is plain exactly when it is valid and no
    /// earlier valid commit aims at its name or uses its key or upload, so plain commits touch
    /// pairwise different ones, and every commit sharing one with them runs after them.
    #[test]
    fn the_split_keeps_batch_order(shape in batch_shape()) {
        let callers: Vec<Caller> = shape.iter().map(|&(d, ns, _, _)| caller(d, ns)).collect();
        let ups: Vec<Upload> = (0..4).map(|i| upload(&format!("u{i}"), b"x")).collect();
        let reqs: Vec<CommitRequest> = shape
            .iter()
            .map(|&(_, ns, n, k)| {
                let name = if n == 3 { "bad:name".to_string() } else { format!("f{n}") };
                request(ns, &name, &format!("k{}", k % 4), None)
            })
            .collect();
        let batch: Vec<Commit<'_>> = callers
            .iter()
            .zip(&reqs)
            .zip(&shape)
            .map(|((caller, req), s)| Commit::home(caller, &ups[usize::from(s.3) % 4], req))
            .collect();
        let (plain, answers) = split(&batch);
        let valid: Vec<Option<Name>> = batch.iter().map(|c| validate(c.req).ok()).collect();
        let clash = |a: usize, b: usize| match (&valid[a], &valid[b]) {
            (Some(x), Some(y)) => {
                (batch[a].req.parent_id, &x.key) == (batch[b].req.parent_id, &y.key)
                    || (batch[a].caller.device_id, &batch[a].req.idempotency_key)
                        == (batch[b].caller.device_id, &batch[b].req.idempotency_key)
                    || batch[a].upload.id == batch[b].upload.id
            }
            _ => false,
        };
        for at in 0..batch.len() {
            let is_plain = plain.iter().any(|p| p.at == at);
            let first = (0..at).all(|e| !clash(e, at));
            match &valid[at] {
                None => prop_assert!(matches!(answers[at], Some(Err(_)))),
                Some(_) => {
                    prop_assert!(answers[at].is_none());
                    prop_assert_eq!(is_plain, first, "commit {}", at);
                }
            }
        }
    }

    /// After `keep_order`, each namespace's plain commits are a prefix of its valid commits,
    /// whatever was dropped before.
    #[test]
    fn plain_commits_stay_a_prefix_per_namespace(
        shape in batch_shape(),
        dropped in prop::collection::vec(any::<bool>(), 24),
    ) {
        let owned = Distinct::of(&shape);
        let batch = owned.batch();
        let (mut plain, answers) = split(&batch);
        plain.retain(|p| !dropped[p.at]);
        keep_order(&batch, &answers, &mut plain);
        for ns in [1, 2] {
            let valid: Vec<usize> = (0..batch.len())
                .filter(|&at| batch[at].namespace_id == ns && answers[at].is_none())
                .collect();
            let kept: Vec<usize> = plain
                .iter()
                .map(|p| p.at)
                .filter(|&at| batch[at].namespace_id == ns)
                .collect();
            prop_assert_eq!(&valid[..kept.len()], &kept[..]);
            if let Some(&next) = valid.get(kept.len()) {
                prop_assert!(dropped[next]);
            }
        }
    }

    /// Change-log entries are numbered gap-free per namespace, in batch order, ending at the
    /// namespace's new seq.
    #[test]
    fn changes_are_numbered_gap_free(shape in batch_shape(), base in 0i64..1000) {
        let owned = Distinct::of(&shape);
        let batch = owned.batch();
        let (plain, _) = split(&batch);
        prop_assert_eq!(plain.len(), batch.len());
        let tops: Seqs = charges(&batch, &plain)
            .iter()
            .map(|c| (c.namespace_id, base + c.commits))
            .collect();
        let entries = number_changes(&batch, &plain, &tops);
        for (ns, top) in &tops {
            let seqs: Vec<i64> = entries.iter().filter(|e| e.0 == *ns).map(|e| e.1).collect();
            let want: Vec<i64> = (base + 1..=*top).collect();
            prop_assert_eq!(seqs, want);
        }
    }
}
