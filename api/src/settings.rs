//! How an operator configures Cairn: defaults that run with no outside service, overridden by
//! `CAIRN_*` environment variables, overridden in turn by command-line flags.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};
use std::num::NonZeroU32;

use crate::abuse::{Guards, HashGate, KeyedLimiter, RateSpec, TrustedProxy, MAX_KEYS};

/// Where the certificate chain and its key are (PEM).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

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
    /// Serve HTTPS (and HTTP/2) with this PEM certificate chain and private key. Unset: plain
    /// HTTP/1.1, for loopback or behind a TLS-terminating proxy. `CAIRN_TLS_CERT` and
    /// `CAIRN_TLS_KEY`, `--tls-cert` and `--tls-key`; both or neither.
    pub tls: Option<TlsFiles>,
    /// How long a signed chunk URL works. Keep it to minutes: a PUT URL can be replayed until
    /// it expires. `CAIRN_URL_TTL_SECS`.
    pub url_ttl: Duration,
    /// How long an unfinished upload session is kept. `CAIRN_UPLOAD_TTL_SECS`.
    pub upload_ttl: Duration,
    /// Bytes a user may hold on the server unless the user's row sets its own: the current
    /// versions of files (trash included), the old versions kept, and the chunks open uploads
    /// may still send, together (`db::usage`). Default 1 TiB; `CAIRN_QUOTA_BYTES`.
    pub quota_bytes: u64,
    /// Where chunk bytes live: `None` = the local chunk directory under `data_dir` (the
    /// embedded default); `Some` = an S3-compatible bucket (Garage, AWS, MinIO…), chosen by
    /// setting `CAIRN_S3_BUCKET`.
    pub s3: Option<S3Settings>,
    /// Old versions (not the current one of a file) younger than this keep their chunks; older
    /// ones are pruned by the collector with the chunks nothing else uses. Default 30 days;
    /// `CAIRN_VERSION_RETENTION_SECS`.
    pub version_retention: Duration,
    /// Whether anyone may create an account (`POST /api/v1/accounts`). Closed, sign-up answers
    /// 403 `signup_closed` and the operator adds accounts with `cairn admin user add <name>`.
    /// Default open; `CAIRN_SIGNUP=open|closed`.
    pub signup_open: bool,
    /// How long an item stays in the trash before the collector purges it for good (freeing
    /// its quota, and its chunks if nothing else uses them). `0` keeps the trash until it is
    /// emptied by hand. Default 30 days; `CAIRN_TRASH_RETENTION_SECS`.
    pub trash_retention: Duration,
    /// The most old versions kept per file, newest first (on top of the time limit,
    /// `version_retention`); `0` sets no count limit. Default 100; `CAIRN_VERSION_KEEP`.
    pub version_keep: usize,
    /// How often the background collector expires abandoned uploads (and their staged
    /// objects) and deletes unreferenced chunks. Default 10 minutes; `0` turns it off.
    /// `CAIRN_GC_INTERVAL_SECS`.
    pub gc_interval: Duration,
    /// How often the server reads every stored chunk back to find rot early (`scrub`; the
    /// first pass one interval after start). Default 7 days; `0` turns it off (`cairn scrub`
    /// still runs one pass by hand). `CAIRN_SCRUB_INTERVAL_SECS`.
    pub scrub_interval: Duration,
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
    /// Unfinished uploads one account may have open at once; the next is refused with 409
    /// `too_many_uploads` until one is committed, cancelled or expires. The web app keeps a
    /// few per device open, so the default leaves room for many devices. Default 256;
    /// `CAIRN_MAX_OPEN_UPLOADS`.
    pub max_open_uploads: usize,
    /// Chunk entries per part of a manifest sent in parts (`POST /api/v1/manifests`), 1 to
    /// 16,384; each draft keeps the value it was made with. At the default 8,192 a part is
    /// about 1 MB of JSON and a 10 GiB file's manifest goes in two. Lower it only to test the
    /// parts with small files. Default 8192; `CAIRN_MANIFEST_PART_CHUNKS`.
    pub manifest_part_chunks: u32,
    /// The bearer token `GET /metrics` requires. Unset (the default), `/metrics` answers 404:
    /// its series say how the server is used and it is cheap to ask for often. At least 16
    /// characters; never printed. `CAIRN_METRICS_TOKEN`.
    pub metrics_token: Option<String>,
    /// A second address that serves `GET /metrics` alone, without a token: for a private
    /// network or loopback where a Prometheus scrapes. Unset by default. `CAIRN_METRICS_ADDR`.
    pub metrics_addr: Option<SocketAddr>,
    /// Sign-in attempts one client address may make (IPv6: one /64). Default `20/60` (a
    /// bucket of 20, one back every 3 s). `CAIRN_SIGNIN_RATE_PER_IP`, `count/seconds`.
    pub signin_rate_per_ip: RateSpec,
    /// Sign-up attempts one client address may make. Default `10/3600`.
    /// `CAIRN_SIGNUP_RATE_PER_IP`.
    pub signup_rate_per_ip: RateSpec,
    /// Sign-in and sign-up attempts naming one username (any case), whoever makes them and
    /// whether it exists or not. Default `10/600` (one guess a minute after a burst of 10);
    /// a flood of wrong passwords can then hold the owner off for minutes, never for good.
    /// `CAIRN_ACCOUNT_RATE`.
    pub account_rate: RateSpec,
    /// Requests to share links' public routes (pages, listings, downloads, uploads) one client
    /// address may make. Default `6000/60`: a browser fetches a limited link's file one chunk per
    /// request, so a few GiB take thousands. `CAIRN_PUBLIC_RATE_PER_IP`.
    pub public_rate_per_ip: RateSpec,
    /// Requests one share link answers, from everyone together. Default `30000/60`.
    /// `CAIRN_PUBLIC_RATE_PER_LINK`.
    pub public_rate_per_link: RateSpec,
    /// Password attempts on one share link, from everyone together (per client address they
    /// also spend `signin_rate_per_ip`). Default `10/600`. `CAIRN_LINK_PASSWORD_RATE`.
    pub link_password_rate: RateSpec,
    /// Believe a forwarding header for the client address, only from these proxies. Unset
    /// (the default), the TCP peer is the client. `CAIRN_TRUSTED_PROXY_HEADER` (e.g.
    /// `x-forwarded-for`) together with `CAIRN_TRUSTED_PROXIES` (comma-separated addresses
    /// or CIDR blocks of the proxies themselves). Behind a proxy without this, every client
    /// shares the proxy's address and its limits.
    pub trusted_proxy: Option<TrustedProxy>,
    /// Password hashes (argon2id, ~19 MiB each) that run at once; a few more requests wait,
    /// the rest get 503 `backoff`. Default: the number of cores.
    /// `CAIRN_PASSWORD_HASH_CONCURRENCY`.
    pub password_hash_concurrency: usize,
    /// How long a revoked device's row is kept before it is deleted (if no version names it
    /// as its author; those stay, as version lists show their name). Default 30 days;
    /// `CAIRN_DEVICE_RETENTION_SECS`.
    pub device_retention: Duration,
    /// How long an ordinary API request may take, reading its body included; past it the
    /// answer is 408 `timeout`. Event streams, `/blobs/` transfers and whole-file content are
    /// exempt (they are long by nature); for a commit or an upload resume only reading the body
    /// counts, because on S3 verifying the staged chunks takes time in proportion to the upload.
    /// Default 30 s; `CAIRN_REQUEST_TIMEOUT_SECS`.
    pub request_timeout: Duration,
    /// How long a connection may take to send a request's head (line and headers), and how
    /// long an idle keep-alive connection stays open; past it the connection is closed, so
    /// a client that trickles its headers (slowloris) cannot hold a connection for good.
    /// Default 30 s; `CAIRN_HEADER_READ_TIMEOUT_SECS`.
    pub header_read_timeout: Duration,
    /// Event streams one user may hold open at once on one API node (all devices together);
    /// the next is answered 429 `rate_limited` with Retry-After. Counted in memory per node.
    /// Default 16; `CAIRN_SSE_MAX_PER_USER`.
    pub sse_max_per_user: usize,
    /// How long a chunk PUT to the local store may wait for the next piece of its body before
    /// it is cut off with 408 `timeout` and its temp file removed. Default 30 s;
    /// `CAIRN_BODY_IDLE_SECS`.
    pub body_idle: Duration,
    /// The slowest a chunk PUT body may arrive, in bytes per second: a PUT of `size` bytes has
    /// `body_idle + size / body_min_rate` in all. The default, 8192, gives a 4 MiB chunk about
    /// 9 minutes; lower it if clients upload over very slow links (browsers send six chunks at
    /// once, each getting a sixth of the link). At least 1; `CAIRN_BODY_MIN_RATE`.
    pub body_min_rate: u64,
}

