//! `news_search`, `news_latest`, `news_similar`, `news_sources`,
//! `news_dedup_report`.

use std::sync::Arc;

use nt_mcp_core::bundle::{ToolCtx, ToolOutput};
use nt_mcp_core::dates::format_iso_ms;
use nt_mcp_core::{Route, ToolError, route};
use serde_json::json;

use super::inputs::*;
use super::{bounded, now_ms, resolve, story_json, story_line};
use crate::NewsBundle;
use crate::aggregate::Gathered;
use crate::dedup::{DedupConfig, Link, cluster, dedup, jaccard, pair_scores, shingles};
use crate::relevance::{RelevanceConfig, score};
use crate::source::NewsQuery;
use crate::symbols::words;

pub(crate) fn routes() -> Vec<Route<NewsBundle>> {
    vec![
        route(
            "news_search",
            "Search news from every configured source at once, merged and deduplicated (a story carried by many \
             outlets is one item listing them), ranked by relevance (ticker/alias match, recency, source weight). \
             `explain: true` returns the parts of each score. `semantic: true` ranks by meaning instead \
             (embedding cosine of query and story; needs an embedding model). Answers say which sources \
             answered (`corpus` is the embedded corpus) and the ranking `method`.",
            search,
        ),
        route("news_latest", "The newest deduplicated stories, optionally for some tickers.", latest),
        route(
            "news_similar",
            "Stories similar to an article (by id) or a text: cosine similarity of sentence embeddings \
             (title + summary) when an embedding model is configured, else lexical similarity (content \
             words and word 3-shingles, Jaccard); the answer's `method` says which.",
            similar,
        )
        .cpu_heavy(),
        route(
            "news_sources",
            "Every configured news source with its kind, circuit-breaker state, calls, failures and last error; \
             and the rates providers.",
            sources,
        ),
        route(
            "news_dedup_report",
            "How a set of articles was deduplicated: clusters with their URL and text links and similarities; \
             on the corpus, precision and recall against its story labels.",
            dedup_report,
        )
        .cpu_heavy(),
    ]
}

/// Gathers from the sources; an error when every source failed.
pub(crate) async fn gather(
    b: &NewsBundle,
    ctx: &ToolCtx,
    q: &NewsQuery,
    pick: Option<&[String]>,
) -> Result<Gathered, ToolError> {
    if let Some(p) = pick {
        for name in p {
            if !b.aggregator.sources.iter().any(|s| s.source.name() == name) {
                return Err(ToolError::invalid("sources", format!("no source `{name}`"))
                    .with_hint("see news_sources"));
            }
        }
    }
    let g = b
        .aggregator
        .gather(&ctx.store, q, ctx.clock.now_ms(), pick)
        .await;
    if !g.runs.is_empty() && g.runs.iter().all(|r| r.status == "error") {
        let why: Vec<String> = g
            .runs
            .iter()
            .map(|r| format!("{}: {}", r.source, r.error.clone().unwrap_or_default()))
            .collect();
        return Err(ToolError::upstream(format!(
            "no source answered: {}",
            why.join("; ")
        )));
    }
    Ok(g)
}

fn window(now: i64, hours: u32) -> (Option<i64>, Option<i64>) {
    (Some(now - i64::from(hours) * 3_600_000), Some(now))
}

