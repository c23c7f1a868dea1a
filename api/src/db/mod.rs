//! The metadata store: one sqlx `Any` pool over SQLite (embedded) or PostgreSQL (scale), with
//! SQL written once in the dialect both accept (`$n` parameters, `RETURNING`, partial indexes).
//!
//! SQLite allows one writer at a time and answers `SQLITE_BUSY` when two transactions race to
//! upgrade their locks, so writes through [`Db::write`] take an in-process lock first there;
//! PostgreSQL relies on row locks and constraints instead.
//!
//! Push hints leave from here too: on SQLite a committed write publishes the change-log rows
//! it added to the [`Hub`]; on PostgreSQL `log_change` notifies inside the transaction.

pub mod batch_tx;
pub mod changes;
mod checkpoint;
pub mod chunks;
pub mod collect;
pub mod commit;
pub mod commit_reads;
pub mod erase;
pub mod exclusive;
pub mod export;
pub mod json_rows;
pub mod links;
pub mod listing;
pub mod manifest_drafts;
pub mod members;
pub mod mounts;
pub mod native_sqlite;
pub mod nodes;
pub mod ops;
pub mod rekey;
pub mod requests;
pub mod retention;
pub mod search;
pub mod shares;
pub mod thumbnails;
pub mod uploads;
pub mod usage;
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
use batch_tx::{BatchTx, Cells, Record, SqlxTx, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The database a transaction runs on: the one way to ask, for code that holds only the
    /// transaction.
    pub fn of(tx: &Transaction<'static, Any>) -> Backend {
        if tx.backend_name().eq_ignore_ascii_case("postgresql") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }
}

pub struct Db {
    pub pool: AnyPool,
    /// Connections reserved for the group committer (`write_commits`).
    commit_pool: AnyPool,
    pub backend: Backend,
    write_lock: Mutex<()>,
    /// Where committed changes are announced (SSE). Owned here so every writer reaches it.
    pub hub: Arc<Hub>,
    /// SQLite: the highest `changes` rowid already announced.
    announced_rowid: AtomicI64,
    /// SQLite: the database file, for the group committer's own connection (`native_sqlite`);
    /// `None` for an in-memory database.
    pub sqlite_file: Option<std::path::PathBuf>,
    /// SQLite on a file: connections of our own for hot point reads (`read_row`).
    readers: Option<native_sqlite::Readers>,
    /// SQLite: the background WAL checkpointer (`checkpoint`), stopped with the `Db`.
    checkpointer: Option<tokio::task::JoinHandle<()>>,
}

impl Drop for Db {
    fn drop(&mut self) {
        if let Some(task) = &self.checkpointer {
            task.abort();
        }
    }
}

/// A write transaction; on SQLite it also holds the single-writer lock until dropped.
pub struct WriteTx<'a> {
    pub tx: Transaction<'static, Any>,
    _guard: Option<MutexGuard<'a, ()>>,
    db: &'a Db,
}

impl WriteTx<'_> {
    pub async fn commit(mut self) -> sqlx::Result<()> {
        if self._guard.is_none() {
            return self.tx.commit().await;
        }
        // Still the only writer: the change rows past the mark are exactly what this
        // transaction adds (or what an earlier writer committed without announcing); announced
        // once the commit is durable.
        let fresh = self
            .db
            .unannounced_sqlite(&mut SqlxTx {
                tx: &mut self.tx,
                backend: Backend::Sqlite,
            })
            .await;
        self.tx.commit().await?;
        match fresh {
            Ok(fresh) => self.db.announce_sqlite(fresh),
            Err(e) => tracing::warn!(error = %e, "cannot announce committed changes"),
        }
        Ok(())
    }
}

