//! Every statement a version commit runs, one at a time (`Transaction`) and set-based
//! (`BatchTx`, a fixed number of statements for a whole batch); the decisions between them are
//! `commit::rules`. The set-based reads take exact pairs joined from a list of rows:
//! `parent IN (…) AND name IN (…)` made PostgreSQL walk every child of a large folder.

use std::collections::HashMap;

use sqlx::{Any, Row as _, Transaction};
use wire::{CommitResponse, Manifest};

use super::batch_tx::{BatchTx, Cells, Step, Value};
use super::json_rows::{Col, Rows};
use super::Backend;

/// The answer first given to `(device, key)`, if that commit was already made: a retry gets it
/// again, whatever happened since. On a transaction (`&mut **tx`) or the pool.
pub async fn replayed<'e, E>(
    exec: E,
    device_id: i64,
    key: &str,
) -> sqlx::Result<Option<CommitResponse>>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    let Some(row) =
        sqlx::query("SELECT response FROM idempotency WHERE device_id = $1 AND key = $2")
            .bind(device_id)
            .bind(key)
            .fetch_optional(exec)
            .await?
    else {
        return Ok(None);
    };
    let stored: String = row.get(0);
    serde_json::from_str(&stored)
        .map(Some)
        .map_err(|e| sqlx::Error::Decode(e.into()))
}

/// Who wrote a version: its device's name (a conflicted copy names it).
pub async fn author_of(
    tx: &mut Transaction<'static, Any>,
    version_id: i64,
) -> sqlx::Result<String> {
    let row = sqlx::query(
        "SELECT d.name FROM versions v JOIN devices d ON d.id = v.author_device_id WHERE v.id = $1",
    )
    .bind(version_id)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(|r| r.get(0)).unwrap_or_default())
}

