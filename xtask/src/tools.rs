//! Installing what the tests need on a fresh Debian machine, and skipping what is there.
//! Every install either succeeds or fails the run: nothing is skipped silently, with or
//! without `CI=true`.

use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::sh;

pub fn setup_for_tests() -> Result<()> {
    sh::step("tools", || {
        ensure_wasm_target()?;
        ensure_chromium()?;
        ensure_cli_tools()?;
        ensure_npm_packages()?;
        ensure_garage()?;
        ensure_nginx()?;
        ensure_postgres()
    })
}

/// nginx from Debian's package for the reverse-proxy test: `NGINX_BIN`, `nginx` on the PATH, or
/// the package unpacked (`apt-get download` + `dpkg -x`, not installed: no service starts,
/// nothing listens on port 80) under `~/.cache/cairn-tools/nginx`.
pub fn ensure_nginx() -> Result<std::path::PathBuf> {
    debian_tool("nginx", "NGINX_BIN", &["-v"], "usr/sbin/nginx")
}

/// rclone from Debian's package, with its defaults the yardstick of `bench-small-files`:
/// `RCLONE_BIN`, `rclone` on the PATH, or the package unpacked under
/// `~/.cache/cairn-tools/rclone` (one static binary; nothing to install as root).
pub fn ensure_rclone() -> Result<std::path::PathBuf> {
    debian_tool("rclone", "RCLONE_BIN", &["version"], "usr/bin/rclone")
}

/// A program of Debian's package `package`: the path in `env`, the program on the PATH when
/// `<name> <probe>` runs, or the package unpacked (not installed) under
/// `~/.cache/cairn-tools/<package>`, where `bin` is its path inside the package.
fn debian_tool(package: &str, env: &str, probe: &[&str], bin: &str) -> Result<std::path::PathBuf> {
    if let Some(p) = std::env::var_os(env) {
        return Ok(p.into());
    }
    let name = Path::new(bin)
        .file_name()
        .context("a tool path without a name")?;
    let name = name.to_str().context("a non-UTF-8 tool name")?;
    if sh::succeeds(name, probe) {
        return Ok(name.into());
    }
    let home = std::env::var_os("HOME").context("HOME is not set")?;
    let dir = std::path::PathBuf::from(home)
        .join(".cache/cairn-tools")
        .join(package);
    let bin = dir.join(bin);
    if bin.exists() {
        return Ok(bin);
    }
    println!(
        "{name} is missing: unpacking Debian's package into {}",
        dir.display()
    );
    std::fs::create_dir_all(&dir)?;
    let download = |dir: &Path| sh::run_in(dir, "apt-get", &["download", package], &[]);
    if download(&dir).is_err() {
        // A brand-new machine's package lists may be empty.
        let sudo = if is_root() { vec![] } else { vec!["sudo"] };
        let mut update = sudo.clone();
        update.extend(["apt-get", "update"]);
        sh::run_in(&dir, update[0], &update[1..], &[])?;
        download(&dir)?;
    }
    let deb = std::fs::read_dir(&dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "deb"))
        .with_context(|| format!("apt-get download {package} left no .deb"))?;
    sh::run_in(
        &dir,
        "dpkg",
        &["-x", deb.to_str().context("a non-UTF-8 path")?, "."],
        &[],
    )?;
    if !bin.exists() {
        bail!(
            "{} is missing after unpacking {}",
            bin.display(),
            deb.display()
        );
    }
    Ok(bin)
}

/// The Garage version the S3 tests run against.
pub const GARAGE_VERSION: &str = "2.5.0";

/// Where Garage is (`GARAGE_BIN`, `~/.cargo/bin/garage`, or `garage` on the PATH), installing
/// it from the crate registry (≈6.5 min on 2 cores) when it is nowhere.
pub fn ensure_garage() -> Result<std::path::PathBuf> {
    if let Some(p) = std::env::var_os("GARAGE_BIN") {
        return Ok(p.into());
    }
    let home = std::env::var_os("HOME").map(std::path::PathBuf::from);
    let cargo_bin = home.map(|h| h.join(".cargo/bin/garage"));
    if let Some(p) = cargo_bin.as_ref().filter(|p| p.exists()) {
        return Ok(p.clone());
    }
    if sh::succeeds("garage", &["--version"]) {
        return Ok("garage".into());
    }
    println!("Garage is missing: installing it with cargo (takes several minutes)");
    sh::run_in(
        &sh::root(),
        "cargo",
        &[
            "install",
            "garage",
            "--version",
            GARAGE_VERSION,
            "--locked",
            "--no-default-features",
            "--features",
            "bundled-libs,sqlite",
        ],
        &[],
    )?;
    match cargo_bin.filter(|p| p.exists()) {
        Some(p) => Ok(p),
        None => bail!("cargo install garage finished but ~/.cargo/bin/garage is missing"),
    }
}

