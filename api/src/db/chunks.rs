//! Which verified chunks exist, and which namespace may use which. Storage dedups globally
//! (one object per hash), but use is scoped: a namespace can reference a chunk only after it
//! uploaded the bytes itself, so knowing a hash never grants its data.

use std::collections::HashMap;

use sqlx::{Any, Row as _, Transaction};
use wire::{ChunkRef, Hash};

use super::json_rows::{Col, Rows};
use super::Backend;

/// Query batch size: well under SQLite's and PostgreSQL's bound-parameter limits.
const BATCH: usize = 500;

/// Those of `hashes` that `namespace_id` may already use, with their stored (verified) sizes.
/// On a connection of the pool, or inside a transaction (`&mut *tx`).
pub async fn readable(
    conn: &mut sqlx::AnyConnection,
    namespace_id: i64,
    hashes: &[Hash],
) -> sqlx::Result<HashMap<Hash, u32>> {
    let mut found = HashMap::new();
    for batch in hashes.chunks(BATCH) {
        let params: Vec<String> = (0..batch.len()).map(|i| format!("${}", i + 2)).collect();
        let sql = format!(
            "SELECT n.hash, c.size FROM namespace_chunks n JOIN chunks c ON c.hash = n.hash \
             WHERE n.namespace_id = $1 AND n.hash IN ({})",
            params.join(", ")
        );
        let mut q = sqlx::query(&sql).bind(namespace_id);
        for h in batch {
            q = q.bind(h.to_string());
        }
        for row in q.fetch_all(&mut *conn).await? {
            let h: String = row.get(0);
            let size = row.get::<i64, _>(1).clamp(0, u32::MAX as i64) as u32;
            if let Ok(h) = h.parse() {
                found.insert(h, size);
            }
        }
    }
    Ok(found)
}

/// Writes (or takes the lock of) `hash`'s chunk row, so the collector cannot delete the chunk
/// while its bytes are being moved into place; the row lock holds until `tx` ends.
/// (`ON CONFLICT DO UPDATE` waits for the row lock and re-inserts a row deleted meanwhile.)
pub async fn claim(tx: &mut Transaction<'static, Any>, hash: &Hash, size: u32) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO chunks (hash, size, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (hash) DO UPDATE SET size = excluded.size",
    )
    .bind(hash.to_string())
    .bind(size as i64)
    .bind(super::now_ms())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Lets `namespace_id` use the chunk `hash` (its bytes were verified as uploaded by it).
pub async fn grant(
    tx: &mut Transaction<'static, Any>,
    namespace_id: i64,
    hash: &Hash,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO namespace_chunks (namespace_id, hash) VALUES ($1, $2) \
         ON CONFLICT (namespace_id, hash) DO NOTHING",
    )
    .bind(namespace_id)
    .bind(hash.to_string())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Those of `chunks` that `namespace_id` may use, with their stored sizes, their rows locked
/// against deletion until `tx` ends (PostgreSQL `FOR SHARE`; SQLite's single writer already
/// keeps the collector out). `commit::rules::check_chunks` decides on the answer.
pub async fn pin(
    tx: &mut Transaction<'static, Any>,
    namespace_id: i64,
    chunks: &[ChunkRef],
) -> sqlx::Result<HashMap<Hash, u32>> {
    let unique: Vec<String> = chunks
        .iter()
        .map(|c| c.hash)
        .collect::<std::collections::HashSet<_>>()
        .into_iter()
        .map(|h| h.to_string())
        .collect();
    let lock = match Backend::of(tx) {
        Backend::Postgres => " FOR SHARE",
        Backend::Sqlite => "",
    };
    let mut stored: HashMap<Hash, u32> = HashMap::new();
    for batch in unique.chunks(BATCH) {
        let params: Vec<String> = (0..batch.len()).map(|i| format!("${}", i + 2)).collect();
        let sql = format!(
            "SELECT c.hash, c.size FROM chunks c WHERE c.hash IN ({}) AND EXISTS \
             (SELECT 1 FROM namespace_chunks n WHERE n.namespace_id = $1 AND n.hash = c.hash){lock}",
            params.join(", ")
        );
        let mut q = sqlx::query(&sql).bind(namespace_id);
        for h in batch {
            q = q.bind(h);
        }
        for r in q.fetch_all(&mut **tx).await? {
            let h: String = r.get(0);
            let size = r.get::<i64, _>(1).clamp(0, u32::MAX as i64) as u32;
            if let Ok(h) = h.parse() {
                stored.insert(h, size);
            }
        }
    }
    Ok(stored)
}

