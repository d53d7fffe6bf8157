//! `news_sentiment` and `news_signal`.

use std::sync::Arc;

use nt_mcp_core::bundle::{ToolCtx, ToolOutput};
use nt_mcp_core::dates::format_iso_ms;
use nt_mcp_core::{Route, ToolError, route};
use serde_json::json;

use super::inputs::*;
use super::news::gather;
use super::{bounded, now_ms, resolve, story_json};
use crate::NewsBundle;
use crate::dedup::DedupConfig;
use crate::relevance::{RelevanceConfig, score};
use crate::sentiment::score as sentiment;
use crate::signal::signal;
use crate::source::NewsQuery;

pub(crate) fn routes() -> Vec<Route<NewsBundle>> {
    vec![
        route(
            "news_sentiment",
            "Sentiment (-1 to 1) per deduplicated story and per ticker over a window (relevance-weighted mean, \
             counts by label), or of one `text`: a transformer classifier, P(positive) - P(negative), when a \
             sentiment model is configured, else the finance lexicon (words and phrases, negation, \
             intensifiers). `method` says which (`lexicon` or `transformer:<model>`).",
            news_sentiment,
        ),
        route(
            "news_signal",
            "News trading signal per ticker: volume-of-news z-score and sentiment shock of the last 24 hours \
             against earlier days, with a suggested paper order and its reason when both are strong (nothing is \
             placed).",
            news_signal,
        ),
    ]
}

async fn news_sentiment(
    b: Arc<NewsBundle>,
    input: SentimentInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    if let Some(t) = input.text.as_deref().filter(|t| !t.trim().is_empty()) {
        if !input.tickers.is_empty() {
            return Err(ToolError::invalid("text", "give either text or tickers"));
        }
        let s = sentiment(t);
        if let Some((model, p)) = b
            .models
            .sentiment_probs(&ctx.store, &[t.to_string()], ctx.clock.now_ms())
            .await?
        {
            let sc = model.scored(&p[0]);
            let method = format!("transformer:{}", model.name());
            return Ok(ToolOutput::new(
                format!(
                    "sentiment {:+.3} ({}) by {method}; lexicon {:+.3}",
                    sc.score, sc.label, s.score
                ),
                json!({"source": method, "method": method, "sentiment": sc, "lexicon": s}),
            ));
        }
        return Ok(ToolOutput::new(
            format!(
                "sentiment {:+.3} ({}) from {} terms (source: lexicon)",
                s.score,
                s.label,
                s.hits.len()
            ),
            json!({"source": "lexicon", "method": "lexicon", "sentiment": s}),
        ));
    }
    let tickers = resolve(&b, "tickers", &input.tickers)?;
    if tickers.is_empty() {
        return Err(ToolError::invalid("tickers", "give 1-20 tickers or a text"));
    }
    let hours = bounded("window_hours", input.window_hours, 168, 1, 24 * 365)?;
    let top = bounded("top", input.top, 5, 0, 50)? as usize;
    let now = now_ms(&b, input.as_of.as_deref(), &ctx)?;
    let q = NewsQuery {
        text: None,
        tickers: tickers.clone(),
        from_ms: Some(now - i64::from(hours) * 3_600_000),
        to_ms: Some(now),
        limit: 500,
    };
    let g = gather(&b, &ctx, &q, None).await?;
    let stories = g.stories(&DedupConfig::default());
    let cfg = RelevanceConfig::default();
    let mut per = Vec::new();
    let relevant: Vec<Vec<(usize, crate::relevance::Relevance)>> = tickers
        .iter()
        .map(|t| {
            stories
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    (
                        i,
                        score(s, std::slice::from_ref(t), None, now, &b.symbols, &cfg),
                    )
                })
                .filter(|(_, r)| r.tickers.first().is_some_and(|m| m.strength > 0.0))
                .collect()
        })
        .collect();
    let mut wanted: Vec<usize> = relevant.iter().flatten().map(|(i, _)| *i).collect();
    wanted.sort_unstable();
    wanted.dedup();
    let scores = story_sentiments(&b, &ctx, &stories, &wanted).await?;
    let mut text = format!(
        "Sentiment over {hours} h to {} (source: {}; method: {}):\n",
        format_iso_ms(now),
        g.answered_by(),
        scores.method
    );
    for (t, rel) in tickers.iter().zip(relevant) {
        let mut rows: Vec<_> = rel
            .into_iter()
            .map(|(i, r)| (&stories[i], r, scores.get(i)))
            .collect();
        let (mut wsum, mut w) = (0.0, 0.0);
        let (mut pos, mut neg, mut neu) = (0, 0, 0);
        let mut provider = Vec::new();
        for (s, r, se) in &rows {
            wsum += r.score * se.score;
            w += r.score;
            match se.label {
                "positive" => pos += 1,
                "negative" => neg += 1,
                _ => neu += 1,
            }
            if let Some(p) = s.article.provider_sentiment {
                provider.push(p);
            }
        }
        let mean = (w > 0.0).then(|| wsum / w);
        rows.sort_by(|a, b| b.2.score.abs().total_cmp(&a.2.score.abs()));
        text.push_str(&format!(
            "- {t}: {} stories, weighted sentiment {}, {pos} positive / {neg} negative / {neu} neutral\n",
            rows.len(),
            mean.map_or("n/a".to_string(), |m| format!("{m:+.3}"))
        ));
        per.push(json!({
            "ticker": t,
            "stories": rows.len(),
            "sentiment": mean,
            "positive": pos,
            "negative": neg,
            "neutral": neu,
            "provider_sentiment": (!provider.is_empty()).then(|| provider.iter().sum::<f64>() / provider.len() as f64),
            "top": rows.iter().take(top).map(|(s, r, se)| {
                let mut v = story_json(s, Some(r), true);
                if scores.transformer {
                    v["lexicon_sentiment"] = v["sentiment"].clone();
                    v["sentiment"] = json!(se.score);
                    v["sentiment_label"] = json!(se.label);
                }
                v
            }).collect::<Vec<_>>(),
        }));
    }
    Ok(ToolOutput::new(
        text,
        json!({"source": g.answered_by(), "method": scores.method, "as_of": format_iso_ms(now), "window_hours": hours, "tickers": per}),
    ))
}

