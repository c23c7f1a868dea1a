//! SQLite connections of our own, outside sqlx, for the hottest paths: the group committer's
//! writer and the point reads every request makes (its device token, its upload session).
//!
//! sqlx runs each SQLite connection on a worker thread of its own and hands every statement
//! there and its rows back: two thread switches a statement. A batch is about a dozen
//! statements, and on this machine class those switches (plus sqlx's `Any` row conversion) cost
//! more than SQLite's work: a batch of ~30 commits took 8–10 ms through sqlx against ~3.5 ms
//! for the same statements from Python's `sqlite3`, and a request's two reads kept sqlx's
//! threads switching more than working. These connections are rusqlite over the very same
//! libsqlite3 that sqlx links (one `libsqlite3-sys`), so a statement is a plain function call.
//!
//! They keep every rule of the pooled connections: WAL, `synchronous = FULL` (an acknowledged
//! commit survives a power cut), foreign keys, no automatic checkpoints, and a write only
//! under `Db`'s single-writer lock. Readers are `query_only`. A read runs on the calling
//! (async) thread: it is an index probe on a WAL database, where readers never wait for the
//! writer, so it costs less than the hand-off it replaces.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::types::{Value as Sql, ValueRef};
use rusqlite::Connection;

use super::batch_tx::{BatchTx, Record, Value};
use super::Backend;

pub struct NativeConn {
    conn: Connection,
}

impl NativeConn {
    /// Opens the (migrated) database file with the pooled connections' settings.
    pub fn open(file: &Path) -> rusqlite::Result<NativeConn> {
        let conn = Connection::open_with_flags(
            file,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(Duration::from_secs(10))?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
             PRAGMA foreign_keys = ON; PRAGMA wal_autocheckpoint = 0;",
        )?;
        // A batch's dozen statements, plus the odd one: each prepared once.
        conn.set_prepared_statement_cache_capacity(64);
        Ok(NativeConn { conn })
    }

    /// `BEGIN IMMEDIATE`: SQLite's write lock now. Call with `Db`'s writer lock held.
    pub fn begin(&mut self) -> sqlx::Result<()> {
        self.conn.execute_batch("BEGIN IMMEDIATE").map_err(driver)
    }

    pub fn commit(&mut self) -> sqlx::Result<()> {
        self.conn.execute_batch("COMMIT").map_err(driver)
    }

    /// Rolls back if a transaction is open (after an error it may already be gone).
    pub fn rollback(&mut self) {
        if !self.conn.is_autocommit() {
            if let Err(e) = self.conn.execute_batch("ROLLBACK") {
                tracing::warn!(error = %e, "cannot roll back the commit writer's transaction");
            }
        }
    }

    fn run(&mut self, sql: &str, args: Vec<Value>, rows: bool) -> rusqlite::Result<Vec<Record>> {
        let mut stmt = self.conn.prepare_cached(sql)?;
        // `$n` is a named parameter to SQLite: bind it by its number, not its position.
        for i in 1..=stmt.parameter_count() {
            let n = stmt
                .parameter_name(i)
                .and_then(|name| name.strip_prefix('$'))
                .and_then(|n| n.parse::<usize>().ok())
                .ok_or(rusqlite::Error::InvalidParameterCount(i, args.len()))?;
            let arg = n
                .checked_sub(1)
                .and_then(|k| args.get(k))
                .ok_or(rusqlite::Error::InvalidParameterCount(n, args.len()))?;
            stmt.raw_bind_parameter(i, sql_value(arg))?;
        }
        if !rows {
            stmt.raw_execute()?;
            return Ok(Vec::new());
        }
        let width = stmt.column_count();
        let mut out = Vec::new();
        let mut rows = stmt.raw_query();
        while let Some(row) = rows.next()? {
            let cells = (0..width)
                .map(|i| {
                    Ok(match row.get_ref(i)? {
                        ValueRef::Null => Value::Int(None),
                        ValueRef::Integer(n) => Value::Int(Some(n)),
                        ValueRef::Text(t) => Value::Text(Some(String::from_utf8_lossy(t).into())),
                        other => {
                            return Err(rusqlite::Error::InvalidColumnType(
                                i,
                                format!("{:?}", other.data_type()),
                                other.data_type(),
                            ))
                        }
                    })
                })
                .collect::<rusqlite::Result<Vec<Value>>>()?;
            out.push(Record(cells));
        }
        Ok(out)
    }
}

/// Read-only connections, each taken by one read and put back after.
pub struct Readers {
    file: PathBuf,
    idle: Mutex<Vec<NativeConn>>,
}

impl Readers {
    pub fn new(file: PathBuf) -> Readers {
        Readers {
            file,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Runs one read-only statement; `$n` reads `args[n - 1]`.
    pub fn fetch(&self, sql: &str, args: Vec<Value>) -> sqlx::Result<Vec<Record>> {
        let idle = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        let mut conn = match idle {
            Some(c) => c,
            None => NativeConn::open(&self.file)
                .and_then(|c| c.conn.execute_batch("PRAGMA query_only = 1").map(|()| c))
                .map_err(driver)?,
        };
        let rows = conn.run(sql, args, true).map_err(driver)?;
        if let Ok(mut idle) = self.idle.lock() {
            idle.push(conn);
        }
        Ok(rows)
    }
}

impl BatchTx for NativeConn {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    async fn fetch(&mut self, sql: &str, args: Vec<Value>) -> sqlx::Result<Vec<Record>> {
        self.run(sql, args, true).map_err(driver)
    }

    async fn execute(&mut self, sql: &str, args: Vec<Value>) -> sqlx::Result<()> {
        self.run(sql, args, false).map(drop).map_err(driver)
    }
}

fn sql_value(v: &Value) -> Sql {
    match v {
        Value::Int(Some(n)) => Sql::Integer(*n),
        Value::Text(Some(t)) => Sql::Text(t.clone()),
        Value::Int(None) | Value::Text(None) => Sql::Null,
    }
}

fn driver(e: rusqlite::Error) -> sqlx::Error {
    sqlx::Error::AnyDriverError(Box::new(e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_bind_by_number_and_rows_come_back_typed() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("t.db");
        Connection::open(&file)
            .unwrap()
            .execute_batch("CREATE TABLE t (a INTEGER, b TEXT)")
            .unwrap();
        let mut w = NativeConn::open(&file).unwrap();
        w.begin().unwrap();
        // `$2` appears first: SQLite numbers it 1, yet it must read the second argument.
        w.run(
            "INSERT INTO t (b, a) VALUES ($2, $1)",
            vec![Value::Int(Some(5)), Value::Text(Some("x".into()))],
            false,
        )
        .unwrap();
        w.run(
            "INSERT INTO t (a, b) VALUES ($1, $2)",
            vec![Value::Int(None), Value::Text(None)],
            false,
        )
        .unwrap();
        w.commit().unwrap();
        let rows = w
            .run("SELECT a, b FROM t ORDER BY a", Vec::new(), true)
            .unwrap();
        assert_eq!(rows[0].0, vec![Value::Int(None), Value::Int(None)]);
        assert_eq!(
            rows[1].0,
            vec![Value::Int(Some(5)), Value::Text(Some("x".into()))]
        );
    }
}
