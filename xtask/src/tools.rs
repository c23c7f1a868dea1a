//! Installing what the tests need on a fresh Debian machine, and skipping what is there.
//! Every install either succeeds or fails the run: nothing is skipped silently, with or
//! without `CI=true`.

use std::path::Path;

use anyhow::{bail, Result};

use crate::sh;

pub fn setup_for_tests() -> Result<()> {
    sh::step("tools", || {
        ensure_wasm_target()?;
        ensure_chromium()?;
        ensure_npm_packages()?;
        ensure_garage().map(|_| ())
    })
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
