//! [`PolymarketError`]: everything this crate can fail with, and how it turns
//! into the [`ToolError`] an agent reads.

use nt_mcp_core::ToolError;

/// A failure in the Polymarket bundle: bad input, a refused order, the venue
/// or storage.
#[derive(Debug, thiserror::Error)]
pub enum PolymarketError {
    /// An argument broke a rule; names the field.
    #[error("invalid `{field}`: {rule}")]
    Invalid {
        /// The field at fault.
        field: String,
        /// The rule it broke.
        rule: String,
    },
    /// The thing asked for does not exist (market, token, order).
    #[error("not found: {0}")]
    NotFound(String),
    /// Refused by a risk limit, the kill switch, a balance or market state.
    #[error("refused: {0}")]
    Refused(String),
    /// The real venue answered with an error or could not be reached.
    #[error("venue: {0}")]
    Upstream(String),
    /// Configuration (keys, URLs) is invalid.
    #[error("config: {0}")]
    Config(String),
    /// Storage failed.
    #[error("storage: {0}")]
    Storage(#[from] sqlx::Error),
}

impl PolymarketError {
    /// Shorthand for [`PolymarketError::Invalid`].
    pub fn invalid(field: impl Into<String>, rule: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            rule: rule.into(),
        }
    }
}

impl From<PolymarketError> for ToolError {
    fn from(err: PolymarketError) -> Self {
        match err {
            PolymarketError::Invalid { field, rule } => ToolError::invalid(field, rule),
            PolymarketError::NotFound(what) => ToolError::not_found(what),
            PolymarketError::Refused(why) => ToolError::refused(why),
            PolymarketError::Upstream(why) => ToolError::upstream(why),
            PolymarketError::Config(why) => ToolError::internal(format!("configuration: {why}")),
            PolymarketError::Storage(err) => ToolError::from(err),
        }
    }
}

/// Result with [`PolymarketError`].
pub type Result<T, E = PolymarketError> = std::result::Result<T, E>;
