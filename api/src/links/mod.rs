//! Share links: a capability in a URL. Every public request resolves its token here, once,
//! to a [`Share`] (link + live root node), and reaches files only by walking names down from
//! that root ([`file_at`], [`list`], [`walk_files`]), so nothing outside the shared node — not
//! `..`, not another node id, not another link's files — can be named at all.
//!
//! The order of refusals is part of the contract: rate limits first (before any lookup), then
//! unknown token (404), revoked / expired / target gone (410 `link_gone`), then the password
//! (401 `password_required`, 403 `wrong_password`). A limit's exhaustion is decided per file
//! where bytes are served (`db::links::charge`).

pub mod grant;
pub mod token;

use std::net::IpAddr;

use wire::links::{AccessEntry, LinkKind, PublicEntry};
use wire::{ChunkRef, Hash, NodeKind};

use crate::abuse::ClientIp;
use crate::auth;
use crate::db::links::Link;
use crate::db::listing::{self, Cursor, Mounts};
use crate::db::nodes::NodeRow;
use crate::db::{chunks, links as db_links, nodes, users, versions};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub use grant::Proof;

/// A resolved link: what every public handler works from.
#[derive(Debug, Clone)]
pub struct Share {
    pub link: Link,
    pub root: NodeRow,
    pub owner_name: String,
    /// The client, for limits and the access log.
    pub ip: IpAddr,
}

/// A file reachable through a link, with what serving it needs.
#[derive(Debug, Clone)]
pub struct SharedFile {
    pub node_id: i64,
    pub name: String,
    /// Relative to the link's root ("" for a file link's own file).
    pub path: String,
    pub version_id: i64,
    pub size: u64,
    pub content_hash: Hash,
    pub modified_at: i64,
    /// What a preview is served with: the stored type when allowed, else by the name
    /// (`crate::mime::shown`).
    pub content_type: String,
    /// The stored type when allowed (`crate::mime::allowed`): what a download is served with
    /// (else `application/octet-stream`).
    pub allowed_type: Option<String>,
}

impl SharedFile {
    /// The file's chunks, in order.
    pub async fn chunks(&self, state: &AppState) -> ApiResult<Vec<ChunkRef>> {
        Ok(chunks::version_chunks(&state.db.pool, self.version_id).await?)
    }
}

/// Resolves `token` for a request from `ip`, up to (not including) the password.
pub async fn resolve(state: &AppState, token: &str, ip: ClientIp) -> ApiResult<Share> {
    state.guards.public_per_ip.check(&ip.limit_key())?;
    if !token::well_formed(token) {
        return Err(ApiError::NotFound("link"));
    }
    let link = db_links::by_token_hash(&state.db, &token::hash(token))
        .await?
        .ok_or(ApiError::NotFound("link"))?;
    state.guards.public_per_link.check(&link.id)?;
    if link.revoked_at.is_some() {
        return Err(ApiError::LinkGone("it was revoked"));
    }
    if link.expires_at.is_some_and(|t| t <= state.clock.now_ms()) {
        return Err(match link.kind {
            LinkKind::Download => ApiError::LinkGone("it has expired"),
            LinkKind::Request => ApiError::RequestClosed("its deadline has passed"),
        });
    }
    let root = nodes::get(&state.db.pool, link.node_id)
        .await?
        .ok_or(ApiError::LinkGone("what it shared was deleted"))?;
    let owner_name = users::username(&state.db, link.owner_id)
        .await?
        .unwrap_or_default();
    Ok(Share {
        link,
        root,
        owner_name,
        ip: ip.0,
    })
}

/// Resolves `token` for a request from `ip` offering `proof` of the password, and counts one
/// use of the link.
pub async fn open(state: &AppState, token: &str, proof: &Proof, ip: ClientIp) -> ApiResult<Share> {
    let share = resolve(state, token, ip).await?;
    check_password(state, &share, proof, state.clock.now_ms()).await?;
    if let Err(e) = db_links::touch(&state.db, share.link.id).await {
        tracing::warn!(error = %e, "cannot count a link's use");
    }
    Ok(share)
}

