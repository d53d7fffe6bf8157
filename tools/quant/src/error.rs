//! [`QuantError`]: everything that can go wrong in the quant maths and the
//! data providers.

/// A failure in the quant domain.
#[derive(Debug, thiserror::Error)]
pub enum QuantError {
    /// Input broke a rule; `field` names the input at fault.
    #[error("invalid `{field}`: {rule}")]
    Invalid {
        /// The input field (`params.lookback`, `returns`).
        field: String,
        /// The rule that was broken.
        rule: String,
    },
    /// Not enough data for the calculation.
    #[error("not enough data: {0}")]
    NotEnoughData(String),
    /// A data file or text could not be read.
    #[error("data: {0}")]
    Data(String),
    /// An outside data service failed or answered with an error.
    #[error("{0}")]
    Upstream(String),
    /// The work was cancelled.
    #[error("cancelled")]
    Cancelled,
}

impl QuantError {
    /// Bad input in `field`, breaking `rule`.
    pub fn invalid(field: impl Into<String>, rule: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            rule: rule.into(),
        }
    }
}

/// Result alias for the quant domain.
pub type Result<T, E = QuantError> = std::result::Result<T, E>;