/// An S3-compatible chunk store. Clients PUT and GET chunks straight to the bucket with
/// pre-signed URLs, so the endpoint must be reachable from browsers and the bucket must allow
/// the web app's origin by CORS (methods PUT, GET, HEAD; any header; expose `ETag`).
///
/// Operating advice: give Cairn its own bucket and a key limited to it; nothing but Cairn may
/// write under `chunks/`, because Cairn trusts an object there to hash to its name.
#[derive(Clone)]
pub struct S3Settings {
    /// e.g. `http://127.0.0.1:3900`; `CAIRN_S3_ENDPOINT`. Empty = AWS's regional endpoint.
    pub endpoint: Option<String>,
    /// `CAIRN_S3_BUCKET`.
    pub bucket: String,
    /// `CAIRN_S3_REGION`, default `us-east-1` (Garage's default is `garage`).
    pub region: String,
    /// Bucket in the path (`endpoint/bucket/key`), as Garage and MinIO expect by default.
    /// `CAIRN_S3_PATH_STYLE`, default `true`.
    pub path_style: bool,
    /// `AWS_ACCESS_KEY_ID` (or `CAIRN_S3_ACCESS_KEY_ID`).
    pub access_key_id: String,
    /// `AWS_SECRET_ACCESS_KEY` (or `CAIRN_S3_SECRET_ACCESS_KEY`); never printed.
    pub secret_access_key: String,
    /// Chunks of at most this many bytes are PUT to the API (`/blobs/…`, same origin), which
    /// hashes them and writes them to their content address, instead of to a pre-signed
    /// staging URL on the store: a small file then costs the browser one request without a
    /// CORS preflight and the store one write instead of five operations. `0` sends every
    /// chunk to the store. Default 262,144 (FastCDC's smallest cut, so only files smaller
    /// than one chunk and last chunks); `CAIRN_S3_INLINE_MAX`.
    pub inline_max: u32,
}

