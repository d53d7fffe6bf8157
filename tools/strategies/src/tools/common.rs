//! Helpers the handlers share: shapes of curves in answers, progress
//! forwarding from a synchronous search, and rounding.

use nt_mcp_core::{ToolCtx, ToolError};
use nt_quant::QuantError;
use nt_quant::bars::format_day;
use serde_json::{Value, json};

/// At most `max` evenly spaced points of a curve as `[{date, value}]`.
pub fn curve(days: &[i64], values: &[f64], max: usize) -> Value {
    let n = values.len().min(days.len());
    if n == 0 {
        return json!([]);
    }
    let idx: Vec<usize> = if n <= max {
        (0..n).collect()
    } else {
        (0..max).map(|k| k * (n - 1) / (max - 1)).collect()
    };
    Value::Array(
        idx.into_iter()
            .map(|i| json!({"date": format_day(days[i]), "value": round(values[i], 6)}))
            .collect(),
    )
}

/// Rounds to `d` decimals (for answers; the maths keeps full precision).
pub fn round(x: f64, d: i32) -> f64 {
    let f = 10f64.powi(d);
    (x * f).round() / f
}

/// Runs `work` with a progress callback `(done, total) -> Result` that
/// forwards progress to the client (at most ~100 notifications) and stops
/// with `Cancelled` when the call or its job is cancelled.
pub async fn with_progress<T>(
    ctx: &ToolCtx,
    label: &str,
    work: impl FnOnce(&mut dyn FnMut(usize, usize) -> Result<(), QuantError>) -> Result<T, QuantError>,
) -> Result<T, ToolError> {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(usize, usize)>();
    let progress = ctx.progress.clone();
    let label_owned = label.to_string();
    let forward = tokio::spawn(async move {
        while let Some((done, total)) = rx.recv().await {
            progress
                .report(
                    done as f64,
                    Some(total as f64),
                    format!("{label_owned}: {done} of {total}"),
                )
                .await;
        }
    });
    let cancel = ctx.cancel.clone();
    let mut last_sent = 0usize;
    let out = {
        let mut cb = |done: usize, total: usize| -> Result<(), QuantError> {
            if cancel.is_cancelled() {
                return Err(QuantError::Cancelled);
            }
            let step = (total / 100).max(1);
            if done == total || done >= last_sent + step {
                last_sent = done;
                let _ = tx.send((done, total));
            }
            Ok(())
        };
        work(&mut cb)
    };
    drop(tx);
    let _ = forward.await;
    out.map_err(crate::error::tool_error)
}
