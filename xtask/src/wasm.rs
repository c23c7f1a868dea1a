//! The browser bundle: the `web-client` crate built once per run for wasm32 with SIMD, then
//! bound to JS by `wasm-bindgen-cli-support` pinned to the exact `wasm-bindgen` version in
//! Cargo.lock (the CLI's own `--locked` install fails on this registry, and a mismatch breaks
//! the module at start).

use anyhow::{Context, Result};

use crate::sh;

/// Builds the bundle; `hooks` adds the bench and test-vector exports (the `hooks` feature),
/// which the browser tests and the chunker bench need and the served app does not, and the
/// glue's argument checks. A test run builds once, with them.
pub fn build(hooks: bool) -> Result<()> {
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
    // The test build's glue checks what JS hands over (a string where Rust takes one, a
    // number…): without it, a number passed as a string became a realloc of a dangling pointer
    // in the page's WASM, a trap that surfaced one run in twenty, far from its cause.
    b.input_path(&input)
        .web(true)?
        .debug(hooks)
        .omit_default_module_path(false);
    b.generate(&out).context("wasm-bindgen failed")?;
    // The shell branches on error codes by these names, never by strings of its own.
    std::fs::write(out.join("error_codes.js"), wire::error_codes_js())?;
    let bundle = out.join("web_client_bg.wasm");
    let size = std::fs::metadata(&bundle)?.len();
    let simd = crate::simd::require_simd(&bundle)?;
    println!(
        "wasm bundle: www/pkg/web_client_bg.wasm ({} KiB, {simd} SIMD128 instructions{})",
        size / 1024,
        if hooks {
            ", with bench and test hooks"
        } else {
            ""
        }
    );
    Ok(())
}
