//! The bundle type: [`GpuSignalsBundle`], built from its settings, and its
//! route table (handlers in `tools/<family>.rs`).

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use nt_mcp_core::bundle::{BundleSettings, PromptSpec, ResourceSpec, ResourceText, ToolBundle};
use nt_mcp_core::{NewBundle, ToolCtx, ToolError, ToolRouter};

use crate::backend::Engine;
use crate::error::SignalsError;

/// Every key `[bundle_config.gpu_signals]` accepts.
pub const SETTINGS: &[&str] = &["disable_cuda"];

/// The GPU signals bundle (`gpu_signals`).
#[derive(Debug, Default)]
pub struct GpuSignalsBundle {
    /// The backends (CUDA opened on first need).
    pub engine: Engine,
}

impl GpuSignalsBundle {
    /// A bundle that uses CUDA when it loads.
    pub fn new() -> Self {
        Self::default()
    }

    /// A bundle that never tries CUDA.
    pub fn cpu_only() -> Self {
        Self {
            engine: Engine::cpu_only(),
        }
    }
}

impl NewBundle for GpuSignalsBundle {
    const NAME: &'static str = "gpu_signals";
    type Error = SignalsError;

    /// Settings: `disable_cuda` (or `NT_GPU_SIGNALS_DISABLE_CUDA=true`)
    /// keeps every call on the CPU.
    fn from_settings(settings: &BundleSettings) -> Result<Self, Self::Error> {
        for key in settings.table.keys() {
            if !SETTINGS.contains(&key.as_str()) {
                return Err(SignalsError::invalid(
                    format!("bundle_config.gpu_signals.{key}"),
                    format!("unknown setting (known: {})", SETTINGS.join(", ")),
                ));
            }
        }
        let off = settings
            .boolean("disable_cuda", "NT_GPU_SIGNALS_DISABLE_CUDA")
            .map_err(|e| {
                SignalsError::invalid(format!("bundle_config.gpu_signals.{}", e.key), e.reason)
            })?
            .unwrap_or(false);
        Ok(if off { Self::cpu_only() } else { Self::new() })
    }
}

#[async_trait]
impl ToolBundle for GpuSignalsBundle {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn routes(self: Arc<Self>) -> ToolRouter {
        ToolRouter::new(self, crate::tools::routes())
    }

    fn resources(&self) -> Vec<ResourceSpec> {
        crate::guide::resources()
    }

    async fn read_resource(&self, uri: &str, _ctx: ToolCtx) -> Result<ResourceText, ToolError> {
        crate::guide::read(uri)
    }

    fn prompts(&self) -> Vec<PromptSpec> {
        crate::guide::prompts()
    }

    fn render_prompt(
        &self,
        name: &str,
        args: &BTreeMap<String, String>,
    ) -> Result<String, ToolError> {
        crate::guide::render(name, args)
    }
}
