//! [`E2bError`]: every way the bundle's providers, executor and templates
//! fail, and how each turns into the [`ToolError`] an agent reads.

use nt_mcp_core::ToolError;

/// A failure of the e2b bundle.
#[derive(Debug, thiserror::Error)]
pub enum E2bError {
    /// A path given for a sandbox would leave it (`..`, absolute, a symlink out).
    #[error("path `{path}` is refused: {reason}")]
    PathEscape {
        /// The path as given.
        path: String,
        /// Why it is refused.
        reason: String,
    },
    /// No such sandbox (or it has ended).
    #[error("sandbox `{0}` not found")]
    NotFound(String),
    /// The sandbox exists but has ended.
    #[error("sandbox `{id}` is {status}")]
    Ended {
        /// Sandbox id.
        id: String,
        /// Its status (`killed`, `expired`, `reaped`).
        status: String,
    },
    /// An input broke a rule; `field` names it.
    #[error("invalid `{field}`: {reason}")]
    Invalid {
        /// The field at fault.
        field: String,
        /// The rule it broke.
        reason: String,
    },
    /// A template is broken; `field` names the key at fault.
    #[error("template `{template}`: `{field}` {reason}")]
    Template {
        /// Template name.
        template: String,
        /// The field (file key) at fault, e.g. `e2b.toml:memory_mb`.
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// The operation is not allowed by configuration.
    #[error("{0}")]
    Refused(String),
    /// E2B (REST API or the in-sandbox daemon) failed or answered an error.
    #[error("e2b: {0}")]
    Upstream(String),
    /// The Docker daemon failed, answered an error or could not be reached.
    #[error("docker: {0}")]
    Docker(String),
    /// A file or process operation failed.
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    /// The database failed.
    #[error("storage: {0}")]
    Storage(#[from] sqlx::Error),
    /// The HTTP plumbing failed.
    #[error("{0}")]
    Http(#[from] nt_venue_http::HttpError),
    /// Bad configuration (settings, URLs).
    #[error("configuration: {0}")]
    Config(String),
}

impl E2bError {
    /// An invalid input in `field`.
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

impl From<E2bError> for ToolError {
    fn from(err: E2bError) -> Self {
        match &err {
            E2bError::PathEscape { .. } => ToolError::invalid("path", err.to_string())
                .with_hint("give a path relative to the sandbox root, without `..`"),
            E2bError::NotFound(_) => ToolError::not_found(err.to_string())
                .with_hint("sandbox_list shows the sandboxes that exist"),
            E2bError::Ended { .. } => ToolError::refused(err.to_string())
                .with_hint("create a new sandbox with sandbox_create"),
            E2bError::Invalid { field, reason } => {
                ToolError::invalid(field.clone(), reason.clone())
            }
            E2bError::Template { field, .. } => {
                ToolError::invalid("template", err.to_string()).with_field(field.clone())
            }
            E2bError::Refused(_) => ToolError::refused(err.to_string()),
            E2bError::Upstream(_) | E2bError::Http(_) | E2bError::Docker(_) => {
                ToolError::upstream(err.to_string())
            }
            E2bError::Config(_) => ToolError::refused(err.to_string()),
            E2bError::Io(_) | E2bError::Storage(_) => ToolError::internal(err.to_string()),
        }
    }
}
