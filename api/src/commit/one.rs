//! One commit in the caller's transaction: read what the rules need, decide, write. The path
//! for whatever the set-based one leaves (retries, unchanged content, conflicted copies,
//! refusals, a namespace that must make room), and for each commit of a batch that is run
//! again between savepoints.

use sqlx::{Any, Transaction};
use wire::{CommitResponse, Conflict};

use super::rules::{self, Commit, Outcome};
use crate::access;
use crate::db::uploads;
use crate::db::users::Caller;
use crate::db::{changes, chunks, commit as sql, nodes, usage};
use crate::error::{ApiError, ApiResult};
use crate::names::{self, Name};

/// The commit inside the caller's transaction, which must commit it (or roll it back). It
/// writes into `c.namespace_id`: the caller's home, or a shared folder's namespace, whose
/// owner's quota it is charged to while the caller's home gives back the upload's
/// reservation and grants the shared namespace the chunks it names (rows, never bytes).
///
/// Invariant the group committer builds on: every refusal (a replayed key, a missing folder,
/// missing chunks, the quota) is decided before the first write, so
/// an error other than [`ApiError::Internal`] means this call wrote nothing. Only the database
/// itself can fail once writing has begun.
pub async fn commit_in(
    tx: &mut Transaction<'static, Any>,
    c: Commit<'_>,
    now: i64,
) -> ApiResult<CommitResponse> {
    match plan(tx, c, now).await? {
        Plan::Answer(response) => Ok(response),
        Plan::Write(w) => write(tx, c, w, now).await,
    }
}

enum Plan {
    /// Nothing to write: a retried commit, or the same bytes as the current version.
    Answer(CommitResponse),
    Write(Placement),
}

/// Where the new version goes; the quota is already charged for it.
struct Placement {
    parent_id: i64,
    /// `Some(id)`: a new version of this file; `None`: a new file called `name`.
    node_id: Option<i64>,
    name: Name,
    parent_version: Option<i64>,
    conflict: Option<Conflict>,
}

/// Reads and decides; its writes are the quota charge, the last step, and the old versions
/// dropped to make room for it, which happen only once the charge is sure to apply (it either
/// applies whole or refuses without writing).
async fn plan(tx: &mut Transaction<'static, Any>, c: Commit<'_>, now: i64) -> ApiResult<Plan> {
    let Commit {
        caller,
        upload,
        req,
        namespace_id: ns,
        ..
    } = c;
    let name = rules::validate(req)?;
    let manifest = &upload.manifest;
    // Commits to one namespace take turns from here on (PostgreSQL row lock; SQLite already
    // has one writer), so "read current version, then write" cannot interleave. A member's
    // commit also changes its home's counters: both locks, in ascending order.
    nodes::lock_both(tx, ns, caller.namespace_id).await?;
    if let Some(response) = sql::replayed(&mut **tx, caller.device_id, &req.idempotency_key).await?
    {
        return Ok(Plan::Answer(response));
    }

    let parent_id = match access::folder_in(tx, caller, req.parent_id, ns).await {
        Ok(folder) => folder.id,
        // Trashed (or unshared) since the route looked: the client keeps the edit elsewhere.
        Err(ApiError::NotFound(_)) => return Err(ApiError::FolderGone),
        Err(e) => return Err(e),
    };

    let mut replaced_size = 0u64;
    let held = nodes::child_by_name(tx, parent_id, &name).await?;
    let placement = match (
        rules::outcome(held.as_ref().map(|e| &e.node), manifest, req),
        held,
    ) {
        (Outcome::NewFile, _) | (_, None) => Placement {
            parent_id,
            node_id: None,
            name,
            parent_version: None,
            conflict: None,
        },
        // A folder holds the name (another device made or renamed one meanwhile): the file is
        // kept beside it under a conflicted copy's name, never refused, since the edit is the
        // one thing the user could not make again.
        (Outcome::Folder, _) => {
            let tag = names::conflict_tag(&copy_by(caller, ns), now);
            Placement {
                parent_id,
                node_id: None,
                name: nodes::free_name(tx, parent_id, &name.display, &tag, false).await?,
                parent_version: None,
                conflict: None,
            }
        }
        (Outcome::Unchanged, Some(e)) => {
            return Ok(Plan::Answer(CommitResponse {
                version_id: e.node.version_id.unwrap_or_default(),
                node: e.node,
                unchanged: true,
                conflict: None,
            }));
        }
        (Outcome::NextVersion, Some(e)) => {
            replaced_size = e.node.size;
            Placement {
                parent_id,
                node_id: Some(e.node.id),
                name: names::check(&e.node.name)?,
                parent_version: e.node.version_id,
                conflict: None,
            }
        }
        (Outcome::StaleBase, Some(e)) => {
            let current = e.node.version_id.unwrap_or_default();
            let author = sql::author_of(tx, current).await?;
            let tag = names::conflict_tag(&copy_by(caller, ns), now);
            let copy = nodes::free_name(tx, parent_id, &name.display, &tag, false).await?;
            Placement {
                parent_id,
                node_id: None,
                name: copy,
                parent_version: req.base_version,
                conflict: Some(Conflict {
                    original_node_id: e.node.id,
                    base_version: req.base_version,
                    current_version: current,
                    device_name: author,
                    user_id: caller.user_id,
                }),
            }
        }
    };

    // The chunks must still be there, usable by this namespace at the sizes the manifest
    // gives, and stay so: their rows are locked against the collector until this transaction
    // ends.
    // The chunks are the caller's to name: its home holds them, whichever namespace the file
    // goes to.
    let stored = chunks::pin(tx, caller.namespace_id, &manifest.chunks).await?;
    rules::check_chunks(&manifest.chunks, &stored)?;
    let reserved = uploads::reserved(tx, &upload.id)
        .await?
        .ok_or(ApiError::UploadExpired)?;
    let delta = rules::delta(manifest, replaced_size, reserved);
    if access::is_home(caller, ns) {
        usage::charge_making_room(tx, ns, delta, c.quota_bytes).await?;
    } else {
        let (there, home) = rules::split_delta(delta);
        usage::charge_making_room(tx, ns, there, c.quota_bytes).await?;
        // Giving back never fails: it does not grow the total.
        usage::charge(tx, caller.namespace_id, home, caller.quota_bytes).await?;
    }
    Ok(Plan::Write(placement))
}

