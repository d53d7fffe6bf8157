//! Relevance of a story to a request: how well it matches the tickers
//! (tagged, named by ticker, or by company alias, in the title or the text)
//! and the query words, how recent it is (exponential decay with a
//! half-life), how much the outlets that carried it are trusted, and how
//! widely it was carried. `explain: true` answers return every part.
//!
//! `score = 0.5·match + 0.3·recency + 0.2·source + coverage`, with
//! `recency = 0.5^(age_hours / half_life_hours)` and
//! `coverage = min(0.1, 0.1·ln(outlets) / ln(10))` (ten outlets: +0.1).

use serde::Serialize;

use crate::dedup::Story;
use crate::symbols::{MentionKind, SymbolTable, words};

/// Weights of the relevance score.
#[derive(Debug, Clone, Copy)]
pub struct RelevanceConfig {
    /// Half-life of the recency decay, hours.
    pub half_life_hours: f64,
}

impl Default for RelevanceConfig {
    fn default() -> Self {
        Self {
            half_life_hours: 24.0,
        }
    }
}

/// How much an outlet is trusted (0-1); unknown outlets 0.5.
pub fn outlet_weight(outlet: &str) -> f64 {
    let o = outlet.to_ascii_lowercase();
    const TABLE: &[(&str, f64)] = &[
        ("sec", 1.0),
        ("federal reserve", 1.0),
        ("treasury", 1.0),
        ("bank of canada", 1.0),
        ("reuters", 0.95),
        ("bloomberg", 0.95),
        ("associated press", 0.9),
        ("wall street journal", 0.9),
        ("financial times", 0.9),
        ("globe and mail", 0.85),
        ("cnbc", 0.8),
        ("barron", 0.8),
        ("marketwatch", 0.75),
        ("yahoo", 0.7),
        ("business insider", 0.65),
        ("investing.com", 0.6),
        ("seeking alpha", 0.55),
        ("benzinga", 0.55),
    ];
    TABLE
        .iter()
        .find(|(k, _)| o.contains(k))
        .map_or(0.5, |(_, w)| *w)
}

/// One ticker's match.
#[derive(Debug, Clone, Serialize)]
pub struct TickerMatch {
    /// The ticker asked for.
    pub ticker: String,
    /// How it was found: `tagged`, `ticker_in_title`, `alias_in_title`,
    /// `ticker_in_text`, `alias_in_text` or `none`.
    pub how: &'static str,
    /// Its strength (1, 1, 0.85, 0.8, 0.6, 0).
    pub strength: f64,
}

/// The parts of a relevance score.
#[derive(Debug, Clone, Serialize)]
pub struct Relevance {
    /// The total.
    pub score: f64,
    /// Ticker and query match (0-1; 1 when nothing was asked).
    pub r#match: f64,
    /// Per ticker.
    pub tickers: Vec<TickerMatch>,
    /// Share of query words found (title words count fully, text words 0.7).
    pub text_match: Option<f64>,
    /// Recency decay (0-1).
    pub recency: f64,
    /// Age at `now`, hours.
    pub age_hours: f64,
    /// Best outlet weight among the carriers.
    pub source: f64,
    /// Coverage bonus from the number of outlets.
    pub coverage: f64,
}

fn ticker_match(story: &Story, ticker: &str, symbols: &SymbolTable) -> TickerMatch {
    let (how, strength) = if story.tickers.iter().any(|t| t == ticker) {
        ("tagged", 1.0)
    } else {
        let in_title = symbols.mentions(&story.article.title);
        let in_text = symbols.mentions(&story.article.text());
        let find = |m: &[(&str, MentionKind)], k: MentionKind| {
            m.iter().any(|(t, x)| *t == ticker && *x == k)
        };
        if find(&in_title, MentionKind::Ticker) {
            ("ticker_in_title", 1.0)
        } else if find(&in_title, MentionKind::Alias) {
            ("alias_in_title", 0.85)
        } else if find(&in_text, MentionKind::Ticker) {
            ("ticker_in_text", 0.8)
        } else if find(&in_text, MentionKind::Alias) {
            ("alias_in_text", 0.6)
        } else {
            ("none", 0.0)
        }
    };
    TickerMatch {
        ticker: ticker.to_string(),
        how,
        strength,
    }
}

