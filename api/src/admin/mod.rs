//! `cairn admin …`, `cairn gc`, `cairn stats`, `cairn migrate`, `cairn backup`: what an
//! operator does on the server's own machine, against the same database and store the server
//! uses, with the same settings (`cli::Place`). Each opens the database itself and closes it
//! before it returns, so it runs beside a live server or instead of one.

mod backup;

use std::io::{BufRead, IsTerminal};

use anyhow::{bail, Context};

pub use backup::backup;

use crate::abuse::HashGate;
use crate::cli::{parse_quota, Admin, DeviceCommand, UserCommand};
use crate::db::{ops, users, Db};
use crate::routes::accounts::{check_new_password, check_username, username_key};
use crate::settings::Settings;

/// Runs `cairn admin …`.
pub async fn run(command: Admin, settings: &Settings) -> anyhow::Result<()> {
    match command {
        Admin::User(UserCommand::Add { username }) => {
            let password = password_from_stdin()?;
            let printed = password.is_none();
            let password = password.unwrap_or_else(random_password);
            add_user(settings, &username, &password).await?;
            if printed {
                println!("account {username} added; its password (shown once): {password}");
            } else {
                println!("account {username} added");
            }
        }
        Admin::User(UserCommand::List { json }) => {
            let db = open(settings).await?;
            let accounts = ops::accounts(&db).await?;
            db.pool.close().await;
            if json {
                println!("{}", serde_json::to_string_pretty(&accounts)?);
            } else {
                println!(
                    "{:<24} {:>6} {:>8} {:>14} {:>16}  state",
                    "username", "id", "devices", "used bytes", "quota bytes"
                );
                for a in accounts {
                    let quota = a
                        .quota_bytes
                        .map_or("default".to_owned(), |q| q.to_string());
                    let state = if a.disabled_at.is_some() {
                        "disabled"
                    } else {
                        "active"
                    };
                    println!(
                        "{:<24} {:>6} {:>8} {:>14} {:>16}  {state}",
                        a.username, a.id, a.devices, a.used_bytes, quota
                    );
                }
            }
        }
        Admin::User(UserCommand::Quota { username, quota }) => {
            let bytes = parse_quota(&quota)?;
            let db = open(settings).await?;
            let id = user(&db, &username).await?;
            ops::set_quota(&db, id, bytes).await?;
            db.pool.close().await;
            match bytes {
                Some(b) => println!("{username}: quota {b} bytes"),
                None => println!(
                    "{username}: the server's default quota ({} bytes)",
                    settings.quota_bytes
                ),
            }
        }
        Admin::User(UserCommand::Disable { username }) => {
            let db = open(settings).await?;
            let id = user(&db, &username).await?;
            let signed_out = ops::set_disabled(&db, id, true).await?;
            db.pool.close().await;
            tracing::info!(user_id = id, signed_out, "account disabled by the operator");
            println!("{username} disabled; {signed_out} device(s) signed out");
        }
        Admin::User(UserCommand::Enable { username }) => {
            let db = open(settings).await?;
            let id = user(&db, &username).await?;
            ops::set_disabled(&db, id, false).await?;
            db.pool.close().await;
            println!("{username} enabled");
        }
        Admin::Device(DeviceCommand::List { username }) => {
            let db = open(settings).await?;
            let id = user(&db, &username).await?;
            let devices = ops::devices_of(&db, id).await?;
            db.pool.close().await;
            println!(
                "{:>6}  {:<32} {:>15}  state",
                "id", "name", "last seen (ms)"
            );
            for (id, name, seen, revoked) in devices {
                let state = if revoked.is_some() {
                    "signed out"
                } else {
                    "active"
                };
                println!("{id:>6}  {name:<32} {seen:>15}  {state}");
            }
        }
        Admin::Device(DeviceCommand::Revoke { device_id }) => {
            let db = open(settings).await?;
            let Some(owner) = ops::device_owner(&db, device_id).await? else {
                bail!("there is no device {device_id}");
            };
            let done = users::revoke_device(&db, owner, device_id).await?;
            db.pool.close().await;
            if done {
                println!("device {device_id} signed out");
            } else {
                println!("device {device_id} was already signed out");
            }
        }
    }
    Ok(())
}

