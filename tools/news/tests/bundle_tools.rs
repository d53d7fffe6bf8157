//! Every tool through the route table: on the embedded corpus (answers say
//! `source: corpus`), with a live fake source beside it, and the rates
//! tools against a local fake Treasury and Bank of Canada (database cache:
//! the second call touches no server).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use nt_mcp_core::bundle::ToolCtx;
use nt_mcp_core::clock::ManualClock;
use nt_mcp_core::store::core_migrations;
use nt_mcp_core::{Store, ToolBundle, ToolErrorKind, ToolRouter};
use nt_news::{NewsBundle, NewsConfig};
use serde_json::{Value, json};

async fn store() -> Store {
    let store = Store::open("sqlite::memory:").await.expect("store");
    let mut m = core_migrations();
    m.extend(nt_news::migrations());
    store.migrate(&m).await.expect("migrate");
    store
}

fn ctx(store: &Store, clock: &Arc<ManualClock>) -> ToolCtx {
    ToolCtx::new(store.clone()).with_clock(clock.clone())
}

fn corpus_bundle() -> (Arc<NewsBundle>, ToolRouter) {
    let b = Arc::new(NewsBundle::from_config(NewsConfig::default()).expect("bundle"));
    let r = b.clone().routes();
    (b, r)
}

async fn call(r: &ToolRouter, c: &ToolCtx, tool: &str, args: Value) -> Value {
    let out = r
        .call(tool, args, c.clone())
        .await
        .unwrap_or_else(|e| panic!("{tool}: {e:?}"));
    out.structured.clone()
}

#[tokio::test]
async fn search_ranks_deduplicated_stories_and_explains() {
    let (b, r) = corpus_bundle();
    assert!(b.corpus_only());
    let names: Vec<String> = r.specs().into_iter().map(|s| s.name).collect();
    for t in [
        "news_search",
        "news_latest",
        "news_sentiment",
        "news_signal",
        "news_similar",
        "news_sources",
        "news_dedup_report",
        "rates_yield_curve",
        "rates_series",
    ] {
        assert!(names.iter().any(|n| n == t), "{t}");
    }
    let s = store().await;
    let clock = Arc::new(ManualClock::new(0));
    let c = ctx(&s, &clock);
    let v = call(
        &r,
        &c,
        "news_search",
        json!({"tickers": ["Apple"], "since_hours": 720, "explain": true, "limit": 5}),
    )
    .await;
    assert_eq!(v["source"], "corpus");
    let stories = v["stories"].as_array().expect("stories");
    assert!(!stories.is_empty());
    for st in stories {
        assert!(
            st["tickers"]
                .as_array()
                .expect("t")
                .iter()
                .any(|t| t == "AAPL"),
            "{st}"
        );
        let e = &st["explain"];
        let total = 0.5 * e["match"].as_f64().expect("m")
            + 0.3 * e["recency"].as_f64().expect("r")
            + 0.2 * e["source"].as_f64().expect("s")
            + e["coverage"].as_f64().expect("c");
        assert!((total - st["relevance"].as_f64().expect("rel")).abs() < 1e-9);
        assert_eq!(st["outlets"].as_u64().expect("o") as usize, {
            let mut o: Vec<_> = st["carried_by"].as_array().expect("cb").iter().collect();
            o.sort_by_key(|x| x.to_string());
            o.dedup();
            o.len()
        });
    }
    let rel: Vec<f64> = stories
        .iter()
        .map(|s| s["relevance"].as_f64().expect("r"))
        .collect();
    assert!(rel.windows(2).all(|w| w[0] >= w[1]), "ranked: {rel:?}");
    // A ten-outlet story comes back as one item.
    let v = call(
        &r,
        &c,
        "news_latest",
        json!({"since_hours": 24 * 40, "limit": 100}),
    )
    .await;
    let max = v["stories"]
        .as_array()
        .expect("s")
        .iter()
        .map(|s| s["outlets"].as_u64().unwrap_or(0))
        .max();
    assert_eq!(max, Some(10));
    // Errors name the field.
    let e = r
        .call("news_search", json!({}), c.clone())
        .await
        .expect_err("no query");
    assert_eq!(e.field.as_deref(), Some("query"));
    let e = r
        .call(
            "news_search",
            json!({"tickers": ["not a ticker!"]}),
            c.clone(),
        )
        .await
        .expect_err("bad");
    assert_eq!(
        (e.kind, e.field.as_deref()),
        (ToolErrorKind::InvalidInput, Some("tickers"))
    );
    let e = r
        .call(
            "news_search",
            json!({"query": "x", "sources": ["nope"]}),
            c.clone(),
        )
        .await
        .expect_err("src");
    assert_eq!(e.field.as_deref(), Some("sources"));
}

