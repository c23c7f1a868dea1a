//! `cargo xtask cluster`: the cluster of the browser test `cluster.test.mjs` (three API nodes on
//! one PostgreSQL database, a three-node Garage with replication factor 3, nginx in front), left
//! running for a person to try until Ctrl-C. The fixture `tests/e2e/cluster.mjs` does the work,
//! so what a person tries is what the test checks.

use anyhow::{Context, Result};

use crate::{sh, tools, wasm};

pub fn run() -> Result<()> {
    tools::ensure_npm_packages()?;
    tools::ensure_postgres()?;
    let garage = tools::ensure_garage()?;
    let nginx = tools::ensure_nginx()?;
    // The test step's bundle (hooks and checked glue): www/pkg stays the browser tests' own.
    wasm::build(wasm::Bundle::Checked)?;
    // The debug build the browser tests run (its hashing and password crates are optimised).
    sh::cargo(&["build", "-p", "api", "--bin", "cairn"])?;
    let cairn = sh::target_dir().join("debug/cairn");

    let mut node = std::process::Command::new("node");
    node.arg("tests/e2e/cluster.mjs")
        .current_dir(sh::root())
        .env("CAIRN_BIN", &cairn)
        .env("GARAGE_BIN", &garage)
        .env("NGINX_BIN", &nginx);
    // DATABASE_URL, which `ensure_postgres` sets when it gave a fresh server a password, is
    // inherited: the fixture makes its database on that server.
    println!("$ node tests/e2e/cluster.mjs");
    #[cfg(unix)]
    {
        // Replaces this process (as `cargo run` replaces itself with xtask): on Ctrl-C no one
        // is left waiting, and node stops everything it started before it exits.
        use std::os::unix::process::CommandExt;
        Err(node.exec()).context("cannot start node")
    }
    #[cfg(not(unix))]
    {
        let status = node.status().context("cannot start node")?;
        anyhow::ensure!(
            status.success(),
            "node tests/e2e/cluster.mjs exited with {status}"
        );
        Ok(())
    }
}
