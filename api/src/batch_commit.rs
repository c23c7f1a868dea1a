//! A whole group of commits in a fixed number of set-based statements.
//!
//! Committing one by one costs about fifteen statements per commit, and on SQLite each
//! statement is two thread hand-offs inside sqlx: the writer spent its time waking threads,
//! not writing. Here the plain commits of a batch — a new file under a free name, or a new
//! version on top of the current one — are read, checked and written together: one statement
//! per step for the lot, whatever the batch size.
//!
//! Everything else (a retried key, identical content, a stale base that needs a conflicted
//! copy, a name held by a folder, missing chunks, a namespace that would pass its quota, and
//! any later commit aimed at a name an earlier one in the batch already aims at) goes to
//! [`commit::commit_in`] afterwards, in batch order, in the same transaction. Since the fast
//! commits touch pairwise different names and nodes, and every commit that shares a name with
//! another runs after it, the outcome is that of running the batch one commit at a time.
//!
//! As in `commit_in`, every refusal is decided before the first write; a database error
//! anywhere leaves the transaction for the caller to roll back.

use std::collections::{HashMap, HashSet};

use sqlx::{Any, Row as _, Transaction};
use wire::{CommitRequest, CommitResponse, NodeKind};

use crate::commit;
use crate::db::nodes::{node_from_row, NodeRow, NODE_COLUMNS, NODE_FROM};
use crate::db::users::Caller;
use crate::db::{now_ms, uploads::Upload, Backend};
use crate::error::{ApiError, ApiResult};
use crate::names::{self, Name};
use crate::settings::DEFAULT_QUOTA_BYTES;

/// One commit of a batch.
pub struct Commit<'a> {
    pub caller: &'a Caller,
    pub upload: &'a Upload,
    pub req: &'a CommitRequest,
}

/// Rows per multi-row statement: well under both databases' bound-parameter limits.
const ROWS: usize = 500;

/// A fast commit as it is planned.
struct Fast {
    /// Index in the batch.
    at: usize,
    parent_id: i64,
    name: Name,
    /// `Some(id)`: a new version of this file; `None`: a new file.
    node_id: Option<i64>,
    parent_version: Option<i64>,
    /// Bytes added to the namespace's usage.
    delta: i64,
}

