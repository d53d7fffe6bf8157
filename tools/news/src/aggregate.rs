//! The aggregator: asks every source at once (concurrent fan-out), answers
//! live sources from the database cache inside the TTL, merges what came
//! back, keeps what falls in the query's window, and reports per source
//! what happened (answered, cached, failed and why).

use std::sync::Arc;

use nt_mcp_core::Store;
use serde::Serialize;

use crate::article::Article;
use crate::cache;
use crate::dedup::{DedupConfig, Story, dedup};
use crate::source::{NewsQuery, Tracked};

/// What one source did for one query.
#[derive(Debug, Clone, Serialize)]
pub struct SourceRun {
    /// The source.
    pub source: String,
    /// `ok`, `cache` or `error`.
    pub status: &'static str,
    /// Articles it gave.
    pub articles: usize,
    /// When its articles were fetched, ms (cache: the original fetch).
    pub fetched_ms: i64,
    /// The error, when it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Merged articles and per-source runs.
#[derive(Debug, Clone, Serialize)]
pub struct Gathered {
    /// Every article in the window, from every source.
    pub articles: Vec<Article>,
    /// What each source did.
    pub runs: Vec<SourceRun>,
}

impl Gathered {
    /// The sources that answered (live or cached), joined for `source:`.
    pub fn answered_by(&self) -> String {
        let names: Vec<&str> = self
            .runs
            .iter()
            .filter(|r| r.status != "error")
            .map(|r| r.source.as_str())
            .collect();
        if names.is_empty() {
            "none".into()
        } else {
            names.join(", ")
        }
    }

    /// Deduplicated stories.
    pub fn stories(&self, cfg: &DedupConfig) -> Vec<Story> {
        dedup(self.articles.clone(), cfg)
    }
}

/// Sources and the cache TTL.
#[derive(Debug, Clone)]
pub struct Aggregator {
    /// The sources, each with its health.
    pub sources: Vec<Arc<Tracked>>,
    /// How long a live source's answer is reused, ms.
    pub ttl_ms: i64,
}

impl Aggregator {
    /// Asks the sources whose names pass `pick` (all when `None`).
    pub async fn gather(
        &self,
        store: &Store,
        q: &NewsQuery,
        now_ms: i64,
        pick: Option<&[String]>,
    ) -> Gathered {
        let key = q.cache_key();
        let chosen: Vec<Arc<Tracked>> = self
            .sources
            .iter()
            .filter(|t| pick.is_none_or(|p| p.iter().any(|n| n == t.source.name())))
            .cloned()
            .collect();
        let runs = chosen.into_iter().map(|t| {
            let key = key.clone();
            async move {
                let name = t.source.name().to_string();
                if t.source.live() {
                    match cache::get(store, &name, &key, now_ms, self.ttl_ms).await {
                        Ok(Some((arts, at))) => {
                            return (run(&name, "cache", arts.len(), at, None), arts);
                        }
                        Ok(None) => {}
                        Err(e) => tracing::warn!(source = %name, "news cache read failed: {e}"),
                    }
                }
                match t.fetch(q, now_ms).await {
                    Ok(arts) => {
                        if t.source.live()
                            && let Err(e) = cache::put(store, &name, &key, &arts, now_ms).await
                        {
                            tracing::warn!(source = %name, "news cache write failed: {e}");
                        }
                        (run(&name, "ok", arts.len(), now_ms, None), arts)
                    }
                    Err(e) => (
                        run(&name, "error", 0, now_ms, Some(e.to_string())),
                        Vec::new(),
                    ),
                }
            }
        });
        let done = futures::future::join_all(runs).await;
        let mut articles = Vec::new();
        let mut out_runs = Vec::new();
        for (r, arts) in done {
            out_runs.push(r);
            articles.extend(arts.into_iter().filter(|a| q.in_window(a.published_ms)));
        }
        articles.sort_by(|a, b| {
            a.published_ms
                .cmp(&b.published_ms)
                .then_with(|| a.id.cmp(&b.id))
        });
        Gathered {
            articles,
            runs: out_runs,
        }
    }
}

fn run(
    source: &str,
    status: &'static str,
    articles: usize,
    fetched_ms: i64,
    error: Option<String>,
) -> SourceRun {
    SourceRun {
        source: source.to_string(),
        status,
        articles,
        fetched_ms,
        error,
    }
}
