//! The news bundle through the real binary and a real MCP client over
//! stdio: the `news` variant on the embedded corpus (answers say `source:
//! corpus`), every tool listed, deduplicated ranked search with explained
//! scores, sentiment and signals, the resources and the research prompt,
//! bad input naming its field while the session goes on, the bundle in
//! `integrated`; and a local fake NewsAPI and Treasury configured through
//! the environment (answers name the live source; a repeated query inside
//! the cache TTL touches no source).

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use common::*;
use serde_json::json;

const TOOLS: &[&str] = &[
    "news_search",
    "news_latest",
    "news_sentiment",
    "news_signal",
    "news_similar",
    "news_sources",
    "news_dedup_report",
    "rates_yield_curve",
    "rates_series",
];

#[tokio::test]
async fn news_variant_on_the_corpus() {
    let db = temp_db();
    let client = stdio_client(&["serve", "--variant", "news", "--db", &db.url]).await;
    let tools = client.list_all_tools().await.expect("tools/list");
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    for t in TOOLS {
        assert!(names.contains(t), "missing {t}: {names:?}");
    }
    let found = call(
        &client,
        "news_search",
        json!({"tickers": ["Nvidia"], "since_hours": 720, "explain": true}),
    )
    .await;
    assert!(!is_error(&found), "{}", text(&found));
    assert!(text(&found).contains("source: corpus"), "{}", text(&found));
    let v = structured(&found);
    assert_eq!(v["source"], json!("corpus"));
    let first = &v["stories"][0];
    assert!(
        first["tickers"]
            .as_array()
            .expect("tickers")
            .contains(&json!("NVDA"))
    );
    assert!(first["explain"]["recency"].is_number());

    let latest = structured(
        &call(
            &client,
            "news_latest",
            json!({"since_hours": 960, "limit": 100}),
        )
        .await,
    );
    let widest = latest["stories"]
        .as_array()
        .expect("stories")
        .iter()
        .map(|s| s["outlets"].as_u64().unwrap_or(0))
        .max();
    assert_eq!(
        widest,
        Some(10),
        "a story carried by ten outlets is one item listing ten"
    );

    let sent = structured(
        &call(
            &client,
            "news_sentiment",
            json!({"text": "Tesla shares plunge after profit warning"}),
        )
        .await,
    );
    assert!(sent["sentiment"]["score"].as_f64().expect("score") < -0.5);
    let sig = call(&client, "news_signal", json!({"tickers": ["AAPL"]})).await;
    assert!(!is_error(&sig), "{}", text(&sig));
    let report = structured(&call(&client, "news_dedup_report", json!({"since_hours": 960})).await);
    assert!(report["quality"]["precision"].as_f64().expect("p") > 0.95);
    let srcs = structured(&call(&client, "news_sources", json!({})).await);
    assert_eq!(srcs["sources"][0]["name"], json!("corpus"));

    // Bad input names the field; the session goes on.
    let bad = call(
        &client,
        "news_signal",
        json!({"tickers": ["AAPL"], "lookback_days": 1}),
    )
    .await;
    assert!(
        is_error(&bad) && text(&bad).contains("lookback_days"),
        "{}",
        text(&bad)
    );
    let off = call(&client, "rates_yield_curve", json!({})).await;
    assert!(
        is_error(&off) && text(&off).contains("NEWS_LIVE_FEEDS"),
        "{}",
        text(&off)
    );
    assert!(!is_error(&call(&client, "news_sources", json!({})).await));

    let scoring = client
        .read_resource(rmcp::model::ReadResourceRequestParams::new(
            "news://scoring",
        ))
        .await
        .expect("resources/read");
    assert!(format!("{:?}", scoring.contents).contains("MinHash"));
    let prompt = client
        .get_prompt(
            rmcp::model::GetPromptRequestParams::new("news_research")
                .with_arguments(serde_json::from_value(json!({"ticker": "SHOP"})).expect("args")),
        )
        .await
        .expect("prompts/get");
    let rendered = format!("{:?}", prompt.messages);
    assert!(
        rendered.contains("SHOP") && rendered.contains("news_signal"),
        "{rendered}"
    );
    client.cancel().await.expect("close");
}

