//! The database cache through the aggregator with a counting fake source:
//! a repeated query inside the TTL touches no source (SQLite and
//! PostgreSQL), a new query or an expired row does, the corpus is never
//! cached, failures are reported per source with the breaker state.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use nt_mcp_core::Store;
use nt_mcp_core::store::core_migrations;
use nt_news::aggregate::Aggregator;
use nt_news::article::Article;
use nt_news::corpus::CorpusSource;
use nt_news::error::{NewsError, Result};
use nt_news::source::{NewsQuery, NewsSource, Tracked};

#[derive(Debug, Default)]
struct Counting {
    calls: Arc<AtomicUsize>,
    fail: Arc<AtomicBool>,
}

#[async_trait]
impl NewsSource for Counting {
    fn name(&self) -> &str {
        "fake"
    }
    fn live(&self) -> bool {
        true
    }
    fn breaker(&self) -> Option<(u32, Duration)> {
        Some((2, Duration::from_secs(30)))
    }
    async fn fetch(&self, q: &NewsQuery) -> Result<Vec<Article>> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if self.fail.load(Ordering::SeqCst) {
            return Err(NewsError::upstream("fake", "answered 503: maintenance"));
        }
        Ok(vec![Article {
            id: format!("fake-{}", q.cache_key().len()),
            source: "fake".into(),
            outlet: "Fake Wire".into(),
            url: "https://fake.example/a".into(),
            title: format!("Fake story about {}", q.tickers.join(" ")),
            summary: String::new(),
            body: None,
            published_ms: 1_764_000_000_000,
            tickers: q.tickers.clone(),
            language: "en".into(),
            provider_sentiment: None,
        }])
    }
}

async fn store_at(url: &str) -> Store {
    let store = Store::open(url).await.expect("store");
    let mut m = core_migrations();
    m.extend(nt_news::migrations());
    store.migrate(&m).await.expect("migrate");
    store
}

async fn repeated_query_inside_ttl_touches_no_source(store: &Store) {
    let fake = Counting::default();
    let calls = fake.calls.clone();
    let fail = fake.fail.clone();
    let agg = Aggregator {
        sources: vec![
            Arc::new(Tracked::new(Box::new(fake))),
            Arc::new(Tracked::new(Box::new(CorpusSource::default()))),
        ],
        ttl_ms: 60_000,
    };
    let q = NewsQuery {
        tickers: vec!["AAPL".into()],
        limit: 20,
        ..NewsQuery::default()
    };
    let t0 = 1_764_000_100_000;
    let g = agg.gather(store, &q, t0, None).await;
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(
        g.runs.iter().find(|r| r.source == "fake").map(|r| r.status),
        Some("ok")
    );
    assert!(g.articles.iter().any(|a| a.source == "corpus"));
    // Inside the TTL: from the database, the source is not called.
    let g2 = agg.gather(store, &q, t0 + 59_000, None).await;
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "cache hit touches no source"
    );
    let run = g2.runs.iter().find(|r| r.source == "fake").expect("run");
    assert_eq!((run.status, run.fetched_ms), ("cache", t0));
    assert_eq!(g2.articles.len(), g.articles.len());
    // A second aggregator (another replica) shares the rows.
    let other = Counting::default();
    let other_calls = other.calls.clone();
    let replica = Aggregator {
        sources: vec![Arc::new(Tracked::new(Box::new(other)))],
        ttl_ms: 60_000,
    };
    replica.gather(store, &q, t0 + 1_000, None).await;
    assert_eq!(other_calls.load(Ordering::SeqCst), 0);
    // Another query, and the same one after the TTL: fetched.
    let q2 = NewsQuery {
        tickers: vec!["MSFT".into()],
        ..q.clone()
    };
    agg.gather(store, &q2, t0 + 2_000, None).await;
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    agg.gather(store, &q, t0 + 60_000, None).await;
    assert_eq!(calls.load(Ordering::SeqCst), 3, "expired row refetched");
    // Failures: reported per source, breaker state from the health.
    fail.store(true, Ordering::SeqCst);
    let q3 = NewsQuery {
        text: Some("new".into()),
        ..q.clone()
    };
    let g3 = agg.gather(store, &q3, t0 + 61_000, None).await;
    let run = g3.runs.iter().find(|r| r.source == "fake").expect("run");
    assert_eq!(run.status, "error");
    assert!(run.error.as_deref().unwrap_or("").contains("503"));
    assert_eq!(agg.sources[0].breaker_state(t0 + 61_000), "degraded");
    agg.gather(store, &q3, t0 + 62_000, None).await;
    assert_eq!(agg.sources[0].breaker_state(t0 + 62_000), "open");
    assert_eq!(agg.sources[0].breaker_state(t0 + 92_001), "degraded");
    let h = agg.sources[0].health();
    assert_eq!((h.calls, h.failures, h.consecutive_failures), (5, 2, 2));
    fail.store(false, Ordering::SeqCst);
    agg.gather(store, &q3, t0 + 93_000, None).await;
    assert_eq!(agg.sources[0].breaker_state(t0 + 93_000), "closed");
}

#[tokio::test]
async fn cache_on_sqlite() {
    let store = store_at("sqlite::memory:").await;
    repeated_query_inside_ttl_touches_no_source(&store).await;
    let pruned = nt_news::cache::prune(&store, 1_764_000_300_000, 60_000)
        .await
        .expect("prune");
    assert_eq!(pruned, 3);
}

#[tokio::test]
async fn cache_on_postgres() {
    let Some(pg) = nt_mcp_core::testing::pg_schema("nt_news_", "cache_on_postgres").await else {
        return;
    };
    let store = store_at(&pg.url).await;
    repeated_query_inside_ttl_touches_no_source(&store).await;
    store.pool().close().await;
    pg.drop_schema().await;
}
