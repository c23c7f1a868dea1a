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

use sqlx::{Any, Transaction};
use wire::{CommitRequest, CommitResponse, NodeKind};

use crate::commit;
use crate::db::batch_tx::{BatchTx, Cells, Record, Value};
use crate::db::chunks;
use crate::db::json_rows::{Col, Rows};
use crate::db::nodes::{node_from_row, NodeRow, NODE_COLUMNS, NODE_FROM};
use crate::db::users::Caller;
use crate::db::{now_ms, uploads::Upload, usage, Backend};
use crate::error::{ApiError, ApiResult};
use crate::names::{self, Name};
use crate::settings::DEFAULT_QUOTA_BYTES;

/// One commit of a batch.
pub struct Commit<'a> {
    pub caller: &'a Caller,
    pub upload: &'a Upload,
    pub req: &'a CommitRequest,
}

/// A fast commit as it is planned.
struct Fast {
    /// Index in the batch.
    at: usize,
    parent_id: i64,
    name: Name,
    /// `Some(id)`: a new version of this file; `None`: a new file.
    node_id: Option<i64>,
    parent_version: Option<i64>,
    /// What the commit adds to its namespace's usage: the file's bytes (less a replaced
    /// version's, which moves to the history), and its upload's reservation given back.
    delta: usage::Delta,
}

/// The plain commits of the batch, written in `tx`: their answers at their places, `None`
/// for the commits left to [`finish`]. `Err` means the database failed and the transaction
/// must be rolled back.
pub async fn fast(
    tx: &mut impl BatchTx,
    batch: &[Commit<'_>],
) -> ApiResult<Vec<Option<ApiResult<CommitResponse>>>> {
    let mut answers: Vec<Option<ApiResult<CommitResponse>>> = Vec::with_capacity(batch.len());
    answers.resize_with(batch.len(), || None);
    let fast = candidates(batch, &mut answers);
    lock_namespaces(tx, batch).await?;
    let (fast, seqs) = plan(tx, batch, fast).await?;
    if !fast.is_empty() {
        for (at, answer) in write(tx, batch, fast, &seqs).await? {
            answers[at] = Some(Ok(answer));
        }
    }
    Ok(answers)
}

/// The commits [`fast`] left (`None` in `answers`), one at a time in batch order, in `tx`;
/// all answers in batch order. They run after the fast ones, which is sound because those
/// aim at pairwise different names, and every commit sharing a name or key with one of them
/// comes later in the batch. `Err` means the database failed.
pub async fn finish(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    batch: &[Commit<'_>],
    answers: Vec<Option<ApiResult<CommitResponse>>>,
) -> ApiResult<Vec<ApiResult<CommitResponse>>> {
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
                delta: usage::Delta {
                    current: c.upload.manifest.size as i64,
                    ..Default::default()
                },
            });
        }
    }
    fast
}

