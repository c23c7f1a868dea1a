//! Background jobs that must run on one node at a time over a shared database: the collector,
//! the retention pass and the scrubber. Two collectors would not corrupt anything (each chunk is
//! deleted under its row lock), but they would read the same candidates twice, race to delete
//! the same objects and double the store's load; N nodes running the weekly scrub would read
//! the whole store N times.
//!
//! The hold dies with its holder, never by a timeout that a slow pass could outlive:
//! - PostgreSQL: a session advisory lock (`pg_try_advisory_lock`) on a pooled connection that
//!   is closed, not returned, when the hold ends, so a pass cut short (a panic, a cancelled
//!   task) cannot leave the lock on a connection the pool hands out again. A node that dies
//!   drops its connection, and the server releases the lock.
//! - SQLite: an exclusive `flock` on a file beside the database, which covers `cairn gc` run
//!   by hand beside a running server. The kernel releases it with the process.
//!
//! Nobody waits: a job that finds the hold taken skips its turn, since the holder is doing the
//! same work.

use std::fs::{File, TryLockError};

use anyhow::Context;
use sqlx::pool::PoolConnection;
use sqlx::Any;

use super::{Backend, Db};

/// The jobs that run on one node at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    Collector,
    Retention,
    Scrub,
}

impl Job {
    fn name(self) -> &'static str {
        match self {
            Job::Collector => "collector",
            Job::Retention => "retention",
            Job::Scrub => "scrub",
        }
    }

    /// The advisory lock key: "cairn" in the high bytes, the job in the low one.
    fn key(self) -> i64 {
        const CAIRN: i64 = 0x6361_6972_6e00_0000;
        CAIRN
            | match self {
                Job::Collector => 1,
                Job::Retention => 2,
                Job::Scrub => 3,
            }
    }
}

/// The right to run a job until dropped (or [`Hold::release`]d).
#[derive(Debug)]
pub struct Hold(Held);

#[derive(Debug)]
enum Held {
    /// Closed on drop (`close_on_drop`), which ends the session and its lock.
    Postgres(PoolConnection<Any>, Job),
    /// Never read: closing it (on drop) is what lets go.
    #[allow(dead_code)]
    File(File),
    /// An in-memory SQLite database: one process, and the job's own callers do not overlap.
    Nothing,
}

impl Hold {
    /// Ends the hold now: the next `try_hold`, on any node, finds it free.
    ///
    /// On PostgreSQL the lock is let go by `pg_advisory_unlock` before the connection closes:
    /// closing alone returns once the client has hung up, while the server process ends (and
    /// drops its locks) a moment later, so a pass started right after could find the hold
    /// still taken.
    pub async fn release(self) {
        if let Held::Postgres(mut conn, job) = self.0 {
            let unlocked = sqlx::query_scalar::<_, bool>("SELECT pg_advisory_unlock($1)")
                .bind(job.key())
                .fetch_one(&mut *conn)
                .await;
            if let Err(e) = unlocked {
                tracing::warn!(error = %e, job = job.name(), "could not unlock; closing instead");
            }
            let _ = conn.close().await;
        }
    }
}

/// Takes the hold on `job` if nobody has it; `None` if another node or process does.
pub async fn try_hold(db: &Db, job: Job) -> anyhow::Result<Option<Hold>> {
    match db.backend {
        Backend::Postgres => {
            let mut conn = db.pool.acquire().await?;
            let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
                .bind(job.key())
                .fetch_one(&mut *conn)
                .await?;
            if !got {
                return Ok(None);
            }
            conn.close_on_drop();
            Ok(Some(Hold(Held::Postgres(conn, job))))
        }
        Backend::Sqlite => {
            let Some(db_file) = &db.sqlite_file else {
                return Ok(Some(Hold(Held::Nothing)));
            };
            let mut name = db_file.clone().into_os_string();
            name.push(format!(".{}.lock", job.name()));
            let file = File::options()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&name)
                .with_context(|| format!("cannot open {}", name.to_string_lossy()))?;
            match file.try_lock() {
                Ok(()) => Ok(Some(Hold(Held::File(file)))),
                Err(TryLockError::WouldBlock) => Ok(None),
                Err(TryLockError::Error(e)) => {
                    Err(e).with_context(|| format!("cannot lock {}", name.to_string_lossy()))
                }
            }
        }
    }
}

/// What a serving node holds for its whole life on PostgreSQL to say which chunk store it
/// uses: a node with the local chunk directory holds [`STORE_KEY`] alone (its chunks are on
/// its own disk, where no other node can read them), nodes on a shared S3 store hold it
/// together. Either kind that cannot take its side refuses to start. The connection closes
/// with the node, which lets go.
#[derive(Debug)]
pub struct StoreClaim(#[allow(dead_code)] Option<PoolConnection<Any>>);

const STORE_KEY: i64 = 0x6361_6972_6e00_0100;

/// How long a starting node waits for its side of the claim: a node killed a moment ago
/// holds it until PostgreSQL notices its connection is gone, which a restart must outwait.
const CLAIM_PATIENCE: std::time::Duration = std::time::Duration::from_secs(10);

/// Claims the database for a node whose chunks are `local` or shared; on SQLite (one file,
/// one host) there is nothing to claim.
pub async fn claim_store(db: &Db, local: bool) -> anyhow::Result<StoreClaim> {
    if db.backend != Backend::Postgres {
        return Ok(StoreClaim(None));
    }
    let mut conn = db.pool.acquire().await?;
    let sql = if local {
        "SELECT pg_try_advisory_lock($1)"
    } else {
        "SELECT pg_try_advisory_lock_shared($1)"
    };
    let deadline = tokio::time::Instant::now() + CLAIM_PATIENCE;
    let mut got = false;
    while !got && tokio::time::Instant::now() < deadline {
        got = sqlx::query_scalar(sql)
            .bind(STORE_KEY)
            .fetch_one(&mut *conn)
            .await?;
        if !got {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
    if !got {
        anyhow::bail!(if local {
            "another Cairn node serves this PostgreSQL database: several nodes need one shared \
             chunk store (set CAIRN_S3_BUCKET); the local chunk directory serves a single node"
        } else {
            "a Cairn node that keeps its chunks in a local directory serves this PostgreSQL \
             database: stop it (and move its chunks to the S3 bucket) before starting nodes \
             on a shared store"
        });
    }
    conn.close_on_drop();
    Ok(StoreClaim(Some(conn)))
}
