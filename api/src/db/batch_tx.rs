//! The few things a group-commit batch asks of its transaction — run a statement with these
//! arguments, give back its rows — so the same batch code drives a sqlx transaction
//! (PostgreSQL) and the writer's own SQLite connection (`native_sqlite`), whose whole point is
//! to skip sqlx's per-statement thread hand-offs.
//!
//! Arguments and cells are plain values: integers and text, each possibly `NULL`. Typed nulls,
//! because PostgreSQL wants to know what a `NULL` parameter is.

use sqlx::any::AnyRow;
use sqlx::{Any, Row as _, Transaction};

use super::Backend;

/// One argument or one cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Int(Option<i64>),
    Text(Option<String>),
}

/// One result row.
#[derive(Debug, Clone)]
pub struct Record(pub Vec<Value>);

/// Reading a row's cells by position, from a sqlx row or a [`Record`] alike. Panics, as
/// `sqlx::Row::get` does, when a cell is not of the asked type: that is a bug in the SQL.
pub trait Cells {
    fn opt_int(&self, i: usize) -> Option<i64>;
    fn opt_text(&self, i: usize) -> Option<String>;

    fn int(&self, i: usize) -> i64 {
        self.opt_int(i)
            .unwrap_or_else(|| panic!("column {i} is NULL"))
    }

    fn text(&self, i: usize) -> String {
        self.opt_text(i)
            .unwrap_or_else(|| panic!("column {i} is NULL"))
    }
}

impl Cells for AnyRow {
    fn opt_int(&self, i: usize) -> Option<i64> {
        self.get(i)
    }

    fn opt_text(&self, i: usize) -> Option<String> {
        self.get(i)
    }
}

impl Cells for Record {
    fn opt_int(&self, i: usize) -> Option<i64> {
        match &self.0[i] {
            Value::Int(v) => *v,
            Value::Text(None) => None,
            Value::Text(Some(t)) => panic!("column {i} is text ({t:?}), not an integer"),
        }
    }

    fn opt_text(&self, i: usize) -> Option<String> {
        match &self.0[i] {
            Value::Text(v) => v.clone(),
            Value::Int(None) => None,
            Value::Int(Some(n)) => panic!("column {i} is an integer ({n}), not text"),
        }
    }
}

/// A transaction a batch runs in. `$n` in the SQL reads `args[n - 1]`.
#[allow(async_fn_in_trait)]
pub trait BatchTx {
    fn backend(&self) -> Backend;

    /// Runs one statement and returns its rows.
    async fn fetch(&mut self, sql: &str, args: Vec<Value>) -> sqlx::Result<Vec<Record>>;

    /// Runs one statement that returns no rows.
    async fn execute(&mut self, sql: &str, args: Vec<Value>) -> sqlx::Result<()>;

    /// Runs statements none of which reads what another of them writes, as few round trips
    /// as the database allows: one by one here, where a statement costs no round trip (the
    /// writer's own SQLite connection); PostgreSQL overrides it ([`one_statement`]).
    async fn execute_all(&mut self, steps: Vec<Step>) -> sqlx::Result<()> {
        for (sql, args) in steps {
            self.execute(&sql, args).await?;
        }
        Ok(())
    }

    /// Runs read-only statements, as few round trips as the database allows; the rows of
    /// each, in order. One by one here; PostgreSQL overrides it ([`one_read`]).
    async fn fetch_all(&mut self, reads: Vec<Step>) -> sqlx::Result<Vec<Vec<Record>>> {
        let mut out = Vec::with_capacity(reads.len());
        for (sql, args) in reads {
            out.push(self.fetch(&sql, args).await?);
        }
        Ok(out)
    }
}

/// A statement and its arguments.
pub type Step = (String, Vec<Value>);

/// Most parameters one PostgreSQL statement may bind.
const PG_MAX_PARAMS: usize = 65_535;

/// PostgreSQL: `steps` as few statements as its parameter limit allows, each a `WITH` of the
/// data-modifying steps (`INSERT`, `UPDATE`, `DELETE`), with the `SELECT` steps counted by
/// its final query so they run too (a volatile call such as `pg_notify` in one is evaluated).
///
/// Why: on loopback a statement costs a round trip (≈0.1 ms through sqlx) whatever it does,
/// and the commit's tail is half a dozen of them. Sound only for steps that do not read each
/// other's writes, since every part of one statement sees the same snapshot; none may change
/// a row another changes.
pub fn one_statement(steps: Vec<Step>) -> Vec<Step> {
    let mut out = Vec::new();
    let mut parts: Vec<String> = Vec::new();
    let mut selects: Vec<String> = Vec::new();
    let mut args: Vec<Value> = Vec::new();
    let flush = |parts: &mut Vec<String>,
                 selects: &mut Vec<String>,
                 args: &mut Vec<Value>,
                 out: &mut Vec<Step>| {
        if parts.is_empty() && selects.is_empty() {
            return;
        }
        let counted: Vec<String> = selects
            .drain(..)
            .map(|s| format!("(SELECT count(*) FROM ({s}) AS x)"))
            .collect();
        let last = if counted.is_empty() {
            "SELECT 1".to_owned()
        } else {
            format!("SELECT {}", counted.join(", "))
        };
        let sql = if parts.is_empty() {
            last
        } else {
            let with: Vec<String> = parts
                .drain(..)
                .enumerate()
                .map(|(i, p)| format!("s{i} AS ({p})"))
                .collect();
            format!("WITH {} {last}", with.join(", "))
        };
        out.push((sql, std::mem::take(args)));
    };
    for (sql, step_args) in steps {
        if args.len() + step_args.len() > PG_MAX_PARAMS {
            flush(&mut parts, &mut selects, &mut args, &mut out);
        }
        let shifted = shift_params(&sql, args.len());
        args.extend(step_args);
        if shifted
            .trim_start()
            .to_ascii_uppercase()
            .starts_with("SELECT")
        {
            selects.push(shifted);
        } else {
            parts.push(shifted);
        }
    }
    flush(&mut parts, &mut selects, &mut args, &mut out);
    out
}

