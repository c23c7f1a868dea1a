//! Deleting an account for good, in one transaction, so a failure halfway leaves the account
//! whole rather than half gone.
//!
//! What goes: every node, version and chunk reference of every namespace the user owns (the
//! home and each shared folder), their change logs, open uploads and manifest drafts, share
//! links and what those logged, the user's memberships and invitations, and the device
//! tokens. Chunks are not deleted here: the collector deletes those no remaining version or
//! upload references, so a chunk another account also stored stays for it.
//!
//! What stays, on purpose:
//! - the `users` row, renamed `deleted account N`, its password unusable, `deleted_at` set.
//!   Versions and changes the user wrote in *other people's* shared folders still name an
//!   author, and the username is free again for someone new;
//! - the device rows, revoked and renamed, for the same reason;
//! - the namespace rows, emptied: ids are never handed out twice, so a cursor another member
//!   kept for a shared folder of this user can never read a newer folder's log.
//!
//! The members of the user's shared folders see the folder leave their trees (an `unshared`
//! change in each home); the folders the user was a member of see the member list change.

use sqlx::{Any, Transaction};
use wire::shares::kinds;

use super::batch_tx::Cells;
use super::{changes, mounts, shares, users, Db};

/// What an erased account held, for the log and the answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Erased {
    pub nodes: u64,
    pub versions: u64,
    pub links: u64,
    pub shared_folders: u64,
    pub memberships: u64,
}

/// The namespaces an erase writes to: the user's own (home and shared folders), the homes of
/// their shared folders' members (told the folder is gone), and the shared folders they are
/// a member of (told the member list changed). Read before the transaction to lock them in
/// order; read again inside it to see nothing slipped in.
pub async fn touched<'e, E>(exec: E, user_id: i64) -> sqlx::Result<Vec<i64>>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    let rows = sqlx::query(
        "SELECT id FROM namespaces WHERE owner_user_id = $1 \
         UNION SELECT u.namespace_id FROM members m JOIN namespaces s ON s.id = m.namespace_id \
           JOIN users u ON u.id = m.user_id WHERE s.owner_user_id = $1 \
         UNION SELECT namespace_id FROM members WHERE user_id = $1 \
         ORDER BY 1",
    )
    .bind(user_id)
    .fetch_all(exec)
    .await?;
    Ok(rows.iter().map(|r| r.int(0)).collect())
}

/// Erases account `user_id` inside `tx`, which holds the locks of [`touched`] namespaces;
/// `actor` is the device that asked (the changes members see name it).
pub async fn account(
    tx: &mut Transaction<'static, Any>,
    db: &Db,
    user_id: i64,
    actor: i64,
    now: i64,
) -> sqlx::Result<(Erased, Vec<i64>)> {
    let mut erased = Erased::default();

    // The user's shared folders end first: every member's mount goes, and their homes log it.
    for id in shares::owned_by(&mut **tx, user_id).await? {
        let Some(shared) = shares::get(&mut **tx, id).await? else {
            continue;
        };
        let homes: Vec<i64> = sqlx::query(
            "SELECT u.namespace_id FROM members m JOIN users u ON u.id = m.user_id \
             WHERE m.namespace_id = $1 ORDER BY 1",
        )
        .bind(id)
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(|r| r.int(0))
        .collect();
        mounts::remove(tx, id, None).await?;
        shares::end(tx, id).await?;
        for home in homes {
            changes::log(tx, home, shared.root_id, kinds::UNSHARED, Some(actor)).await?;
        }
        erased.shared_folders += 1;
    }

    // The folders the user belongs to (or was invited to): the row goes, the member list
    // changes for everyone left.
    let joined: Vec<(i64, i64)> = sqlx::query(
        "SELECT m.namespace_id, s.root_id FROM members m \
         JOIN namespaces s ON s.id = m.namespace_id WHERE m.user_id = $1 ORDER BY 1",
    )
    .bind(user_id)
    .fetch_all(&mut **tx)
    .await?
    .iter()
    .map(|r| (r.int(0), r.int(1)))
    .collect();
    for (id, root) in joined {
        changes::log(tx, id, root, kinds::MEMBERS, Some(actor)).await?;
        erased.memberships += 1;
    }
    sqlx::query("DELETE FROM members WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut **tx)
        .await?;

    // Share links and what they logged.
    let links = "SELECT id FROM share_links WHERE owner_id = $1";
    for table in ["link_served", "link_access", "request_uploads"] {
        sqlx::query(&format!("DELETE FROM {table} WHERE link_id IN ({links})"))
            .bind(user_id)
            .execute(&mut **tx)
            .await?;
    }
    erased.links = sqlx::query("DELETE FROM share_links WHERE owner_id = $1")
        .bind(user_id)
        .execute(&mut **tx)
        .await?
        .rows_affected();

    // Everything in the namespaces the user owns, children before what they reference.
    let owned = "SELECT id FROM namespaces WHERE owner_user_id = $1";
    let owned_nodes = format!("SELECT id FROM nodes WHERE namespace_id IN ({owned})");
    let owned_versions = format!("SELECT id FROM versions WHERE node_id IN ({owned_nodes})");
    let owned_uploads = format!("SELECT id FROM uploads WHERE namespace_id IN ({owned})");
    let steps = [
        format!("DELETE FROM upload_chunks WHERE upload_id IN ({owned_uploads})"),
        format!("DELETE FROM uploads WHERE namespace_id IN ({owned})"),
        format!("DELETE FROM version_chunks WHERE version_id IN ({owned_versions})"),
        format!("DELETE FROM versions WHERE node_id IN ({owned_nodes})"),
        format!("DELETE FROM nodes WHERE namespace_id IN ({owned})"),
        format!("DELETE FROM namespace_chunks WHERE namespace_id IN ({owned})"),
        format!("DELETE FROM changes WHERE namespace_id IN ({owned})"),
        format!(
            "DELETE FROM manifest_parts WHERE draft_id IN \
             (SELECT id FROM manifest_drafts WHERE namespace_id IN ({owned}))"
        ),
        format!("DELETE FROM manifest_drafts WHERE namespace_id IN ({owned})"),
        "UPDATE namespaces SET root_id = NULL, shared_at = NULL, used_bytes = 0, \
         history_bytes = 0, staged_bytes = 0 WHERE owner_user_id = $1"
            .to_string(),
    ];
    for (i, sql) in steps.iter().enumerate() {
        let n = sqlx::query(sql)
            .bind(user_id)
            .execute(&mut **tx)
            .await?
            .rows_affected();
        match i {
            3 => erased.versions = n,
            4 => erased.nodes = n,
            _ => {}
        }
    }

    // Devices: signed out (open streams end), renamed, their sync state dropped.
    let revoked = users::revoke_others_in(db, tx, user_id, 0).await?;
    let devices = "SELECT id FROM devices WHERE user_id = $1";
    for sql in [
        format!("DELETE FROM device_cursors WHERE device_id IN ({devices})"),
        format!("DELETE FROM idempotency WHERE device_id IN ({devices})"),
        "UPDATE devices SET name = 'deleted device' WHERE user_id = $1".to_string(),
    ] {
        sqlx::query(&sql).bind(user_id).execute(&mut **tx).await?;
    }

    let name = format!("deleted account {user_id}");
    sqlx::query(
        "UPDATE users SET username = $1, username_key = $1, password_hash = '!', \
         quota_bytes = NULL, disabled_at = $2, deleted_at = $2 WHERE id = $3",
    )
    .bind(&name)
    .bind(now)
    .bind(user_id)
    .execute(&mut **tx)
    .await?;
    Ok((erased, revoked))
}
