//! `cairn backup DIR`: the database and the chunks it names, copied while the server runs, and
//! checked complete before the command says it worked.
//!
//! The database copy is one consistent snapshot (SQLite `VACUUM INTO`; PostgreSQL `pg_dump`
//! run on a snapshot this command exported, so it reads the chunk list from exactly the state
//! it dumps). The chunks come after it: a chunk is immutable and named by its hash, so a later
//! copy of it is the same bytes. The one risk is a chunk the snapshot names that the collector
//! deletes before it is copied (its last version pruned meanwhile): the command then fails
//! and says so, rather than leave a backup that points at missing bytes. Chunks are hard links
//! where the backup shares the store's file system (no bytes copied), copies elsewhere.
//!
//! The restored server is the same files: `cairn --data-dir DIR` (SQLite), or `pg_restore`
//! into a new database and `--database-url` with `--data-dir DIR` (PostgreSQL).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

use crate::db::{ops, Backend, Db};
use crate::settings::Settings;

pub async fn backup(settings: &Settings, to: &Path) -> anyhow::Result<()> {
    if to.exists() {
        bail!(
            "{} exists: a backup goes into a new directory",
            to.display()
        );
    }
    std::fs::create_dir_all(to).with_context(|| format!("cannot create {}", to.display()))?;
    let db = super::open(settings).await?;
    let hashes = match db.backend {
        Backend::Sqlite => snapshot_sqlite(&db, to).await?,
        Backend::Postgres => dump_postgres(&db, &settings.database_url(), to).await?,
    };
    db.pool.close().await;
    let key = settings.data_dir.join("url-signing.key");
    if key.exists() {
        std::fs::copy(&key, to.join("url-signing.key")).context("cannot copy the URL key")?;
    }
    if let Some(s3) = &settings.s3 {
        println!(
            "database copied; its {} chunks stay in the bucket {}: keep that bucket (replicated, \
             or copied with the store's tools), as the backup names its objects",
            hashes.len(),
            s3.bucket
        );
        return Ok(());
    }
    let (bytes, missing) = copy_chunks(&settings.data_dir, to, &hashes)?;
    if !missing.is_empty() {
        bail!(
            "{} of the {} chunks the snapshot names left the store before they were copied \
             (collected meanwhile): this backup is incomplete; run it again\nfirst missing: {}",
            missing.len(),
            hashes.len(),
            missing[0]
        );
    }
    println!(
        "backup in {}: the database and {} chunks ({bytes} bytes), checked complete",
        to.display(),
        hashes.len()
    );
    Ok(())
}

/// Writes `to/cairn.db` and answers the chunks that copy names.
async fn snapshot_sqlite(db: &Db, to: &Path) -> anyhow::Result<Vec<String>> {
    let file = to.join("cairn.db");
    let path = file.to_str().context("the backup path is not UTF-8")?;
    ops::snapshot_sqlite(db, path)
        .await
        .context("cannot snapshot the database")?;
    let copy = Db::connect(&format!("sqlite://{path}?mode=rw")).await?;
    let hashes = ops::chunk_hashes(&copy.pool).await?;
    copy.pool.close().await;
    Ok(hashes)
}

/// Runs `pg_dump` into `to/cairn.pgdump` on a snapshot this transaction exports, and reads
/// the chunk list in that same snapshot.
async fn dump_postgres(db: &Db, url: &str, to: &Path) -> anyhow::Result<Vec<String>> {
    let mut tx = db.pool.begin().await?;
    let snapshot = ops::export_snapshot(&mut tx).await?;
    let file = to.join("cairn.pgdump");
    // The transaction holding the snapshot stays open (idle) while pg_dump reads it.
    let out = std::process::Command::new("pg_dump")
        .arg("--format=custom")
        .arg(format!("--snapshot={snapshot}"))
        .arg("--file")
        .arg(&file)
        .arg(url)
        .output()
        .context("cannot run pg_dump (Debian: apt install postgresql-client)")?;
    if !out.status.success() {
        bail!("pg_dump failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let hashes = ops::chunk_hashes(&mut *tx).await?;
    tx.commit().await?;
    Ok(hashes)
}

/// Links (or copies) each chunk from the store under `data_dir` into `to`; answers the bytes
/// and the chunks that were not there.
fn copy_chunks(
    data_dir: &Path,
    to: &Path,
    hashes: &[String],
) -> anyhow::Result<(u64, Vec<String>)> {
    let mut bytes = 0;
    let mut missing = Vec::new();
    for hash in hashes {
        let Some(prefix) = hash.get(..2) else {
            bail!("a chunk hash in the database is malformed: {hash:?}");
        };
        let rel: PathBuf = ["chunks", prefix, hash].iter().collect();
        let (from, into) = (data_dir.join(&rel), to.join(&rel));
        std::fs::create_dir_all(into.parent().expect("a prefix directory"))?;
        let linked = std::fs::hard_link(&from, &into);
        match linked {
            Ok(()) => bytes += std::fs::metadata(&into)?.len(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => missing.push(hash.clone()),
            // Another file system (or none that links): copy the bytes.
            Err(_) => match std::fs::copy(&from, &into) {
                Ok(n) => bytes += n,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => missing.push(hash.clone()),
                Err(e) => return Err(e).with_context(|| format!("cannot copy {}", from.display())),
            },
        }
    }
    Ok((bytes, missing))
}