async fn search(
    b: Arc<NewsBundle>,
    input: SearchInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    let tickers = resolve(&b, "tickers", &input.tickers)?;
    let limit = bounded("limit", input.limit, 10, 1, 100)?;
    let hours = bounded("since_hours", input.since_hours, 168, 1, 24 * 365)?;
    let half = input.half_life_hours.unwrap_or(24.0);
    if !(half.is_finite() && half > 0.0) {
        return Err(ToolError::invalid(
            "half_life_hours",
            "a positive number of hours",
        ));
    }
    let text = input
        .query
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    if tickers.is_empty() && text.is_none() {
        return Err(ToolError::invalid("query", "give a query or tickers")
            .with_hint("news_latest lists everything"));
    }
    if input.semantic && text.is_none() {
        return Err(ToolError::invalid("query", "semantic search needs a query"));
    }
    if input.semantic && !b.models.has_embedder() {
        return Err(no_embedder("semantic"));
    }
    let now = now_ms(&b, input.as_of.as_deref(), &ctx)?;
    let (from_ms, to_ms) = window(now, hours);
    let q = NewsQuery {
        // Semantic search asks for the whole window and ranks by meaning.
        text: if input.semantic { None } else { text.clone() },
        tickers: tickers.clone(),
        from_ms,
        to_ms,
        limit: 500,
    };
    let g = gather(&b, &ctx, &q, input.sources.as_deref()).await?;
    let cfg = RelevanceConfig {
        half_life_hours: half,
    };
    let stories = g.stories(&DedupConfig::default());
    let sims: Option<Vec<f64>> = if input.semantic {
        let probe = text.clone().unwrap_or_default();
        Some(story_cosines(&b, &ctx, &probe, &stories).await?)
    } else {
        None
    };
    let mut scored: Vec<_> = stories
        .into_iter()
        .enumerate()
        .map(|(i, s)| {
            let r = match &sims {
                // Tickers and recency still count; the query's words do not.
                Some(_) => score(&s, &tickers, None, now, &b.symbols, &cfg),
                None => score(&s, &tickers, text.as_deref(), now, &b.symbols, &cfg),
            };
            let key = sims.as_ref().map_or(r.score, |v| v[i]);
            (s, r, key)
        })
        .collect();
    scored.sort_by(|a, b| {
        b.2.total_cmp(&a.2)
            .then(b.0.article.published_ms.cmp(&a.0.article.published_ms))
    });
    let total = scored.len();
    scored.truncate(limit as usize);
    let source = g.answered_by();
    let method = match (&sims, b.models.embed_name()) {
        (Some(_), Some(m)) => format!("embeddings:{m}"),
        _ => "relevance".to_string(),
    };
    let mut text_out = format!(
        "{total} stories from {} articles (source: {source}; ranked by {method}); top {}:\n",
        g.articles.len(),
        scored.len()
    );
    for (s, r, k) in &scored {
        let extra = if sims.is_some() {
            format!(" | similarity {k:.3}")
        } else {
            format!(" | relevance {:.3}", r.score)
        };
        text_out.push_str(&story_line(s, &extra));
        text_out.push('\n');
    }
    Ok(ToolOutput::new(
        text_out,
        json!({
            "source": source,
            "method": method,
            "as_of": format_iso_ms(now),
            "articles": g.articles.len(),
            "stories_total": total,
            "stories": scored.iter().map(|(s, r, k)| {
                let mut v = story_json(s, Some(r), input.explain);
                if sims.is_some() {
                    v["similarity"] = json!(k);
                }
                v
            }).collect::<Vec<_>>(),
            "runs": g.runs,
        }),
    ))
}

async fn latest(
    b: Arc<NewsBundle>,
    input: LatestInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    let tickers = resolve(&b, "tickers", &input.tickers)?;
    let limit = bounded("limit", input.limit, 10, 1, 100)?;
    let hours = bounded("since_hours", input.since_hours, 72, 1, 24 * 365)?;
    let now = now_ms(&b, input.as_of.as_deref(), &ctx)?;
    let (from_ms, to_ms) = window(now, hours);
    let q = NewsQuery {
        text: None,
        tickers,
        from_ms,
        to_ms,
        limit: 500,
    };
    let g = gather(&b, &ctx, &q, input.sources.as_deref()).await?;
    let mut stories = g.stories(&DedupConfig::default());
    stories.sort_by_key(|s| std::cmp::Reverse(s.article.published_ms));
    stories.truncate(limit as usize);
    let source = g.answered_by();
    let mut text = format!("{} latest stories (source: {source}):\n", stories.len());
    for s in &stories {
        text.push_str(&story_line(s, ""));
        text.push('\n');
    }
    Ok(ToolOutput::new(
        text,
        json!({
            "source": source,
            "as_of": format_iso_ms(now),
            "stories": stories.iter().map(|s| story_json(s, None, false)).collect::<Vec<_>>(),
            "runs": g.runs,
        }),
    ))
}

const STOP: &[&str] = &[
    "the", "a", "an", "of", "to", "in", "and", "or", "on", "for", "as", "at", "by", "with", "from",
    "its", "it", "is", "was", "are", "were", "be", "that", "this", "said", "has", "had", "have",
    "after", "than", "but", "up",
];

/// The error when embeddings are asked for without a model.
fn no_embedder(field: &str) -> ToolError {
    ToolError::invalid(field, "embeddings need an embedding model").with_hint(
        "set NEWS_EMBED_MODEL_DIR (or embed_model_dir) to the directory scripts/fetch-models.sh prints",
    )
}

/// What is embedded of an article: its title and summary.
pub(crate) fn embed_text(a: &crate::article::Article) -> String {
    format!("{}. {}", a.title, a.summary)
}

/// Cosine similarity of `probe` with each story (embeddings through the
/// database cache).
async fn story_cosines(
    b: &NewsBundle,
    ctx: &ToolCtx,
    probe: &str,
    stories: &[crate::dedup::Story],
) -> Result<Vec<f64>, ToolError> {
    let mut texts: Vec<String> = Vec::with_capacity(stories.len() + 1);
    texts.push(probe.to_string());
    texts.extend(stories.iter().map(|s| embed_text(&s.article)));
    let v = b
        .models
        .embed(&ctx.store, &texts, ctx.clock.now_ms())
        .await?
        .ok_or_else(|| no_embedder("method"))?;
    Ok(v[1..]
        .iter()
        .map(|e| crate::embed::cosine(&v[0], e))
        .collect())
}

