//! Many rows as one derived table, written the way each database plans best.
//!
//! SQLite: one bound parameter holding a JSON array of arrays, opened by `json_each`. A
//! `VALUES ($1, $2), ($3, $4), …` list has a new text for every row count, sqlx keeps 100
//! prepared statements per connection, and the group committer's dozen statements times every
//! batch size it met overflowed that: nearly every statement of a batch was parsed and planned
//! again (each insert into `nodes` recompiling the search trigger and foreign-key checks). With
//! one JSON parameter each statement is prepared once per connection.
//!
//! PostgreSQL: the `VALUES` list. Its planner cannot see into a JSON parameter and assumes 100
//! rows; on a database growing fast from empty, whose statistics still said "2 rows", it then
//! hashed or scanned a whole index per lookup, or probed the trigram search index, at 4–50 ms a
//! statement (measured with `auto_explain`). A `VALUES` list shows it the rows, and PostgreSQL
//! prepares a statement in one round trip with the rest, so the changing text costs little.

use serde::Serialize;
use serde_json::Value;

use super::batch_tx::{Query, Value as Arg};
use super::Backend;

/// The SQL type of one column.
#[derive(Clone, Copy)]
pub enum Col {
    Int,
    Text,
}

/// Rows ready to be used as a table (`table`) and bound (`bind`).
pub struct Rows {
    backend: Backend,
    cols: &'static [Col],
    /// Each row an array of `cols.len()` values.
    rows: Vec<Value>,
}

impl Rows {
    /// `rows` serialize each as an array (a tuple does) with one element per column (`None`
    /// for SQL `NULL`).
    pub fn new<T: Serialize>(
        backend: Backend,
        cols: &'static [Col],
        rows: &[T],
    ) -> sqlx::Result<Rows> {
        let encode = |e: serde_json::Error| sqlx::Error::Encode(e.into());
        let rows = rows
            .iter()
            .map(|r| serde_json::to_value(r).map_err(encode))
            .collect::<sqlx::Result<Vec<Value>>>()?;
        if rows
            .iter()
            .any(|r| r.as_array().map(Vec::len) != Some(cols.len()))
        {
            return Err(sqlx::Error::Protocol(
                "a row has the wrong number of columns".into(),
            ));
        }
        Ok(Rows {
            backend,
            cols,
            rows,
        })
    }

    /// A derived table with columns `column1` … `columnN`, reading its parameters from
    /// `$first` on; give it an alias where it is used.
    pub fn table(&self, first: usize) -> String {
        match self.backend {
            Backend::Sqlite => {
                let columns: Vec<String> = (0..self.cols.len())
                    .map(|i| format!("value->>{i} AS column{}", i + 1))
                    .collect();
                format!("(SELECT {} FROM json_each(${first}))", columns.join(", "))
            }
            Backend::Postgres => {
                if self.rows.is_empty() {
                    // An empty table of the right shape (`VALUES` cannot be empty).
                    let columns: Vec<String> = self
                        .cols
                        .iter()
                        .enumerate()
                        .map(|(i, c)| match c {
                            Col::Int => format!("NULL::bigint AS column{}", i + 1),
                            Col::Text => format!("NULL::text AS column{}", i + 1),
                        })
                        .collect();
                    return format!("(SELECT {} WHERE false)", columns.join(", "));
                }
                let k = self.cols.len();
                let rows: Vec<String> = (0..self.rows.len())
                    .map(|r| {
                        let params: Vec<String> =
                            (0..k).map(|c| format!("${}", first + r * k + c)).collect();
                        format!("({})", params.join(", "))
                    })
                    .collect();
                format!("(VALUES {})", rows.join(", "))
            }
        }
    }

    /// `template` with its `{rows}` replaced by `table(first)`.
    pub fn fill(&self, template: &str, first: usize) -> String {
        template.replace("{rows}", &self.table(first))
    }

    /// Binds the parameters `table` reads, after those `q` already has.
    pub fn bind(self, q: Query<'_>) -> sqlx::Result<Query<'_>> {
        Ok(super::batch_tx::bind(q, self.args()?))
    }

    /// The parameters `table` reads, in order.
    pub fn args(self) -> sqlx::Result<Vec<Arg>> {
        match self.backend {
            Backend::Sqlite => {
                let json =
                    serde_json::to_string(&self.rows).map_err(|e| sqlx::Error::Encode(e.into()))?;
                Ok(vec![Arg::Text(Some(json))])
            }
            Backend::Postgres => {
                let mut args = Vec::with_capacity(self.rows.len() * self.cols.len());
                for row in self.rows {
                    let Value::Array(values) = row else {
                        unreachable!("checked in new")
                    };
                    for (v, col) in values.into_iter().zip(self.cols) {
                        args.push(match (col, v) {
                            (Col::Int, Value::Null) => Arg::Int(None),
                            (Col::Int, Value::Number(n)) => {
                                Arg::Int(Some(n.as_i64().ok_or_else(|| {
                                    sqlx::Error::Protocol(format!("{n} is not a 64-bit integer"))
                                })?))
                            }
                            (Col::Text, Value::Null) => Arg::Text(None),
                            (Col::Text, Value::String(s)) => Arg::Text(Some(s)),
                            (_, v) => {
                                return Err(sqlx::Error::Protocol(format!(
                                    "{v} does not fit its column"
                                )))
                            }
                        });
                    }
                }
                Ok(args)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAIR: &[Col] = &[Col::Int, Col::Text];

    #[test]
    fn sqlite_reads_one_json_parameter() {
        let rows = Rows::new(Backend::Sqlite, PAIR, &[(1_i64, "a\"b"), (2, "c")]).unwrap();
        assert_eq!(
            rows.table(2),
            "(SELECT value->>0 AS column1, value->>1 AS column2 FROM json_each($2))"
        );
    }

    #[test]
    fn postgres_reads_a_values_list() {
        let rows = Rows::new(Backend::Postgres, PAIR, &[(1_i64, "a"), (2, "c")]).unwrap();
        assert_eq!(rows.table(2), "(VALUES ($2, $3), ($4, $5))");
        let empty = Rows::new(Backend::Postgres, PAIR, &Vec::<(i64, String)>::new()).unwrap();
        assert_eq!(
            empty.table(1),
            "(SELECT NULL::bigint AS column1, NULL::text AS column2 WHERE false)"
        );
    }

    #[test]
    fn rows_of_the_wrong_width_are_refused() {
        assert!(Rows::new(Backend::Sqlite, PAIR, &[(1_i64,)]).is_err());
    }
}
