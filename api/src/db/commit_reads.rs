//! What a batch's plain commits are checked against, read together: the answered keys, the
//! folders, what their names hold, the usable chunks, the uploads' reservations, the
//! namespaces' counters.
//!
//! Why together: each of these reads used to be a statement of its own, and on PostgreSQL a
//! statement is a round trip (0.1–0.4 ms through sqlx on loopback) that a lone commit waits for
//! in full. `BatchTx::fetch_all` sends them as one. The reads ask about every candidate of
//! the batch, not only those an earlier check kept: the answers are a superset, and
//! `commit::batch` applies the checks in their order on them.

use std::collections::{HashMap, HashSet};

use wire::Node;

use super::batch_tx::{BatchTx, Cells, Record, Step, Value};
use super::json_rows::{Col, Rows};
use super::nodes::{node_from_row, NodeRow, NODE_COLUMNS, NODE_FROM};
use super::Backend;

/// What to read about.
pub struct Asked<'a> {
    /// (device, idempotency key)
    pub keys: &'a [(i64, String)],
    pub folders: &'a [i64],
    /// (folder, name key)
    pub names: &'a [(i64, String)],
    /// (namespace, chunk hash)
    pub chunks: &'a [(i64, String)],
    pub uploads: &'a [String],
    pub namespaces: &'a [i64],
    /// PostgreSQL: how many (node, version) id pairs to take from their sequences, so the
    /// batch's writes need no id back and go as one statement; none on SQLite, whose inserts
    /// return them at no cost.
    pub ids: usize,
}

/// What was found.
pub struct Found {
    /// The (device, key) pairs that already have an answer.
    pub replayed: HashSet<(i64, String)>,
    /// The live folders (any live node, in fact) among those asked, with their namespaces.
    pub folders: HashMap<i64, NodeRow>,
    /// What each (folder, name key) pair holds now, among live nodes.
    pub held: HashMap<(i64, String), Node>,
    /// The stored sizes of the (namespace, hash) pairs the namespace may use, their chunk
    /// rows locked against the collector until the transaction ends (as `chunks::pin` does
    /// one list at a time).
    pub usable: HashMap<(i64, String), i64>,
    /// Each open upload's reservation, read inside the transaction (a resume may have added
    /// to it since the upload was loaded); uploads gone meanwhile are missing.
    pub reserved: HashMap<String, i64>,
    /// Each namespace's bytes held (current, history and staged) and change seq, as they are
    /// under its lock.
    pub counters: HashMap<i64, (i64, i64)>,
    /// The (node, version) id pairs asked for, unused by anyone else.
    pub ids: Vec<(i64, i64)>,
}

#[derive(Clone, Copy)]
enum Read {
    Keys,
    Folders,
    Names,
    Chunks,
    Uploads,
    Namespaces,
    Ids,
}

