//! Many rows through one bound parameter: a JSON array of arrays, opened as a derived table by
//! the database's own JSON functions (`json_each` on SQLite, `json_array_elements` on
//! PostgreSQL).
//!
//! Why not `VALUES ($1, $2), ($3, $4), …`: its text grows with the row count, so every batch
//! size is a different statement. sqlx keeps 100 prepared statements per connection, and the
//! group committer's dozen statements times every batch size it meets overflowed that: nearly
//! every statement of a batch was parsed and planned again (on SQLite each insert into `nodes`
//! also recompiles the search trigger and the foreign-key checks). With the rows in one JSON
//! parameter the text is fixed, so each statement is prepared once per connection, and
//! binding is one string instead of hundreds of values. It also has no bound-parameter limit.

use serde::Serialize;

use super::Backend;

/// The SQL type of one column.
#[derive(Clone, Copy)]
pub enum Col {
    Int,
    Text,
}

/// `(SELECT … AS column1, … AS columnN FROM <json rows in $param>)`: a derived table whose
/// columns are named like those of a `VALUES` list. Each JSON row is an array with one element
/// per column (`null` for SQL `NULL`). Give it an alias where it is used: PostgreSQL before 16
/// refuses a subquery in `FROM` without one.
pub fn table(backend: Backend, param: usize, cols: &[Col]) -> String {
    let columns: Vec<String> = cols
        .iter()
        .enumerate()
        .map(|(i, col)| match (backend, col) {
            (Backend::Sqlite, _) => format!("value->>{i} AS column{}", i + 1),
            (Backend::Postgres, Col::Int) => format!("(value->>{i})::bigint AS column{}", i + 1),
            (Backend::Postgres, Col::Text) => format!("value->>{i} AS column{}", i + 1),
        })
        .collect();
    let source = match backend {
        Backend::Sqlite => format!("json_each(${param})"),
        Backend::Postgres => format!("json_array_elements(${param}::json) AS e(value)"),
    };
    format!("(SELECT {} FROM {source})", columns.join(", "))
}

/// The rows as the JSON text `table` reads; each row serializes as an array (a tuple does).
pub fn encode<T: Serialize>(rows: &[T]) -> sqlx::Result<String> {
    serde_json::to_string(rows).map_err(|e| sqlx::Error::Encode(e.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_named_like_a_values_list() {
        assert_eq!(
            table(Backend::Sqlite, 2, &[Col::Int, Col::Text]),
            "(SELECT value->>0 AS column1, value->>1 AS column2 FROM json_each($2))"
        );
        assert_eq!(
            table(Backend::Postgres, 1, &[Col::Int, Col::Text]),
            "(SELECT (value->>0)::bigint AS column1, value->>1 AS column2 \
             FROM json_array_elements($1::json) AS e(value))"
        );
    }

    #[test]
    fn rows_are_arrays() {
        let rows = vec![(1_i64, "a\"b".to_owned(), None::<i64>)];
        assert_eq!(encode(&rows).unwrap(), r#"[[1,"a\"b",null]]"#);
    }
}
