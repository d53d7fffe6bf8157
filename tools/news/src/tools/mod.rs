//! The route table, one file per tool family, and the helpers they share.

pub mod inputs;
mod news;
mod rates;
mod sentiment;

use nt_mcp_core::bundle::ToolCtx;
use nt_mcp_core::dates::parse_iso_ms;
use nt_mcp_core::{Route, ToolError};

use crate::NewsBundle;
use crate::dedup::Story;
use crate::relevance::Relevance;

/// Every route of the bundle.
pub(crate) fn routes() -> Vec<Route<NewsBundle>> {
    let mut r = news::routes();
    r.extend(sentiment::routes());
    r.extend(rates::routes());
    r
}

/// "Now": `as_of` when given, the corpus's newest article when only the
/// corpus is served, else the clock.
pub(crate) fn now_ms(b: &NewsBundle, as_of: Option<&str>, ctx: &ToolCtx) -> Result<i64, ToolError> {
    match as_of.map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => parse_iso_ms(s)
            .or_else(|| nt_mcp_core::dates::parse_date(s).map(|d| d * 86_400_000 + 86_399_999))
            .ok_or_else(|| {
                ToolError::invalid("as_of", "an ISO 8601 time such as 2026-11-30T21:00:00Z")
            }),
        None if b.corpus_only() => Ok(crate::corpus::as_of_ms()),
        None => Ok(ctx.clock.now_ms()),
    }
}

/// Resolves tickers and company names, naming the field on failure.
pub(crate) fn resolve(
    b: &NewsBundle,
    field: &str,
    list: &[String],
) -> Result<Vec<String>, ToolError> {
    if list.len() > 20 {
        return Err(ToolError::invalid(field, "at most 20"));
    }
    let mut out: Vec<String> = Vec::new();
    for t in list {
        let r = match b.symbols.resolve(t) {
            Some(x) => x.to_string(),
            None => {
                let up = t.trim().trim_start_matches('$').to_ascii_uppercase();
                let base = up.split('.').next().unwrap_or("").to_string();
                if base.is_empty()
                    || base.len() > 6
                    || !base.chars().all(|c| c.is_ascii_alphanumeric())
                {
                    return Err(ToolError::invalid(
                        field,
                        format!("`{t}` is neither a ticker nor a known company"),
                    )
                    .with_hint("pass a ticker such as AAPL or a name such as Apple"));
                }
                base
            }
        };
        if !out.contains(&r) {
            out.push(r);
        }
    }
    Ok(out)
}

/// A count within bounds, naming the field.
pub(crate) fn bounded(
    field: &str,
    v: Option<u32>,
    default: u32,
    lo: u32,
    hi: u32,
) -> Result<u32, ToolError> {
    let v = v.unwrap_or(default);
    if !(lo..=hi).contains(&v) {
        return Err(ToolError::invalid(field, format!("between {lo} and {hi}")));
    }
    Ok(v)
}

/// One story as answers show it.
pub(crate) fn story_json(s: &Story, rel: Option<&Relevance>, explain: bool) -> serde_json::Value {
    let sent = crate::sentiment::score(&s.article.text());
    let mut v = serde_json::json!({
        "id": s.article.id,
        "title": s.article.title,
        "summary": s.article.summary,
        "url": s.article.url,
        "outlet": s.article.outlet,
        "source": s.article.source,
        "published": nt_mcp_core::dates::format_iso_ms(s.article.published_ms),
        "tickers": s.tickers,
        "outlets": s.outlets,
        "carried_by": s.carriers.iter().map(|c| c.outlet.clone()).collect::<Vec<_>>(),
        "sentiment": sent.score,
        "sentiment_label": sent.label,
    });
    if let Some(p) = s.article.provider_sentiment {
        v["provider_sentiment"] = serde_json::json!(p);
    }
    if let Some(r) = rel {
        v["relevance"] = serde_json::json!(r.score);
        if explain {
            v["explain"] = serde_json::to_value(r).unwrap_or_default();
            v["sentiment_hits"] = serde_json::to_value(&sent.hits).unwrap_or_default();
            v["carriers"] = serde_json::to_value(&s.carriers).unwrap_or_default();
        }
    }
    v
}

/// A one-line summary of a story for the text answer.
pub(crate) fn story_line(s: &Story, extra: &str) -> String {
    format!(
        "- {} | {} | {}{} | {}{}",
        nt_mcp_core::dates::format_iso_ms(s.article.published_ms)
            .get(..16)
            .unwrap_or(""),
        s.article.outlet,
        s.article.title,
        if s.outlets > 1 {
            format!(" (+{} outlets)", s.outlets - 1)
        } else {
            String::new()
        },
        s.article.url,
        extra
    )
}
