//! Streamable HTTP (axum): `POST/GET/DELETE /mcp` for MCP sessions,
//! `GET /health` for probes, bearer JWT auth in front when the manifest asks.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use axum::serve::ListenerExt;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use tokio_util::sync::CancellationToken;

use crate::error::CoreError;
use crate::middleware::auth::{AuthState, JwtVerifier, require_bearer};
use crate::registry::Runtime;
use crate::server::{McpServer, Transport};

/// How to serve HTTP.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// Address to bind (`127.0.0.1:8080`; port 0 picks a free one).
    pub listen: SocketAddr,
    /// Serve a non-loopback address without auth (refused unless set).
    pub allow_unauthenticated_remote: bool,
    /// Extra `Host` names to accept besides loopback ones (DNS-rebinding guard).
    pub allowed_hosts: Vec<String>,
}

/// A bound HTTP server, not yet serving.
pub struct HttpServer {
    rt: Arc<Runtime>,
    listener: tokio::net::TcpListener,
    router: Router,
    /// The address actually bound.
    pub local_addr: SocketAddr,
}

impl HttpServer {
    /// Binds the address and builds the routes.
    pub async fn bind(
        rt: Arc<Runtime>,
        options: HttpOptions,
        shutdown: CancellationToken,
    ) -> Result<Self, CoreError> {
        let verifier = JwtVerifier::from_manifest(&rt.manifest.auth)?;
        if verifier.is_none()
            && !options.listen.ip().is_loopback()
            && !options.allow_unauthenticated_remote
        {
            return Err(CoreError::Config(format!(
                "refusing to serve {} without auth: set [auth] mode = \"jwt\" in the manifest, \
                 bind 127.0.0.1, or pass --allow-unauthenticated-remote",
                options.listen
            )));
        }
        let listener = tokio::net::TcpListener::bind(options.listen).await?;
        let local_addr = listener.local_addr()?;
        let mut hosts = vec![
            "localhost".to_string(),
            "127.0.0.1".to_string(),
            "[::1]".to_string(),
            "::1".to_string(),
        ];
        hosts.push(local_addr.ip().to_string());
        hosts.extend(options.allowed_hosts.iter().cloned());
        let mut config =
            StreamableHttpServerConfig::default().with_cancellation_token(shutdown.child_token());
        config.allowed_hosts = hosts;
        let factory_rt = rt.clone();
        let own_rt = rt.clone();
        let service: StreamableHttpService<McpServer, LocalSessionManager> =
            StreamableHttpService::new(
                move || Ok(McpServer::new(factory_rt.clone(), Transport::Http)),
                Default::default(),
                config,
            );
        let router = Router::new()
            .nest_service("/mcp", service)
            .layer(axum::middleware::from_fn_with_state(
                AuthState {
                    verifier,
                    sessions: Default::default(),
                    audit: rt.audit.clone(),
                    variant: rt.variant.clone(),
                    clock: rt.clock.clone(),
                },
                require_bearer,
            ))
            .route("/health", get(|| async { "ok" }));
        Ok(Self {
            rt: own_rt,
            listener,
            router,
            local_addr,
        })
    }

    /// Serves until `shutdown` is cancelled. Sets TCP_NODELAY on every
    /// connection (without it each reply stalls ~40 ms on delayed ACKs).
    pub async fn serve(self, shutdown: CancellationToken) -> Result<(), CoreError> {
        let listener = self.listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        axum::serve(listener, self.router)
            .with_graceful_shutdown(async move { shutdown.cancelled_owned().await })
            .await?;
        self.rt.shutdown().await;
        Ok(())
    }
}
