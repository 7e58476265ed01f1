//! The `imgorigin` binary: parse the command line, set up logging, run a transport.

use anyhow::Context;
use clap::Parser;
use imgorigin::cli::{Cli, Command, ServeArgs};
use imgorigin::{server, Origin};
use std::io::Write;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    match cli.command {
        Some(Command::Serve(args)) => serve(args).await,
        None => {
            use clap::CommandFactory;
            Cli::command().print_help()?;
            std::process::exit(2);
        }
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let config = args.pipeline.config(&args.store.prefix)?;
    let store = args.store.open().await?;
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let addr = listener.local_addr()?;
    // Scripts read this line to find the port; flush so they see it at once.
    let mut out = std::io::stdout().lock();
    writeln!(out, "listening on http://{addr}")?;
    out.flush()?;
    drop(out);
    let drained = server::run(listener, Origin::new(store, config), shutdown_signal(), args.drain()).await;
    if !drained {
        tracing::warn!("drain period ended with responses still in flight");
    }
    Ok(())
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "cannot watch SIGTERM");
            std::future::pending::<()>().await;
            return;
        }
    };
    tokio::select! {
        _ = term.recv() => {},
        _ = tokio::signal::ctrl_c() => {},
    }
    tracing::info!("shutting down");
}