async fn check_password(state: &AppState, share: &Share, proof: &Proof, now: i64) -> ApiResult<()> {
    let Some(stored) = &share.link.password_hash else {
        return Ok(());
    };
    if proof
        .grants
        .iter()
        .any(|g| grant::valid(&share.link, g, now))
    {
        return Ok(());
    }
    let Some(password) = &proof.password else {
        return Err(ApiError::PasswordRequired);
    };
    password_matches(state, share, password, stored).await
}

/// Checks a password given for the link, spending an attempt from its limits first.
pub async fn password_matches(
    state: &AppState,
    share: &Share,
    password: &str,
    stored: &str,
) -> ApiResult<()> {
    state.guards.link_password.check(&share.link.id)?;
    state
        .guards
        .signin_per_ip
        .check(&ClientIp(share.ip).limit_key())?;
    crate::routes::accounts::check_password_length(password)?;
    if auth::verify_password(&state.guards.hashes, password.to_owned(), stored.to_owned()).await? {
        Ok(())
    } else {
        log(state, share, "unlock", "", "wrong_password").await;
        Err(ApiError::WrongPassword)
    }
}

/// Refuses a link of the other kind as if it did not exist.
pub fn require(share: &Share, kind: LinkKind) -> ApiResult<()> {
    if share.link.kind == kind {
        Ok(())
    } else {
        Err(ApiError::NotFound("link"))
    }
}

/// The names of `path` ('/'-separated, relative to the root); `..`, `.` and empty segments
/// name nothing.
fn segments(path: &str) -> ApiResult<Vec<&str>> {
    let path = path.trim_matches('/');
    if path.is_empty() {
        return Ok(Vec::new());
    }
    let parts: Vec<&str> = path.split('/').collect();
    if parts.len() > wire::names::MAX_FOLDER_DEPTH as usize + 1
        || parts
            .iter()
            // A NUL can be in no name, and PostgreSQL refuses it in a text parameter.
            .any(|p| p.is_empty() || *p == "." || *p == ".." || p.contains('\0'))
    {
        return Err(ApiError::NotFound("file"));
    }
    Ok(parts)
}

/// The live node at `path` under the link's root.
pub async fn node_at(state: &AppState, share: &Share, path: &str) -> ApiResult<(NodeRow, String)> {
    let mut node = share.root.clone();
    let mut names = Vec::new();
    for part in segments(path)? {
        if node.node.kind != NodeKind::Folder {
            return Err(ApiError::NotFound("file"));
        }
        node = nodes::child_by_key(&state.db, node.node.id, &wire::names::key(part))
            .await?
            .ok_or(ApiError::NotFound("file"))?;
        names.push(node.node.name.clone());
    }
    Ok((node, names.join("/")))
}

/// The file at `path` (a file link: "" is its file; its pinned version if it pins one).
pub async fn file_at(state: &AppState, share: &Share, path: &str) -> ApiResult<SharedFile> {
    let (node, path) = node_at(state, share, path).await?;
    shared_file(state, share, node, path).await
}

async fn shared_file(
    state: &AppState,
    share: &Share,
    node: NodeRow,
    path: String,
) -> ApiResult<SharedFile> {
    let n = node.node;
    let current = match (n.kind, n.version_id) {
        (NodeKind::File, Some(v)) => v,
        _ => return Err(ApiError::NotFound("file")),
    };
    let pinned = share
        .link
        .pinned_version_id
        .filter(|_| n.id == share.link.node_id);
    let version_id = pinned.unwrap_or(current);
    let facts = versions::facts(&state.db, n.id, version_id)
        .await?
        .ok_or(ApiError::LinkGone("the version it shared was deleted"))?;
    let stored = facts.content_type.as_deref();
    let created_at = facts.created_at;
    Ok(SharedFile {
        node_id: n.id,
        content_type: crate::mime::shown(stored, &n.name).to_owned(),
        allowed_type: crate::mime::allowed(stored).map(str::to_owned),
        name: n.name,
        path,
        version_id,
        size: facts.size,
        content_hash: facts
            .content_hash
            .parse()
            .map_err(|_| ApiError::Internal(anyhow::anyhow!("a stored content hash is not hex")))?,
        modified_at: if pinned.is_some() {
            created_at
        } else {
            n.modified_at
        },
    })
}