#[tokio::test]
async fn sentiment_signal_similar_sources_and_dedup_report() {
    let (_b, r) = corpus_bundle();
    let s = store().await;
    let clock = Arc::new(ManualClock::new(0));
    let c = ctx(&s, &clock);
    let v = call(
        &r,
        &c,
        "news_sentiment",
        json!({"text": "Intel misses estimates and cuts guidance"}),
    )
    .await;
    assert!(v["sentiment"]["score"].as_f64().expect("s") < -0.3);
    let v = call(
        &r,
        &c,
        "news_sentiment",
        json!({"tickers": ["NVDA", "INTC"], "window_hours": 720}),
    )
    .await;
    assert_eq!(v["source"], "corpus");
    for t in v["tickers"].as_array().expect("t") {
        let n = t["stories"].as_u64().expect("n");
        assert_eq!(
            n,
            t["positive"].as_u64().unwrap_or(0)
                + t["negative"].as_u64().unwrap_or(0)
                + t["neutral"].as_u64().unwrap_or(0)
        );
    }
    let v = call(
        &r,
        &c,
        "news_signal",
        json!({"tickers": ["AAPL", "JPM"], "lookback_days": 20}),
    )
    .await;
    let sigs = v["signals"].as_array().expect("sig");
    assert_eq!(sigs.len(), 2);
    for g in sigs {
        assert_eq!(g["windows"].as_array().expect("w").len(), 21);
        assert!(["long", "short", "none"].contains(&g["direction"].as_str().expect("d")));
    }
    let latest = call(
        &r,
        &c,
        "news_latest",
        json!({"tickers": ["JPM"], "since_hours": 720, "limit": 1}),
    )
    .await;
    let id = latest["stories"][0]["id"].as_str().expect("id").to_string();
    let v = call(
        &r,
        &c,
        "news_similar",
        json!({"article_id": id, "limit": 3}),
    )
    .await;
    let sims: Vec<f64> = v["stories"]
        .as_array()
        .expect("s")
        .iter()
        .map(|s| s["similarity"].as_f64().expect("x"))
        .collect();
    assert!(sims.windows(2).all(|w| w[0] >= w[1]));
    assert!(
        v["stories"]
            .as_array()
            .expect("s")
            .iter()
            .all(|s| s["id"] != id.as_str())
    );
    let v = call(&r, &c, "news_sources", json!({})).await;
    assert_eq!(v["sources"][0]["name"], "corpus");
    assert_eq!(v["sources"][0]["breaker"], "closed");
    let v = call(&r, &c, "news_dedup_report", json!({"since_hours": 24 * 40})).await;
    let q = &v["quality"];
    println!("news_dedup_report on the corpus: {}", q);
    assert!(
        q["precision"].as_f64().expect("p") >= 0.98 && q["recall"].as_f64().expect("r") >= 0.95
    );
    assert!(v["clusters"][0]["articles"].as_u64().expect("a") >= 10);
}

#[derive(Default)]
struct Hits(AtomicUsize);

async fn rates_fake(
    State(h): State<Arc<Hits>>,
    Path(p): Path<String>,
) -> (axum::http::StatusCode, String) {
    h.0.fetch_add(1, Ordering::SeqCst);
    if p.ends_with("interest-rates/pages/xml") {
        return (
            axum::http::StatusCode::OK,
            include_str!("fixtures/treasury.xml").to_string(),
        );
    }
    if p == "valet/observations/FXUSDCAD/json" {
        return (
            axum::http::StatusCode::OK,
            json!({"seriesDetail":{"FXUSDCAD":{"label":"USD/CAD"}},"observations":[
                {"d":"2026-11-26","FXUSDCAD":{"v":"1.4021"}},{"d":"2026-11-27","FXUSDCAD":{"v":"1.4007"}}]})
            .to_string(),
        );
    }
    (
        axum::http::StatusCode::NOT_FOUND,
        "{\"message\":\"not found\"}".into(),
    )
}