fn content_words(text: &str) -> Vec<u64> {
    let mut w: Vec<u64> = words(text)
        .into_iter()
        .filter(|w| !STOP.contains(&w.as_str()) && w.len() > 1)
        .map(|w| shingles(&w, 1)[0])
        .collect();
    w.sort_unstable();
    w.dedup();
    w
}

async fn similar(
    b: Arc<NewsBundle>,
    input: SimilarInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    let limit = bounded("limit", input.limit, 5, 1, 50)?;
    let hours = bounded("since_hours", input.since_hours, 720, 1, 24 * 365)?;
    let use_embeddings = match input.method.as_deref().map(str::trim).unwrap_or("auto") {
        "auto" | "" => b.models.has_embedder(),
        "embeddings" if b.models.has_embedder() => true,
        "embeddings" => return Err(no_embedder("method")),
        "lexical" => false,
        _ => {
            return Err(ToolError::invalid("method", "auto, embeddings or lexical"));
        }
    };
    let min = input
        .min_similarity
        .unwrap_or(if use_embeddings { 0.3 } else { 0.05 });
    if !(0.0..=1.0).contains(&min) {
        return Err(ToolError::invalid("min_similarity", "between 0 and 1"));
    }
    let now = now_ms(&b, input.as_of.as_deref(), &ctx)?;
    let (from_ms, to_ms) = window(now, hours);
    let q = NewsQuery {
        from_ms,
        to_ms,
        limit: 500,
        ..NewsQuery::default()
    };
    let g = gather(&b, &ctx, &q, None).await?;
    let stories = g.stories(&DedupConfig::default());
    let (probe, probe_id) = match (&input.article_id, &input.text) {
        (Some(id), _) => {
            let s = stories
                .iter()
                .find(|s| s.carriers.iter().any(|c| &c.id == id))
                .ok_or_else(|| {
                    ToolError::not_found(format!("no article `{id}` in the window"))
                        .with_field("article_id")
                })?;
            let t = if use_embeddings {
                embed_text(&s.article)
            } else {
                s.article.text()
            };
            (t, Some(s.article.id.clone()))
        }
        (None, Some(t)) if !t.trim().is_empty() => (t.clone(), None),
        _ => {
            return Err(ToolError::invalid(
                "article_id",
                "give an article_id or a text",
            ));
        }
    };
    let sims: Vec<f64> = if use_embeddings {
        story_cosines(&b, &ctx, &probe, &stories).await?
    } else {
        let (pw, ps) = (content_words(&probe), shingles(&probe, 3));
        stories
            .iter()
            .map(|s| {
                let t = s.article.text();
                0.5 * jaccard(&pw, &content_words(&t)) + 0.5 * jaccard(&ps, &shingles(&t, 3))
            })
            .collect()
    };
    let mut ranked: Vec<(f64, &crate::dedup::Story)> = stories
        .iter()
        .zip(sims)
        .filter(|(s, _)| probe_id.as_ref() != Some(&s.article.id))
        .map(|(s, sim)| (sim, s))
        .filter(|(sim, _)| *sim >= min)
        .collect();
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
    ranked.truncate(limit as usize);
    let source = g.answered_by();
    let (method, how) = if use_embeddings {
        let m = b.models.embed_name().unwrap_or_default();
        (
            "embeddings".to_string(),
            format!("cosine of {m} sentence embeddings of title + summary"),
        )
    } else {
        (
            "lexical".to_string(),
            "0.5 * Jaccard(content words) + 0.5 * Jaccard(word 3-shingles)".to_string(),
        )
    };
    let mut text = format!(
        "{} similar stories ({method} similarity; source: {source}):\n",
        ranked.len()
    );
    for (sim, s) in &ranked {
        text.push_str(&story_line(s, &format!(" | similarity {sim:.3}")));
        text.push('\n');
    }
    Ok(ToolOutput::new(
        text,
        json!({
            "source": source,
            "method": method,
            "model": use_embeddings.then(|| b.models.embed_name()).flatten(),
            "similarity": how,
            "stories": ranked.iter().map(|(sim, s)| {
                let mut v = story_json(s, None, false);
                v["similarity"] = json!(sim);
                v
            }).collect::<Vec<_>>(),
        }),
    ))
}

