//! Every statement a version commit runs, one at a time (`Transaction`) and set-based
//! (`BatchTx`, a fixed number of statements for a whole batch); the decisions between them are
//! `commit::rules`. The set-based reads take exact pairs joined from a list of rows:
//! `parent IN (…) AND name IN (…)` made PostgreSQL walk every child of a large folder.

use std::collections::{HashMap, HashSet};

use sqlx::{Any, Row as _, Transaction};
use wire::{CommitResponse, Manifest, Node};

use super::batch_tx::{BatchTx, Cells, Record, Value};
use super::json_rows::{Col, Rows};
use super::nodes::{node_from_row, NODE_COLUMNS, NODE_FROM};
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
    device_id: i64,
    now: i64,
) -> sqlx::Result<i64> {
    let version_id: i64 = sqlx::query(
        "INSERT INTO versions (node_id, parent_version_id, size, content_hash, chunker, author_device_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(node_id)
    .bind(parent_version)
    .bind(manifest.size as i64)
    .bind(manifest.hash.to_string())
    .bind(&manifest.chunker)
    .bind(device_id)
    .bind(now)
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

/// PostgreSQL: every namespace of the batch, locked in ascending order (two API nodes' batches
/// never wait on each other in a cycle). SQLite already has one writer.
pub async fn lock_namespaces(tx: &mut impl BatchTx, namespaces: &[i64]) -> sqlx::Result<()> {
    let backend = tx.backend();
    if backend != Backend::Postgres {
        return Ok(());
    }
    let ns: Vec<(i64,)> = namespaces.iter().map(|&n| (n,)).collect();
    let t = Rows::new(backend, &[Col::Int], &ns)?;
    let sql = format!(
        "SELECT id FROM namespaces WHERE id IN (SELECT column1 FROM {} AS r) ORDER BY id FOR UPDATE",
        t.table(1)
    );
    tx.fetch(&sql, t.args()?).await?;
    Ok(())
}

/// Those of the (device, key) pairs that already have an answer.
pub async fn replayed_keys(
    tx: &mut impl BatchTx,
    keys: &[(i64, String)],
) -> sqlx::Result<HashSet<(i64, String)>> {
    Ok(pair_rows(tx, keys, |w| {
        format!(
            "SELECT i.device_id, i.key FROM {w} AS w \
             JOIN idempotency i ON i.device_id = w.column1 AND i.key = w.column2"
        )
    })
    .await?
    .iter()
    .map(|r| (r.int(0), r.text(1)))
    .collect())
}

/// The live nodes among `ids`, with their namespaces.
pub async fn live_nodes(
    tx: &mut impl BatchTx,
    ids: &[i64],
) -> sqlx::Result<HashMap<i64, super::nodes::NodeRow>> {
    let backend = tx.backend();
    let ids: Vec<(i64,)> = ids.iter().map(|&n| (n,)).collect();
    let t = Rows::new(backend, &[Col::Int], &ids)?;
    let sql = format!(
        "SELECT {NODE_COLUMNS} FROM {NODE_FROM} \
         WHERE n.id IN (SELECT column1 FROM {} AS r) AND n.deleted_at IS NULL \
         AND n.mount_of IS NULL",
        t.table(1)
    );
    Ok(tx
        .fetch(&sql, t.args()?)
        .await?
        .iter()
        .map(|r| {
            let p = node_from_row(r);
            (p.node.id, p)
        })
        .collect())
}

/// What each (folder, name key) pair holds now, among live nodes.
pub async fn held(
    tx: &mut impl BatchTx,
    pairs: &[(i64, String)],
) -> sqlx::Result<HashMap<(i64, String), Node>> {
    let backend = tx.backend();
    let t = Rows::new(backend, &[Col::Int, Col::Text], pairs)?;
    let sql = format!(
        "SELECT {NODE_COLUMNS}, n.name_key FROM {} AS w \
         JOIN nodes n ON n.parent_id = w.column1 AND n.name_key = w.column2 \
         LEFT JOIN versions v ON v.id = n.version_id WHERE n.deleted_at IS NULL",
        t.table(1)
    );
    Ok(tx
        .fetch(&sql, t.args()?)
        .await?
        .iter()
        .filter_map(|r| {
            let c = node_from_row(r).node;
            Some(((c.parent_id?, r.text(9)), c))
        })
        .collect())
}

/// The stored sizes of the (namespace, hash) pairs the namespace may use, their chunk rows
/// locked against the collector until the transaction ends (as `chunks::pin` does one list at
/// a time).
pub async fn usable_chunks(
    tx: &mut impl BatchTx,
    pairs: &[(i64, String)],
) -> sqlx::Result<HashMap<(i64, String), i64>> {
    let lock = match tx.backend() {
        Backend::Postgres => " FOR SHARE OF c",
        Backend::Sqlite => "",
    };
    Ok(pair_rows(tx, pairs, |w| {
        format!(
            "SELECT u.namespace_id, c.hash, c.size FROM {w} AS w \
             JOIN namespace_chunks u ON u.namespace_id = w.column1 AND u.hash = w.column2 \
             JOIN chunks c ON c.hash = u.hash{lock}"
        )
    })
    .await?
    .iter()
    .map(|r| ((r.int(0), r.text(1)), r.int(2)))
    .collect())
}

/// Each open upload's reservation, read inside the transaction (a resume may have added to it
/// since the upload was loaded); uploads gone meanwhile are missing.
pub async fn reservations(
    tx: &mut impl BatchTx,
    ids: &[String],
) -> sqlx::Result<HashMap<String, i64>> {
    let backend = tx.backend();
    let ids: Vec<(&str,)> = ids.iter().map(|i| (i.as_str(),)).collect();
    let t = Rows::new(backend, &[Col::Text], &ids)?;
    let sql = format!(
        "SELECT id, reserved_bytes FROM uploads WHERE id IN (SELECT column1 FROM {} AS r)",
        t.table(1)
    );
    Ok(tx
        .fetch(&sql, t.args()?)
        .await?
        .iter()
        .map(|r| (r.text(0), r.int(1)))
        .collect())
}

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

/// node, parent version, size, content hash, chunker, author device
pub type VersionRow<'a> = (Option<i64>, Option<i64>, i64, String, &'a str, i64);

/// One version per row; returns their ids by node.
pub async fn insert_versions(
    tx: &mut impl BatchTx,
    rows: &[VersionRow<'_>],
    now: i64,
) -> sqlx::Result<HashMap<i64, i64>> {
    let backend = tx.backend();
    let t = Rows::new(
        backend,
        &[Col::Int, Col::Int, Col::Int, Col::Text, Col::Text, Col::Int],
        rows,
    )?;
    let sql = format!(
        "INSERT INTO versions (node_id, parent_version_id, size, content_hash, chunker, author_device_id, created_at) \
         SELECT column1, column2, column3, column4, column5, column6, $1 FROM {} AS r \
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

pub async fn write_tail(tx: &mut impl BatchTx, tail: Tail<'_>) -> sqlx::Result<()> {
    let backend = tx.backend();
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
    for (template, rows) in steps {
        tx.execute(&rows.fill(template, 1), rows.args()?).await?;
    }
    Ok(())
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
