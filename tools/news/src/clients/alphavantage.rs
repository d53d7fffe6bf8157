//! Alpha Vantage `NEWS_SENTIMENT` (`https://www.alphavantage.co/query?function=NEWS_SENTIMENT`,
//! key in `apikey`): `tickers=AAPL,MSFT`, `time_from`/`time_to` as
//! `YYYYMMDDTHHMM`, `sort=LATEST`, `limit`. Answers
//! `{"items":"n","feed":[{"title","url","time_published":"YYYYMMDDTHHMMSS","authors",
//! "summary","source","overall_sentiment_score","overall_sentiment_label",
//! "ticker_sentiment":[{"ticker","relevance_score","ticker_sentiment_score","ticker_sentiment_label"}]}]}`.
//! Rate limits and bad keys come back as HTTP 200 with `Information`,
//! `Note` or `Error Message` instead of `feed`. `time_published` carries no
//! zone; it is read as UTC. The provider's overall score is kept as
//! `provider_sentiment` beside the bundle's own lexicon score.

use async_trait::async_trait;
use serde::Deserialize;

use super::{Http, parse_compact};
use crate::article::{Article, canonical_url};
use crate::error::{NewsError, Result};
use crate::source::{NewsQuery, NewsSource};

/// Default base URL.
pub const DEFAULT_BASE: &str = "https://www.alphavantage.co";

#[derive(Deserialize)]
struct Answer {
    feed: Option<Vec<Item>>,
    #[serde(rename = "Information")]
    information: Option<String>,
    #[serde(rename = "Note")]
    note: Option<String>,
    #[serde(rename = "Error Message")]
    error: Option<String>,
}

#[derive(Deserialize)]
struct Item {
    title: String,
    url: String,
    time_published: String,
    #[serde(default)]
    summary: String,
    #[serde(default)]
    source: String,
    overall_sentiment_score: Option<f64>,
    #[serde(default)]
    ticker_sentiment: Vec<TickerSentiment>,
}

#[derive(Deserialize)]
struct TickerSentiment {
    ticker: String,
}

/// The Alpha Vantage news client.
#[derive(Debug)]
pub struct AlphaVantage {
    http: Http,
    key: String,
}

impl AlphaVantage {
    /// A client at `base` with `key`.
    pub fn new(base: &str, key: &str) -> Result<Self> {
        Ok(Self {
            http: Http::new("Alpha Vantage", base, 1, None)?,
            key: key.to_string(),
        })
    }
}

fn compact(ms: i64) -> String {
    let iso = nt_mcp_core::dates::format_iso_ms(ms);
    // YYYY-MM-DDTHH:MM:SS+00:00 -> YYYYMMDDTHHMM
    format!(
        "{}{}{}T{}{}",
        &iso[0..4],
        &iso[5..7],
        &iso[8..10],
        &iso[11..13],
        &iso[14..16]
    )
}

#[async_trait]
impl NewsSource for AlphaVantage {
    fn name(&self) -> &str {
        "alphavantage"
    }
    fn live(&self) -> bool {
        true
    }
    fn breaker(&self) -> Option<(u32, std::time::Duration)> {
        Some(self.http.breaker())
    }
    async fn fetch(&self, q: &NewsQuery) -> Result<Vec<Article>> {
        let mut query = vec![
            ("function", "NEWS_SENTIMENT".to_string()),
            ("sort", "LATEST".to_string()),
            ("limit", q.limit.clamp(1, 1000).to_string()),
            ("apikey", self.key.clone()),
        ];
        if !q.tickers.is_empty() {
            query.push(("tickers", q.tickers.join(",")));
        }
        if let Some(f) = q.from_ms {
            query.push(("time_from", compact(f)));
        }
        if let Some(t) = q.to_ms {
            query.push(("time_to", compact(t)));
        }
        let a: Answer = self.http.get_json("/query", &query, &[]).await?;
        let Some(feed) = a.feed else {
            let why = a
                .error
                .or(a.information)
                .or(a.note)
                .unwrap_or_else(|| "no `feed` in the answer".into());
            return Err(NewsError::upstream("Alpha Vantage", why));
        };
        Ok(feed
            .into_iter()
            .filter_map(|i| {
                let url = canonical_url(&i.url);
                Some(Article {
                    id: Article::id_for_url(&url),
                    source: "alphavantage".into(),
                    outlet: if i.source.is_empty() {
                        "Alpha Vantage".into()
                    } else {
                        i.source
                    },
                    url,
                    title: i.title,
                    summary: i.summary,
                    body: None,
                    published_ms: parse_compact(&i.time_published)?,
                    tickers: i.ticker_sentiment.into_iter().map(|t| t.ticker).collect(),
                    language: "en".into(),
                    provider_sentiment: i.overall_sentiment_score,
                })
            })
            .collect())
    }
}
