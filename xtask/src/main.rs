//! `cargo xtask <command>`: the two README commands (`run`, `test`) and their helpers, in Rust
//! so they behave the same on every machine and need nothing but cargo to start.

mod bench;
mod big_file;
mod cluster;
mod fuzz;
mod sh;
mod sim;
mod simd;
mod small_files;
mod tidy;
mod tools;
mod wasm;

use anyhow::{bail, Result};

const HELP: &str = "cargo xtask <command>

  run [cairn flags]   build everything (native, wasm32, JS bindings) and run Cairn on
                      the embedded default: SQLite + chunk directory in ./data,
                      web app at http://127.0.0.1:8080 (see `cairn --help` for flags)
  test                install what tests need, then fmt, clippy, unit, integration
                      API fuzzing and browser end-to-end tests
  tidy                where code lives: SQL only in api/src/db, no import loops in
                      api/src, no I/O crates in the pure crates
  wasm [--hooks|--checked]
                      build the WASM core and its JS bindings into www/pkg; --hooks adds
                      the bench and test-vector exports the browser tests need, --checked
                      those and glue that checks the types JS hands over (the test suite's)
  bench-s3            upload/download MB/s of a 1 GiB file through Cairn's pre-signed
                      flow vs plain aws-sdk-s3, against a throwaway Garage
                      (CAIRN_BENCH_MIB changes the size)
  bench-api           durable commits/s (1, 8, 64 clients) and commit → SSE latency on
                      SQLite and PostgreSQL (DATABASE_URL or 127.0.0.1:5432), next to the
                      raw baselines; prints the tables of BENCHMARKS.md
  bench-tree          listing page, 304, search, folder move, feed page and commit
                      timed in an account of ~1,000 and of ~1,000,000 nodes, on
                      SQLite and PostgreSQL (BENCH_TREE_NODES, BENCH_ONLY)
  bench-scale         one node's limits: memory per idle SSE stream vs bare axum
                      (SCALE_STREAMS, 10,000), commit → hint at 1,000 and all streams,
                      commits/s on PostgreSQL through one and two nodes, and a soak of
                      sync clients counting 5xx and memory (SOAK_SECS, 600)
  bench-share         download MB/s of a 1 GiB file through a share link
                      (/s/{token}/download) vs tower-http ServeDir serving the same
                      bytes, alternating, 5 rounds, on the local store and on a
                      throwaway Garage (CAIRN_BENCH_MIB, BENCH_ROUNDS, BENCH_ONLY)
  bench-access        what the role check costs: access::node and a listing, as the
                      owner (no lookup) and as a shared folder's member (one)
  bench-members       commit -> SSE hint at members' devices (1 and 100 members, two
                      devices each); feed, latest and search following 100 trees
  setup               only install what the tests need
  sim [--seeds N] [--steps K] [--threads T]
                      the deterministic multi-device simulation (api/tests/sim) in
                      release over N seeds (default 10000), K steps each (default 60),
                      on T threads (default: one per core)
  fuzz-api [--examples N] [--seed S]
                      schemathesis against a real server (from PyPI, into a venv):
                      no 5xx, every status and body as /openapi.json says (default
                      100 examples per operation; the test command runs 25)
  bench-chunker [--mib N] [--rounds N] [--json]
                      chunker figures in one run: native (1 thread, all cores),
                      WASM in headless Chromium (1 and N workers), the File
                      pipeline vs File.stream() and hash-wasm, delta efficiency
  bench-upload [--mib N]
                      a file of N MiB (default 1024) dropped in headless Chromium and
                      uploaded to Garage through Cairn, against one plain PutObject
  bench-small-files [--files N] [--rounds R] [--profile] [--prebuilt]
                      a folder of N files of 1-50 KiB (default 10,000, or BENCH_FILES)
                      dropped in headless Chromium: files/s through Cairn vs `rclone
                      copy` of the same tree to the same Garage, R pairs (default 2)
  big-file [--gib N] [--s3] [--prebuilt]
                      a file of N GiB (default 10) uploaded from headless Chromium,
                      the page reloaded at 40% sent and the upload resumed, then
                      downloaded to disk through the UI and checked by SHA-256, with
                      the WASM memory (page, workers), JS heap and renderer RSS
                      sampled; --s3 through a throwaway Garage
  cluster             three Cairn nodes on one fresh PostgreSQL database, a three-node
                      Garage (replication factor 3) and nginx balancing both, all on
                      loopback, running until Ctrl-C (the cluster of cluster.test.mjs)";

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let cmd = args.next().unwrap_or_default();
    let rest: Vec<String> = args.collect();
    match cmd.as_str() {
        "run" => run(&rest),
        "test" => test(),
        "wasm" => wasm::build(if rest.iter().any(|a| a == "--checked") {
            wasm::Bundle::Checked
        } else if rest.iter().any(|a| a == "--hooks") {
            wasm::Bundle::Hooks
        } else {
            wasm::Bundle::App
        }),
        "tidy" => tidy::run(&sh::root()),
        "bench-s3" => bench_s3(),
        "bench-share" => bench_share(),
        "bench-api" => sh::cargo(&["run", "--release", "-p", "api", "--example", "bench_api"]),
        "bench-tree" => sh::cargo(&["run", "--release", "-p", "api", "--example", "bench_tree"]),
        "bench-scale" => sh::cargo(&["run", "--release", "-p", "api", "--example", "bench_scale"]),
        "bench-access" => {
            sh::cargo(&["run", "--release", "-p", "api", "--example", "bench_access"])
        }
        "bench-members" => sh::cargo(&[
            "run",
            "--release",
            "-p",
            "api",
            "--example",
            "bench_members",
        ]),
        "setup" => tools::setup_for_tests(),
        "sim" => sim::run(&rest),
        "fuzz-api" => fuzz::command(&rest),
        "bench-chunker" => bench::bench_chunker(&rest),
        "bench-upload" => bench_upload(&rest),
        "bench-small-files" => small_files::run(&rest),
        "big-file" => big_file::run(&rest),
        "cluster" => cluster::run(),
        "" | "help" | "-h" | "--help" => {
            println!("{HELP}");
            Ok(())
        }
        other => bail!("unknown command `{other}`\n\n{HELP}"),
    }
}

