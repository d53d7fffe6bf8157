//! `neural_models` (stored versions with their metrics) and
//! `neural_model_delete`.

use std::sync::Arc;

use nt_mcp_core::{Route, ToolCtx, ToolError, ToolOutput, route};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use crate::NeuralBundle;
use crate::error::NeuralError;
use crate::store;

pub(super) fn routes() -> Vec<Route<NeuralBundle>> {
    vec![
        route::<NeuralModelsInput, _>(
            "neural_models",
            "List stored model versions (newest first) with architecture, hyper-parameters, data digest, holdout metrics, first/last loss and weight size; of one `name` or of all.",
            list,
        ),
        route::<NeuralModelDeleteInput, _>(
            "neural_model_delete",
            "Delete one version of a stored model, or every version of it when `version` is left out.",
            delete,
        )
        .writes(),
    ]
}

/// Input of `neural_models`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NeuralModelsInput {
    /// Only this model's versions.
    pub name: Option<String>,
    /// Most rows (1-1000, default 100).
    pub limit: Option<i64>,
}

/// Input of `neural_model_delete`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NeuralModelDeleteInput {
    /// Model name.
    pub name: String,
    /// The version to delete (default: every version).
    pub version: Option<i64>,
}

async fn list(
    _b: Arc<NeuralBundle>,
    input: NeuralModelsInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    let limit = input.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(NeuralError::invalid("limit", "must be 1-1000").into());
    }
    if let Some(n) = &input.name {
        super::check_name(n)?;
    }
    let rows = store::list(&ctx.store, input.name.as_deref(), limit).await?;
    let text = if rows.is_empty() {
        "No stored models.".to_string()
    } else {
        rows.iter()
            .map(|r| {
                let score = if r.architecture == "momentum" {
                    format!(
                        "accuracy {} vs baseline {}",
                        r.metrics["accuracy"], r.metrics["baseline_accuracy"]
                    )
                } else {
                    format!(
                        "MASE {} vs naive {}",
                        r.metrics["model"]["mase"], r.metrics["naive"]["mase"]
                    )
                };
                format!(
                    "{} v{} {} ({} weights, {}), {score}",
                    r.name, r.version, r.architecture, r.params, r.precision
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    Ok(ToolOutput::new(text, json!({"models": rows})))
}

async fn delete(
    b: Arc<NeuralBundle>,
    input: NeuralModelDeleteInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    super::check_name(&input.name)?;
    let n = store::delete(&ctx, &input.name, input.version).await?;
    b.forget(&input.name);
    Ok(ToolOutput::new(
        format!("Deleted {n} version(s) of `{}`.", input.name),
        json!({"name": input.name, "version": input.version, "deleted": n}),
    ))
}
