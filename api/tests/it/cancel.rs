//! A request can be dropped at any await (a browser reload closes its connections, and the
//! server drops the handler's future), including in the middle of opening a write
//! transaction. Whatever point that is, the database must stay writable: no connection may go
//! back to the pool still inside a transaction, holding SQLite's write lock for good or
//! leaving a PostgreSQL session idle in transaction.

use std::future::Future;
use std::task::Poll;
use std::time::Duration;

use crate::fixture::{eventually, Backend, EmptyDatabase};

crate::both!(a_write_cancelled_anywhere_leaves_the_database_writable);

async fn a_write_cancelled_anywhere_leaves_the_database_writable(backend: Backend) {
    let empty = EmptyDatabase::create(backend).await;
    let db = api::db::Db::connect(&empty.url).await.unwrap();
    sqlx::query("CREATE TABLE marks (n BIGINT NOT NULL)")
        .execute(&db.pool)
        .await
        .unwrap();
    // Drop a write after its 1st, 2nd, 3rd … wait: early ones die waiting for the lock or a
    // connection, then inside BEGIN, then after it; the late ones finish. (Counting waits, not
    // time: the timer's millisecond steps are far coarser than these.)
    for step in 0..240u64 {
        let polls = 1 + step / 6;
        let attempt = async {
            let mut w = db.write().await?;
            sqlx::query("INSERT INTO marks (n) VALUES ($1)")
                .bind(step as i64)
                .execute(&mut *w.tx)
                .await?;
            w.commit().await
        };
        let _ = cancel_after(polls, attempt).await;
        // The next write must go through at once, whichever pooled connection it gets (the
        // pool hands its idle connections out in turn).
        let next = async {
            let mut w = db.write().await?;
            sqlx::query("INSERT INTO marks (n) VALUES (-1)")
                .execute(&mut *w.tx)
                .await?;
            w.commit().await
        };
        match tokio::time::timeout(Duration::from_secs(3), next).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => panic!("a write after one dropped at wait {polls} failed: {e}"),
            Err(_) => panic!(
                "a write after one dropped at wait {polls} waited 3 s: a connection kept its lock"
            ),
        }
    }
    if backend == Backend::Postgres {
        // Dropped connections roll back in the background: once they have, no session may
        // be left inside a transaction.
        eventually(
            Duration::from_secs(10),
            "a pooled session was left inside a transaction",
            || async {
                let stale: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM pg_stat_activity \
                     WHERE datname = current_database() AND state LIKE 'idle in transaction%'",
                )
                .fetch_one(&db.pool)
                .await
                .unwrap();
                (stale == 0).then_some(())
            },
        )
        .await;
    }
}

/// Polls `fut` until it has been pending `polls` times, then drops it (as a server drops the
/// future of a request whose client went away); `None` if it was dropped unfinished.
async fn cancel_after<F: Future>(polls: u64, fut: F) -> Option<F::Output> {
    let mut fut = std::pin::pin!(fut);
    let mut pending = 0;
    std::future::poll_fn(|cx| match fut.as_mut().poll(cx) {
        Poll::Ready(v) => Poll::Ready(Some(v)),
        Poll::Pending => {
            pending += 1;
            if pending >= polls {
                Poll::Ready(None)
            } else {
                Poll::Pending
            }
        }
    })
    .await
}
