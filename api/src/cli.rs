//! The `cairn` command line, parsed by clap: serving is the default, and the rest is what an
//! operator runs on the server's machine against the same database and store. Every command
//! takes the same four flags, each over its `CAIRN_*` environment twin, and the rest of the
//! settings from the environment alone (`Settings::load`), so `cairn gc` beside a running
//! server finds exactly what it uses. The environment is read by `Settings::load`, not clap:
//! there an empty variable counts as unset, as it always has.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::settings::{Settings, ENV_HELP};

#[derive(Debug, Parser)]
#[command(name = "cairn", version, about = "File storage and sync for the browser.",
    after_help = ENV_HELP)]
pub struct Cli {
    #[command(flatten)]
    pub place: Place,
    /// How log lines are written: `text` for people, `json` for collectors (one object a line,
    /// with the request id of each line logged while answering a request) [default: text]
    /// [env: CAIRN_LOG_FORMAT]
    #[arg(long, global = true, value_name = "FORMAT")]
    pub log_format: Option<LogFormat>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

impl Cli {
    /// The flag, else `CAIRN_LOG_FORMAT` (empty counts as unset), else text.
    pub fn log_format(&self) -> anyhow::Result<LogFormat> {
        if let Some(f) = self.log_format {
            return Ok(f);
        }
        match std::env::var("CAIRN_LOG_FORMAT").unwrap_or_default().trim() {
            "" | "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            other => anyhow::bail!("CAIRN_LOG_FORMAT must be text or json, not {other}"),
        }
    }
}

/// Where the server listens and what it keeps.
#[derive(Debug, Args)]
pub struct Place {
    /// Where to listen [default: 127.0.0.1:8080] [env: CAIRN_ADDR]
    #[arg(long, global = true, value_name = "ADDR")]
    pub addr: Option<SocketAddr>,
    /// The SQLite file, the chunk directory and the URL-signing key [default: ./data]
    /// [env: CAIRN_DATA_DIR]
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// `sqlite://…` or `postgres://…` [default: sqlite://<data-dir>/cairn.db]
    /// [env: CAIRN_DATABASE_URL]
    #[arg(long, global = true, value_name = "URL")]
    pub database_url: Option<String>,
    /// The static web app [default: www/ of the source tree] [env: CAIRN_WWW]
    #[arg(long, global = true, value_name = "DIR")]
    pub www: Option<PathBuf>,
    /// Serve HTTPS and HTTP/2 with this PEM certificate chain (with --tls-key)
    /// [env: CAIRN_TLS_CERT]
    #[arg(long, global = true, value_name = "PEM", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The certificate's PEM private key [env: CAIRN_TLS_KEY]
    #[arg(long, global = true, value_name = "PEM", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
}

impl Place {
    /// The settings: defaults, then the environment, then these flags.
    pub fn settings(&self) -> anyhow::Result<Settings> {
        let mut s = Settings::load(Vec::new())?;
        if let Some(a) = self.addr {
            s.addr = a;
        }
        if let Some(d) = &self.data_dir {
            s.data_dir = d.clone();
        }
        if let Some(u) = &self.database_url {
            s.database_url = Some(u.clone());
        }
        if let Some(w) = &self.www {
            s.www_dir = w.clone();
        }
        if let (Some(cert), Some(key)) = (&self.tls_cert, &self.tls_key) {
            s.tls = Some(crate::settings::TlsFiles {
                cert: cert.clone(),
                key: key.clone(),
            });
        }
        Ok(s)
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API and the web app (what `cairn` alone does)
    Serve,
    /// Accounts and devices
    #[command(subcommand)]
    Admin(Admin),
    /// One pass of the collector: expire abandoned uploads, empty old trash, prune old
    /// versions, delete chunks nothing uses
    Gc,
    /// Read every stored chunk back and check its hash; exits 1 and lists the damage
    Scrub,
    /// Users, devices, files, logical and stored bytes, and the dedup ratio
    Stats {
        /// One JSON object instead of lines of text
        #[arg(long)]
        json: bool,
    },
    /// Copy the database (SQLite: an online snapshot; PostgreSQL: pg_dump) and the local chunk
    /// store into a new directory, checked complete; serve it with `--data-dir` to restore
    Backup {
        /// A directory that does not exist yet
        to: PathBuf,
    },
    /// Apply the pending database migrations and exit
    Migrate,
}

#[derive(Debug, Subcommand)]
pub enum Admin {
    /// Add, list, set quotas of, disable and enable accounts
    #[command(subcommand)]
    User(UserCommand),
    /// List and sign out devices
    #[command(subcommand)]
    Device(DeviceCommand),
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add an account: its password comes from the first line of standard input when that is
    /// not a terminal (`echo "$PASSWORD" | cairn admin user add alice`), else a random one is
    /// made and printed once. It has no device until its owner signs in
    Add { username: String },
    /// Every account with its devices, use, quota and state
    List {
        /// A JSON array instead of a table
        #[arg(long)]
        json: bool,
    },
    /// Set an account's quota: bytes, with an optional K, M, G or T (powers of 1,024), or
    /// `default` for the server's (CAIRN_QUOTA_BYTES)
    Quota { username: String, quota: String },
    /// Refuse the account's sign-ins and sign out every one of its devices; its files stay
    Disable { username: String },
    /// Let a disabled account sign in again
    Enable { username: String },
}

#[derive(Debug, Subcommand)]
pub enum DeviceCommand {
    /// An account's devices, signed out ones included
    List { username: String },
    /// Sign a device out: its token fails from its next request on
    Revoke { device_id: i64 },
}

/// `10G` → 10 × 1024³; `default` → `None`.
pub fn parse_quota(s: &str) -> anyhow::Result<Option<i64>> {
    if s.eq_ignore_ascii_case("default") {
        return Ok(None);
    }
    let s = s.trim();
    let (digits, shift) = match s.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let shift = match c.to_ascii_uppercase() {
                'K' => 10,
                'M' => 20,
                'G' => 30,
                'T' => 40,
                _ => anyhow::bail!("a quota's unit is K, M, G or T, not {c}"),
            };
            (&s[..i], shift)
        }
        _ => (s, 0),
    };
    let n: u64 = digits
        .trim()
        .parse()
        .map_err(|_| anyhow::anyhow!("a quota is a whole number of bytes (or `default`): {s:?}"))?;
    n.checked_shl(shift)
        .filter(|b| b >> shift == n && *b <= i64::MAX as u64)
        .map(|b| Some(b as i64))
        .ok_or_else(|| anyhow::anyhow!("the quota {s} is too large"))
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[test]
    fn quotas_read_as_operators_write_them() {
        assert_eq!(parse_quota("default").unwrap(), None);
        assert_eq!(parse_quota("1024").unwrap(), Some(1024));
        assert_eq!(parse_quota("10G").unwrap(), Some(10 << 30));
        assert_eq!(parse_quota("2t").unwrap(), Some(2 << 40));
        for bad in ["", "G", "-1", "1.5G", "3X", "99999999999T"] {
            assert!(parse_quota(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn flags_go_before_or_after_the_command() {
        let cli = Cli::try_parse_from([
            "cairn",
            "admin",
            "user",
            "add",
            "ann",
            "--data-dir",
            "/srv/c",
        ])
        .unwrap();
        assert_eq!(cli.place.data_dir, Some(PathBuf::from("/srv/c")));
        assert!(matches!(
            cli.command,
            Some(Command::Admin(Admin::User(UserCommand::Add { .. })))
        ));
        let cli = Cli::try_parse_from(["cairn", "--addr", "127.0.0.1:0"]).unwrap();
        assert!(cli.command.is_none());
        assert!(Cli::try_parse_from(["cairn", "--nonsense"]).is_err());
    }
}