async fn sources(
    b: Arc<NewsBundle>,
    _input: SourcesInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    let now = ctx.clock.now_ms();
    let mut text = String::from("News sources:\n");
    let list: Vec<_> = b
        .aggregator
        .sources
        .iter()
        .map(|s| {
            let h = s.health();
            let state = s.breaker_state(now);
            text.push_str(&format!(
                "- {} ({}): breaker {state}, {} calls, {} failures{}\n",
                s.source.name(),
                if s.source.live() {
                    "live"
                } else {
                    "embedded corpus"
                },
                h.calls,
                h.failures,
                h.last_error
                    .as_deref()
                    .map(|e| format!(", last error: {e}"))
                    .unwrap_or_default()
            ));
            json!({
                "name": s.source.name(),
                "kind": if s.source.live() { "live" } else { "corpus" },
                "breaker": state,
                "health": h,
            })
        })
        .collect();
    let rates = json!({
        "treasury": b.treasury.is_some(),
        "fred": b.fred.is_some(),
        "boc": b.boc.is_some(),
    });
    text.push_str(&format!(
        "Rates: treasury {}, fred {}, boc {}. Cache TTL {} s.\n",
        b.treasury.is_some(),
        b.fred.is_some(),
        b.boc.is_some(),
        b.aggregator.ttl_ms / 1000
    ));
    Ok(ToolOutput::new(
        text,
        json!({"sources": list, "rates": rates, "cache_ttl_ms": b.aggregator.ttl_ms}),
    ))
}

async fn dedup_report(
    b: Arc<NewsBundle>,
    input: DedupReportInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    let tickers = resolve(&b, "tickers", &input.tickers)?;
    let limit = bounded("limit", input.limit, 10, 1, 100)?;
    let hours = bounded("since_hours", input.since_hours, 720, 1, 24 * 365)?;
    let threshold = input.threshold.unwrap_or(0.5);
    if !(0.2..=1.0).contains(&threshold) {
        return Err(ToolError::invalid("threshold", "between 0.2 and 1"));
    }
    let now = now_ms(&b, input.as_of.as_deref(), &ctx)?;
    let (from_ms, to_ms) = window(now, hours);
    let q = NewsQuery {
        text: input.query.clone().filter(|s| !s.trim().is_empty()),
        tickers,
        from_ms,
        to_ms,
        limit: 500,
    };
    let g = gather(&b, &ctx, &q, None).await?;
    let cfg = DedupConfig {
        threshold,
        ..DedupConfig::default()
    };
    let (clusters, links) = cluster(&g.articles, &cfg);
    let stories = dedup(g.articles.clone(), &cfg);
    // Ground truth exists for corpus articles.
    let labels: Option<Vec<&str>> = g
        .articles
        .iter()
        .map(|a| {
            crate::corpus::labelled()
                .iter()
                .find(|l| a.source == "corpus" && l.article.id == a.id)
                .map(|l| l.story.as_str())
        })
        .collect();
    let quality = labels.map(|l| {
        let (p, r, t, pr) = pair_scores(&clusters, &l);
        json!({"precision": p, "recall": r, "true_pairs": t, "predicted_pairs": pr})
    });
    let mut order: Vec<usize> = (0..clusters.len()).collect();
    order.sort_by(|a, b| clusters[*b].len().cmp(&clusters[*a].len()));
    let shown: Vec<_> = order
        .iter()
        .take(limit as usize)
        .map(|&c| {
            let members = &clusters[c];
            let inside: Vec<_> = links
                .iter()
                .filter(|(i, j, _, _)| members.contains(i) && members.contains(j))
                .map(|(i, j, k, s)| {
                    json!({"a": g.articles[*i].id, "b": g.articles[*j].id,
                           "by": if *k == Link::Url { "url" } else { "text" }, "similarity": s})
                })
                .collect();
            json!({
                "title": g.articles[members[0]].title,
                "articles": members.len(),
                "outlets": members.iter().map(|&i| g.articles[i].outlet.clone()).collect::<Vec<_>>(),
                "links": inside,
            })
        })
        .collect();
    let url_links = links.iter().filter(|l| l.2 == Link::Url).count();
    let source = g.answered_by();
    let mut text = format!(
        "{} articles -> {} stories ({} URL links, {} text links, threshold {threshold}; source: {source})",
        g.articles.len(),
        stories.len(),
        url_links,
        links.len() - url_links
    );
    if let Some(qv) = &quality {
        text.push_str(&format!(
            "; against the corpus labels: precision {:.4}, recall {:.4}",
            qv["precision"].as_f64().unwrap_or(0.0),
            qv["recall"].as_f64().unwrap_or(0.0)
        ));
    }
    Ok(ToolOutput::new(
        text,
        json!({
            "source": source,
            "articles": g.articles.len(),
            "stories": stories.len(),
            "url_links": url_links,
            "text_links": links.len() - url_links,
            "threshold": threshold,
            "quality": quality,
            "clusters": shown,
        }),
    ))
}