/// PostgreSQL: read-only `reads` as few statements as its parameter limit allows, each one
/// row whose columns are the reads' rows as JSON (`json_agg`, which keeps every column even
/// where two share a name), NULL for none; [`from_json`] turns a column back into rows.
/// Sound as one statement since reads see one snapshot either way (taken after the locks the
/// caller holds); a read may lock its rows (`FOR SHARE`) in its own subquery.
pub fn one_read(reads: Vec<Step>) -> Vec<(Step, usize)> {
    let mut out = Vec::new();
    let mut cols: Vec<String> = Vec::new();
    let mut args: Vec<Value> = Vec::new();
    let flush = |cols: &mut Vec<String>, args: &mut Vec<Value>, out: &mut Vec<(Step, usize)>| {
        if !cols.is_empty() {
            let n = cols.len();
            let sql = format!("SELECT {}", std::mem::take(cols).join(", "));
            out.push(((sql, std::mem::take(args)), n));
        }
    };
    for (sql, read_args) in reads {
        if args.len() + read_args.len() > PG_MAX_PARAMS {
            flush(&mut cols, &mut args, &mut out);
        }
        let shifted = shift_params(&sql, args.len());
        args.extend(read_args);
        cols.push(format!(
            "CAST((SELECT json_agg(x) FROM ({shifted}) AS x) AS TEXT)"
        ));
    }
    flush(&mut cols, &mut args, &mut out);
    out
}

/// The rows of one [`one_read`] column: a JSON array of objects, each object's values in
/// column order (names are ignored, and may repeat). Integers and text only, as everywhere in
/// a batch; `NULL` comes back as a `NULL` of either.
pub fn from_json(column: Option<&str>) -> sqlx::Result<Vec<Record>> {
    let Some(text) = column else {
        return Ok(Vec::new());
    };
    let rows: Vec<JsonRow> =
        serde_json::from_str(text).map_err(|e| sqlx::Error::Decode(e.into()))?;
    Ok(rows.into_iter().map(|r| Record(r.0)).collect())
}

/// One object of a `json_agg` of rows, its values in order, repeated names kept.
struct JsonRow(Vec<Value>);

impl<'de> serde::Deserialize<'de> for JsonRow {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = JsonRow;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a row as a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut m: A,
            ) -> Result<JsonRow, A::Error> {
                use serde::de::Error;
                let mut cells = Vec::new();
                while let Some((_, v)) =
                    m.next_entry::<serde::de::IgnoredAny, serde_json::Value>()?
                {
                    cells.push(match v {
                        serde_json::Value::Null => Value::Text(None),
                        serde_json::Value::String(t) => Value::Text(Some(t)),
                        serde_json::Value::Number(n) => Value::Int(Some(
                            n.as_i64()
                                .ok_or_else(|| A::Error::custom(format!("{n} is no integer")))?,
                        )),
                        other => return Err(A::Error::custom(format!("unexpected cell {other}"))),
                    });
                }
                Ok(JsonRow(cells))
            }
        }
        d.deserialize_map(Visit)
    }
}

/// `sql` with every parameter `$n` renumbered `$(n + by)`. Our statements hold no `$` in
/// their literals.
fn shift_params(sql: &str, by: usize) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        if c != '$' {
            continue;
        }
        let mut digits = String::new();
        while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
            digits.push(*d);
            chars.next();
        }
        match digits.parse::<usize>() {
            Ok(n) => out.push_str(&(n + by).to_string()),
            Err(_) => out.push_str(&digits),
        }
    }
    out
}

/// A sqlx transaction on either database.
pub struct SqlxTx<'t> {
    pub tx: &'t mut Transaction<'static, Any>,
    pub backend: Backend,
}

