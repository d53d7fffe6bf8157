//! [`SyndicateError`]: what can go wrong in a syndicate, and how it turns
//! into the [`ToolError`] an agent sees.

use nt_mcp_core::ToolError;

/// A failure in the syndicate domain.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SyndicateError {
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
    /// The member's role does not carry the permission.
    #[error("`{member}` ({role}) may not {action}")]
    Forbidden {
        /// Acting member.
        member: String,
        /// Their role.
        role: String,
        /// What they tried.
        action: String,
    },
    /// A rule of the syndicate refused it (`lockup`, `cash_available`, ...).
    #[error("refused by rule `{rule}`: {message}")]
    Rule {
        /// The rule's name.
        rule: String,
        /// Why, with the figures.
        message: String,
    },
    /// Another call changed the syndicate first; retry.
    #[error("the syndicate changed during the call; retry")]
    Conflict,
    /// Storage failed.
    #[error("storage: {0}")]
    Storage(String),
    /// Stored data could not be decoded.
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
}

impl SyndicateError {
    /// Bad input in `field`, breaking `rule`.
    pub fn invalid(field: impl Into<String>, rule: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            rule: rule.into(),
        }
    }

    /// A refusal by rule `rule`.
    pub fn rule(rule: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Rule {
            rule: rule.into(),
            message: message.into(),
        }
    }
}

impl From<sqlx::Error> for SyndicateError {
    fn from(e: sqlx::Error) -> Self {
        Self::Storage(e.to_string())
    }
}

impl From<SyndicateError> for ToolError {
    fn from(e: SyndicateError) -> Self {
        match e {
            SyndicateError::Invalid { field, rule } => ToolError::invalid(field, rule),
            SyndicateError::NotFound(m) => ToolError::not_found(m),
            e @ SyndicateError::Forbidden { .. } => ToolError::refused(e.to_string())
                .with_hint("the syndicate's lead can change member roles"),
            e @ SyndicateError::Rule { .. } => ToolError::refused(e.to_string()),
            e @ SyndicateError::Conflict => ToolError::refused(e.to_string()),
            SyndicateError::Storage(m) => ToolError::internal(format!("storage: {m}")),
            SyndicateError::Corrupt(m) => ToolError::internal(format!("corrupt stored data: {m}")),
        }
    }
}

/// Result with [`SyndicateError`].
pub type Result<T, E = SyndicateError> = std::result::Result<T, E>;