impl WriteTx<'_> {
    /// Rolls back now (dropping a `WriteTx` rolls back too, but only when sqlx next uses the
    /// connection).
    pub async fn rollback(self) -> sqlx::Result<()> {
        self.tx.rollback().await
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
        let pool = pool_options(
            backend,
            match backend {
                Backend::Sqlite => 8,
                Backend::Postgres => 16,
            },
        )
        .connect(url)
        .await
        .context("cannot open the metadata database")?;
        // The group committer's own connection, so a batch never queues behind a crowd of
        // requests waiting for the shared pool (the second one serves a careful rerun).
        // Lazy: its connections open on the writer's own runtime (`group_commit`).
        let commit_pool = pool_options(backend, 2)
            .connect_lazy(url)
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
        let sqlite_file = match backend {
            // Asked of SQLite rather than parsed from the URL, so it is the file sqlx opened.
            Backend::Sqlite => sqlx::query_scalar::<_, String>(
                "SELECT file FROM pragma_database_list WHERE name = 'main'",
            )
            .fetch_optional(&pool)
            .await?
            .filter(|f| !f.is_empty())
            .map(std::path::PathBuf::from),
            Backend::Postgres => None,
        };
        let checkpointer = match backend {
            Backend::Sqlite => Some(checkpoint::spawn(
                pool_options(backend, 1)
                    .connect_lazy(url)
                    .context("cannot open the metadata database")?,
            )),
            Backend::Postgres => None,
        };
        let db = Db {
            pool,
            commit_pool,
            backend,
            write_lock: Mutex::new(()),
            hub: Hub::new(),
            announced_rowid: AtomicI64::new(announced),
            readers: sqlite_file.clone().map(native_sqlite::Readers::new),
            sqlite_file,
            checkpointer,
        };
        rekey::run(&db)
            .await
            .context("cannot bring stored names up to the current name rules")?;
        Ok(db)
    }

    /// The change rows past the announced mark: (top rowid, namespace, newest seq) per
    /// namespace. Called with the SQLite writer lock held, on the writing transaction (not the
    /// shared pool, where the writer would queue behind every waiting request).
    pub(crate) async fn unannounced_sqlite(
        &self,
        tx: &mut impl BatchTx,
    ) -> sqlx::Result<Vec<(i64, i64, i64)>> {
        let from = self.announced_rowid.load(Ordering::Acquire);
        let rows = tx
            .fetch(
                // NOT INDEXED: a range of the rowid, the few newest rows. Left to itself, the
                // planner answers the GROUP BY by walking the whole primary-key index in order
                // (42 ms at a million changes, in every commit; `bench-tree`).
                "SELECT CAST(MAX(rowid) AS BIGINT), namespace_id, MAX(seq) FROM changes \
                 NOT INDEXED WHERE rowid > $1 GROUP BY namespace_id",
                vec![Value::Int(Some(from))],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| (r.int(0), r.int(1), r.int(2)))
            .collect())
    }

    /// Publishes committed rows found by `unannounced_sqlite` and moves the mark past them.
    pub(crate) fn announce_sqlite(&self, fresh: Vec<(i64, i64, i64)>) {
        let mut top = self.announced_rowid.load(Ordering::Acquire);
        for (rowid, namespace, seq) in fresh {
            top = top.max(rowid);
            self.hub.publish(namespace, seq);
        }
        self.announced_rowid.store(top, Ordering::Release);
    }

    /// SQLite's single-writer lock, for a writer with a connection of its own
    /// (`native_sqlite`), which must hold it from `BEGIN` to `COMMIT`.
    pub(crate) async fn lock_writer(&self) -> MutexGuard<'_, ()> {
        self.write_lock.lock().await
    }

    /// The first row of a hot point read (the ones every request makes). SQLite on a file: on
    /// a connection of our own, on this thread (`native_sqlite`); otherwise the pool.
    pub async fn read_row(&self, sql: &str, args: Vec<Value>) -> sqlx::Result<Option<Record>> {
        if let Some(readers) = &self.readers {
            return Ok(readers.fetch(sql, args)?.into_iter().next());
        }
        batch_tx::bind(sqlx::query(sql), args)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(batch_tx::record)
            .transpose()
    }

    pub async fn write(&self) -> sqlx::Result<WriteTx<'_>> {
        self.write_on(&self.pool).await
    }

    /// Runs `sql`, an `UPDATE` of row `$2` stamped with the time now as `$1`, in a write
    /// transaction of its own (a revoke, a use counted, a device seen).
    pub(crate) async fn stamp(&self, sql: &str, id: i64) -> sqlx::Result<()> {
        let mut w = self.write().await?;
        sqlx::query(sql)
            .bind(now_ms())
            .bind(id)
            .execute(&mut *w.tx)
            .await?;
        w.commit().await
    }

    /// A write transaction on the group committer's reserved connections. On PostgreSQL it
    /// begins holding the row locks of `namespaces`, taken in ascending order (two API nodes'
    /// batches never wait on each other in a cycle) in the same round trip as its `BEGIN`:
    /// commits to one namespace take turns from there. SQLite already has one writer.
    pub async fn write_commits(&self, namespaces: &[i64]) -> sqlx::Result<WriteTx<'_>> {
        self.write_locking(&self.commit_pool, namespaces).await
    }

    async fn write_on(&self, pool: &AnyPool) -> sqlx::Result<WriteTx<'_>> {
        self.write_locking(pool, &[]).await
    }

    async fn write_locking(&self, pool: &AnyPool, namespaces: &[i64]) -> sqlx::Result<WriteTx<'_>> {
        let guard = match self.backend {
            Backend::Sqlite => Some(self.write_lock.lock().await),
            Backend::Postgres => None,
        };
        // IMMEDIATE: take SQLite's write lock now, waiting (busy_timeout) for it. A write
        // transaction dropped on an error path releases our lock at once while its rollback
        // still waits its turn on sqlx's connection thread; a deferred transaction that read
        // first and then found SQLite's lock held would fail with SQLITE_BUSY at once.
        //
        // Opened on a task of its own, which always runs to the end: sqlx 0.8 leaves the
        // connection inside the transaction, unknown to it, if the future opening one is
        // dropped between the `BEGIN` and its bookkeeping (after a custom `BEGIN` on SQLite,
        // after any on PostgreSQL), and a request's future is dropped whenever its client goes
        // away. On SQLite that connection then held the write lock for good, so every later
        // write failed. If the caller is gone, the finished transaction is dropped here and
        // rolled back.
        //
        // PostgreSQL's locks ride in the `BEGIN`'s simple query, ids written out (integers,
        // nothing to escape), as it takes no parameters.
        let pool = pool.clone();
        let backend = self.backend;
        let mut ids: Vec<i64> = namespaces.to_vec();
        ids.sort_unstable();
        ids.dedup();
        let tx = tokio::spawn(async move {
            match backend {
                Backend::Sqlite => pool.begin_with("BEGIN IMMEDIATE").await,
                Backend::Postgres if ids.is_empty() => pool.begin().await,
                Backend::Postgres => {
                    let list: Vec<String> = ids.iter().map(i64::to_string).collect();
                    pool.begin_with(format!(
                        "BEGIN; SELECT id FROM namespaces WHERE id IN ({}) ORDER BY id FOR UPDATE",
                        list.join(", ")
                    ))
                    .await
                }
            }
        })
        .await
        .map_err(|_| sqlx::Error::WorkerCrashed)??;
        Ok(WriteTx {
            tx,
            _guard: guard,
            db: self,
        })
    }
}

