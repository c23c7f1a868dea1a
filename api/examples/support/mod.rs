//! What the API benchmarks share: a throwaway PostgreSQL database. Included by each example
//! with `mod support;` (examples are separate crates; this is not one of them, being a folder).

use anyhow::{Context, Result};
use rand::RngCore;
use sqlx::Connection;

/// The admin URL benchmarks create their databases from: `DATABASE_URL` when it names
/// PostgreSQL, else the local server's.
pub fn pg_admin_url() -> String {
    std::env::var("DATABASE_URL")
        .ok()
        .filter(|u| u.starts_with("postgres"))
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A database made for one run, dropped by [`TempDb::drop_now`].
pub struct TempDb {
    admin: String,
    name: String,
    pub url: String,
}

impl TempDb {
    pub async fn create(admin: &str) -> Result<TempDb> {
        let mut id = [0u8; 6];
        rand::rngs::OsRng.fill_bytes(&mut id);
        let name = format!("cairn_bench_{}", hex::encode(id));
        let mut conn = sqlx::PgConnection::connect(admin)
            .await
            .with_context(|| format!("PostgreSQL is needed at {admin} (or set DATABASE_URL)"))?;
        sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await?;
        let _ = conn.close().await;
        let base = admin.rsplit_once('/').map_or(admin, |(b, _)| b);
        Ok(TempDb {
            admin: admin.to_owned(),
            url: format!("{base}/{name}"),
            name,
        })
    }

    pub async fn drop_now(&self) {
        if let Ok(mut conn) = sqlx::PgConnection::connect(&self.admin).await {
            let _ = sqlx::raw_sql(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .execute(&mut conn)
            .await;
            let _ = conn.close().await;
        }
    }
}
