//! The runtime's rules, in process through a real rmcp client over an
//! in-memory pipe: the live-trading gate, paper venues always allowed, rate
//! limits, a panicking tool leaving the session usable, renames and deny lists.

use std::sync::Arc;

use async_trait::async_trait;
use nt_mcp_core::bundle::{BundleSettings, VenueMode, VenueStatus};
use nt_mcp_core::manifest::Manifest;
use nt_mcp_core::registry::{BundleCatalog, Runtime, RuntimeOptions};
use nt_mcp_core::server::{McpServer, Transport};
use nt_mcp_core::{NoArgs, Store, ToolBundle, ToolCtx, ToolError, ToolOutput, ToolRouter, route};
use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::service::RunningService;
use rmcp::{RoleClient, ServiceExt};
use serde_json::json;

/// A bundle whose venue mode is chosen by the test.
struct VenueBundle {
    name: &'static str,
    mode: VenueMode,
}

#[async_trait]
impl ToolBundle for VenueBundle {
    fn name(&self) -> &'static str {
        self.name
    }

    fn routes(self: Arc<Self>) -> ToolRouter {
        let n = self.name;
        ToolRouter::new(
            self,
            [
                route(format!("{n}_place_order"), "Places an order.", done).trade(),
                route(format!("{n}_quote"), "Quotes.", done),
                route(format!("{n}_crash"), "Panics.", crash),
                route(
                    format!("{n}_search"),
                    "Searches on the CPU for 3 s.",
                    search,
                )
                .cpu_heavy(),
            ],
        )
    }

    fn venues(&self) -> Vec<VenueStatus> {
        vec![VenueStatus {
            name: format!("{}-venue", self.name),
            mode: self.mode,
        }]
    }
}

async fn done(_b: Arc<VenueBundle>, _input: NoArgs, ctx: ToolCtx) -> Result<ToolOutput, ToolError> {
    let tool = ctx.tool.to_string();
    Ok(ToolOutput::new(
        format!("{tool} done"),
        json!({"tool": tool}),
    ))
}

async fn crash(
    _b: Arc<VenueBundle>,
    _input: NoArgs,
    _ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    panic!("boom");
}

/// Pure CPU work for up to 3 s, stopping when cancelled: never awaits.
async fn search(
    _b: Arc<VenueBundle>,
    _input: NoArgs,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    let started = std::time::Instant::now();
    let mut x: u64 = 1;
    while started.elapsed() < std::time::Duration::from_secs(3) {
        ctx.check_cancelled()?;
        for i in 0..10_000u64 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(i);
        }
    }
    Ok(ToolOutput::new(format!("{x}"), json!({"x": x})))
}

fn catalog() -> BundleCatalog {
    BundleCatalog::new()
        .register("live", |_: &BundleSettings| {
            Ok(Arc::new(VenueBundle {
                name: "live",
                mode: VenueMode::Live,
            }) as Arc<dyn ToolBundle>)
        })
        .register("paper", |_: &BundleSettings| {
            Ok(Arc::new(VenueBundle {
                name: "paper",
                mode: VenueMode::Paper,
            }) as Arc<dyn ToolBundle>)
        })
}

async fn connect(manifest: &str, live_trading: bool) -> RunningService<RoleClient, ()> {
    let manifest = Manifest::parse("test.toml", manifest).expect("manifest");
    let store = Store::open("sqlite::memory:").await.expect("store");
    let rt = Runtime::build(
        manifest,
        &catalog(),
        store,
        RuntimeOptions {
            live_trading,
            ..RuntimeOptions::default()
        },
    )
    .await
    .expect("runtime");
    let (server_io, client_io) = tokio::io::duplex(64 * 1024);
    tokio::spawn(async move {
        if let Ok(running) = McpServer::new(rt, Transport::Stdio).serve(server_io).await {
            let _ = running.waiting().await;
        }
    });
    ().serve(client_io).await.expect("client")
}

async fn call(client: &RunningService<RoleClient, ()>, name: &str) -> CallToolResult {
    client
        .call_tool(CallToolRequestParams::new(name.to_string()))
        .await
        .expect("call")
}

fn error_kind(result: &CallToolResult) -> Option<String> {
    result
        .structured_content
        .as_ref()
        .and_then(|v| v["error"]["kind"].as_str().map(str::to_string))
}

