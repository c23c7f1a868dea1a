//! The rules of a commit as plain functions over rows already read: what a commit becomes,
//! which commits of a batch may be written set-based, what each charges its namespace, how
//! the change log is numbered. Nothing here reads or writes the database, so each rule has
//! one home, both commit paths (`one`, `batch`) ask it, and the tests below pin it without a
//! server.

use std::collections::{HashMap, HashSet};

use wire::{ChunkRef, CommitRequest, CommitResponse, Hash, Manifest, Node, NodeKind};

use crate::access;
use crate::db::uploads::Upload;
use crate::db::usage::Delta;
use crate::db::users::Caller;
use crate::error::{ApiError, ApiResult};
use crate::names::{self, Name};

/// Longest idempotency key a client may send.
pub const MAX_KEY_LEN: usize = 128;

/// Checks what can be checked before touching the database: the name, the key and the
/// content type.
pub fn validate(req: &CommitRequest) -> ApiResult<Name> {
    let name = names::check(&req.name)?;
    if req.idempotency_key.is_empty() || req.idempotency_key.len() > MAX_KEY_LEN {
        return Err(ApiError::InvalidKey(MAX_KEY_LEN));
    }
    content_type(req)?;
    Ok(name)
}

/// The commit's content type as stored: checked and lowercased (`crate::mime::normalise`).
pub fn content_type(req: &CommitRequest) -> ApiResult<Option<String>> {
    req.content_type
        .as_deref()
        .map(crate::mime::normalise)
        .transpose()
        .map_err(ApiError::BadParameter)
}

/// What a commit becomes, given what its name holds now: the rule both commit paths follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The name is free: a new file.
    NewFile,
    /// A folder holds the name: refused.
    Folder,
    /// The same bytes as the current version: nothing to write.
    Unchanged,
    /// Based on the current version: the next version of that file.
    NextVersion,
    /// Based on an older version (or on none): a conflicted copy beside the file.
    StaleBase,
}

pub fn outcome(held: Option<&Node>, manifest: &Manifest, req: &CommitRequest) -> Outcome {
    match held {
        None => Outcome::NewFile,
        Some(e) if e.kind == NodeKind::Folder => Outcome::Folder,
        Some(e) if e.content_hash == Some(manifest.hash) => Outcome::Unchanged,
        Some(e) if req.base_version.is_some() && req.base_version == e.version_id => {
            Outcome::NextVersion
        }
        Some(_) => Outcome::StaleBase,
    }
}

/// What a commit adds to its namespace's usage: the file's bytes, less a replaced version's
/// (which moves to the history), and its upload's reservation given back.
pub fn delta(manifest: &Manifest, replaced: u64, reserved: i64) -> Delta {
    Delta {
        current: manifest.size as i64 - replaced as i64,
        history: replaced as i64,
        staged: -reserved,
    }
}

/// A member's commit into a shared folder, `d` split between the namespaces it touches: the
/// file's bytes go to the shared namespace (its owner pays for them), the upload's
/// reservation is given back to the caller's home, which made it.
pub fn split_delta(d: Delta) -> (Delta, Delta) {
    (
        Delta { staged: 0, ..d },
        Delta {
            staged: d.staged,
            ..Delta::default()
        },
    )
}

/// Refuses a chunk list that names chunks the namespace cannot use (`upload_incomplete`, how
/// many) or names a stored chunk at another size (`invalid_manifest`). `stored`: the chunks of
/// the list the namespace may use, with their verified sizes.
pub fn check_chunks(chunks: &[ChunkRef], stored: &HashMap<Hash, u32>) -> ApiResult<()> {
    let wanted: HashSet<Hash> = chunks.iter().map(|c| c.hash).collect();
    let missing = wanted.iter().filter(|h| !stored.contains_key(h)).count();
    if missing > 0 {
        return Err(ApiError::UploadIncomplete(missing));
    }
    if let Some((hash, declared, size)) = crate::db::chunks::size_mismatch(chunks, stored) {
        return Err(ApiError::InvalidManifest(format!(
            "chunk {hash} is {size} bytes, not {declared}"
        )));
    }
    Ok(())
}

/// The answer for a version just written: what reading the node back would give, without
/// the round trip.
pub fn written(
    node_id: i64,
    parent_id: i64,
    name: String,
    manifest: &Manifest,
    content_type: Option<String>,
    version_id: i64,
    now: i64,
) -> CommitResponse {
    CommitResponse {
        node: Node {
            id: node_id,
            parent_id: Some(parent_id),
            name,
            kind: NodeKind::File,
            version_id: Some(version_id),
            size: manifest.size,
            content_hash: Some(manifest.hash),
            modified_at: now,
            modified_by: None,
            content_type,
            thumbnail: false,
        },
        version_id,
        unchanged: false,
        conflict: None,
    }
}

