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
//! any later commit that shares a name, a key or an upload with an earlier one, or follows a
//! commit of its namespace that goes one at a time) goes to [`one::commit_in`] afterwards, in
//! batch order, in the same transaction ([`finish`]); the split is `rules::split` and
//! `rules::keep_order`. `tests/it/commit_order.rs` checks that a batch ends exactly as
//! one-at-a-time commits would.
//!
//! As in `commit_in`, every refusal is decided before the first write; a database error
//! anywhere leaves the transaction for the caller to roll back.

use sqlx::{Any, Transaction};
use wire::CommitResponse;

use super::one;
use super::rules::{self, Answers, Commit, Folder, Plain, Seqs};
use crate::db::batch_tx::{BatchTx, Step};
use crate::db::Backend;
use crate::db::{changes, commit as sql, commit_reads as reads, usage};
use crate::error::{ApiError, ApiResult};

/// The plain commits of the batch, written in `tx`: their answers at their places, `None`
/// for the commits left to [`finish`]. `Err` means the database failed and the transaction
/// must be rolled back. `tx` holds every namespace's lock already (PostgreSQL:
/// `Db::write_commits`; SQLite has one writer).
pub async fn fast(tx: &mut impl BatchTx, batch: &[Commit<'_>], now: i64) -> ApiResult<Answers> {
    let (mut plain, mut answers) = rules::split(batch);
    rules::keep_order(batch, &answers, &mut plain);
    let (plain, planned) = plan(tx, batch, &answers, plain).await?;
    if !plain.is_empty() {
        for (at, answer) in write(tx, batch, plain, &planned, now).await? {
            answers[at] = Some(Ok(answer));
        }
    }
    Ok(answers)
}

/// The commits [`fast`] left (`None` in `answers`), one at a time in batch order, in `tx`;
/// all answers in batch order. `Err` means the database failed.
pub async fn finish(
    tx: &mut Transaction<'static, Any>,
    batch: &[Commit<'_>],
    answers: Answers,
    now: i64,
) -> ApiResult<Vec<ApiResult<CommitResponse>>> {
    let mut out = Vec::with_capacity(batch.len());
    for (c, answer) in batch.iter().zip(answers) {
        let r = match answer {
            Some(r) => r,
            None => one::commit_in(tx, *c, now).await,
        };
        match r {
            Err(ApiError::Internal(e)) => return Err(ApiError::Internal(e)),
            r => out.push(r),
        }
    }
    Ok(out)
}

/// Reads what the plain commits need (all at once), keeps those the rules still call plain
/// (and each namespace's in batch order, `rules::keep_order`), and decides their quota
/// charges, whole per namespace or not at all, which `write` applies with the rest.
async fn plan(
    tx: &mut impl BatchTx,
    batch: &[Commit<'_>],
    answers: &Answers,
    mut plain: Vec<Plain>,
) -> sqlx::Result<(Vec<Plain>, Planned)> {
    let key = |p: &Plain| {
        let c = &batch[p.at];
        (c.caller.device_id, c.req.idempotency_key.clone())
    };
    if plain.is_empty() {
        return Ok((plain, Planned::default()));
    }
    // Everything the checks below read, asked about every candidate at once (one round trip
    // on PostgreSQL); the checks then apply in their order.
    let keys: Vec<(i64, String)> = plain.iter().map(key).collect();
    let folder_ids = rules::distinct(plain.iter().map(|p| p.parent_id));
    let pairs = rules::distinct(plain.iter().map(|p| (p.parent_id, p.name.key.clone())));
    let wanted = rules::distinct(plain.iter().flat_map(|p| {
        let c = &batch[p.at];
        let ns = c.caller.namespace_id;
        c.upload
            .manifest
            .chunks
            .iter()
            .map(move |ch| (ns, ch.hash.to_string()))
    }));
    let ids = rules::distinct(plain.iter().map(|p| batch[p.at].upload.id.clone()));
    let namespaces = rules::distinct(plain.iter().map(|p| batch[p.at].caller.namespace_id));
    let found = reads::find(
        tx,
        reads::Asked {
            keys: &keys,
            folders: &folder_ids,
            names: &pairs,
            chunks: &wanted,
            uploads: &ids,
            namespaces: &namespaces,
            ids: match tx.backend() {
                Backend::Postgres => plain.len(),
                Backend::Sqlite => 0,
            },
        },
    )
    .await?;

    // Retried keys are answered from their record by the one-at-a-time path.
    plain.retain(|p| !found.replayed.contains(&key(p)));
    rules::keep_order(batch, answers, &mut plain);

    // The folders, and what their names hold now.
    plain.retain_mut(|p| {
        let folder = found.folders.get(&p.parent_id).map(|f| Folder {
            namespace_id: f.namespace_id,
            kind: f.node.kind,
        });
        let held = found.held.get(&(p.parent_id, p.name.key.clone()));
        rules::keep_plain(p, batch[p.at], folder, held)
    });
    rules::keep_order(batch, answers, &mut plain);

    // Every chunk usable by its namespace at its listed size, and locked against the collector.
    plain.retain(|p| rules::chunks_usable(batch[p.at], &found.usable));
    rules::keep_order(batch, answers, &mut plain);

    // Each upload's reservation comes back; an upload gone meanwhile goes one at a time, where
    // it is refused.
    plain.retain_mut(|p| match found.reserved.get(&batch[p.at].upload.id) {
        Some(&r) => {
            p.delta.staged = -r;
            true
        }
        None => false,
    });
    rules::keep_order(batch, answers, &mut plain);
    if plain.is_empty() {
        return Ok((plain, Planned::default()));
    }

    // A namespace that would pass its quota changes nothing; its commits go one at a time
    // (each making room from old versions, or refused, on its own). The charge itself is
    // written with the rest (`write`).
    let mut seqs = Seqs::new();
    let mut charged = Vec::new();
    for c in rules::charges(batch, &plain) {
        if let Some(&(held, seq)) = found.counters.get(&c.namespace_id) {
            if c.fits(held) {
                seqs.insert(c.namespace_id, seq + c.commits);
                charged.push((c.namespace_id, c.delta, c.commits));
            }
        }
    }
    plain.retain(|p| seqs.contains_key(&batch[p.at].namespace_id));
    let ids = found.ids;
    Ok((plain, Planned { seqs, charged, ids }))
}

/// What `plan` decided besides the commits: each charged namespace's new seq, and the charges.
#[derive(Default)]
struct Planned {
    seqs: Seqs,
    charged: Vec<(i64, usage::Delta, i64)>,
    /// PostgreSQL: (node, version) ids for the commits, in order (`commit_reads::Asked::ids`).
    ids: Vec<(i64, i64)>,
}

/// Writes the planned commits: nodes, versions, chunk lists, current versions, change log,
/// idempotency records, finished uploads, the quota charges. Fails only if the database does.
/// On PostgreSQL all of it is one statement (the ids came with the reads); on SQLite the nodes
/// and versions are inserted first, returning the ids the rest refers to.
async fn write(
    tx: &mut impl BatchTx,
    batch: &[Commit<'_>],
    mut plain: Vec<Plain>,
    planned: &Planned,
    now: i64,
) -> sqlx::Result<Vec<(usize, CommitResponse)>> {
    let backend = tx.backend();
    let mut steps = vec![usage::charge_step(backend, &planned.charged)?];
    let (version_ids, current) = if planned.ids.is_empty() {
        insert_returning(tx, batch, &mut plain, now).await?
    } else {
        with_ids(&mut steps, batch, &mut plain, &planned.ids, now)?
    };

    let answers: Vec<(usize, CommitResponse)> = plain
        .iter()
        .zip(&version_ids)
        .map(|(p, &version_id)| {
            let manifest = &batch[p.at].upload.manifest;
            let node_id = p.node_id.unwrap_or_default();
            let name = p.name.display.clone();
            let content_type = content_type(batch, p);
            let answer = rules::written(
                node_id,
                p.parent_id,
                name,
                manifest,
                content_type,
                version_id,
                now,
            );
            (p.at, answer)
        })
        .collect();
    let chunk_rows: Vec<(i64, usize, &wire::ChunkRef)> = plain
        .iter()
        .zip(&version_ids)
        .flat_map(|(p, &v)| {
            let chunks = &batch[p.at].upload.manifest.chunks;
            chunks.iter().enumerate().map(move |(i, c)| (v, i, c))
        })
        .collect();
    let records = answers
        .iter()
        .map(|(at, answer)| {
            let c = &batch[*at];
            let json = serde_json::to_string(answer).map_err(|e| sqlx::Error::Encode(e.into()))?;
            Ok((
                c.caller.device_id,
                c.req.idempotency_key.as_str(),
                json,
                now,
            ))
        })
        .collect::<sqlx::Result<Vec<_>>>()?;
    let uploads: Vec<String> = rules::distinct(plain.iter().map(|p| batch[p.at].upload.id.clone()));
    let tail = sql::Tail {
        chunk_rows: &chunk_rows,
        current: &current,
        records: &records,
        uploads: &uploads,
    };
    steps.extend(sql::tail_steps(backend, tail)?);
    let seqs = &planned.seqs;
    let entries = rules::number_changes(batch, &plain, seqs);
    steps.push(changes::entries_step(backend, &entries, "version", now)?);
    let hints: Vec<String> = seqs.iter().map(|(ns, seq)| format!("{ns}:{seq}")).collect();
    steps.extend(changes::notify_step(backend, &hints)?);
    // One round trip on PostgreSQL: none of these reads what another writes (the nodes and
    // versions they name are either older or inserted by this same statement with ids known,
    // which only the foreign-key checks at its end look at).
    tx.execute_all(steps).await?;
    tracing::info!(commits = answers.len(), "batch of commits written");
    Ok(answers)
}

/// (node, version, time) rows that make versions current.
type Current = Vec<(Option<i64>, i64, i64)>;

/// SQLite: inserts the new files and the versions, each statement returning their ids; gives
/// each plain commit its node, and the version ids and `current` rows in `plain`'s order.
async fn insert_returning(
    tx: &mut impl BatchTx,
    batch: &[Commit<'_>],
    plain: &mut [Plain],
    now: i64,
) -> sqlx::Result<(Vec<i64>, Current)> {
    let files: Vec<(i64, i64, &str, &str)> = plain
        .iter()
        .filter(|p| p.node_id.is_none())
        .map(|p| {
            let ns = batch[p.at].namespace_id;
            (
                ns,
                p.parent_id,
                p.name.display.as_str(),
                p.name.key.as_str(),
            )
        })
        .collect();
    let ids = sql::insert_files(tx, &files, now).await?;
    for p in plain.iter_mut().filter(|p| p.node_id.is_none()) {
        p.node_id = ids.get(&(p.parent_id, p.name.key.clone())).copied();
        if p.node_id.is_none() {
            return Err(sqlx::Error::Protocol(
                "an inserted node was not returned".into(),
            ));
        }
    }
    let rows: Vec<sql::VersionRow<'_>> = plain.iter().map(|p| version_row(batch, p)).collect();
    let by_node = sql::insert_versions(tx, &rows, now).await?;
    let version_ids = plain
        .iter()
        .map(|p| {
            p.node_id
                .and_then(|n| by_node.get(&n).copied())
                .ok_or_else(|| sqlx::Error::Protocol("an inserted version was not returned".into()))
        })
        .collect::<sqlx::Result<Vec<i64>>>()?;
    let current = plain
        .iter()
        .zip(&version_ids)
        .map(|(p, &v)| (p.node_id, v, now))
        .collect();
    Ok((version_ids, current))
}

/// PostgreSQL: gives each plain commit its ids from `ids` (taken with the reads) and adds the
/// inserts of the new files, already pointing at their versions, and of the versions to
/// `steps`; the version ids and the `current` rows (files that existed before) in `plain`'s
/// order.
fn with_ids(
    steps: &mut Vec<Step>,
    batch: &[Commit<'_>],
    plain: &mut [Plain],
    ids: &[(i64, i64)],
    now: i64,
) -> sqlx::Result<(Vec<i64>, Current)> {
    if ids.len() < plain.len() {
        return Err(sqlx::Error::Protocol("too few ids taken".into()));
    }
    let mut current = Vec::new();
    let mut version_ids = Vec::with_capacity(plain.len());
    let mut new_files = Vec::new();
    for (p, &(node, version)) in plain.iter_mut().zip(ids) {
        match p.node_id {
            Some(existing) => current.push((Some(existing), version, now)),
            None => {
                p.node_id = Some(node);
                new_files.push(p.at);
            }
        }
        version_ids.push(version);
    }
    let files: Vec<(i64, i64, i64, &str, &str, i64)> = plain
        .iter()
        .zip(&version_ids)
        .filter(|(p, _)| new_files.contains(&p.at))
        .map(|(p, &version)| {
            (
                p.node_id.unwrap_or_default(),
                batch[p.at].namespace_id,
                p.parent_id,
                p.name.display.as_str(),
                p.name.key.as_str(),
                version,
            )
        })
        .collect();
    let versions: Vec<(i64, sql::VersionRow<'_>)> = plain
        .iter()
        .zip(&version_ids)
        .map(|(p, &v)| (v, version_row(batch, p)))
        .collect();
    if !files.is_empty() {
        steps.push(sql::insert_files_step(&files, now)?);
    }
    steps.push(sql::insert_versions_step(&versions, now)?);
    Ok((version_ids, current))
}

/// A plain commit's version row; its node must be known.
fn version_row<'b>(batch: &'b [Commit<'_>], p: &Plain) -> sql::VersionRow<'b> {
    let c = &batch[p.at];
    let m = &c.upload.manifest;
    (
        p.node_id,
        p.parent_version,
        m.size as i64,
        m.hash.to_string(),
        m.chunker.as_str(),
        c.caller.device_id,
        content_type(batch, p),
    )
}

/// A plain commit's content type as stored (`rules::split` checked it already).
fn content_type(batch: &[Commit<'_>], p: &Plain) -> Option<String> {
    rules::content_type(batch[p.at].req).ok().flatten()
}
