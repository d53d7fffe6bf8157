//! `nt-news`: the news bundle (`news`).
//!
//! * [`article`]: the one article type and canonical URLs;
//! * [`source`]: the source trait, the query, per-source health;
//! * [`corpus`]: the embedded default corpus (`source: corpus`);
//! * [`clients`]: NewsAPI, Finnhub, Alpha Vantage, SEC EDGAR, GDELT,
//!   RSS/Atom, and the rates providers (Treasury, FRED, Bank of Canada);
//! * [`symbols`]: tickers and company aliases;
//! * [`aggregate`]: concurrent fan-out, merge, the database [`cache`];
//! * [`dedup`]: canonical-URL and MinHash/LSH near-duplicate clustering;
//! * [`relevance`]: ticker/alias match, recency decay, source weight;
//! * [`sentiment`]: the finance lexicon scorer;
//! * [`bert`]: a BERT encoder and classifier in candle with a WordPiece
//!   tokenizer; [`embed`]: sentence embeddings; [`classify`]: transformer
//!   sentiment; [`models`]: the configured models and their database cache;
//! * [`signal`]: news volume and sentiment shocks per ticker;
//! * [`rates`]: yield curves and series.
//!
//! The route table is in `tools`, one file per tool family; resources and
//! the research prompt in `resources`.

pub mod aggregate;
pub mod article;
pub mod bert;
pub mod cache;
pub mod classify;
pub mod clients;
pub mod config;
pub mod corpus;
pub mod dedup;
pub mod embed;
pub mod error;
pub mod models;
pub mod rates;
pub mod relevance;
mod resources;
pub mod sentiment;
pub mod signal;
pub mod source;
pub mod symbols;
mod tools;

use std::collections::BTreeMap;
use std::sync::Arc;

use nt_mcp_core::bundle::{
    BundleSettings, PromptSpec, ResourceSpec, ResourceText, ToolCtx, VenueMode, VenueStatus,
};
use nt_mcp_core::{Migration, NewBundle, ToolBundle, ToolError, ToolRouter};

use crate::aggregate::Aggregator;
use crate::clients::alphavantage::AlphaVantage;
use crate::clients::boc::Valet;
use crate::clients::edgar::Edgar;
use crate::clients::finnhub::Finnhub;
use crate::clients::fred::Fred;
use crate::clients::gdelt::Gdelt;
use crate::clients::newsapi::NewsApi;
use crate::clients::rss::{DEFAULT_FEEDS, RssFeed};
use crate::clients::treasury::Treasury;
use crate::corpus::CorpusSource;
use crate::models::Models;
use crate::source::{NewsSource, Tracked};
use crate::symbols::SymbolTable;

pub use config::NewsConfig;
pub use error::NewsError;
pub use tools::inputs::*;

/// The bundle's migrations (`migrations/news`).
pub fn migrations() -> Vec<Migration> {
    vec![
        Migration::portable(
            "news/0001_news",
            include_str!("../../../migrations/news/0001_news.sql"),
        ),
        Migration::portable(
            "news/0002_news_vectors",
            include_str!("../../../migrations/news/0002_news_vectors.sql"),
        ),
    ]
}

/// The news bundle: its sources, the rates providers and the symbol table.
#[derive(Debug)]
pub struct NewsBundle {
    /// The news sources and the cache TTL.
    pub aggregator: Aggregator,
    /// Tickers and aliases.
    pub symbols: SymbolTable,
    /// Treasury par yield curve client.
    pub treasury: Option<Treasury>,
    /// FRED client.
    pub fred: Option<Fred>,
    /// Bank of Canada Valet client.
    pub boc: Option<Valet>,
    /// Embedding and transformer sentiment models, when configured.
    pub models: Arc<Models>,
}

