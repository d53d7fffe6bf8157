//! [`E2bBundle`]: the bundle type, its settings, the provider it uses for a
//! call (E2B when an API key is set, else Docker when `local_docker` is
//! on, else the local directory provider) and the gate
//! on creating and running (`allow_local_exec` or the E2B key).

use std::sync::Arc;

use nt_mcp_core::bundle::{BundleSettings, VenueMode, VenueStatus};
use nt_mcp_core::{Migration, NewBundle, Store, ToolBundle, ToolError, ToolRouter};
use tokio::sync::OnceCell;

use crate::config::E2bConfig;
use crate::docker::{DockerProvider, DockerReapReport};
use crate::error::E2bError;
use crate::executor::Executor;
use crate::local::{LocalConfig, LocalProvider, ReapReport};
use crate::provider::SandboxProvider;
use crate::remote::RemoteProvider;
use crate::templates::Registry;

/// The provider and executor, opened on the first call (they need the store).
pub struct Engine {
    /// The provider serving this bundle's sandbox tools.
    pub provider: Arc<dyn SandboxProvider>,
    /// The local provider (also used to deploy templates locally).
    pub local: Arc<LocalProvider>,
    /// The run queue.
    pub executor: Executor,
    /// What opening the local provider reaped.
    pub reaped: ReapReport,
    /// The Docker provider when it serves (no E2B key, `local_docker` on).
    pub docker: Option<Arc<DockerProvider>>,
    /// What opening the Docker provider reaped.
    pub docker_reaped: DockerReapReport,
}

/// The `e2b` bundle.
pub struct E2bBundle {
    pub(crate) config: E2bConfig,
    pub(crate) registry: Registry,
    engine: OnceCell<Arc<Engine>>,
}

impl std::fmt::Debug for E2bBundle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("E2bBundle")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl E2bBundle {
    /// Builds the bundle from its settings.
    pub fn new(config: E2bConfig) -> Result<Self, E2bError> {
        let registry = Registry::load(config.templates_dir.as_deref())?;
        Ok(Self {
            config,
            registry,
            engine: OnceCell::new(),
        })
    }

    /// The settings in force.
    pub fn config(&self) -> &E2bConfig {
        &self.config
    }

    /// The template registry.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Whether the E2B cloud serves the sandbox tools.
    pub fn remote(&self) -> bool {
        self.config.api_key.is_some()
    }

    /// The engine over `store`, opened (and orphans reaped) on first use.
    pub async fn engine(&self, store: &Store) -> Result<Arc<Engine>, E2bError> {
        self.engine
            .get_or_try_init(|| async {
                let (local, reaped) = LocalProvider::open(
                    store.clone(),
                    LocalConfig {
                        root: self.config.sandbox_root.clone(),
                        limits: self.config.limits,
                    },
                )
                .await?;
                let local = Arc::new(local);
                let executor = Executor::new(
                    self.config.max_concurrent,
                    self.config.max_run,
                    local.instance(),
                );
                let mut docker = None;
                let mut docker_reaped = DockerReapReport::default();
                if let (None, Some(settings)) = (&self.config.api_key, &self.config.docker) {
                    let (d, r) = DockerProvider::open(
                        store.clone(),
                        settings.clone(),
                        self.registry.clone(),
                        self.config.limits.output_cap,
                    )
                    .await?;
                    docker = Some(Arc::new(d));
                    docker_reaped = r;
                }
                let provider: Arc<dyn SandboxProvider> = match (&self.config.api_key, &docker) {
                    (Some(key), _) => {
                        Arc::new(RemoteProvider::new(store.clone(), &self.config, key)?)
                    }
                    (None, Some(d)) => d.clone(),
                    (None, None) => local.clone(),
                };
                Ok(Arc::new(Engine {
                    provider,
                    local,
                    executor,
                    reaped,
                    docker,
                    docker_reaped,
                }))
            })
            .await
            .cloned()
    }

    /// The E2B control-plane client when E2B is configured.
    pub fn api(&self) -> Result<Option<crate::api::E2bApi>, E2bError> {
        match &self.config.api_key {
            Some(key) => Ok(Some(crate::api::E2bApi::new(&self.config.api_url, key)?)),
            None => Ok(None),
        }
    }

    /// Refuses creating or running unless the manifest allows local
    /// execution or an E2B key is set.
    pub fn require_exec(&self, what: &str) -> Result<(), ToolError> {
        if self.config.allow_local_exec || self.remote() {
            return Ok(());
        }
        Err(ToolError::refused(format!(
            "{what} is off on this server: local sandbox execution is not enabled and no E2B key is set"
        ))
        .with_hint(
            "an operator can set `[bundle_config.e2b] allow_local_exec = true` in the manifest (the `e2b` variant does), or E2B_API_KEY",
        ))
    }
}

#[async_trait::async_trait]
impl ToolBundle for E2bBundle {
    fn name(&self) -> &'static str {
        "e2b"
    }

    fn routes(self: Arc<Self>) -> ToolRouter {
        crate::tools::routes(self)
    }

    fn migrations(&self) -> Vec<Migration> {
        crate::store::migrations()
    }

    fn venues(&self) -> Vec<VenueStatus> {
        vec![match self.remote() {
            true => VenueStatus {
                name: "e2b".into(),
                mode: VenueMode::Live,
            },
            false if self.config.docker.is_some() => VenueStatus {
                name: "docker-sandbox".into(),
                mode: VenueMode::Simulated,
            },
            false => VenueStatus {
                name: "local-sandbox".into(),
                mode: VenueMode::Simulated,
            },
        }]
    }
}

impl NewBundle for E2bBundle {
    const NAME: &'static str = "e2b";
    type Error = E2bError;

    fn from_settings(settings: &BundleSettings) -> Result<Self, Self::Error> {
        Self::new(E2bConfig::from_settings(settings)?)
    }
}
