//! `cargo xtask bench-chunker`: the chunker's figures of issue 3 in one run on one machine —
//! native (via `chunker-bench --json`), WASM in headless Chromium on in-memory data and as the
//! File pipeline the app uses, against a raw `File.stream()` drain and hash-wasm's BLAKE3 —
//! with the ratios and whether each target is met.

use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};
use serde_json::Value;

use crate::{sh, tools, wasm};

const USAGE: &str = "cargo xtask bench-chunker [--mib N] [--rounds N] [--json]";

struct Options {
    mib: u64,
    rounds: u64,
    json: bool,
}

fn options(args: &[String]) -> Result<Options> {
    let mut o = Options {
        mib: 256,
        rounds: 3,
        json: false,
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut number = || -> Result<u64> {
            match it.next().and_then(|v| v.parse().ok()) {
                Some(n) if n >= 1 => Ok(n),
                _ => bail!("{arg} needs a number ≥ 1\n{USAGE}"),
            }
        };
        match arg.as_str() {
            "--mib" => o.mib = number()?,
            "--rounds" => o.rounds = number()?,
            "--json" => o.json = true,
            other => bail!("unknown argument {other:?}\n{USAGE}"),
        }
    }
    Ok(o)
}

/// Runs a command with stderr shown and returns its stdout parsed as JSON (its last line).
fn json_from(
    dir: &std::path::Path,
    program: &str,
    args: &[&str],
    env: &[(&str, &str)],
) -> Result<Value> {
    println!("$ {program} {}", args.join(" "));
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .envs(env.iter().copied())
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("cannot start `{program}`"))?;
    if !out.status.success() {
        bail!("`{program} {}` failed ({})", args.join(" "), out.status);
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(line).with_context(|| format!("`{program}` printed no JSON: {stdout}"))
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn num(v: &Value, path: &str) -> f64 {
    path.split('.')
        .fold(v, |v, key| &v[key])
        .as_f64()
        .unwrap_or(f64::NAN)
}

fn verdict(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "NOT met"
    }
}

pub fn bench_chunker(args: &[String]) -> Result<()> {
    let o = options(args)?;
    tools::ensure_wasm_target()?;
    tools::ensure_chromium()?;
    tools::ensure_npm_packages()?;
    wasm::build(wasm::Bundle::Hooks)?;
    sh::cargo(&["build", "-p", "api", "--bin", "cairn"])?;
    sh::cargo(&[
        "build",
        "--release",
        "-p",
        "wasm-chunker",
        "--bin",
        "chunker-bench",
    ])?;

    let load_before = load();
    let (mib, rounds) = (o.mib.to_string(), o.rounds.to_string());
    let native_bin = sh::target_dir().join("release/chunker-bench");
    let native = json_from(
        &sh::root(),
        native_bin.to_str().unwrap_or_default(),
        &["--json", "--size-mib", &mib, "--rounds", &rounds],
        &[],
    )?;
    let cairn = sh::target_dir().join("debug/cairn");
    let browser = json_from(
        &sh::root().join("tests"),
        "node",
        &[
            "e2e/chunker-bench.mjs",
            "--mib",
            &mib,
            "--file-mib",
            &mib,
            "--rounds",
            &rounds,
        ],
        &[("CAIRN_BIN", cairn.to_str().unwrap_or_default())],
    )?;
    let cost = json_from(
        &sh::root().join("tests"),
        "node",
        &["e2e/read-cost.mjs", "--file-mib", &mib, "--rounds", &rounds],
        &[("CAIRN_BIN", cairn.to_str().unwrap_or_default())],
    )?;
    let load_after = load();

    if o.json {
        println!(
            "{}",
            serde_json::json!({ "native": native, "browser": browser, "read_cost": cost, "load_before": load_before, "load_after": load_after })
        );
        return Ok(());
    }
    report(&o, &native, &browser, &load_before, &load_after);
    report_cost(&cost, drain_of(&browser));
    Ok(())
}

fn drain_of(browser: &Value) -> f64 {
    num(browser, "file.drain_mbps")
}

/// What reading costs the machine: the CPU time of all Chromium processes per MB, and the
/// fastest pipeline those costs allow on this machine's cores (`e2e/read-cost.mjs`).
fn report_cost(cost: &Value, drain: f64) {
    println!(
        "
CPU cost in Chromium (all processes, from /proc), {} MiB file, {} cores",
        num(cost, "file_mib"),
        num(cost, "cores")
    );
    println!(
        "{:<40} {:>8} {:>12} {:>12}",
        "cheapest round", "MB/s", "CPU ms/MB", "cores busy"
    );
    for (key, name) in [
        ("drain", "File.stream() drain, 1 worker"),
        ("hash_in_memory", "WASM chunk+hash in memory, 1 worker"),
        ("pipeline", "File → chunk hashes, as the app"),
        ("one_worker", "File → chunk hashes, 1 worker"),
    ] {
        println!(
            "{name:<40} {:>8.0} {:>12.2} {:>12.2}",
            num(cost, &format!("{key}.mbps")),
            num(cost, &format!("{key}.cpu_ms_per_mb")),
            num(cost, &format!("{key}.cores_busy"))
        );
    }
    let bound = num(cost, "pipeline_bound_mbps");
    println!(
        "pipeline bound: cores / (drain + hash CPU per MB) = {bound:.0} MB/s, {:.2} × the drain above",
        bound / drain
    );
}

