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
}
