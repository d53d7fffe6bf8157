//! Resolves a manifest against the available bundles, once at start, into
//! the [`Runtime`]: the served tools (renamed, filtered, with deadlines), the
//! resources and prompts, the store, the job manager and the limits.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use futures::FutureExt;
use futures::future::{BoxFuture, Shared};
use rmcp::model::{Tool, ToolAnnotations};
use serde::Serialize;

use crate::bundle::{BundleSettings, PromptSpec, ResourceSpec, ToolBundle, ToolSpec, VenueStatus};
use crate::clock::{Clock, SystemClock};
use crate::diagnostics::DiagnosticsBundle;
use crate::error::CoreError;
use crate::jobs::JobManager;
use crate::manifest::{Manifest, OnDeadline, pattern_matches};
use crate::middleware::audit::AuditLog;
use crate::middleware::rate_limit::RateLimiter;
use crate::route::ToolRoute;
use crate::schema::{InputSchema, SchemaCache};
use crate::store::{Store, core_migrations};
use crate::system::SystemBundle;

/// Builds a bundle from its settings.
pub type BundleFactory =
    Arc<dyn Fn(&BundleSettings) -> Result<Arc<dyn ToolBundle>, String> + Send + Sync>;

/// A bundle type the server binary's catalog can build by type: its
/// manifest name and its constructor from [`BundleSettings`].
pub trait NewBundle: ToolBundle + Sized {
    /// The name manifests use for it (`polymarket`).
    const NAME: &'static str;
    /// Why it could not be built (bad settings, unreadable files).
    type Error: std::fmt::Display;
    /// Builds the bundle from its manifest table and server flags.
    fn from_settings(settings: &BundleSettings) -> Result<Self, Self::Error>;
}

/// The bundles a binary can host, by name. `system` and `diagnostics` are
/// built in.
#[derive(Clone, Default)]
pub struct BundleCatalog {
    factories: BTreeMap<String, BundleFactory>,
}

impl BundleCatalog {
    /// An empty catalog (the built-in bundles are always available).
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers bundle type `B` under its [`NewBundle::NAME`].
    pub fn with<B: NewBundle>(self) -> Self {
        self.register(B::NAME, |settings| {
            B::from_settings(settings)
                .map(|b| Arc::new(b) as Arc<dyn ToolBundle>)
                .map_err(|e| e.to_string())
        })
    }

    /// Registers a bundle factory under `name`.
    pub fn register(
        mut self,
        name: &str,
        factory: impl Fn(&BundleSettings) -> Result<Arc<dyn ToolBundle>, String> + Send + Sync + 'static,
    ) -> Self {
        self.factories.insert(name.to_string(), Arc::new(factory));
        self
    }

    /// Names of the registered bundles plus the built-in ones.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.factories.keys().cloned().collect();
        names.push("diagnostics".into());
        names.push("system".into());
        names.sort();
        names
    }
}

/// One tool as this server serves it.
#[derive(Clone)]
pub struct ServedTool {
    /// The name the agent calls.
    pub served_name: String,
    /// The bundle that runs it.
    pub bundle: Arc<dyn ToolBundle>,
    /// The bundle's spec (its own name in `spec.name`).
    pub spec: ToolSpec,
    /// The typed handler that parses the arguments and runs the tool.
    pub route: ToolRoute,
    /// Effective deadline.
    pub deadline: Duration,
}

/// A short description of the running server, for `server_info`.
#[derive(Debug, Clone, Serialize)]
pub struct ServerSummary {
    /// Runtime version.
    pub version: String,
    /// Variant name.
    pub variant: String,
    /// Where the manifest came from.
    pub manifest: String,
    /// Hosted bundles.
    pub bundles: Vec<String>,
    /// Number of tools served.
    pub tool_count: usize,
    /// Venues each bundle uses, and whether live.
    pub venues: BTreeMap<String, Vec<VenueStatus>>,
    /// Whether live-venue trading is enabled.
    pub live_trading: bool,
    /// Storage backend and URL (password removed).
    pub store: String,
    /// What happens when a call passes its deadline.
    pub on_deadline: String,
}

/// Options from the command line and environment that shape the runtime.
#[derive(Debug, Clone, Default)]
pub struct RuntimeOptions {
    /// Force live trading on (`NT_LIVE_TRADING=1` / `--live-trading`).
    pub live_trading: bool,
    /// Who the stdio caller is (`--account NAME`); `stdio` when unset. With
    /// `[accounts] per_caller = true` it names the caller's own account.
    pub stdio_account: Option<String>,
}

