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
use crate::db::batch_tx::BatchTx;
use crate::db::{changes, commit as sql, usage};
use crate::error::{ApiError, ApiResult};

/// The plain commits of the batch, written in `tx`: their answers at their places, `None`
/// for the commits left to [`finish`]. `Err` means the database failed and the transaction
/// must be rolled back.
pub async fn fast(tx: &mut impl BatchTx, batch: &[Commit<'_>], now: i64) -> ApiResult<Answers> {
    let (mut plain, mut answers) = rules::split(batch);
    rules::keep_order(batch, &answers, &mut plain);
    sql::lock_namespaces(tx, &rules::namespaces(batch)).await?;
    let (plain, seqs) = plan(tx, batch, &answers, plain).await?;
    if !plain.is_empty() {
        for (at, answer) in write(tx, batch, plain, &seqs, now).await? {
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

/// Reads what the plain commits need, step by step, keeping those the rules still call plain
/// (and each namespace's in batch order, `rules::keep_order`), and charges their quota (the
/// last step, which applies per namespace whole or not at all).
async fn plan(
    tx: &mut impl BatchTx,
    batch: &[Commit<'_>],
    answers: &Answers,
    plain: Vec<Plain>,
) -> sqlx::Result<(Vec<Plain>, Seqs)> {
    let key = |p: &Plain| {
        let c = &batch[p.at];
        (c.caller.device_id, c.req.idempotency_key.clone())
    };
    if plain.is_empty() {
        return Ok((plain, Seqs::new()));
    }
    // Retried keys are answered from their record by the one-at-a-time path.
    let keys: Vec<(i64, String)> = plain.iter().map(key).collect();
    let replayed = sql::replayed_keys(tx, &keys).await?;
    let mut plain: Vec<Plain> = plain
        .into_iter()
        .filter(|p| !replayed.contains(&key(p)))
        .collect();
    rules::keep_order(batch, answers, &mut plain);
    if plain.is_empty() {
        return Ok((plain, Seqs::new()));
    }

    // The folders, and what their names hold now.
    let folder_ids = rules::distinct(plain.iter().map(|p| p.parent_id));
    let folders = sql::live_nodes(tx, &folder_ids).await?;
    let pairs = rules::distinct(plain.iter().map(|p| (p.parent_id, p.name.key.clone())));
    let held = sql::held(tx, &pairs).await?;
    plain.retain_mut(|p| {
        let folder = folders.get(&p.parent_id).map(|f| Folder {
            namespace_id: f.namespace_id,
            kind: f.node.kind,
        });
        let held = held.get(&(p.parent_id, p.name.key.clone()));
        rules::keep_plain(p, batch[p.at], folder, held)
    });
    rules::keep_order(batch, answers, &mut plain);
    if plain.is_empty() {
        return Ok((plain, Seqs::new()));
    }

    // Every chunk usable by its namespace at its listed size, and locked against the collector.
    let wanted = rules::distinct(plain.iter().flat_map(|p| {
        let c = &batch[p.at];
        let ns = c.caller.namespace_id;
        c.upload
            .manifest
            .chunks
            .iter()
            .map(move |ch| (ns, ch.hash.to_string()))
    }));
    let usable = sql::usable_chunks(tx, &wanted).await?;
    plain.retain(|p| rules::chunks_usable(batch[p.at], &usable));
    rules::keep_order(batch, answers, &mut plain);
    if plain.is_empty() {
        return Ok((plain, Seqs::new()));
    }

    // Each upload's reservation comes back; an upload gone meanwhile goes one at a time, where
    // it is refused.
    let ids = rules::distinct(plain.iter().map(|p| batch[p.at].upload.id.clone()));
    let reserved = sql::reservations(tx, &ids).await?;
    plain.retain_mut(|p| match reserved.get(&batch[p.at].upload.id) {
        Some(&r) => {
            p.delta.staged = -r;
            true
        }
        None => false,
    });
    rules::keep_order(batch, answers, &mut plain);
    if plain.is_empty() {
        return Ok((plain, Seqs::new()));
    }

    // A namespace that would pass its quota changes nothing; its commits go one at a time
    // (each making room from old versions, or refused, on its own).
    let charges: Vec<_> = rules::charges(batch, &plain)
        .into_iter()
        .map(|c| (c.namespace_id, c.delta, c.commits, c.quota))
        .collect();
    let seqs = usage::charge_many(tx, &charges).await?;
    plain.retain(|p| seqs.contains_key(&batch[p.at].namespace_id));
    Ok((plain, seqs))
}

/// Writes the planned commits: nodes, versions, chunk lists, current versions, change log,
/// idempotency records, finished uploads. Fails only if the database does. The nodes and
/// versions are inserted first, since the rest refers to their ids.
async fn write(
    tx: &mut impl BatchTx,
    batch: &[Commit<'_>],
    mut plain: Vec<Plain>,
    seqs: &Seqs,
    now: i64,
) -> sqlx::Result<Vec<(usize, CommitResponse)>> {
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

    let rows: Vec<sql::VersionRow<'_>> = plain
        .iter()
        .map(|p| {
            let c = &batch[p.at];
            let m = &c.upload.manifest;
            let hash = m.hash.to_string();
            let (size, chunker) = (m.size as i64, m.chunker.as_str());
            (
                p.node_id,
                p.parent_version,
                size,
                hash,
                chunker,
                c.caller.device_id,
            )
        })
        .collect();
    let by_node = sql::insert_versions(tx, &rows, now).await?;
    let version_ids = plain
        .iter()
        .map(|p| {
            p.node_id
                .and_then(|n| by_node.get(&n).copied())
                .ok_or_else(|| sqlx::Error::Protocol("an inserted version was not returned".into()))
        })
        .collect::<sqlx::Result<Vec<i64>>>()?;

    let answers: Vec<(usize, CommitResponse)> = plain
        .iter()
        .zip(&version_ids)
        .map(|(p, &version_id)| {
            let manifest = &batch[p.at].upload.manifest;
            let node_id = p.node_id.unwrap_or_default();
            let name = p.name.display.clone();
            let answer = rules::written(node_id, p.parent_id, name, manifest, version_id, now);
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
    let current: Vec<(Option<i64>, i64, i64)> = plain
        .iter()
        .zip(&version_ids)
        .map(|(p, &v)| (p.node_id, v, now))
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
    sql::write_tail(tx, tail).await?;
    let entries = rules::number_changes(batch, &plain, seqs);
    changes::entries(tx, &entries, "version", now).await?;
    let hints: Vec<String> = seqs.iter().map(|(ns, seq)| format!("{ns}:{seq}")).collect();
    changes::notify(tx, &hints).await?;
    tracing::info!(commits = answers.len(), "batch of commits written");
    Ok(answers)
}
