//! Errors: [`ToolError`] is what an agent sees when a tool fails; [`CoreError`]
//! is what stops the runtime from starting or serving.

use serde::Serialize;

/// The category of a tool failure, so an agent can decide whether to fix its
/// input, wait, or give up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ToolErrorKind {
    /// The arguments broke a rule; `field` names which one.
    InvalidInput,
    /// The thing asked for does not exist.
    NotFound,
    /// The call was understood but refused: a risk limit, the trading gate, a
    /// missing scope, a state that does not allow it.
    Refused,
    /// An outside service (venue, API, RPC) failed or answered with an error.
    Upstream,
    /// The tool's deadline passed and the variant does not turn calls into jobs.
    DeadlineExceeded,
    /// The client or an operator cancelled the work.
    Cancelled,
    /// Too many calls in the window; retry later.
    RateLimited,
    /// A bug or storage failure on our side.
    Internal,
}

impl ToolErrorKind {
    /// The kind's wire name (`invalid_input`).
    pub fn as_str(self) -> &'static str {
        match self {
            ToolErrorKind::InvalidInput => "invalid_input",
            ToolErrorKind::NotFound => "not_found",
            ToolErrorKind::Refused => "refused",
            ToolErrorKind::Upstream => "upstream",
            ToolErrorKind::DeadlineExceeded => "deadline_exceeded",
            ToolErrorKind::Cancelled => "cancelled",
            ToolErrorKind::RateLimited => "rate_limited",
            ToolErrorKind::Internal => "internal",
        }
    }

    /// Whether the same call may succeed if retried later unchanged: an
    /// outside service failing, a rate limit, a deadline. Bad input, refusals,
    /// missing things, cancellations and our own bugs are not.
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            ToolErrorKind::Upstream | ToolErrorKind::RateLimited | ToolErrorKind::DeadlineExceeded
        )
    }
}

/// A tool failure as the agent sees it: a clear message, the field at fault
/// when there is one, and a hint saying what to do instead.
#[derive(Debug, Clone, Serialize, thiserror::Error)]
#[error("{message}")]
pub struct ToolError {
    /// What kind of failure this is.
    pub kind: ToolErrorKind,
    /// One or two sentences saying what went wrong.
    pub message: String,
    /// The argument at fault, as a JSON path (`order.price`), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// What the agent can do about it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl ToolError {
    /// A failure of the given kind with a message.
    pub fn new(kind: ToolErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            field: None,
            hint: None,
        }
    }

    /// Bad input in `field`, breaking `rule`.
    pub fn invalid(field: impl Into<String>, rule: impl Into<String>) -> Self {
        let field = field.into();
        let rule = rule.into();
        Self {
            kind: ToolErrorKind::InvalidInput,
            message: format!("invalid argument `{field}`: {rule}"),
            field: Some(field),
            hint: None,
        }
    }

    /// The named thing does not exist.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ToolErrorKind::NotFound, message)
    }

    /// The call is refused (limit, gate, state).
    pub fn refused(message: impl Into<String>) -> Self {
        Self::new(ToolErrorKind::Refused, message)
    }

    /// An outside service failed.
    pub fn upstream(message: impl Into<String>) -> Self {
        Self::new(ToolErrorKind::Upstream, message)
    }

    /// Something broke on our side.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ToolErrorKind::Internal, message)
    }

    /// The work was cancelled.
    pub fn cancelled() -> Self {
        Self::new(ToolErrorKind::Cancelled, "the call was cancelled")
    }

    /// Adds a hint saying what to do instead.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Names the field at fault.
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// Whether retrying the same call later may succeed (see
    /// [`ToolErrorKind::is_retryable`]).
    pub fn is_retryable(&self) -> bool {
        self.kind.is_retryable()
    }

    /// The text an agent reads: message, then field and hint when present.
    pub fn to_text(&self) -> String {
        let mut text = format!("error ({}): {}", self.kind.as_str(), self.message);
        if let Some(hint) = &self.hint {
            text.push_str("\nhint: ");
            text.push_str(hint);
        }
        text
    }
}

impl From<crate::settings::SettingError> for ToolError {
    fn from(err: crate::settings::SettingError) -> Self {
        let field = err.key.clone();
        ToolError::invalid(field, err.reason)
    }
}

impl From<sqlx::Error> for ToolError {
    fn from(err: sqlx::Error) -> Self {
        tracing::error!(error = %err, "storage error during a tool call");
        ToolError::internal(format!("storage error: {err}"))
    }
}

/// Failures of the runtime itself: bad manifests, storage that cannot open,
/// transports that cannot bind.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// A manifest could not be read or is invalid; the message names file and line.
    #[error("manifest {path}: {message}")]
    Manifest {
        /// The manifest file (or `<embedded:NAME>`).
        path: String,
        /// What is wrong, with the line when known.
        message: String,
    },
    /// The database could not be opened or migrated.
    #[error("storage: {0}")]
    Storage(#[from] sqlx::Error),
    /// Configuration (auth keys, URLs, flags) is invalid.
    #[error("configuration: {0}")]
    Config(String),
    /// The database opened in the background could not be opened or
    /// migrated (see [`crate::registry::Runtime::ready`]).
    #[error("storage: {0}")]
    StoreNotReady(String),
    /// A socket or file operation failed.
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    /// The MCP service failed to start or ended with an error.
    #[error("mcp service: {0}")]
    Service(String),
}
