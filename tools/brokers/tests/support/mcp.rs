//! The brokers bundle behind a real rmcp client over an in-memory pipe, for
//! the tests that drive it through MCP.

#![allow(dead_code)]

use nt_brokers::BrokersBundle;
use nt_mcp_core::Store;
use nt_mcp_core::manifest::Manifest;
use nt_mcp_core::registry::{BundleCatalog, Runtime, RuntimeOptions};
use nt_mcp_core::server::{McpServer, Transport};
use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::service::RunningService;
use rmcp::{RoleClient, ServiceExt};
use serde_json::Value;

/// A client of a server hosting only `brokers` on the database at `url`;
/// `bundle_config` is appended to the manifest (`[bundle_config.brokers]`
/// lines, or empty). Live trading stays off.
pub async fn connect(url: &str, bundle_config: &str) -> RunningService<RoleClient, ()> {
    let catalog = BundleCatalog::new().with::<BrokersBundle>();
    let text = format!("name = \"t\"\nbundles = [\"brokers\"]\n{bundle_config}");
    let manifest = Manifest::parse("t.toml", &text).expect("manifest");
    let store = Store::open(url).await.expect("store");
    let rt = Runtime::build(
        manifest,
        &catalog,
        store,
        RuntimeOptions {
            live_trading: false,
            ..Default::default()
        },
    )
    .await
    .expect("runtime");
    let (server_io, client_io) = tokio::io::duplex(256 * 1024);
    tokio::spawn(async move {
        if let Ok(running) = McpServer::new(rt, Transport::Stdio).serve(server_io).await {
            let _ = running.waiting().await;
        }
    });
    ().serve(client_io).await.expect("client")
}

/// Calls `name` with `args` (an object).
pub async fn call(c: &RunningService<RoleClient, ()>, name: &str, args: Value) -> CallToolResult {
    let mut p = CallToolRequestParams::new(name.to_string());
    p.arguments = args.as_object().cloned();
    c.call_tool(p).await.expect("call")
}

/// The answer's text blocks, joined.
pub fn text(r: &CallToolResult) -> String {
    r.content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect()
}

/// The answer's structured content (`null` when absent).
pub fn body(r: &CallToolResult) -> Value {
    r.structured_content.clone().unwrap_or(Value::Null)
}
