//! Group commit: concurrent version commits are queued to one writer task, which runs every
//! commit waiting at that moment in a single database transaction — one fsync for the lot —
//! and answers each caller only after that transaction is durable.
//!
//! The batch is written set-based (see `batch`): a fixed number of statements for the
//! lot. A commit that is refused (stale name, quota, missing chunks…) writes nothing, so the
//! batch normally runs with no savepoints at all; should the database fail mid-commit, the batch is
//! rolled back and run again with each commit between `SAVEPOINT` and `RELEASE`, where a
//! failing one is rolled back alone and answered with its own error, never sinking the others. Durability is not
//! traded away: SQLite keeps `synchronous = FULL`, PostgreSQL its defaults. Batches form by
//! themselves (whatever queued while the previous batch was being written), so a lone commit
//! waits for nobody.
//!
//! On SQLite the set-based part runs on the writer's own connection (`db::native_sqlite`), a
//! plain function call per statement; what it leaves follows on the pool in a second
//! transaction, answered after its own commit.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};
use wire::{CommitRequest, CommitResponse};

use super::rules::{self, Commit};
use super::{batch, one};
use crate::clock::Clock;
use crate::db::batch_tx::SqlxTx;
use crate::db::commit::{self as sql, Savepoint};
use crate::db::native_sqlite::NativeConn;
use crate::db::users::Caller;
use crate::db::{uploads::Upload, Db};
use crate::error::{ApiError, ApiResult};
use crate::metrics::Metrics;

/// Most commits one transaction carries; bounds how long the writer holds the lock.
pub const MAX_BATCH: usize = 256;
/// Commits allowed to wait; beyond this callers are told to back off (503).
pub const QUEUE: usize = 4096;

struct Job {
    caller: Caller,
    upload: Upload,
    req: CommitRequest,
    /// Where it writes, and whose quota pays (see [`Commit`]).
    namespace_id: i64,
    quota_bytes: u64,
    reply: oneshot::Sender<ApiResult<CommitResponse>>,
}

#[derive(Clone)]
pub struct Committer {
    queue: mpsc::Sender<Job>,
}

impl Committer {
    /// Starts the writer on a thread and runtime of its own; it ends when the last `Committer`
    /// clone is dropped. Its own thread because a batch is a chain of a dozen statements, and
    /// on the shared runtime every one of them waited its turn behind the request tasks that
    /// were queueing the next batch: the writer was slow to write while the CPU sat idle.
    pub fn start(db: Arc<Db>, metrics: Arc<Metrics>, clock: Clock) -> Committer {
        let (queue, rx) = mpsc::channel(QUEUE);
        std::thread::Builder::new()
            .name("cairn-commit".into())
            .spawn(move || {
                match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt.block_on(writer(db, metrics, clock, rx)),
                    // Callers see "the commit writer has stopped".
                    Err(e) => tracing::error!(error = %e, "cannot start the commit writer"),
                }
            })
            .expect("cannot spawn the commit writer thread");
        Committer { queue }
    }

    /// Queues `req` and answers once it is durable. `target`: the namespace its folder lives
    /// in and that namespace's owner's quota (`access::commit_target`).
    pub async fn commit(
        &self,
        caller: Caller,
        upload: Upload,
        req: CommitRequest,
        target: (i64, u64),
    ) -> ApiResult<CommitResponse> {
        rules::validate(&req)?;
        let (reply, answer) = oneshot::channel();
        let (namespace_id, quota_bytes) = target;
        let job = Job {
            caller,
            upload,
            req,
            namespace_id,
            quota_bytes,
            reply,
        };
        self.queue.try_send(job).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => ApiError::Backoff(2),
            mpsc::error::TrySendError::Closed(_) => {
                ApiError::Internal(anyhow::anyhow!("the commit writer has stopped"))
            }
        })?;
        answer.await.map_err(|_| {
            ApiError::Internal(anyhow::anyhow!("the commit writer dropped a commit"))
        })?
    }
}

async fn writer(db: Arc<Db>, metrics: Arc<Metrics>, clock: Clock, mut rx: mpsc::Receiver<Job>) {
    let mut native = open_native(&db);
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        // Namespace locks in ascending order, so two API nodes' batches on one PostgreSQL never
        // wait on each other in a cycle; the sort is stable, so one namespace keeps its order.
        batch.sort_by_key(|job| job.namespace_id);
        metrics.observe_batch(batch.len());
        run_batch(&db, &metrics, native.as_mut(), batch, clock.now_ms()).await;
    }
}

/// SQLite on a file: the writer's own connection (`native_sqlite`). `None` (the sqlx pool
/// serves) for PostgreSQL, an in-memory database, or a file that will not open.
fn open_native(db: &Db) -> Option<NativeConn> {
    let file = db.sqlite_file.as_ref()?;
    match NativeConn::open(file) {
        Ok(w) => Some(w),
        Err(e) => {
            tracing::warn!(error = %e, "cannot open the commit writer's connection; using the pool");
            None
        }
    }
}

