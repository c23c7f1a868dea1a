//! `cargo xtask bench-small-files`: a folder of many small files dropped in headless Chromium
//! and uploaded through Cairn to Garage, against `rclone copy` of the same tree to the same
//! Garage with rclone's defaults, in one run (`tests/e2e/small-files-bench.mjs`).

use anyhow::Result;

use crate::{sh, tools, wasm};

/// Builds the release server and the browser bundle (with the test hooks, so the browser tests
/// still run on it, and the served glue, so the bench measures what users run), then runs the
/// bench. `--prebuilt` uses what
/// is built already; the other arguments (`--files N`, `--rounds R`, `--profile`) go to the
/// script.
pub fn run(args: &[String]) -> Result<()> {
    tools::ensure_chromium()?;
    tools::ensure_npm_packages()?;
    let garage = tools::ensure_garage()?;
    let rclone = tools::ensure_rclone()?;
    if !args.iter().any(|a| a == "--prebuilt") {
        wasm::build(wasm::Bundle::Hooks)?;
        sh::cargo(&["build", "--release", "-p", "api", "--bin", "cairn"])?;
    }
    let bin = sh::target_dir().join("release/cairn");
    let mut script = vec!["e2e/small-files-bench.mjs"];
    script.extend(
        args.iter()
            .map(String::as_str)
            .filter(|a| *a != "--prebuilt"),
    );
    sh::run_in(
        &sh::root().join("tests"),
        "node",
        &script,
        &[
            ("CAIRN_BIN", bin.to_str().unwrap_or_default()),
            ("GARAGE_BIN", garage.to_str().unwrap_or("garage")),
            ("RCLONE_BIN", rclone.to_str().unwrap_or("rclone")),
        ],
    )
}