/// PostgreSQL: every namespace of the batch, locked in ascending order (two API nodes' batches
/// never wait on each other in a cycle). SQLite already has one writer.
async fn lock_namespaces(tx: &mut impl BatchTx, batch: &[Commit<'_>]) -> sqlx::Result<()> {
    let backend = tx.backend();
    if backend != Backend::Postgres {
        return Ok(());
    }
    let ns: Vec<(i64,)> = distinct(batch.iter().map(|c| (c.caller.namespace_id,)));
    let t = Rows::new(backend, &[Col::Int], &ns)?;
    let sql = format!(
        "SELECT id FROM namespaces WHERE id IN (SELECT column1 FROM {} AS r) ORDER BY id FOR UPDATE",
        t.table(1)
    );
    tx.fetch(&sql, t.args()?).await?;
    Ok(())
}

/// Each namespace's change seq once the fast commits are logged.
type Seqs = HashMap<i64, i64>;

/// Reads what the fast commits need, keeps those that are plain, and charges their quota (the
/// last step, which applies per namespace whole or not at all).
async fn plan(
    tx: &mut impl BatchTx,
    batch: &[Commit<'_>],
    fast: Vec<Fast>,
) -> sqlx::Result<(Vec<Fast>, Seqs)> {
    let backend = tx.backend();
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
    let replayed: HashSet<(i64, String)> = pair_rows(tx, &keys, |w| {
        format!(
            "SELECT i.device_id, i.key FROM {w} AS w \
             JOIN idempotency i ON i.device_id = w.column1 AND i.key = w.column2"
        )
    })
    .await?
    .iter()
    .map(|r| (r.int(0), r.text(1)))
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
    let parent_ids: Vec<(i64,)> = distinct(fast.iter().map(|f| (f.parent_id,)));
    let t = Rows::new(backend, &[Col::Int], &parent_ids)?;
    let sql = format!(
        "SELECT {NODE_COLUMNS} FROM {NODE_FROM} \
         WHERE n.id IN (SELECT column1 FROM {} AS r) AND n.deleted_at IS NULL",
        t.table(1)
    );
    let parents: HashMap<i64, NodeRow> = tx
        .fetch(&sql, t.args()?)
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
    let t = Rows::new(backend, &[Col::Int, Col::Text], &wanted)?;
    let sql = format!(
        "SELECT {NODE_COLUMNS}, n.name_key FROM {} AS w \
         JOIN nodes n ON n.parent_id = w.column1 AND n.name_key = w.column2 \
         LEFT JOIN versions v ON v.id = n.version_id WHERE n.deleted_at IS NULL",
        t.table(1)
    );
    let children: Vec<(NodeRow, String)> = tx
        .fetch(&sql, t.args()?)
        .await?
        .iter()
        .map(|r| (node_from_row(r), r.text(9)))
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
                    f.delta.current -= e.size as i64;
                    f.delta.history += e.size as i64;
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
    let fast = pin_chunks(tx, batch, fast).await?;
    if fast.is_empty() {
        return Ok((fast, Seqs::new()));
    }
    let fast = release_reservations(tx, batch, fast).await?;
    if fast.is_empty() {
        return Ok((fast, Seqs::new()));
    }
    charge(tx, batch, fast).await
}

/// Keeps the commits whose chunks all exist, are usable by their namespace and are listed at
/// their stored sizes, and locks those chunk rows against the collector until the transaction
/// ends (see `gc::pin_chunks`, which refuses the others when they run one at a time).
async fn pin_chunks(
    tx: &mut impl BatchTx,
    batch: &[Commit<'_>],
    fast: Vec<Fast>,
) -> sqlx::Result<Vec<Fast>> {
    let backend = tx.backend();
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
    let usable: HashMap<(i64, String), i64> = pair_rows(tx, &wanted, |w| {
        format!(
            "SELECT u.namespace_id, c.hash, c.size FROM {w} AS w \
             JOIN namespace_chunks u ON u.namespace_id = w.column1 AND u.hash = w.column2 \
             JOIN chunks c ON c.hash = u.hash{lock}"
        )
    })
    .await?
    .iter()
    .map(|r| ((r.int(0), r.text(1)), r.int(2)))
    .collect();
    Ok(fast
        .into_iter()
        .filter(|f| {
            let c = &batch[f.at];
            c.upload.manifest.chunks.iter().all(|ch| {
                usable.get(&(c.caller.namespace_id, ch.hash.to_string()))
                    == Some(&i64::from(ch.size))
            })
        })
        .collect())
}

/// Gives back each fast commit's upload reservation (read here, inside the transaction: a
/// resume may have added to it since the upload was loaded). A commit whose upload is gone
/// (cancelled or expired meanwhile) goes one at a time, where it is refused.
async fn release_reservations(
    tx: &mut impl BatchTx,
    batch: &[Commit<'_>],
    mut fast: Vec<Fast>,
) -> sqlx::Result<Vec<Fast>> {
    let backend = tx.backend();
    let ids: Vec<(String,)> = distinct(fast.iter().map(|f| (batch[f.at].upload.id.clone(),)));
    let t = Rows::new(backend, &[Col::Text], &ids)?;
    let sql = format!(
        "SELECT id, reserved_bytes FROM uploads WHERE id IN (SELECT column1 FROM {} AS r)",
        t.table(1)
    );
    let reserved: HashMap<String, i64> = tx
        .fetch(&sql, t.args()?)
        .await?
        .iter()
        .map(|r| (r.text(0), r.int(1)))
        .collect();
    fast.retain_mut(|f| match reserved.get(&batch[f.at].upload.id) {
        Some(&r) => {
            f.delta.staged = -r;
            true
        }
        None => false,
    });
    Ok(fast)
}

/// One `UPDATE` for every namespace: adds the fast commits' bytes to its usage unless that
/// passes its quota, and moves its change sequence past their log entries. A namespace that
/// would pass its quota changes nothing and its commits go one at a time (each making room
/// from old versions, or refused, on its own). Returns the fast commits left and their
/// namespaces' new seqs.
async fn charge(
    tx: &mut impl BatchTx,
    batch: &[Commit<'_>],
    fast: Vec<Fast>,
) -> sqlx::Result<(Vec<Fast>, Seqs)> {
    let backend = tx.backend();
    // namespace → (current, history, staged, total, commits, quota)
    let mut per_ns: Vec<(i64, i64, i64, i64, i64, i64, i64)> = Vec::new();
    for f in &fast {
        let c = batch[f.at].caller;
        let quota = c.quota_bytes.unwrap_or(DEFAULT_QUOTA_BYTES);
        let quota = i64::try_from(quota).unwrap_or(i64::MAX);
        let d = f.delta;
        match per_ns.iter_mut().find(|n| n.0 == c.namespace_id) {
            Some(n) => {
                n.1 += d.current;
                n.2 += d.history;
                n.3 += d.staged;
                n.4 += d.total();
                n.5 += 1;
            }
            None => per_ns.push((
                c.namespace_id,
                d.current,
                d.history,
                d.staged,
                d.total(),
                1,
                quota,
            )),
        }
    }
    let t = Rows::new(backend, &[Col::Int; 7], &per_ns)?;
    let sql = format!(
        "UPDATE namespaces SET used_bytes = used_bytes + v.column2, \
         history_bytes = history_bytes + v.column3, staged_bytes = staged_bytes + v.column4, \
         seq = seq + v.column6 \
         FROM {} AS v \
         WHERE namespaces.id = v.column1 \
         AND (v.column5 <= 0 OR \
              namespaces.used_bytes + namespaces.history_bytes + namespaces.staged_bytes \
              + v.column5 <= v.column7) \
         RETURNING id, seq",
        t.table(1)
    );
    let seqs: Seqs = tx
        .fetch(&sql, t.args()?)
        .await?
        .iter()
        .map(|r| (r.int(0), r.int(1)))
        .collect();
    let fast = fast
        .into_iter()
        .filter(|f| seqs.contains_key(&batch[f.at].caller.namespace_id))
        .collect();
    Ok((fast, seqs))
}

/// Writes the planned commits: nodes, versions, chunk lists, current versions, change log,
/// idempotency records, finished uploads. Fails only if the database does. The nodes and
/// versions are inserted first, since the rest refers to their ids.
async fn write(
    tx: &mut impl BatchTx,
    batch: &[Commit<'_>],
    mut fast: Vec<Fast>,
    seqs: &Seqs,
) -> sqlx::Result<Vec<(usize, CommitResponse)>> {
    let backend = tx.backend();
    let now = now_ms();
    insert_nodes(tx, batch, &mut fast, now).await?;
    let version_ids = insert_versions(tx, batch, &fast, now).await?;
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

    // Statement templates, each with its rows in `{rows}`; numbered when they run.
    let mut tail: Vec<(&str, Rows)> = Vec::with_capacity(5);
    for rows in chunk_lists(backend, batch, &fast, &version_ids)? {
        tail.push((chunks::INSERT_CHUNK_ROWS, rows));
    }
    let current: Vec<(Option<i64>, i64, i64)> = fast
        .iter()
        .zip(&version_ids)
        .map(|(f, &v)| (f.node_id, v, now))
        .collect();
    tail.push((
        "UPDATE nodes SET version_id = v.column2, modified_at = v.column3 \
         FROM {rows} AS v WHERE nodes.id = v.column1",
        Rows::new(backend, &[Col::Int; 3], &current)?,
    ));
    tail.push((
        "INSERT INTO changes (namespace_id, seq, node_id, kind, created_at) \
         SELECT column1, column2, column3, 'version', column4 FROM {rows} AS r",
        Rows::new(
            backend,
            &[Col::Int; 4],
            &change_entries(batch, &fast, seqs, now),
        )?,
    ));
    let records = answers
        .iter()
        .map(|(at, answer)| {
            let c = &batch[*at];
            let json = serde_json::to_string(answer).map_err(|e| sqlx::Error::Encode(e.into()))?;
            Ok((c.caller.device_id, &c.req.idempotency_key, json, now))
        })
        .collect::<sqlx::Result<Vec<_>>>()?;
    tail.push((
        "INSERT INTO idempotency (device_id, key, response, created_at) \
         SELECT column1, column2, column3, column4 FROM {rows} AS r",
        Rows::new(
            backend,
            &[Col::Int, Col::Text, Col::Text, Col::Int],
            &records,
        )?,
    ));
    let uploads: Vec<(String,)> = distinct(fast.iter().map(|f| (batch[f.at].upload.id.clone(),)));
    tail.push((
        "DELETE FROM upload_chunks WHERE upload_id IN (SELECT column1 FROM {rows} AS r)",
        Rows::new(backend, &[Col::Text], &uploads)?,
    ));
    tail.push((
        "DELETE FROM uploads WHERE id IN (SELECT column1 FROM {rows} AS r)",
        Rows::new(backend, &[Col::Text], &uploads)?,
    ));
    for (template, rows) in tail {
        tx.execute(&rows.fill(template, 1), rows.args()?).await?;
    }
    if backend == Backend::Postgres {
        notify(tx, seqs).await?;
    }
    tracing::info!(commits = answers.len(), "batch of commits written");
    Ok(answers)
}

/// Inserts the new files' nodes and records their ids in `fast`.
async fn insert_nodes(
    tx: &mut impl BatchTx,
    batch: &[Commit<'_>],
    fast: &mut [Fast],
    now: i64,
) -> sqlx::Result<()> {
    let backend = tx.backend();
    let rows: Vec<(i64, i64, &str, &str)> = fast
        .iter()
        .filter(|f| f.node_id.is_none())
        .map(|f| {
            let ns = batch[f.at].caller.namespace_id;
            (
                ns,
                f.parent_id,
                f.name.display.as_str(),
                f.name.key.as_str(),
            )
        })
        .collect();
    if rows.is_empty() {
        return Ok(());
    }
    let t = Rows::new(backend, &[Col::Int, Col::Int, Col::Text, Col::Text], &rows)?;
    let sql = format!(
        "INSERT INTO nodes (namespace_id, parent_id, name, name_key, kind, created_at, modified_at) \
         SELECT column1, column2, column3, column4, 'file', $1, $1 FROM {} AS r \
         RETURNING id, parent_id, name_key",
        t.table(2)
    );
    let ids: HashMap<(i64, String), i64> = tx
        .fetch(&sql, [vec![Value::Int(Some(now))], t.args()?].concat())
        .await?
        .iter()
        .map(|r| ((r.int(1), r.text(2)), r.int(0)))
        .collect();
    for f in fast.iter_mut().filter(|f| f.node_id.is_none()) {
        f.node_id = ids.get(&(f.parent_id, f.name.key.clone())).copied();
        if f.node_id.is_none() {
            return Err(sqlx::Error::Protocol(
                "an inserted node was not returned".into(),
            ));
        }
    }
    Ok(())
}

/// node, parent version, size, content hash, chunker, author device
type VersionRow<'a> = (Option<i64>, Option<i64>, i64, String, &'a str, i64);

/// Inserts one version per fast commit; the ids are in `fast` order.
async fn insert_versions(
    tx: &mut impl BatchTx,
    batch: &[Commit<'_>],
    fast: &[Fast],
    now: i64,
) -> sqlx::Result<Vec<i64>> {
    let backend = tx.backend();
    let rows: Vec<VersionRow<'_>> = fast
        .iter()
        .map(|f| {
            let c = &batch[f.at];
            let m = &c.upload.manifest;
            let size = m.size as i64;
            let hash = m.hash.to_string();
            (
                f.node_id,
                f.parent_version,
                size,
                hash,
                m.chunker.as_str(),
                c.caller.device_id,
            )
        })
        .collect();
    let t = Rows::new(
        backend,
        &[Col::Int, Col::Int, Col::Int, Col::Text, Col::Text, Col::Int],
        &rows,
    )?;
    let sql = format!(
        "INSERT INTO versions (node_id, parent_version_id, size, content_hash, chunker, author_device_id, created_at) \
         SELECT column1, column2, column3, column4, column5, column6, $1 FROM {} AS r \
         RETURNING id, node_id",
        t.table(2)
    );
    let by_node: HashMap<i64, i64> = tx
        .fetch(&sql, [vec![Value::Int(Some(now))], t.args()?].concat())
        .await?
        .iter()
        .map(|r| (r.int(1), r.int(0)))
        .collect();
    fast.iter()
        .map(|f| {
            f.node_id
                .and_then(|n| by_node.get(&n).copied())
                .ok_or_else(|| sqlx::Error::Protocol("an inserted version was not returned".into()))
        })
        .collect()
}

/// Every version's ordered chunk list, as the rows of `chunks::INSERT_CHUNK_ROWS`.
fn chunk_lists(
    backend: Backend,
    batch: &[Commit<'_>],
    fast: &[Fast],
    version_ids: &[i64],
) -> sqlx::Result<Vec<Rows>> {
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
    chunks::chunk_rows(backend, &all)
}

/// The change-log entries (namespace, seq, node, time), numbered up to each namespace's new
/// seq (moved on by `charge`) in batch order.
fn change_entries(
    batch: &[Commit<'_>],
    fast: &[Fast],
    tops: &Seqs,
    now: i64,
) -> Vec<(i64, i64, i64, i64)> {
    let mut count: HashMap<i64, i64> = HashMap::new();
    for f in fast {
        *count.entry(batch[f.at].caller.namespace_id).or_default() += 1;
    }
    let mut next: HashMap<i64, i64> = count
        .iter()
        .map(|(ns, n)| (*ns, tops.get(ns).copied().unwrap_or_default() - n + 1))
        .collect();
    fast.iter()
        .map(|f| {
            let ns = batch[f.at].caller.namespace_id;
            let seq = next.get_mut(&ns).expect("counted above");
            *seq += 1;
            (ns, *seq - 1, f.node_id.unwrap_or_default(), now)
        })
        .collect()
}

/// PostgreSQL: tells every API node each namespace's newest seq; delivered only when the
/// transaction commits.
async fn notify(tx: &mut impl BatchTx, tops: &Seqs) -> sqlx::Result<()> {
    let payloads: Vec<(String,)> = tops
        .iter()
        .map(|(ns, seq)| (format!("{ns}:{seq}"),))
        .collect();
    let t = Rows::new(Backend::Postgres, &[Col::Text], &payloads)?;
    let sql = format!("SELECT pg_notify($1, v.column1) FROM {} AS v", t.table(2));
    let channel = Value::Text(Some(crate::hub::PG_CHANNEL.into()));
    tx.execute(&sql, [vec![channel], t.args()?].concat()).await
}

/// The rows that `sql` returns when given `pairs` as its table (`sql` gets the table's text
/// and must alias it `w`). PostgreSQL gets the pairs in parts, each well under its 65,535
/// bound parameters (a batch of large files names hundreds of thousands of chunks).
async fn pair_rows(
    tx: &mut impl BatchTx,
    pairs: &[(i64, String)],
    sql: impl Fn(&str) -> String,
) -> sqlx::Result<Vec<Record>> {
    let backend = tx.backend();
    let parts: Vec<&[(i64, String)]> = match backend {
        Backend::Sqlite => vec![pairs],
        Backend::Postgres => pairs.chunks(PG_PAIRS).collect(),
    };
    let mut found = Vec::new();
    for part in parts {
        let t = Rows::new(backend, &[Col::Int, Col::Text], part)?;
        let sql = sql(&t.table(1));
        found.extend(tx.fetch(&sql, t.args()?).await?);
    }
    Ok(found)
}

/// Pairs per PostgreSQL `VALUES` list in `pair_rows` (two parameters each).
const PG_PAIRS: usize = 10_000;

/// The values in first-seen order, without repeats.
fn distinct<T: std::hash::Hash + Eq + Clone>(values: impl Iterator<Item = T>) -> Vec<T> {
    let mut seen = HashSet::new();
    values.filter(|v| seen.insert(v.clone())).collect()
}