/// How long a request waits for a PostgreSQL connection before answering 503.
pub const PG_ACQUIRE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

fn pool_options(backend: Backend, max: u32) -> AnyPoolOptions {
    let options = AnyPoolOptions::new().max_connections(max);
    if backend != Backend::Sqlite {
        // While PostgreSQL is away (restarting, unreachable) a request waits this long for a
        // connection, then answers 503 `unavailable` (`error.rs`) for the client to retry;
        // sqlx's default of 30 s held every request that long. A restart of a few seconds
        // passes unnoticed but for the delay.
        //
        // No ping either: sqlx's check before each acquire was a round trip of its own, a
        // third of a lone commit's (auth, upload, commit writer each took a connection). A
        // connection that died meanwhile (PostgreSQL restarted) fails its first statement
        // instead, answered 503 `unavailable` like any other, and is not reused.
        return options
            .acquire_timeout(PG_ACQUIRE_TIMEOUT)
            .test_before_acquire(false);
    }
    // No ping each time a connection leaves the pool: for an embedded file that cannot hang
    // up, it only added a round trip to sqlx's connection thread (two thread switches) to
    // every request's reads and every commit batch.
    options.test_before_acquire(false).after_connect(|conn, _| {
        Box::pin(async move {
            // FULL: an acknowledged commit survives a power cut. WAL: readers never wait for
            // the writer. No automatic checkpoints: `checkpoint` runs them off the writer's path.
            conn.execute(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                 PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; \
                 PRAGMA wal_autocheckpoint = 0;",
            )
            .await?;
            Ok(())
        })
    })
}

impl Db {
    /// One round trip to the database: the readiness check.
    pub async fn ping(&self) -> sqlx::Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