/// The default of [`S3Settings::inline_max`].
pub const DEFAULT_INLINE_MAX: u32 = 256 * 1024;

impl std::fmt::Debug for S3Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Settings")
            .field("endpoint", &self.endpoint)
            .field("bucket", &self.bucket)
            .field("region", &self.region)
            .field("path_style", &self.path_style)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"***")
            .field("inline_max", &self.inline_max)
            .finish()
    }
}

/// The quota of a user without one of their own when no setting says otherwise: 1 TiB.
pub const DEFAULT_QUOTA_BYTES: u64 = 1 << 40;

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
            .field("s3", &self.s3)
            .field("version_retention", &self.version_retention)
            .field("trash_retention", &self.trash_retention)
            .field("signup_open", &self.signup_open)
            .field("version_keep", &self.version_keep)
            .field("gc_interval", &self.gc_interval)
            .field("scrub_interval", &self.scrub_interval)
            .field("quota_bytes", &self.quota_bytes)
            .field("change_retention", &self.change_retention)
            .field("feed_max_inflight", &self.feed_max_inflight)
            .field("sse_keepalive", &self.sse_keepalive)
            .field("max_open_uploads", &self.max_open_uploads)
            .field("manifest_part_chunks", &self.manifest_part_chunks)
            .field("metrics_token", &self.metrics_token.as_ref().map(|_| "***"))
            .field("metrics_addr", &self.metrics_addr)
            .field("tls", &self.tls)
            .field("signin_rate_per_ip", &self.signin_rate_per_ip)
            .field("signup_rate_per_ip", &self.signup_rate_per_ip)
            .field("account_rate", &self.account_rate)
            .field("public_rate_per_ip", &self.public_rate_per_ip)
            .field("public_rate_per_link", &self.public_rate_per_link)
            .field("link_password_rate", &self.link_password_rate)
            .field("trusted_proxy", &self.trusted_proxy)
            .field("password_hash_concurrency", &self.password_hash_concurrency)
            .field("device_retention", &self.device_retention)
            .field("request_timeout", &self.request_timeout)
            .field("header_read_timeout", &self.header_read_timeout)
            .field("sse_max_per_user", &self.sse_max_per_user)
            .field("body_idle", &self.body_idle)
            .field("body_min_rate", &self.body_min_rate)
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
            tls: None,
            url_ttl: Duration::from_secs(10 * 60),
            upload_ttl: Duration::from_secs(24 * 3600),
            s3: None,
            version_retention: Duration::from_secs(30 * 24 * 3600),
            trash_retention: Duration::from_secs(30 * 24 * 3600),
            signup_open: true,
            version_keep: 100,
            gc_interval: Duration::from_secs(10 * 60),
            scrub_interval: Duration::from_secs(7 * 24 * 3600),
            quota_bytes: DEFAULT_QUOTA_BYTES,
            change_retention: Duration::from_secs(30 * 24 * 3600),
            feed_max_inflight: 64,
            sse_keepalive: Duration::from_secs(15),
            max_open_uploads: 256,
            manifest_part_chunks: wire::manifest_parts::DEFAULT_PART_CHUNKS,
            metrics_token: None,
            metrics_addr: None,
            signin_rate_per_ip: RateSpec::new(nonzero(20), 60),
            signup_rate_per_ip: RateSpec::new(nonzero(10), 3600),
            account_rate: RateSpec::new(nonzero(10), 600),
            public_rate_per_ip: RateSpec::new(nonzero(6000), 60),
            public_rate_per_link: RateSpec::new(nonzero(30000), 60),
            link_password_rate: RateSpec::new(nonzero(10), 600),
            trusted_proxy: None,
            password_hash_concurrency: std::thread::available_parallelism()
                .map(usize::from)
                .unwrap_or(2),
            device_retention: Duration::from_secs(30 * 24 * 3600),
            request_timeout: Duration::from_secs(30),
            header_read_timeout: Duration::from_secs(30),
            sse_max_per_user: 16,
            body_idle: Duration::from_secs(30),
            body_min_rate: 8192,
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
        s.tls = match (env("CAIRN_TLS_CERT"), env("CAIRN_TLS_KEY")) {
            (Some(cert), Some(key)) => Some(TlsFiles {
                cert: cert.into(),
                key: key.into(),
            }),
            (None, None) => None,
            _ => bail!("CAIRN_TLS_CERT and CAIRN_TLS_KEY go together"),
        };
        if let Some(v) = env("CAIRN_URL_TTL_SECS") {
            s.url_ttl = Duration::from_secs(v.parse().context("CAIRN_URL_TTL_SECS")?);
        }
        if let Some(v) = env("CAIRN_UPLOAD_TTL_SECS") {
            s.upload_ttl = Duration::from_secs(v.parse().context("CAIRN_UPLOAD_TTL_SECS")?);
        }
        if let Some(v) = env("CAIRN_QUOTA_BYTES") {
            s.quota_bytes = v.parse().context("CAIRN_QUOTA_BYTES")?;
        }
        if let Some(v) = env("CAIRN_VERSION_RETENTION_SECS") {
            s.version_retention =
                Duration::from_secs(v.parse().context("CAIRN_VERSION_RETENTION_SECS")?);
        }
        match env("CAIRN_SIGNUP").as_deref() {
            None | Some("open") => {}
            Some("closed") => s.signup_open = false,
            Some(other) => bail!("CAIRN_SIGNUP must be open or closed, not {other}"),
        }
        if let Some(v) = env("CAIRN_TRASH_RETENTION_SECS") {
            s.trash_retention =
                Duration::from_secs(v.parse().context("CAIRN_TRASH_RETENTION_SECS")?);
        }
        if let Some(v) = env("CAIRN_VERSION_KEEP") {
            s.version_keep = v.parse().context("CAIRN_VERSION_KEEP")?;
        }
        if let Some(v) = env("CAIRN_GC_INTERVAL_SECS") {
            s.gc_interval = Duration::from_secs(v.parse().context("CAIRN_GC_INTERVAL_SECS")?);
        }
        if let Some(v) = env("CAIRN_SCRUB_INTERVAL_SECS") {
            s.scrub_interval = Duration::from_secs(v.parse().context("CAIRN_SCRUB_INTERVAL_SECS")?);
        }
        if let Some(bucket) = env("CAIRN_S3_BUCKET") {
            let secret = |a: &str, b: &str| {
                env(a)
                    .or_else(|| env(b))
                    .with_context(|| format!("CAIRN_S3_BUCKET is set, so {b} is needed"))
            };
            s.s3 = Some(S3Settings {
                endpoint: env("CAIRN_S3_ENDPOINT"),
                bucket,
                region: env("CAIRN_S3_REGION").unwrap_or_else(|| "us-east-1".into()),
                path_style: match env("CAIRN_S3_PATH_STYLE").as_deref() {
                    None | Some("1" | "true" | "yes") => true,
                    Some("0" | "false" | "no") => false,
                    Some(other) => bail!("CAIRN_S3_PATH_STYLE must be true or false, not {other}"),
                },
                access_key_id: secret("CAIRN_S3_ACCESS_KEY_ID", "AWS_ACCESS_KEY_ID")?,
                secret_access_key: secret("CAIRN_S3_SECRET_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY")?,
                inline_max: match env("CAIRN_S3_INLINE_MAX") {
                    Some(v) => v.parse().context("CAIRN_S3_INLINE_MAX")?,
                    None => DEFAULT_INLINE_MAX,
                },
            });
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
        if let Some(v) = env("CAIRN_MAX_OPEN_UPLOADS") {
            s.max_open_uploads = v.parse().context("CAIRN_MAX_OPEN_UPLOADS")?;
        }
        if let Some(v) = env("CAIRN_MANIFEST_PART_CHUNKS") {
            let n: u32 = v.parse().context("CAIRN_MANIFEST_PART_CHUNKS")?;
            let max = wire::manifest_parts::MAX_PART_CHUNKS;
            if n == 0 || n > max {
                bail!("CAIRN_MANIFEST_PART_CHUNKS must be 1 to {max}");
            }
            s.manifest_part_chunks = n;
        }
        if let Some(v) = env("CAIRN_METRICS_TOKEN") {
            if v.len() < 16 {
                bail!("CAIRN_METRICS_TOKEN must be at least 16 characters");
            }
            s.metrics_token = Some(v);
        }
        if let Some(v) = env("CAIRN_METRICS_ADDR") {
            s.metrics_addr = Some(v.parse().context("CAIRN_METRICS_ADDR")?);
        }
        let rate = |k: &str| -> anyhow::Result<Option<RateSpec>> {
            env(k)
                .map(|v| {
                    v.parse::<RateSpec>()
                        .map_err(|e| anyhow::anyhow!("{k}: {e}"))
                })
                .transpose()
        };
        if let Some(r) = rate("CAIRN_SIGNIN_RATE_PER_IP")? {
            s.signin_rate_per_ip = r;
        }
        if let Some(r) = rate("CAIRN_SIGNUP_RATE_PER_IP")? {
            s.signup_rate_per_ip = r;
        }
        if let Some(r) = rate("CAIRN_ACCOUNT_RATE")? {
            s.account_rate = r;
        }
        if let Some(r) = rate("CAIRN_PUBLIC_RATE_PER_IP")? {
            s.public_rate_per_ip = r;
        }
        if let Some(r) = rate("CAIRN_PUBLIC_RATE_PER_LINK")? {
            s.public_rate_per_link = r;
        }
        if let Some(r) = rate("CAIRN_LINK_PASSWORD_RATE")? {
            s.link_password_rate = r;
        }
        s.trusted_proxy = trusted_proxy(
            env("CAIRN_TRUSTED_PROXY_HEADER"),
            env("CAIRN_TRUSTED_PROXIES"),
        )?;
        if let Some(v) = env("CAIRN_PASSWORD_HASH_CONCURRENCY") {
            s.password_hash_concurrency = v.parse().context("CAIRN_PASSWORD_HASH_CONCURRENCY")?;
            if s.password_hash_concurrency == 0 {
                bail!("CAIRN_PASSWORD_HASH_CONCURRENCY must be at least 1");
            }
        }
        if let Some(v) = env("CAIRN_DEVICE_RETENTION_SECS") {
            s.device_retention =
                Duration::from_secs(v.parse().context("CAIRN_DEVICE_RETENTION_SECS")?);
        }
        if let Some(v) = env("CAIRN_REQUEST_TIMEOUT_SECS") {
            s.request_timeout =
                Duration::from_secs(v.parse().context("CAIRN_REQUEST_TIMEOUT_SECS")?);
        }
        if let Some(v) = env("CAIRN_HEADER_READ_TIMEOUT_SECS") {
            s.header_read_timeout =
                Duration::from_secs(v.parse().context("CAIRN_HEADER_READ_TIMEOUT_SECS")?);
        }
        if let Some(v) = env("CAIRN_SSE_MAX_PER_USER") {
            s.sse_max_per_user = v.parse().context("CAIRN_SSE_MAX_PER_USER")?;
        }
        if let Some(v) = env("CAIRN_BODY_IDLE_SECS") {
            s.body_idle = Duration::from_secs(v.parse().context("CAIRN_BODY_IDLE_SECS")?);
            if s.body_idle.is_zero() {
                bail!("CAIRN_BODY_IDLE_SECS must be at least 1");
            }
        }
        if let Some(v) = env("CAIRN_BODY_MIN_RATE") {
            s.body_min_rate = v.parse().context("CAIRN_BODY_MIN_RATE")?;
            if s.body_min_rate == 0 {
                bail!("CAIRN_BODY_MIN_RATE must be at least 1 (bytes per second)");
            }
        }
        let mut args = args.into_iter();
        while let Some(flag) = args.next() {
            let mut value = || args.next().with_context(|| format!("{flag} needs a value"));
            match flag.as_str() {
                "--addr" => s.addr = value()?.parse().context("--addr")?,
                "--data-dir" => s.data_dir = value()?.into(),
                "--database-url" => s.database_url = Some(value()?),
                "--www" => s.www_dir = value()?.into(),
                other => bail!("unknown flag {other}; see cairn --help"),
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

const fn nonzero(n: u32) -> NonZeroU32 {
    match NonZeroU32::new(n) {
        Some(n) => n,
        None => panic!("zero"),
    }
}

/// The forwarding header and the proxies allowed to set it: both or neither.
fn trusted_proxy(
    header: Option<String>,
    proxies: Option<String>,
) -> anyhow::Result<Option<TrustedProxy>> {
    let (header, proxies) = match (header, proxies) {
        (None, None) => return Ok(None),
        (Some(h), Some(p)) => (h, p),
        _ => bail!(
            "CAIRN_TRUSTED_PROXY_HEADER and CAIRN_TRUSTED_PROXIES go together: the header is \
             believed only from the listed proxies"
        ),
    };
    let header = header.trim().to_ascii_lowercase();
    axum::http::HeaderName::from_bytes(header.as_bytes())
        .with_context(|| format!("CAIRN_TRUSTED_PROXY_HEADER: {header:?} is no header name"))?;
    let proxies = proxies
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            p.parse::<ipnet::IpNet>()
                .or_else(|_| p.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .with_context(|| format!("CAIRN_TRUSTED_PROXIES: {p:?} is no address or CIDR"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    if proxies.is_empty() {
        bail!("CAIRN_TRUSTED_PROXIES lists no proxy");
    }
    Ok(Some(TrustedProxy { header, proxies }))
}

/// The settings only the environment holds, for `cairn --help`.
pub const ENV_HELP: &str = "Settings the environment alone holds: CAIRN_URL_TTL_SECS (signed URL lifetime, default 600) and CAIRN_UPLOAD_TTL_SECS (86400),
CAIRN_VERSION_RETENTION_SECS (old versions kept, default 30 days), CAIRN_VERSION_KEEP (100 old
versions per file), CAIRN_TRASH_RETENTION_SECS (30 days), CAIRN_GC_INTERVAL_SECS (600),
CAIRN_SIGNUP (open; closed: accounts only through `cairn admin user add`),
CAIRN_QUOTA_BYTES (default per-user quota, 1099511627776 = 1 TiB),
CAIRN_CHANGE_RETENTION_SECS (change-log retention, 2592000), CAIRN_FEED_MAX_INFLIGHT (64)
and CAIRN_SSE_KEEPALIVE_SECS (15).
Limits: CAIRN_REQUEST_TIMEOUT_SECS (30), CAIRN_HEADER_READ_TIMEOUT_SECS (30),
CAIRN_SSE_MAX_PER_USER (16 open event streams per user and node).

Abuse limits: CAIRN_SIGNIN_RATE_PER_IP (20/60), CAIRN_SIGNUP_RATE_PER_IP (10/3600),
CAIRN_ACCOUNT_RATE (10/600), CAIRN_PASSWORD_HASH_CONCURRENCY (cores),
CAIRN_TRUSTED_PROXY_HEADER with CAIRN_TRUSTED_PROXIES (unset: the TCP peer is the client),
CAIRN_METRICS_TOKEN (unset: /metrics is off), CAIRN_DEVICE_RETENTION_SECS (2592000).
Operations: CAIRN_METRICS_ADDR (a second listener serving /metrics alone, without a token;
unset by default), CAIRN_LOG_FORMAT (text or json; json writes one object a line, with the
request id of every line logged while answering a request), RUST_LOG (info,sqlx=warn).
A chunk PUT to the local store may wait CAIRN_BODY_IDLE_SECS (30) for each piece of its body
and must arrive at CAIRN_BODY_MIN_RATE (8192) bytes per second or faster.

Chunks go to a local directory unless CAIRN_S3_BUCKET is set; then CAIRN_S3_ENDPOINT,
CAIRN_S3_REGION (us-east-1), CAIRN_S3_PATH_STYLE (true) and the credentials
AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY choose the S3-compatible store. Chunks of at most
CAIRN_S3_INLINE_MAX (262144) bytes are sent through the API instead of to the store (0: none).";

impl Settings {
    /// The abuse guards these settings call for.
    pub fn guards(&self) -> Guards {
        Guards {
            signin_per_ip: KeyedLimiter::new(self.signin_rate_per_ip, MAX_KEYS),
            signup_per_ip: KeyedLimiter::new(self.signup_rate_per_ip, MAX_KEYS),
            per_account: KeyedLimiter::new(self.account_rate, MAX_KEYS),
            public_per_ip: KeyedLimiter::new(self.public_rate_per_ip, MAX_KEYS),
            public_per_link: KeyedLimiter::new(self.public_rate_per_link, MAX_KEYS),
            link_password: KeyedLimiter::new(self.link_password_rate, MAX_KEYS),
            hashes: HashGate::new(self.password_hash_concurrency),
        }
    }
}

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
        let s3 = S3Settings {
            endpoint: None,
            bucket: "b".into(),
            region: "r".into(),
            path_style: true,
            access_key_id: "id".into(),
            secret_access_key: "hunter22".into(),
            inline_max: 0,
        };
        assert!(!format!("{s3:?}").contains("hunter22"));
    }

    #[test]
    fn trusted_proxies_come_with_their_header_and_the_metrics_token_is_hidden() {
        assert!(trusted_proxy(None, None).unwrap().is_none());
        assert!(trusted_proxy(Some("x-forwarded-for".into()), None).is_err());
        assert!(trusted_proxy(None, Some("10.0.0.1".into())).is_err());
        assert!(trusted_proxy(Some("x-forwarded-for".into()), Some(" , ".into())).is_err());
        assert!(trusted_proxy(Some("x-forwarded-for".into()), Some("10.0.0.0/33".into())).is_err());
        assert!(trusted_proxy(Some("bad header".into()), Some("10.0.0.1".into())).is_err());
        let p = trusted_proxy(
            Some("X-Forwarded-For".into()),
            Some("10.0.0.0/8, 192.0.2.7,::1".into()),
        )
        .unwrap()
        .unwrap();
        assert_eq!(p.header, "x-forwarded-for");
        assert_eq!(p.proxies.len(), 3);
        let s = Settings {
            metrics_token: Some("hunter22hunter22hunter22".into()),
            ..Settings::default()
        };
        assert!(!format!("{s:?}").contains("hunter22"));
    }
}
