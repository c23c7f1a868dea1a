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
        ensure_npm_packages()
    })
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
