//! What an account holds on the server's disk, and the one rule that bounds it.
//!
//! Three counters on the namespace row, each moved in the transaction that changes what it
//! counts: `used_bytes` (the current version of every file not yet purged, trash included),
//! `history_bytes` (versions those replaced that are still kept) and `staged_bytes` (chunks
//! that open uploads may still send, reserved when the URLs are handed out). Their sum stays
//! within the quota, so no account can keep more on disk than its quota says, whether as
//! files, as old versions or as uploads it never commits.
//!
//! Old versions are a courtesy, not a cost the user pays for by hand: when new content needs
//! their room, the versions replaced longest ago give way first ([`charge_making_room`]).
//! Current files never do; when even all history cannot make room, the write is refused with
//! `quota_exceeded` and nothing changes.
//!
//! Callers hold the namespace's row lock (`nodes::lock_namespace`), taken first, so the
//! "read, decide, write" of making room cannot interleave with another writer's.

use sqlx::{Any, Row as _, Transaction};

use super::batch_tx::Step;
use super::json_rows::{Col, Rows};
use super::{Backend, Db};
use crate::error::{ApiError, ApiResult};

/// Bytes to add to (or, negative, take from) each counter.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Delta {
    pub current: i64,
    pub history: i64,
    pub staged: i64,
}

impl Delta {
    pub fn total(&self) -> i64 {
        self.current + self.history + self.staged
    }
}

/// A namespace's counters as they are now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub current: u64,
    pub history: u64,
    pub staged: u64,
}

impl Usage {
    pub fn total(&self) -> u64 {
        self.current + self.history + self.staged
    }
}

pub async fn read(db: &Db, namespace_id: i64) -> sqlx::Result<Usage> {
    let row =
        sqlx::query("SELECT used_bytes, history_bytes, staged_bytes FROM namespaces WHERE id = $1")
            .bind(namespace_id)
            .fetch_one(&db.pool)
            .await?;
    Ok(usage_from(&row))
}

/// What user `user_id` holds in all: their home `home` and every folder they share (they pay
/// for those), counter by counter.
pub async fn of_owner(db: &Db, user_id: i64, home: i64) -> sqlx::Result<Usage> {
    let row = sqlx::query(
        "SELECT CAST(COALESCE(SUM(used_bytes), 0) AS BIGINT), \
         CAST(COALESCE(SUM(history_bytes), 0) AS BIGINT), \
         CAST(COALESCE(SUM(staged_bytes), 0) AS BIGINT) FROM namespaces \
         WHERE id = $1 OR (owner_user_id = $2 AND shared_at IS NOT NULL)",
    )
    .bind(home)
    .bind(user_id)
    .fetch_one(&db.pool)
    .await?;
    Ok(usage_from(&row))
}

fn usage_from(row: &sqlx::any::AnyRow) -> Usage {
    let get = |i: usize| row.get::<i64, _>(i).max(0) as u64;
    Usage {
        current: get(0),
        history: get(1),
        staged: get(2),
    }
}

/// Applies `d` unless the namespace's total would pass `quota`; `false` (and nothing changed)
/// when it would. One conditional `UPDATE`, so concurrent writers on PostgreSQL cannot both
/// squeeze under the limit. A change that does not grow the total always applies.
pub async fn charge(
    tx: &mut Transaction<'static, Any>,
    namespace_id: i64,
    d: Delta,
    quota: u64,
) -> sqlx::Result<bool> {
    let quota = i64::try_from(quota).unwrap_or(i64::MAX);
    let row = sqlx::query(
        "UPDATE namespaces SET used_bytes = used_bytes + $2, history_bytes = history_bytes + $3, \
         staged_bytes = staged_bytes + $4 WHERE id = $1 \
         AND ($5 <= 0 OR used_bytes + history_bytes + staged_bytes + $5 <= $6) RETURNING id",
    )
    .bind(namespace_id)
    .bind(d.current)
    .bind(d.history)
    .bind(d.staged)
    .bind(d.total())
    .bind(quota)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.is_some())
}

/// [`charge`] for many namespaces in one `UPDATE`, each (namespace, delta, commits) already
/// known to fit (`commit::rules::Charge::fits`, on counters read under the namespaces' locks),
/// moving each one's change seq on by its commits (their change-log entries follow). A step
/// for `BatchTx::execute_all`: it rides with the batch's other writes.
pub fn charge_step(backend: Backend, charges: &[(i64, Delta, i64)]) -> sqlx::Result<Step> {
    // namespace, current, history, staged, commits
    let rows: Vec<(i64, i64, i64, i64, i64)> = charges
        .iter()
        .map(|(ns, d, n)| (*ns, d.current, d.history, d.staged, *n))
        .collect();
    let t = Rows::new(backend, &[Col::Int; 5], &rows)?;
    let sql = format!(
        "UPDATE namespaces SET used_bytes = used_bytes + v.column2, \
         history_bytes = history_bytes + v.column3, staged_bytes = staged_bytes + v.column4, \
         seq = seq + v.column5 \
         FROM {} AS v WHERE namespaces.id = v.column1",
        t.table(1)
    );
    Ok((sql, t.args()?))
}

