//! `neural-trader-mcp`: one binary for every server variant. A variant is a
//! manifest (embedded, or a file) over the bundles this binary links.

mod catalog;
mod manifests;
mod token;

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use nt_mcp_core::manifest::Manifest;
use nt_mcp_core::registry::{Runtime, RuntimeOptions};
use nt_mcp_core::store::default_sqlite_url;
use nt_mcp_core::transport::http::{HttpOptions, HttpServer};
use tokio_util::sync::CancellationToken;

/// Command line.
#[derive(Debug, Parser)]
#[command(
    name = "neural-trader-mcp",
    version,
    about = "MCP tool servers for trading agents"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve a variant over stdio (default) or HTTP (--listen).
    Serve(ServeArgs),
    /// List the embedded variant manifests.
    Manifests,
    /// List the tools a variant serves.
    Tools(ServeArgs),
    /// Mint bearer tokens for agents (swarm operators).
    #[command(subcommand)]
    Token(TokenCommand),
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Sign a JWT with a subject, scopes and a lifetime; prints it.
    Issue(token::IssueArgs),
}

#[derive(Debug, Args, Clone)]
struct ServeArgs {
    /// Embedded variant to serve (see `manifests`).
    #[arg(
        long,
        env = "NT_VARIANT",
        default_value = "integrated",
        conflicts_with = "manifest"
    )]
    variant: String,
    /// Manifest file to serve instead of an embedded variant.
    #[arg(long, env = "NT_MANIFEST")]
    manifest: Option<PathBuf>,
    /// Database URL: sqlite://path, sqlite::memory:, postgres://... (default: a SQLite file in the user's data dir).
    #[arg(long, env = "NT_DB")]
    db: Option<String>,
    /// Serve streamable HTTP on this address (endpoint /mcp) instead of stdio.
    #[arg(long, env = "NT_LISTEN")]
    listen: Option<SocketAddr>,
    /// Enable trading on live venues (also `[trading] live = true` in the manifest).
    #[arg(long, env = "NT_LIVE_TRADING")]
    live_trading: bool,
    /// Allow serving a non-loopback address without auth.
    #[arg(long)]
    allow_unauthenticated_remote: bool,
    /// Extra Host header values to accept over HTTP (public host names).
    #[arg(long = "allowed-host")]
    allowed_hosts: Vec<String>,
    /// Who the stdio caller is; with `[accounts] per_caller = true` it names
    /// the caller's own paper account, wallet and fantasy identity.
    #[arg(long, env = "NT_ACCOUNT")]
    account: Option<String>,
}

fn load_manifest(args: &ServeArgs) -> Result<Manifest> {
    match &args.manifest {
        Some(path) => Ok(Manifest::load(path)?),
        None => {
            let Some(text) = manifests::embedded(&args.variant) else {
                bail!(
                    "unknown variant `{}`; embedded variants: {}",
                    args.variant,
                    manifests::names().join(", ")
                );
            };
            Ok(Manifest::parse(
                &format!("<embedded:{}>", args.variant),
                text,
            )?)
        }
    }
}

async fn build_runtime(args: &ServeArgs) -> Result<std::sync::Arc<Runtime>> {
    let manifest = load_manifest(args)?;
    let url = args.db.clone().unwrap_or_else(default_sqlite_url);

    let options = RuntimeOptions {
        live_trading: args.live_trading,
        stdio_account: args.account.clone(),
    };
    let rt = Runtime::open_and_build(manifest, &catalog::catalog(), &url, options)
        .await
        .with_context(|| format!("starting on {}", nt_mcp_core::store::redact(&url)))?;
    // The database opens in the background while the client connects; a
    // server whose database cannot open says why and stops.
    let watched = rt.clone();
    tokio::spawn(async move {
        if let Err(err) = watched.ready().await {
            eprintln!(
                "Error: starting on {}: {err}",
                nt_mcp_core::store::redact(&url)
            );
            std::process::exit(1);
        }
    });
    Ok(rt)
}

async fn serve(args: ServeArgs) -> Result<()> {
    let rt = build_runtime(&args).await?;
    tracing::info!(
        variant = %rt.manifest.name,
        tools = rt.tools.len(),
        store = %rt.store.url_redacted(),
        "runtime ready"
    );
    match args.listen {
        None => nt_mcp_core::transport::stdio::serve_stdio(rt.clone()).await?,
        Some(listen) => {
            let shutdown = CancellationToken::new();
            let server = HttpServer::bind(
                rt.clone(),
                HttpOptions {
                    listen,
                    allow_unauthenticated_remote: args.allow_unauthenticated_remote,
                    allowed_hosts: args.allowed_hosts.clone(),
                },
                shutdown.clone(),
            )
            .await?;
            // Tests and scripts read this line to find the port.
            eprintln!("listening on http://{}/mcp", server.local_addr);
            let signal = shutdown.clone();
            tokio::spawn(async move {
                shutdown_signal().await;
                tracing::info!("shutting down");
                signal.cancel();
            });
            server.serve(shutdown).await?;
        }
    }
    // A session that ended before the database opened still reports it.
    rt.ready().await?;
    Ok(())
}

/// Resolves on Ctrl-C or, on Unix, SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut stream) => {
                stream.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}

async fn list_tools(args: ServeArgs) -> Result<()> {
    let rt = build_runtime(&ServeArgs {
        db: Some(args.db.clone().unwrap_or_else(|| "sqlite::memory:".into())),
        ..args
    })
    .await?;
    for tool in &rt.tools {
        println!(
            "{:<32} {:<12} {:>6}s  {}",
            tool.served_name,
            tool.bundle.name(),
            tool.deadline.as_secs_f64(),
            tool.spec.description.lines().next().unwrap_or("")
        );
    }
    Ok(())
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    // Serving and listing read the tool schemas cached by the last start
    // while logging and the async runtime start.
    if matches!(
        cli.command,
        None | Some(Command::Serve(_) | Command::Tools(_))
    ) {
        nt_mcp_core::schema::prefetch();
    }
    // Serving logs its start-up; the listing commands print only their answer.
    let default_filter = match cli.command {
        None | Some(Command::Serve(_)) => "warn,nt_mcp_core=info,neural_trader_mcp=info",
        Some(_) => "warn",
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| default_filter.into()),
        )
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        match cli.command {
            Some(Command::Manifests) => {
                for name in manifests::names() {
                    let text = manifests::embedded(name).unwrap_or_default();
                    let manifest = Manifest::parse(name, text)?;
                    let bundles: Vec<&str> = manifest
                        .bundles
                        .iter()
                        .map(|b| b.get_ref().as_str())
                        .collect();
                    println!(
                        "{:<18} bundles: system, {}",
                        name,
                        if bundles.is_empty() {
                            "-".to_string()
                        } else {
                            bundles.join(", ")
                        }
                    );
                }
                Ok(())
            }
            Some(Command::Tools(args)) => list_tools(args).await,
            Some(Command::Token(TokenCommand::Issue(args))) => token::issue_token(&args),
            Some(Command::Serve(args)) => serve(args).await,
            None => serve(cli.serve).await,
        }
    })
}
