//! Group commit: concurrent version commits are queued to one writer task, which runs every
//! commit waiting at that moment in a single database transaction — one fsync for the lot —
//! and answers each caller only after that transaction is durable.
//!
//! Each commit runs between `SAVEPOINT` and `RELEASE`; one that fails is rolled back to its
//! savepoint and answered with its own error, so it never sinks the others. Durability is not
//! traded away: SQLite keeps `synchronous = FULL`, PostgreSQL its defaults. Batches form by
//! themselves (whatever queued while the previous batch was being written), so a lone commit
//! waits for nobody.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};
use wire::{CommitRequest, CommitResponse};

use crate::commit;
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
    reply: oneshot::Sender<ApiResult<CommitResponse>>,
}

#[derive(Clone)]
pub struct Committer {
    queue: mpsc::Sender<Job>,
}

impl Committer {
    /// Starts the writer task; it ends when the last `Committer` clone is dropped.
    pub fn start(db: Arc<Db>, metrics: Arc<Metrics>) -> Committer {
        let (queue, rx) = mpsc::channel(QUEUE);
        tokio::spawn(writer(db, metrics, rx));
        Committer { queue }
    }

    pub async fn commit(
        &self,
        caller: Caller,
        upload: Upload,
        req: CommitRequest,
    ) -> ApiResult<CommitResponse> {
        commit::validate(&req)?;
        let (reply, answer) = oneshot::channel();
        let job = Job {
            caller,
            upload,
            req,
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

async fn writer(db: Arc<Db>, metrics: Arc<Metrics>, mut rx: mpsc::Receiver<Job>) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        metrics.observe_batch(batch.len());
        run_batch(&db, &metrics, batch).await;
    }
}

async fn run_batch(db: &Db, metrics: &Metrics, batch: Vec<Job>) {
    let mut w = match db.write().await {
        Ok(w) => w,
        Err(e) => return fail_all(batch, &e),
    };
    let mut answers = Vec::with_capacity(batch.len());
    for job in batch {
        let result = one(&mut w.tx, db.backend, &job).await;
        match result {
            Ok(r) => answers.push((job.reply, r)),
            Err(e) => {
                // The transaction itself is unusable: nobody in this batch is committed.
                let mut rest: Vec<_> = answers.into_iter().map(|(reply, _)| reply).collect();
                rest.push(job.reply);
                for reply in rest {
                    let _ = reply.send(Err(ApiError::Internal(anyhow::anyhow!(
                        "group commit failed: {e}"
                    ))));
                }
                return;
            }
        }
    }
    if let Err(e) = w.commit().await {
        tracing::error!(error = %e, "group commit transaction failed");
        for (reply, _) in answers {
            let _ = reply.send(Err(ApiError::Internal(anyhow::anyhow!(
                "group commit failed: {e}"
            ))));
        }
        return;
    }
    for (reply, r) in answers {
        if let Ok(c) = &r {
            if !c.unchanged {
                metrics.count_commit(c.conflict.is_some());
            }
        }
        let _ = reply.send(r);
    }
}

/// One commit between a savepoint and its release. The outer `Err` means the transaction is
/// broken; the inner result is this commit's own answer.
async fn one(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    backend: crate::db::Backend,
    job: &Job,
) -> sqlx::Result<ApiResult<CommitResponse>> {
    sqlx::query("SAVEPOINT group_commit")
        .execute(&mut **tx)
        .await?;
    let r = commit::commit_in(tx, backend, &job.caller, &job.upload, &job.req).await;
    if r.is_err() {
        sqlx::query("ROLLBACK TO SAVEPOINT group_commit")
            .execute(&mut **tx)
            .await?;
    }
    sqlx::query("RELEASE SAVEPOINT group_commit")
        .execute(&mut **tx)
        .await?;
    Ok(r)
}

fn fail_all(batch: Vec<Job>, e: &sqlx::Error) {
    tracing::error!(error = %e, "cannot start a group commit");
    for job in batch {
        let _ = job.reply.send(Err(ApiError::Internal(anyhow::anyhow!(
            "cannot start a commit transaction: {e}"
        ))));
    }
}