/// Scores `story` for `tickers` and `text` at `now_ms`.
pub fn score(
    story: &Story,
    tickers: &[String],
    text: Option<&str>,
    now_ms: i64,
    symbols: &SymbolTable,
    cfg: &RelevanceConfig,
) -> Relevance {
    let tm: Vec<TickerMatch> = tickers
        .iter()
        .map(|t| ticker_match(story, t, symbols))
        .collect();
    let ticker_part = tm
        .iter()
        .map(|m| m.strength)
        .fold(None, |acc: Option<f64>, s| {
            Some(acc.map_or(s, |a| a.max(s)))
        });
    let text_match = text.filter(|t| !t.trim().is_empty()).map(|q| {
        let qw = words(q);
        let title = words(&story.article.title);
        let body = words(&story.article.text());
        let got: f64 = qw
            .iter()
            .map(|w| {
                if title.contains(w) {
                    1.0
                } else if body.contains(w) {
                    0.7
                } else {
                    0.0
                }
            })
            .sum();
        if qw.is_empty() {
            1.0
        } else {
            got / qw.len() as f64
        }
    });
    let parts: Vec<f64> = ticker_part.into_iter().chain(text_match).collect();
    let r#match = if parts.is_empty() {
        1.0
    } else {
        parts.iter().sum::<f64>() / parts.len() as f64
    };
    let age_hours = ((now_ms - story.article.published_ms) as f64 / 3_600_000.0).max(0.0);
    let recency = 0.5f64.powf(age_hours / cfg.half_life_hours.max(1e-9));
    let source = story
        .carriers
        .iter()
        .map(|c| outlet_weight(&c.outlet))
        .fold(0.0, f64::max);
    let coverage = (0.1 * (story.outlets.max(1) as f64).ln() / 10f64.ln()).min(0.1);
    Relevance {
        score: 0.5 * r#match + 0.3 * recency + 0.2 * source + coverage,
        r#match,
        tickers: tm,
        text_match,
        recency,
        age_hours,
        source,
        coverage,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::article::Article;
    use crate::dedup::{DedupConfig, dedup};

    fn art(title: &str, outlet: &str, ms: i64, tickers: &[&str]) -> Article {
        Article {
            id: title.into(),
            source: "test".into(),
            outlet: outlet.into(),
            url: format!("https://x/{}", title.len()),
            title: title.into(),
            summary: String::new(),
            body: None,
            published_ms: ms,
            tickers: tickers.iter().map(|t| (*t).to_string()).collect(),
            language: "en".into(),
            provider_sentiment: None,
        }
    }

    #[test]
    fn parts_follow_the_formula() {
        let h = 3_600_000;
        let stories = dedup(
            vec![
                art("Apple shares rise on services", "Reuters", 0, &[]),
                art("Other", "Blog", 0, &["AAPL"]),
            ],
            &DedupConfig::default(),
        );
        let sym = SymbolTable::new();
        let r = score(
            &stories[0],
            &["AAPL".into()],
            None,
            24 * h,
            &sym,
            &RelevanceConfig::default(),
        );
        assert_eq!(r.tickers[0].how, "alias_in_title");
        assert!((r.recency - 0.5).abs() < 1e-12, "one half-life");
        assert!((r.score - (0.5 * 0.85 + 0.3 * 0.5 + 0.2 * 0.95)).abs() < 1e-12);
        let r2 = score(
            &stories[1],
            &["AAPL".into()],
            Some("apple services"),
            0,
            &sym,
            &RelevanceConfig::default(),
        );
        assert_eq!(r2.tickers[0].how, "tagged");
        assert_eq!(r2.text_match, Some(0.0));
        assert!((r2.r#match - 0.5).abs() < 1e-12);
    }
}
