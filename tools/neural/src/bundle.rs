//! The bundle type: [`NeuralBundle`], built from its settings ([`Limits`]
//! and the CSV `data_dir`), its route table (handlers in `tools/`), its
//! migrations, the model-zoo resource and the forecasting prompt.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use nt_mcp_core::bundle::{
    BundleSettings, PromptArg, PromptSpec, ResourceSpec, ResourceText, ToolBundle,
};
use nt_mcp_core::{Migration, NewBundle, SettingError, ToolCtx, ToolError, ToolRouter};

use crate::error::{NeuralError, Result};
use crate::train::Trained;

/// Bounds on what one call may ask for.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Most points in a series.
    pub max_series_len: usize,
    /// Most training epochs.
    pub max_epochs: usize,
    /// Most scalar weights in a model.
    pub max_params: usize,
    /// Widest hidden layer / GRU state.
    pub max_hidden: usize,
    /// Most MLP layers per block.
    pub max_layers: usize,
    /// Most N-BEATS/NHITS blocks.
    pub max_blocks: usize,
    /// Longest input window.
    pub max_input_size: usize,
    /// Longest horizon.
    pub max_horizon: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_series_len: 100_000,
            max_epochs: 2_000,
            max_params: 2_000_000,
            max_hidden: 1_024,
            max_layers: 8,
            max_blocks: 30,
            max_input_size: 2_048,
            max_horizon: 1_000,
        }
    }
}

/// Loaded models kept for fast predictions, at most this many.
const CACHE_SIZE: usize = 32;

/// The neural forecasting bundle (`neural`).
#[derive(Debug, Default)]
pub struct NeuralBundle {
    /// Bounds on inputs.
    pub limits: Limits,
    /// Folder `csv_path` names files in (none: `csv_path` is refused).
    pub data_dir: Option<PathBuf>,
    /// Loaded models by (name, version, device/weights SHA-256).
    cache: Mutex<HashMap<(String, i64, String), Arc<Trained>>>,
}

/// Every key `[bundle_config.neural]` accepts.
pub const SETTINGS: &[&str] = &[
    "data_dir",
    "max_series_len",
    "max_epochs",
    "max_params",
    "max_hidden",
    "max_layers",
    "max_blocks",
    "max_input_size",
    "max_horizon",
];

fn setting(err: SettingError) -> NeuralError {
    NeuralError::invalid(format!("bundle_config.neural.{}", err.key), err.reason)
}

impl NeuralBundle {
    /// Builds the bundle from its manifest table (`data_dir` also from
    /// `NT_NEURAL_DATA_DIR`).
    pub fn new(settings: &BundleSettings) -> Result<Self> {
        for key in settings.table.keys() {
            if !SETTINGS.contains(&key.as_str()) {
                return Err(NeuralError::invalid(
                    format!("bundle_config.neural.{key}"),
                    format!("unknown setting (known: {})", SETTINGS.join(", ")),
                ));
            }
        }
        let d = Limits::default();
        let int = |k: &str, default: usize| -> Result<usize> {
            match settings.integer(k, "").map_err(setting)? {
                None => Ok(default),
                Some(v) if v > 0 => Ok(v as usize),
                Some(_) => Err(NeuralError::invalid(
                    format!("bundle_config.neural.{k}"),
                    "must be positive",
                )),
            }
        };
        Ok(Self {
            limits: Limits {
                max_series_len: int("max_series_len", d.max_series_len)?,
                max_epochs: int("max_epochs", d.max_epochs)?,
                max_params: int("max_params", d.max_params)?,
                max_hidden: int("max_hidden", d.max_hidden)?,
                max_layers: int("max_layers", d.max_layers)?,
                max_blocks: int("max_blocks", d.max_blocks)?,
                max_input_size: int("max_input_size", d.max_input_size)?,
                max_horizon: int("max_horizon", d.max_horizon)?,
            },
            data_dir: settings
                .string("data_dir", "NT_NEURAL_DATA_DIR")
                .map(PathBuf::from),
            cache: Mutex::default(),
        })
    }

    /// A bundle with `limits` and no data folder (tests, in-process callers).
    pub fn with_limits(limits: Limits) -> Self {
        Self {
            limits,
            ..Self::default()
        }
    }