/// The resolved server: everything `server::McpServer` needs, built once.
pub struct Runtime {
    /// The manifest it was built from.
    pub manifest: Manifest,
    /// The variant name, shared with every call's context.
    pub variant: Arc<str>,
    /// The database.
    pub store: Store,
    /// Time source.
    pub clock: Arc<dyn Clock>,
    /// Background jobs.
    pub jobs: Arc<JobManager>,
    /// Per-caller rate limits.
    pub rate_limiter: RateLimiter,
    /// The per-call audit log (group commit).
    pub audit: AuditLog,
    /// Whether live trading is enabled.
    pub live_trading: bool,
    /// The caller a stdio session speaks for.
    pub stdio_caller: crate::bundle::Caller,
    /// Served tools in listing order.
    pub tools: Vec<ServedTool>,
    index: HashMap<String, usize>,
    /// The `tools/list` answer, built once.
    pub tool_list: Arc<Vec<Tool>>,
    /// Resources and the bundle that serves each.
    pub resources: Vec<(ResourceSpec, Arc<dyn ToolBundle>)>,
    /// Prompts and the bundle that serves each.
    pub prompts: Vec<(PromptSpec, Arc<dyn ToolBundle>)>,
    /// The hosted bundles.
    pub bundles: Vec<Arc<dyn ToolBundle>>,
    /// Summary for `server_info`.
    pub summary: ServerSummary,
    /// Resolves once the database is migrated (see [`Runtime::ready`]).
    ready: Ready,
}

/// The database's readiness, awaited by every call.
type Ready = Shared<BoxFuture<'static, Result<(), String>>>;

impl Runtime {
    /// Builds the runtime: constructs the manifest's bundles from `catalog`,
    /// applies migrations, resolves tool selection, renames and deadlines.
    /// Unknown bundle or tool names fail with the manifest file and line.
    pub async fn build(
        manifest: Manifest,
        catalog: &BundleCatalog,
        store: Store,
        options: RuntimeOptions,
    ) -> Result<Arc<Self>, CoreError> {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        Self::build_with_clock(manifest, catalog, store, options, clock).await
    }

    /// [`Runtime::build`] with a chosen clock (tests).
    pub async fn build_with_clock(
        manifest: Manifest,
        catalog: &BundleCatalog,
        store: Store,
        options: RuntimeOptions,
        clock: Arc<dyn Clock>,
    ) -> Result<Arc<Self>, CoreError> {
        let rt = Self::resolve(manifest, catalog, store, options, clock).await?;
        rt.ready().await?;
        Ok(rt)
    }

    /// Builds the runtime over the database at `url` without waiting for
    /// it: the database connects and its migrations are applied or checked
    /// in the background while the tools are listed (the server's start-up
    /// path). Calls wait for [`Runtime::ready`]; a database that cannot open
    /// fails them and `ready` with the reason.
    pub async fn open_and_build(
        manifest: Manifest,
        catalog: &BundleCatalog,
        url: &str,
        options: RuntimeOptions,
    ) -> Result<Arc<Self>, CoreError> {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        Self::resolve(manifest, catalog, Store::open_lazy(url)?, options, clock).await
    }

