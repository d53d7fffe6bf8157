//! [`SportsError`]: what can go wrong in the sports bundle, and how it turns
//! into the [`ToolError`] an agent sees.

use nt_mcp_core::ToolError;

/// A failure in the sports domain.
#[derive(Debug, thiserror::Error)]
pub enum SportsError {
    /// Input broke a rule; `field` names the input field at fault.
    #[error("invalid `{field}`: {rule}")]
    Invalid {
        /// The input field.
        field: String,
        /// The rule that was broken.
        rule: String,
    },
    /// The named thing does not exist.
    #[error("{0}")]
    NotFound(String),
    /// A risk or compliance rule refused the bet; `rule` names it.
    #[error("refused by rule `{rule}`: {message}")]
    Rule {
        /// The rule's name (`max_stake_per_bet`, `self_exclusion`, ...).
        rule: String,
        /// Why, with the figures.
        message: String,
    },
    /// The state does not allow the request (a settled bet settled again).
    #[error("{0}")]
    Refused(String),
    /// An outside service failed or answered with an error.
    #[error("{0}")]
    Upstream(String),
    /// The call was cancelled.
    #[error("cancelled")]
    Cancelled,
    /// Storage failed.
    #[error("storage: {0}")]
    Storage(#[from] sqlx::Error),
    /// Stored data could not be decoded.
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
}

impl SportsError {
    /// Bad input in `field`, breaking `rule`.
    pub fn invalid(field: impl Into<String>, rule: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            rule: rule.into(),
        }
    }

    /// A refusal by the risk or compliance rule `rule`.
    pub fn rule(rule: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Rule {
            rule: rule.into(),
            message: message.into(),
        }
    }
}

impl From<nt_venue_http::HttpError> for SportsError {
    fn from(e: nt_venue_http::HttpError) -> Self {
        Self::Upstream(e.to_string())
    }
}

impl From<SportsError> for ToolError {
    fn from(e: SportsError) -> Self {
        match e {
            SportsError::Invalid { field, rule } => ToolError::invalid(field, rule),
            SportsError::NotFound(m) => ToolError::not_found(m),
            SportsError::Rule { rule, message } => {
                ToolError::refused(format!("refused by rule `{rule}`: {message}")).with_hint(
                    format!("see betting_risk_status for the rule `{rule}` and its limit"),
                )
            }
            SportsError::Refused(m) => ToolError::refused(m),
            SportsError::Upstream(m) => ToolError::upstream(m),
            SportsError::Cancelled => ToolError::cancelled(),
            SportsError::Storage(e) => ToolError::internal(format!("storage: {e}")),
            SportsError::Corrupt(m) => ToolError::internal(format!("corrupt stored data: {m}")),
        }
    }
}

/// Result with [`SportsError`].
pub type Result<T, E = SportsError> = std::result::Result<T, E>;
