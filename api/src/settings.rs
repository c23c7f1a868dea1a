//! How an operator configures Cairn: defaults that run with no outside service, overridden by
//! `CAIRN_*` environment variables, overridden in turn by command-line flags.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};

#[derive(Clone)]
pub struct Settings {
    /// Where to listen. Default `127.0.0.1:8080`; `CAIRN_ADDR`, `--addr`.
    pub addr: SocketAddr,
    /// Local state: the SQLite file, the chunk directory, the URL-signing key.
    /// Default `./data`; `CAIRN_DATA_DIR`, `--data-dir`.
    pub data_dir: PathBuf,
    /// Metadata database. Default `sqlite://<data_dir>/cairn.db`; `postgres://…` scales out.
    /// `CAIRN_DATABASE_URL`, `--database-url`.
    pub database_url: Option<String>,
    /// The static web app. Default: the `www/` folder of this source tree; `CAIRN_WWW`, `--www`.
    pub www_dir: PathBuf,
    /// How long a signed chunk URL works. Keep it to minutes: a PUT URL can be replayed until
    /// it expires. `CAIRN_URL_TTL_SECS`.
    pub url_ttl: Duration,
    /// How long an unfinished upload session is kept. `CAIRN_UPLOAD_TTL_SECS`.
    pub upload_ttl: Duration,
    /// How long change-log entries are kept. A device offline for longer gets `cursor_reset`
    /// and re-lists its tree, so keep this above the longest offline period you expect.
    /// Default 30 days; `CAIRN_CHANGE_RETENTION_SECS`.
    pub change_retention: Duration,
    /// Change-feed reads served at once; more are answered 503 `backoff` with Retry-After.
    /// Default 64; `CAIRN_FEED_MAX_INFLIGHT`.
    pub feed_max_inflight: usize,
    /// Keep-alive comment interval on SSE streams (proxies drop idle connections).
    /// Default 15 s; `CAIRN_SSE_KEEPALIVE_SECS`.
    pub sse_keepalive: Duration,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Database URLs may carry passwords.
        f.debug_struct("Settings")
            .field("addr", &self.addr)
            .field("data_dir", &self.data_dir)
            .field(
                "database_url",
                &self.database_url.as_ref().map(|u| redact(u)),
            )
            .field("www_dir", &self.www_dir)
            .field("url_ttl", &self.url_ttl)
            .field("upload_ttl", &self.upload_ttl)
            .field("change_retention", &self.change_retention)
            .field("feed_max_inflight", &self.feed_max_inflight)
            .field("sse_keepalive", &self.sse_keepalive)
            .finish()
    }
}

fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://***{}", &url[..s], &url[at..]),
        _ => url.to_owned(),
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("data"),
            database_url: None,
            www_dir: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../www")),
            url_ttl: Duration::from_secs(10 * 60),
            upload_ttl: Duration::from_secs(24 * 3600),
            change_retention: Duration::from_secs(30 * 24 * 3600),
            feed_max_inflight: 64,
            sse_keepalive: Duration::from_secs(15),
        }
    }
}

impl Settings {
    /// Defaults, then the environment, then `args` (without the program name).
    pub fn load(args: impl IntoIterator<Item = String>) -> anyhow::Result<Settings> {
        let mut s = Settings::default();
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        if let Some(v) = env("CAIRN_ADDR") {
            s.addr = v.parse().context("CAIRN_ADDR")?;
        }
        if let Some(v) = env("CAIRN_DATA_DIR") {
            s.data_dir = v.into();
        }
        s.database_url = env("CAIRN_DATABASE_URL");
        if let Some(v) = env("CAIRN_WWW") {
            s.www_dir = v.into();
        }
        if let Some(v) = env("CAIRN_URL_TTL_SECS") {
            s.url_ttl = Duration::from_secs(v.parse().context("CAIRN_URL_TTL_SECS")?);
        }
        if let Some(v) = env("CAIRN_UPLOAD_TTL_SECS") {
            s.upload_ttl = Duration::from_secs(v.parse().context("CAIRN_UPLOAD_TTL_SECS")?);
        }
        if let Some(v) = env("CAIRN_CHANGE_RETENTION_SECS") {
            s.change_retention =
                Duration::from_secs(v.parse().context("CAIRN_CHANGE_RETENTION_SECS")?);
        }
        if let Some(v) = env("CAIRN_FEED_MAX_INFLIGHT") {
            s.feed_max_inflight = v.parse().context("CAIRN_FEED_MAX_INFLIGHT")?;
        }
        if let Some(v) = env("CAIRN_SSE_KEEPALIVE_SECS") {
            s.sse_keepalive = Duration::from_secs(v.parse().context("CAIRN_SSE_KEEPALIVE_SECS")?);
        }
        let mut args = args.into_iter();
        while let Some(flag) = args.next() {
            let mut value = || args.next().with_context(|| format!("{flag} needs a value"));
            match flag.as_str() {
                "--addr" => s.addr = value()?.parse().context("--addr")?,
                "--data-dir" => s.data_dir = value()?.into(),
                "--database-url" => s.database_url = Some(value()?),
                "--www" => s.www_dir = value()?.into(),
                "-h" | "--help" => {
                    println!("{}", HELP);
                    std::process::exit(0);
                }
                other => bail!("unknown flag {other}; see --help"),
            }
        }
        Ok(s)
    }

    pub fn database_url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| {
            format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("cairn.db").display()
            )
        })
    }
}

const HELP: &str = "cairn — file storage and sync for the browser

USAGE: cairn [--addr 127.0.0.1:8080] [--data-dir ./data] [--database-url URL] [--www DIR]

Every flag has an environment twin: CAIRN_ADDR, CAIRN_DATA_DIR, CAIRN_DATABASE_URL, CAIRN_WWW.
Also CAIRN_URL_TTL_SECS (signed URL lifetime, default 600), CAIRN_UPLOAD_TTL_SECS (86400),
CAIRN_CHANGE_RETENTION_SECS (change-log retention, 2592000), CAIRN_FEED_MAX_INFLIGHT (64)
and CAIRN_SSE_KEEPALIVE_SECS (15).";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_defaults_and_debug_hides_passwords() {
        let s = Settings::load(
            [
                "--addr",
                "127.0.0.1:0",
                "--database-url",
                "postgres://u:secret@h/db",
            ]
            .map(String::from),
        )
        .unwrap();
        assert_eq!(s.addr.port(), 0);
        let shown = format!("{s:?}");
        assert!(!shown.contains("secret"), "{shown}");
    }
}