impl BatchTx for SqlxTx<'_> {
    fn backend(&self) -> Backend {
        self.backend
    }

    async fn fetch(&mut self, sql: &str, args: Vec<Value>) -> sqlx::Result<Vec<Record>> {
        bind(sqlx::query(sql), args)
            .fetch_all(&mut **self.tx)
            .await?
            .iter()
            .map(record)
            .collect()
    }

    async fn execute(&mut self, sql: &str, args: Vec<Value>) -> sqlx::Result<()> {
        bind(sqlx::query(sql), args).execute(&mut **self.tx).await?;
        Ok(())
    }

    async fn fetch_all(&mut self, reads: Vec<Step>) -> sqlx::Result<Vec<Vec<Record>>> {
        if self.backend != Backend::Postgres {
            let mut out = Vec::with_capacity(reads.len());
            for (sql, args) in reads {
                out.push(self.fetch(&sql, args).await?);
            }
            return Ok(out);
        }
        let mut out = Vec::with_capacity(reads.len());
        for ((sql, args), n) in one_read(reads) {
            let row = bind(sqlx::query(&sql), args)
                .fetch_one(&mut **self.tx)
                .await?;
            for i in 0..n {
                out.push(from_json(row.try_get::<Option<String>, _>(i)?.as_deref())?);
            }
        }
        Ok(out)
    }

    async fn execute_all(&mut self, steps: Vec<Step>) -> sqlx::Result<()> {
        let steps = match self.backend {
            Backend::Postgres => one_statement(steps),
            Backend::Sqlite => steps,
        };
        for (sql, args) in steps {
            self.execute(&sql, args).await?;
        }
        Ok(())
    }
}

/// A sqlx query on either database.
pub type Query<'q> = sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>;

pub(crate) fn bind(mut q: Query<'_>, args: Vec<Value>) -> Query<'_> {
    for a in args {
        q = match a {
            Value::Int(v) => q.bind(v),
            Value::Text(v) => q.bind(v),
        };
    }
    q
}

pub(crate) fn record(r: &AnyRow) -> sqlx::Result<Record> {
    (0..r.len())
        .map(|i| {
            if let Ok(v) = r.try_get::<Option<i64>, _>(i) {
                return Ok(Value::Int(v));
            }
            r.try_get::<Option<String>, _>(i).map(Value::Text)
        })
        .collect::<sqlx::Result<Vec<Value>>>()
        .map(Record)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_cells_read_typed_and_null_values() {
        let r = Record(vec![
            Value::Int(Some(7)),
            Value::Text(Some("a".into())),
            Value::Int(None),
        ]);
        assert_eq!(r.int(0), 7);
        assert_eq!(r.text(1), "a");
        assert_eq!(r.opt_text(2), None);
        assert_eq!(r.opt_int(2), None);
    }

    #[test]
    fn steps_become_one_statement_with_their_parameters_renumbered() {
        let int = |n| Value::Int(Some(n));
        let steps = vec![
            (
                "INSERT INTO a (x, y) VALUES ($1, $2)".to_owned(),
                vec![int(1), int(2)],
            ),
            ("SELECT pg_notify($1, 'c')".to_owned(), vec![int(3)]),
            (
                "DELETE FROM b WHERE id IN ($1, $10)".to_owned(),
                (4..14).map(int).collect(),
            ),
        ];
        let out = one_statement(steps);
        assert_eq!(out.len(), 1);
        let (sql, args) = &out[0];
        assert_eq!(
            sql,
            "WITH s0 AS (INSERT INTO a (x, y) VALUES ($1, $2)), \
             s1 AS (DELETE FROM b WHERE id IN ($4, $13)) \
             SELECT (SELECT count(*) FROM (SELECT pg_notify($3, 'c')) AS x)"
        );
        assert_eq!(args.len(), 13);
        assert_eq!(args[2], int(3));
        assert_eq!(args[12], int(13));
    }

    #[test]
    fn reads_become_json_columns_and_come_back_as_rows() {
        let reads = vec![
            (
                "SELECT a, b FROM t WHERE a = $1".to_owned(),
                vec![Value::Int(Some(1))],
            ),
            (
                "SELECT c FROM u WHERE c = $1".to_owned(),
                vec![Value::Int(Some(2))],
            ),
        ];
        let out = one_read(reads);
        assert_eq!(out.len(), 1);
        let ((sql, args), n) = &out[0];
        assert_eq!(*n, 2);
        assert_eq!(args.len(), 2);
        assert!(
            sql.contains("FROM (SELECT c FROM u WHERE c = $2) AS x"),
            "{sql}"
        );
        // Repeated names keep their cells, in column order.
        let rows = from_json(Some(r#"[{"id": 3, "id": "x", "n": null}]"#)).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!((rows[0].int(0), rows[0].text(1)), (3, "x".to_owned()));
        assert_eq!(rows[0].opt_int(2), None);
        assert!(from_json(None).unwrap().is_empty());
        assert!(from_json(Some(r#"[{"f": 1.5}]"#)).is_err());
    }

    #[test]
    fn steps_past_the_parameter_limit_split_into_statements() {
        let many = |n: usize| vec![Value::Int(Some(0)); n];
        let steps = vec![
            ("UPDATE t SET a = $1".to_owned(), many(40_000)),
            ("UPDATE u SET a = $1".to_owned(), many(40_000)),
        ];
        let out = one_statement(steps);
        assert_eq!(out.len(), 2);
        assert_eq!(out[1].0, "WITH s0 AS (UPDATE u SET a = $1) SELECT 1");
        assert!(one_statement(Vec::new()).is_empty());
    }
}
