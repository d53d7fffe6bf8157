//! [`NeuralError`]: what can go wrong in the neural bundle, and how it turns
//! into the [`ToolError`] an agent sees.

use nt_mcp_core::ToolError;

/// A failure in the neural domain.
#[derive(Debug, thiserror::Error)]
pub enum NeuralError {
    /// Input broke a rule; `field` names the input field at fault.
    #[error("invalid `{field}`: {rule}")]
    Invalid {
        /// The input field.
        field: String,
        /// The rule that was broken.
        rule: String,
    },
    /// The named model (or version) does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The request cannot be served by this build or device (CUDA asked
    /// for in a build without it).
    #[error("{0}")]
    Unsupported(String),
    /// Training was cancelled.
    #[error("cancelled")]
    Cancelled,
    /// A tensor operation failed.
    #[error("tensor: {0}")]
    Tensor(#[from] candle_core::Error),
    /// Storage failed.
    #[error("storage: {0}")]
    Storage(#[from] sqlx::Error),
    /// Stored data could not be decoded.
    #[error("corrupt stored model: {0}")]
    Corrupt(String),
}

impl NeuralError {
    /// Bad input in `field`, breaking `rule`.
    pub fn invalid(field: impl Into<String>, rule: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            rule: rule.into(),
        }
    }
}

impl From<NeuralError> for ToolError {
    fn from(e: NeuralError) -> Self {
        match e {
            NeuralError::Invalid { field, rule } => ToolError::invalid(field, rule),
            NeuralError::NotFound(m) => ToolError::not_found(m)
                .with_hint("neural_models lists the stored models and their versions"),
            NeuralError::Unsupported(m) => ToolError::refused(m)
                .with_hint("use device \"cpu\" or \"auto\" (auto falls back to the CPU)"),
            NeuralError::Cancelled => ToolError::cancelled(),
            NeuralError::Tensor(e) => ToolError::internal(format!("tensor: {e}")),
            NeuralError::Storage(e) => ToolError::internal(format!("storage: {e}")),
            NeuralError::Corrupt(m) => ToolError::internal(format!("corrupt stored model: {m}")),
        }
    }
}

/// Result with [`NeuralError`].
pub type Result<T, E = NeuralError> = std::result::Result<T, E>;
