//! [`BundleError`]: why the `strategies` or `risk` bundle could not be built,
//! and [`tool_error`]: how a quant failure reaches the agent.

use nt_mcp_core::ToolError;
use nt_quant::QuantError;

/// A bundle construction failure (bad `bundle_config` or environment).
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// A setting broke a rule.
    #[error("invalid `{field}`: {rule}")]
    Setting {
        /// The setting (`bundle_config.strategies.csv_dir`).
        field: String,
        /// The rule.
        rule: String,
    },
}

/// A quant error as the agent sees it: bad input names its field, missing
/// data and outside failures say what to do.
pub fn tool_error(err: QuantError) -> ToolError {
    match err {
        QuantError::Invalid { field, rule } => ToolError::invalid(field, rule),
        QuantError::NotEnoughData(m) => ToolError::refused(format!("not enough data: {m}"))
            .with_hint("use more bars or a longer date range"),
        QuantError::Data(m) => ToolError::refused(format!("data: {m}")),
        QuantError::Upstream(m) => ToolError::upstream(m),
        QuantError::Cancelled => ToolError::cancelled(),
    }
}

/// Places an `Invalid` error's field under `prefix` (`params.lookback` under
/// `strategy` is `strategy.lookback`).
pub fn under(err: QuantError, prefix: &str) -> QuantError {
    match err {
        QuantError::Invalid { field, rule } => {
            let rest = field.strip_prefix("params.").unwrap_or(&field);
            let field = if rest == "params" {
                prefix.to_string()
            } else {
                format!("{prefix}.{rest}")
            };
            QuantError::Invalid { field, rule }
        }
        other => other,
    }
}