fn report(o: &Options, native: &Value, browser: &Value, load_before: &str, load_after: &str) {
    let n1 = num(native, "chunk_hash_1_thread_mbps");
    let nn = num(native, "chunk_hash_parallel_mbps");
    let threads = num(native, "parallel_hash_threads");
    let w1 = num(browser, "wasm.chunk_hash_1_worker_mbps");
    let wn = num(browser, "wasm.chunk_hash_n_workers_mbps");
    let workers = num(browser, "wasm.workers");
    let drain = num(browser, "file.drain_mbps");
    let pipeline = num(browser, "file.pipeline_mbps");
    let hash_wasm = num(browser, "file.hash_wasm_blake3_mbps");

    println!(
        "\nchunker {} · {} MiB pseudo-random input · best of {} rounds",
        native["chunker"].as_str().unwrap_or("?"),
        o.mib,
        o.rounds
    );
    println!(
        "Chromium {} · load average before {load_before}, after {load_after}\n",
        browser["chromium"].as_str().unwrap_or("?")
    );
    println!("{:<58} {:>8}", "MB/s (10^6 bytes/s)", "");
    let row = |name: String, v: f64| println!("{name:<58} {v:>8.0}");
    row(
        "native FastCDC cut points alone".into(),
        num(native, "cut_points_mbps"),
    );
    row(
        "native BLAKE3 alone, one thread".into(),
        num(native, "blake3_mbps"),
    );
    row("native chunk+hash, one thread".into(), n1);
    row(
        format!("native chunk+hash, 1 cutter + {threads} hash threads"),
        nn,
    );
    row(
        "WASM FastCDC cut points alone".into(),
        num(browser, "wasm.cut_points_mbps"),
    );
    row("WASM BLAKE3 alone".into(), num(browser, "wasm.blake3_mbps"));
    row("WASM chunk+hash, 1 worker (in memory)".into(), w1);
    row(
        format!("WASM chunk+hash, {workers} workers (in memory, aggregate)"),
        wn,
    );
    row(
        format!(
            "File.stream() drain, {} MiB File {}",
            num(browser, "file.file_mib"),
            if browser["file"]["on_disk"].as_bool() == Some(true) {
                "on disk"
            } else {
                "in memory"
            }
        ),
        drain,
    );
    let parts = num(browser, "file.split_parts");
    row(
        format!("File → chunk hashes (chunk-pool as the app: {parts} pieces, stitched)"),
        pipeline,
    );
    row(
        "File → chunk hashes, whole file in 1 worker".into(),
        num(browser, "file.pipeline_one_worker_mbps"),
    );
    row("File → hash-wasm BLAKE3 (1 worker)".into(), hash_wasm);
    row(
        format!("File.stream() drain of {parts} slices at once"),
        num(browser, "file.drain_split_mbps"),
    );
    let files = num(browser, "many_files.files");
    row(
        format!("{files} files → chunk hashes, one at a time"),
        num(browser, "many_files.one_at_a_time_mbps"),
    );
    row(
        format!(
            "{files} files → chunk hashes, in parallel (pool of {})",
            num(browser, "pool_size")
        ),
        num(browser, "many_files.in_parallel_mbps"),
    );

    println!("\nratios and targets");
    let ratio = |name: &str, v: f64, target: f64| {
        println!(
            "{name:<58} {v:>8.2}   target ≥ {target}: {}",
            verdict(v >= target)
        );
    };
    println!(
        "{:<58} {w1:>8.0}   target ≥ 1000: {}",
        "WASM chunk+hash, 1 worker (MB/s)",
        verdict(w1 >= 1000.0)
    );
    ratio("WASM / native, one thread", w1 / n1, 0.55);
    println!(
        "{:<58} {:>8.2}",
        format!("WASM {workers} workers / native {threads} hash threads"),
        wn / nn
    );
    ratio("File pipeline / File.stream() drain", pipeline / drain, 0.9);
    ratio(
        "File pipeline / hash-wasm BLAKE3 pipeline",
        pipeline / hash_wasm,
        1.5,
    );

    let delta_mib = num(native, "delta_input_mib");
    println!(
        "\nbytes to upload after an edit of a {delta_mib} MiB file (mean over {} positions)",
        num(native, "delta_mean_positions")
    );
    println!(
        "{:<18} {:>14} {:>14} {:>14} {:>14}",
        "", "FastCDC middle", "fixed 4M mid", "FastCDC mean", "fixed 4M mean"
    );
    let avg = 1u64 << 20;
    for edit in ["insert_1_byte", "overwrite_1_mib", "append_1_mib"] {
        let d = &native["delta"][edit];
        let get = |k: &str| d[k].as_u64().unwrap_or(0);
        println!(
            "{edit:<18} {:>14} {:>14} {:>14} {:>14}",
            get("cdc_middle"),
            get("fixed_4mib_middle"),
            get("cdc_mean"),
            get("fixed_4mib_mean")
        );
    }
    let insert = native["delta"]["insert_1_byte"]["cdc_middle"]
        .as_u64()
        .unwrap_or(u64::MAX);
    let insert_mean = native["delta"]["insert_1_byte"]["cdc_mean"]
        .as_u64()
        .unwrap_or(u64::MAX);
    println!(
        "1-byte insert re-sends ≤ 2 × average chunk (2 MiB): {} (middle {insert}, mean {insert_mean})",
        verdict(insert.max(insert_mean) <= 2 * avg)
    );
}
