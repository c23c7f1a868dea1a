//! Name search inside the database's own text index: an FTS5 trigram table on SQLite, a
//! pg_trgm GIN index on PostgreSQL. Both match the query anywhere in the case-folded name
//! (`name_key`); filters and ordering run in the same SQL statement, never in Rust.
//!
//! A trigram index needs at least three characters: a query of one or two matches the names
//! that start with it, read in name order from `nodes_live_names`, so it costs the same in a
//! tree of a thousand names or a million.

use sqlx::Row as _;
use wire::NodeKind;

use super::batch_tx::{bind, Value};
use super::nodes::{node_from_row, NodeRow, NODE_COLUMNS, NODE_FROM};
use super::{Backend, Db};

#[derive(Debug, Default, Clone)]
pub struct Filter {
    pub q: Option<String>,
    pub kind: Option<NodeKind>,
    pub min_size: Option<u64>,
    pub max_size: Option<u64>,
    pub modified_after: Option<i64>,
    pub modified_before: Option<i64>,
    pub limit: u32,
}

/// The form names are indexed in (`name_key`): the key of `wire::names`, NFC of the full case
/// folding, so `STRASSE` finds `Straße`.
pub fn fold(q: &str) -> String {
    wire::names::key(q)
}

fn like_pattern(q: &str) -> String {
    let mut p = String::from("%");
    for c in q.chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

/// The least string above every string that starts with `prefix`: its last character, one
/// code point on (`None` past the last code point, where no bound is needed).
fn succ(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        // The next code point that is a character (surrogates are not).
        let next = (u32::from(last) + 1..=u32::from(char::MAX)).find_map(char::from_u32);
        if let Some(c) = next {
            chars.push(c);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// The one statement (and its parameters) that answers `f` over `namespaces` (at least one).
fn build(db: &Db, namespaces: &[i64], f: &Filter) -> (String, Vec<Value>) {
    let mut params: Vec<Value> = namespaces.iter().map(|&ns| Value::Int(Some(ns))).collect();
    let within = match namespaces.len() {
        1 => "n.namespace_id = $1".to_owned(),
        n => {
            let list: Vec<String> = (1..=n).map(|i| format!("${i}")).collect();
            format!("n.namespace_id IN ({})", list.join(", "))
        }
    };
    let mut from = NODE_FROM.to_owned();
    let mut conds = vec![
        within,
        "n.deleted_at IS NULL".to_owned(),
        "n.parent_id IS NOT NULL".to_owned(),
        // A member's mount stands for a shared folder, found as itself (its root).
        "n.mount_of IS NULL".to_owned(),
    ];
    let push = |params: &mut Vec<Value>, p: Value| {
        params.push(p);
        format!("${}", params.len())
    };
    let mut order = "n.name_key, n.id";
    if let Some(q) = f.q.as_deref().map(fold).filter(|q| !q.is_empty()) {
        if q.chars().count() < 3 {
            // No trigram to look up: the names that start with it, a range of
            // `nodes_live_names` read in name order, which stops at the limit's last match.
            // (Anywhere in the name would read every name of the tree.) PostgreSQL compares
            // by code point here (`C`), the order its index and `succ` share.
            let key = match db.backend {
                Backend::Sqlite => "n.name_key",
                Backend::Postgres => {
                    order = "n.name_key COLLATE \"C\", n.id";
                    "n.name_key COLLATE \"C\""
                }
            };
            let p = push(&mut params, Value::Text(Some(q.clone())));
            conds.push(format!("{key} >= {p}"));
            if let Some(end) = succ(&q) {
                let p = push(&mut params, Value::Text(Some(end)));
                conds.push(format!("{key} < {p}"));
            }
        } else if db.backend == Backend::Sqlite {
            from = "nodes_fts JOIN nodes n ON n.id = nodes_fts.rowid \
                    LEFT JOIN versions v ON v.id = n.version_id"
                .to_owned();
            let phrase = format!("\"{}\"", q.replace('"', "\"\""));
            let p = push(&mut params, Value::Text(Some(phrase)));
            conds.push(format!("nodes_fts MATCH {p}"));
        } else {
            let p = push(&mut params, Value::Text(Some(like_pattern(&q))));
            conds.push(format!("n.name_key LIKE {p} ESCAPE '\\'"));
        }
    }
    if let Some(kind) = f.kind {
        let k = match kind {
            NodeKind::File => "file",
            NodeKind::Folder => "folder",
        };
        let p = push(&mut params, Value::Text(Some(k.to_owned())));
        conds.push(format!("n.kind = {p}"));
    }
    let clamp = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    if let Some(v) = f.min_size {
        let p = push(&mut params, Value::Int(Some(clamp(v))));
        conds.push(format!("COALESCE(v.size, 0) >= {p}"));
    }
    if let Some(v) = f.max_size {
        let p = push(&mut params, Value::Int(Some(clamp(v))));
        conds.push(format!("COALESCE(v.size, 0) <= {p}"));
    }
    if let Some(v) = f.modified_after {
        let p = push(&mut params, Value::Int(Some(v)));
        conds.push(format!("n.modified_at >= {p}"));
    }
    if let Some(v) = f.modified_before {
        let p = push(&mut params, Value::Int(Some(v)));
        conds.push(format!("n.modified_at <= {p}"));
    }
    let limit = push(&mut params, Value::Int(Some(i64::from(f.limit))));
    let sql = format!(
        "SELECT {NODE_COLUMNS} FROM {from} WHERE {} ORDER BY {order} LIMIT {limit}",
        conds.join(" AND ")
    );
    (sql, params)
}

/// Live nodes (never the root) of `namespaces` matching `f`, by name: one statement however
/// many trees the caller follows.
pub async fn search(db: &Db, namespaces: &[i64], f: &Filter) -> sqlx::Result<Vec<NodeRow>> {
    let (sql, params) = build(db, namespaces, f);
    Ok(bind(sqlx::query(&sql), params)
        .fetch_all(&db.pool)
        .await?
        .iter()
        .map(node_from_row)
        .collect())
}

/// The plan the database chooses for exactly the statement `search` runs for `f`, one line
/// per step, so tests can check that it reads the text index rather than every row.
pub async fn explain(db: &Db, namespace_id: i64, f: &Filter) -> sqlx::Result<Vec<String>> {
    let (sql, params) = build(db, &[namespace_id], f);
    let sql = match db.backend {
        Backend::Sqlite => format!("EXPLAIN QUERY PLAN {sql}"),
        Backend::Postgres => format!("EXPLAIN {sql}"),
    };
    let rows = bind(sqlx::query(&sql), params).fetch_all(&db.pool).await?;
    Ok(rows
        .iter()
        .map(|r| match db.backend {
            Backend::Sqlite => r.get::<String, _>(3),
            Backend::Postgres => r.get::<String, _>(0),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_prefix_bound_is_the_next_code_point() {
        assert_eq!(super::succ("ab").as_deref(), Some("ac"));
        assert_eq!(super::succ("a\u{D7FF}").as_deref(), Some("a\u{E000}"));
        assert_eq!(super::succ("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(super::succ("\u{10FFFF}"), None);
    }
}
