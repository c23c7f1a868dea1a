//! The `cairn` binary: load settings, open the stores, serve until Ctrl-C or SIGTERM; or,
//! as `cairn admin …`, an operator's command (`api::admin`); or, as `cairn scrub`, one pass of
//! the scrubber (`api::scrub`).

use anyhow::Context;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn")),
        )
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("admin") {
        return api::admin::run(args[1..].to_vec()).await;
    }
    if args.first().map(String::as_str) == Some("scrub") {
        return scrub(args[1..].to_vec()).await;
    }
    let settings = api::Settings::load(args)?;
    tracing::info!(?settings, "starting");
    let listener = tokio::net::TcpListener::bind(settings.addr)
        .await
        .with_context(|| format!("cannot listen on {}", settings.addr))?;
    let addr = listener.local_addr()?;
    let state = api::build_state(settings).await?;
    // Tests and scripts read this line to learn the port when they asked for port 0.
    println!("cairn listening on http://{addr}");
    api::serve(state, listener, shutdown_signal()).await
}

/// `cairn scrub [flags]`: one pass of the scrubber over the store the settings name, beside a
/// running server or not; exits 1 when it found damage (for cron and monitoring).
async fn scrub(flags: Vec<String>) -> anyhow::Result<()> {
    let settings = api::Settings::load(flags)?;
    let state = api::build_state(settings).await?;
    let report = api::scrub::run(&state).await?;
    println!("{report}");
    for hash in &report.corrupt {
        println!("corrupt: {hash}");
    }
    for hash in &report.missing {
        println!("missing: {hash}");
    }
    if !report.corrupt.is_empty() || !report.missing.is_empty() {
        std::process::exit(1);
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}
