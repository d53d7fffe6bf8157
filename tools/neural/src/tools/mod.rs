//! The route table, one family per file, and what the handlers share:
//! name checks, hyper-parameter limits and the loaded-model cache.

mod models;
mod predict;
mod train;

use std::sync::Arc;

use candle_core::Device;
use nt_mcp_core::{Route, ToolCtx};

use crate::NeuralBundle;
use crate::error::{NeuralError, Result};
use crate::models::{Architecture, Hyper};
use crate::train::Trained;

/// Every route of the bundle, in listing order.
pub(crate) fn routes() -> Vec<Route<NeuralBundle>> {
    let mut r = train::routes();
    r.extend(predict::routes());
    r.extend(models::routes());
    r
}

/// A model name: 1-64 letters, digits, `_`, `-`, `.`.
pub(crate) fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if ok {
        Ok(())
    } else {
        Err(NeuralError::invalid(
            "name",
            "1-64 characters: letters, digits, `_`, `-`, `.`",
        ))
    }
}

/// Checks `h` against the bundle's limits (before any weight is allocated).
pub(crate) fn check_limits(b: &NeuralBundle, arch: Architecture, h: &Hyper) -> Result<()> {
    let l = &b.limits;
    let over = |f: &str, v: usize, max: usize| -> Result<()> {
        if v > max {
            Err(NeuralError::invalid(
                format!("hyper.{f}"),
                format!("{v} is over this server's limit of {max}"),
            ))
        } else {
            Ok(())
        }
    };
    over("epochs", h.epochs, l.max_epochs)?;
    over("hidden", h.hidden, l.max_hidden)?;
    over("layers", h.layers, l.max_layers)?;
    over("blocks", h.blocks, l.max_blocks)?;
    over("input_size", h.input_size, l.max_input_size)?;
    over("horizon", h.horizon, l.max_horizon)?;
    over("lags", h.lags, l.max_input_size)?;
    over("batch_size", h.batch_size, 65_536)?;
    let params = crate::models::param_count(arch, h);
    if params > l.max_params {
        return Err(NeuralError::invalid(
            "hyper",
            format!(
                "the model would have {params} weights, over this server's limit of {} (lower hidden, layers or blocks)",
                l.max_params
            ),
        ));
    }
    Ok(())
}

/// The version of `name` (`version`, or the latest) and its weights'
/// SHA-256 (which keys the cache, so a version number reused after a delete,
/// or changed by another server process, is never served stale).
async fn version_of(ctx: &ToolCtx, name: &str, version: Option<i64>) -> Result<(i64, String)> {
    let row: Option<(i64, String)> = match version {
        Some(v) => {
            sqlx::query_as(
                "SELECT version, weights_sha256 FROM neural_models WHERE name = $1 AND version = $2",
            )
            .bind(name)
            .bind(v)
            .fetch_optional(ctx.store.pool())
            .await?
        }
        None => {
            sqlx::query_as(
                "SELECT version, weights_sha256 FROM neural_models WHERE name = $1 ORDER BY version DESC LIMIT 1",
            )
            .bind(name)
            .fetch_optional(ctx.store.pool())
            .await?
        }
    };
    row.ok_or_else(|| match version {
        Some(v) => NeuralError::NotFound(format!("no model `{name}` version {v}")),
        None => NeuralError::NotFound(format!("no model `{name}`")),
    })
}

/// Loads `name` (at `version`, default the latest) onto `device`, from the
/// bundle's cache when it is there.
pub(crate) async fn load_cached(
    b: &NeuralBundle,
    ctx: &ToolCtx,
    name: &str,
    version: Option<i64>,
    device: &Device,
    device_name: &str,
) -> Result<(i64, Arc<Trained>)> {
    check_name(name)?;
    let (v, sha) = version_of(ctx, name, version).await?;
    let key = (name.to_string(), v, format!("{device_name}/{sha}"));
    if let Some(t) = b.cached(&key) {
        return Ok((v, t));
    }
    let loaded = crate::store::load(&ctx.store, name, Some(v), device).await?;
    let t = Arc::new(loaded.trained);
    b.keep(key, t.clone());
    Ok((v, t))
}
