//! The `cairn` binary: its command line (`api::cli`) chooses between serving (the default:
//! load settings, open the stores, serve until Ctrl-C or SIGTERM) and an operator's command
//! (`api::admin`, `api::scrub`).

use anyhow::Context;
use api::cli::{Cli, Command};
use clap::Parser;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn")),
        )
        .init();
    let cli = Cli::parse();
    let settings = cli.place.settings()?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(settings).await,
        Command::Admin(command) => api::admin::run(command, &settings).await,
        Command::Gc => api::admin::gc(settings).await,
        Command::Scrub => scrub(settings).await,
        Command::Stats { json } => api::admin::stats(&settings, json).await,
        Command::Backup { to } => api::admin::backup(&settings, &to).await,
        Command::Migrate => api::admin::migrate(&settings).await,
    }
}

async fn serve(settings: api::Settings) -> anyhow::Result<()> {
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

/// `cairn scrub`: one pass of the scrubber over the store the settings name, beside a running
/// server or not; exits 1 when it found damage (for cron and monitoring).
async fn scrub(mut settings: api::Settings) -> anyhow::Result<()> {
    settings.gc_interval = std::time::Duration::ZERO;
    settings.scrub_interval = std::time::Duration::ZERO;
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