fn run(args: &[String]) -> Result<()> {
    tools::ensure_wasm_target()?;
    wasm::build(wasm::Bundle::App)?;
    sh::cargo(&["build", "--release", "-p", "api", "--bin", "cairn"])?;
    let bin = sh::target_dir().join("release/cairn");
    sh::exec(&bin, args)
}

fn bench_s3() -> Result<()> {
    let garage = tools::ensure_garage()?;
    sh::run_in(
        &sh::root(),
        &std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()),
        &["run", "--release", "-p", "api", "--example", "bench_s3"],
        &[("GARAGE_BIN", garage.to_str().unwrap_or("garage"))],
    )
}

fn bench_upload(args: &[String]) -> Result<()> {
    tools::setup_for_tests()?;
    let garage = tools::ensure_garage()?;
    wasm::build(wasm::Bundle::App)?;
    sh::cargo(&["build", "--release", "-p", "api", "--bin", "cairn"])?;
    let bin = sh::target_dir().join("release/cairn");
    let mut script = vec!["e2e/upload-bench.mjs"];
    script.extend(args.iter().map(String::as_str));
    sh::run_in(
        &sh::root().join("tests"),
        "node",
        &script,
        &[
            ("CAIRN_BIN", bin.to_str().unwrap_or_default()),
            ("GARAGE_BIN", garage.to_str().unwrap_or("garage")),
        ],
    )
}

fn bench_share() -> Result<()> {
    let garage = tools::ensure_garage()?;
    sh::run_in(
        &sh::root(),
        &std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()),
        &["run", "--release", "-p", "api", "--example", "bench_share"],
        &[("GARAGE_BIN", garage.to_str().unwrap_or("garage"))],
    )
}

fn test() -> Result<()> {
    let started = std::time::Instant::now();
    tools::setup_for_tests()?;
    sh::step("tidy", || tidy::run(&sh::root()))?;
    sh::step("format", || sh::cargo(&["fmt", "--all", "--check"]))?;
    sh::step("clippy", || {
        sh::cargo(&[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ])?;
        sh::cargo(&[
            "clippy",
            "-p",
            "web-client",
            "--target",
            "wasm32-unknown-unknown",
            "--all-features",
            "--",
            "-D",
            "warnings",
        ])
    })?;
    sh::step("rust tests (and 10,000 simulation seeds)", || {
        sh::cargo_with(&["test", "--workspace"], &[sim::CI_SLICE])
    })?;
    sh::step("wasm build", || wasm::build(wasm::Bundle::Checked))?;
    // No server build: `cargo test --workspace` built `cairn` and `fault-proxy` for their
    // integration tests, and a separate `cargo build -p …` of them resolved other features
    // (without the rest of the workspace) and compiled api again, ≈6 min of a cold run.
    sh::step("api fuzzing (schemathesis)", || fuzz::run(25, None))?;
    sh::step("browser end-to-end tests", || {
        let bin = sh::target_dir().join("debug/cairn");
        let proxy = sh::target_dir().join("debug/fault-proxy");
        let garage = tools::ensure_garage()?;
        let nginx = tools::ensure_nginx()?;
        sh::run_in(
            &sh::root().join("tests"),
            "node",
            &["--test", "--test-concurrency=1", "e2e/"],
            &[
                ("CAIRN_BIN", bin.to_str().unwrap_or_default()),
                ("GARAGE_BIN", garage.to_str().unwrap_or("garage")),
                ("FAULT_PROXY_BIN", proxy.to_str().unwrap_or_default()),
                ("NGINX_BIN", nginx.to_str().unwrap_or("nginx")),
            ],
        )
    })?;
    println!("\nall test steps passed in {:.0?}", started.elapsed());
    Ok(())
}
