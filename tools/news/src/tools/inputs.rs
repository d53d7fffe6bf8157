//! The tools' typed inputs.

use schemars::JsonSchema;
use serde::Deserialize;

/// Input of `news_search`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchInput {
    /// Words that must all appear (e.g. `buyback dividend`).
    #[serde(default)]
    pub query: Option<String>,
    /// Tickers or company names (`AAPL`, `Apple`, `SHOP.TO`).
    #[serde(default)]
    pub tickers: Vec<String>,
    /// Look back this many hours from `as_of` (default 168).
    #[serde(default)]
    pub since_hours: Option<u32>,
    /// "Now" for windows and recency, ISO 8601 (default: the clock, or the
    /// corpus's newest article when only the corpus is served).
    #[serde(default)]
    pub as_of: Option<String>,
    /// Stories to return (1-100, default 10).
    #[serde(default)]
    pub limit: Option<u32>,
    /// Return the parts of each relevance score.
    #[serde(default)]
    pub explain: bool,
    /// Only these sources (names from `news_sources`).
    #[serde(default)]
    pub sources: Option<Vec<String>>,
    /// Recency half-life, hours (default 24).
    #[serde(default)]
    pub half_life_hours: Option<f64>,
    /// Rank by meaning instead of words: the query's embedding against
    /// each story's (cosine), over every story in the window (and tickers);
    /// needs an embedding model (`NEWS_EMBED_MODEL_DIR`).
    #[serde(default)]
    pub semantic: bool,
}

/// Input of `news_latest`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LatestInput {
    /// Tickers or company names; none: all news.
    #[serde(default)]
    pub tickers: Vec<String>,
    /// Look back this many hours (default 72).
    #[serde(default)]
    pub since_hours: Option<u32>,
    /// "Now", ISO 8601 (see `news_search`).
    #[serde(default)]
    pub as_of: Option<String>,
    /// Stories to return (1-100, default 10).
    #[serde(default)]
    pub limit: Option<u32>,
    /// Only these sources.
    #[serde(default)]
    pub sources: Option<Vec<String>>,
}

/// Input of `news_sentiment`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SentimentInput {
    /// Tickers or company names (1-20).
    #[serde(default)]
    pub tickers: Vec<String>,
    /// Or score this text alone (headline or paragraph).
    #[serde(default)]
    pub text: Option<String>,
    /// Window, hours back from `as_of` (default 168).
    #[serde(default)]
    pub window_hours: Option<u32>,
    /// "Now", ISO 8601.
    #[serde(default)]
    pub as_of: Option<String>,
    /// Stories listed per ticker (default 5).
    #[serde(default)]
    pub top: Option<u32>,
}

/// Input of `news_signal`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SignalInput {
    /// Tickers or company names (1-20).
    pub tickers: Vec<String>,
    /// Earlier 24-hour windows forming the baseline (2-90, default 20).
    #[serde(default)]
    pub lookback_days: Option<u32>,
    /// Volume z-score a signal needs (default 2).
    #[serde(default)]
    pub z_threshold: Option<f64>,
    /// "Now", ISO 8601.
    #[serde(default)]
    pub as_of: Option<String>,
}

/// Input of `news_similar`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SimilarInput {
    /// An article id from another answer.
    #[serde(default)]
    pub article_id: Option<String>,
    /// Or a text to compare against.
    #[serde(default)]
    pub text: Option<String>,
    /// Look back this many hours (default 720).
    #[serde(default)]
    pub since_hours: Option<u32>,
    /// "Now", ISO 8601.
    #[serde(default)]
    pub as_of: Option<String>,
    /// Stories to return (default 5).
    #[serde(default)]
    pub limit: Option<u32>,
    /// Lowest similarity returned (0-1, default 0.05 lexical, 0.3
    /// embeddings).
    #[serde(default)]
    pub min_similarity: Option<f64>,
    /// `auto` (embeddings when a model is configured, else lexical),
    /// `embeddings` or `lexical`.
    #[serde(default)]
    pub method: Option<String>,
}

/// Input of `news_sources`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SourcesInput {}

/// Input of `news_dedup_report`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DedupReportInput {
    /// Words that must all appear.
    #[serde(default)]
    pub query: Option<String>,
    /// Tickers or company names.
    #[serde(default)]
    pub tickers: Vec<String>,
    /// Look back this many hours (default 720).
    #[serde(default)]
    pub since_hours: Option<u32>,
    /// "Now", ISO 8601.
    #[serde(default)]
    pub as_of: Option<String>,
    /// Jaccard threshold for near-duplicates (0.2-1, default 0.5).
    #[serde(default)]
    pub threshold: Option<f64>,
    /// Clusters listed (default 10, largest first).
    #[serde(default)]
    pub limit: Option<u32>,
}

/// Input of `rates_yield_curve`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct YieldCurveInput {
    /// The day (`YYYY-MM-DD`); default: the latest day published.
    #[serde(default)]
    pub date: Option<String>,
}

/// Input of `rates_series`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SeriesInput {
    /// `fred` or `boc` (Bank of Canada Valet).
    pub provider: String,
    /// Series id (`DGS10`, `FXUSDCAD`).
    pub series: String,
    /// First date, `YYYY-MM-DD`.
    #[serde(default)]
    pub start: Option<String>,
    /// Last date, `YYYY-MM-DD`.
    #[serde(default)]
    pub end: Option<String>,
    /// Bank of Canada only, without dates: the latest n (default 10).
    #[serde(default)]
    pub recent: Option<u32>,
}
