//! A folder's children one page at a time. A folder may hold 100,000 entries: no answer, and no
//! statement, reads all of them. Pages follow the order the app shows (folders first, then
//! files, each by `name_key`), and a page's cursor is the last row it holds, so a page costs one
//! or two range scans of `nodes_live_kind_name` whatever the folder's size or the page's depth
//! (no `OFFSET`). The owner's listing and a share link's public one page the same way.

use wire::{ListingQuery, Node, LISTING_PAGE_MAX};

use super::batch_tx::Cells;
use super::nodes::{node_from_row, NODE_COLUMNS, NODE_FROM};
use super::Db;
use crate::error::{ApiError, ApiResult};

/// Where a page starts: after the row of this kind and name key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub folder: bool,
    pub name_key: String,
}

impl Cursor {
    /// The opaque form clients send back as `after`: `d:` (a folder) or `f:`, then the key.
    pub fn encode(&self) -> String {
        format!("{}:{}", if self.folder { 'd' } else { 'f' }, self.name_key)
    }

    /// `None` for anything [`Cursor::encode`] cannot have made.
    pub fn decode(s: &str) -> Option<Cursor> {
        let (kind, key) = s.split_once(':')?;
        let folder = match kind {
            "d" => true,
            "f" => false,
            _ => return None,
        };
        // A key is a folded name: never empty, never far above the 255-byte name limit.
        if key.is_empty() || key.len() > 1024 || key.contains('\0') {
            return None;
        }
        Some(Cursor {
            folder,
            name_key: key.to_owned(),
        })
    }
}

/// A request's paging (`?limit=&after=`) checked: where the page starts and how many children
/// it holds at most. 400 `bad_request` for a limit outside 1 to [`LISTING_PAGE_MAX`] or an
/// `after` no page gave.
pub fn paging(q: &ListingQuery) -> ApiResult<(Option<Cursor>, usize)> {
    let limit = q.limit.unwrap_or(LISTING_PAGE_MAX);
    if !(1..=LISTING_PAGE_MAX).contains(&limit) {
        return Err(ApiError::OutOfRange(format!(
            "limit must be 1 to {LISTING_PAGE_MAX}"
        )));
    }
    let after = match q.after.as_deref() {
        Some(a) => Some(Cursor::decode(a).ok_or(ApiError::InvalidCursor)?),
        None => None,
    };
    Ok((after, limit as usize))
}

/// What a listing does with a member's mounts (`db::mounts`) among the children.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mounts {
    /// A mount shows as the shared folder it stands for (the shared root's id, under the
    /// mount's name): the member's own listing.
    Present,
    /// Mounts are left out: a share link's listing, as the shared folder is not the linker's
    /// to give.
    Omit,
}

/// Up to `limit` live children of `parent_id` after `after`, and the cursor of the next page
/// when there is more, with mounts as `mounts` says.
pub async fn page(
    db: &Db,
    parent_id: i64,
    after: Option<&Cursor>,
    limit: usize,
    mounts: Mounts,
) -> sqlx::Result<(Vec<Node>, Option<Cursor>)> {
    // The kinds still to read, each from the key it resumes after ("" is before every name).
    let runs: Vec<(bool, &str)> = match after {
        None => vec![(true, ""), (false, "")],
        Some(c) if c.folder => vec![(true, c.name_key.as_str()), (false, "")],
        Some(c) => vec![(false, c.name_key.as_str())],
    };
    let mut out = Vec::new();
    let mut last: Option<Cursor> = None;
    for (folder, from) in runs {
        let room = limit - out.len();
        // One row past the room says whether a next page exists; with no room left, that
        // lone row is the whole question.
        let rows = run(db, parent_id, folder, from, room + 1, mounts).await?;
        let more = rows.len() > room;
        for (node, key) in rows.into_iter().take(room) {
            out.push(node);
            last = Some(Cursor {
                folder,
                name_key: key,
            });
        }
        if more {
            return Ok((out, last));
        }
    }
    Ok((out, None))
}

/// Rows of one kind after `from`, by name key, with their keys.
async fn run(
    db: &Db,
    parent_id: i64,
    folder: bool,
    from: &str,
    limit: usize,
    mounts: Mounts,
) -> sqlx::Result<Vec<(Node, String)>> {
    let omit = match mounts {
        Mounts::Present => "",
        Mounts::Omit => "AND n.mount_of IS NULL ",
    };
    let sql = format!(
        "SELECT {NODE_COLUMNS}, mt.root_id, n.name_key, \
         (SELECT COUNT(*) FROM thumbnails t WHERE t.version_id = n.version_id) FROM {NODE_FROM} \
         LEFT JOIN namespaces mt ON mt.id = n.mount_of \
         WHERE n.parent_id = $1 AND n.deleted_at IS NULL AND n.kind = $2 AND n.name_key > $3 \
         {omit}ORDER BY n.name_key LIMIT $4"
    );
    let rows = sqlx::query(&sql)
        .bind(parent_id)
        .bind(if folder { "folder" } else { "file" })
        .bind(from)
        .bind(limit as i64)
        .fetch_all(&db.pool)
        .await?;
    Ok(rows
        .iter()
        .map(|r| {
            let mut n = node_from_row(r).node;
            if let Some(root) = r.opt_int(10) {
                n.id = root;
            }
            // The grid asks only for thumbnails that are there.
            n.thumbnail = r.int(12) > 0;
            (n, r.text(11))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::Cursor;

    #[test]
    fn cursors_round_trip_and_refuse_forgeries() {
        for c in [
            Cursor {
                folder: true,
                name_key: "a:b".into(),
            },
            Cursor {
                folder: false,
                name_key: "straße".into(),
            },
        ] {
            assert_eq!(Cursor::decode(&c.encode()), Some(c));
        }
        for bad in ["", "d:", "x:a", "a", "f:a\0b"] {
            assert_eq!(Cursor::decode(bad), None, "{bad:?}");
        }
        assert_eq!(Cursor::decode(&format!("f:{}", "a".repeat(1025))), None);
    }
}