async fn news_signal(
    b: Arc<NewsBundle>,
    input: SignalInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    let tickers = resolve(&b, "tickers", &input.tickers)?;
    if tickers.is_empty() {
        return Err(ToolError::invalid("tickers", "give 1-20 tickers"));
    }
    let lookback = bounded("lookback_days", input.lookback_days, 20, 2, 90)?;
    let z = input.z_threshold.unwrap_or(2.0);
    if !(z.is_finite() && z > 0.0) {
        return Err(ToolError::invalid("z_threshold", "a positive number"));
    }
    let now = now_ms(&b, input.as_of.as_deref(), &ctx)?;
    let q = NewsQuery {
        text: None,
        tickers: tickers.clone(),
        from_ms: Some(now - i64::from(lookback + 1) * 86_400_000),
        to_ms: Some(now),
        limit: 500,
    };
    let g = gather(&b, &ctx, &q, None).await?;
    let stories = g.stories(&DedupConfig::default());
    let cfg = RelevanceConfig::default();
    let mut out = Vec::new();
    let mut text = format!(
        "News signals at {} (source: {}):\n",
        format_iso_ms(now),
        g.answered_by()
    );
    let relevant: Vec<Vec<usize>> = tickers
        .iter()
        .map(|t| {
            (0..stories.len())
                .filter(|&i| {
                    score(
                        &stories[i],
                        std::slice::from_ref(t),
                        None,
                        now,
                        &b.symbols,
                        &cfg,
                    )
                    .tickers
                    .first()
                    .is_some_and(|m| m.strength >= 0.6)
                })
                .collect()
        })
        .collect();
    let mut wanted: Vec<usize> = relevant.iter().flatten().copied().collect();
    wanted.sort_unstable();
    wanted.dedup();
    let scores = story_sentiments(&b, &ctx, &stories, &wanted).await?;
    text.push_str(&format!("(sentiment method: {})\n", scores.method));
    for (t, rel) in tickers.iter().zip(relevant) {
        let points: Vec<(i64, f64)> = rel
            .iter()
            .map(|&i| (stories[i].article.published_ms, scores.get(i).score))
            .collect();
        let sig = signal(t, &points, now, lookback as usize, z);
        text.push_str(&format!(
            "- {t}: {} today vs {:.2}/day (z {:.2}), shock {:+.2} -> {}{}\n",
            sig.today,
            sig.baseline_mean,
            sig.volume_z,
            sig.sentiment_shock,
            sig.direction,
            sig.suggestion
                .as_ref()
                .map(|s| format!(" (suggest paper {} {})", s.side, s.symbol))
                .unwrap_or_default()
        ));
        out.push(sig);
    }
    Ok(ToolOutput::new(
        text,
        json!({"source": g.answered_by(), "sentiment_method": scores.method, "as_of": format_iso_ms(now), "lookback_days": lookback, "z_threshold": z, "signals": out}),
    ))
}

/// One story's sentiment as the tools use it.
#[derive(Debug, Clone)]
struct StorySentiment {
    score: f64,
    label: &'static str,
}

/// Sentiment of some stories by index, and the method that scored them.
struct Scores {
    method: String,
    transformer: bool,
    by_story: std::collections::HashMap<usize, StorySentiment>,
}

impl Scores {
    fn get(&self, i: usize) -> StorySentiment {
        self.by_story.get(&i).cloned().unwrap_or(StorySentiment {
            score: 0.0,
            label: "neutral",
        })
    }
}

/// Scores stories `wanted` (indices into `stories`): the transformer
/// classifier over title + summary when configured (batched, through the
/// database cache), else the lexicon over the whole text.
async fn story_sentiments(
    b: &NewsBundle,
    ctx: &ToolCtx,
    stories: &[crate::dedup::Story],
    wanted: &[usize],
) -> Result<Scores, ToolError> {
    if b.models.has_sentiment() {
        let texts: Vec<String> = wanted
            .iter()
            .map(|&i| super::news::embed_text(&stories[i].article))
            .collect();
        if let Some((model, probs)) = b
            .models
            .sentiment_probs(&ctx.store, &texts, ctx.clock.now_ms())
            .await?
        {
            let by_story = wanted
                .iter()
                .zip(&probs)
                .map(|(&i, p)| {
                    let s = model.scored(p);
                    (
                        i,
                        StorySentiment {
                            score: s.score,
                            label: s.label,
                        },
                    )
                })
                .collect();
            return Ok(Scores {
                method: format!("transformer:{}", model.name()),
                transformer: true,
                by_story,
            });
        }
    }
    Ok(Scores {
        method: "lexicon".into(),
        transformer: false,
        by_story: wanted
            .iter()
            .map(|&i| {
                let s = sentiment(&stories[i].article.text());
                (
                    i,
                    StorySentiment {
                        score: s.score,
                        label: s.label,
                    },
                )
            })
            .collect(),
    })
}
