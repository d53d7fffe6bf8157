//! Settings, from the manifest's `[bundle_config.news]` table or the
//! environment:
//!
//! | key | env | meaning |
//! |---|---|---|
//! | `newsapi_key` | `NEWSAPI_KEY` | NewsAPI key (enables `newsapi`) |
//! | `finnhub_key` | `FINNHUB_API_KEY` | Finnhub key (enables `finnhub`) |
//! | `alphavantage_key` | `ALPHAVANTAGE_API_KEY` | Alpha Vantage key (enables `alphavantage`) |
//! | `fred_key` | `FRED_API_KEY` | FRED key (enables `rates_series` with `provider: fred`) |
//! | `live_feeds` | `NEWS_LIVE_FEEDS` | `true`: the keyless sources (GDELT, RSS feeds, SEC EDGAR when its User-Agent is set, Treasury, Bank of Canada) go to the network |
//! | `sec_user_agent` | `NEWS_SEC_USER_AGENT` | the declared User-Agent SEC EDGAR requires ("Name email") |
//! | `rss_feeds` | `NEWS_RSS_FEEDS` | `name=url,name=url` (default: Federal Reserve and SEC press releases) |
//! | `<provider>_url` | `NEWS_<PROVIDER>_URL` | base URL of `newsapi`, `finnhub`, `alphavantage`, `edgar`, `gdelt`, `treasury`, `fred`, `boc`; setting one also enables a keyless provider |
//! | `corpus` | `NEWS_CORPUS` | serve the embedded corpus (default: only when no live news source is configured) |
//! | `cache_ttl` | `NEWS_CACHE_TTL` | how long a live answer is reused (default `5m`) |
//! | `embed_model_dir` | `NEWS_EMBED_MODEL_DIR` | a sentence-embedding BERT directory (`config.json`, `model.safetensors`, `tokenizer.json` or `vocab.txt`; `scripts/fetch-models.sh` fetches all-MiniLM-L6-v2): `news_similar` and `news_search` with `semantic: true` use embeddings |
//! | `sentiment_model_dir` | `NEWS_SENTIMENT_MODEL_DIR` | a BERT sequence classifier directory (e.g. FinBERT converted to safetensors; `id2label` with positive/negative): `news_sentiment` and `news_signal` score with it instead of the lexicon |

use std::path::PathBuf;
use std::time::Duration;

use nt_mcp_core::BundleSettings;

use crate::error::{NewsError, Result};

/// The bundle's configuration.
#[derive(Clone, Default)]
pub struct NewsConfig {
    /// NewsAPI key.
    pub newsapi_key: Option<String>,
    /// Finnhub key.
    pub finnhub_key: Option<String>,
    /// Alpha Vantage key.
    pub alphavantage_key: Option<String>,
    /// FRED key.
    pub fred_key: Option<String>,
    /// Keyless sources go to the network.
    pub live_feeds: bool,
    /// SEC EDGAR User-Agent.
    pub sec_user_agent: Option<String>,
    /// RSS feeds (`name`, URL); empty: the defaults.
    pub rss_feeds: Vec<(String, String)>,
    /// Base URL overrides by provider (`newsapi`, `gdelt`, ...).
    pub urls: Vec<(String, String)>,
    /// Serve the corpus: `None` decides by whether live sources exist.
    pub corpus: Option<bool>,
    /// Cache lifetime.
    pub cache_ttl: Duration,
    /// Sentence-embedding model directory.
    pub embed_model_dir: Option<PathBuf>,
    /// Transformer sentiment model directory.
    pub sentiment_model_dir: Option<PathBuf>,
}

impl std::fmt::Debug for NewsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let set = |o: &Option<String>| o.as_ref().map(|_| "<set>");
        f.debug_struct("NewsConfig")
            .field("newsapi_key", &set(&self.newsapi_key))
            .field("finnhub_key", &set(&self.finnhub_key))
            .field("alphavantage_key", &set(&self.alphavantage_key))
            .field("fred_key", &set(&self.fred_key))
            .field("live_feeds", &self.live_feeds)
            .field("sec_user_agent", &self.sec_user_agent)
            .field("rss_feeds", &self.rss_feeds)
            .field("urls", &self.urls)
            .field("corpus", &self.corpus)
            .field("cache_ttl", &self.cache_ttl)
            .field("embed_model_dir", &self.embed_model_dir)
            .field("sentiment_model_dir", &self.sentiment_model_dir)
            .finish()
    }
}

/// Providers whose base URL can be set.
pub const PROVIDERS: &[&str] = &[
    "newsapi",
    "finnhub",
    "alphavantage",
    "edgar",
    "gdelt",
    "treasury",
    "fred",
    "boc",
];

impl NewsConfig {
    /// Reads the settings (manifest key, then environment).
    pub fn from_settings(s: &BundleSettings) -> Result<Self> {
        let get = |k: &str, env: &str| {
            s.string(k, env)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let cfg = |e: nt_mcp_core::SettingError| NewsError::Config(e.to_string());
        let mut urls = Vec::new();
        for p in PROVIDERS {
            if let Some(u) = get(
                &format!("{p}_url"),
                &format!("NEWS_{}_URL", p.to_uppercase()),
            ) {
                urls.push(((*p).to_string(), u));
            }
        }
        let rss_feeds = match get("rss_feeds", "NEWS_RSS_FEEDS") {
            Some(list) => list
                .split(',')
                .filter(|p| !p.trim().is_empty())
                .map(|p| {
                    p.split_once('=')
                        .map(|(n, u)| (n.trim().to_string(), u.trim().to_string()))
                        .ok_or_else(|| {
                            NewsError::Config(format!("rss_feeds entry `{p}` is not name=url"))
                        })
                })
                .collect::<Result<Vec<_>>>()?,
            None => Vec::new(),
        };
        Ok(Self {
            newsapi_key: get("newsapi_key", "NEWSAPI_KEY"),
            finnhub_key: get("finnhub_key", "FINNHUB_API_KEY"),
            alphavantage_key: get("alphavantage_key", "ALPHAVANTAGE_API_KEY"),
            fred_key: get("fred_key", "FRED_API_KEY"),
            live_feeds: s
                .boolean("live_feeds", "NEWS_LIVE_FEEDS")
                .map_err(cfg)?
                .unwrap_or(false),
            sec_user_agent: get("sec_user_agent", "NEWS_SEC_USER_AGENT"),
            rss_feeds,
            urls,
            corpus: s.boolean("corpus", "NEWS_CORPUS").map_err(cfg)?,
            cache_ttl: s
                .duration("cache_ttl", "NEWS_CACHE_TTL")
                .map_err(cfg)?
                .unwrap_or(Duration::from_secs(300)),
            embed_model_dir: get("embed_model_dir", "NEWS_EMBED_MODEL_DIR").map(PathBuf::from),
            sentiment_model_dir: get("sentiment_model_dir", "NEWS_SENTIMENT_MODEL_DIR")
                .map(PathBuf::from),
        })
    }

    /// The base URL override of `provider`.
    pub fn url(&self, provider: &str) -> Option<&str> {
        self.urls
            .iter()
            .find(|(p, _)| p == provider)
            .map(|(_, u)| u.as_str())
    }

    /// Whether a keyless `provider` is enabled: live feeds on, or its URL set.
    pub fn keyless(&self, provider: &str) -> bool {
        self.live_feeds || self.url(provider).is_some()
    }
}
