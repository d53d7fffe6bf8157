//! The measurements: start-up, stdio and HTTP call rates, and paper orders
//! through MCP, each run against one [`Target`].

use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use rmcp::ServiceExt;
use rmcp::model::CallToolRequestParams;
use rmcp::transport::{ConfigureCommandExt, StreamableHttpClientTransport, TokioChildProcess};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::Options;
use crate::target::Target;

/// A rate with its latency percentiles and the server's peak memory.
#[derive(Debug, Clone, Copy)]
pub struct Rates {
    /// Calls (or orders) per second.
    pub per_sec: f64,
    /// Median latency.
    pub p50: Duration,
    /// 99th percentile latency.
    pub p99: Duration,
    /// Peak resident set of the server, KiB.
    pub rss_kib: Option<u64>,
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

/// A scratch folder and a SQLite file URL in it, for one scenario.
fn scratch_db(tag: &str, target: &Target) -> Result<(std::path::PathBuf, String)> {
    let dir = std::env::temp_dir().join(format!(
        "nt-bench-{tag}-{}-{}",
        target.name,
        std::process::id()
    ));
    std::fs::create_dir_all(&dir)?;
    let db = format!("sqlite://{}", dir.join("bench.db").display());
    Ok((dir, db))
}

/// Starts `target` on stdio over `db` (stderr discarded) and connects.
async fn stdio_session(
    target: &Target,
    db: &str,
) -> Result<(
    rmcp::service::RunningService<rmcp::RoleClient, ()>,
    Option<u32>,
)> {
    let (transport, _) =
        TokioChildProcess::builder(tokio::process::Command::new(&target.exe).configure(|c| {
            c.args(target.stdio_args(db)).env("RUST_LOG", "error");
        }))
        .stderr(Stdio::null())
        .spawn()?;
    let pid = transport.id();
    Ok((().serve(transport).await?, pid))
}

/// Median time from process start to the first `tools/list` answer, on a
/// database file that already exists (a returning user's `state.db`: its
/// migrations are applied, start-up only checks them). The first start,
/// which creates the file, is not counted.
pub async fn startup(opts: &Options, target: &Target) -> Result<Duration> {
    let dir = std::env::temp_dir().join(format!(
        "nt-bench-start-{}-{}",
        target.name,
        std::process::id()
    ));
    std::fs::create_dir_all(&dir)?;
    let db = format!("sqlite://{}", dir.join("state.db").display());
    let mut samples = Vec::new();
    for round in 0..=opts.starts {
        let started = Instant::now();
        let transport =
            TokioChildProcess::new(tokio::process::Command::new(&target.exe).configure(|c| {
                c.args(target.stdio_args(&db)).env("RUST_LOG", "error");
            }))?;
        let client = ().serve(transport).await?;
        let tools = client.list_all_tools().await?;
        if round > 0 {
            samples.push(started.elapsed());
        }
        anyhow::ensure!(!tools.is_empty(), "no tools listed");
        client.cancel().await?;
    }
    let _ = std::fs::remove_dir_all(&dir);
    samples.sort();
    Ok(percentile(&samples, 50.0))
}

/// Sequential `ping` over stdio: calls/s, p50, p99, peak RSS (KiB).
pub async fn stdio_calls(opts: &Options, target: &Target) -> Result<Rates> {
    let (dir, db) = scratch_db("stdio", target)?;
    let (client, pid) = stdio_session(target, &db).await?;
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
    Ok(Rates {
        per_sec: opts.calls as f64 / total.as_secs_f64(),
        p50: percentile(&lat, 50.0),
        p99: percentile(&lat, 99.0),
        rss_kib: rss,
    })
}

/// `ping` from concurrent HTTP sessions: calls/s, p50, p99, peak RSS.
pub async fn http_calls(opts: &Options, target: &Target) -> Result<Rates> {
    let dir = std::env::temp_dir().join(format!(
        "nt-bench-http-{}-{}",
        target.name,
        std::process::id()
    ));
    std::fs::create_dir_all(&dir)?;
    let db = format!("sqlite://{}", dir.join("bench.db").display());
    let mut child = tokio::process::Command::new(&target.exe)
        .args(target.http_args(&db))
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
    Ok(Rates {
        per_sec: lat.len() as f64 / total.as_secs_f64(),
        p50: percentile(&lat, 50.0),
        p99: percentile(&lat, 99.0),
        rss_kib: rss,
    })
}

/// Market orders that fill, for the paper-order scenario: even numbers buy
/// one share, odd ones sell it, so positions stay bounded and no sell is
/// ever short.
fn order(i: usize) -> CallToolRequestParams {
    let args = serde_json::json!({
        "client_order_id": format!("bench-{i}"),
        "symbol": "SHOP.TO",
        "side": if i.is_multiple_of(2) { "buy" } else { "sell" },
        "qty": "1",
    });
    CallToolRequestParams::new("broker_place_order")
        .with_arguments(args.as_object().cloned().unwrap_or_default())
}

/// Paper orders through MCP over stdio on a SQLite file: `in_flight` tasks
/// each place market orders that fill (compliance, the order's transaction
/// and its hash-chained audit) on one session. Orders/s and latency
/// percentiles.
pub async fn paper_orders(opts: &Options, target: &Target) -> Result<Rates> {
    in_flight(opts, target, "orders", order).await
}

/// The floor for [`paper_orders`]: `ping` from as many tasks in flight on
/// one stdio session (the bare server has no orders to place).
pub async fn pings_in_flight(opts: &Options, target: &Target) -> Result<Rates> {
    in_flight(opts, target, "pings", |_| ping()).await
}

/// `opts.in_flight` tasks sharing one stdio session, each making its share
/// of `opts.orders` calls, the `i`-th built by `call(i)`.
async fn in_flight(
    opts: &Options,
    target: &Target,
    tag: &str,
    call: fn(usize) -> CallToolRequestParams,
) -> Result<Rates> {
    let (dir, db) = scratch_db(tag, target)?;
    let (client, pid) = stdio_session(target, &db).await?;
    let client = std::sync::Arc::new(client);
    // Warm up (opens the paper account) and check the calls are accepted.
    for i in [usize::MAX - 1, usize::MAX] {
        let answer = client.call_tool(call(i)).await?;
        if answer.is_error == Some(true) {
            bail!("the {tag} call was refused: {:?}", answer.content);
        }
    }
    let per_task = (opts.orders / opts.in_flight.max(1)) & !1;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for t in 0..opts.in_flight.max(1) {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(per_task);
            for k in 0..per_task {
                let t0 = Instant::now();
                let answer = client.call_tool(call(t * per_task + k)).await?;
                if answer.is_error == Some(true) {
                    bail!("call refused: {:?}", answer.content);
                }
                lat.push(t0.elapsed());
            }
            anyhow::Ok(lat)
        }));
    }
    let mut lat = Vec::new();
    for task in tasks {
        lat.extend(task.await??);
    }
    let total = started.elapsed();
    let rss = pid.and_then(peak_rss_kib);
    if let Ok(client) = std::sync::Arc::try_unwrap(client) {
        client.cancel().await?;
    }
    let _ = std::fs::remove_dir_all(&dir);
    lat.sort();
    Ok(Rates {
        per_sec: lat.len() as f64 / total.as_secs_f64(),
        p50: percentile(&lat, 50.0),
        p99: percentile(&lat, 99.0),
        rss_kib: rss,
    })
}
