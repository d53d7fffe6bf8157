//! Training and inference: [`train`] fits a [`Model`] to a series (seeded,
//! deterministic on the CPU), reporting each epoch to a [`Monitor`] and
//! stopping between batches when it says so; [`Trained`] is the result:
//! weights, scaler, validation residuals (the intervals) and holdout scores.
//!
//! Intervals are residual-bootstrap style: the empirical quantiles of the
//! validation windows' errors at each horizon step (split-conformal), added
//! to the point forecast.

use candle_core::{DType, Device, Tensor};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use serde::Serialize;
use serde_json::{Value, json};

use crate::data::{self, Scaler};
use crate::device::Precision;
use crate::error::{NeuralError, Result};
use crate::metrics::{self, Scores};
use crate::models::{Architecture, Hyper, Model};
use crate::rng::Rng;

/// Residuals kept per horizon step (the newest validation windows).
pub const MAX_RESIDUALS: usize = 2000;

/// Receives training progress and answers whether to stop.
pub trait Monitor: Send + Sync {
    /// Epoch `epoch` (1-based) of `epochs` ended with these mean losses.
    fn epoch(&self, epoch: usize, epochs: usize, train_loss: f64, val_loss: Option<f64>);
    /// Whether training should stop (checked between batches).
    fn cancelled(&self) -> bool;
}

/// A monitor that records nothing and never stops.
#[derive(Debug, Default, Clone, Copy)]
pub struct Quiet;

impl Monitor for Quiet {
    fn epoch(&self, _: usize, _: usize, _: f64, _: Option<f64>) {}
    fn cancelled(&self) -> bool {
        false
    }
}

/// The loss of one epoch.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct EpochLoss {
    /// 1-based epoch.
    pub epoch: usize,
    /// Mean training loss (MSE on scaled values, or binary cross-entropy).
    pub train: f64,
    /// Validation loss, when there are validation windows.
    pub val: Option<f64>,
}

/// A trained model and everything needed to use it.
#[derive(Debug, Clone)]
pub struct Trained {
    /// Weights and architecture.
    pub model: Model,
    /// The per-series scaler (one column for forecasters, one per feature
    /// for the momentum model).
    pub scaler: Scaler,
    /// Precision it was trained in (and predicts in by default).
    pub precision: Precision,
    /// Sorted validation residuals (actual - forecast, original units) per
    /// horizon step; empty for the momentum model.
    pub residuals: Vec<Vec<f64>>,
    /// The tail of the training series a forecast with no new data starts from.
    pub context: Vec<f64>,
    /// Loss per epoch.
    pub history: Vec<EpochLoss>,
    /// Holdout scores and training facts.
    pub metrics: Value,
}

fn check_hyper(arch: Architecture, h: &Hyper) -> Result<()> {
    let bad = |f: &str, r: &str| Err(NeuralError::invalid(format!("hyper.{f}"), r));
    if arch.is_forecaster() && h.input_size == 0 {
        return bad("input_size", "must be at least 1");
    }
    if arch.is_forecaster() && h.horizon == 0 {
        return bad("horizon", "must be at least 1");
    }
    if h.hidden == 0 || (arch != Architecture::Gru && h.layers == 0) {
        return bad("hidden", "hidden and layers must be at least 1");
    }
    if matches!(arch, Architecture::Nbeats | Architecture::Nhits) && h.blocks == 0 {
        return bad("blocks", "must be at least 1");
    }
    if arch == Architecture::Nhits && (h.pool_kernels.is_empty() || h.pool_kernels.contains(&0)) {
        return bad("pool_kernels", "must be one or more kernels of at least 1");
    }
    if h.epochs == 0 || h.batch_size == 0 {
        return bad("epochs", "epochs and batch_size must be at least 1");
    }
    if !(h.learning_rate > 0.0 && h.learning_rate < 1.0) {
        return bad("learning_rate", "must be in (0, 1)");
    }
    if !(0.0..1.0).contains(&h.weight_decay) {
        return bad("weight_decay", "must be in [0, 1)");
    }
    if !(0.0..=0.5).contains(&h.val_fraction) {
        return bad("val_fraction", "must be in [0, 0.5]");
    }
    if h.season == Some(0) {
        return bad("season", "must be at least 1");
    }
    if arch == Architecture::Momentum && h.lags == 0 {
        return bad("lags", "must be at least 1");
    }
    Ok(())
}

