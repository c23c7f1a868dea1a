//! `cargo xtask sim [--seeds N] [--steps K] [--threads T]`: the multi-device simulation
//! (`api/tests/sim`) built in release and run over N seeds (default 10,000) on T threads
//! (default: one per core; each seed runs on one thread, on a runtime of its own).
//!
//! [`ci_slice`] is the bounded run of the test command: 10,000 seeds of 20 steps in the debug
//! build the other tests already made, so it costs no compile of its own.

use anyhow::{bail, Result};

use crate::sh;

/// Seeds and steps per seed of the test command's run.
const CI_SEEDS: u64 = 10_000;
const CI_STEPS: u64 = 20;

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
    simulate(&["--release"], seeds, steps, threads)
}

/// The test command's slice (see the module docs).
pub fn ci_slice() -> Result<()> {
    simulate(&[], CI_SEEDS, Some(CI_STEPS), None)
}

fn simulate(profile: &[&str], seeds: u64, steps: Option<u64>, threads: Option<u64>) -> Result<()> {
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
        &["test"][..],
        profile,
        &["-p", "api", "--test", "sim", "--", "--nocapture"],
    ]
    .concat();
    sh::run_in(&sh::root(), &cargo, &args, &env)
}

fn value(v: Option<&String>, flag: &str) -> Result<u64> {
    match v.and_then(|v| v.parse::<u64>().ok()) {
        Some(n) if n > 0 => Ok(n),
        _ => bail!("sim: {flag} takes a positive number"),
    }
}