fn text(result: &CallToolResult) -> String {
    result
        .content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect()
}

const BOTH: &str = "name = \"t\"\nbundles = [\"live\", \"paper\"]\n";

#[tokio::test]
async fn trade_tools_on_live_venues_are_refused_until_enabled() {
    let client = connect(BOTH, false).await;
    let refused = call(&client, "live_place_order").await;
    assert_eq!(error_kind(&refused).as_deref(), Some("refused"));
    let message = text(&refused);
    assert!(message.contains("live venue live-venue"), "{message}");
    assert!(
        message.contains("live = true") && message.contains("--live-trading"),
        "{message}"
    );
    // Reading from a live venue is fine; paper trading is always allowed.
    assert!(error_kind(&call(&client, "live_quote").await).is_none());
    assert!(error_kind(&call(&client, "paper_place_order").await).is_none());
    client.cancel().await.expect("close");

    let enabled = connect(BOTH, true).await;
    assert!(error_kind(&call(&enabled, "live_place_order").await).is_none());
    enabled.cancel().await.expect("close");

    let by_manifest = connect(&format!("{BOTH}[trading]\nlive = true\n"), false).await;
    assert!(error_kind(&call(&by_manifest, "live_place_order").await).is_none());
    by_manifest.cancel().await.expect("close");
}

#[tokio::test]
async fn a_panicking_tool_is_an_error_and_the_session_lives_on() {
    let client = connect(BOTH, false).await;
    let crashed = call(&client, "paper_crash").await;
    assert_eq!(error_kind(&crashed).as_deref(), Some("internal"));
    assert!(text(&crashed).contains("still usable"));
    assert!(error_kind(&call(&client, "paper_quote").await).is_none());
    client.cancel().await.expect("close");
}

#[tokio::test]
async fn rate_limits_apply_per_caller() {
    let client = connect(&format!("{BOTH}[limits]\ncalls_per_minute = 3\n"), false).await;
    for _ in 0..3 {
        assert!(error_kind(&call(&client, "paper_quote").await).is_none());
    }
    let limited = call(&client, "paper_quote").await;
    assert_eq!(error_kind(&limited).as_deref(), Some("rate_limited"));
    assert!(text(&limited).contains("retry in"));
    client.cancel().await.expect("close");
}

#[tokio::test]
async fn renames_and_deny_lists_shape_the_tool_list() {
    let client = connect(
        &format!("{BOTH}[tools]\ndeny = [\"live_*\"]\nrename = {{ paper_quote = \"quote\" }}\n"),
        false,
    )
    .await;
    let tools = client.list_all_tools().await.expect("list");
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    assert!(
        names.contains(&"quote") && !names.contains(&"paper_quote"),
        "{names:?}"
    );
    assert!(!names.iter().any(|n| n.starts_with("live_")), "{names:?}");
    assert!(names.contains(&"ping"), "system tools are always served");
    let trade = tools
        .iter()
        .find(|t| t.name == "paper_place_order")
        .expect("tool");
    let annotations = trade.annotations.as_ref().expect("annotations");
    assert_eq!(annotations.read_only_hint, Some(false));
    assert_eq!(annotations.destructive_hint, Some(true));
    assert_eq!(text(&call(&client, "quote").await), "paper_quote done");
    client.cancel().await.expect("close");
}

#[tokio::test]
async fn a_cpu_heavy_tool_never_blocks_other_calls() {
    // One thread drives every task here: if the 3 s search ran on it, the
    // ping sent 200 ms later would wait for the search to end.
    let client = Arc::new(connect(BOTH, false).await);
    let t0 = std::time::Instant::now();
    let searching = {
        let client = client.clone();
        tokio::spawn(async move { call(&client, "paper_search").await })
    };
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let pong = call(&client, "ping").await;
    assert_eq!(text(&pong), "pong");
    assert!(
        t0.elapsed() < std::time::Duration::from_millis(1500),
        "ping answered {:?} after the search started",
        t0.elapsed()
    );
    assert!(
        !searching.is_finished(),
        "ping answered while the search ran"
    );
    let done = searching.await.expect("join");
    assert_eq!(error_kind(&done), None, "{}", text(&done));
}