/// Rows of `x` at `idx` as a tensor.
fn rows(x: &Tensor, idx: &[usize]) -> Result<Tensor> {
    let ids: Vec<u32> = idx.iter().map(|i| *i as u32).collect();
    let ids = Tensor::from_vec(ids, idx.len(), x.device())?;
    Ok(x.index_select(&ids, 0)?)
}

fn loss_of(model: &Model, x: &Tensor, y: &Tensor, dt: DType) -> Result<Tensor> {
    let out = model.forward(&x.to_dtype(dt)?)?.to_dtype(DType::F32)?;
    Ok(if model.arch.is_forecaster() {
        candle_nn::loss::mse(&out, y)?
    } else {
        candle_nn::loss::binary_cross_entropy_with_logit(&out, y)?
    })
}

/// Fits `model` on rows `x`/`y` (all f32 on the model's device), keeping
/// the last `n_val` rows for validation.
fn fit(
    model: &Model,
    x: &Tensor,
    y: &Tensor,
    n_val: usize,
    precision: Precision,
    monitor: &dyn Monitor,
) -> Result<Vec<EpochLoss>> {
    let h = &model.hyper;
    let n = x.dim(0)?;
    let n_train = n - n_val;
    let dt = precision.dtype();
    let mut opt = AdamW::new(
        model.params.vars(),
        ParamsAdamW {
            lr: h.learning_rate,
            weight_decay: h.weight_decay,
            ..ParamsAdamW::default()
        },
    )?;
    let (xv, yv) = if n_val > 0 {
        (
            Some(x.narrow(0, n_train, n_val)?),
            Some(y.narrow(0, n_train, n_val)?),
        )
    } else {
        (None, None)
    };
    let mut rng = Rng::new(h.seed ^ 0x005E_ED0F_BA7C);
    let mut order: Vec<usize> = (0..n_train).collect();
    let mut history = Vec::with_capacity(h.epochs);
    for epoch in 1..=h.epochs {
        rng.shuffle(&mut order);
        let mut sum = 0.0;
        for batch in order.chunks(h.batch_size) {
            if monitor.cancelled() {
                return Err(NeuralError::Cancelled);
            }
            let loss = loss_of(model, &rows(x, batch)?, &rows(y, batch)?, dt)?;
            opt.backward_step(&loss)?;
            sum += f64::from(loss.to_scalar::<f32>()?) * batch.len() as f64;
        }
        let train = sum / n_train as f64;
        let val = match (&xv, &yv) {
            (Some(xv), Some(yv)) => {
                Some(f64::from(loss_of(model, xv, yv, dt)?.to_scalar::<f32>()?))
            }
            _ => None,
        };
        monitor.epoch(epoch, h.epochs, train, val);
        history.push(EpochLoss { epoch, train, val });
    }
    Ok(history)
}

/// Trains `arch` with `hyper` on `series` (oldest first) on `device`.
pub fn train(
    arch: Architecture,
    hyper: &Hyper,
    series: &[f64],
    device: &Device,
    precision: Precision,
    monitor: &dyn Monitor,
) -> Result<Trained> {
    check_hyper(arch, hyper)?;
    if arch.is_forecaster() {
        train_forecaster(arch, hyper, series, device, precision, monitor)
    } else {
        train_momentum(hyper, series, device, precision, monitor)
    }
}

fn val_count(total: usize, frac: f64) -> usize {
    if frac <= 0.0 {
        return 0;
    }
    ((total as f64 * frac).ceil() as usize).clamp(1, total.saturating_sub(1))
}