/// One commit of a batch.
#[derive(Clone, Copy)]
pub struct Commit<'a> {
    pub caller: &'a Caller,
    pub upload: &'a Upload,
    pub req: &'a CommitRequest,
    /// The namespace the commit writes into: its folder's, read when it was queued. The
    /// caller's home, or a shared folder's namespace for a member's commit.
    pub namespace_id: i64,
    /// That namespace's owner's quota (the caller's own for its home).
    pub quota_bytes: u64,
}

impl<'a> Commit<'a> {
    /// A commit into the caller's own home.
    pub fn home(caller: &'a Caller, upload: &'a Upload, req: &'a CommitRequest) -> Self {
        Commit {
            caller,
            upload,
            req,
            namespace_id: caller.namespace_id,
            quota_bytes: caller.home_room(),
        }
    }
}

/// A commit of a batch that may be written set-based, as it is planned.
#[derive(Debug, Clone, PartialEq)]
pub struct Plain {
    /// Index in the batch.
    pub at: usize,
    pub parent_id: i64,
    pub name: Name,
    /// `Some(id)`: a new version of this file; `None`: a new file.
    pub node_id: Option<i64>,
    pub parent_version: Option<i64>,
    pub delta: Delta,
}

/// Answers for a batch: `Some` once decided, `None` while a commit waits for the next step.
pub type Answers = Vec<Option<ApiResult<CommitResponse>>>;

/// The batch split. The commits that may take the set-based path: valid, and the first of the
/// batch to aim at their name, to use their idempotency key and to use their upload (which a
/// commit consumes). Invalid ones are answered at once; the others wait for the
/// one-at-a-time path, which runs after the set-based one. Since the plain commits share no
/// name, key or upload, and every commit sharing one with them comes later in the batch, the
/// order of the whole is that of the batch.
pub fn split(batch: &[Commit<'_>]) -> (Vec<Plain>, Answers) {
    let mut answers: Answers = Vec::with_capacity(batch.len());
    answers.resize_with(batch.len(), || None);
    let mut names = HashSet::new();
    let mut keys = HashSet::new();
    let mut uploads = HashSet::new();
    let mut plain = Vec::new();
    for (at, c) in batch.iter().enumerate() {
        let name = match validate(c.req) {
            Ok(n) => n,
            Err(e) => {
                answers[at] = Some(Err(e));
                continue;
            }
        };
        let first_name = names.insert((c.req.parent_id, name.key.clone()));
        let first_key = keys.insert((c.caller.device_id, c.req.idempotency_key.clone()));
        let first_upload = uploads.insert(c.upload.id.as_str());
        if first_name && first_key && first_upload {
            plain.push(Plain {
                at,
                parent_id: c.req.parent_id,
                name,
                node_id: None,
                parent_version: None,
                delta: delta(&c.upload.manifest, 0, 0),
            });
        }
    }
    (plain, answers)
}

/// Keeps the plain commits of each namespace a prefix of its commits in batch order: drops
/// every plain commit that comes after a commit of its namespace that is not plain (and not
/// already refused as invalid). Commits of one namespace share its quota, and a conflicted
/// copy's name may be any name, so writing a later commit first could change what an earlier
/// one finds; commits of different namespaces share nothing. Call it after each step that
/// drops plain commits. (Within the prefix, order does not matter: a commit's charge is never
/// negative, so when the namespace's sum fits, every prefix of it fits too.)
pub fn keep_order(batch: &[Commit<'_>], answers: &Answers, plain: &mut Vec<Plain>) {
    let kept: HashSet<usize> = plain.iter().map(|p| p.at).collect();
    let mut first_left: HashMap<i64, usize> = HashMap::new();
    for (at, c) in batch.iter().enumerate() {
        if answers[at].is_none() && !kept.contains(&at) {
            first_left.entry(c.namespace_id).or_insert(at);
        }
    }
    plain.retain(|p| {
        let ns = batch[p.at].namespace_id;
        first_left.get(&ns).is_none_or(|&left| p.at < left)
    });
}

/// A folder as the batch planner needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Folder {
    pub namespace_id: i64,
    pub kind: NodeKind,
}

/// Keeps `p` on the set-based path if its folder is in the caller's home (the namespace it was
/// queued for) and what its name holds makes it a new file or the next version; fills in the
/// version it replaces. The rest (refusals, unchanged content, conflicted copies, a member's
/// commit into a shared folder) goes one at a time.
pub fn keep_plain(
    p: &mut Plain,
    c: Commit<'_>,
    folder: Option<Folder>,
    held: Option<&Node>,
) -> bool {
    match folder {
        Some(f)
            if access::is_home(c.caller, f.namespace_id)
                && access::is_home(c.caller, c.namespace_id)
                && f.kind == NodeKind::Folder => {}
        _ => return false,
    }
    match (outcome(held, &c.upload.manifest, c.req), held) {
        (Outcome::NewFile, _) => true,
        (Outcome::NextVersion, Some(e)) => match names::check(&e.name) {
            Ok(name) => {
                p.name = name;
                p.node_id = Some(e.id);
                p.parent_version = e.version_id;
                p.delta = delta(&c.upload.manifest, e.size, 0);
                true
            }
            Err(_) => false,
        },
        _ => false,
    }
}

/// Whether every chunk of `c`'s list may be used by its namespace at the size the list gives.
/// `usable`: (namespace, hash) → stored size.
pub fn chunks_usable(c: Commit<'_>, usable: &HashMap<(i64, String), i64>) -> bool {
    let ns = c.caller.namespace_id;
    c.upload
        .manifest
        .chunks
        .iter()
        .all(|ch| usable.get(&(ns, ch.hash.to_string())) == Some(&i64::from(ch.size)))
}

/// What the plain commits of one namespace charge it, all or nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Charge {
    pub namespace_id: i64,
    pub delta: Delta,
    /// How many commits (and change-log entries) it covers.
    pub commits: i64,
    pub quota: u64,
}

