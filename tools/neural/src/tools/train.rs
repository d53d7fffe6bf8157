//! `neural_train`: fits a model to a series as cancellable work that
//! reports each epoch, then saves it as the next version of its name.

use std::sync::Arc;
use std::time::{Duration, Instant};

use nt_mcp_core::{Route, ToolCtx, ToolError, ToolOutput, route};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};
use tokio_util::sync::CancellationToken;

use crate::NeuralBundle;
use crate::data::{SeriesInput, digest};
use crate::device::{DeviceChoice, Precision};
use crate::error::NeuralError;
use crate::models::{Architecture, Hyper};
use crate::store::{self, DataInfo};
use crate::train::{self, EpochLoss, Monitor};

pub(super) fn routes() -> Vec<Route<NeuralBundle>> {
    vec![
        route::<NeuralTrainInput, _>(
            "neural_train",
            "Train a forecaster (nbeats, nhits, gru) or the momentum classifier on a series (values, CSV text or file, or synthetic bars), seeded and deterministic on the CPU; reports progress per epoch and stops when cancelled. Saves the next version of `name` with hyper-parameters, data digest, holdout metrics (MAE, sMAPE, MASE vs naive) and safetensors weights. See neural://model-zoo.",
            handle,
        )
        .writes()
        .not_idempotent()
        .cpu_heavy()
        .deadline(Duration::from_secs(60)),
    ]
}

/// Input of `neural_train`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NeuralTrainInput {
    /// Model name (1-64 letters, digits, `_`, `-`, `.`); each training saves its next version.
    pub name: String,
    /// `nbeats` (default), `nhits`, `gru`, `momentum` (the series is then prices).
    #[serde(default)]
    pub architecture: Architecture,
    /// The training series, oldest first.
    pub series: SeriesInput,
    /// Hyper-parameters (every field optional; see neural://model-zoo).
    #[serde(default)]
    pub hyper: Hyper,
    /// `auto` (default), `cpu`, `cuda`.
    #[serde(default)]
    pub device: DeviceChoice,
    /// `f32` (default) or `bf16` (mixed precision: bf16 compute, f32 master weights).
    #[serde(default)]
    pub precision: Precision,
}

type Epoch = (usize, usize, f64, Option<f64>);

struct ChannelMonitor {
    cancel: CancellationToken,
    tx: UnboundedSender<Epoch>,
}

impl Monitor for ChannelMonitor {
    fn epoch(&self, epoch: usize, epochs: usize, train_loss: f64, val_loss: Option<f64>) {
        let _ = self.tx.send((epoch, epochs, train_loss, val_loss));
    }
    fn cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }
}

/// At most `n` evenly spread epochs of `h` (always the first and last).
fn sampled(h: &[EpochLoss], n: usize) -> Vec<EpochLoss> {
    if h.len() <= n {
        return h.to_vec();
    }
    let step = (h.len() - 1) as f64 / (n - 1) as f64;
    (0..n)
        .map(|i| h[(i as f64 * step).round() as usize])
        .collect()
}

async fn handle(
    b: Arc<NeuralBundle>,
    input: NeuralTrainInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    super::check_name(&input.name)?;
    super::check_limits(&b, input.architecture, &input.hyper)?;
    let series = input
        .series
        .load("series", b.limits.max_series_len, b.data_dir.as_deref())?;
    let (device, device_name) = input.device.resolve()?;
    let data = DataInfo {
        digest: digest(&series.values),
        source: series.source.clone(),
        points: series.values.len(),
    };
    let (tx, mut rx) = unbounded_channel();
    let monitor = ChannelMonitor {
        cancel: ctx.cancel.clone(),
        tx,
    };
    let (arch, hyper, precision) = (input.architecture, input.hyper.clone(), input.precision);
    let values = series.values;
    let dev = device.clone();
    let started = Instant::now();
    let task = tokio::task::spawn_blocking(move || {
        train::train(arch, &hyper, &values, &dev, precision, &monitor)
    });
    ctx.progress
        .report(0.0, Some(input.hyper.epochs as f64), "training started")
        .await;
    while let Some((epoch, epochs, loss, val)) = rx.recv().await {
        let val = val.map_or(String::new(), |v| format!(", validation {v:.5}"));
        ctx.progress
            .report(
                epoch as f64,
                Some(epochs as f64),
                format!("epoch {epoch}/{epochs}: loss {loss:.5}{val}"),
            )
            .await;
    }
    let trained = task
        .await
        .map_err(|e| ToolError::internal(format!("training task: {e}")))?
        .map_err(|e| match e {
            NeuralError::Cancelled => ToolError::cancelled(),
            e => e.into(),
        })?;
    let train_ms = started.elapsed().as_millis() as u64;
    let rec = store::save(&ctx, &input.name, &trained, device_name, &data).await?;
    b.forget(&input.name);
    let first = trained.history.first().copied();
    let last = trained.history.last().copied();
    let text = format!(
        "Trained `{}` v{} ({}, {} weights) on {} points in {:.1} s on {device_name} ({}); loss {:.5} -> {:.5}. Holdout: {}",
        rec.name,
        rec.version,
        rec.architecture,
        rec.params,
        data.points,
        train_ms as f64 / 1000.0,
        precision.as_str(),
        first.map_or(f64::NAN, |e| e.train),
        last.map_or(f64::NAN, |e| e.train),
        trained.metrics
    );
    Ok(ToolOutput::new(
        text,
        json!({
            "model": rec,
            "loss_history": sampled(&trained.history, 25),
            "train_ms": train_ms,
            "device": device_name,
            "interval_method": "validation residual quantiles per horizon step (split-conformal)",
        }),
    ))
}