fn train_forecaster(
    arch: Architecture,
    h: &Hyper,
    y: &[f64],
    device: &Device,
    precision: Precision,
    monitor: &dyn Monitor,
) -> Result<Trained> {
    let n = y.len();
    let holdout = h.holdout.unwrap_or(h.horizon);
    if holdout > 0 && holdout < h.horizon {
        return Err(NeuralError::invalid(
            "hyper.holdout",
            format!("must be 0 or at least the horizon ({})", h.horizon),
        ));
    }
    let need = h.input_size + h.horizon + 1 + holdout;
    if n < need {
        return Err(NeuralError::invalid(
            "series",
            format!(
                "{n} points; need at least input_size + horizon + 1 + holdout = {need} (two training windows and the holdout)"
            ),
        ));
    }
    let train_part = &y[..n - holdout];
    let scaler = Scaler::fit_series(train_part);
    let z: Vec<f64> = train_part.iter().map(|v| scaler.scale(0, *v)).collect();
    let (mut xs, mut ys, w) = data::windows(&z, h.input_size, h.horizon);
    if h.level_shift {
        for i in 0..w {
            let anchor = xs[i * h.input_size + h.input_size - 1];
            xs[i * h.input_size..(i + 1) * h.input_size]
                .iter_mut()
                .for_each(|v| *v -= anchor);
            ys[i * h.horizon..(i + 1) * h.horizon]
                .iter_mut()
                .for_each(|v| *v -= anchor);
        }
    }
    let n_val = val_count(w, h.val_fraction);
    let x = Tensor::from_vec(xs, (w, h.input_size), device)?;
    let t = Tensor::from_vec(ys, (w, h.horizon), device)?;
    let model = Model::init(arch, h, h.input_size, device)?;
    let history = fit(&model, &x, &t, n_val, precision, monitor)?;

    // Validation residuals per horizon step, in original units.
    let mut residuals = vec![Vec::new(); h.horizon];
    if n_val > 0 {
        let start = w - n_val.min(MAX_RESIDUALS);
        let xv = x.narrow(0, start, w - start)?;
        let pred: Vec<Vec<f32>> = model
            .forward(&xv.to_dtype(precision.dtype())?)?
            .to_dtype(DType::F32)?
            .to_vec2()?;
        let actual: Vec<Vec<f32>> = t.narrow(0, start, w - start)?.to_vec2()?;
        for (p, a) in pred.iter().zip(&actual) {
            for k in 0..h.horizon {
                let e = scaler.unscale(0, f64::from(a[k])) - scaler.unscale(0, f64::from(p[k]));
                residuals[k].push(e);
            }
        }
        for r in &mut residuals {
            r.sort_by(f64::total_cmp);
        }
    }
    let mut trained = Trained {
        model,
        scaler,
        precision,
        residuals,
        context: y[n - h.input_size..].to_vec(),
        history,
        metrics: Value::Null,
    };
    let mut m = if holdout > 0 {
        evaluate_forecaster(&trained, y, holdout, h.season, None)?
    } else {
        json!({})
    };
    m["train_windows"] = json!(w - n_val);
    m["val_windows"] = json!(n_val);
    trained.metrics = m;
    Ok(trained)
}

/// Point forecasts of the next `horizon` values after each history (at
/// least `input_size` values each), in one batch, in `precision`.
pub fn forecast_many(
    tr: &Trained,
    histories: &[&[f64]],
    precision: Precision,
) -> Result<Vec<Vec<f64>>> {
    let h = &tr.model.hyper;
    let dev = tr.model.params.device();
    let mut xs = Vec::with_capacity(histories.len() * h.input_size);
    let mut anchors = Vec::with_capacity(histories.len());
    for hist in histories {
        if hist.len() < h.input_size {
            return Err(NeuralError::invalid(
                "series",
                format!(
                    "{} points; the model needs the last {}",
                    hist.len(),
                    h.input_size
                ),
            ));
        }
        let window = &hist[hist.len() - h.input_size..];
        let anchor = if h.level_shift {
            tr.scaler.scale(0, window[h.input_size - 1]) as f32
        } else {
            0.0
        };
        anchors.push(anchor);
        xs.extend(
            window
                .iter()
                .map(|v| tr.scaler.scale(0, *v) as f32 - anchor),
        );
    }
    let x =
        Tensor::from_vec(xs, (histories.len(), h.input_size), dev)?.to_dtype(precision.dtype())?;
    let out: Vec<Vec<f32>> = tr.model.forward(&x)?.to_dtype(DType::F32)?.to_vec2()?;
    Ok(out
        .into_iter()
        .zip(anchors)
        .map(|(row, a)| {
            row.into_iter()
                .map(|z| tr.scaler.unscale(0, f64::from(z + a)))
                .collect()
        })
        .collect())
}

