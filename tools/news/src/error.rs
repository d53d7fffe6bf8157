//! [`NewsError`]: everything that can go wrong in the news bundle, and how
//! each maps to the tool error an agent sees.

use nt_mcp_core::ToolError;

/// An error of the news bundle.
#[derive(Debug, thiserror::Error)]
pub enum NewsError {
    /// A setting is missing or malformed.
    #[error("news configuration: {0}")]
    Config(String),
    /// A source answered with an error or could not be reached.
    #[error("{name}: {detail}")]
    Upstream {
        /// The source's name.
        name: String,
        /// What it said or why it failed.
        detail: String,
    },
    /// A source answered something that does not parse.
    #[error("{name} answered an unexpected body: {detail}")]
    Parse {
        /// The source's name.
        name: String,
        /// What did not parse.
        detail: String,
    },
    /// The source's circuit breaker is open; nothing was sent.
    #[error("{message}")]
    BreakerOpen {
        /// The breaker's message.
        message: String,
        /// Time until it lets a call through, ms.
        retry_in_ms: i64,
    },
    /// A database failure (cache).
    #[error("news cache database: {0}")]
    Db(#[from] sqlx::Error),
    /// A model directory (embeddings, transformer sentiment) could not be
    /// loaded or run.
    #[error("news model: {0}")]
    Model(String),
    /// Bad input, naming the field.
    #[error("{field}: {rule}")]
    Invalid {
        /// The input field.
        field: String,
        /// The rule it broke.
        rule: String,
    },
}

/// Results of the bundle.
pub type Result<T, E = NewsError> = std::result::Result<T, E>;

impl NewsError {
    /// An upstream error of `source`.
    pub fn upstream(source: &str, detail: impl Into<String>) -> Self {
        NewsError::Upstream {
            name: source.to_string(),
            detail: detail.into(),
        }
    }

    /// A parse error of `source`.
    pub fn parse(source: &str, detail: impl Into<String>) -> Self {
        NewsError::Parse {
            name: source.to_string(),
            detail: detail.into(),
        }
    }

    /// A venue-http failure of `source` (an open breaker stays recognisable).
    pub fn http(source: &str, e: nt_venue_http::HttpError) -> Self {
        match e {
            nt_venue_http::HttpError::CircuitOpen { retry_in, .. } => NewsError::BreakerOpen {
                retry_in_ms: i64::try_from(retry_in.as_millis()).unwrap_or(i64::MAX),
                message: e.to_string(),
            },
            other => NewsError::upstream(source, other.to_string()),
        }
    }

    /// Bad input on `field`.
    pub fn invalid(field: &str, rule: impl Into<String>) -> Self {
        NewsError::Invalid {
            field: field.to_string(),
            rule: rule.into(),
        }
    }
}

impl From<NewsError> for ToolError {
    fn from(e: NewsError) -> Self {
        match e {
            NewsError::Invalid { field, rule } => ToolError::invalid(field, rule),
            NewsError::Config(m) => ToolError::refused(format!("news configuration: {m}"))
                .with_hint("check [bundle_config.news] in the manifest or the NEWS_* environment"),
            NewsError::BreakerOpen { message, .. } => {
                ToolError::upstream(message).with_hint("the source failed repeatedly; retry later")
            }
            NewsError::Db(e) => ToolError::internal(format!("news cache database: {e}")),
            NewsError::Model(m) => ToolError::internal(format!("news model: {m}")).with_hint(
                "check embed_model_dir / sentiment_model_dir (NEWS_EMBED_MODEL_DIR, NEWS_SENTIMENT_MODEL_DIR); \
                 scripts/fetch-models.sh fetches all-MiniLM-L6-v2",
            ),
            other => ToolError::upstream(other.to_string()),
        }
    }
}
