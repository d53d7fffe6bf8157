//! MCP over the process's stdin/stdout (logs go to stderr).

use std::sync::Arc;

use rmcp::ServiceExt;

use crate::error::CoreError;
use crate::registry::Runtime;
use crate::server::{McpServer, Transport};

/// Serves one MCP session on stdin/stdout until the client closes it.
pub async fn serve_stdio(rt: Arc<Runtime>) -> Result<(), CoreError> {
    let server = McpServer::new(rt.clone(), Transport::Stdio);
    let running = server
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|err| CoreError::Service(err.to_string()))?;
    running
        .waiting()
        .await
        .map_err(|err| CoreError::Service(err.to_string()))?;
    rt.shutdown().await;
    Ok(())
}
