//! [`FantasyError`]: everything that can go wrong in the fantasy domain, and
//! how it turns into the [`ToolError`] an agent sees.

use nt_mcp_core::ToolError;

/// A failure in the fantasy domain.
#[derive(Debug, thiserror::Error)]
pub enum FantasyError {
    /// Input broke a rule; `field` names the input field at fault.
    #[error("invalid `{field}`: {rule}")]
    Invalid {
        /// The input field (JSON path style, e.g. `scoring.points.pass_yds`).
        field: String,
        /// The rule that was broken.
        rule: String,
    },
    /// The named thing does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The request is understood but the state does not allow it.
    #[error("{0}")]
    Refused(String),
    /// No lineup satisfies the constraints.
    #[error("infeasible: {0}")]
    Infeasible(String),
    /// The work was cancelled.
    #[error("cancelled")]
    Cancelled,
    /// Storage failed.
    #[error("storage: {0}")]
    Storage(#[from] sqlx::Error),
    /// An outside service (a stats provider) failed or answered with an error.
    #[error("{0}")]
    Upstream(String),
    /// Stored data could not be decoded (a bug or a hand-edited row).
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
}

impl FantasyError {
    /// Bad input in `field`, breaking `rule`.
    pub fn invalid(field: impl Into<String>, rule: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            rule: rule.into(),
        }
    }

    /// Prefixes the field of an `Invalid` error with `prefix.` (to place a
    /// nested error under the tool input field that holds it).
    pub fn under(self, prefix: &str) -> Self {
        match self {
            Self::Invalid { field, rule } => Self::Invalid {
                field: if field.is_empty() {
                    prefix.to_string()
                } else if field.starts_with('[') {
                    format!("{prefix}{field}")
                } else {
                    format!("{prefix}.{field}")
                },
                rule,
            },
            other => other,
        }
    }
}

impl From<FantasyError> for ToolError {
    fn from(err: FantasyError) -> Self {
        match err {
            FantasyError::Invalid { field, rule } => ToolError::invalid(field, rule),
            FantasyError::NotFound(msg) => ToolError::not_found(msg),
            FantasyError::Refused(msg) => ToolError::refused(msg),
            FantasyError::Infeasible(msg) => ToolError::refused(format!("infeasible: {msg}"))
                .with_hint(
                    "relax the salary cap, unlock players or lower exposure/stacking limits",
                ),
            FantasyError::Cancelled => ToolError::cancelled(),
            FantasyError::Storage(e) => ToolError::from(e),
            FantasyError::Upstream(msg) => ToolError::upstream(msg),
            FantasyError::Corrupt(msg) => {
                ToolError::internal(format!("corrupt stored data: {msg}"))
            }
        }
    }
}

impl From<ToolError> for FantasyError {
    fn from(err: ToolError) -> Self {
        match err.kind {
            nt_mcp_core::ToolErrorKind::Cancelled => FantasyError::Cancelled,
            nt_mcp_core::ToolErrorKind::InvalidInput => FantasyError::Invalid {
                field: err.field.unwrap_or_default(),
                rule: err.message,
            },
            nt_mcp_core::ToolErrorKind::NotFound => FantasyError::NotFound(err.message),
            _ => FantasyError::Refused(err.message),
        }
    }
}

/// Result alias for the fantasy domain.
pub type Result<T, E = FantasyError> = std::result::Result<T, E>;
