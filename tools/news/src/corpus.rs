//! The embedded default corpus: a few hundred articles written by the
//! project (`fixtures/corpus.json`, made by `fixtures/gen_corpus.py`,
//! seeded and deterministic): 26 companies' earnings, guidance, analyst,
//! regulatory, buyback, layoff, deal, recall and management stories plus
//! macro and rates stories, each carried by one to ten outlets as exact
//! syndicated copies, wire copies and light rewrites, some re-posted with
//! tracking parameters. Served through [`NewsSource`] like any real source;
//! every answer built from it says `source: corpus`.

use std::sync::OnceLock;

use async_trait::async_trait;
use nt_mcp_core::dates::parse_iso_ms;
use serde::Deserialize;

use crate::article::{Article, canonical_url};
use crate::error::Result;
use crate::source::{NewsQuery, NewsSource};
use crate::symbols::SymbolTable;

/// The corpus file.
const CORPUS_JSON: &str = include_str!("../fixtures/corpus.json");

#[derive(Deserialize)]
struct Raw {
    id: String,
    story: String,
    kind: String,
    outlet: String,
    url: String,
    title: String,
    summary: String,
    published: String,
    tickers: Vec<String>,
    language: String,
}

/// A corpus article with its ground truth: which story it tells and how it
/// was made (`original`, `copy`, `wire`, `rewrite`, `url-dup`).
#[derive(Debug, Clone)]
pub struct Labelled {
    /// The article as sources serve it.
    pub article: Article,
    /// The story it tells.
    pub story: String,
    /// How the generator made it.
    pub kind: String,
}

/// Every corpus article with its labels, oldest first.
pub fn labelled() -> &'static [Labelled] {
    static CORPUS: OnceLock<Vec<Labelled>> = OnceLock::new();
    CORPUS.get_or_init(|| {
        let raw: Vec<Raw> = serde_json::from_str(CORPUS_JSON).expect("bundled corpus.json parses");
        raw.into_iter()
            .map(|r| Labelled {
                article: Article {
                    id: r.id,
                    source: "corpus".into(),
                    outlet: r.outlet,
                    url: canonical_url(&r.url),
                    title: r.title,
                    summary: r.summary,
                    body: None,
                    published_ms: parse_iso_ms(&r.published).expect("corpus time"),
                    tickers: r.tickers,
                    language: r.language,
                    provider_sentiment: None,
                },
                story: r.story,
                kind: r.kind,
            })
            .collect()
    })
}

/// The newest article's time: "now" for answers built only from the corpus.
pub fn as_of_ms() -> i64 {
    labelled()
        .iter()
        .map(|l| l.article.published_ms)
        .max()
        .unwrap_or(0)
}

/// Whether `a` answers `q`: in the window, about one of the tickers (tagged
/// or mentioned), and containing every word of the text query.
pub fn matches(a: &Article, q: &NewsQuery, symbols: &SymbolTable) -> bool {
    if !q.in_window(a.published_ms) {
        return false;
    }
    if !q.tickers.is_empty() {
        let tagged = a.tickers.iter().any(|t| q.tickers.contains(t));
        if !tagged {
            let m = symbols.mentions(&a.text());
            if !m.iter().any(|(t, _)| q.tickers.iter().any(|x| x == t)) {
                return false;
            }
        }
    }
    if let Some(text) = q.text.as_deref().filter(|t| !t.trim().is_empty()) {
        let hay = crate::symbols::words(&a.text());
        let ok = crate::symbols::words(text).iter().all(|w| hay.contains(w));
        if !ok {
            return false;
        }
    }
    true
}

/// The corpus as a [`NewsSource`].
#[derive(Debug, Default)]
pub struct CorpusSource {
    symbols: SymbolTable,
}

#[async_trait]
impl NewsSource for CorpusSource {
    fn name(&self) -> &str {
        "corpus"
    }

    fn live(&self) -> bool {
        false
    }

    async fn fetch(&self, q: &NewsQuery) -> Result<Vec<Article>> {
        let mut out: Vec<Article> = labelled()
            .iter()
            .rev()
            .map(|l| &l.article)
            .filter(|a| matches(a, q, &self.symbols))
            .take(if q.limit == 0 { usize::MAX } else { q.limit })
            .cloned()
            .collect();
        out.sort_by(|a, b| b.published_ms.cmp(&a.published_ms).then(a.id.cmp(&b.id)));
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corpus_is_a_few_hundred_labelled_articles_with_syndication() {
        let all = labelled();
        assert!((250..=500).contains(&all.len()), "{}", all.len());
        let stories: std::collections::BTreeSet<_> = all.iter().map(|l| &l.story).collect();
        assert!(stories.len() > 60);
        let max_copies = stories
            .iter()
            .map(|s| all.iter().filter(|l| &&l.story == s).count())
            .max()
            .unwrap_or(0);
        assert!(max_copies >= 10, "some story is carried by ten outlets");
        assert!(all.iter().any(|l| l.kind == "rewrite"));
        assert!(all.iter().any(|l| l.kind == "url-dup"));
        assert!(
            all.iter()
                .all(|l| l.article.published_ms > 1_700_000_000_000)
        );
    }

    #[tokio::test]
    async fn corpus_answers_by_ticker_alias_and_text() {
        let src = CorpusSource::default();
        let q = NewsQuery {
            tickers: vec!["NVDA".into()],
            ..NewsQuery::default()
        };
        let got = src.fetch(&q).await.expect("fetch");
        assert!(!got.is_empty());
        assert!(
            got.iter()
                .all(|a| a.text().contains("Nvidia") || a.tickers.contains(&"NVDA".to_string()))
        );
        let q = NewsQuery {
            text: Some("Federal Reserve".into()),
            ..NewsQuery::default()
        };
        let got = src.fetch(&q).await.expect("fetch");
        assert!(!got.is_empty() && got.iter().all(|a| a.source == "corpus"));
    }
}
