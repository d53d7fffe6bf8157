//! Finnhub REST API v1 (`https://finnhub.io/api/v1`, key in the
//! `X-Finnhub-Token` header): `/company-news?symbol=&from=&to=` (dates
//! `YYYY-MM-DD`, North American companies) per ticker, `/news?category=general`
//! for market news. Both answer an array of `{"category","datetime" (Unix
//! seconds),"headline","id","image","related","source","summary","url"}`.

use async_trait::async_trait;
use serde::Deserialize;

use super::{Http, tag, ymd};
use crate::article::{Article, canonical_url};
use crate::error::Result;
use crate::source::{NewsQuery, NewsSource};
use crate::symbols::SymbolTable;

/// Default base URL.
pub const DEFAULT_BASE: &str = "https://finnhub.io";

#[derive(Deserialize)]
struct Item {
    datetime: i64,
    headline: String,
    id: Option<i64>,
    #[serde(default)]
    related: String,
    #[serde(default)]
    source: String,
    #[serde(default)]
    summary: String,
    url: String,
}

/// The Finnhub client.
#[derive(Debug)]
pub struct Finnhub {
    http: Http,
    key: String,
    symbols: SymbolTable,
}

impl Finnhub {
    /// A client at `base` with `key`.
    pub fn new(base: &str, key: &str) -> Result<Self> {
        Ok(Self {
            http: Http::new("Finnhub", base, 5, None)?,
            key: key.to_string(),
            symbols: SymbolTable::new(),
        })
    }

    fn map(&self, i: Item) -> Article {
        let url = canonical_url(&i.url);
        let tickers = i
            .related
            .split(',')
            .map(|t| t.trim().to_ascii_uppercase())
            .filter(|t| !t.is_empty())
            .collect();
        tag(
            Article {
                id: i
                    .id
                    .map_or_else(|| Article::id_for_url(&url), |id| format!("finnhub-{id}")),
                source: "finnhub".into(),
                outlet: if i.source.is_empty() {
                    "Finnhub".into()
                } else {
                    i.source
                },
                url,
                title: i.headline,
                summary: i.summary,
                body: None,
                published_ms: i.datetime.saturating_mul(1000),
                tickers,
                language: "en".into(),
                provider_sentiment: None,
            },
            &self.symbols,
        )
    }
}

#[async_trait]
impl NewsSource for Finnhub {
    fn name(&self) -> &str {
        "finnhub"
    }
    fn live(&self) -> bool {
        true
    }
    fn breaker(&self) -> Option<(u32, std::time::Duration)> {
        Some(self.http.breaker())
    }
    async fn fetch(&self, q: &NewsQuery) -> Result<Vec<Article>> {
        let headers = [("X-Finnhub-Token", self.key.clone())];
        let mut out = Vec::new();
        if q.tickers.is_empty() {
            let items: Vec<Item> = self
                .http
                .get_json(
                    "/api/v1/news",
                    &[("category", "general".to_string())],
                    &headers,
                )
                .await?;
            out.extend(items.into_iter().map(|i| self.map(i)));
        } else {
            let to = q.to_ms.unwrap_or(i64::MAX / 2);
            let to = if to > 4_102_444_800_000 {
                crate::clients::now_ms()
            } else {
                to
            };
            let from = q.from_ms.unwrap_or(to - 7 * 86_400_000);
            for t in &q.tickers {
                let query = [("symbol", t.clone()), ("from", ymd(from)), ("to", ymd(to))];
                let items: Vec<Item> = self
                    .http
                    .get_json("/api/v1/company-news", &query, &headers)
                    .await?;
                out.extend(items.into_iter().map(|i| self.map(i)));
            }
        }
        if q.limit > 0 {
            out.sort_by_key(|a| std::cmp::Reverse(a.published_ms));
            out.truncate(q.limit * q.tickers.len().max(1));
        }
        Ok(out)
    }
}