#[tokio::test]
async fn integrated_hosts_the_news_tools() {
    let db = temp_db();
    let client = stdio_client(&["serve", "--variant", "integrated", "--db", &db.url]).await;
    let tools = client.list_all_tools().await.expect("tools/list");
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    for t in TOOLS {
        assert!(names.contains(t), "missing {t}");
    }
    client.cancel().await.expect("close");
}

#[derive(Default)]
struct Fake {
    news: AtomicUsize,
    treasury: AtomicUsize,
}

async fn fake(
    State(f): State<Arc<Fake>>,
    Path(p): Path<String>,
    h: HeaderMap,
) -> (StatusCode, String) {
    if p == "v2/everything" {
        f.news.fetch_add(1, Ordering::SeqCst);
        if h.get("x-api-key").and_then(|v| v.to_str().ok()) != Some("k-test") {
            return (
                StatusCode::UNAUTHORIZED,
                json!({"status":"error","code":"apiKeyInvalid","message":"bad key"}).to_string(),
            );
        }
        return (
            StatusCode::OK,
            json!({"status":"ok","totalResults":1,"articles":[{"source":{"id":"reuters","name":"Reuters"},
                "author":null,"title":"Shopify raises outlook as merchant sales surge","description":"Shopify lifted its forecast.",
                "url":"https://www.reuters.com/technology/shopify-raises-outlook/?utm_source=x","urlToImage":null,
                "publishedAt":"2026-11-30T15:00:00Z","content":null}]})
            .to_string(),
        );
    }
    if p.ends_with("interest-rates/pages/xml") {
        f.treasury.fetch_add(1, Ordering::SeqCst);
        return (
            StatusCode::OK,
            include_str!("../tools/news/tests/fixtures/treasury.xml").to_string(),
        );
    }
    (StatusCode::NOT_FOUND, "{}".into())
}

#[tokio::test]
async fn live_sources_from_the_environment_with_the_cache() {
    let state = Arc::new(Fake::default());
    let app = Router::new()
        .route("/{*p}", get(fake))
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let db = temp_db();
    let client = stdio_client_with_env(
        &["serve", "--variant", "news", "--db", &db.url],
        &[
            ("NEWSAPI_KEY", "k-test".to_string()),
            ("NEWS_NEWSAPI_URL", url.clone()),
            ("NEWS_TREASURY_URL", url),
        ],
    )
    .await;
    let args = json!({"tickers": ["SHOP"], "as_of": "2026-11-30T20:00:00Z", "since_hours": 48});
    let first = call(&client, "news_search", args.clone()).await;
    assert!(!is_error(&first), "{}", text(&first));
    let v = structured(&first);
    assert_eq!(v["source"], json!("newsapi"));
    assert_eq!(
        v["stories"][0]["url"],
        json!("https://reuters.com/technology/shopify-raises-outlook")
    );
    assert_eq!(state.news.load(Ordering::SeqCst), 1);
    let again = structured(&call(&client, "news_search", args).await);
    assert_eq!(again["runs"][0]["status"], json!("cache"));
    assert_eq!(
        state.news.load(Ordering::SeqCst),
        1,
        "inside the TTL no source is touched"
    );
    let curve = call(&client, "rates_yield_curve", json!({"date": "2026-11-30"})).await;
    assert!(!is_error(&curve), "{}", text(&curve));
    assert_eq!(
        structured(&curve)["curve"]["points"]
            .as_array()
            .expect("points")
            .len(),
        14
    );
    let srcs = structured(&call(&client, "news_sources", json!({})).await);
    assert_eq!(srcs["sources"][0]["name"], json!("newsapi"));
    assert_eq!(srcs["sources"][0]["breaker"], json!("closed"));
    client.cancel().await.expect("close");
}
