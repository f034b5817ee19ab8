//! `pixelkeep-proxy`: reads flags and environment, binds, serves until SIGTERM or ctrl-c,
//! then finishes the requests in flight.
use clap::Parser;
use pixelkeep_proxy::config::{Cli, Command};
use pixelkeep_proxy::{app, nodelay, security, AppState};
use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::process::ExitCode;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Command::Token(args)) = cli.command {
        println!("{}", security::mint(&args.secret, &args.site, &args.providers, args.ttl));
        return ExitCode::SUCCESS;
    }
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal()) // no escape codes in log files
        .init();
    let (addr, public) = (cli.serve.addr, cli.serve.public);
    let config = cli.serve.into_config();
    if config.token_secret.is_none() {
        if !addr.ip().is_loopback() && !public {
            eprintln!(
                "pixelkeep: refusing to serve {addr} without PIXELKEEP_TOKEN_SECRET: anyone could spend your provider keys. \
                 Set a token secret, bind to 127.0.0.1, or pass --public (PIXELKEEP_PUBLIC=1) to accept that."
            );
            return ExitCode::FAILURE;
        }
        tracing::warn!("no PIXELKEEP_TOKEN_SECRET: the API is open to anyone who can reach {addr}");
    }
    if let Some(www) = config.www.as_ref().filter(|w| !w.is_dir()) {
        tracing::warn!("the static directory {} does not exist; only the API is served", www.display());
    }
    let providers = AppState::new(config.clone()).provider_ids().join(", ");
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("pixelkeep: cannot listen on {addr}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let bound = listener.local_addr().unwrap_or(addr);
    let note = if config.gemini.is_none() && config.openai.is_none() {
        "local engine; no API key needed"
    } else {
        "providers"
    };
    println!("pixelkeep: serving http://{bound} ({note}: {providers})");
    let _ = std::io::stdout().flush();
    let service = app(config).into_make_service_with_connect_info::<SocketAddr>();
    if let Err(e) = axum::serve(nodelay(listener), service).with_graceful_shutdown(shutdown()).await {
        eprintln!("pixelkeep: server error: {e}");
        return ExitCode::FAILURE;
    }
    tracing::info!("stopped");
    ExitCode::SUCCESS
}

/// Resolves on ctrl-c or SIGTERM; axum then stops accepting and drains in-flight requests.
async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down: finishing requests in flight");
}