pub fn ensure_wasm_target() -> Result<()> {
    let out = std::process::Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output();
    match out {
        Ok(o)
            if String::from_utf8_lossy(&o.stdout)
                .lines()
                .any(|l| l.trim() == "wasm32-unknown-unknown") =>
        {
            Ok(())
        }
        Ok(_) => sh::run_in(
            &sh::root(),
            "rustup",
            &["target", "add", "wasm32-unknown-unknown"],
            &[],
        ),
        Err(_) => {
            // Without rustup the toolchain must already carry the target; the build will say.
            println!("rustup not found: assuming the toolchain has wasm32-unknown-unknown");
            Ok(())
        }
    }
}

pub const CHROMIUM: &str = "/usr/bin/chromium";

pub fn ensure_chromium() -> Result<()> {
    if Path::new(CHROMIUM).exists() {
        return Ok(());
    }
    println!("Chromium is missing: installing Debian's package");
    apt_install(&["chromium", "fonts-liberation"])?;
    if !Path::new(CHROMIUM).exists() {
        bail!("{CHROMIUM} is still missing after apt-get install chromium");
    }
    Ok(())
}

/// The download tools the share-link tests run for real (`curl -C -`, `wget -c`) and the
/// unzipper that checks our zips (`unzip -t`); Python's `zipfile` comes with `python3`.
pub fn ensure_cli_tools() -> Result<()> {
    let missing: Vec<&str> = ["curl", "wget", "unzip", "python3"]
        .into_iter()
        .filter(|t| !sh::succeeds(t, &["--version"]) && !sh::succeeds(t, &["-v"]))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    println!(
        "missing {}: installing Debian's packages",
        missing.join(", ")
    );
    apt_install(&missing)?;
    for t in &missing {
        if !sh::succeeds(t, &["--version"]) && !sh::succeeds(t, &["-v"]) {
            bail!("{t} is still missing after apt-get install");
        }
    }
    Ok(())
}

pub fn apt_install(packages: &[&str]) -> Result<()> {
    let sudo = !is_root();
    let mut base: Vec<&str> = Vec::new();
    if sudo {
        base.push("sudo");
    }
    let run = |args: &[&str]| {
        let mut full = base.clone();
        full.extend_from_slice(args);
        sh::run_in(
            &sh::root(),
            full[0],
            &full[1..],
            &[("DEBIAN_FRONTEND", "noninteractive")],
        )
    };
    run(&["apt-get", "update"])?;
    let mut install = vec![
        "apt-get",
        "-o",
        "DPkg::Lock::Timeout=300",
        "install",
        "-y",
        "--no-install-recommends",
    ];
    install.extend_from_slice(packages);
    // One retry: another apt may have been running, or an archive vanished between update and install.
    run(&install).or_else(|_| run(&install))
}

fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

pub fn ensure_npm_packages() -> Result<()> {
    let tests = sh::root().join("tests");
    // Every package of tests/package.json; a tree installed before one was added reinstalls.
    if ["playwright-core", "hash-wasm"].iter().all(|p| {
        tests
            .join("node_modules")
            .join(p)
            .join("package.json")
            .exists()
    }) {
        return Ok(());
    }
    if !sh::succeeds("npm", &["--version"]) {
        apt_install(&["nodejs", "npm"])?;
    }
    sh::run_in(&tests, "npm", &["ci", "--no-audit", "--no-fund"], &[])
}

/// Where the integration tests find PostgreSQL when `DATABASE_URL` does not say.
pub const POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
/// The password set on a PostgreSQL this command installed itself (Debian's default
/// `pg_hba.conf` asks for one on TCP), used only on that throwaway test server.
const INSTALLED_PASSWORD: &str = "cairn-tests";