    async fn resolve(
        manifest: Manifest,
        catalog: &BundleCatalog,
        store: Store,
        options: RuntimeOptions,
        clock: Arc<dyn Clock>,
    ) -> Result<Arc<Self>, CoreError> {
        let started = std::time::Instant::now();
        let live_trading = manifest.trading.live || options.live_trading;
        let mut hosted: Vec<Arc<dyn ToolBundle>> = Vec::new();
        for spanned in &manifest.bundles {
            let name = spanned.get_ref().as_str();
            if name == "system" {
                continue;
            }
            if hosted.iter().any(|b| b.name() == name) {
                return Err(manifest.error_at(spanned, format!("bundle `{name}` is listed twice")));
            }
            let settings = BundleSettings {
                table: manifest
                    .bundle_config
                    .get(name)
                    .cloned()
                    .unwrap_or_default(),
                live_trading,
            };
            let bundle: Arc<dyn ToolBundle> = if name == "diagnostics" {
                Arc::new(DiagnosticsBundle)
            } else {
                let factory = catalog.factories.get(name).ok_or_else(|| {
                    manifest.error_at(
                        spanned,
                        format!(
                            "unknown bundle `{name}`; known bundles: {}",
                            catalog.names().join(", ")
                        ),
                    )
                })?;
                factory(&settings).map_err(|err| {
                    manifest.error_at(spanned, format!("bundle `{name}` failed to start: {err}"))
                })?
            };
            hosted.push(bundle);
        }
        for name in manifest.bundle_config.keys() {
            if name != "system" && !hosted.iter().any(|b| b.name() == name) {
                return Err(CoreError::Manifest {
                    path: manifest.source.clone(),
                    message: format!(
                        "[bundle_config.{name}] configures a bundle this manifest does not host"
                    ),
                });
            }
        }
        let constructed = started.elapsed();
        // Routes are cheap (schemas are generated lazily); the schema cache
        // file is read on a blocking thread meanwhile.
        let mut routed: Vec<(Arc<dyn ToolBundle>, crate::route::ToolRouter)> = hosted
            .iter()
            .map(|b| (b.clone(), b.clone().routes()))
            .collect();
        let cache = tokio::task::spawn_blocking(SchemaCache::take_or_load);
        let jobs = Arc::new(JobManager::new(
            store.clone(),
            clock.clone(),
            &manifest.name,
        ));
        let summary_cell: Arc<OnceLock<ServerSummary>> = Arc::new(OnceLock::new());
        let system: Arc<dyn ToolBundle> =
            Arc::new(SystemBundle::new(jobs.clone(), summary_cell.clone()));
        let mut bundles = vec![system.clone()];
        bundles.extend(hosted);

        let mut migrations = core_migrations();
        for bundle in &bundles {
            migrations.extend(bundle.migrations());
        }
        let built_bundles = started.elapsed();
        // The migrations run (or, on a returning start, are checked) in the
        // background: listing tools needs no database, and calls wait for
        // [`Runtime::ready`].
        let ready = {
            let store = store.clone();
            let task = tokio::spawn(async move {
                let began = std::time::Instant::now();
                let applied = store.migrate(&migrations).await;
                tracing::debug!(
                    migrate_ms = began.elapsed().as_secs_f64() * 1e3,
                    "database ready"
                );
                applied.map(|_| ()).map_err(|e| e.to_string())
            });
            async move {
                task.await
                    .map_err(|e| format!("the migration task failed: {e}"))?
            }
            .boxed()
            .shared()
        };

        // All tools of the hosted bundles, by the bundle's own name.
        routed.insert(0, (system.clone(), system.routes()));
        let mut all: Vec<(Arc<dyn ToolBundle>, ToolRoute)> = Vec::new();
        for (bundle, routes) in routed {
            for route in routes {
                all.push((bundle.clone(), route));
            }
        }
        let sel = &manifest.tools;
        let check_known = |pattern: &toml::Spanned<String>, what: &str| -> Result<(), CoreError> {
            if all
                .iter()
                .any(|(_, r)| pattern_matches(pattern.get_ref(), &r.spec.name))
            {
                Ok(())
            } else {
                Err(manifest.error_at(
                    pattern,
                    format!(
                        "{what} names `{}`, which no hosted bundle offers",
                        pattern.get_ref()
                    ),
                ))
            }
        };
        if let Some(allow) = &sel.allow {
            for p in allow {
                check_known(p, "tools.allow")?;
            }
        }
        for p in &sel.deny {
            check_known(p, "tools.deny")?;
        }
        for p in sel.rename.keys() {
            check_known(p, "tools.rename")?;
        }
        for p in sel.deadlines.keys() {
            check_known(p, "tools.deadlines")?;
        }
        for p in sel.describe.keys() {
            check_known(p, "tools.describe")?;
        }

        let mut tools = Vec::new();
        let mut index = HashMap::new();
        for (bundle, route) in all {
            let mut spec = route.spec.clone();
            if let Some((_, text)) = sel.describe.iter().find(|(k, _)| k.get_ref() == &spec.name) {
                spec.description = text.clone();
            }
            let name = spec.name.clone();
            let always = bundle.name() == "system";
            let allowed = always
                || sel
                    .allow
                    .as_ref()
                    .is_none_or(|a| a.iter().any(|p| pattern_matches(p.get_ref(), &name)));
            let denied = !always && sel.deny.iter().any(|p| pattern_matches(p.get_ref(), &name));
            if !allowed || denied {
                continue;
            }
            let served_name = sel
                .rename
                .iter()
                .find(|(k, _)| k.get_ref() == &name)
                .map(|(_, v)| v.clone())
                .unwrap_or_else(|| name.clone());
            let deadline = sel
                .deadlines
                .iter()
                .find(|(k, _)| k.get_ref() == &name)
                .map(|(_, secs)| Duration::from_secs_f64(*secs))
                .or(spec.deadline)
                .unwrap_or_else(|| manifest.default_deadline());
            if index.contains_key(&served_name) {
                return Err(CoreError::Manifest {
                    path: manifest.source.clone(),
                    message: format!("two tools would be served as `{served_name}`; rename one"),
                });
            }
            index.insert(served_name.clone(), tools.len());
            tools.push(ServedTool {
                served_name,
                bundle,
                spec,
                route,
                deadline,
            });
        }

        // Every served tool's schema: from the cache, or generated (on a
        // blocking thread: a first start generates ~150 of them).
        let schemas: Vec<(String, InputSchema)> = tools
            .iter()
            .map(|t| {
                (
                    format!("{}/{}", t.bundle.name(), t.spec.name),
                    t.spec.input_schema.clone(),
                )
            })
            .collect();
        let cache = cache
            .await
            .map_err(|e| CoreError::Config(format!("reading the schema cache failed: {e}")))?;
        let used = tokio::task::spawn_blocking(move || cache.fill(&schemas))
            .await
            .map_err(|e| CoreError::Config(format!("building the tool schemas failed: {e}")))?;
        let tool_list = Arc::new(tools.iter().map(to_mcp_tool).collect::<Vec<_>>());
        tracing::debug!(
            construct_ms = constructed.as_secs_f64() * 1e3,
            bundles_ms = built_bundles.as_secs_f64() * 1e3,
            routes_ms = (started.elapsed() - built_bundles).as_secs_f64() * 1e3,
            schemas_cached = used.hits,
            schemas_generated = used.generated,
            "runtime resolved"
        );
        let mut resources = Vec::new();
        let mut prompts = Vec::new();
        let mut venues = BTreeMap::new();
        for bundle in &bundles {
            for r in bundle.resources() {
                resources.push((r, bundle.clone()));
            }
            for p in bundle.prompts() {
                prompts.push((p, bundle.clone()));
            }
            let v = bundle.venues();
            if !v.is_empty() {
                venues.insert(bundle.name().to_string(), v);
            }
        }
        let summary = ServerSummary {
            version: env!("CARGO_PKG_VERSION").to_string(),
            variant: manifest.name.clone(),
            manifest: manifest.source.clone(),
            bundles: bundles.iter().map(|b| b.name().to_string()).collect(),
            tool_count: tools.len(),
            venues,
            live_trading,
            store: store.url_redacted().to_string(),
            on_deadline: match manifest.limits.on_deadline {
                OnDeadline::Error => "error".into(),
                OnDeadline::Job => "job".into(),
            },
        };
        let _ = summary_cell.set(summary.clone());
        Ok(Arc::new(Self {
            variant: Arc::from(manifest.name.as_str()),
            rate_limiter: RateLimiter::for_store(
                store.clone(),
                &manifest.name,
                manifest.limits.calls_per_minute,
            ),
            audit: AuditLog::start_when(store.clone(), ready.clone().map(|_| ())),
            manifest,
            store,
            clock,
            jobs,
            live_trading,
            stdio_caller: {
                let mut caller = crate::bundle::Caller::local();
                if let Some(name) = options
                    .stdio_account
                    .as_ref()
                    .filter(|n| !n.trim().is_empty())
                {
                    caller.id = name.trim().to_string();
                }
                caller
            },
            tools,
            index,
            tool_list,
            resources,
            prompts,
            bundles,
            summary,
            ready,
        }))
    }