async fn rates_tools_through_the_cache_on(s: Store) {
    let hits = Arc::new(Hits::default());
    let app = Router::new()
        .route("/{*p}", get(rates_fake))
        .with_state(hits.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let cfg = NewsConfig {
        urls: vec![("treasury".into(), url.clone()), ("boc".into(), url)],
        cache_ttl: std::time::Duration::from_secs(60),
        ..NewsConfig::default()
    };
    let b = Arc::new(NewsBundle::from_config(cfg).expect("bundle"));
    let r = b.clone().routes();
    let clock = Arc::new(ManualClock::new(
        nt_mcp_core::dates::parse_iso_ms("2026-11-30T22:00:00Z").expect("t"),
    ));
    let c = ctx(&s, &clock);
    let v = call(&r, &c, "rates_yield_curve", json!({})).await;
    assert_eq!(
        (v["source"].as_str(), v["served_from"].as_str()),
        (Some("treasury"), Some("live"))
    );
    assert_eq!(v["curve"]["date"], "2026-11-30");
    assert!((v["spread_10y_2y"].as_f64().expect("s") - 0.52).abs() < 1e-9);
    assert_eq!(v["inverted_10y_2y"], false);
    let v = call(&r, &c, "rates_yield_curve", json!({"date": "2026-11-27"})).await;
    assert_eq!(v["served_from"], "cache");
    assert_eq!(hits.0.load(Ordering::SeqCst), 1, "one fetch for the month");
    let v = call(
        &r,
        &c,
        "rates_series",
        json!({"provider": "boc", "series": "FXUSDCAD", "recent": 2}),
    )
    .await;
    assert_eq!(v["last"]["value"], 1.4007);
    assert!((v["change"].as_f64().expect("c") - (1.4007 - 1.4021)).abs() < 1e-12);
    let e = r
        .call(
            "rates_series",
            json!({"provider": "fred", "series": "DGS10"}),
            c.clone(),
        )
        .await
        .expect_err("no key");
    assert_eq!(e.kind, ToolErrorKind::Refused);
    let e = r
        .call(
            "rates_series",
            json!({"provider": "ecb", "series": "X"}),
            c.clone(),
        )
        .await
        .expect_err("provider");
    assert_eq!(e.field.as_deref(), Some("provider"));
}

#[tokio::test]
async fn rates_tools_through_the_cache() {
    rates_tools_through_the_cache_on(store().await).await;
}

#[tokio::test]
async fn rates_tools_through_the_cache_on_postgres() {
    let Some(pg) = nt_mcp_core::testing::pg_schema("nt_news_", "rates_tools_on_postgres").await
    else {
        return;
    };
    let s = Store::open(&pg.url).await.expect("store");
    let mut m = core_migrations();
    m.extend(nt_news::migrations());
    s.migrate(&m).await.expect("migrate");
    rates_tools_through_the_cache_on(s.clone()).await;
    s.pool().close().await;
    pg.drop_schema().await;
}

#[tokio::test]
async fn similar_ranks_the_same_story_above_unrelated_ones() {
    let (_b, r) = corpus_bundle();
    let s = store().await;
    let clock = Arc::new(ManualClock::new(0));
    let c = ctx(&s, &clock);
    // A reworded copy of one corpus story, not itself in the corpus.
    let l = nt_news::corpus::labelled()
        .iter()
        .find(|l| l.kind == "original" && l.article.title.contains("buyback"))
        .expect("a buyback story");
    let probe = l
        .article
        .text()
        .replace("authorized", "approved")
        .replace("signalling", "showing");
    let v = call(&r, &c, "news_similar", json!({"text": probe, "limit": 5})).await;
    let top = &v["stories"][0];
    assert_eq!(top["title"], json!(l.article.title), "{v}");
    let sims: Vec<f64> = v["stories"]
        .as_array()
        .expect("s")
        .iter()
        .map(|s| s["similarity"].as_f64().expect("x"))
        .collect();
    assert!(
        sims[0] > 0.6 && sims.get(1).is_none_or(|s| *s < 0.6 * sims[0]),
        "{sims:?}"
    );
}

#[test]
fn the_corpus_is_served_only_without_live_sources_unless_asked() {
    let live = NewsConfig {
        newsapi_key: Some("k".into()),
        ..NewsConfig::default()
    };
    let b = NewsBundle::from_config(live.clone()).expect("bundle");
    let names: Vec<&str> = b
        .aggregator
        .sources
        .iter()
        .map(|s| s.source.name())
        .collect();
    assert_eq!(names, vec!["newsapi"]);
    let both = NewsBundle::from_config(NewsConfig {
        corpus: Some(true),
        ..live
    })
    .expect("bundle");
    assert_eq!(both.aggregator.sources.len(), 2);
    assert!(!both.corpus_only());
    let feeds = NewsBundle::from_config(NewsConfig {
        live_feeds: true,
        sec_user_agent: Some("Research desk desk@example.com".into()),
        ..NewsConfig::default()
    })
    .expect("bundle");
    let names: Vec<&str> = feeds
        .aggregator
        .sources
        .iter()
        .map(|s| s.source.name())
        .collect();
    assert_eq!(
        names,
        vec!["sec-edgar", "gdelt", "rss:fed", "rss:sec-press"]
    );
    assert!(feeds.treasury.is_some() && feeds.boc.is_some() && feeds.fred.is_none());
}
