//! Turning a finished upload into a version, in one transaction with its change-log entry.
//!
//! The rules: a retried commit (same device, same idempotency key) returns the first answer;
//! content equal to the current version writes nothing; a commit whose `base_version` is not
//! the current one keeps both sides, the newcomer as a conflicted copy beside the original.

use sqlx::{Any, Row as _, Transaction};
use wire::{CommitRequest, CommitResponse, Conflict, Node, NodeKind};

use crate::db::users::Caller;
use crate::db::{chunks, nodes, now_ms, uploads, uploads::Upload, usage, Backend, Db};
use crate::error::{ApiError, ApiResult};
use crate::names::{self, Name};
use crate::settings::DEFAULT_QUOTA_BYTES;

/// Checks what can be checked before touching the database.
pub fn validate(req: &CommitRequest) -> ApiResult<Name> {
    let name = names::check(&req.name)?;
    if req.idempotency_key.is_empty() || req.idempotency_key.len() > 128 {
        return Err(ApiError::BadRequest(
            "idempotency_key must be 1 to 128 characters".into(),
        ));
    }
    Ok(name)
}

/// Commits on its own, in a transaction of its own (the group committer is the usual path).
pub async fn commit(
    db: &Db,
    caller: &Caller,
    upload: &Upload,
    req: &CommitRequest,
) -> ApiResult<CommitResponse> {
    validate(req)?;
    let mut w = db.write().await?;
    let response = commit_in(&mut w.tx, db.backend, caller, upload, req).await?;
    w.commit().await?;
    Ok(response)
}