/// Who a conflicted copy is tagged with: the device, and in a shared tree the user too (the
/// device alone does not say whose copy it is there).
fn copy_by(caller: &Caller, ns: i64) -> String {
    if access::is_home(caller, ns) {
        caller.device_name.clone()
    } else {
        format!("{} {}", caller.username, caller.device_name)
    }
}

/// Writes the version the plan decided on. Fails only if the database does.
async fn write(
    tx: &mut Transaction<'static, Any>,
    c: Commit<'_>,
    p: Placement,
    now: i64,
) -> ApiResult<CommitResponse> {
    let Commit {
        caller,
        upload,
        req,
        namespace_id: ns,
        ..
    } = c;
    let manifest = &upload.manifest;
    if !access::is_home(caller, ns) {
        let hashes = rules::distinct(manifest.chunks.iter().map(|ch| ch.hash));
        for hash in &hashes {
            chunks::grant(tx, ns, hash).await?;
        }
    }
    let node_id = match p.node_id {
        Some(id) => id,
        None => nodes::insert(tx, ns, p.parent_id, &p.name, wire::NodeKind::File).await?,
    };
    // Checked by `plan` (`rules::validate`) already.
    let content_type = rules::content_type(req)?;
    let version_id = sql::insert_version(
        tx,
        node_id,
        p.parent_version,
        manifest,
        content_type.as_deref(),
        caller.device_id,
        now,
    )
    .await?;
    changes::log(tx, ns, node_id, "version", Some(caller.device_id)).await?;
    let mut response = rules::written(
        node_id,
        p.parent_id,
        p.name.display,
        manifest,
        content_type,
        version_id,
        now,
    );
    response.conflict = p.conflict;
    sql::record(
        tx,
        caller.device_id,
        &req.idempotency_key,
        &response,
        &upload.id,
        now,
    )
    .await?;
    tracing::info!(
        node_id,
        version_id,
        namespace_id = ns,
        conflict = response.conflict.is_some(),
        "commit written"
    );
    Ok(response)
}
