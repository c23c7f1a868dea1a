//! `cargo xtask sim [--seeds N] [--steps K]`: the multi-device simulation (`api/tests/sim`)
//! built in release and run over N seeds (default 10,000), for the long runs the default
//! `cargo test` leaves out.

use anyhow::{bail, Result};

use crate::sh;

pub fn run(args: &[String]) -> Result<()> {
    let mut seeds = "10000".to_owned();
    let mut steps = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--seeds" => seeds = value(it.next(), "--seeds")?,
            "--steps" => steps = Some(value(it.next(), "--steps")?),
            other => bail!("sim: unknown argument `{other}` (--seeds N, --steps K)"),
        }
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut env = vec![("CAIRN_SIM_SEEDS", seeds.as_str())];
    if let Some(s) = &steps {
        env.push(("CAIRN_SIM_STEPS", s.as_str()));
    }
    sh::run_in(
        &sh::root(),
        &cargo,
        &[
            "test",
            "--release",
            "-p",
            "api",
            "--test",
            "sim",
            "--",
            "--nocapture",
        ],
        &env,
    )
}

fn value(v: Option<&String>, flag: &str) -> Result<String> {
    match v {
        Some(v) if v.parse::<u64>().is_ok_and(|n| n > 0) => Ok(v.clone()),
        _ => bail!("sim: {flag} takes a positive number"),
    }
}