    /// Waits until the database is open and migrated; the reason when it
    /// could not be (every call fails with it then).
    pub async fn ready(&self) -> Result<(), CoreError> {
        // Once settled, every call reads the outcome without polling.
        let settled = match self.ready.peek() {
            Some(outcome) => outcome.clone(),
            None => self.ready.clone().await,
        };
        settled.map_err(CoreError::StoreNotReady)
    }

    /// The account a call by `caller` acts for: the caller's own when the
    /// manifest sets `[accounts] per_caller = true`, else the shared one.
    pub fn account_for(&self, caller: &crate::bundle::Caller) -> Option<Arc<str>> {
        self.manifest
            .accounts
            .per_caller
            .then(|| Arc::from(caller.id.as_str()))
    }

    /// Ends serving cleanly: every queued audit row is committed.
    pub async fn shutdown(&self) {
        self.audit.flush().await;
    }

    /// The tool served as `name`.
    pub fn tool(&self, name: &str) -> Option<&ServedTool> {
        self.index.get(name).map(|&i| &self.tools[i])
    }
}

fn to_mcp_tool(tool: &ServedTool) -> Tool {
    let spec = &tool.spec;
    let description = format!(
        "{} [scope: {}; deadline: {}s]",
        spec.description,
        spec.scope.as_str(),
        tool.deadline.as_secs_f64()
    );
    let annotations = ToolAnnotations::new()
        .read_only(spec.read_only)
        .destructive(!spec.read_only && spec.scope == crate::bundle::Scope::Trade)
        .idempotent(spec.idempotent)
        .open_world(!tool.bundle.venues().is_empty());
    Tool::new(
        tool.served_name.clone(),
        description,
        spec.input_schema.get().clone(),
    )
    .with_annotations(annotations)
}
