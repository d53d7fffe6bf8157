//! `nt-bench`: measures the real `neural-trader-mcp` binary through MCP.
//!
//! Reports: time from process start to the first `tools/list` answer;
//! sequential `ping` calls/s with p50/p99 over stdio; the same over
//! streamable HTTP with 64 concurrent sessions; peak RSS of the server.
//!
//! `cargo build --release -p neural-trader-mcp -p nt-bench && target/release/nt-bench`
//! (flags: `--server PATH`, `--calls N`, `--sessions N`, `--http-calls N`).

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use rmcp::ServiceExt;
use rmcp::model::CallToolRequestParams;
use rmcp::transport::{ConfigureCommandExt, StreamableHttpClientTransport, TokioChildProcess};
use tokio::io::{AsyncBufReadExt, BufReader};

struct Options {
    server: PathBuf,
    calls: usize,
    sessions: usize,
    http_calls: usize,
    starts: usize,
}

fn options() -> Result<Options> {
    let exe = std::env::current_exe()?;
    let mut opts = Options {
        server: exe.with_file_name("neural-trader-mcp"),
        calls: 5000,
        sessions: 64,
        http_calls: 200,
        starts: 20,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--server" => opts.server = PathBuf::from(value),
            "--calls" => opts.calls = value.parse()?,
            "--sessions" => opts.sessions = value.parse()?,
            "--http-calls" => opts.http_calls = value.parse()?,
            "--starts" => opts.starts = value.parse()?,
            other => bail!("unknown flag {other}"),
        }
    }
    if !opts.server.exists() {
        bail!(
            "server binary not found at {} (build it or pass --server)",
            opts.server.display()
        );
    }
    Ok(opts)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn ping() -> CallToolRequestParams {
    CallToolRequestParams::new("ping")
}

/// Peak resident set of a process, in KiB (Linux `VmHWM`).
fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

async fn startup(opts: &Options) -> Result<Duration> {
    let mut samples = Vec::new();
    for _ in 0..opts.starts {
        let started = Instant::now();
        let transport =
            TokioChildProcess::new(tokio::process::Command::new(&opts.server).configure(|c| {
                c.args(["serve", "--db", "sqlite::memory:"])
                    .env("RUST_LOG", "error");
            }))?;
        let client = ().serve(transport).await?;
        let tools = client.list_all_tools().await?;
        samples.push(started.elapsed());
        anyhow::ensure!(!tools.is_empty(), "no tools listed");
        client.cancel().await?;
    }
    samples.sort();
    Ok(percentile(&samples, 50.0))
}

async fn stdio_calls(opts: &Options) -> Result<(f64, Duration, Duration, Option<u64>)> {
    let dir = std::env::temp_dir().join(format!("nt-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let db = format!("sqlite://{}", dir.join("bench.db").display());
    let (transport, _) =
        TokioChildProcess::builder(tokio::process::Command::new(&opts.server).configure(|c| {
            c.args(["serve", "--db", &db]).env("RUST_LOG", "error");
        }))
        .stderr(Stdio::null())
        .spawn()?;
    let pid = transport.id();
    let client = ().serve(transport).await?;
    for _ in 0..100 {
        client.call_tool(ping()).await?;
    }
    let mut lat = Vec::with_capacity(opts.calls);
    let started = Instant::now();
    for _ in 0..opts.calls {
        let t = Instant::now();
        client.call_tool(ping()).await?;
        lat.push(t.elapsed());
    }
    let total = started.elapsed();
    let rss = pid.and_then(peak_rss_kib);
    client.cancel().await?;
    let _ = std::fs::remove_dir_all(&dir);
    lat.sort();
    Ok((
        opts.calls as f64 / total.as_secs_f64(),
        percentile(&lat, 50.0),
        percentile(&lat, 99.0),
        rss,
    ))
}

async fn http_calls(opts: &Options) -> Result<(f64, Duration, Duration, Option<u64>)> {
    let dir = std::env::temp_dir().join(format!("nt-bench-http-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let db = format!("sqlite://{}", dir.join("bench.db").display());
    let mut child = tokio::process::Command::new(&opts.server)
        .args(["serve", "--db", &db, "--listen", "127.0.0.1:0"])
        .env("RUST_LOG", "error")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let pid = child.id();
    let mut lines = BufReader::new(child.stderr.take().context("stderr")?).lines();
    let url = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await? {
            if let Some(url) = line.strip_prefix("listening on ") {
                return Ok(url.trim().to_string());
            }
        }
        bail!("server exited before listening")
    })
    .await??;
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });

    let mut clients = Vec::new();
    for _ in 0..opts.sessions {
        let transport = StreamableHttpClientTransport::from_uri(url.clone());
        let client = ().serve(transport).await?;
        client.call_tool(ping()).await?;
        clients.push(client);
    }
    let started = Instant::now();
    let mut tasks = Vec::new();
    for client in clients {
        let n = opts.http_calls;
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(n);
            for _ in 0..n {
                let t = Instant::now();
                client.call_tool(ping()).await?;
                lat.push(t.elapsed());
            }
            client.cancel().await?;
            anyhow::Ok(lat)
        }));
    }
    let mut lat = Vec::new();
    for task in tasks {
        lat.extend(task.await??);
    }
    let total = started.elapsed();
    let rss = pid.and_then(peak_rss_kib);
    let _ = child.kill().await;
    let _ = std::fs::remove_dir_all(&dir);
    lat.sort();
    Ok((
        lat.len() as f64 / total.as_secs_f64(),
        percentile(&lat, 50.0),
        percentile(&lat, 99.0),
        rss,
    ))
}

#[tokio::main]
async fn main() -> Result<()> {
    // reqwest is built without a bundled crypto provider in this workspace.
    nt_venue_http::install_crypto_provider();
    let opts = options()?;
    println!("server: {}", opts.server.display());
    let start = startup(&opts).await?;
    println!(
        "start -> first tools/list answer: p50 {:.2} ms over {} starts",
        start.as_secs_f64() * 1e3,
        opts.starts
    );
    let (rate, p50, p99, rss) = stdio_calls(&opts).await?;
    println!(
        "stdio sequential ping: {:.0} calls/s, p50 {:.0} us, p99 {:.0} us ({} calls, audit on, SQLite file)",
        rate,
        p50.as_secs_f64() * 1e6,
        p99.as_secs_f64() * 1e6,
        opts.calls
    );
    if let Some(kib) = rss {
        println!("stdio server peak RSS: {:.1} MiB", kib as f64 / 1024.0);
    }
    let (rate, p50, p99, rss) = http_calls(&opts).await?;
    println!(
        "http ping, {} concurrent sessions x {} calls: {:.0} calls/s, p50 {:.0} us, p99 {:.0} us",
        opts.sessions,
        opts.http_calls,
        rate,
        p50.as_secs_f64() * 1e6,
        p99.as_secs_f64() * 1e6
    );
    if let Some(kib) = rss {
        println!("http server peak RSS: {:.1} MiB", kib as f64 / 1024.0);
    }
    Ok(())
}
