//! Running commands loudly: every step prints what it runs, and a failure stops everything.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};

/// The workspace root (xtask lives one folder below it).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask is inside the workspace")
        .to_owned()
}

/// Cargo's target dir: `CARGO_TARGET_DIR` when set (worktrees may share one), else `target/`.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(d) => root().join(d),
        None => root().join("target"),
    }
}

pub fn step(name: &str, f: impl FnOnce() -> Result<()>) -> Result<()> {
    println!("\n==> {name}");
    let t = Instant::now();
    f().with_context(|| format!("step `{name}` failed"))?;
    println!("<== {name} ok ({:.1?})", t.elapsed());
    Ok(())
}

pub fn cargo(args: &[&str]) -> Result<()> {
    run_in(
        &root(),
        &std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()),
        args,
        &[],
    )
}

/// `cargo` with extra environment variables.
pub fn cargo_with(args: &[&str], env: &[(&str, &str)]) -> Result<()> {
    run_in(
        &root(),
        &std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()),
        args,
        env,
    )
}

pub fn run_in(dir: &Path, program: &str, args: &[&str], env: &[(&str, &str)]) -> Result<()> {
    println!("$ {program} {}", args.join(" "));
    let status = Command::new(program)
        .args(args)
        .current_dir(dir)
        .envs(env.iter().copied())
        .status()
        .with_context(|| format!("cannot start `{program}`"))?;
    if !status.success() {
        bail!("`{program} {}` failed ({status})", args.join(" "));
    }
    Ok(())
}

/// True if `program` runs and exits 0 (output discarded).
pub fn succeeds(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Replaces this process with `program` where the OS allows, so Ctrl-C reaches the server.
pub fn exec(program: &Path, args: &[String]) -> Result<()> {
    println!("$ {} {}", program.display(), args.join(" "));
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        let err = Command::new(program).args(args).current_dir(root()).exec();
        Err(err).with_context(|| format!("cannot start {}", program.display()))
    }
    #[cfg(not(unix))]
    {
        let status = Command::new(program)
            .args(args)
            .current_dir(root())
            .status()?;
        if !status.success() {
            bail!("{} exited with {status}", program.display());
        }
        Ok(())
    }
}