/// What namespace `namespace_id` may hold: its owner's quota (their own, or `default`) less
/// what the owner's other trees hold (their home, their other shared folders). A member's
/// write there is charged against it.
pub async fn owner_quota<'e, E>(db: E, namespace_id: i64, default: u64) -> sqlx::Result<u64>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    let row = sqlx::query(
        "SELECT u.quota_bytes, \
         CAST((SELECT COALESCE(SUM(o.used_bytes + o.history_bytes + o.staged_bytes), 0) \
         FROM namespaces o WHERE o.id <> n.id \
         AND (o.id = u.namespace_id OR (o.owner_user_id = u.id AND o.shared_at IS NOT NULL))) \
         AS BIGINT) \
         FROM namespaces n JOIN users u \
         ON u.id = n.owner_user_id OR u.namespace_id = n.id WHERE n.id = $1",
    )
    .bind(namespace_id)
    .fetch_optional(db)
    .await?;
    let Some(r) = row else { return Ok(default) };
    let quota = r
        .get::<Option<i64>, _>(0)
        .map_or(default, |q| q.max(0) as u64);
    Ok(quota.saturating_sub(r.get::<i64, _>(1).max(0) as u64))
}

/// Moves `moved` (what a subtree handed from namespace `from` to `to` holds) from one's
/// counters to the other's: `to` is charged against `quota` ([`charge_making_room`]), `from`
/// is given it back, which never fails (it does not grow the total). Both are locked.
pub async fn transfer(
    tx: &mut Transaction<'static, Any>,
    from: i64,
    to: i64,
    moved: Delta,
    quota: u64,
) -> ApiResult<()> {
    charge_making_room(tx, to, moved, quota).await?;
    let out = Delta {
        current: -moved.current,
        history: -moved.history,
        staged: 0,
    };
    charge(tx, from, out, u64::MAX).await?;
    Ok(())
}

/// [`charge`], first dropping as many of the namespace's old versions as the change needs room
/// for, those replaced longest ago first. Refuses with `quota_exceeded`, having written
/// nothing, when dropping every old version would still not make room.
pub async fn charge_making_room(
    tx: &mut Transaction<'static, Any>,
    namespace_id: i64,
    d: Delta,
    quota: u64,
) -> ApiResult<()> {
    if charge(tx, namespace_id, d, quota).await? {
        return Ok(());
    }
    let row =
        sqlx::query("SELECT used_bytes, history_bytes, staged_bytes FROM namespaces WHERE id = $1")
            .bind(namespace_id)
            .fetch_one(&mut **tx)
            .await?;
    let now = usage_from(&row);
    let after = now.total() as i128 + d.total() as i128;
    let excess = after - quota as i128;
    let old = super::versions::oldest_replaced(tx, namespace_id).await?;
    let (chosen, freed) = make_room(&old, excess);
    if (freed as i128) < excess {
        return Err(ApiError::QuotaExceeded);
    }
    let (_, dropped) = super::versions::delete(tx, &chosen).await?;
    tracing::info!(
        namespace_id,
        versions = chosen.len(),
        freed = dropped,
        "old versions dropped to make room"
    );
    let d = Delta {
        history: d.history - dropped as i64,
        ..d
    };
    if !charge(tx, namespace_id, d, quota).await? {
        // The namespace is locked and the versions were counted in `history_bytes`; only a
        // counter out of step with its rows gets here.
        return Err(ApiError::Internal(anyhow::anyhow!(
            "namespace {namespace_id}: usage counters disagree with the versions kept"
        )));
    }
    Ok(())
}

/// The shortest prefix of `old` (version id, size; oldest first) whose sizes reach `excess`,
/// and what it frees; all of `old` when even that falls short.
pub fn make_room(old: &[(i64, u64)], excess: i128) -> (Vec<i64>, u64) {
    let mut chosen = Vec::new();
    let mut freed = 0u64;
    for &(id, size) in old {
        if freed as i128 >= excess {
            break;
        }
        chosen.push(id);
        freed += size;
    }
    (chosen, freed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_is_made_from_the_oldest_and_no_more_than_needed() {
        let old = [(1, 100), (2, 50), (3, 400)];
        assert_eq!(make_room(&old, 0), (vec![], 0));
        assert_eq!(make_room(&old, 100), (vec![1], 100));
        assert_eq!(make_room(&old, 101), (vec![1, 2], 150));
        assert_eq!(make_room(&old, 151), (vec![1, 2, 3], 550));
        assert_eq!(make_room(&old, 10_000), (vec![1, 2, 3], 550));
        assert_eq!(make_room(&[], 1), (vec![], 0));
    }
}