/// Writes one batch; `now` is its commits' time (versions, change log, conflict tags).
async fn run_batch(
    db: &Db,
    metrics: &Metrics,
    native: Option<&mut NativeConn>,
    batch: Vec<Job>,
    now: i64,
) {
    // SQLite: the plain commits first, in a transaction on the writer's own connection; what
    // they leave (conflicts, retries, refusals that need a look) goes on to the pool below.
    let (batch, fast_first) = match native {
        Some(w) => {
            let answers = write_native(db, w, &batch, now).await;
            let mut rest = Vec::new();
            for (job, answer) in batch.into_iter().zip(answers) {
                match answer {
                    Some(r) => reply(metrics, job, r),
                    None => rest.push(job),
                }
            }
            (rest, false)
        }
        None => (batch, true),
    };
    if batch.is_empty() {
        return;
    }
    let written = match write_batch(db, &batch, fast_first, false, now).await {
        Ok(Some(answers)) => Ok(answers),
        // An internal error in the plain pass: do it again with a savepoint per commit.
        Ok(None) => write_batch(db, &batch, false, true, now)
            .await
            .map(|a| a.unwrap_or_default()),
        Err(e) => Err(e),
    };
    let answers = match written {
        Ok(answers) => answers,
        Err(e) => return fail_all(batch, &e),
    };
    for (job, r) in batch.into_iter().zip(answers) {
        reply(metrics, job, r);
    }
}

fn reply(metrics: &Metrics, job: Job, r: ApiResult<CommitResponse>) {
    if let Ok(c) = &r {
        if !c.unchanged {
            metrics.count_commit(c.conflict.is_some());
        }
    }
    let _ = job.reply.send(r);
}

fn commits(batch: &[Job]) -> Vec<Commit<'_>> {
    batch
        .iter()
        .map(|j| Commit {
            caller: &j.caller,
            upload: &j.upload,
            req: &j.req,
            namespace_id: j.namespace_id,
            quota_bytes: j.quota_bytes,
        })
        .collect()
}

/// The fast part of the batch (`batch::fast`) in one transaction on the writer's own
/// SQLite connection, announced once durable. Should the database fail, nothing is kept and
/// every answer is `None`, so the whole batch goes on to the pool.
async fn write_native(
    db: &Db,
    w: &mut NativeConn,
    batch: &[Job],
    now: i64,
) -> Vec<Option<ApiResult<CommitResponse>>> {
    let commits = commits(batch);
    let guard = db.lock_writer().await;
    let written = async {
        w.begin()?;
        let answers = batch::fast(w, &commits, now).await?;
        let fresh = db.unannounced_sqlite(w).await?;
        w.commit()?;
        Ok::<_, ApiError>((answers, fresh))
    }
    .await;
    match written {
        Ok((answers, fresh)) => {
            drop(guard);
            db.announce_sqlite(fresh);
            answers
        }
        Err(e) => {
            w.rollback();
            tracing::warn!(error = %e, "batch failed on the writer's connection; using the pool");
            batch.iter().map(|_| None).collect()
        }
    }
}

/// Runs the batch in one transaction on the pool and commits it; the answers are in batch
/// order. Plain (`careful == false`): the fast part set-based (`batch::fast`, when
/// `fast_first`), then the rest one at a time, no savepoints — sound because a commit that is
/// refused has written nothing; a database error, after which that is not known, rolls
/// everything back and answers `None`. Careful: each commit between a savepoint and its
/// release, rolled back alone if it fails.
async fn write_batch(
    db: &Db,
    batch: &[Job],
    fast_first: bool,
    careful: bool,
    now: i64,
) -> sqlx::Result<Option<Vec<ApiResult<CommitResponse>>>> {
    // Every namespace's lock first (PostgreSQL), in the one order, with the `BEGIN`.
    let mut w = db
        .write_commits(&rules::namespaces(&commits(batch)))
        .await?;
    let answers = if careful {
        let commits = commits(batch);
        let mut answers = Vec::with_capacity(batch.len());
        for c in commits {
            answers.push(savepoint(&mut w.tx, c, now).await?);
        }
        answers
    } else {
        let commits = commits(batch);
        let plain = async {
            let answers = if fast_first {
                let mut tx = SqlxTx {
                    tx: &mut w.tx,
                    backend: db.backend,
                };
                batch::fast(&mut tx, &commits, now).await?
            } else {
                commits.iter().map(|_| None).collect()
            };
            batch::finish(&mut w.tx, &commits, answers, now).await
        }
        .await;
        match plain {
            Ok(answers) => answers,
            Err(e) => {
                tracing::warn!(error = %e, "batch failed; running it again one commit at a time");
                w.rollback().await?;
                return Ok(None);
            }
        }
    };
    w.commit().await?;
    Ok(Some(answers))
}

/// One commit between a savepoint and its release. The outer `Err` means the transaction is
/// broken; the inner result is this commit's own answer.
async fn savepoint(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    c: Commit<'_>,
    now: i64,
) -> sqlx::Result<ApiResult<CommitResponse>> {
    sql::savepoint(tx, Savepoint::Start).await?;
    let r = one::commit_in(tx, c, now).await;
    if r.is_err() {
        sql::savepoint(tx, Savepoint::RollBack).await?;
    }
    sql::savepoint(tx, Savepoint::Release).await?;
    Ok(r)
}

fn fail_all(batch: Vec<Job>, e: &sqlx::Error) {
    tracing::error!(error = %e, "group commit failed");
    // The database going away mid-batch (a restart) is a 503 like any other request's; the
    // client retries with its idempotency key whether or not the batch had committed.
    let away = crate::error::database_away(e);
    for job in batch {
        let answer = if away {
            ApiError::Unavailable
        } else {
            ApiError::Internal(anyhow::anyhow!("group commit failed: {e}"))
        };
        let _ = job.reply.send(Err(answer));
    }
}
