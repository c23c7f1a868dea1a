//! The change log: its one writer ([`log`] for one change, [`entries`] for a batch's, both
//! announced by [`notify`]), pages of changes after a cursor with the nodes' current state, the
//! retention horizon below which cursors reset, and each device's acknowledged cursor.
//!
//! Why `seq > cursor` never skips a change, even under PostgreSQL's READ COMMITTED: a writer
//! gets its sequence number from `UPDATE namespaces SET seq = seq + 1 … RETURNING`, which holds
//! the namespace row lock until the writer commits or rolls back. The next writer of that
//! namespace blocks on that lock, so it can only obtain seq S+1 after the transaction holding S
//! has finished, and PostgreSQL makes a transaction visible before it releases its locks. Hence
//! commits of one namespace become visible in seq order: when one statement's snapshot sees
//! seq S, it also sees every seq below S (a rolled-back S is reused by the next writer, never
//! left as a hole). A page is read by one statement, so it is such a snapshot. SQLite has a
//! single writer, which gives the same order trivially.

use sqlx::{Any, Row as _, Transaction};
use wire::{Actor, Change, Node, NodeKind};

use super::batch_tx::{BatchTx, SqlxTx, Step, Value};
use super::json_rows::{Col, Rows};
use super::{now_ms, Backend, Db, Row};

/// Appends one entry to the namespace's change log and returns its sequence number. The
/// `UPDATE … RETURNING` takes the namespace row lock, so sequence numbers never collide.
/// `actor` is the device whose request made the change (`None`: the server's own doing).
pub async fn log(
    tx: &mut Transaction<'static, Any>,
    namespace_id: i64,
    node_id: i64,
    kind: &str,
    actor: Option<i64>,
) -> sqlx::Result<i64> {
    let seq: i64 = sqlx::query("UPDATE namespaces SET seq = seq + 1 WHERE id = $1 RETURNING seq")
        .bind(namespace_id)
        .fetch_one(&mut **tx)
        .await?
        .get(0);
    let backend = Backend::of(tx);
    let mut tx = SqlxTx { tx, backend };
    entries(
        &mut tx,
        &[(namespace_id, seq, node_id, actor)],
        kind,
        now_ms(),
    )
    .await?;
    notify(&mut tx, &[format!("{namespace_id}:{seq}")]).await?;
    Ok(seq)
}

/// Writes change-log entries (namespace, seq, node, actor device) of one kind whose seqs the
/// caller has already taken from their namespaces (`log`, or a batch's charge).
pub async fn entries(
    tx: &mut impl BatchTx,
    rows: &[(i64, i64, i64, Option<i64>)],
    kind: &str,
    now: i64,
) -> sqlx::Result<()> {
    let (sql, args) = entries_step(tx.backend(), rows, kind, now)?;
    tx.execute(&sql, args).await
}

/// The statement [`entries`] runs, for [`BatchTx::execute_all`].
pub fn entries_step(
    backend: Backend,
    rows: &[(i64, i64, i64, Option<i64>)],
    kind: &str,
    now: i64,
) -> sqlx::Result<Step> {
    let t = Rows::new(backend, &[Col::Int; 4], rows)?;
    let sql = format!(
        "INSERT INTO changes (namespace_id, seq, node_id, kind, created_at, actor_device_id) \
         SELECT column1, column2, column3, $1, $2, column4 FROM {} AS r",
        t.table(3)
    );
    let head = vec![Value::Text(Some(kind.into())), Value::Int(Some(now))];
    Ok((sql, [head, t.args()?].concat()))
}

/// PostgreSQL: hands every API node's listener these hints (`namespace:seq` for a change,
/// `revoke:device` for a signed-out device); delivered only if and when the transaction
/// commits (see `hub::listen_postgres`). SQLite announces from the writer instead.
pub async fn notify(tx: &mut impl BatchTx, hints: &[String]) -> sqlx::Result<()> {
    match notify_step(tx.backend(), hints)? {
        Some((sql, args)) => tx.execute(&sql, args).await,
        None => Ok(()),
    }
}

/// The statement [`notify`] runs, if any, for [`BatchTx::execute_all`].
pub fn notify_step(backend: Backend, hints: &[String]) -> sqlx::Result<Option<Step>> {
    if backend != Backend::Postgres || hints.is_empty() {
        return Ok(None);
    }
    let hints: Vec<(&str,)> = hints.iter().map(|h| (h.as_str(),)).collect();
    let t = Rows::new(Backend::Postgres, &[Col::Text], &hints)?;
    let sql = format!("SELECT pg_notify($1, v.column1) FROM {} AS v", t.table(2));
    let channel = Value::Text(Some(crate::hub::PG_CHANNEL.into()));
    Ok(Some((sql, [vec![channel], t.args()?].concat())))
}