/// Makes sure the integration tests have a PostgreSQL server: the one at `DATABASE_URL`
/// (which must answer), else 127.0.0.1:5432, starting Debian's cluster, or installing
/// `postgresql` first, when nothing answers there. Fast when it is already running.
pub fn ensure_postgres() -> Result<()> {
    if let Some(url) = std::env::var("DATABASE_URL")
        .ok()
        .filter(|u| u.starts_with("postgres"))
    {
        let addr = host_port(&url)?;
        if !reachable(&addr) {
            bail!("DATABASE_URL names {addr}, where no PostgreSQL answers");
        }
        return Ok(());
    }
    let addr = "127.0.0.1:5432";
    if !reachable(addr) {
        if !Path::new("/etc/postgresql").exists() {
            println!("PostgreSQL is missing: installing Debian's package");
            apt_install(&["postgresql"])?;
        }
        start_postgres_cluster()?;
        let deadline = Instant::now() + Duration::from_secs(60);
        while !reachable(addr) {
            if Instant::now() > deadline {
                bail!("PostgreSQL was started but does not answer on {addr} after 60 s");
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    if !sh::succeeds("psql", &["--version"]) {
        // A server without the client tools here (a container, another host): the tests'
        // own connection will tell if the credentials are wrong.
        return Ok(());
    }
    if psql_ok(POSTGRES_URL) {
        return Ok(());
    }
    // Debian's default asks for a password over TCP: give the superuser one, as the cluster's
    // owner over the local socket (peer authentication), and hand it to the tests.
    println!("PostgreSQL refuses {POSTGRES_URL} without a password: setting one for the tests");
    let sql = format!("ALTER ROLE postgres PASSWORD '{INSTALLED_PASSWORD}'");
    as_postgres_user(&["psql", "-q", "-c", &sql])?;
    let url = format!("postgres://postgres:{INSTALLED_PASSWORD}@127.0.0.1:5432/postgres");
    if !psql_ok(&url) {
        bail!("PostgreSQL at {addr} refuses the tests; set DATABASE_URL to a superuser's URL");
    }
    std::env::set_var("DATABASE_URL", &url);
    Ok(())
}

fn psql_ok(url: &str) -> bool {
    std::process::Command::new("psql")
        .args([url, "-Atqc", "SELECT 1"])
        .env("PGCONNECT_TIMEOUT", "5")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// `pg_ctlcluster <newest version> main start`, as root (through sudo when needed).
fn start_postgres_cluster() -> Result<()> {
    let mut versions: Vec<u32> = std::fs::read_dir("/etc/postgresql")
        .context("no /etc/postgresql after installing postgresql")?
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    versions.sort_unstable();
    let Some(version) = versions.last().map(|v| v.to_string()) else {
        bail!("no PostgreSQL cluster under /etc/postgresql");
    };
    let args = [
        "pg_ctlcluster",
        "--skip-systemctl-redirect",
        &version,
        "main",
        "start",
    ];
    if is_root() {
        sh::run_in(&sh::root(), args[0], &args[1..], &[])
    } else {
        sh::run_in(&sh::root(), "sudo", &args, &[])
    }
}

fn as_postgres_user(args: &[&str]) -> Result<()> {
    let dir = std::env::temp_dir();
    if is_root() {
        let mut full = vec!["-u", "postgres", "--"];
        full.extend_from_slice(args);
        sh::run_in(&dir, "runuser", &full, &[])
    } else {
        let mut full = vec!["-u", "postgres"];
        full.extend_from_slice(args);
        sh::run_in(&dir, "sudo", &full, &[])
    }
}

/// `host:port` of a `postgres://user:pass@host:port/db?…` URL (port 5432 when absent).
fn host_port(url: &str) -> Result<String> {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let host = authority
        .rsplit_once('@')
        .map(|(_, h)| h)
        .unwrap_or(authority);
    if host.is_empty() {
        bail!("DATABASE_URL has no host: use postgres://user@host:port/db");
    }
    Ok(if host.contains(':') && !host.ends_with(']') {
        host.to_owned()
    } else {
        format!("{host}:5432")
    })
}

fn reachable(addr: &str) -> bool {
    let addrs: Vec<SocketAddr> = addr
        .to_socket_addrs()
        .map(|a| a.collect())
        .unwrap_or_default();
    addrs
        .iter()
        .any(|a| TcpStream::connect_timeout(a, Duration::from_secs(2)).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_port_of_database_urls() {
        for (url, want) in [
            (
                "postgres://postgres@127.0.0.1:5432/postgres",
                "127.0.0.1:5432",
            ),
            (
                "postgres://u:p%40ss@db.example:6000/x?sslmode=disable",
                "db.example:6000",
            ),
            ("postgresql://localhost/cairn", "localhost:5432"),
            ("postgres://u@[::1]:5433/x", "[::1]:5433"),
        ] {
            assert_eq!(host_port(url).unwrap(), want, "{url}");
        }
    }
}
