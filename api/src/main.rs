//! The `cairn` binary: its command line (`api::cli`) chooses between serving (the default:
//! load settings, open the stores, serve until Ctrl-C or SIGTERM) and an operator's command
//! (`api::admin`, `api::scrub`).

use anyhow::Context;
use api::cli::{Cli, Command, LogFormat};
use clap::Parser;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    match cli.log_format()? {
        LogFormat::Text => tracing_subscriber::fmt().with_env_filter(filter).init(),
        // The request span (request id, method, route) rides on every line as `span`.
        LogFormat::Json => tracing_subscriber::fmt()
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .with_env_filter(filter)
            .init(),
    }
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
    let metrics_listener = match settings.metrics_addr {
        Some(a) => Some(
            tokio::net::TcpListener::bind(a)
                .await
                .with_context(|| format!("cannot listen for /metrics on {a}"))?,
        ),
        None => None,
    };
    // A bad certificate or key stops the start here, before anything else is opened.
    if let Some(files) = &settings.tls {
        api::tls::acceptor(files)?;
    }
    let settings_tls = settings.tls.is_some();
    let state = api::build_state(settings).await?;
    // Held while serving: a second node on the same PostgreSQL with a local chunk directory
    // (or one on S3 beside a local one) stops here, saying why.
    let _store = api::db::exclusive::claim_store(&state.db, state.settings.s3.is_none()).await?;
    if let Some(l) = metrics_listener {
        println!("cairn metrics on http://{}/metrics", l.local_addr()?);
        let state = state.clone();
        tokio::spawn(async move {
            if let Err(e) = api::serve_metrics(state, l).await {
                tracing::error!(error = %e, "the /metrics listener stopped");
            }
        });
    }
    // Tests and scripts read this line to learn the port when they asked for port 0.
    let scheme = if settings_tls { "https" } else { "http" };
    println!("cairn listening on {scheme}://{addr}");
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