/// Where a device stands in one namespace's log. Shown to clients as an opaque string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub namespace_id: i64,
    pub seq: i64,
}

impl Cursor {
    /// `v1.<namespace hex>.<seq hex>.<check>`: the check catches truncated or edited cursors.
    pub fn encode(&self) -> String {
        format!(
            "v1.{:x}.{:x}.{}",
            self.namespace_id,
            self.seq,
            check(self.namespace_id, self.seq)
        )
    }

    pub fn decode(s: &str) -> Option<Cursor> {
        let mut parts = s.split('.');
        let (v, ns, seq, sum) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        if v != "v1" || parts.next().is_some() || ns.len() > 16 || seq.len() > 16 {
            return None;
        }
        let namespace_id = i64::from_str_radix(ns, 16).ok()?;
        let seq = i64::from_str_radix(seq, 16).ok()?;
        (namespace_id >= 0 && seq >= 0 && sum == check(namespace_id, seq))
            .then_some(Cursor { namespace_id, seq })
    }
}

/// Where a device stands in every namespace it follows (its own tree, `home`, and the shared
/// ones it belongs to): one seq per namespace. Shown to clients as an opaque string: the own
/// tree alone in the `v1` form above (what a user with no shared folders always sees), more
/// as `v2.<home hex>.<ns hex>-<seq hex>_<ns hex>-<seq hex>….<check>`, pairs in namespace
/// order. The home namespace is named apart, so one account's cursor never passes for
/// another's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    pub home: i64,
    pub seqs: std::collections::BTreeMap<i64, i64>,
}

impl Position {
    /// No seq known yet in any namespace.
    pub fn new(home: i64) -> Position {
        Position {
            home,
            seqs: Default::default(),
        }
    }

    pub fn encode(&self) -> String {
        let only_home = self.seqs.keys().all(|&ns| ns == self.home);
        if only_home {
            let seq = self.seqs.get(&self.home).copied().unwrap_or(0);
            let namespace_id = self.home;
            return Cursor { namespace_id, seq }.encode();
        }
        let pairs: Vec<String> = self
            .seqs
            .iter()
            .map(|(ns, seq)| format!("{ns:x}-{seq:x}"))
            .collect();
        format!("v2.{:x}.{}.{}", self.home, pairs.join("_"), self.check())
    }

    /// A `v1` cursor is a position in the own tree alone.
    pub fn decode(s: &str) -> Option<Position> {
        if let Some(c) = Cursor::decode(s) {
            return Some(Position {
                home: c.namespace_id,
                seqs: [(c.namespace_id, c.seq)].into(),
            });
        }
        let mut parts = s.split('.');
        let (v, home, pairs, sum) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        if v != "v2" || parts.next().is_some() || home.len() > 16 || pairs.len() > 64 * 34 {
            return None;
        }
        let home = i64::from_str_radix(home, 16).ok().filter(|&h| h >= 0)?;
        let mut seqs = std::collections::BTreeMap::new();
        for pair in pairs.split('_') {
            let (ns, seq) = pair.split_once('-')?;
            if ns.len() > 16 || seq.len() > 16 {
                return None;
            }
            let ns = i64::from_str_radix(ns, 16).ok()?;
            let seq = i64::from_str_radix(seq, 16).ok()?;
            if ns < 0 || seq < 0 || seqs.insert(ns, seq).is_some() {
                return None;
            }
        }
        let p = Position { home, seqs };
        (sum == p.check()).then_some(p)
    }

    fn check(&self) -> String {
        let mut h = blake3::Hasher::new();
        h.update(b"cairn cursor v2");
        h.update(&self.home.to_le_bytes());
        for (ns, seq) in &self.seqs {
            h.update(&ns.to_le_bytes());
            h.update(&seq.to_le_bytes());
        }
        h.finalize().to_hex()[..8].to_owned()
    }
}

fn check(namespace_id: i64, seq: i64) -> String {
    let mut h = blake3::Hasher::new();
    h.update(b"cairn cursor v1");
    h.update(&namespace_id.to_le_bytes());
    h.update(&seq.to_le_bytes());
    h.finalize().to_hex()[..8].to_owned()
}

/// The namespace's latest sequence number and its retention horizon.
pub async fn positions(db: &Db, namespace_id: i64) -> sqlx::Result<(i64, i64)> {
    let row = sqlx::query("SELECT seq, pruned_seq FROM namespaces WHERE id = $1")
        .bind(namespace_id)
        .fetch_one(&db.pool)
        .await?;
    Ok((row.get(0), row.get(1)))
}

