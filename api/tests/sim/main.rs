//! Deterministic multi-device simulation (issue 19, item 1): the real API (the `api` router
//! over real SQLite, in process) and 2–5 devices of one or two users, each taking the real
//! client decisions of `client-core` (outbox replay and compaction, the feed planner, the
//! upload job). A seeded scheduler picks every step — tree edits, uploads and edits from
//! stale bases, offline periods, feed pulls, lost and duplicated answers, device crashes —
//! and at the end every device must hold the server's tree, every acknowledged version must
//! still be there and nothing may have been written twice.
//!
//! `CAIRN_SIM_SEEDS=N` runs N seeds (default 200) from `CAIRN_SIM_FIRST` (default 0),
//! `CAIRN_SIM_SEED=S` replays one seed,
//! `CAIRN_SIM_STEPS=K` sets the steps per seed (default 60). `cargo xtask sim --seeds N` runs
//! it in release.

mod check;
mod device;
mod scheduler;
mod server;

use std::time::Instant;

use device::Device;
use scheduler::{Rng, Trace};
use server::{Net, Server, Stats, Template};

const DEFAULT_SEEDS: u64 = 200;
const DEFAULT_STEPS: u64 = 60;

struct Run {
    hash: u64,
    stats: Stats,
    problems: Vec<String>,
    trace: Vec<String>,
}