/// The empirical `q` quantile of sorted `xs` (linear interpolation).
pub fn quantile(xs: &[f64], q: f64) -> Option<f64> {
    if xs.is_empty() {
        return None;
    }
    let pos = q.clamp(0.0, 1.0) * (xs.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    Some(xs[lo] + (xs[hi] - xs[lo]) * (pos - lo as f64))
}

/// Lower and upper bounds at `level` (0.8 = 80%) around `point`, from the
/// validation residuals; `None` when the model kept none.
pub fn interval(tr: &Trained, point: &[f64], level: f64) -> Option<(Vec<f64>, Vec<f64>)> {
    let a = (1.0 - level) / 2.0;
    let mut lo = Vec::with_capacity(point.len());
    let mut hi = Vec::with_capacity(point.len());
    for (k, p) in point.iter().enumerate() {
        let r = tr.residuals.get(k)?;
        lo.push(p + quantile(r, a)?);
        hi.push(p + quantile(r, 1.0 - a)?);
    }
    Some((lo, hi))
}

/// Rolling-origin scores of a forecaster on the last `holdout` points of
/// `y` (origins every `horizon` steps), against the naive and (with
/// `season`) the seasonal-naive forecasts; MASE scaled on the part before
/// the holdout.
pub fn evaluate_forecaster(
    tr: &Trained,
    y: &[f64],
    holdout: usize,
    season: Option<usize>,
    precision: Option<Precision>,
) -> Result<Value> {
    let h = &tr.model.hyper;
    let n = y.len();
    if holdout < h.horizon || holdout + h.input_size > n {
        return Err(NeuralError::invalid(
            "holdout",
            format!(
                "must be at least the horizon ({}) and leave input_size ({}) points before it ({} given)",
                h.horizon, h.input_size, n
            ),
        ));
    }
    let first = n - holdout;
    let origins: Vec<usize> = (first..=n - h.horizon).step_by(h.horizon).collect();
    let hists: Vec<&[f64]> = origins.iter().map(|o| &y[..*o]).collect();
    let fc = forecast_many(tr, &hists, precision.unwrap_or(tr.precision))?;
    let (mut actual, mut model, mut naive, mut snaive) = (vec![], vec![], vec![], vec![]);
    for (o, f) in origins.iter().zip(&fc) {
        actual.extend_from_slice(&y[*o..*o + h.horizon]);
        model.extend_from_slice(f);
        naive.extend(metrics::naive(&y[..*o], h.horizon));
        if let Some(m) = season {
            snaive.extend(metrics::seasonal_naive(&y[..*o], h.horizon, m));
        }
    }
    let insample = &y[..first];
    let scale = metrics::mase_scale(insample, 1);
    let sscale = season.and_then(|m| metrics::mase_scale(insample, m));
    let score = |f: &[f64]| -> Value {
        let s = Scores::of(&actual, f, scale);
        json!({
            "mae": s.map(|s| s.mae),
            "smape": s.map(|s| s.smape),
            "mase": s.and_then(|s| s.mase),
            "mase_seasonal": sscale.and_then(|sc| metrics::mae(&actual, f).map(|m| m / sc)),
        })
    };
    let model_mae = metrics::mae(&actual, &model);
    let naive_mae = metrics::mae(&actual, &naive);
    let mut out = json!({
        "holdout": holdout,
        "origins": origins.len(),
        "points": actual.len(),
        "model": score(&model),
        "naive": score(&naive),
        "mae_ratio_to_naive": model_mae.zip(naive_mae).and_then(|(m, b)| (b > 0.0).then(|| m / b)),
    });
    if season.is_some() {
        out["seasonal_naive"] = score(&snaive);
        out["season"] = json!(season);
    }
    Ok(out)
}

fn train_momentum(
    h: &Hyper,
    prices: &[f64],
    device: &Device,
    precision: Precision,
    monitor: &dyn Monitor,
) -> Result<Trained> {
    let r = data::returns(prices, "series")?;
    let (xs, ys) = data::momentum_samples(&r, h.lags);
    let holdout = h.holdout.unwrap_or(xs.len() / 5);
    if xs.len() < holdout + 20 {
        return Err(NeuralError::invalid(
            "series",
            format!(
                "{} prices give {} samples; the momentum model needs at least holdout ({holdout}) + 20 (about {} prices)",
                prices.len(),
                xs.len(),
                data::momentum_first(h.lags) + 23 + holdout
            ),
        ));
    }
    let n_fit = xs.len() - holdout;
    let scaler = Scaler::fit(&xs[..n_fit]);
    let width = xs[0].len();
    let x = Tensor::from_vec(scale_rows(&scaler, &xs[..n_fit]), (n_fit, width), device)?;
    let t = Tensor::from_vec(
        ys[..n_fit].iter().map(|v| *v as f32).collect::<Vec<_>>(),
        (n_fit, 1),
        device,
    )?;
    let n_val = val_count(n_fit, h.val_fraction);
    let model = Model::init(Architecture::Momentum, h, width, device)?;
    let history = fit(&model, &x, &t, n_val, precision, monitor)?;
    let keep = data::momentum_first(h.lags) + 2;
    let mut trained = Trained {
        model,
        scaler,
        precision,
        residuals: Vec::new(),
        context: prices[prices.len().saturating_sub(keep)..].to_vec(),
        history,
        metrics: Value::Null,
    };
    let up_rate_train = ys[..n_fit].iter().sum::<f64>() / n_fit as f64;
    let mut m = if holdout > 0 {
        let xh = Tensor::from_vec(
            scale_rows(&trained.scaler, &xs[n_fit..]),
            (holdout, width),
            device,
        )?;
        let p = up_probabilities(&trained, &xh, precision)?;
        classification_scores(&p, &ys[n_fit..], up_rate_train)
    } else {
        json!({})
    };
    m["holdout"] = json!(holdout);
    m["train_samples"] = json!(n_fit - n_val);
    m["val_samples"] = json!(n_val);
    m["features"] = json!(data::momentum_feature_names(h.lags));
    trained.metrics = m;
    Ok(trained)
}

fn scale_rows(scaler: &Scaler, rows: &[Vec<f64>]) -> Vec<f32> {
    rows.iter()
        .flat_map(|row| {
            row.iter()
                .enumerate()
                .map(|(c, v)| scaler.scale(c, *v) as f32)
        })
        .collect()
}

fn up_probabilities(tr: &Trained, x: &Tensor, precision: Precision) -> Result<Vec<f64>> {
    let logits = tr.model.forward(&x.to_dtype(precision.dtype())?)?;
    let p = candle_nn::ops::sigmoid(&logits.to_dtype(DType::F32)?)?;
    Ok(p.flatten_all()?
        .to_vec1::<f32>()?
        .into_iter()
        .map(f64::from)
        .collect())
}

/// Accuracy, log loss and Brier score of up-probabilities `p` against
/// labels `y`, with the majority-class baseline of the training up-rate.
pub fn classification_scores(p: &[f64], y: &[f64], up_rate_train: f64) -> Value {
    let n = p.len().max(1) as f64;
    let acc = p
        .iter()
        .zip(y)
        .filter(|(p, y)| (**p > 0.5) == (**y > 0.5))
        .count() as f64
        / n;
    let eps = 1e-7;
    let ll = -p
        .iter()
        .zip(y)
        .map(|(p, y)| {
            let p = p.clamp(eps, 1.0 - eps);
            y * p.ln() + (1.0 - y) * (1.0 - p).ln()
        })
        .sum::<f64>()
        / n;
    let brier = p.iter().zip(y).map(|(p, y)| (p - y).powi(2)).sum::<f64>() / n;
    let majority_up = up_rate_train >= 0.5;
    let base = y.iter().filter(|y| (**y > 0.5) == majority_up).count() as f64 / n;
    json!({
        "accuracy": acc,
        "log_loss": ll,
        "brier": brier,
        "baseline_accuracy": base,
        "baseline": if majority_up { "always up" } else { "always down" },
        "up_rate_holdout": y.iter().sum::<f64>() / n,
    })
}

/// P(next return > 0) after each price history (each long enough for one
/// feature row).
pub fn momentum_predict(
    tr: &Trained,
    histories: &[&[f64]],
    precision: Precision,
) -> Result<Vec<f64>> {
    let lags = tr.model.hyper.lags;
    let need = data::momentum_first(lags) + 2;
    let mut xs = Vec::new();
    for hist in histories {
        if hist.len() < need {
            return Err(NeuralError::invalid(
                "series",
                format!(
                    "{} prices; the momentum model needs at least {need}",
                    hist.len()
                ),
            ));
        }
        let r = data::returns(hist, "series")?;
        let row = data::momentum_row(&r, r.len() - 1, lags);
        xs.extend(
            row.iter()
                .enumerate()
                .map(|(c, v)| tr.scaler.scale(c, *v) as f32),
        );
    }
    let x = Tensor::from_vec(
        xs,
        (histories.len(), tr.model.input_width),
        tr.model.params.device(),
    )?;
    up_probabilities(tr, &x, precision)
}

/// Holdout scores of the momentum model on the last `holdout` samples of
/// `prices`.
pub fn evaluate_momentum(
    tr: &Trained,
    prices: &[f64],
    holdout: usize,
    precision: Option<Precision>,
) -> Result<Value> {
    let r = data::returns(prices, "series")?;
    let (xs, ys) = data::momentum_samples(&r, tr.model.hyper.lags);
    if holdout == 0 || holdout > xs.len() {
        return Err(NeuralError::invalid(
            "holdout",
            format!("must be 1-{} for this series", xs.len()),
        ));
    }
    let first = xs.len() - holdout;
    let x = Tensor::from_vec(
        scale_rows(&tr.scaler, &xs[first..]),
        (holdout, tr.model.input_width),
        tr.model.params.device(),
    )?;
    let p = up_probabilities(tr, &x, precision.unwrap_or(tr.precision))?;
    let up_rate_before = if first > 0 {
        ys[..first].iter().sum::<f64>() / first as f64
    } else {
        0.5
    };
    let mut m = classification_scores(&p, &ys[first..], up_rate_before);
    m["holdout"] = json!(holdout);
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate_linearly() {
        let xs = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile(&xs, 0.5), Some(2.5));
        assert_eq!(quantile(&xs, 0.0), Some(1.0));
        assert_eq!(quantile(&xs, 1.0), Some(4.0));
        // pos = 0.05 · 3 = 0.15 -> 1.15
        assert!((quantile(&xs, 0.05).unwrap() - 1.15).abs() < 1e-12);
        assert_eq!(quantile(&[], 0.5), None);
    }

    #[test]
    fn classification_scores_by_hand() {
        // p = [0.9, 0.2, 0.6], y = [1, 0, 0]: right, right, wrong -> 2/3.
        // Brier (0.01 + 0.04 + 0.36) / 3; log loss -(ln .9 + ln .8 + ln .4) / 3.
        let m = classification_scores(&[0.9, 0.2, 0.6], &[1.0, 0.0, 0.0], 0.7);
        assert!((m["accuracy"].as_f64().unwrap() - 2.0 / 3.0).abs() < 1e-12);
        assert!((m["brier"].as_f64().unwrap() - 0.41 / 3.0).abs() < 1e-12);
        let ll = -(0.9f64.ln() + 0.8f64.ln() + 0.4f64.ln()) / 3.0;
        assert!((m["log_loss"].as_f64().unwrap() - ll).abs() < 1e-12);
        // Majority up in training -> "always up" is right once in three.
        assert!((m["baseline_accuracy"].as_f64().unwrap() - 1.0 / 3.0).abs() < 1e-12);
    }
}
