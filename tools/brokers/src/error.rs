//! [`BrokersError`]: what goes wrong in the brokers bundle, and how it reads
//! to an agent once turned into a [`ToolError`].

use nt_mcp_core::ToolError;

/// A failure in a broker, the compliance checks, the audit trail or the tax
/// engine.
#[derive(Debug, thiserror::Error)]
pub enum BrokersError {
    /// An argument broke a rule; `field` names it.
    #[error("invalid argument `{field}`: {rule}")]
    Invalid {
        /// The argument at fault.
        field: String,
        /// The rule it broke.
        rule: String,
    },
    /// A pre-trade check or a state rule refused the request; `rule` names it.
    #[error("refused by rule `{rule}`: {message}")]
    Refused {
        /// The rule's name (`max_order_value`, `restricted_symbol`, ...).
        rule: String,
        /// What the rule saw.
        message: String,
    },
    /// The thing asked for does not exist.
    #[error("{0}")]
    NotFound(String),
    /// A venue answered with an error or could not be reached.
    #[error("{venue}{}: {message}", status.map(|s| format!(" answered HTTP {s}")).unwrap_or_default())]
    Upstream {
        /// Venue name.
        venue: String,
        /// HTTP status, when there was one.
        status: Option<u16>,
        /// The venue's own message.
        message: String,
    },
    /// The database failed.
    #[error("storage: {0}")]
    Storage(#[from] sqlx::Error),
    /// Configuration (credentials, URLs, settings) is invalid.
    #[error("configuration: {0}")]
    Config(String),
    /// A transaction shared with other orders could not commit; nothing of
    /// it was stored.
    #[error("storage: {0}")]
    CommitFailed(String),
    /// Stored data is not what we wrote (corrupt decimal, unknown enum).
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
}

impl BrokersError {
    /// Bad input in `field`.
    pub fn invalid(field: impl Into<String>, rule: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            rule: rule.into(),
        }
    }

    /// Refused by the named rule.
    pub fn refused(rule: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Refused {
            rule: rule.into(),
            message: message.into(),
        }
    }

    /// A venue error.
    pub fn upstream(
        venue: impl Into<String>,
        status: Option<u16>,
        message: impl Into<String>,
    ) -> Self {
        Self::Upstream {
            venue: venue.into(),
            status,
            message: message.into(),
        }
    }
}

impl From<BrokersError> for ToolError {
    fn from(err: BrokersError) -> Self {
        match err {
            BrokersError::Invalid { field, rule } => ToolError::invalid(field, rule),
            BrokersError::Refused { rule, message } => {
                let err = ToolError::refused(format!("refused by rule `{rule}`: {message}"));
                if crate::compliance::RULES.contains(&rule.as_str()) {
                    err.with_hint("see compliance_rules for the account's limits")
                } else {
                    err
                }
            }
            BrokersError::NotFound(message) => ToolError::not_found(message),
            BrokersError::Upstream {
                venue,
                status,
                message,
            } => match status {
                Some(code) => {
                    ToolError::upstream(format!("{venue} answered HTTP {code}: {message}"))
                }
                None => ToolError::upstream(format!("{venue}: {message}")),
            },
            BrokersError::Storage(err) => ToolError::from(err),
            BrokersError::CommitFailed(message) => {
                ToolError::internal(format!("storage: {message}"))
            }
            BrokersError::Config(message) => {
                ToolError::internal(format!("configuration: {message}"))
            }
            BrokersError::Corrupt(message) => {
                ToolError::internal(format!("corrupt stored data: {message}"))
            }
        }
    }
}

/// Shorthand for results in this crate.
pub type Result<T, E = BrokersError> = std::result::Result<T, E>;

#[cfg(test)]
mod hint_tests {
    use super::*;

    #[test]
    fn only_compliance_refusals_point_at_the_compliance_rules() {
        let compliance: ToolError =
            BrokersError::refused("wash_trade", "would cross a resting order").into();
        assert!(
            compliance
                .hint
                .is_some_and(|h| h.contains("compliance_rules"))
        );
        let other: ToolError =
            BrokersError::refused("stream_unsupported", "example venue has no stream").into();
        assert!(other.hint.is_none());
        assert!(other.message.contains("stream_unsupported"));
    }
}