/// [`positions`] of many namespaces in one statement (a user following many shared trees
/// asks for all of them on every pull).
pub async fn positions_of(
    db: &Db,
    namespaces: &[i64],
) -> sqlx::Result<std::collections::HashMap<i64, (i64, i64)>> {
    let list: Vec<String> = (1..=namespaces.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT id, seq, pruned_seq FROM namespaces WHERE id IN ({})",
        list.join(", ")
    );
    let mut q = sqlx::query(&sql);
    for ns in namespaces {
        q = q.bind(*ns);
    }
    Ok(q.fetch_all(&db.pool)
        .await?
        .iter()
        .map(|r| (r.get(0), (r.get(1), r.get(2))))
        .collect())
}

/// Up to `limit` changes with `seq > after`, in seq order, each with its node's current state
/// (`None` when the node left the live tree, or this namespace for another). One statement,
/// hence one snapshot.
pub async fn page(db: &Db, namespace_id: i64, after: i64, limit: i64) -> sqlx::Result<Vec<Change>> {
    let rows = sqlx::query(
        "SELECT c.seq, c.kind, c.node_id, n.id, n.parent_id, n.name, n.kind, n.version_id, \
         COALESCE(v.size, 0), v.content_hash, n.modified_at, d.id, d.name, u.id, u.username, \
         v.content_type \
         FROM changes c \
         LEFT JOIN nodes n ON n.id = c.node_id AND n.deleted_at IS NULL \
         AND n.namespace_id = c.namespace_id \
         LEFT JOIN versions v ON v.id = n.version_id \
         LEFT JOIN devices d ON d.id = c.actor_device_id \
         LEFT JOIN users u ON u.id = d.user_id \
         WHERE c.namespace_id = $1 AND c.seq > $2 ORDER BY c.seq LIMIT $3",
    )
    .bind(namespace_id)
    .bind(after)
    .bind(limit)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows
        .iter()
        .map(|r| Change {
            namespace_id,
            ..change_from_row(r)
        })
        .collect())
}

fn change_from_row(r: &Row) -> Change {
    let node_id: Option<i64> = r.get(3);
    let node = node_id.map(|id| {
        let kind: String = r.get(6);
        let hash: Option<String> = r.get(9);
        Node {
            id,
            parent_id: r.get(4),
            name: r.get(5),
            kind: if kind == "folder" {
                NodeKind::Folder
            } else {
                NodeKind::File
            },
            version_id: r.get(7),
            size: r.get::<i64, _>(8).max(0) as u64,
            content_hash: hash.and_then(|h| h.parse().ok()),
            modified_at: r.get(10),
            modified_by: None,
            content_type: r.get(15),
            thumbnail: false,
        }
    });
    let device_id: Option<i64> = r.get(11);
    let actor = device_id.map(|device_id| Actor {
        device_id,
        device_name: r.get(12),
        user_id: r.get(13),
        username: r.get(14),
    });
    Change {
        seq: r.get(0),
        namespace_id: 0,
        kind: r.get(1),
        node_id: r.get(2),
        node,
        actor,
    }
}

/// The seq a device has acknowledged in its namespace (0 when it never pulled).
pub async fn device_cursor(db: &Db, device_id: i64) -> sqlx::Result<i64> {
    Ok(
        sqlx::query("SELECT seq FROM device_cursors WHERE device_id = $1")
            .bind(device_id)
            .fetch_optional(&db.pool)
            .await?
            .map(|r| r.get(0))
            .unwrap_or(0),
    )
}

/// Moves a device's acknowledged cursor forward (never back: an old page re-read is no news).
pub async fn ack(db: &Db, device_id: i64, cursor: Cursor) -> sqlx::Result<()> {
    let mut w = db.write().await?;
    sqlx::query(
        "INSERT INTO device_cursors (device_id, namespace_id, seq, updated_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (device_id) DO UPDATE SET \
         seq = CASE WHEN excluded.seq > device_cursors.seq OR excluded.namespace_id <> device_cursors.namespace_id \
         THEN excluded.seq ELSE device_cursors.seq END, \
         namespace_id = excluded.namespace_id, updated_at = excluded.updated_at",
    )
    .bind(device_id)
    .bind(cursor.namespace_id)
    .bind(cursor.seq)
    .bind(now_ms())
    .execute(&mut *w.tx)
    .await?;
    w.commit().await
}