/// One page of the entries of the folder at `path` under a folder link (at most `limit`,
/// after `after`), its path, and the cursor of the next page when there is more. A member's
/// mounts are left out: the shared folder is not the linker's to give.
pub async fn list(
    state: &AppState,
    share: &Share,
    path: &str,
    after: Option<&Cursor>,
    limit: usize,
) -> ApiResult<(String, Vec<PublicEntry>, Option<Cursor>)> {
    let (folder, path) = node_at(state, share, path).await?;
    if folder.node.kind != NodeKind::Folder {
        return Err(ApiError::NotFound("folder"));
    }
    let (children, next) =
        listing::page(&state.db, folder.node.id, after, limit, Mounts::Omit).await?;
    let entries = children
        .into_iter()
        .map(|c| PublicEntry {
            path: join(&path, &c.name),
            content_type: (c.kind == NodeKind::File)
                .then(|| crate::mime::shown(c.content_type.as_deref(), &c.name).to_owned()),
            name: c.name,
            kind: c.kind,
            size: c.size,
            modified_at: c.modified_at,
        })
        .collect();
    Ok((path, entries, next))
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_owned()
    } else {
        format!("{dir}/{name}")
    }
}

/// Most files one zip may hold.
pub const MAX_WALK: usize = 100_000;

/// Every file under `path` (itself, if it is a file), depth first in name order, paths
/// relative to the root; and the folders met, so empty ones can be written too.
pub async fn walk_files(
    state: &AppState,
    share: &Share,
    path: &str,
) -> ApiResult<(Vec<SharedFile>, Vec<String>)> {
    let (start, start_path) = node_at(state, share, path).await?;
    let mut files = Vec::new();
    let mut folders = Vec::new();
    if start.node.kind == NodeKind::File {
        files.push(shared_file(state, share, start, start_path).await?);
        return Ok((files, folders));
    }
    let mut stack = vec![(start.node.id, start_path)];
    while let Some((id, dir)) = stack.pop() {
        if !dir.is_empty() {
            folders.push(dir.clone());
        }
        let children = nodes::children(&state.db, id).await?;
        // Pushed in reverse so the stack pops them in name order.
        for c in children.into_iter().rev() {
            let p = join(&dir, &c.name);
            match c.kind {
                NodeKind::Folder => stack.push((c.id, p)),
                NodeKind::File => {
                    let row = NodeRow {
                        node: c,
                        namespace_id: share.root.namespace_id,
                    };
                    files.push(shared_file(state, share, row, p).await?);
                    if files.len() > MAX_WALK {
                        return Err(ApiError::TooManyPaths(format!(
                            "a zip holds at most {MAX_WALK} files; pick fewer"
                        )));
                    }
                }
            }
        }
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok((files, folders))
}

/// The network a client is in, as the access log shows it: IPv4 /24, IPv6 /48.
pub fn network(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            format!("{}.{}.{}.0/24", o[0], o[1], o[2])
        }
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => network(IpAddr::V4(v4)),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2])
            }
        },
    }
}

/// Appends to the link's access log; a failure is logged, never the request's.
pub async fn log(state: &AppState, share: &Share, action: &str, path: &str, outcome: &str) {
    let e = AccessEntry {
        at: state.clock.now_ms(),
        network: network(share.ip),
        action: action.to_owned(),
        path: path.to_owned(),
        outcome: outcome.to_owned(),
    };
    if let Err(err) = db_links::log_access(&state.db, share.link.id, &e).await {
        tracing::warn!(error = %err, "cannot write a link's access log");
    }
}

/// The budget of `file` under this link: `None` when the link has no download limit.
pub fn budget(share: &Share, file: &SharedFile) -> Option<u64> {
    share
        .link
        .max_downloads
        .map(|n| n.max(0) as u64 * file.size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_cannot_climb() {
        assert!(segments("").unwrap().is_empty());
        assert_eq!(segments("/a/b/").unwrap(), vec!["a", "b"]);
        for bad in ["a/../b", "..", "./a", "a//b", "a\0"] {
            assert!(segments(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn networks_are_truncated() {
        assert_eq!(network("203.0.113.77".parse().unwrap()), "203.0.113.0/24");
        assert_eq!(
            network("2001:db8:aa:bb::1".parse().unwrap()),
            "2001:db8:aa::/48"
        );
        assert_eq!(network("::ffff:10.1.2.3".parse().unwrap()), "10.1.2.0/24");
    }
}
