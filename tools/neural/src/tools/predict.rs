//! `neural_predict` (a forecast with an interval, or the up-probability)
//! and `neural_evaluate` (holdout scores of a stored version on a series).

use std::sync::Arc;
use std::time::Instant;

use nt_mcp_core::{Route, ToolCtx, ToolError, ToolOutput, route};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use crate::NeuralBundle;
use crate::data::{SeriesInput, digest};
use crate::device::{DeviceChoice, Precision};
use crate::error::NeuralError;
use crate::train;

pub(super) fn routes() -> Vec<Route<NeuralBundle>> {
    vec![
        route::<NeuralPredictInput, _>(
            "neural_predict",
            "Forecast the next `horizon` values with a stored model (latest version unless `version`), from a given series or from the end of its training data, with a lower/upper interval at `level` from the validation residuals; the momentum model answers P(next return > 0). Reports inference latency.",
            predict,
        ),
        route::<NeuralEvaluateInput, _>(
            "neural_evaluate",
            "Score a stored model version: on a given series, rolling-origin MAE, sMAPE and MASE on its last `holdout` points against the naive and seasonal-naive forecasts (momentum: accuracy, log loss, Brier vs the majority class); without a series, the metrics stored at training.",
            evaluate,
        )
        .cpu_heavy(),
    ]
}

/// Input of `neural_predict`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NeuralPredictInput {
    /// Model name.
    pub name: String,
    /// Version (default: the latest).
    pub version: Option<i64>,
    /// Recent history to forecast from (its last input_size values are
    /// used); default: the end of the training series.
    pub series: Option<SeriesInput>,
    /// Interval level in (0, 1), default 0.9.
    pub level: Option<f64>,
    /// `auto` (default), `cpu`, `cuda`.
    #[serde(default)]
    pub device: DeviceChoice,
    /// `f32` or `bf16`; default the precision the model was trained in.
    pub precision: Option<Precision>,
}

/// Input of `neural_evaluate`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NeuralEvaluateInput {
    /// Model name.
    pub name: String,
    /// Version (default: the latest).
    pub version: Option<i64>,
    /// The series to score on (default: answer the stored training metrics).
    pub series: Option<SeriesInput>,
    /// Points at its end to forecast (default: the model's horizon, or 20%
    /// of the samples for momentum).
    pub holdout: Option<usize>,
    /// Season for the seasonal-naive baseline (default: the model's).
    pub season: Option<usize>,
    /// `auto` (default), `cpu`, `cuda`.
    #[serde(default)]
    pub device: DeviceChoice,
    /// `f32` or `bf16`; default the training precision.
    pub precision: Option<Precision>,
}

async fn predict(
    b: Arc<NeuralBundle>,
    input: NeuralPredictInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    let started = Instant::now();
    let level = input.level.unwrap_or(0.9);
    if !(level > 0.0 && level < 1.0) {
        return Err(NeuralError::invalid("level", "must be in (0, 1)").into());
    }
    let (device, device_name) = input.device.resolve()?;
    let (version, tr) =
        super::load_cached(&b, &ctx, &input.name, input.version, &device, device_name).await?;
    let history = match &input.series {
        Some(s) => {
            s.load("series", b.limits.max_series_len, b.data_dir.as_deref())?
                .values
        }
        None => tr.context.clone(),
    };
    let precision = input.precision.unwrap_or(tr.precision);
    let model =
        json!({"name": input.name, "version": version, "architecture": tr.model.arch.as_str()});
    let t0 = Instant::now();
    if !tr.model.arch.is_forecaster() {
        let p = train::momentum_predict(&tr, &[&history], precision)?[0];
        let inference_ms = t0.elapsed().as_secs_f64() * 1000.0;
        return Ok(ToolOutput::new(
            format!(
                "`{}` v{version}: P(next return > 0) = {p:.3} ({}).",
                input.name,
                if p > 0.5 { "up" } else { "down" }
            ),
            json!({
                "model": model,
                "probability_up": p,
                "direction": if p > 0.5 { "up" } else { "down" },
                "device": device_name,
                "precision": precision,
                "latency_ms": {"inference": inference_ms, "total": started.elapsed().as_secs_f64() * 1000.0},
            }),
        ));
    }
    let point = train::forecast_many(&tr, &[&history], precision)?.remove(0);
    let inference_ms = t0.elapsed().as_secs_f64() * 1000.0;
    let (lower, upper) = match train::interval(&tr, &point, level) {
        Some((l, u)) => (Some(l), Some(u)),
        None => (None, None),
    };
    let text = format!(
        "`{}` v{version} forecast of {} steps: {:?}{}",
        input.name,
        point.len(),
        point
            .iter()
            .map(|v| (v * 1e4).round() / 1e4)
            .collect::<Vec<_>>(),
        if lower.is_some() {
            format!(" (with a {:.0}% interval)", level * 100.0)
        } else {
            " (no interval: the model kept no validation residuals)".into()
        }
    );
    Ok(ToolOutput::new(
        text,
        json!({
            "model": model,
            "horizon": point.len(),
            "forecast": point,
            "lower": lower,
            "upper": upper,
            "level": level,
            "interval_method": "validation residual quantiles per horizon step (split-conformal)",
            "device": device_name,
            "precision": precision,
            "latency_ms": {"inference": inference_ms, "total": started.elapsed().as_secs_f64() * 1000.0},
        }),
    ))
}

async fn evaluate(
    b: Arc<NeuralBundle>,
    input: NeuralEvaluateInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    super::check_name(&input.name)?;
    let (device, _) = input.device.resolve()?;
    let loaded = crate::store::load(&ctx.store, &input.name, input.version, &device).await?;
    let rec = &loaded.record;
    let tr = &loaded.trained;
    let Some(series) = &input.series else {
        return Ok(ToolOutput::new(
            format!(
                "`{}` v{} metrics at training: {}",
                rec.name, rec.version, rec.metrics
            ),
            json!({"model": rec, "metrics": rec.metrics, "on": "training holdout"}),
        ));
    };
    let s = series.load("series", b.limits.max_series_len, b.data_dir.as_deref())?;
    let same = digest(&s.values) == rec.data.digest;
    let metrics = if tr.model.arch.is_forecaster() {
        let holdout = input.holdout.unwrap_or(tr.model.hyper.horizon);
        let season = input.season.or(tr.model.hyper.season);
        train::evaluate_forecaster(tr, &s.values, holdout, season, input.precision)?
    } else {
        let r = s.values.len().saturating_sub(1);
        let holdout = input.holdout.unwrap_or(
            (r.saturating_sub(crate::data::momentum_first(tr.model.hyper.lags) + 1)) / 5,
        );
        train::evaluate_momentum(tr, &s.values, holdout, input.precision)?
    };
    Ok(ToolOutput::new(
        format!(
            "`{}` v{} on {} points ({}): {metrics}",
            rec.name,
            rec.version,
            s.values.len(),
            if same {
                "the training series"
            } else {
                "a new series"
            }
        ),
        json!({
            "model": {"name": rec.name, "version": rec.version, "architecture": rec.architecture},
            "metrics": metrics,
            "same_data_as_training": same,
            "source": s.source,
        }),
    ))
}
