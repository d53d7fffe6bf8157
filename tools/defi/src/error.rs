//! [`DefiError`]: everything this crate can fail with, and how it turns into
//! the [`ToolError`] an agent reads.

use nt_mcp_core::ToolError;

/// A failure in the DeFi bundle: bad input, a missing vault, a refused
/// transaction, the Beefy API or a JSON-RPC node, configuration or storage.
#[derive(Debug, thiserror::Error)]
pub enum DefiError {
    /// An argument broke a rule; names the field.
    #[error("invalid `{field}`: {rule}")]
    Invalid {
        /// The field at fault.
        field: String,
        /// The rule it broke.
        rule: String,
    },
    /// The vault, chain or position asked for does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// Refused: live trading off, no key, not confirmed, too little balance.
    #[error("refused: {0}")]
    Refused(String),
    /// The Beefy API or a JSON-RPC node answered with an error or could not
    /// be reached, or answered something that does not decode.
    #[error("upstream: {0}")]
    Upstream(String),
    /// Configuration (URLs, keys) is invalid.
    #[error("config: {0}")]
    Config(String),
    /// Storage failed.
    #[error("storage: {0}")]
    Storage(#[from] sqlx::Error),
}

impl DefiError {
    /// Shorthand for [`DefiError::Invalid`].
    pub fn invalid(field: impl Into<String>, rule: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            rule: rule.into(),
        }
    }
}

impl From<DefiError> for ToolError {
    fn from(err: DefiError) -> Self {
        match err {
            DefiError::Invalid { field, rule } => ToolError::invalid(field, rule),
            DefiError::NotFound(what) => ToolError::not_found(what),
            DefiError::Refused(why) => ToolError::refused(why),
            DefiError::Upstream(why) => ToolError::upstream(why),
            DefiError::Config(why) => ToolError::internal(format!("configuration: {why}")),
            DefiError::Storage(err) => ToolError::from(err),
        }
    }
}

impl From<nt_evm::EvmError> for DefiError {
    fn from(err: nt_evm::EvmError) -> Self {
        DefiError::Config(format!("DeFi {err}"))
    }
}

/// Result with [`DefiError`].
pub type Result<T, E = DefiError> = std::result::Result<T, E>;