/// Retention: drops changes created before `cutoff_ms`, except each namespace's newest one,
/// and raises the namespaces' horizons so older cursors answer `cursor_reset`. Returns how many
/// changes were removed.
pub async fn prune(db: &Db, cutoff_ms: i64) -> sqlx::Result<u64> {
    let mut w = db.write().await?;
    // The horizon first, from the rows about to go, so a reader never sees a gap below it.
    sqlx::query(
        "UPDATE namespaces SET pruned_seq = ( \
           SELECT MAX(c.seq) FROM changes c WHERE c.namespace_id = namespaces.id \
           AND c.created_at < $1 AND c.seq < namespaces.seq) \
         WHERE EXISTS (SELECT 1 FROM changes c WHERE c.namespace_id = namespaces.id \
           AND c.created_at < $1 AND c.seq < namespaces.seq)",
    )
    .bind(cutoff_ms)
    .execute(&mut *w.tx)
    .await?;
    let removed = sqlx::query(
        "DELETE FROM changes WHERE seq <= (SELECT pruned_seq FROM namespaces n \
         WHERE n.id = changes.namespace_id)",
    )
    .execute(&mut *w.tx)
    .await?
    .rows_affected();
    w.commit().await?;
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_edits() {
        let c = Cursor {
            namespace_id: 42,
            seq: 1_000_000,
        };
        assert_eq!(Cursor::decode(&c.encode()), Some(c));
        let s = c.encode();
        let edited = s.replacen(".f4240.", ".f4241.", 1);
        assert_ne!(s, edited);
        for bad in [
            "",
            "v1",
            "v1.2a.0",
            &edited,
            "v2.2a.0.00000000",
            "v1.-1.0.00000000",
            &format!("{s}.x"),
        ] {
            assert_eq!(Cursor::decode(bad), None, "{bad}");
        }
    }

    #[test]
    fn positions_round_trip_and_reject_edits() {
        let one = Position {
            home: 42,
            seqs: [(42, 7)].into(),
        };
        let v1 = Cursor {
            namespace_id: 42,
            seq: 7,
        };
        assert_eq!(one.encode(), v1.encode());
        assert_eq!(Position::new(42).encode(), Cursor { seq: 0, ..v1 }.encode());
        let many = Position {
            home: 42,
            seqs: [(42, 7), (3, 1_000_000), (900, 0)].into(),
        };
        let s = many.encode();
        assert!(s.starts_with("v2.2a.3-f4240_2a-7_384-0."), "{s}");
        assert_eq!(Position::decode(&s), Some(many));
        assert_eq!(Position::decode(&one.encode()), Some(one));
        for bad in [
            s.replacen("2a-7", "2a-8", 1),
            s.replacen("v2.2a.", "v2.3.", 1),
            s.replacen("_384-0", "", 1),
            "v2.3.3-1_3-2.00000000".into(),
            "v2.3..00000000".into(),
            "v2.3.3-1".into(),
            format!("{s}.x"),
        ] {
            assert_eq!(Position::decode(&bad), None, "{bad}");
        }
    }

    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Whatever a client sends as a cursor is read back as exactly the position it was
        /// made from, or refused (`None`, a 400): never a panic, never another position.
        #[test]
        fn any_string_is_a_position_made_here_or_refused(s in "\\PC{0,80}") {
            if let Some(p) = Position::decode(&s) {
                prop_assert_eq!(p.encode(), s);
            }
        }

        /// Every position round-trips, and changing any one character of its text is refused
        /// or reads as the very same position (hex digits are read in either case): no edit
        /// moves a cursor.
        #[test]
        fn positions_round_trip_and_edits_are_caught(
            home in 0i64..1 << 40,
            seqs in prop::collection::btree_map(0i64..1 << 40, 0i64..1 << 40, 0..6),
            at in any::<prop::sample::Index>(),
            to in prop::char::range('-', 'z'),
        ) {
            let p = Position { home, seqs };
            let s = p.encode();
            // (Equal up to the own tree's implicit 0: `{}` and `{home: 0}` say the same.)
            let back = Position::decode(&s).unwrap();
            prop_assert_eq!(back.home, home);
            prop_assert_eq!(back.encode(), s.clone());
            for (ns, seq) in &p.seqs {
                prop_assert_eq!(back.seqs.get(ns), Some(seq));
            }
            let mut chars: Vec<char> = s.chars().collect();
            let i = at.index(chars.len());
            if chars[i] != to {
                chars[i] = to;
                let edited: String = chars.into_iter().collect();
                if let Some(q) = Position::decode(&edited) {
                    prop_assert_eq!(q, back);
                }
            }
        }
    }
}