/// A new version of `node_id`, made current; returns its id.
pub async fn insert_version(
    tx: &mut Transaction<'static, Any>,
    node_id: i64,
    parent_version: Option<i64>,
    manifest: &Manifest,
    content_type: Option<&str>,
    device_id: i64,
    now: i64,
) -> sqlx::Result<i64> {
    let version_id: i64 = sqlx::query(
        "INSERT INTO versions (node_id, parent_version_id, size, content_hash, chunker, author_device_id, created_at, content_type) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(node_id)
    .bind(parent_version)
    .bind(manifest.size as i64)
    .bind(manifest.hash.to_string())
    .bind(&manifest.chunker)
    .bind(device_id)
    .bind(now)
    .bind(content_type)
    .fetch_one(&mut **tx)
    .await?
    .get(0);
    let backend = Backend::of(tx);
    super::chunks::insert_version_chunks(tx, backend, version_id, &manifest.chunks).await?;
    sqlx::query("UPDATE nodes SET version_id = $1, modified_at = $2 WHERE id = $3")
        .bind(version_id)
        .bind(now)
        .bind(node_id)
        .execute(&mut **tx)
        .await?;
    Ok(version_id)
}

/// Keeps `response` as the answer to `(device, key)` and ends the upload it came from.
pub async fn record(
    tx: &mut Transaction<'static, Any>,
    device_id: i64,
    key: &str,
    response: &CommitResponse,
    upload_id: &str,
    now: i64,
) -> sqlx::Result<()> {
    let json = serde_json::to_string(response).map_err(|e| sqlx::Error::Encode(e.into()))?;
    sqlx::query(
        "INSERT INTO idempotency (device_id, key, response, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(device_id)
    .bind(key)
    .bind(json)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    super::uploads::remove(tx, upload_id, None).await?;
    Ok(())
}

/// A step of running one commit of a batch apart from the others.
#[derive(Debug, Clone, Copy)]
pub enum Savepoint {
    Start,
    RollBack,
    Release,
}

pub async fn savepoint(tx: &mut Transaction<'static, Any>, step: Savepoint) -> sqlx::Result<()> {
    let sql = match step {
        Savepoint::Start => "SAVEPOINT group_commit",
        Savepoint::RollBack => "ROLLBACK TO SAVEPOINT group_commit",
        Savepoint::Release => "RELEASE SAVEPOINT group_commit",
    };
    sqlx::query(sql).execute(&mut **tx).await?;
    Ok(())
}

// ---- set-based ----

/// New file nodes (namespace, folder, display name, key); returns their ids by (folder, key).
pub async fn insert_files(
    tx: &mut impl BatchTx,
    rows: &[(i64, i64, &str, &str)],
    now: i64,
) -> sqlx::Result<HashMap<(i64, String), i64>> {
    if rows.is_empty() {
        return Ok(HashMap::new());
    }
    let backend = tx.backend();
    let t = Rows::new(backend, &[Col::Int, Col::Int, Col::Text, Col::Text], rows)?;
    let sql = format!(
        "INSERT INTO nodes (namespace_id, parent_id, name, name_key, kind, created_at, modified_at) \
         SELECT column1, column2, column3, column4, 'file', $1, $1 FROM {} AS r \
         RETURNING id, parent_id, name_key",
        t.table(2)
    );
    Ok(tx
        .fetch(&sql, [vec![Value::Int(Some(now))], t.args()?].concat())
        .await?
        .iter()
        .map(|r| ((r.int(1), r.text(2)), r.int(0)))
        .collect())
}

/// node, parent version, size, content hash, chunker, author device, content type
pub type VersionRow<'a> = (
    Option<i64>,
    Option<i64>,
    i64,
    String,
    &'a str,
    i64,
    Option<String>,
);

/// One version per row; returns their ids by node.
pub async fn insert_versions(
    tx: &mut impl BatchTx,
    rows: &[VersionRow<'_>],
    now: i64,
) -> sqlx::Result<HashMap<i64, i64>> {
    let backend = tx.backend();
    let t = Rows::new(
        backend,
        &[
            Col::Int,
            Col::Int,
            Col::Int,
            Col::Text,
            Col::Text,
            Col::Int,
            Col::Text,
        ],
        rows,
    )?;
    let sql = format!(
        "INSERT INTO versions (node_id, parent_version_id, size, content_hash, chunker, author_device_id, created_at, content_type) \
         SELECT column1, column2, column3, column4, column5, column6, $1, column7 FROM {} AS r \
         RETURNING id, node_id",
        t.table(2)
    );
    Ok(tx
        .fetch(&sql, [vec![Value::Int(Some(now))], t.args()?].concat())
        .await?
        .iter()
        .map(|r| (r.int(1), r.int(0)))
        .collect())
}

/// PostgreSQL: new file nodes (id, namespace, folder, display name, key, current version)
/// with ids taken beforehand (`commit_reads`), for `BatchTx::execute_all`.
pub fn insert_files_step(
    rows: &[(i64, i64, i64, &str, &str, i64)],
    now: i64,
) -> sqlx::Result<Step> {
    let t = Rows::new(
        Backend::Postgres,
        &[Col::Int, Col::Int, Col::Int, Col::Text, Col::Text, Col::Int],
        rows,
    )?;
    let sql = format!(
        "INSERT INTO nodes (id, namespace_id, parent_id, name, name_key, kind, version_id, \
         created_at, modified_at) \
         SELECT column1, column2, column3, column4, column5, 'file', column6, $1, $1 \
         FROM {} AS r",
        t.table(2)
    );
    Ok((sql, [vec![Value::Int(Some(now))], t.args()?].concat()))
}

/// PostgreSQL: one version per row, each with its id taken beforehand, for
/// `BatchTx::execute_all`.
pub fn insert_versions_step(rows: &[(i64, VersionRow<'_>)], now: i64) -> sqlx::Result<Step> {
    let flat: Vec<_> = rows
        .iter()
        .map(
            |(id, (node, parent, size, hash, chunker, device, content_type))| {
                (
                    *id,
                    *node,
                    *parent,
                    *size,
                    hash.as_str(),
                    *chunker,
                    *device,
                    content_type.as_deref(),
                )
            },
        )
        .collect();
    let t = Rows::new(
        Backend::Postgres,
        &[
            Col::Int,
            Col::Int,
            Col::Int,
            Col::Int,
            Col::Text,
            Col::Text,
            Col::Int,
            Col::Text,
        ],
        &flat,
    )?;
    let sql = format!(
        "INSERT INTO versions (id, node_id, parent_version_id, size, content_hash, chunker, \
         author_device_id, created_at, content_type) \
         SELECT column1, column2, column3, column4, column5, column6, column7, $1, column8 \
         FROM {} AS r",
        t.table(2)
    );
    Ok((sql, [vec![Value::Int(Some(now))], t.args()?].concat()))
}

/// What follows the new versions: their chunk lists, each made current, the answers kept for
/// retries, the uploads ended.
pub struct Tail<'a> {
    pub chunk_rows: &'a [(i64, usize, &'a wire::ChunkRef)],
    /// node, version, time
    pub current: &'a [(Option<i64>, i64, i64)],
    /// device, key, answer (JSON), time
    pub records: &'a [(i64, &'a str, String, i64)],
    pub uploads: &'a [String],
}

/// The statements that write [`Tail`], for [`BatchTx::execute_all`] (none reads another's
/// writes: the versions they name were inserted before).
pub fn tail_steps(backend: Backend, tail: Tail<'_>) -> sqlx::Result<Vec<Step>> {
    let mut steps: Vec<(&str, Rows)> = Vec::with_capacity(5);
    for rows in super::chunks::chunk_rows(backend, tail.chunk_rows)? {
        steps.push((super::chunks::INSERT_CHUNK_ROWS, rows));
    }
    steps.push((
        "UPDATE nodes SET version_id = v.column2, modified_at = v.column3 \
         FROM {rows} AS v WHERE nodes.id = v.column1",
        Rows::new(backend, &[Col::Int; 3], tail.current)?,
    ));
    steps.push((
        "INSERT INTO idempotency (device_id, key, response, created_at) \
         SELECT column1, column2, column3, column4 FROM {rows} AS r",
        Rows::new(
            backend,
            &[Col::Int, Col::Text, Col::Text, Col::Int],
            tail.records,
        )?,
    ));
    let uploads: Vec<(&str,)> = tail.uploads.iter().map(|u| (u.as_str(),)).collect();
    steps.push((
        "DELETE FROM upload_chunks WHERE upload_id IN (SELECT column1 FROM {rows} AS r)",
        Rows::new(backend, &[Col::Text], &uploads)?,
    ));
    steps.push((
        "DELETE FROM uploads WHERE id IN (SELECT column1 FROM {rows} AS r)",
        Rows::new(backend, &[Col::Text], &uploads)?,
    ));
    steps
        .into_iter()
        .map(|(template, rows)| Ok((rows.fill(template, 1), rows.args()?)))
        .collect()
}
