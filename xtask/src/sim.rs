//! `cargo xtask sim [--seeds N] [--steps K] [--jobs J]`: the multi-device simulation
//! (`api/tests/sim`) built in release and run over N seeds (default 10,000), split into J
//! processes side by side (default: one per core; each seed runs on one thread).

use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::sh;

pub fn run(args: &[String]) -> Result<()> {
    let mut seeds = 10_000u64;
    let mut steps = None;
    let mut jobs = std::thread::available_parallelism().map_or(1, |n| n.get() as u64);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--seeds" => seeds = value(it.next(), "--seeds")?,
            "--steps" => steps = Some(value(it.next(), "--steps")?),
            "--jobs" => jobs = value(it.next(), "--jobs")?,
            other => bail!("sim: unknown argument `{other}` (--seeds N, --steps K, --jobs J)"),
        }
    }
    let jobs = jobs.min(seeds);
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let test = ["test", "--release", "-p", "api", "--test", "sim"];
    sh::run_in(
        &sh::root(),
        &cargo,
        &[&test[..], &["--no-run"]].concat(),
        &[],
    )?;
    let started = std::time::Instant::now();
    let mut children = Vec::new();
    for j in 0..jobs {
        let first = seeds * j / jobs;
        let count = seeds * (j + 1) / jobs - first;
        let mut c = Command::new(&cargo);
        c.current_dir(sh::root())
            .args(test)
            .args(["--", "--nocapture"])
            .env("CAIRN_SIM_FIRST", first.to_string())
            .env("CAIRN_SIM_SEEDS", count.to_string());
        if let Some(s) = steps {
            c.env("CAIRN_SIM_STEPS", s.to_string());
        }
        println!("sim: seeds {first}..{} in process {j}", first + count);
        children.push(c.spawn().context("cannot start cargo test")?);
    }
    let mut failed = 0;
    for mut c in children {
        if !c.wait()?.success() {
            failed += 1;
        }
    }
    println!(
        "sim: {seeds} seeds in {jobs} processes took {:.0?}",
        started.elapsed()
    );
    if failed > 0 {
        bail!("sim: {failed} of {jobs} processes found failing seeds (see above)");
    }
    Ok(())
}

fn value(v: Option<&String>, flag: &str) -> Result<u64> {
    match v.and_then(|v| v.parse::<u64>().ok()) {
        Some(n) if n > 0 => Ok(n),
        _ => bail!("sim: {flag} takes a positive number"),
    }
}
