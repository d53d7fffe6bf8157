//! [`HttpError`]: why a venue call produced no answer at all.

use std::time::Duration;

/// A call that produced no answer. A venue's non-2xx answer is not an
/// error here: it comes back as an [`crate::Answer`] for the client to
/// read the venue's message from.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The HTTP client could not be built (bad TLS or proxy settings).
    #[error("{venue} HTTP client: {detail}")]
    Client {
        /// Venue name.
        venue: String,
        /// What failed.
        detail: String,
    },
    /// The breaker is open after repeated failures; nothing was sent.
    #[error(
        "{venue}: circuit breaker open after {failures} failed calls; retry in {} s",
        retry_in.as_secs() + 1
    )]
    CircuitOpen {
        /// Venue name.
        venue: String,
        /// Consecutive failed calls that opened it.
        failures: u32,
        /// Time until the breaker lets a call through.
        retry_in: Duration,
    },
    /// Every attempt failed in transport (connect, TLS, timeout, reset).
    #[error("{venue}: no answer after {attempts} attempt{}: {detail}", if *attempts == 1 { "" } else { "s" })]
    Unreachable {
        /// Venue name.
        venue: String,
        /// Attempts made.
        attempts: u32,
        /// The last transport error, without the URL (a query may carry a
        /// credential).
        detail: String,
    },
    /// The caller's request could not be prepared (signing, encoding).
    #[error("{venue}: {detail}")]
    Request {
        /// Venue name.
        venue: String,
        /// What failed.
        detail: String,
    },
}

impl HttpError {
    /// The venue the error is about.
    pub fn venue(&self) -> &str {
        match self {
            HttpError::Client { venue, .. }
            | HttpError::CircuitOpen { venue, .. }
            | HttpError::Unreachable { venue, .. }
            | HttpError::Request { venue, .. } => venue,
        }
    }
}