/// The first chunk of `chunks` whose declared size differs from what `stored` says its
/// verified bytes are: a manifest that names a stored chunk with another size would be charged,
/// listed and served wrongly, so it is refused.
pub fn size_mismatch<'a>(
    chunks: impl IntoIterator<Item = &'a ChunkRef>,
    stored: &HashMap<Hash, u32>,
) -> Option<(Hash, u32, u32)> {
    chunks.into_iter().find_map(|c| match stored.get(&c.hash) {
        Some(&size) if size != c.size => Some((c.hash, c.size, size)),
        _ => None,
    })
}

pub async fn insert_version_chunks(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    version_id: i64,
    chunks: &[ChunkRef],
) -> sqlx::Result<()> {
    let rows: Vec<(i64, usize, &ChunkRef)> = chunks
        .iter()
        .enumerate()
        .map(|(i, c)| (version_id, i, c))
        .collect();
    insert_chunk_rows(tx, backend, &rows).await
}

/// `version_chunks` rows (version, index in its list, chunk), as few statements as allowed: a
/// 10 GiB file has ~10k chunks, and a group commit writes many versions' lists.
pub async fn insert_chunk_rows(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    rows: &[(i64, usize, &ChunkRef)],
) -> sqlx::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    for rows in chunk_rows(backend, rows)? {
        let sql = rows.fill(INSERT_CHUNK_ROWS, 1);
        rows.bind(sqlx::query(&sql))?.execute(&mut **tx).await?;
    }
    Ok(())
}

/// version, index in its list, hash, offset, size
type ChunkRow = (i64, usize, String, u64, u32);

/// Rows per PostgreSQL `VALUES` list of chunk rows: 5 parameters each, and a statement may
/// bind at most 65,535.
const PG_CHUNK_ROWS: usize = 1_000;

/// Inserts the chunk rows of the table in `{rows}` (see `json_rows::Rows::fill`).
pub const INSERT_CHUNK_ROWS: &str =
    "INSERT INTO version_chunks (version_id, idx, hash, offset_bytes, size) \
     SELECT column1, column2, column3, column4, column5 FROM {rows} AS r";

/// The rows `insert_chunk_rows` inserts, one `Rows` per statement. SQLite: always exactly one
/// (its rows are one JSON parameter, of any size). PostgreSQL: one per [`PG_CHUNK_ROWS`] rows,
/// none for none.
pub fn chunk_rows(backend: Backend, rows: &[(i64, usize, &ChunkRef)]) -> sqlx::Result<Vec<Rows>> {
    let rows: Vec<ChunkRow> = rows
        .iter()
        .map(|(v, i, c)| (*v, *i, c.hash.to_string(), c.offset, c.size))
        .collect();
    let parts: Vec<&[ChunkRow]> = match backend {
        Backend::Sqlite => vec![&rows],
        Backend::Postgres => rows.chunks(PG_CHUNK_ROWS).collect(),
    };
    parts
        .into_iter()
        .map(|part| {
            Rows::new(
                backend,
                &[Col::Int, Col::Int, Col::Text, Col::Int, Col::Int],
                part,
            )
        })
        .collect()
}

pub async fn version_chunks<'e, E>(exec: E, version_id: i64) -> sqlx::Result<Vec<ChunkRef>>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    let rows = sqlx::query(
        "SELECT hash, offset_bytes, size FROM version_chunks WHERE version_id = $1 ORDER BY idx",
    )
    .bind(version_id)
    .fetch_all(exec)
    .await?;
    rows.iter()
        .map(|r| {
            let h: String = r.get(0);
            Ok(ChunkRef {
                hash: h
                    .parse()
                    .map_err(|_| sqlx::Error::Decode("bad chunk hash".into()))?,
                offset: r.get::<i64, _>(1) as u64,
                size: r.get::<i64, _>(2) as u32,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_chunk_lists_stay_under_the_parameter_limit() {
        let chunk = ChunkRef {
            hash: wasm_chunker::hash_chunk(b"x"),
            offset: 0,
            size: 1,
        };
        let rows: Vec<(i64, usize, &ChunkRef)> = (0..2_500).map(|i| (1, i, &chunk)).collect();
        let pg = chunk_rows(Backend::Postgres, &rows).unwrap();
        assert_eq!(pg.len(), 3);
        assert!(pg
            .iter()
            .all(|r| !r.fill(INSERT_CHUNK_ROWS, 1).contains("$5001")));
        assert_eq!(chunk_rows(Backend::Sqlite, &rows).unwrap().len(), 1);
        assert_eq!(chunk_rows(Backend::Sqlite, &[]).unwrap().len(), 1);
        assert!(chunk_rows(Backend::Postgres, &[]).unwrap().is_empty());
    }
}
