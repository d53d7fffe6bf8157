//! `nt-bench`: measures the real `neural-trader-mcp` binary through MCP, side
//! by side with a bare rmcp server (`nt-bench-bare`, one `ping` tool, no
//! storage or audit) so the runtime's cost shows as a ratio.
//!
//! Reports: time from process start to the first `tools/list` answer;
//! sequential `ping` calls/s with p50/p99 over stdio; the same over
//! streamable HTTP with 64 concurrent sessions; peak RSS; paper orders/s
//! through MCP, beside the bare server's `ping` at the same concurrency.
//!
//! `cargo build --release -p neural-trader-mcp -p nt-bench && target/release/nt-bench`
//! (flags: `--server PATH`, `--bare PATH`, `--calls N`, `--sessions N`,
//! `--http-calls N`, `--starts N`, `--orders N`, `--in-flight N`,
//! `--only startup,stdio,http,orders`).

mod scenarios;
mod target;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::scenarios::Rates;
use crate::target::Target;

/// What to run and how much of it.
#[derive(Debug, Clone)]
pub struct Options {
    server: PathBuf,
    bare: PathBuf,
    calls: usize,
    sessions: usize,
    http_calls: usize,
    starts: usize,
    orders: usize,
    in_flight: usize,
    only: Option<Vec<String>>,
}

impl Options {
    /// Whether the scenario `name` is to run (`--only` lists them; all by default).
    fn runs(&self, name: &str) -> bool {
        self.only
            .as_ref()
            .is_none_or(|names| names.iter().any(|n| n == name))
    }
}

fn options() -> Result<Options> {
    let exe = std::env::current_exe()?;
    let mut opts = Options {
        server: exe.with_file_name("neural-trader-mcp"),
        bare: exe.with_file_name("nt-bench-bare"),
        calls: 5000,
        sessions: 64,
        http_calls: 200,
        starts: 20,
        orders: 8000,
        in_flight: 8,
        only: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--server" => opts.server = PathBuf::from(value),
            "--bare" => opts.bare = PathBuf::from(value),
            "--calls" => opts.calls = value.parse()?,
            "--sessions" => opts.sessions = value.parse()?,
            "--http-calls" => opts.http_calls = value.parse()?,
            "--starts" => opts.starts = value.parse()?,
            "--orders" => opts.orders = value.parse()?,
            "--in-flight" => opts.in_flight = value.parse()?,
            "--only" => {
                let names: Vec<String> = value.split(',').map(|n| n.trim().to_string()).collect();
                if let Some(bad) = names
                    .iter()
                    .find(|n| !["startup", "stdio", "http", "orders"].contains(&n.as_str()))
                {
                    bail!("--only takes startup, stdio, http, orders (got `{bad}`)");
                }
                opts.only = Some(names);
            }
            other => bail!("unknown flag {other}"),
        }
    }
    for path in [&opts.server, &opts.bare] {
        if !path.exists() {
            bail!(
                "binary not found at {} (build it or pass --server / --bare)",
                path.display()
            );
        }
    }
    Ok(opts)
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn mib(kib: Option<u64>) -> String {
    kib.map(|k| format!("{:.1} MiB", k as f64 / 1024.0))
        .unwrap_or_else(|| "-".into())
}

/// One report line: metric, project, bare, ratio (project / bare), goal.
fn row(metric: &str, project: String, bare: String, ratio: Option<f64>, goal: &str) {
    let ratio = ratio
        .map(|r| format!("{r:.2}x"))
        .unwrap_or_else(|| "-".into());
    println!("{metric:<34} {project:>14} {bare:>14} {ratio:>8}   {goal}");
}

fn rate_rows(what: &str, p: Rates, b: Rates, goal: &str, p99_goal: &str) {
    row(
        &format!("{what} calls/s"),
        format!("{:.0}", p.per_sec),
        format!("{:.0}", b.per_sec),
        Some(p.per_sec / b.per_sec),
        goal,
    );
    row(
        &format!("{what} p50"),
        ms(p.p50),
        ms(b.p50),
        Some(p.p50.as_secs_f64() / b.p50.as_secs_f64()),
        "",
    );
    row(
        &format!("{what} p99"),
        ms(p.p99),
        ms(b.p99),
        Some(p.p99.as_secs_f64() / b.p99.as_secs_f64()),
        p99_goal,
    );
    row(
        &format!("{what} server peak RSS"),
        mib(p.rss_kib),
        mib(b.rss_kib),
        match (p.rss_kib, b.rss_kib) {
            (Some(p), Some(b)) => Some(p as f64 / b as f64),
            _ => None,
        },
        "",
    );
}

#[tokio::main]
async fn main() -> Result<()> {
    // reqwest is built without a bundled crypto provider in this workspace.
    nt_venue_http::install_crypto_provider();
    let opts = options()?;
    let project = Target {
        name: "project",
        exe: opts.server.clone(),
        project: true,
    };
    let bare = Target {
        name: "bare",
        exe: opts.bare.clone(),
        project: false,
    };
    println!("project: {}", project.exe.display());
    println!("bare:    {}", bare.exe.display());
    println!(
        "{:<34} {:>14} {:>14} {:>8}   goal",
        "metric", "project", "bare rmcp", "ratio"
    );
    if opts.runs("startup") {
        let (sp, sb) = (
            scenarios::startup(&opts, &project).await?,
            scenarios::startup(&opts, &bare).await?,
        );
        row(
            &format!("start -> tools/list p50 ({})", opts.starts),
            ms(sp),
            ms(sb),
            Some(sp.as_secs_f64() / sb.as_secs_f64()),
            "<= 3x",
        );
    }
    if opts.runs("stdio") {
        let (p, b) = (
            scenarios::stdio_calls(&opts, &project).await?,
            scenarios::stdio_calls(&opts, &bare).await?,
        );
        rate_rows(&format!("stdio ping x{}", opts.calls), p, b, ">= 0.8x", "");
    }
    if opts.runs("http") {
        let (p, b) = (
            scenarios::http_calls(&opts, &project).await?,
            scenarios::http_calls(&opts, &bare).await?,
        );
        rate_rows(
            &format!("http ping {} sessions", opts.sessions),
            p,
            b,
            ">= 0.8x",
            "< 10 ms",
        );
    }
    if opts.runs("orders") {
        let orders = scenarios::paper_orders(&opts, &project).await?;
        let floor = scenarios::pings_in_flight(&opts, &bare).await?;
        row(
            &format!("paper orders/s ({} in flight)", opts.in_flight),
            format!("{:.0}", orders.per_sec),
            format!("{:.0} ping", floor.per_sec),
            Some(orders.per_sec / floor.per_sec),
            ">= 5000",
        );
        row(
            "paper order p50 / p99",
            format!("{} / {}", ms(orders.p50), ms(orders.p99)),
            format!("{} / {}", ms(floor.p50), ms(floor.p99)),
            None,
            "",
        );
    }
    Ok(())
}
