//! Recomputing stored name keys when the key rule changes (`wire::names::KEY_VERSION`): SQL
//! cannot case-fold, so at start-up, if `name_rules.key_version` is older than the rule this
//! server runs, every stored name is read once, `rekey::plan` decides, and the changes are
//! written in one transaction that also raises the version. Live nodes whose visible name
//! changed get a `rename` change, so every device hears of it.

use futures::TryStreamExt as _;
use sqlx::Row as _;

use super::{changes, Db};
use crate::rekey::{self, Rekeyed, Stored};

const COLUMNS: &str = "id, namespace_id, parent_id, name, name_key, \
     CAST(CASE WHEN deleted_at IS NULL THEN 1 ELSE 0 END AS BIGINT)";

fn stored(r: &sqlx::any::AnyRow) -> Stored {
    Stored {
        id: r.get(0),
        namespace_id: r.get(1),
        parent_id: r.get(2),
        name: r.get(3),
        key: r.get(4),
        live: r.get::<i64, _>(5) == 1,
    }
}

/// Brings stored keys (and names) up to the current rules if they were written under older
/// ones; returns how many nodes changed. Several API nodes starting at once take turns on the
/// `name_rules` row, and the later ones find the work done.
pub async fn run(db: &Db) -> anyhow::Result<usize> {
    let current = wire::names::KEY_VERSION;
    let stored_version: i64 = sqlx::query("SELECT key_version FROM name_rules WHERE id = 1")
        .fetch_one(&db.pool)
        .await?
        .get(0);
    if stored_version >= current {
        return Ok(0);
    }
    let mut w = db.write().await?;
    let stored_version: i64 = sqlx::query(
        "UPDATE name_rules SET key_version = key_version WHERE id = 1 RETURNING key_version",
    )
    .fetch_one(&mut *w.tx)
    .await?
    .get(0);
    if stored_version >= current {
        return Ok(0);
    }
    // Every node that changes on its own; then, for the live ones, all their siblings.
    let mut rows: Vec<Stored> = Vec::new();
    {
        let sql = format!("SELECT {COLUMNS} FROM nodes WHERE parent_id IS NOT NULL");
        let mut all = sqlx::query(&sql).fetch(&mut *w.tx);
        while let Some(r) = all.try_next().await? {
            let row = stored(&r);
            if rekey::changes(&row) {
                rows.push(row);
            }
        }
    }
    let folders: std::collections::BTreeSet<i64> = rows
        .iter()
        .filter(|r| r.live)
        .map(|r| r.parent_id)
        .collect();
    rows.retain(|r| !r.live);
    for folder in folders {
        let sql =
            format!("SELECT {COLUMNS} FROM nodes WHERE parent_id = $1 AND deleted_at IS NULL");
        for r in sqlx::query(&sql).bind(folder).fetch_all(&mut *w.tx).await? {
            rows.push(stored(&r));
        }
    }
    let plan = rekey::plan(&rows);
    write(&mut w.tx, &plan).await?;
    sqlx::query("UPDATE name_rules SET key_version = $1 WHERE id = 1")
        .bind(current)
        .execute(&mut *w.tx)
        .await?;
    w.commit().await?;
    tracing::info!(
        changed = plan.len(),
        renamed = plan.iter().filter(|r| r.renamed).count(),
        key_version = current,
        "stored names brought up to the current name rules"
    );
    Ok(plan.len())
}

async fn write(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    plan: &[Rekeyed],
) -> sqlx::Result<()> {
    // First a key no name can have (a control character), so that keys moving between
    // siblings never meet the unique index half-way; then the real ones.
    for r in plan {
        sqlx::query("UPDATE nodes SET name_key = $1 WHERE id = $2")
            .bind(format!("\u{1}{}", r.id))
            .bind(r.id)
            .execute(&mut **tx)
            .await?;
    }
    for r in plan {
        sqlx::query("UPDATE nodes SET name = $1, name_key = $2 WHERE id = $3")
            .bind(&r.name)
            .bind(&r.key)
            .bind(r.id)
            .execute(&mut **tx)
            .await?;
        if r.live && r.renamed {
            changes::log(tx, r.namespace_id, r.id, "rename", None).await?;
        }
    }
    Ok(())
}