/// Commits the whole batch in `tx`; the answers are in batch order. `Err` means the database
/// failed and the transaction must be rolled back.
pub async fn commit_all(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    batch: &[Commit<'_>],
) -> ApiResult<Vec<ApiResult<CommitResponse>>> {
    let mut answers: Vec<Option<ApiResult<CommitResponse>>> = Vec::with_capacity(batch.len());
    answers.resize_with(batch.len(), || None);
    let fast = candidates(batch, &mut answers);
    lock_namespaces(tx, backend, batch).await?;
    let (fast, seqs) = plan(tx, backend, batch, fast).await?;
    if !fast.is_empty() {
        for (at, answer) in write(tx, backend, batch, fast, &seqs).await? {
            answers[at] = Some(Ok(answer));
        }
    }
    // The rest, one at a time, in batch order, after the fast ones.
    let mut out = Vec::with_capacity(batch.len());
    for (c, answer) in batch.iter().zip(answers) {
        let r = match answer {
            Some(r) => r,
            None => commit::commit_in(tx, backend, c.caller, c.upload, c.req).await,
        };
        match r {
            Err(ApiError::Internal(e)) => return Err(ApiError::Internal(e)),
            r => out.push(r),
        }
    }
    Ok(out)
}

/// The commits that may take the fast path: valid, and the first of the batch to aim at their
/// name and to use their idempotency key. Invalid ones are answered at once.
fn candidates(
    batch: &[Commit<'_>],
    answers: &mut [Option<ApiResult<CommitResponse>>],
) -> Vec<Fast> {
    let mut names = HashSet::new();
    let mut keys = HashSet::new();
    let mut fast = Vec::new();
    for (at, c) in batch.iter().enumerate() {
        let name = match commit::validate(c.req) {
            Ok(n) => n,
            Err(e) => {
                answers[at] = Some(Err(e));
                continue;
            }
        };
        let first_name = names.insert((c.req.parent_id, name.key.clone()));
        let first_key = keys.insert((c.caller.device_id, c.req.idempotency_key.clone()));
        if first_name && first_key {
            fast.push(Fast {
                at,
                parent_id: c.req.parent_id,
                name,
                node_id: None,
                parent_version: None,
                delta: c.upload.manifest.size as i64,
            });
        }
    }
    fast
}

/// PostgreSQL: every namespace of the batch, locked in ascending order (two API nodes' batches
/// never wait on each other in a cycle). SQLite already has one writer.
async fn lock_namespaces(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    batch: &[Commit<'_>],
) -> sqlx::Result<()> {
    if backend != Backend::Postgres {
        return Ok(());
    }
    let ns = distinct(batch.iter().map(|c| c.caller.namespace_id));
    let sql = format!(
        "SELECT id FROM namespaces WHERE id IN ({}) ORDER BY id FOR UPDATE",
        list(1, ns.len())
    );
    bind_all(sqlx::query(&sql), &ns)
        .fetch_all(&mut **tx)
        .await?;
    Ok(())
}

/// Each namespace's change seq once the fast commits are logged.
type Seqs = HashMap<i64, i64>;

/// Reads what the fast commits need, keeps those that are plain, and charges their quota (the
/// last step, which applies per namespace whole or not at all).
async fn plan(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    batch: &[Commit<'_>],
    fast: Vec<Fast>,
) -> sqlx::Result<(Vec<Fast>, Seqs)> {
    if fast.is_empty() {
        return Ok((fast, Seqs::new()));
    }
    // Retried keys are answered from their record by the one-at-a-time path.
    let keys: Vec<(i64, String)> = fast
        .iter()
        .map(|f| {
            let c = &batch[f.at];
            (c.caller.device_id, c.req.idempotency_key.clone())
        })
        .collect();
    let sql = format!(
        "SELECT i.device_id, i.key FROM (VALUES {}) AS w \
         JOIN idempotency i ON i.device_id = w.column1 AND i.key = w.column2",
        rows(1, keys.len(), 2)
    );
    let q = bind_pairs(sqlx::query(&sql), &keys);
    let replayed: HashSet<(i64, String)> = q
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let mut fast: Vec<Fast> = fast
        .into_iter()
        .filter(|f| {
            let c = &batch[f.at];
            !replayed.contains(&(c.caller.device_id, c.req.idempotency_key.clone()))
        })
        .collect();
    if fast.is_empty() {
        return Ok((fast, Seqs::new()));
    }

    // The folders, and what their names hold now.
    let parent_ids = distinct(fast.iter().map(|f| f.parent_id));
    let sql = format!(
        "SELECT {NODE_COLUMNS} FROM {NODE_FROM} WHERE n.id IN ({}) AND n.deleted_at IS NULL",
        list(1, parent_ids.len())
    );
    let parents: HashMap<i64, NodeRow> = bind_all(sqlx::query(&sql), &parent_ids)
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(|r| {
            let p = node_from_row(r);
            (p.node.id, p)
        })
        .collect();
    // Exact (folder, name) pairs joined from a list: one index probe each. (`parent IN (…) AND
    // name IN (…)` made PostgreSQL walk every child of a large folder.)
    let wanted: Vec<(i64, String)> =
        distinct(fast.iter().map(|f| (f.parent_id, f.name.key.clone())));
    let sql = format!(
        "SELECT {NODE_COLUMNS}, n.name_key FROM (VALUES {}) AS w \
         JOIN nodes n ON n.parent_id = w.column1 AND n.name_key = w.column2 \
         LEFT JOIN versions v ON v.id = n.version_id WHERE n.deleted_at IS NULL",
        rows(1, wanted.len(), 2)
    );
    let children: Vec<(NodeRow, String)> = bind_pairs(sqlx::query(&sql), &wanted)
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(|r| (node_from_row(r), r.get(9)))
        .collect();
    let held: HashMap<(i64, String), NodeRow> = children
        .into_iter()
        .filter_map(|(c, key)| Some(((c.node.parent_id?, key), c)))
        .collect();
    fast.retain_mut(|f| {
        let c = &batch[f.at];
        let Some(parent) = parents.get(&f.parent_id) else {
            return false;
        };
        if parent.namespace_id != c.caller.namespace_id || parent.node.kind != NodeKind::Folder {
            return false;
        }
        let held = held
            .get(&(f.parent_id, f.name.key.clone()))
            .map(|e| &e.node);
        match (commit::find(held, &c.upload.manifest, c.req), held) {
            (commit::Outcome::NewFile, _) => true,
            (commit::Outcome::NextVersion, Some(e)) => match names::check(&e.name) {
                Ok(name) => {
                    f.name = name;
                    f.node_id = Some(e.id);
                    f.parent_version = e.version_id;
                    f.delta -= e.size as i64;
                    true
                }
                Err(_) => false,
            },
            // Refusals, unchanged content and conflicted copies go one at a time.
            _ => false,
        }
    });
    if fast.is_empty() {
        return Ok((fast, Seqs::new()));
    }
    let fast = pin_chunks(tx, backend, batch, fast).await?;
    if fast.is_empty() {
        return Ok((fast, Seqs::new()));
    }
    charge(tx, batch, fast).await
}

/// Keeps the commits whose chunks all exist and are usable by their namespace, and locks those
/// chunk rows against the collector until the transaction ends (see `gc::pin_chunks`).
async fn pin_chunks(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    batch: &[Commit<'_>],
    fast: Vec<Fast>,
) -> sqlx::Result<Vec<Fast>> {
    let wanted: Vec<(i64, String)> = distinct(fast.iter().flat_map(|f| {
        let c = &batch[f.at];
        let ns = c.caller.namespace_id;
        c.upload
            .manifest
            .chunks
            .iter()
            .map(move |ch| (ns, ch.hash.to_string()))
    }));
    let lock = match backend {
        Backend::Postgres => " FOR SHARE OF c",
        Backend::Sqlite => "",
    };
    let mut usable = HashSet::new();
    for part in wanted.chunks(ROWS) {
        let sql = format!(
            "SELECT u.namespace_id, c.hash FROM (VALUES {}) AS w \
             JOIN namespace_chunks u ON u.namespace_id = w.column1 AND u.hash = w.column2 \
             JOIN chunks c ON c.hash = u.hash{lock}",
            rows(1, part.len(), 2)
        );
        for r in bind_pairs(sqlx::query(&sql), part)
            .fetch_all(&mut **tx)
            .await?
        {
            usable.insert((r.get::<i64, _>(0), r.get::<String, _>(1)));
        }
    }
    Ok(fast
        .into_iter()
        .filter(|f| {
            let c = &batch[f.at];
            c.upload
                .manifest
                .chunks
                .iter()
                .all(|ch| usable.contains(&(c.caller.namespace_id, ch.hash.to_string())))
        })
        .collect())
}

/// One `UPDATE` for every namespace: adds the fast commits' bytes to its usage unless that
/// passes its quota, and moves its change sequence past their log entries. A namespace that
/// would pass its quota changes nothing and its commits go one at a time (each refused or
/// not on its own). Returns the fast commits left and their namespaces' new seqs.
async fn charge(
    tx: &mut Transaction<'static, Any>,
    batch: &[Commit<'_>],
    fast: Vec<Fast>,
) -> sqlx::Result<(Vec<Fast>, Seqs)> {
    // namespace → (bytes, commits, quota)
    let mut per_ns: Vec<(i64, i64, i64, i64)> = Vec::new();
    for f in &fast {
        let c = batch[f.at].caller;
        let quota = c.quota_bytes.unwrap_or(DEFAULT_QUOTA_BYTES);
        let quota = i64::try_from(quota).unwrap_or(i64::MAX);
        match per_ns.iter_mut().find(|n| n.0 == c.namespace_id) {
            Some(n) => {
                n.1 += f.delta;
                n.2 += 1;
            }
            None => per_ns.push((c.namespace_id, f.delta, 1, quota)),
        }
    }
    let sql = format!(
        "UPDATE namespaces SET used_bytes = used_bytes + v.column2, seq = seq + v.column3 \
         FROM (VALUES {}) AS v \
         WHERE namespaces.id = v.column1 \
         AND (v.column2 <= 0 OR namespaces.used_bytes + v.column2 <= v.column4) \
         RETURNING id, seq",
        rows(1, per_ns.len(), 4)
    );
    let mut q = sqlx::query(&sql);
    for (id, bytes, n, quota) in &per_ns {
        q = q.bind(*id).bind(*bytes).bind(*n).bind(*quota);
    }
    let seqs: Seqs = q
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let fast = fast
        .into_iter()
        .filter(|f| seqs.contains_key(&batch[f.at].caller.namespace_id))
        .collect();
    Ok((fast, seqs))
}

/// Writes the planned commits: nodes, versions, chunk lists, current versions, change log,
/// idempotency records, finished uploads. Fails only if the database does.
async fn write(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    batch: &[Commit<'_>],
    mut fast: Vec<Fast>,
    seqs: &Seqs,
) -> sqlx::Result<Vec<(usize, CommitResponse)>> {
    let now = now_ms();
    insert_nodes(tx, batch, &mut fast, now).await?;
    let version_ids = insert_versions(tx, batch, &fast, now).await?;
    insert_chunk_lists(tx, batch, &fast, &version_ids).await?;

    let sql = format!(
        "UPDATE nodes SET version_id = v.column2, modified_at = v.column3 \
         FROM (VALUES {}) AS v WHERE nodes.id = v.column1",
        rows(1, fast.len(), 3)
    );
    let mut q = sqlx::query(&sql);
    for (f, v) in fast.iter().zip(&version_ids) {
        q = q.bind(f.node_id).bind(*v).bind(now);
    }
    q.execute(&mut **tx).await?;

    log_changes(tx, backend, batch, &fast, seqs, now).await?;

    let answers: Vec<(usize, CommitResponse)> = fast
        .iter()
        .zip(&version_ids)
        .map(|(f, &version_id)| {
            let manifest = &batch[f.at].upload.manifest;
            let answer = commit::written(
                f.node_id.unwrap_or_default(),
                f.parent_id,
                f.name.display.clone(),
                manifest,
                version_id,
                now,
            );
            (f.at, answer)
        })
        .collect();

    for part in answers.chunks(ROWS) {
        let sql = format!(
            "INSERT INTO idempotency (device_id, key, response, created_at) VALUES {}",
            rows(1, part.len(), 4)
        );
        let mut q = sqlx::query(&sql);
        for (at, answer) in part {
            let c = &batch[*at];
            let json = serde_json::to_string(answer).map_err(|e| sqlx::Error::Encode(e.into()))?;
            q = q
                .bind(c.caller.device_id)
                .bind(&c.req.idempotency_key)
                .bind(json)
                .bind(now);
        }
        q.execute(&mut **tx).await?;
    }
    let uploads = distinct(fast.iter().map(|f| batch[f.at].upload.id.clone()));
    for part in uploads.chunks(ROWS) {
        let sql = format!("DELETE FROM uploads WHERE id IN ({})", list(1, part.len()));
        bind_all(sqlx::query(&sql), part).execute(&mut **tx).await?;
    }
    tracing::info!(commits = answers.len(), "batch of commits written");
    Ok(answers)
}

/// Inserts the new files' nodes and records their ids in `fast`.
async fn insert_nodes(
    tx: &mut Transaction<'static, Any>,
    batch: &[Commit<'_>],
    fast: &mut [Fast],
    now: i64,
) -> sqlx::Result<()> {
    let new: Vec<usize> = (0..fast.len())
        .filter(|&i| fast[i].node_id.is_none())
        .collect();
    for part in new.chunks(ROWS) {
        let sql = format!(
            "INSERT INTO nodes (namespace_id, parent_id, name, name_key, kind, created_at, modified_at) \
             VALUES {} RETURNING id, parent_id, name_key",
            rows(1, part.len(), 7)
        );
        let mut q = sqlx::query(&sql);
        for &i in part {
            let f = &fast[i];
            q = q
                .bind(batch[f.at].caller.namespace_id)
                .bind(f.parent_id)
                .bind(&f.name.display)
                .bind(&f.name.key)
                .bind("file")
                .bind(now)
                .bind(now);
        }
        let ids: HashMap<(i64, String), i64> = q
            .fetch_all(&mut **tx)
            .await?
            .iter()
            .map(|r| ((r.get(1), r.get(2)), r.get(0)))
            .collect();
        for &i in part {
            let f = &mut fast[i];
            f.node_id = ids.get(&(f.parent_id, f.name.key.clone())).copied();
            if f.node_id.is_none() {
                return Err(sqlx::Error::Protocol(
                    "an inserted node was not returned".into(),
                ));
            }
        }
    }
    Ok(())
}

/// Inserts one version per fast commit; the ids are in `fast` order.
async fn insert_versions(
    tx: &mut Transaction<'static, Any>,
    batch: &[Commit<'_>],
    fast: &[Fast],
    now: i64,
) -> sqlx::Result<Vec<i64>> {
    let mut by_node = HashMap::new();
    for part in fast.chunks(ROWS) {
        let sql = format!(
            "INSERT INTO versions (node_id, parent_version_id, size, content_hash, chunker, author_device_id, created_at) \
             VALUES {} RETURNING id, node_id",
            rows(1, part.len(), 7)
        );
        let mut q = sqlx::query(&sql);
        for f in part {
            let c = &batch[f.at];
            q = q
                .bind(f.node_id)
                .bind(f.parent_version)
                .bind(c.upload.manifest.size as i64)
                .bind(c.upload.manifest.hash.to_string())
                .bind(&c.upload.manifest.chunker)
                .bind(c.caller.device_id)
                .bind(now);
        }
        for r in q.fetch_all(&mut **tx).await? {
            by_node.insert(r.get::<i64, _>(1), r.get::<i64, _>(0));
        }
    }
    fast.iter()
        .map(|f| {
            f.node_id
                .and_then(|n| by_node.get(&n).copied())
                .ok_or_else(|| sqlx::Error::Protocol("an inserted version was not returned".into()))
        })
        .collect()
}

/// Every version's ordered chunk list, many versions per statement.
async fn insert_chunk_lists(
    tx: &mut Transaction<'static, Any>,
    batch: &[Commit<'_>],
    fast: &[Fast],
    version_ids: &[i64],
) -> sqlx::Result<()> {
    let all: Vec<(i64, usize, &wire::ChunkRef)> = fast
        .iter()
        .zip(version_ids)
        .flat_map(|(f, &v)| {
            batch[f.at]
                .upload
                .manifest
                .chunks
                .iter()
                .enumerate()
                .map(move |(i, c)| (v, i, c))
        })
        .collect();
    crate::db::chunks::insert_chunk_rows(tx, &all).await
}

/// The change-log entries, numbered up to each namespace's new seq (moved on by `charge`) in
/// batch order; PostgreSQL also notifies every API node of each namespace's newest seq, which
/// it delivers only when the transaction commits.
async fn log_changes(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    batch: &[Commit<'_>],
    fast: &[Fast],
    tops: &Seqs,
    now: i64,
) -> sqlx::Result<()> {
    let mut count: HashMap<i64, i64> = HashMap::new();
    for f in fast {
        *count.entry(batch[f.at].caller.namespace_id).or_default() += 1;
    }
    let mut next: HashMap<i64, i64> = count
        .iter()
        .map(|(ns, n)| (*ns, tops.get(ns).copied().unwrap_or_default() - n + 1))
        .collect();
    let entries: Vec<(i64, i64, i64)> = fast
        .iter()
        .map(|f| {
            let ns = batch[f.at].caller.namespace_id;
            let seq = next.get_mut(&ns).expect("counted above");
            *seq += 1;
            (ns, *seq - 1, f.node_id.unwrap_or_default())
        })
        .collect();
    for part in entries.chunks(ROWS) {
        let sql = format!(
            "INSERT INTO changes (namespace_id, seq, node_id, kind, created_at) VALUES {}",
            rows(1, part.len(), 5)
        );
        let mut q = sqlx::query(&sql);
        for (ns, seq, node) in part {
            q = q.bind(*ns).bind(*seq).bind(*node).bind("version").bind(now);
        }
        q.execute(&mut **tx).await?;
    }
    if backend == Backend::Postgres {
        let payloads: Vec<String> = tops.iter().map(|(ns, seq)| format!("{ns}:{seq}")).collect();
        let sql = format!(
            "SELECT pg_notify($1, v.column1) FROM (VALUES {}) AS v",
            rows(2, payloads.len(), 1)
        );
        let mut q = sqlx::query(&sql).bind(crate::hub::PG_CHANNEL);
        for p in &payloads {
            q = q.bind(p);
        }
        q.fetch_all(&mut **tx).await?;
    }
    Ok(())
}

/// `$first, $first+1, …` for `n` parameters.
fn list(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `($first, …), (…)`: `n` rows of `cols` parameters each.
fn rows(first: usize, n: usize, cols: usize) -> String {
    (0..n)
        .map(|r| format!("({})", list(first + r * cols, cols)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The values in first-seen order, without repeats.
fn distinct<T: std::hash::Hash + Eq + Clone>(values: impl Iterator<Item = T>) -> Vec<T> {
    let mut seen = HashSet::new();
    values.filter(|v| seen.insert(v.clone())).collect()
}

type Query<'q> = sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>;

fn bind_all<'q, T>(mut q: Query<'q>, values: &[T]) -> Query<'q>
where
    T: sqlx::Encode<'q, Any> + sqlx::Type<Any> + Clone + Send + 'q,
{
    for v in values {
        q = q.bind(v.clone());
    }
    q
}

/// Binds `(integer, text)` pairs, in order, as the rows of a two-column `VALUES` list.
fn bind_pairs<'q>(mut q: Query<'q>, pairs: &[(i64, String)]) -> Query<'q> {
    for (i, s) in pairs {
        q = q.bind(*i).bind(s.clone());
    }
    q
}
