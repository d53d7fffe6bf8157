//! NewsAPI.org v2 (`https://newsapi.org/v2`, key in the `X-Api-Key`
//! header): `/everything` for a keyword or ticker query (company names
//! joined with OR, `from`/`to` ISO times, `sortBy=publishedAt`,
//! `pageSize`), `/top-headlines?category=business` when nothing is asked.
//! Answers are `{"status":"ok","totalResults":n,"articles":[{"source":{"id","name"},
//! "author","title","description","url","urlToImage","publishedAt","content"}]}`;
//! errors `{"status":"error","code","message"}`.

use async_trait::async_trait;
use nt_mcp_core::dates::{format_iso_ms, parse_iso_ms};
use serde::Deserialize;

use super::{Http, keywords, tag};
use crate::article::{Article, canonical_url};
use crate::error::{NewsError, Result};
use crate::source::{NewsQuery, NewsSource};
use crate::symbols::SymbolTable;

/// Default base URL.
pub const DEFAULT_BASE: &str = "https://newsapi.org";

#[derive(Deserialize)]
struct Answer {
    status: String,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    articles: Vec<Item>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Item {
    source: ItemSource,
    title: Option<String>,
    description: Option<String>,
    url: String,
    published_at: String,
    content: Option<String>,
}

#[derive(Deserialize)]
struct ItemSource {
    name: Option<String>,
}

/// The NewsAPI client.
#[derive(Debug)]
pub struct NewsApi {
    http: Http,
    key: String,
    symbols: SymbolTable,
}

impl NewsApi {
    /// A client at `base` with `key`.
    pub fn new(base: &str, key: &str) -> Result<Self> {
        Ok(Self {
            http: Http::new("NewsAPI", base, 2, None)?,
            key: key.to_string(),
            symbols: SymbolTable::new(),
        })
    }

    /// The HTTP client (policy changes in tests).
    pub fn http_mut(&mut self) -> &mut Http {
        &mut self.http
    }
}

#[async_trait]
impl NewsSource for NewsApi {
    fn name(&self) -> &str {
        "newsapi"
    }
    fn live(&self) -> bool {
        true
    }
    fn breaker(&self) -> Option<(u32, std::time::Duration)> {
        Some(self.http.breaker())
    }
    async fn fetch(&self, q: &NewsQuery) -> Result<Vec<Article>> {
        let size = q.limit.clamp(1, 100).to_string();
        let (path, mut query) = match keywords(q, &self.symbols) {
            Some(k) => (
                "/v2/everything",
                vec![
                    ("q", k),
                    ("sortBy", "publishedAt".to_string()),
                    ("language", "en".to_string()),
                ],
            ),
            None => (
                "/v2/top-headlines",
                vec![
                    ("category", "business".to_string()),
                    ("country", "us".to_string()),
                ],
            ),
        };
        query.push(("pageSize", size));
        if path == "/v2/everything" {
            if let Some(f) = q.from_ms {
                query.push(("from", format_iso_ms(f)));
            }
            if let Some(t) = q.to_ms {
                query.push(("to", format_iso_ms(t)));
            }
        }
        let headers = [("X-Api-Key", self.key.clone())];
        let body = self.http.get(path, &query, &headers).await?;
        let a: Answer = serde_json::from_slice(&body)
            .map_err(|e| NewsError::parse("NewsAPI", e.to_string()))?;
        if a.status != "ok" {
            return Err(NewsError::upstream(
                "NewsAPI",
                format!(
                    "{}: {}",
                    a.code.unwrap_or_default(),
                    a.message.unwrap_or_default()
                ),
            ));
        }
        Ok(a.articles
            .into_iter()
            .filter_map(|i| {
                let published_ms = parse_iso_ms(&i.published_at)?;
                let title = i.title.filter(|t| !t.is_empty() && t != "[Removed]")?;
                let url = canonical_url(&i.url);
                Some(tag(
                    Article {
                        id: Article::id_for_url(&url),
                        source: "newsapi".into(),
                        outlet: i.source.name.unwrap_or_else(|| "NewsAPI".into()),
                        url,
                        title,
                        summary: i.description.unwrap_or_default(),
                        body: i.content,
                        published_ms,
                        tickers: Vec::new(),
                        language: "en".into(),
                        provider_sentiment: None,
                    },
                    &self.symbols,
                ))
            })
            .collect())
    }
}
