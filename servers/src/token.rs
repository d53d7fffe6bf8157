//! `neural-trader-mcp token issue`: mints a JWT for one agent of a swarm, so
//! an operator can hand each agent its own subject and scopes.

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use clap::Args;
use nt_mcp_core::middleware::token::{TokenRequest, issue};
use nt_mcp_core::settings::parse_duration;

/// Arguments of `token issue`.
#[derive(Debug, Args, Clone)]
pub struct IssueArgs {
    /// The agent's name (the token's `sub`): its jobs, rate limit, sessions
    /// and, with per-caller accounts, its own accounts.
    #[arg(long)]
    sub: String,
    /// Space-separated scopes: read, trade, admin.
    #[arg(long, default_value = "read")]
    scope: String,
    /// How long the token is valid: 30m, 1h, 7d, or seconds.
    #[arg(long, default_value = "1h")]
    ttl: String,
    /// Signing algorithm; HS* sign with the secret in $NT_JWT_SECRET (or
    /// --secret-env), RS*/ES* with --private-key-file.
    #[arg(long, default_value = "HS256")]
    alg: String,
    /// Environment variable holding the HMAC secret.
    #[arg(long, default_value = "NT_JWT_SECRET")]
    secret_env: String,
    /// PEM private key for RS*/ES* (also $NT_JWT_PRIVATE_KEY_FILE).
    #[arg(long, env = "NT_JWT_PRIVATE_KEY_FILE")]
    private_key_file: Option<PathBuf>,
    /// `iss` claim, when the server's manifest requires one.
    #[arg(long)]
    iss: Option<String>,
    /// `aud` claim, when the server's manifest requires one.
    #[arg(long)]
    aud: Option<String>,
}

/// Prints a signed token on stdout.
pub fn issue_token(args: &IssueArgs) -> Result<()> {
    let ttl: Duration = parse_duration("--ttl", &args.ttl)?;
    let private_key_pem = match &args.private_key_file {
        Some(path) => Some(
            std::fs::read(path)
                .with_context(|| format!("reading private key {}", path.display()))?,
        ),
        None => None,
    };
    let token = issue(&TokenRequest {
        subject: args.sub.clone(),
        scope: args.scope.clone(),
        ttl,
        algorithm: args.alg.clone(),
        secret: std::env::var(&args.secret_env).ok().map(String::into_bytes),
        private_key_pem,
        issuer: args.iss.clone(),
        audience: args.aud.clone(),
        now_secs: SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs(),
    })?;
    println!("{token}");
    Ok(())
}
