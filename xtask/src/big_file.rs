//! `cargo xtask big-file [--gib N] [--s3]`: one file of N GiB (default 10) through the browser
//! end to end — uploaded, the page reloaded at 40% sent and the upload resumed, downloaded to
//! disk through the UI and checked by SHA-256 — with the WASM memory of the page and of its
//! chunking workers, the JS heap and the renderers' RSS sampled all along
//! (`tests/e2e/big-file.mjs`; the browser suite runs the same at 768 MiB,
//! `pwa-big-file.test.mjs`). The file is made on disk under the temp dir and removed after.

use anyhow::Result;

use crate::{sh, tools, wasm};

/// Builds the release server and the browser bundle with the test hooks (its
/// `wasmMemoryBytes` probe is what the memory figures read), then runs the script. `--prebuilt`
/// uses what is built already; `--gib N` and `--s3` go to the script.
pub fn run(args: &[String]) -> Result<()> {
    tools::ensure_chromium()?;
    tools::ensure_npm_packages()?;
    let s3 = args.iter().any(|a| a == "--s3");
    let garage = if s3 {
        Some(tools::ensure_garage()?)
    } else {
        None
    };
    if !args.iter().any(|a| a == "--prebuilt") {
        wasm::build(wasm::Bundle::Hooks)?;
        sh::cargo(&["build", "--release", "-p", "api", "--bin", "cairn"])?;
    }
    let bin = sh::target_dir().join("release/cairn");
    let mut script = vec!["e2e/big-file.mjs"];
    script.extend(
        args.iter()
            .map(String::as_str)
            .filter(|a| *a != "--prebuilt"),
    );
    let mut env = vec![("CAIRN_BIN", bin.to_str().unwrap_or_default())];
    if let Some(g) = &garage {
        env.push(("GARAGE_BIN", g.to_str().unwrap_or("garage")));
    }
    sh::run_in(&sh::root().join("tests"), "node", &script, &env)
}
