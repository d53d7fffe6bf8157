//! GDELT DOC 2.0 API (`https://api.gdeltproject.org/api/v2/doc/doc`,
//! keyless): `query=...&mode=artlist&format=json&maxrecords=n&sort=datedesc`
//! with `startdatetime`/`enddatetime` (`YYYYMMDDHHMMSS`) or `timespan`.
//! Answers `{"articles":[{"url","url_mobile","title","seendate":"YYYYMMDDTHHMMSSZ",
//! "socialimage","domain","language":"English","sourcecountry"}]}`, `{}`
//! when nothing matched, and a plain-text sentence for a malformed query.

use async_trait::async_trait;
use serde::Deserialize;

use super::{Http, keywords, parse_compact, tag};
use crate::article::{Article, canonical_url};
use crate::error::{NewsError, Result};
use crate::source::{NewsQuery, NewsSource};
use crate::symbols::SymbolTable;

/// Default base URL.
pub const DEFAULT_BASE: &str = "https://api.gdeltproject.org";

#[derive(Deserialize)]
struct Answer {
    #[serde(default)]
    articles: Vec<Item>,
}

#[derive(Deserialize)]
struct Item {
    url: String,
    title: String,
    seendate: String,
    #[serde(default)]
    domain: String,
    #[serde(default)]
    language: String,
}

fn iso639(language: &str) -> String {
    match language {
        "English" => "en",
        "French" => "fr",
        "Spanish" => "es",
        "German" => "de",
        "Italian" => "it",
        "Portuguese" => "pt",
        "Japanese" => "ja",
        "Chinese" => "zh",
        "" => "und",
        other => return other.to_lowercase(),
    }
    .to_string()
}

fn compact(ms: i64) -> String {
    let iso = nt_mcp_core::dates::format_iso_ms(ms);
    format!(
        "{}{}{}{}{}{}",
        &iso[0..4],
        &iso[5..7],
        &iso[8..10],
        &iso[11..13],
        &iso[14..16],
        &iso[17..19]
    )
}

/// The GDELT DOC client.
#[derive(Debug)]
pub struct Gdelt {
    http: Http,
    symbols: SymbolTable,
}

impl Gdelt {
    /// A client at `base`.
    pub fn new(base: &str) -> Result<Self> {
        Ok(Self {
            http: Http::new("GDELT", base, 1, None)?,
            symbols: SymbolTable::new(),
        })
    }
}

#[async_trait]
impl NewsSource for Gdelt {
    fn name(&self) -> &str {
        "gdelt"
    }
    fn live(&self) -> bool {
        true
    }
    fn breaker(&self) -> Option<(u32, std::time::Duration)> {
        Some(self.http.breaker())
    }
    async fn fetch(&self, q: &NewsQuery) -> Result<Vec<Article>> {
        let k =
            keywords(q, &self.symbols).unwrap_or_else(|| "(markets OR stocks OR economy)".into());
        let k = if k.contains(" OR ") && !k.starts_with('(') {
            format!("({k})")
        } else {
            k
        };
        let mut query = vec![
            ("query", format!("{k} sourcelang:english")),
            ("mode", "artlist".to_string()),
            ("format", "json".to_string()),
            ("sort", "datedesc".to_string()),
            ("maxrecords", q.limit.clamp(1, 250).to_string()),
        ];
        match (q.from_ms, q.to_ms) {
            (Some(f), t) => {
                query.push(("startdatetime", compact(f)));
                if let Some(t) = t {
                    query.push(("enddatetime", compact(t)));
                }
            }
            (None, _) => query.push(("timespan", "3d".to_string())),
        }
        let body = self.http.get("/api/v2/doc/doc", &query, &[]).await?;
        let a: Answer = serde_json::from_slice(&body).map_err(|_| {
            NewsError::upstream(
                "GDELT",
                String::from_utf8_lossy(&body[..body.len().min(200)])
                    .trim()
                    .to_string(),
            )
        })?;
        Ok(a.articles
            .into_iter()
            .filter_map(|i| {
                let url = canonical_url(&i.url);
                Some(tag(
                    Article {
                        id: Article::id_for_url(&url),
                        source: "gdelt".into(),
                        outlet: i.domain,
                        url,
                        title: i.title,
                        summary: String::new(),
                        body: None,
                        published_ms: parse_compact(&i.seendate)?,
                        tickers: Vec::new(),
                        language: iso639(&i.language),
                        provider_sentiment: None,
                    },
                    &self.symbols,
                ))
            })
            .collect())
    }
}
