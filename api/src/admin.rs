//! `cairn admin …`: what an operator does on the server's own machine, against the same
//! database the server uses — today, adding accounts, the way in when sign-up is closed
//! (`CAIRN_SIGNUP=closed`). It reads the same settings (environment, then flags) as `cairn`.

use std::io::{BufRead, IsTerminal};

use anyhow::{bail, Context};

use crate::abuse::HashGate;
use crate::db::{users, Db};
use crate::routes::accounts::{check_new_password, check_username, username_key};
use crate::settings::Settings;

pub const USAGE: &str = "cairn admin user add <username> [--data-dir DIR] [--database-url URL]

  Adds an account. The password is read from the first line of standard input when it is not
  a terminal (`echo \"$PASSWORD\" | cairn admin user add alice`); otherwise a random one is made
  and printed once. The account has no device until its owner signs in.";

/// Runs `cairn admin <args>` (the words after `admin`).
pub async fn run(args: Vec<String>) -> anyhow::Result<()> {
    let (command, flags): (Vec<String>, Vec<String>) = {
        let split = args
            .iter()
            .position(|a| a.starts_with("--"))
            .unwrap_or(args.len());
        (args[..split].to_vec(), args[split..].to_vec())
    };
    match command.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["user", "add", username] => {
            let settings = Settings::load(flags)?;
            let password = password_from_stdin()?;
            let printed = password.is_none();
            let password = password.unwrap_or_else(random_password);
            add_user(&settings, username, &password).await?;
            if printed {
                println!("account {username} added; its password (shown once): {password}");
            } else {
                println!("account {username} added");
            }
            Ok(())
        }
        _ => bail!("unknown admin command\n\n{USAGE}"),
    }
}

/// Creates the account `username` with `password` in the database `settings` name.
pub async fn add_user(settings: &Settings, username: &str, password: &str) -> anyhow::Result<()> {
    check_username(username).map_err(|e| anyhow::anyhow!("{e}"))?;
    check_new_password(password).map_err(|e| anyhow::anyhow!("{e}"))?;
    std::fs::create_dir_all(&settings.data_dir).with_context(|| {
        format!(
            "cannot create the data directory {}",
            settings.data_dir.display()
        )
    })?;
    let db = Db::connect(&settings.database_url()).await?;
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
