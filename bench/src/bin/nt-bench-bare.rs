//! `nt-bench-bare`: the floor `nt-bench` compares against. A bare rmcp
//! server with one tool, `ping`, and nothing else (no manifest, storage,
//! audit, auth or limits), served over stdio or, with `--listen ADDR`, over
//! streamable HTTP at `/mcp` the way the project's server does it (axum,
//! local sessions, TCP_NODELAY).

use std::sync::Arc;

use anyhow::{Context, Result};
use axum::serve::ListenerExt;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData, RoleServer, ServerHandler, ServiceExt};

/// The bare server: answers `tools/list` with `ping` and `ping` with `pong`.
#[derive(Clone)]
struct Bare {
    tools: Arc<Vec<Tool>>,
}

impl Bare {
    fn new() -> Self {
        let mut schema = serde_json::Map::new();
        schema.insert("type".into(), "object".into());
        Self {
            tools: Arc::new(vec![Tool::new(
                "ping",
                "Checks the server is alive.",
                Arc::new(schema),
            )]),
        }
    }
}

impl ServerHandler for Bare {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build()).with_server_info(
            Implementation::new("nt-bench-bare", env!("CARGO_PKG_VERSION")),
        )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(self.tools.as_ref().clone()))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        if request.name != "ping" {
            return Err(ErrorData::invalid_params("unknown tool", None));
        }
        let mut result = CallToolResult::structured(serde_json::json!({"pong": true}));
        result.content = vec![ContentBlock::text("pong")];
        Ok(result.into())
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let listen = match (args.next().as_deref(), args.next()) {
        (Some("--listen"), Some(addr)) => Some(addr),
        (None, _) => None,
        _ => anyhow::bail!("usage: nt-bench-bare [--listen ADDR]"),
    };
    match listen {
        None => {
            let running = Bare::new().serve(rmcp::transport::stdio()).await?;
            running.waiting().await?;
        }
        Some(addr) => {
            let listener = tokio::net::TcpListener::bind(&addr)
                .await
                .with_context(|| format!("binding {addr}"))?;
            let local = listener.local_addr()?;
            let mut config = StreamableHttpServerConfig::default();
            config.allowed_hosts = vec!["127.0.0.1".into(), "localhost".into()];
            let service: StreamableHttpService<Bare, LocalSessionManager> =
                StreamableHttpService::new(|| Ok(Bare::new()), Default::default(), config);
            let router = axum::Router::new().nest_service("/mcp", service);
            eprintln!("listening on http://{local}/mcp");
            let listener = listener.tap_io(|tcp| {
                let _ = tcp.set_nodelay(true);
            });
            axum::serve(listener, router).await?;
        }
    }
    Ok(())
}
