//! The bundle's settings (`[bundle_config.e2b]`, then the environment).
//!
//! | key | environment | default |
//! |---|---|---|
//! | `allow_local_exec` | `E2B_ALLOW_LOCAL_EXEC` | `false`: creating and running refused |
//! | `api_key` | `E2B_API_KEY` | none: the local provider serves |
//! | `api_url` | `E2B_API_URL` | `https://api.e2b.app` |
//! | `domain` | `E2B_DOMAIN` | `e2b.app` (sandbox daemon at `https://49983-<id>.<domain>`) |
//! | `envd_url` | `E2B_ENVD_URL` | none (a fixed daemon URL, for gateways and tests) |
//! | `sandbox_root` | `E2B_LOCAL_ROOT` | `<data dir>/neural-trader-mcp/sandboxes` |
//! | `templates_dir` | `E2B_TEMPLATES_DIR` | none (only the shipped templates) |
//! | `max_concurrent` | `E2B_MAX_CONCURRENT` | 4 runs at once |
//! | `max_run_secs` | | 600 |
//! | `output_cap_bytes` | | 65536 per stream |
//! | `local_docker` | `E2B_LOCAL_DOCKER` | `false`: with it (and no API key) sandboxes are Docker containers |
//! | `docker_host` | `DOCKER_HOST` | `unix:///var/run/docker.sock` (or `tcp://127.0.0.1:port`) |
//! | `docker_image` | `E2B_DOCKER_IMAGE` | none: each template's image is built from its `e2b.Dockerfile` |
//! | `docker_network` | `E2B_DOCKER_NETWORK` | `bridge` (`none` cuts the network off) |
//! | `cpu_secs`, `memory_mb`, `file_mb` | | 600, 2048, 256 (0 = unlimited) |

use std::path::PathBuf;
use std::time::Duration;

use nt_mcp_core::BundleSettings;

use crate::error::E2bError;
use crate::exec::Limits;

/// Resolved settings.
#[derive(Clone)]
pub struct E2bConfig {
    /// Creating and running sandboxes locally is allowed.
    pub allow_local_exec: bool,
    /// The E2B API key; with it the E2B cloud serves the sandbox tools.
    pub api_key: Option<String>,
    /// E2B REST API base URL.
    pub api_url: String,
    /// Sandbox domain.
    pub domain: String,
    /// Fixed envd URL, if any.
    pub envd_url: Option<String>,
    /// Local sandboxes' folder.
    pub sandbox_root: PathBuf,
    /// Extra templates folder.
    pub templates_dir: Option<PathBuf>,
    /// Runs at once.
    pub max_concurrent: usize,
    /// Longest run.
    pub max_run: Duration,
    /// Process limits.
    pub limits: Limits,
    /// Docker settings; `Some` when `local_docker` is on.
    pub docker: Option<DockerSettings>,
}

/// Where the Docker daemon is and how containers are made.
#[derive(Debug, Clone)]
pub struct DockerSettings {
    /// `unix:///path` or `tcp://host:port`.
    pub host: String,
    /// An image every sandbox uses instead of the template's own build.
    pub image: Option<String>,
    /// Docker network mode of the containers.
    pub network: String,
}

impl std::fmt::Debug for E2bConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("E2bConfig")
            .field("allow_local_exec", &self.allow_local_exec)
            .field("api_key", &self.api_key.as_ref().map(|_| "***"))
            .field("api_url", &self.api_url)
            .field("sandbox_root", &self.sandbox_root)
            .finish_non_exhaustive()
    }
}

fn positive(s: &BundleSettings, key: &str, env: &str, default: i64) -> Result<u64, E2bError> {
    let v = s
        .integer(key, env)
        .map_err(|e| E2bError::Config(e.to_string()))?
        .unwrap_or(default);
    u64::try_from(v).map_err(|_| E2bError::Config(format!("setting `{key}`: must not be negative")))
}

impl E2bConfig {
    /// Reads the settings.
    pub fn from_settings(s: &BundleSettings) -> Result<Self, E2bError> {
        let allow_local_exec = s
            .boolean("allow_local_exec", "E2B_ALLOW_LOCAL_EXEC")
            .map_err(|e| E2bError::Config(e.to_string()))?
            .unwrap_or(false);
        let sandbox_root = s
            .string("sandbox_root", "E2B_LOCAL_ROOT")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                dirs::data_dir()
                    .unwrap_or_else(|| PathBuf::from("."))
                    .join("neural-trader-mcp")
                    .join("sandboxes")
            });
        let max_concurrent = positive(s, "max_concurrent", "E2B_MAX_CONCURRENT", 4)?.max(1);
        let defaults = Limits::default();
        let local_docker = s
            .boolean("local_docker", "E2B_LOCAL_DOCKER")
            .map_err(|e| E2bError::Config(e.to_string()))?
            .unwrap_or(false);
        let docker = local_docker.then(|| DockerSettings {
            host: s
                .string("docker_host", "DOCKER_HOST")
                .unwrap_or_else(|| "unix:///var/run/docker.sock".into()),
            image: s.string("docker_image", "E2B_DOCKER_IMAGE"),
            network: s
                .string("docker_network", "E2B_DOCKER_NETWORK")
                .unwrap_or_else(|| "bridge".into()),
        });
        Ok(Self {
            docker,
            allow_local_exec,
            api_key: s.string("api_key", "E2B_API_KEY"),
            api_url: s
                .string("api_url", "E2B_API_URL")
                .unwrap_or_else(|| "https://api.e2b.app".into())
                .trim_end_matches('/')
                .to_string(),
            domain: s
                .string("domain", "E2B_DOMAIN")
                .unwrap_or_else(|| "e2b.app".into()),
            envd_url: s
                .string("envd_url", "E2B_ENVD_URL")
                .map(|u| u.trim_end_matches('/').to_string()),
            sandbox_root,
            templates_dir: s
                .string("templates_dir", "E2B_TEMPLATES_DIR")
                .map(PathBuf::from),
            max_concurrent: usize::try_from(max_concurrent).unwrap_or(4),
            max_run: Duration::from_secs(positive(s, "max_run_secs", "", 600)?.max(1)),
            limits: Limits {
                cpu_secs: positive(
                    s,
                    "cpu_secs",
                    "",
                    i64::try_from(defaults.cpu_secs).unwrap_or(600),
                )?,
                memory_mb: positive(
                    s,
                    "memory_mb",
                    "",
                    i64::try_from(defaults.memory_mb).unwrap_or(2048),
                )?,
                file_mb: positive(
                    s,
                    "file_mb",
                    "",
                    i64::try_from(defaults.file_mb).unwrap_or(256),
                )?,
                output_cap: usize::try_from(positive(s, "output_cap_bytes", "", 65_536)?.max(1))
                    .unwrap_or(65_536),
            },
        })
    }
}
