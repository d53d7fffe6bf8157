//! RSS 2.0, RSS 1.0 and Atom feeds parsed with `feed-rs` (2.x, default
//! features off: no HTML sanitiser; tags are stripped here). The list of
//! feeds is configuration (`rss_feeds`: `name=url` pairs); defaults are
//! the Federal Reserve's press releases and the SEC's press releases.
//! Also the parser behind [`super::edgar`].

use async_trait::async_trait;

use super::{Http, tag};
use crate::article::{Article, canonical_url};
use crate::error::{NewsError, Result};
use crate::source::{NewsQuery, NewsSource};
use crate::symbols::SymbolTable;

/// Default feeds (`name`, URL).
pub const DEFAULT_FEEDS: &[(&str, &str)] = &[
    ("fed", "https://www.federalreserve.gov/feeds/press_all.xml"),
    ("sec-press", "https://www.sec.gov/news/pressreleases.rss"),
];

/// Text without HTML tags and with the common entities decoded, spaces
/// collapsed.
pub fn strip_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    let out = out
        .replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", " ");
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Parses a feed body into articles from `source` with `outlet` as the
/// publisher when the feed has no title.
pub fn parse_feed(
    body: &[u8],
    source: &str,
    outlet: &str,
    symbols: &SymbolTable,
) -> Result<Vec<Article>> {
    let feed = feed_rs::parser::parse(body).map_err(|e| NewsError::parse(source, e.to_string()))?;
    let outlet = feed
        .title
        .as_ref()
        .map_or(outlet.to_string(), |t| strip_html(&t.content));
    Ok(feed
        .entries
        .into_iter()
        .filter_map(|e| {
            let link = e.links.first().map(|l| l.href.clone())?;
            let when = e.published.or(e.updated)?;
            let url = canonical_url(&link);
            let summary = e
                .summary
                .map(|s| strip_html(&s.content))
                .or_else(|| e.content.and_then(|c| c.body).map(|b| strip_html(&b)))
                .unwrap_or_default();
            Some(tag(
                Article {
                    id: Article::id_for_url(&url),
                    source: source.to_string(),
                    outlet: outlet.clone(),
                    url,
                    title: e.title.map(|t| strip_html(&t.content)).unwrap_or_default(),
                    summary,
                    body: None,
                    published_ms: when.timestamp_millis(),
                    tickers: Vec::new(),
                    language: "en".into(),
                    provider_sentiment: None,
                },
                symbols,
            ))
        })
        .collect())
}

/// One configured feed.
#[derive(Debug)]
pub struct RssFeed {
    name: String,
    http: Http,
    symbols: SymbolTable,
}

impl RssFeed {
    /// The feed `name` at `url`.
    pub fn new(name: &str, url: &str) -> Result<Self> {
        Ok(Self {
            name: format!("rss:{name}"),
            http: Http::new(&format!("RSS {name}"), url, 1, None)?,
            symbols: SymbolTable::new(),
        })
    }
}

#[async_trait]
impl NewsSource for RssFeed {
    fn name(&self) -> &str {
        &self.name
    }
    fn live(&self) -> bool {
        true
    }
    fn breaker(&self) -> Option<(u32, std::time::Duration)> {
        Some(self.http.breaker())
    }
    async fn fetch(&self, q: &NewsQuery) -> Result<Vec<Article>> {
        let body = self.http.get("", &[], &[]).await?;
        let all = parse_feed(&body, &self.name, &self.name, &self.symbols)?;
        Ok(all
            .into_iter()
            .filter(|a| crate::corpus::matches(a, q, &self.symbols))
            .collect())
    }
}
