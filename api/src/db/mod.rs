//! The metadata store: one sqlx `Any` pool over SQLite (embedded) or PostgreSQL (scale), with
//! SQL written once in the dialect both accept (`$n` parameters, `RETURNING`, partial indexes).
//!
//! SQLite allows one writer at a time and answers `SQLITE_BUSY` when two transactions race to
//! upgrade their locks, so writes through [`Db::write`] take an in-process lock first there;
//! PostgreSQL relies on row locks and constraints instead.
//!
//! Push hints leave from here too: on SQLite a committed write publishes the change-log rows
//! it added to the [`Hub`]; on PostgreSQL `log_change` notifies inside the transaction.

pub mod changes;
pub mod chunks;
pub mod nodes;
pub mod search;
pub mod uploads;
pub mod users;
pub mod versions;

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{Any, AnyPool, Executor, Transaction};
use tokio::sync::{Mutex, MutexGuard};

use crate::hub::Hub;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct Db {
    pub pool: AnyPool,
    pub backend: Backend,
    write_lock: Mutex<()>,
    /// Where committed changes are announced (SSE). Owned here so every writer reaches it.
    pub hub: Arc<Hub>,
    /// SQLite: the highest `changes` rowid already announced.
    announced_rowid: AtomicI64,
}

/// A write transaction; on SQLite it also holds the single-writer lock until dropped.
pub struct WriteTx<'a> {
    pub tx: Transaction<'static, Any>,
    _guard: Option<MutexGuard<'a, ()>>,
    db: &'a Db,
}

impl WriteTx<'_> {
    pub async fn commit(self) -> sqlx::Result<()> {
        self.tx.commit().await?;
        if self._guard.is_some() {
            // Still the only writer: the rows past the mark are exactly what we committed
            // (or what an earlier writer committed without announcing).
            if let Err(e) = self.db.announce_sqlite().await {
                tracing::warn!(error = %e, "cannot announce committed changes");
            }
        }
        Ok(())
    }
}

pub type Row = AnyRow;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

impl Db {
    /// Connects and applies pending migrations.
    pub async fn connect(url: &str) -> anyhow::Result<Db> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            anyhow::bail!("unsupported database URL scheme (use sqlite:// or postgres://)");
        };
        let mut options = AnyPoolOptions::new().max_connections(match backend {
            Backend::Sqlite => 8,
            Backend::Postgres => 16,
        });
        if backend == Backend::Sqlite {
            options = options.after_connect(|conn, _| {
                Box::pin(async move {
                    // FULL: an acknowledged commit survives a power cut. WAL: readers never
                    // wait for the writer.
                    conn.execute(
                        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                         PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;",
                    )
                    .await?;
                    Ok(())
                })
            });
        }
        let pool = options
            .connect(url)
            .await
            .context("cannot open the metadata database")?;
        match backend {
            Backend::Sqlite => SQLITE_MIGRATIONS.run(&pool).await,
            Backend::Postgres => POSTGRES_MIGRATIONS.run(&pool).await,
        }
        .context("cannot apply database migrations")?;
        let announced: i64 = match backend {
            Backend::Sqlite => {
                sqlx::query_scalar("SELECT CAST(COALESCE(MAX(rowid), 0) AS BIGINT) FROM changes")
                    .fetch_one(&pool)
                    .await?
            }
            Backend::Postgres => 0,
        };
        Ok(Db {
            pool,
            backend,
            write_lock: Mutex::new(()),
            hub: Hub::new(),
            announced_rowid: AtomicI64::new(announced),
        })
    }

    /// Publishes the newest seq of every namespace that gained change rows since the last call.
    /// Called with the SQLite writer lock held.
    async fn announce_sqlite(&self) -> sqlx::Result<()> {
        let from = self.announced_rowid.load(Ordering::Acquire);
        let rows = sqlx::query(
            "SELECT CAST(MAX(rowid) AS BIGINT), namespace_id, MAX(seq) FROM changes \
             WHERE rowid > $1 GROUP BY namespace_id",
        )
        .bind(from)
        .fetch_all(&self.pool)
        .await?;
        let mut top = from;
        for r in &rows {
            use sqlx::Row as _;
            top = top.max(r.get::<i64, _>(0));
            self.hub.publish(r.get(1), r.get(2));
        }
        self.announced_rowid.store(top, Ordering::Release);
        Ok(())
    }

    pub async fn write(&self) -> sqlx::Result<WriteTx<'_>> {
        let guard = match self.backend {
            Backend::Sqlite => Some(self.write_lock.lock().await),
            Backend::Postgres => None,
        };
        let tx = self.pool.begin().await?;
        Ok(WriteTx {
            tx,
            _guard: guard,
            db: self,
        })
    }
}

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
