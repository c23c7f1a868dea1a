//! Schema-driven fuzzing of the HTTP API (issue 19): schemathesis, from PyPI, in a venv under
//! the target dir, run against a real `cairn` by `tests/fuzz/api_fuzz.py`. The test command
//! runs a bounded, deterministic slice; `cargo xtask fuzz-api --examples N --seed S` goes
//! further. The script seeds the server first (a folder, a file with two versions, trash, links,
//! shared folders with a member, open uploads) and pins every operation's path parameters to
//! those through a generated `schemathesis.toml`, so most requests reach a handler's real work.

use std::path::PathBuf;

use anyhow::{bail, Result};

use crate::{sh, tools};

/// The schemathesis the runs are checked with (its checks and generation change between
/// versions, so a new one is a deliberate change).
const SCHEMATHESIS: &str = "4.32.5";

/// The venv's `schemathesis`, installing it when it is missing or another version.
fn ensure_schemathesis() -> Result<PathBuf> {
    let venv = sh::target_dir().join("tools/schemathesis");
    let bin = venv.join("bin/schemathesis");
    let version = std::process::Command::new(&bin).arg("--version").output();
    if version.is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains(SCHEMATHESIS)) {
        return Ok(bin);
    }
    if !sh::succeeds("python3", &["-c", "import ensurepip, venv"]) {
        tools::apt_install(&["python3-venv"])?;
    }
    let venv_s = venv.to_string_lossy().into_owned();
    sh::run_in(&sh::root(), "python3", &["-m", "venv", &venv_s], &[])?;
    let pip = venv.join("bin/pip").to_string_lossy().into_owned();
    let wanted = format!("schemathesis=={SCHEMATHESIS}");
    sh::run_in(
        &sh::root(),
        &pip,
        &["install", "--quiet", "--disable-pip-version-check", &wanted],
        &[],
    )?;
    if !bin.exists() {
        bail!("pip installed {wanted} but {} is missing", bin.display());
    }
    Ok(bin)
}

/// Fuzzes the debug `cairn` (built by the caller) with `examples` per operation; `seed` for
/// random generation instead of the deterministic one.
pub fn run(examples: u32, seed: Option<u64>) -> Result<()> {
    let schemathesis = ensure_schemathesis()?;
    let python = schemathesis.with_file_name("python");
    let cairn = sh::target_dir().join("debug/cairn");
    let mut args = vec![
        "tests/fuzz/api_fuzz.py".to_owned(),
        "--bin".to_owned(),
        cairn.to_string_lossy().into_owned(),
        "--schemathesis".to_owned(),
        schemathesis.to_string_lossy().into_owned(),
        "--examples".to_owned(),
        examples.to_string(),
    ];
    if let Some(s) = seed {
        args.extend(["--seed".to_owned(), s.to_string()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    sh::run_in(&sh::root(), &python.to_string_lossy(), &args, &[])
}

/// `cargo xtask fuzz-api [--examples N] [--seed S]`: builds the server, then fuzzes it.
pub fn command(rest: &[String]) -> Result<()> {
    let mut examples = 100;
    let mut seed = None;
    let mut it = rest.iter();
    while let Some(a) = it.next() {
        let value = it.next();
        match (a.as_str(), value) {
            ("--examples", Some(v)) => examples = v.parse()?,
            ("--seed", Some(v)) => seed = Some(v.parse()?),
            _ => bail!("usage: cargo xtask fuzz-api [--examples N] [--seed S]"),
        }
    }
    sh::cargo(&["build", "-p", "api", "--bin", "cairn"])?;
    run(examples, seed)
}
