//! `fault-proxy`: the [`fault_proxy::Proxy`] as a process, for tests that are not Rust (the
//! browser tests under `tests/e2e`). Driven through stdin so the test owns its lifetime:
//! it exits when stdin closes.
//!
//! ```text
//! fault-proxy --upstream 127.0.0.1:PORT [--seed S] [--latency-ms N] [--reset P]
//!             [--truncate P] [--stall P --stall-ms N]
//! ```
//!
//! Prints `listening on 127.0.0.1:PORT`, then reads lines: `reset` (reset every open
//! connection), `faults off`, `faults on`, `upstream 127.0.0.1:PORT`, and `stats` (answered
//! with one JSON line). stdout carries nothing else; notes go to stderr.

use std::net::SocketAddr;
use std::time::Duration;

use fault_proxy::{Faults, Proxy, Stats};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

const USAGE: &str = "usage: fault-proxy --upstream 127.0.0.1:PORT [--seed S] [--latency-ms N] \
                     [--reset P] [--truncate P] [--stall P --stall-ms N]";

fn parse(args: &[String]) -> Result<(SocketAddr, Faults), String> {
    let mut upstream = None;
    let mut faults = Faults::default();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        let bad = |e: &dyn std::fmt::Display| format!("{flag} {value}: {e}");
        let ms = |v: &str| v.parse().map(Duration::from_millis).map_err(|e| bad(&e));
        let chance = |v: &str| match v.parse::<f64>() {
            Ok(p) if (0.0..=1.0).contains(&p) => Ok(p),
            Ok(_) => Err(bad(&"a chance is between 0 and 1")),
            Err(e) => Err(bad(&e)),
        };
        match flag.as_str() {
            "--upstream" => upstream = Some(value.parse().map_err(|e| bad(&e))?),
            "--seed" => faults.seed = value.parse().map_err(|e| bad(&e))?,
            "--latency-ms" => faults.latency = ms(value)?,
            "--reset" => faults.reset_chance = chance(value)?,
            "--truncate" => faults.truncate_chance = chance(value)?,
            "--stall" => faults.stall_chance = chance(value)?,
            "--stall-ms" => faults.stall = ms(value)?,
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    Ok((upstream.ok_or("--upstream is required")?, faults))
}

fn json(s: &Stats) -> String {
    format!(
        r#"{{"connections":{},"resets":{},"truncations":{},"stalls":{},"bytes_up":{},"bytes_down":{}}}"#,
        s.connections, s.resets, s.truncations, s.stalls, s.bytes_up, s.bytes_down
    )
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (upstream, faults) = match parse(&args) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("{e}\n{USAGE}");
            std::process::exit(2);
        }
    };
    let proxy = match Proxy::start(upstream, faults.clone()).await {
        Ok(p) => p,
        Err(e) => {
            eprintln!("fault-proxy: {e}");
            std::process::exit(1);
        }
    };
    let mut out = tokio::io::stdout();
    let say = |line: String| format!("{line}\n").into_bytes();
    let _ = out
        .write_all(&say(format!("listening on {}", proxy.addr())))
        .await;
    let _ = out.flush().await;
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        match line.trim() {
            "" => {}
            "reset" => eprintln!("fault-proxy: reset {} connections", proxy.reset_all()),
            // Off keeps the seed, so on starts the same sequence again.
            "faults off" => proxy.set_faults(Faults {
                seed: faults.seed,
                ..Faults::default()
            }),
            "faults on" => proxy.set_faults(faults.clone()),
            "stats" => {
                let _ = out.write_all(&say(json(&proxy.stats()))).await;
                let _ = out.flush().await;
            }
            other => match other
                .strip_prefix("upstream ")
                .map(str::parse::<SocketAddr>)
            {
                Some(Ok(addr)) if addr.ip().is_loopback() => proxy.set_upstream(addr),
                _ => eprintln!("fault-proxy: unknown or bad command {other:?}"),
            },
        }
    }
}