/// Reads everything `asked` names, in as few round trips as the database allows.
pub async fn find(tx: &mut impl BatchTx, asked: Asked<'_>) -> sqlx::Result<Found> {
    let backend = tx.backend();
    let mut steps: Vec<(Read, Step)> = Vec::new();
    for part in pair_parts(backend, asked.keys) {
        let t = Rows::new(backend, &[Col::Int, Col::Text], part)?;
        let sql = format!(
            "SELECT i.device_id, i.key FROM {} AS w \
             JOIN idempotency i ON i.device_id = w.column1 AND i.key = w.column2",
            t.table(1)
        );
        steps.push((Read::Keys, (sql, t.args()?)));
    }
    let ids: Vec<(i64,)> = asked.folders.iter().map(|&n| (n,)).collect();
    let t = Rows::new(backend, &[Col::Int], &ids)?;
    let sql = format!(
        "SELECT {NODE_COLUMNS} FROM {NODE_FROM} \
         WHERE n.id IN (SELECT column1 FROM {} AS r) AND n.deleted_at IS NULL \
         AND n.mount_of IS NULL",
        t.table(1)
    );
    steps.push((Read::Folders, (sql, t.args()?)));
    let t = Rows::new(backend, &[Col::Int, Col::Text], asked.names)?;
    let sql = format!(
        "SELECT {NODE_COLUMNS}, n.name_key FROM {} AS w \
         JOIN nodes n ON n.parent_id = w.column1 AND n.name_key = w.column2 \
         LEFT JOIN versions v ON v.id = n.version_id WHERE n.deleted_at IS NULL",
        t.table(1)
    );
    steps.push((Read::Names, (sql, t.args()?)));
    let lock = match backend {
        Backend::Postgres => " FOR SHARE OF c",
        Backend::Sqlite => "",
    };
    for part in pair_parts(backend, asked.chunks) {
        let t = Rows::new(backend, &[Col::Int, Col::Text], part)?;
        let sql = format!(
            "SELECT u.namespace_id, c.hash, c.size FROM {} AS w \
             JOIN namespace_chunks u ON u.namespace_id = w.column1 AND u.hash = w.column2 \
             JOIN chunks c ON c.hash = u.hash{lock}",
            t.table(1)
        );
        steps.push((Read::Chunks, (sql, t.args()?)));
    }
    let ids: Vec<(&str,)> = asked.uploads.iter().map(|i| (i.as_str(),)).collect();
    let t = Rows::new(backend, &[Col::Text], &ids)?;
    let sql = format!(
        "SELECT id, reserved_bytes FROM uploads WHERE id IN (SELECT column1 FROM {} AS r)",
        t.table(1)
    );
    steps.push((Read::Uploads, (sql, t.args()?)));
    let ids: Vec<(i64,)> = asked.namespaces.iter().map(|&n| (n,)).collect();
    let t = Rows::new(backend, &[Col::Int], &ids)?;
    let sql = format!(
        "SELECT id, used_bytes + history_bytes + staged_bytes, seq FROM namespaces \
         WHERE id IN (SELECT column1 FROM {} AS r)",
        t.table(1)
    );
    steps.push((Read::Namespaces, (sql, t.args()?)));
    if backend == Backend::Postgres && asked.ids > 0 {
        let sql = "SELECT nextval(pg_get_serial_sequence('nodes', 'id')), \
                   nextval(pg_get_serial_sequence('versions', 'id')) \
                   FROM generate_series(1, $1)";
        let n = i64::try_from(asked.ids).unwrap_or(i64::MAX);
        steps.push((Read::Ids, (sql.to_owned(), vec![Value::Int(Some(n))])));
    }

    let (reads, steps): (Vec<Read>, Vec<Step>) = steps.into_iter().unzip();
    let results = tx.fetch_all(steps).await?;
    let mut found = Found {
        replayed: HashSet::new(),
        folders: HashMap::new(),
        held: HashMap::new(),
        usable: HashMap::new(),
        reserved: HashMap::new(),
        counters: HashMap::new(),
        ids: Vec::new(),
    };
    for (read, rows) in reads.into_iter().zip(results) {
        take(&mut found, read, &rows);
    }
    Ok(found)
}

fn take(found: &mut Found, read: Read, rows: &[Record]) {
    for r in rows {
        match read {
            Read::Keys => {
                found.replayed.insert((r.int(0), r.text(1)));
            }
            Read::Folders => {
                let p = node_from_row(r);
                found.folders.insert(p.node.id, p);
            }
            Read::Names => {
                let c = node_from_row(r).node;
                if let Some(parent) = c.parent_id {
                    found.held.insert((parent, r.text(10)), c);
                }
            }
            Read::Chunks => {
                found.usable.insert((r.int(0), r.text(1)), r.int(2));
            }
            Read::Uploads => {
                found.reserved.insert(r.text(0), r.int(1));
            }
            Read::Namespaces => {
                found.counters.insert(r.int(0), (r.int(1), r.int(2)));
            }
            Read::Ids => found.ids.push((r.int(0), r.int(1))),
        }
    }
}

/// Pairs per PostgreSQL `VALUES` list (two parameters each): a batch of large files names
/// hundreds of thousands of chunks, and a statement may bind at most 65,535 parameters.
/// SQLite takes them all as one JSON parameter.
const PG_PAIRS: usize = 10_000;

fn pair_parts(backend: Backend, pairs: &[(i64, String)]) -> Vec<&[(i64, String)]> {
    match backend {
        Backend::Sqlite => vec![pairs],
        Backend::Postgres => pairs.chunks(PG_PAIRS).collect(),
    }
}
