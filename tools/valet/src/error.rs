//! [`ValetError`]: why a Valet request gave no usable answer.

use nt_venue_http::HttpError;

/// A failed Valet request.
#[derive(Debug, thiserror::Error)]
pub enum ValetError {
    /// A bad argument (series name, date); nothing was sent.
    #[error("{field}: {reason}")]
    Invalid {
        /// The argument.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The base URL or HTTP client could not be set up.
    #[error("Bank of Canada Valet: {0}")]
    Config(String),
    /// No answer (transport failure, open breaker).
    #[error(transparent)]
    Http(#[from] HttpError),
    /// The Bank answered with an error status, in its own words.
    #[error("Bank of Canada Valet answered {status}: {message}")]
    Upstream {
        /// HTTP status.
        status: u16,
        /// The Bank's message (`Series FXXXXCAD not found.`).
        message: String,
    },
    /// The answer was not the documented shape.
    #[error("Bank of Canada Valet: unexpected answer: {0}")]
    Parse(String),
}

impl ValetError {
    /// An invalid argument.
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Self::Invalid {
            field,
            reason: reason.into(),
        }
    }
}

/// Results of this crate.
pub type Result<T> = std::result::Result<T, ValetError>;
