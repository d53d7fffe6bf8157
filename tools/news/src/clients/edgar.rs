//! SEC EDGAR filing feeds (keyless; the SEC's fair-access policy requires a
//! declared `User-Agent` naming the requester and a contact e-mail, and at
//! most 10 requests a second): the Atom feed of
//! `/cgi-bin/browse-edgar?action=getcompany&CIK=<ticker>&type=<form>&count=40&output=atom`
//! per ticker, or `action=getcurrent` (latest filings of a form) when no
//! ticker is asked. Entries are `<entry><title>8-K - Apple Inc. (0000320193) (Filer)</title>
//! <link href=".../Archives/edgar/data/..."/><summary type="html">...</summary>
//! <updated>2026-11-30T16:30:05-05:00</updated>...`; parsed with `feed-rs`.

use async_trait::async_trait;

use super::Http;
use super::rss::parse_feed;
use crate::article::Article;
use crate::error::{NewsError, Result};
use crate::source::{NewsQuery, NewsSource};
use crate::symbols::SymbolTable;

/// Default base URL.
pub const DEFAULT_BASE: &str = "https://www.sec.gov";

/// The feed without its `<content type="text/xml">` blocks: EDGAR puts
/// bare XML elements (accession number, form, items) there, which
/// `feed-rs` refuses as an unsupported content type; the summary carries
/// the same facts as text.
pub fn strip_content(body: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(body);
    let mut out = String::with_capacity(text.len());
    let mut rest: &str = &text;
    while let Some(start) = rest.find("<content") {
        out.push_str(&rest[..start]);
        match rest[start..].find("</content>") {
            Some(end) => rest = &rest[start + end + "</content>".len()..],
            None => {
                rest = &rest[start..];
                break;
            }
        }
    }
    out.push_str(rest);
    out.into_bytes()
}

/// The EDGAR client.
#[derive(Debug)]
pub struct Edgar {
    http: Http,
    form: String,
    symbols: SymbolTable,
}

impl Edgar {
    /// A client at `base` sending `user_agent` (required: "Name email"),
    /// listing filings of `form` (`8-K`).
    pub fn new(base: &str, user_agent: &str, form: &str) -> Result<Self> {
        let ua = user_agent.trim();
        if ua.is_empty() || !ua.contains('@') {
            return Err(NewsError::Config(
                "SEC EDGAR needs a declared User-Agent with a contact e-mail (sec_user_agent = \"Your Name you@example.com\")".into(),
            ));
        }
        Ok(Self {
            http: Http::new("SEC EDGAR", base, 5, Some(ua))?,
            form: form.to_string(),
            symbols: SymbolTable::new(),
        })
    }
}

#[async_trait]
impl NewsSource for Edgar {
    fn name(&self) -> &str {
        "sec-edgar"
    }
    fn live(&self) -> bool {
        true
    }
    fn breaker(&self) -> Option<(u32, std::time::Duration)> {
        Some(self.http.breaker())
    }
    async fn fetch(&self, q: &NewsQuery) -> Result<Vec<Article>> {
        let count = q.limit.clamp(1, 100).to_string();
        let mut out = Vec::new();
        let asks: Vec<Option<&String>> = if q.tickers.is_empty() {
            vec![None]
        } else {
            q.tickers.iter().map(Some).collect()
        };
        for t in asks {
            let mut query = vec![
                ("type", self.form.clone()),
                ("count", count.clone()),
                ("output", "atom".to_string()),
            ];
            match t {
                Some(t) => {
                    query.push(("action", "getcompany".to_string()));
                    query.push(("CIK", t.clone()));
                }
                None => query.push(("action", "getcurrent".to_string())),
            }
            let body = self.http.get("/cgi-bin/browse-edgar", &query, &[]).await?;
            let mut arts = parse_feed(
                &strip_content(&body),
                "sec-edgar",
                "SEC EDGAR",
                &self.symbols,
            )?;
            for a in &mut arts {
                a.outlet = "SEC EDGAR".into();
                if let Some(t) = t
                    && !a.tickers.contains(t)
                {
                    a.tickers.push(t.clone());
                }
            }
            out.extend(arts);
        }
        Ok(out
            .into_iter()
            .filter(|a: &Article| q.in_window(a.published_ms))
            .collect())
    }
}
