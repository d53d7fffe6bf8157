//! [`SignalsError`]: what can go wrong in the GPU signals bundle, and how it
//! turns into the [`ToolError`] an agent sees.

use nt_mcp_core::ToolError;

/// A failure in the signals domain.
#[derive(Debug, thiserror::Error)]
pub enum SignalsError {
    /// Input broke a rule; `field` names the input field at fault.
    #[error("invalid `{field}`: {rule}")]
    Invalid {
        /// The input field.
        field: String,
        /// The rule that was broken.
        rule: String,
    },
    /// The CUDA backend was asked for and is not there (or failed).
    #[error("CUDA unavailable: {0}")]
    CudaUnavailable(String),
    /// A CUDA call failed after the device loaded.
    #[error("CUDA: {0}")]
    Cuda(String),
    /// The call was cancelled.
    #[error("cancelled")]
    Cancelled,
}

impl SignalsError {
    /// Bad input in `field`, breaking `rule`.
    pub fn invalid(field: impl Into<String>, rule: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            rule: rule.into(),
        }
    }
}

impl From<SignalsError> for ToolError {
    fn from(e: SignalsError) -> Self {
        match e {
            SignalsError::Invalid { field, rule } => ToolError::invalid(field, rule),
            SignalsError::CudaUnavailable(m) => ToolError::invalid(
                "backend",
                format!("`cuda` was asked for but CUDA is unavailable: {m}"),
            )
            .with_hint("use backend \"auto\" or \"cpu\"; signals_backend says why CUDA is off"),
            SignalsError::Cuda(m) => ToolError::internal(format!("CUDA: {m}")),
            SignalsError::Cancelled => ToolError::cancelled(),
        }
    }
}

/// Result with [`SignalsError`].
pub type Result<T, E = SignalsError> = std::result::Result<T, E>;
