//! The browser bundle: the `web-client` crate built once per run for wasm32 with SIMD, then
//! bound to JS by `wasm-bindgen-cli-support` pinned to the exact `wasm-bindgen` version in
//! Cargo.lock (the CLI's own `--locked` install fails on this registry, and a mismatch breaks
//! the module at start).

use anyhow::{Context, Result};

use crate::sh;

/// Which bundle to build.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Bundle {
    /// The served app.
    App,
    /// With the bench and test-vector exports (the `hooks` feature), which the browser tests
    /// and the benches need and the served app does not; the glue as served, so benches
    /// measure what users run.
    Hooks,
    /// `Hooks`, and the glue checks the type of what JS hands over: the test suite's bundle.
    Checked,
}

/// Builds the bundle (a test run builds it once).
pub fn build(bundle: Bundle) -> Result<()> {
    let hooks = bundle != Bundle::App;
    crate::tools::ensure_wasm_target()?;
    let mut args = vec![
        "build",
        "-p",
        "web-client",
        "--target",
        "wasm32-unknown-unknown",
        "--profile",
        "wasm",
    ];
    if hooks {
        args.extend(["--features", "hooks"]);
    }
    sh::cargo(&args)?;
    let input = sh::target_dir().join("wasm32-unknown-unknown/wasm/web_client.wasm");
    let out = sh::root().join("www/pkg");
    std::fs::create_dir_all(&out)?;
    let mut b = wasm_bindgen_cli_support::Bindgen::new();
    // The test suite's glue checks what JS hands over (a string where Rust takes one, a
    // number…): without it, a number passed as a string became a realloc of a dangling pointer
    // in the page's WASM, a trap that surfaced one run in twenty, far from its cause.
    b.input_path(&input)
        .web(true)?
        .debug(bundle == Bundle::Checked)
        .omit_default_module_path(false);
    b.generate(&out).context("wasm-bindgen failed")?;
    // The shell branches on error codes by these names, never by strings of its own.
    std::fs::write(out.join("error_codes.js"), wire::error_codes_js())?;
    let file = out.join("web_client_bg.wasm");
    let size = std::fs::metadata(&file)?.len();
    let simd = crate::simd::require_simd(&file)?;
    println!(
        "wasm bundle: www/pkg/web_client_bg.wasm ({} KiB, {simd} SIMD128 instructions{})",
        size / 1024,
        match bundle {
            Bundle::App => "",
            Bundle::Hooks => ", with bench and test hooks",
            Bundle::Checked => ", with bench and test hooks and checked glue",
        }
    );
    Ok(())
}