/// The commit itself inside the caller's transaction, which must commit it (or roll it back).
///
/// Invariant the group committer builds on: every refusal (a replayed key, a missing folder,
/// a name held by a folder, missing chunks, the quota) is decided before the first write, so
/// an error other than [`ApiError::Internal`] means this call wrote nothing. Only the database
/// itself can fail once writing has begun.
pub async fn commit_in(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    caller: &Caller,
    upload: &Upload,
    req: &CommitRequest,
) -> ApiResult<CommitResponse> {
    match plan(tx, backend, caller, upload, req).await? {
        Plan::Answer(response) => Ok(response),
        Plan::Write(w) => write(tx, backend, caller, upload, req, w).await,
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
async fn plan(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    caller: &Caller,
    upload: &Upload,
    req: &CommitRequest,
) -> ApiResult<Plan> {
    let name = validate(req)?;
    let manifest = &upload.manifest;
    // Commits to one namespace take turns from here on (PostgreSQL row lock; SQLite already
    // has one writer), so "read current version, then write" cannot interleave.
    nodes::lock_namespace(tx, caller.namespace_id).await?;

    if let Some(row) =
        sqlx::query("SELECT response FROM idempotency WHERE device_id = $1 AND key = $2")
            .bind(caller.device_id)
            .bind(&req.idempotency_key)
            .fetch_optional(&mut **tx)
            .await?
    {
        let stored: String = row.get(0);
        let response = serde_json::from_str(&stored).map_err(|e| ApiError::Internal(e.into()))?;
        return Ok(Plan::Answer(response));
    }

    let parent = nodes::get(&mut **tx, req.parent_id)
        .await?
        .filter(|p| p.namespace_id == caller.namespace_id && p.node.kind == NodeKind::Folder)
        .ok_or(ApiError::NotFound("folder"))?;
    let parent_id = parent.node.id;

    let mut replaced_size = 0u64;
    let held = nodes::child_by_name(tx, parent_id, &name).await?;
    let placement = match (find(held.as_ref().map(|e| &e.node), manifest, req), held) {
        (Outcome::NewFile, _) | (_, None) => Placement {
            parent_id,
            node_id: None,
            name,
            parent_version: None,
            conflict: None,
        },
        (Outcome::Folder, _) => return Err(ApiError::NameTaken),
        (Outcome::Unchanged, Some(e)) => {
            // Same bytes as the current version: nothing to write.
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
            let author = author_of(tx, current).await?;
            let tag = names::conflict_tag(&caller.device_name, now_ms());
            let copy = names::free_in(tx, parent_id, &name.display, &tag, false).await?;
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
    crate::gc::pin_chunks(tx, backend, caller.namespace_id, &manifest.chunks).await?;
    let reserved = uploads::reserved(tx, &upload.id)
        .await?
        .ok_or(ApiError::UploadExpired)?;
    let delta = usage::Delta {
        current: manifest.size as i64 - replaced_size as i64,
        history: replaced_size as i64,
        staged: -reserved,
    };
    let quota = caller.quota_bytes.unwrap_or(DEFAULT_QUOTA_BYTES);
    usage::charge_making_room(tx, caller.namespace_id, delta, quota).await?;
    Ok(Plan::Write(placement))
}

/// What a commit becomes, given what its name holds now: the rule both commit paths follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The name is free: a new file.
    NewFile,
    /// A folder holds the name: refused.
    Folder,
    /// The same bytes as the current version: nothing to write.
    Unchanged,
    /// Based on the current version: the next version of that file.
    NextVersion,
    /// Based on an older version (or on none): a conflicted copy beside the file.
    StaleBase,
}

pub fn find(held: Option<&Node>, manifest: &wire::Manifest, req: &CommitRequest) -> Outcome {
    match held {
        None => Outcome::NewFile,
        Some(e) if e.kind == NodeKind::Folder => Outcome::Folder,
        Some(e) if e.content_hash == Some(manifest.hash) => Outcome::Unchanged,
        Some(e) if req.base_version.is_some() && req.base_version == e.version_id => {
            Outcome::NextVersion
        }
        Some(_) => Outcome::StaleBase,
    }
}

/// Writes the version the plan decided on. Fails only if the database does.
async fn write(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    caller: &Caller,
    upload: &Upload,
    req: &CommitRequest,
    p: Placement,
) -> ApiResult<CommitResponse> {
    let manifest = &upload.manifest;
    let node_id = match p.node_id {
        Some(id) => id,
        None => {
            nodes::insert(
                tx,
                caller.namespace_id,
                p.parent_id,
                &p.name,
                NodeKind::File,
            )
            .await?
        }
    };
    let now = now_ms();
    let version_id: i64 = sqlx::query(
        "INSERT INTO versions (node_id, parent_version_id, size, content_hash, chunker, author_device_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(node_id)
    .bind(p.parent_version)
    .bind(manifest.size as i64)
    .bind(manifest.hash.to_string())
    .bind(&manifest.chunker)
    .bind(caller.device_id)
    .bind(now)
    .fetch_one(&mut **tx)
    .await?
    .get(0);
    chunks::insert_version_chunks(tx, backend, version_id, &manifest.chunks).await?;
    sqlx::query("UPDATE nodes SET version_id = $1, modified_at = $2 WHERE id = $3")
        .bind(version_id)
        .bind(now)
        .bind(node_id)
        .execute(&mut **tx)
        .await?;
    nodes::log_change(tx, caller.namespace_id, node_id, "version").await?;

    let mut response = written(
        node_id,
        p.parent_id,
        p.name.display,
        manifest,
        version_id,
        now,
    );
    response.conflict = p.conflict;
    sqlx::query(
        "INSERT INTO idempotency (device_id, key, response, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(caller.device_id)
    .bind(&req.idempotency_key)
    .bind(serde_json::to_string(&response).map_err(|e| ApiError::Internal(e.into()))?)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    uploads::remove(tx, &upload.id, None).await?;
    tracing::info!(
        node_id,
        version_id,
        namespace_id = caller.namespace_id,
        conflict = response.conflict.is_some(),
        "commit written"
    );
    Ok(response)
}

/// The answer for a version just written: what `nodes::get` would read back, without the
/// round trip.
pub fn written(
    node_id: i64,
    parent_id: i64,
    name: String,
    manifest: &wire::Manifest,
    version_id: i64,
    now: i64,
) -> CommitResponse {
    CommitResponse {
        node: Node {
            id: node_id,
            parent_id: Some(parent_id),
            name,
            kind: NodeKind::File,
            version_id: Some(version_id),
            size: manifest.size,
            content_hash: Some(manifest.hash),
            modified_at: now,
        },
        version_id,
        unchanged: false,
        conflict: None,
    }
}

async fn author_of(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    version_id: i64,
) -> sqlx::Result<String> {
    let row = sqlx::query(
        "SELECT d.name FROM versions v JOIN devices d ON d.id = v.author_device_id WHERE v.id = $1",
    )
    .bind(version_id)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(|r| r.get(0)).unwrap_or_default())
}

/// `YYYY-MM-DD` (UTC) of a millisecond timestamp, by Howard Hinnant's days-to-civil algorithm.
pub fn civil_date(ms: i64) -> String {
    let z = ms.div_euclid(86_400_000) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_extensions() {
        assert_eq!(civil_date(0), "1970-01-01");
        assert_eq!(civil_date(1_795_305_600_000), "2026-11-22");
        assert_eq!(names::split_ext("a.tar.gz"), ("a.tar", ".gz"));
        assert_eq!(names::split_ext(".bashrc"), (".bashrc", ""));
        assert_eq!(names::split_ext("README"), ("README", ""));
        assert_eq!(
            names::tagged("report.pdf", "conflicted copy laptop 2026-11-22"),
            "report (conflicted copy laptop 2026-11-22).pdf"
        );
    }
}