/// `cairn stats`.
pub async fn stats(settings: &Settings, json: bool) -> anyhow::Result<()> {
    let db = open(settings).await?;
    let s = ops::stats(&db, crate::clock::Clock::system().now_ms()).await?;
    db.pool.close().await;
    if json {
        let mut v = serde_json::to_value(&s)?;
        v["dedup_ratio"] = serde_json::json!(s.dedup_ratio());
        println!("{v}");
    } else {
        println!("users          {}", s.users);
        println!("devices        {} signed in", s.devices);
        println!("files          {} ({} folders)", s.files, s.folders);
        println!("versions       {}", s.versions);
        println!("logical bytes  {}", s.logical_bytes);
        println!("stored bytes   {} in {} chunks", s.stored_bytes, s.chunks);
        println!("dedup ratio    {:.2}", s.dedup_ratio());
        println!("uploads open   {}", s.uploads_open);
    }
    Ok(())
}

/// `cairn migrate`: opening the database applies what is pending.
pub async fn migrate(settings: &Settings) -> anyhow::Result<()> {
    let db = open(settings).await?;
    db.pool.close().await;
    println!("the database is up to date");
    Ok(())
}

/// `cairn gc`: one pass of the collector over the store the settings name.
pub async fn gc(mut settings: Settings) -> anyhow::Result<()> {
    // This process does its one pass and nothing on a timer.
    settings.gc_interval = std::time::Duration::ZERO;
    settings.scrub_interval = std::time::Duration::ZERO;
    let state = crate::build_state(settings).await?;
    let r = crate::gc::collect(&state).await?;
    if r.busy {
        println!("another node or process is collecting now: this pass did nothing");
        return Ok(());
    }
    println!(
        "uploads expired {}, trash items emptied {}, versions pruned {}, chunks deleted {}",
        r.uploads_expired, r.trash_emptied, r.versions_pruned, r.chunks_deleted
    );
    Ok(())
}

/// Creates the account `username` with `password` in the database `settings` name.
pub async fn add_user(settings: &Settings, username: &str, password: &str) -> anyhow::Result<()> {
    check_username(username).map_err(|e| anyhow::anyhow!("{e}"))?;
    check_new_password(password).map_err(|e| anyhow::anyhow!("{e}"))?;
    let db = open(settings).await?;
    let gate = HashGate::new(1);
    let hash = crate::auth::hash_password(&gate, password.to_owned())
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let created =
        users::create_account_with(&db, username, &username_key(username), &hash, None).await?;
    db.pool.close().await;
    match created {
        Some(account) => {
            tracing::info!(user_id = account.user_id, "account added by the operator");
            Ok(())
        }
        None => bail!("the username {username} is taken (in some case)"),
    }
}

/// The database the settings name (its migrations applied).
async fn open(settings: &Settings) -> anyhow::Result<Db> {
    std::fs::create_dir_all(&settings.data_dir).with_context(|| {
        format!(
            "cannot create the data directory {}",
            settings.data_dir.display()
        )
    })?;
    Db::connect(&settings.database_url()).await
}

async fn user(db: &Db, username: &str) -> anyhow::Result<i64> {
    ops::user_id(db, &username_key(username))
        .await?
        .with_context(|| format!("there is no account {username}"))
}

fn password_from_stdin() -> anyhow::Result<Option<String>> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        return Ok(None);
    }
    let mut line = String::new();
    stdin.lock().read_line(&mut line)?;
    let line = line.trim_end_matches(['\r', '\n']).to_owned();
    Ok((!line.is_empty()).then_some(line))
}

/// 20 characters from an unambiguous alphabet: about 110 bits.
fn random_password() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rngs::OsRng;
    (0..20)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}