impl Charge {
    /// Whether the namespace, holding `held` bytes now (under its lock), takes this charge:
    /// anything that does not grow it, or growth that stays within the quota.
    pub fn fits(&self, held: i64) -> bool {
        let total = self.delta.total();
        let quota = i64::try_from(self.quota).unwrap_or(i64::MAX);
        total <= 0 || held.saturating_add(total) <= quota
    }
}

/// The plain commits' deltas summed per namespace, in first-seen order.
pub fn charges(batch: &[Commit<'_>], plain: &[Plain]) -> Vec<Charge> {
    let mut out: Vec<Charge> = Vec::new();
    for p in plain {
        let c = batch[p.at].caller;
        let (ns, d) = (c.namespace_id, p.delta);
        match out.iter_mut().find(|n| n.namespace_id == ns) {
            Some(n) => {
                n.delta.current += d.current;
                n.delta.history += d.history;
                n.delta.staged += d.staged;
                n.commits += 1;
            }
            None => out.push(Charge {
                namespace_id: c.namespace_id,
                delta: d,
                commits: 1,
                quota: c.quota_bytes,
            }),
        }
    }
    out
}

/// Each namespace's change seq once its plain commits are logged.
pub type Seqs = HashMap<i64, i64>;

/// The change-log entries (namespace, seq, node) of the plain commits, numbered in batch order
/// up to each namespace's new seq `tops` (moved on by the charge by as many as it has commits),
/// so every namespace's log stays gap-free.
pub fn number_changes(
    batch: &[Commit<'_>],
    plain: &[Plain],
    tops: &Seqs,
) -> Vec<(i64, i64, i64, Option<i64>)> {
    let mut count: HashMap<i64, i64> = HashMap::new();
    for p in plain {
        *count.entry(batch[p.at].namespace_id).or_default() += 1;
    }
    let mut next: HashMap<i64, i64> = count
        .iter()
        .map(|(ns, n)| (*ns, tops.get(ns).copied().unwrap_or_default() - n + 1))
        .collect();
    plain
        .iter()
        .map(|p| {
            let ns = batch[p.at].namespace_id;
            let seq = next.get_mut(&ns).expect("counted above");
            *seq += 1;
            let actor = Some(batch[p.at].caller.device_id);
            (ns, *seq - 1, p.node_id.unwrap_or_default(), actor)
        })
        .collect()
}

/// Every namespace the batch's commits lock, in ascending order: the ones they write into, and
/// the homes whose upload reservations members' commits into shared folders give back. One
/// order for every transaction that takes several, so two API nodes' batches on one
/// PostgreSQL never wait on each other in a cycle.
pub fn namespaces(batch: &[Commit<'_>]) -> Vec<i64> {
    let mut ids: Vec<i64> = batch
        .iter()
        .flat_map(|c| [c.namespace_id, c.caller.namespace_id])
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// The values in first-seen order, without repeats.
pub fn distinct<T: std::hash::Hash + Eq + Clone>(values: impl Iterator<Item = T>) -> Vec<T> {
    let mut seen = HashSet::new();
    values.filter(|v| seen.insert(v.clone())).collect()
}

#[cfg(test)]
#[path = "rules_tests.rs"]
mod tests;