    /// A cached loaded model.
    pub(crate) fn cached(&self, key: &(String, i64, String)) -> Option<Arc<Trained>> {
        self.cache.lock().ok()?.get(key).cloned()
    }

    /// The same bundle reading `csv_path` files from `dir`.
    pub fn with_data_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.data_dir = Some(dir.into());
        self
    }

    /// Keeps a loaded model (the cache is emptied when full).
    pub(crate) fn keep(&self, key: (String, i64, String), t: Arc<Trained>) {
        if let Ok(mut c) = self.cache.lock() {
            if c.len() >= CACHE_SIZE {
                c.clear();
            }
            c.insert(key, t);
        }
    }

    /// Forgets every cached version of `name` (after a delete).
    pub(crate) fn forget(&self, name: &str) {
        if let Ok(mut c) = self.cache.lock() {
            c.retain(|k, _| k.0 != name);
        }
    }
}

impl NewBundle for NeuralBundle {
    const NAME: &'static str = "neural";
    type Error = NeuralError;

    fn from_settings(settings: &BundleSettings) -> Result<Self, Self::Error> {
        Self::new(settings)
    }
}

/// The model zoo resource (markdown).
pub const MODEL_ZOO: &str = include_str!("model_zoo.md");

#[async_trait]
impl ToolBundle for NeuralBundle {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn routes(self: Arc<Self>) -> ToolRouter {
        ToolRouter::new(self, crate::tools::routes())
    }

    fn migrations(&self) -> Vec<Migration> {
        crate::store::migrations()
    }

    fn resources(&self) -> Vec<ResourceSpec> {
        vec![ResourceSpec {
            uri: "neural://model-zoo".into(),
            name: "model-zoo".into(),
            description: "The architectures (N-BEATS, NHITS, GRU, momentum classifier), their hyper-parameters and defaults, the interval method, metrics, devices, precisions and limits.".into(),
            mime_type: "text/markdown".into(),
        }]
    }

    async fn read_resource(
        &self,
        uri: &str,
        _ctx: ToolCtx,
    ) -> std::result::Result<ResourceText, ToolError> {
        match uri {
            "neural://model-zoo" => Ok(ResourceText {
                mime_type: "text/markdown".into(),
                text: format!(
                    "{MODEL_ZOO}\n## Limits of this server\n\n```\n{:#?}\n```\n\nCUDA in this build: {}\n",
                    self.limits,
                    crate::device::CUDA_BUILT
                ),
            }),
            _ => Err(ToolError::not_found(format!("no resource {uri}"))),
        }
    }

    fn prompts(&self) -> Vec<PromptSpec> {
        vec![PromptSpec {
            name: "neural_forecast_workflow".into(),
            description: "Train a forecaster on a series, check it beats the naive forecast, and forecast with an interval.".into(),
            arguments: vec![PromptArg {
                name: "name".into(),
                description: "Model name to train and use.".into(),
                required: true,
            }],
        }]
    }

    fn render_prompt(
        &self,
        name: &str,
        args: &BTreeMap<String, String>,
    ) -> std::result::Result<String, ToolError> {
        if name != "neural_forecast_workflow" {
            return Err(ToolError::not_found(format!("no prompt {name}")));
        }
        let model = nt_mcp_core::bundle::prompt_arg(args, "name")?;
        Ok(format!(
            "Forecast with a neural model named `{model}`.\n\
             1. Read neural://model-zoo to pick an architecture (nbeats is the default choice; nhits for long horizons; gru for short windows; momentum for next-period direction).\n\
             2. Call neural_train with name=\"{model}\", the series (values, csv or synthetic), and hyper with input_size, horizon and season when the data is seasonal. It may run as a job: poll job_status until it ends.\n\
             3. Compare the holdout metrics: the model's MASE against the naive (and seasonal-naive) forecast's. If it does not beat them, say so and prefer the baseline.\n\
             4. Call neural_predict with name=\"{model}\" and level=0.9 for the forecast and its interval.\n\
             5. neural_models lists the versions; neural_evaluate scores a version on new data.\n\
             Report the forecast, the interval and the evidence that the model is better than naive."
        ))
    }
}