impl NewsBundle {
    /// Builds the bundle from an explicit configuration.
    pub fn from_config(c: NewsConfig) -> Result<Self, NewsError> {
        let url = |p: &str, d: &str| c.url(p).unwrap_or(d).to_string();
        let mut live: Vec<Box<dyn NewsSource>> = Vec::new();
        if let Some(k) = &c.newsapi_key {
            live.push(Box::new(NewsApi::new(
                &url("newsapi", clients::newsapi::DEFAULT_BASE),
                k,
            )?));
        }
        if let Some(k) = &c.finnhub_key {
            live.push(Box::new(Finnhub::new(
                &url("finnhub", clients::finnhub::DEFAULT_BASE),
                k,
            )?));
        }
        if let Some(k) = &c.alphavantage_key {
            live.push(Box::new(AlphaVantage::new(
                &url("alphavantage", clients::alphavantage::DEFAULT_BASE),
                k,
            )?));
        }
        if c.keyless("edgar")
            && let Some(ua) = &c.sec_user_agent
        {
            live.push(Box::new(Edgar::new(
                &url("edgar", clients::edgar::DEFAULT_BASE),
                ua,
                "8-K",
            )?));
        }
        if c.keyless("gdelt") {
            live.push(Box::new(Gdelt::new(&url(
                "gdelt",
                clients::gdelt::DEFAULT_BASE,
            ))?));
        }
        if c.live_feeds || !c.rss_feeds.is_empty() {
            let feeds: Vec<(String, String)> = if c.rss_feeds.is_empty() {
                DEFAULT_FEEDS
                    .iter()
                    .map(|(n, u)| ((*n).to_string(), (*u).to_string()))
                    .collect()
            } else {
                c.rss_feeds.clone()
            };
            for (n, u) in feeds {
                live.push(Box::new(RssFeed::new(&n, &u)?));
            }
        }
        let models = Arc::new(Models::new(
            c.embed_model_dir.clone(),
            c.sentiment_model_dir.clone(),
        )?);
        let corpus = c.corpus.unwrap_or(live.is_empty());
        let mut sources: Vec<Arc<Tracked>> = Vec::new();
        if corpus {
            sources.push(Arc::new(Tracked::new(Box::new(CorpusSource::default()))));
        }
        sources.extend(live.into_iter().map(|s| Arc::new(Tracked::new(s))));
        Ok(Self {
            aggregator: Aggregator {
                sources,
                ttl_ms: i64::try_from(c.cache_ttl.as_millis()).unwrap_or(i64::MAX),
            },
            symbols: SymbolTable::new(),
            treasury: c
                .keyless("treasury")
                .then(|| Treasury::new(&url("treasury", clients::treasury::DEFAULT_BASE)))
                .transpose()?,
            fred: c
                .fred_key
                .as_deref()
                .map(|k| Fred::new(&url("fred", clients::fred::DEFAULT_BASE), k))
                .transpose()?,
            boc: c
                .keyless("boc")
                .then(|| Valet::new(&url("boc", clients::boc::DEFAULT_BASE)))
                .transpose()?,
            models,
        })
    }

    /// A bundle over the given sources (tests, embedding), no rates.
    pub fn with_sources(sources: Vec<Box<dyn NewsSource>>, ttl_ms: i64) -> Self {
        Self {
            aggregator: Aggregator {
                sources: sources
                    .into_iter()
                    .map(|s| Arc::new(Tracked::new(s)))
                    .collect(),
                ttl_ms,
            },
            symbols: SymbolTable::new(),
            treasury: None,
            fred: None,
            boc: None,
            models: Arc::new(Models::default()),
        }
    }

    /// The same bundle with these models (tests, embedding).
    pub fn with_models(mut self, models: Models) -> Self {
        self.models = Arc::new(models);
        self
    }

    /// Whether the corpus is the only source (answers then use its as-of
    /// time as "now").
    pub fn corpus_only(&self) -> bool {
        self.aggregator.sources.iter().all(|s| !s.source.live())
    }
}

#[async_trait::async_trait]
impl ToolBundle for NewsBundle {
    fn name(&self) -> &'static str {
        "news"
    }

    fn routes(self: Arc<Self>) -> ToolRouter {
        ToolRouter::new(self, tools::routes())
    }

    fn migrations(&self) -> Vec<Migration> {
        migrations()
    }

    fn venues(&self) -> Vec<VenueStatus> {
        self.aggregator
            .sources
            .iter()
            .map(|s| VenueStatus {
                name: format!("news:{}", s.source.name()),
                mode: if s.source.live() {
                    VenueMode::Paper
                } else {
                    VenueMode::Simulated
                },
            })
            .collect()
    }

    fn resources(&self) -> Vec<ResourceSpec> {
        resources::resources()
    }

    async fn read_resource(&self, uri: &str, _ctx: ToolCtx) -> Result<ResourceText, ToolError> {
        resources::read_resource(self, uri)
    }

    fn prompts(&self) -> Vec<PromptSpec> {
        resources::prompts()
    }

    fn render_prompt(
        &self,
        name: &str,
        args: &BTreeMap<String, String>,
    ) -> Result<String, ToolError> {
        resources::render_prompt(name, args)
    }
}

impl NewBundle for NewsBundle {
    const NAME: &'static str = "news";
    type Error = NewsError;

    fn from_settings(settings: &BundleSettings) -> Result<Self, Self::Error> {
        Self::from_config(NewsConfig::from_settings(settings)?)
    }
}