async fn run_seed(template: &Template, seed: u64, steps: u64) -> Run {
    let server = Server::start(template).await;
    let mut net = Net {
        server,
        rng: Rng::seeded(seed),
        trace: Trace::new(),
        stats: Stats::default(),
        faults: true,
        problems: Vec::new(),
        acked: Vec::new(),
        names: 0,
        edits: 0,
        delayed: Vec::new(),
    };
    let users = 1 + net.rng.below(2) as usize;
    let count = 2 + net.rng.below(4) as usize;
    let mut devices: Vec<Device> = Vec::new();
    for i in 0..count {
        let user = i % users;
        let (token, root) = template.sessions[user][i / users].clone();
        devices.push(Device::new(i, user, token, root));
    }
    net.trace
        .push(format!("seed {seed}: {users} users, {count} devices"));
    for _ in 0..steps {
        let d = net.rng.below(devices.len() as u64) as usize;
        let action = net.rng.action();
        net.stats.steps += 1;
        devices[d].act(&mut net, action).await;
        // A held request arrives, later than the ones sent after it.
        if !net.delayed.is_empty() && net.rng.chance(30) {
            let i = net.rng.below(net.delayed.len() as u64) as usize;
            net.deliver(i).await;
        }
    }
    while !net.delayed.is_empty() {
        let i = net.rng.below(net.delayed.len() as u64) as usize;
        net.deliver(i).await;
    }
    check::settle(&mut net, &mut devices).await;
    check::invariants(&mut net, &devices).await;
    // Every upload the user started ended somewhere: acknowledged, or refused and said so.
    net.stats.edits_started = net.edits;
    let ended: u64 = net.stats.edits.values().sum();
    if ended != net.edits {
        net.problems.push(format!(
            "{} uploads started, {ended} accounted for: {:?}",
            net.edits, net.stats.edits
        ));
    }
    // Every concurrent edit survives as a version or a conflicted copy: an upload whose folder
    // another device trashed goes to the home root, never away.
    for (how, n) in &net.stats.edits {
        if how.starts_with("refused") {
            net.problems
                .push(format!("{n} upload(s) {how}: an edit was not kept"));
        }
    }
    net.stats.seeds = 1;
    net.stats.divergences = net.problems.len() as u64;
    Run {
        hash: net.trace.hash,
        stats: net.stats,
        problems: net.problems,
        trace: net.trace.lines,
    }
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

/// The shortest step count (found by halving) at which `seed` still fails.
fn shrink(
    rt: &tokio::runtime::Runtime,
    template: &Template,
    seed: u64,
    steps: u64,
) -> (u64, Vec<String>) {
    let (mut lo, mut hi) = (0, steps);
    let mut shortest = (steps, rt.block_on(run_seed(template, seed, steps)).trace);
    while lo + 1 < hi {
        let mid = (lo + hi) / 2;
        let r = rt.block_on(run_seed(template, seed, mid));
        if r.problems.is_empty() {
            lo = mid;
        } else {
            hi = mid;
            shortest = (mid, r.trace);
        }
    }
    shortest
}

#[test]
fn devices_converge_and_lose_no_acknowledged_change() {
    let steps = env_u64("CAIRN_SIM_STEPS").unwrap_or(DEFAULT_STEPS);
    let seeds: Vec<u64> = match env_u64("CAIRN_SIM_SEED") {
        Some(s) => vec![s],
        None => {
            let first = env_u64("CAIRN_SIM_FIRST").unwrap_or(0);
            (first..first + env_u64("CAIRN_SIM_SEEDS").unwrap_or(DEFAULT_SEEDS)).collect()
        }
    };
    simulate(&seeds, steps);
}

/// The test command's wide slice (`cargo xtask test` sets `CAIRN_SIM_WIDE=10000`): that many
/// seeds of `CAIRN_SIM_WIDE_STEPS` steps (default 10), beside the default run's 200 long ones.
/// Without the variable it has nothing to do: a plain `cargo test` stays quick.
#[test]
fn many_short_seeds_converge_too() {
    let Some(n) = env_u64("CAIRN_SIM_WIDE") else {
        println!("CAIRN_SIM_WIDE unset: the wide slice runs in `cargo xtask test`");
        return;
    };
    let steps = env_u64("CAIRN_SIM_WIDE_STEPS").unwrap_or(10);
    simulate(&(0..n).collect::<Vec<_>>(), steps);
}

fn simulate(seeds: &[u64], steps: u64) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let started = Instant::now();
    let template = rt.block_on(Template::make());
    // Seeds are independent: each thread takes the next one, on a runtime of its own.
    let threads = env_u64("CAIRN_SIM_THREADS")
        .map(|t| t as usize)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .clamp(1, seeds.len());
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results: Vec<std::sync::Mutex<Option<Run>>> =
        seeds.iter().map(|_| std::sync::Mutex::new(None)).collect();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(&seed) = seeds.get(i) else { break };
                    let mut r = rt.block_on(run_seed(&template, seed, steps));
                    if r.problems.is_empty() {
                        r.trace = Vec::new(); // only a failing seed's trace is printed
                    }
                    *results[i].lock().unwrap() = Some(r);
                }
            });
        }
    });
    let mut total = Stats::default();
    let mut failing = Vec::new();
    let mut run_hash = 0xcbf2_9ce4_8422_2325u64;
    for (&seed, r) in seeds.iter().zip(results) {
        let r = r.into_inner().unwrap().expect("every seed ran");
        total.add(&r.stats);
        // The run's hash: every seed's trace hash folded in, in seed order.
        run_hash = (run_hash ^ r.hash).wrapping_mul(0x0100_0000_01b3);
        if seeds.len() <= 100 || std::env::var_os("CAIRN_SIM_VERBOSE").is_some() {
            println!(
                "seed {seed}: trace {:016x}, {} requests, {} divergences",
                r.hash, r.stats.requests, r.stats.divergences
            );
        }
        if !r.problems.is_empty() {
            println!("\nseed {seed} FAILED (trace {:016x}):", r.hash);
            for p in &r.problems {
                println!("  {p}");
            }
            println!(
                "  replay alone: CAIRN_SIM_SEED={seed} CAIRN_SIM_STEPS={steps} cargo test -p api --test sim -- --nocapture"
            );
            failing.push(seed);
        }
    }
    let elapsed = started.elapsed();
    // Same seed, same trace.
    let again = seeds[0];
    let (a, b) = (
        rt.block_on(run_seed(&template, again, steps)),
        rt.block_on(run_seed(&template, again, steps)),
    );
    assert_eq!(a.hash, b.hash, "seed {again} ran twice with two traces");
    println!(
        "\ncairn sim: {} seeds × {steps} steps in {elapsed:.1?} on {threads} threads ({:.2} seeds/s)",
        total.seeds,
        total.seeds as f64 / elapsed.as_secs_f64()
    );
    println!("  steps {}, requests {}", total.steps, total.requests);
    println!("  operations: {:?}", total.ops);
    println!("  faults injected: {:?}", total.faults);
    for (k, v) in &total.outcomes {
        println!("  outcome {k}: {v}");
    }
    println!(
        "  uploads started {}, ended: {:?}",
        total.edits_started, total.edits
    );
    println!("  divergences: {}", total.divergences);
    println!("  run hash (every seed's trace): {run_hash:016x}");
    println!(
        "  seed {again} twice: trace {:016x} = {:016x}",
        a.hash, b.hash
    );
    if let Some(&seed) = failing.first() {
        let (len, trace) = shrink(&rt, &template, seed, steps);
        println!("\nseed {seed} still fails with {len} steps; its trace:");
        for l in &trace {
            println!("  {l}");
        }
        println!("  replay: CAIRN_SIM_SEED={seed} CAIRN_SIM_STEPS={len} cargo test -p api --test sim -- --nocapture");
    }
    assert!(failing.is_empty(), "failing seeds: {failing:?}");
}
