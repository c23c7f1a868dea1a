//! `cargo xtask sim [--seeds N] [--steps K] [--threads T]`: the multi-device simulation
//! (`api/tests/sim`) built in release and run over N seeds (default 10,000) on T threads
//! (default: one per core; each seed runs on one thread, on a runtime of its own).
//!
//! [`CI_SLICE`] is what the test command adds to `cargo test --workspace`: 10,000 seeds of 10
//! steps (the sim target's `many_short_seeds_converge_too`), in the build the other tests use.

use anyhow::{bail, Result};

use crate::sh;

/// The environment of the test command's `cargo test`: the sim target's wide slice.
pub const CI_SLICE: (&str, &str) = ("CAIRN_SIM_WIDE", "10000");

pub fn run(args: &[String]) -> Result<()> {
    let mut seeds = 10_000u64;
    let mut steps = None;
    let mut threads = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--seeds" => seeds = value(it.next(), "--seeds")?,
            "--steps" => steps = Some(value(it.next(), "--steps")?),
            "--threads" | "--jobs" => threads = Some(value(it.next(), "--threads")?),
            other => {
                bail!("sim: unknown argument `{other}` (--seeds N, --steps K, --threads T)")
            }
        }
    }
    simulate(seeds, steps, threads)
}

fn simulate(seeds: u64, steps: Option<u64>, threads: Option<u64>) -> Result<()> {
    let mut env = vec![("CAIRN_SIM_SEEDS", seeds.to_string())];
    if let Some(s) = steps {
        env.push(("CAIRN_SIM_STEPS", s.to_string()));
    }
    if let Some(t) = threads {
        env.push(("CAIRN_SIM_THREADS", t.to_string()));
    }
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let args = [
        "test",
        "--release",
        "-p",
        "api",
        "--test",
        "sim",
        "--",
        "--nocapture",
        "devices_converge",
    ];
    sh::run_in(&sh::root(), &cargo, &args, &env)
}

fn value(v: Option<&String>, flag: &str) -> Result<u64> {
    match v.and_then(|v| v.parse::<u64>().ok()) {
        Some(n) if n > 0 => Ok(n),
        _ => bail!("sim: {flag} takes a positive number"),
    }
}
