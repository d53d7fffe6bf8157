//! Every client against one local fake on 127.0.0.1 answering each
//! provider's documented shapes (NewsAPI v2, Finnhub v1, Alpha Vantage
//! NEWS_SENTIMENT, SEC EDGAR Atom with its User-Agent rule, GDELT DOC 2.0,
//! RSS 2.0, Treasury par yield XML, FRED observations, Bank of Canada
//! Valet): parsing into the one article type, keys sent where the provider
//! wants them, the providers' own error messages, and a breaker that opens
//! after failures and recovers.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use nt_news::clients::alphavantage::AlphaVantage;
use nt_news::clients::boc::Valet;
use nt_news::clients::edgar::Edgar;
use nt_news::clients::finnhub::Finnhub;
use nt_news::clients::fred::Fred;
use nt_news::clients::gdelt::Gdelt;
use nt_news::clients::newsapi::NewsApi;
use nt_news::clients::rss::RssFeed;
use nt_news::clients::treasury::Treasury;
use nt_news::error::NewsError;
use nt_news::source::{NewsQuery, NewsSource, Tracked};
use nt_venue_http::Policy;
use serde_json::json;

/// Path, query and User-Agent of one request.
type Seen = (String, HashMap<String, String>, String);

#[derive(Default)]
struct Fake {
    hits: AtomicUsize,
    fail: AtomicBool,
    seen: Mutex<Vec<Seen>>,
}

type Q = Query<HashMap<String, String>>;

fn h(headers: &HeaderMap, k: &str) -> String {
    headers
        .get(k)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

async fn any(
    State(f): State<Arc<Fake>>,
    Path(path): Path<String>,
    Query(q): Q,
    headers: HeaderMap,
) -> Response {
    f.hits.fetch_add(1, Ordering::SeqCst);
    f.seen
        .lock()
        .expect("lock")
        .push((path.clone(), q.clone(), h(&headers, "user-agent")));
    if f.fail.load(Ordering::SeqCst) {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            r#"{"status":"error","code":"unexpectedError","message":"maintenance"}"#,
        )
            .into_response();
    }
    let ok = |v: serde_json::Value| (StatusCode::OK, axum::Json(v)).into_response();
    match path.as_str() {
        "v2/everything" | "v2/top-headlines" => {
            if h(&headers, "x-api-key") != "k-news" {
                return (
                    StatusCode::UNAUTHORIZED,
                    axum::Json(json!({"status":"error","code":"apiKeyInvalid","message":"Your API key is invalid or incorrect. Check your key, or go to https://newsapi.org to create a free API key."})),
                )
                    .into_response();
            }
            ok(json!({"status":"ok","totalResults":3,"articles":[
                {"source":{"id":"reuters","name":"Reuters"},"author":"Staff","title":"Apple beats estimates as iPhone sales surge",
                 "description":"Apple reported record revenue.","url":"https://www.reuters.com/technology/apple-beats/?utm_source=newsapi",
                 "urlToImage":null,"publishedAt":"2026-11-30T21:05:00Z","content":"Apple Inc reported... [+1200 chars]"},
                {"source":{"id":null,"name":"Yahoo Entertainment"},"author":null,"title":"[Removed]","description":"[Removed]",
                 "url":"https://removed.com","urlToImage":null,"publishedAt":"1970-01-01T00:00:00Z","content":"[Removed]"},
                {"source":{"id":null,"name":"MarketWatch"},"author":null,"title":"Stocks rally as Microsoft and $NVDA climb",
                 "description":null,"url":"https://www.marketwatch.com/story/stocks-rally","urlToImage":null,
                 "publishedAt":"2026-11-30T20:00:00Z","content":null}]}))
        }
        "api/v1/company-news" | "api/v1/news" => {
            if h(&headers, "x-finnhub-token") != "k-fh" {
                return (StatusCode::UNAUTHORIZED, axum::Json(json!({"error":"Invalid API key"}))).into_response();
            }
            let sym = q.get("symbol").cloned().unwrap_or_default();
            ok(json!([{"category":"company","datetime":1764536400,"headline":format!("{sym} shares rise after upgrade"),
                "id":7_001_234,"image":"","related":sym,"source":"Yahoo","summary":"An analyst upgraded the stock.",
                "url":"https://finnhub.io/api/news?id=abc"}]))
        }
        "query" => match q.get("apikey").map(String::as_str) {
            Some("limited") => ok(json!({"Information":"We have detected your API key as limited and our standard API rate limit is 25 requests per day."})),
            _ => ok(json!({"items":"1","sentiment_score_definition":"x <= -0.35: Bearish","relevance_score_definition":"0 < x <= 1",
                "feed":[{"title":"Nvidia extends rally on data-center demand","url":"https://www.benzinga.com/news/nvda-rally",
                "time_published":"20261130T143000","authors":["A. Writer"],"summary":"Shares of Nvidia rose.","banner_image":null,
                "source":"Benzinga","category_within_source":"News","source_domain":"www.benzinga.com",
                "topics":[{"topic":"Technology","relevance_score":"1.0"}],"overall_sentiment_score":0.312,
                "overall_sentiment_label":"Somewhat-Bullish","ticker_sentiment":[{"ticker":"NVDA","relevance_score":"0.9",
                "ticker_sentiment_score":"0.41","ticker_sentiment_label":"Bullish"}]}]})),
        },
        "cgi-bin/browse-edgar" => {
            if !h(&headers, "user-agent").contains('@') {
                return (StatusCode::FORBIDDEN, "Your Request Originates from an Undeclared Automated Tool").into_response();
            }
            ([("content-type", "application/atom+xml")], include_str!("fixtures/edgar.atom")).into_response()
        }
        "api/v2/doc/doc" => {
            if q.get("query").is_some_and(|s| s.starts_with("ab ")) {
                return (StatusCode::OK, "The specified phrase is too short.").into_response();
            }
            ok(json!({"articles":[{"url":"https://www.theglobeandmail.com/business/article-shopify-gains/",
                "url_mobile":"","title":"Shopify gains as merchants grow","seendate":"20261130T150000Z","socialimage":"",
                "domain":"theglobeandmail.com","language":"English","sourcecountry":"Canada"}]}))
        }
        "feed.xml" => ([("content-type", "application/rss+xml")], include_str!("fixtures/feed.rss")).into_response(),
        "resource-center/data-chart-center/interest-rates/pages/xml" => {
            ([("content-type", "application/xml")], include_str!("fixtures/treasury.xml")).into_response()
        }
        "fred/series/observations" => {
            if q.get("api_key").map(String::as_str) != Some("k-fred") {
                return (StatusCode::BAD_REQUEST, axum::Json(json!({"error_code":400,"error_message":"Bad Request.  The value for variable api_key is not registered."}))).into_response();
            }
            ok(json!({"realtime_start":"2026-12-01","realtime_end":"2026-12-01","observation_start":"2026-11-24",
                "observation_end":"2026-11-28","units":"lin","output_type":1,"file_type":"json","order_by":"observation_date",
                "sort_order":"asc","count":4,"offset":0,"limit":100000,"observations":[
                {"realtime_start":"2026-12-01","realtime_end":"2026-12-01","date":"2026-11-24","value":"4.06"},
                {"realtime_start":"2026-12-01","realtime_end":"2026-12-01","date":"2026-11-25","value":"4.04"},
                {"realtime_start":"2026-12-01","realtime_end":"2026-12-01","date":"2026-11-26","value":"."},
                {"realtime_start":"2026-12-01","realtime_end":"2026-12-01","date":"2026-11-27","value":"4.03"}]}))
        }
        "valet/observations/FXUSDCAD/json" => ok(json!({"terms":{"url":"https://www.bankofcanada.ca/terms/"},
            "seriesDetail":{"FXUSDCAD":{"label":"USD/CAD","description":"US dollar to Canadian dollar daily exchange rate","dimension":{"key":"d","name":"date"}}},
            "observations":[{"d":"2026-11-26","FXUSDCAD":{"v":"1.4021"}},{"d":"2026-11-27","FXUSDCAD":{"v":"1.4007"}}]})),
        p if p.starts_with("valet/observations/") => {
            (StatusCode::NOT_FOUND, axum::Json(json!({"message":"Series FXNOPE not found.","docs":"https://www.bankofcanada.ca/valet/docs"}))).into_response()
        }
        _ => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}

async fn fake() -> (String, Arc<Fake>) {
    let state = Arc::new(Fake::default());
    let app = Router::new()
        .route("/{*path}", get(any))
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), state)
}

fn q(tickers: &[&str]) -> NewsQuery {
    NewsQuery {
        tickers: tickers.iter().map(|t| (*t).to_string()).collect(),
        from_ms: Some(1_764_000_000_000),
        to_ms: Some(1_764_600_000_000),
        limit: 20,
        ..NewsQuery::default()
    }
}

#[tokio::test]
async fn newsapi_everything_top_headlines_and_bad_key() {
    let (url, f) = fake().await;
    let c = NewsApi::new(&url, "k-news").expect("client");
    let got = c.fetch(&q(&["AAPL"])).await.expect("everything");
    assert_eq!(got.len(), 2, "[Removed] dropped");
    let a = &got[0];
    assert_eq!(
        (a.source.as_str(), a.outlet.as_str()),
        ("newsapi", "Reuters")
    );
    assert_eq!(a.url, "https://reuters.com/technology/apple-beats");
    assert_eq!(
        a.published_ms,
        nt_mcp_core::dates::parse_iso_ms("2026-11-30T21:05:00Z").expect("t")
    );
    assert!(a.tickers.contains(&"AAPL".to_string()));
    assert!(
        got[1].tickers.contains(&"MSFT".to_string())
            && got[1].tickers.contains(&"NVDA".to_string())
    );
    {
        let seen = f.seen.lock().expect("lock");
        let (path, query, _) = seen.last().expect("seen");
        assert_eq!(path, "v2/everything");
        assert_eq!(query.get("q").map(String::as_str), Some("\"Apple\""));
        assert_eq!(
            query.get("from").map(String::as_str),
            Some("2025-11-24T16:00:00+00:00")
        );
        assert!(
            !query.contains_key("apiKey"),
            "key in the header, not the URL"
        );
    }
    c.fetch(&NewsQuery::default()).await.expect("top");
    assert_eq!(
        f.seen.lock().expect("lock").last().expect("seen").0,
        "v2/top-headlines"
    );
    let bad = NewsApi::new(&url, "wrong").expect("client");
    let err = bad.fetch(&q(&["AAPL"])).await.expect_err("401");
    assert!(
        err.to_string().contains("401") && err.to_string().contains("API key is invalid"),
        "{err}"
    );
}

#[tokio::test]
async fn finnhub_company_and_market_news() {
    let (url, f) = fake().await;
    let c = Finnhub::new(&url, "k-fh").expect("client");
    let got = c.fetch(&q(&["AAPL", "MSFT"])).await.expect("company");
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].published_ms, 1_764_536_400_000);
    assert_eq!(got[0].id, "finnhub-7001234");
    assert!(got.iter().any(|a| a.tickers == vec!["MSFT".to_string()]));
    {
        let seen = f.seen.lock().expect("lock");
        let (_, query, _) = &seen[0];
        assert_eq!(query.get("from").map(String::as_str), Some("2025-11-24"));
        assert_eq!(query.get("to").map(String::as_str), Some("2025-12-01"));
    }
    let market = c.fetch(&NewsQuery::default()).await.expect("market");
    assert_eq!(market.len(), 1);
    assert_eq!(
        f.seen
            .lock()
            .expect("lock")
            .last()
            .expect("seen")
            .1
            .get("category")
            .map(String::as_str),
        Some("general")
    );
    let err = Finnhub::new(&url, "bad")
        .expect("c")
        .fetch(&q(&["AAPL"]))
        .await
        .expect_err("401");
    assert!(err.to_string().contains("Invalid API key"), "{err}");
}

#[tokio::test]
async fn alpha_vantage_feed_and_rate_limit_note() {
    let (url, f) = fake().await;
    let c = AlphaVantage::new(&url, "k-av").expect("client");
    let got = c.fetch(&q(&["NVDA"])).await.expect("feed");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].tickers, vec!["NVDA".to_string()]);
    assert_eq!(got[0].provider_sentiment, Some(0.312));
    assert_eq!(
        got[0].published_ms,
        nt_mcp_core::dates::parse_iso_ms("2026-11-30T14:30:00Z").expect("t")
    );
    {
        let seen = f.seen.lock().expect("lock");
        let query = &seen.last().expect("seen").1;
        assert_eq!(
            query.get("function").map(String::as_str),
            Some("NEWS_SENTIMENT")
        );
        assert_eq!(
            query.get("time_from").map(String::as_str),
            Some("20251124T1600")
        );
    }
    let err = AlphaVantage::new(&url, "limited")
        .expect("c")
        .fetch(&q(&["NVDA"]))
        .await
        .expect_err("note");
    assert!(err.to_string().contains("25 requests per day"), "{err}");
}

#[tokio::test]
async fn edgar_declares_its_user_agent() {
    let (url, f) = fake().await;
    assert!(matches!(
        Edgar::new(&url, "no contact", "8-K"),
        Err(NewsError::Config(_))
    ));
    let c = Edgar::new(&url, "Neural Trader Research ops@example.com", "8-K").expect("client");
    let mut query = q(&["AAPL"]);
    query.to_ms = None;
    let got = c.fetch(&query).await.expect("atom");
    assert_eq!(got.len(), 1);
    let a = &got[0];
    assert_eq!(
        (a.outlet.as_str(), a.title.as_str()),
        ("SEC EDGAR", "8-K - Current report")
    );
    assert!(a.summary.contains("Item 2.02"));
    assert_eq!(
        a.published_ms,
        nt_mcp_core::dates::parse_iso_ms("2026-11-30T21:30:05Z").expect("t")
    );
    assert_eq!(a.tickers, vec!["AAPL".to_string()]);
    let seen = f.seen.lock().expect("lock");
    let (_, query, ua) = seen.last().expect("seen");
    assert_eq!(ua, "Neural Trader Research ops@example.com");
    assert_eq!(query.get("CIK").map(String::as_str), Some("AAPL"));
    assert_eq!(query.get("output").map(String::as_str), Some("atom"));
}

#[tokio::test]
async fn gdelt_articles_and_plain_text_errors() {
    let (url, _f) = fake().await;
    let c = Gdelt::new(&url).expect("client");
    let got = c.fetch(&q(&["SHOP"])).await.expect("artlist");
    assert_eq!(got.len(), 1);
    assert_eq!(
        (got[0].outlet.as_str(), got[0].language.as_str()),
        ("theglobeandmail.com", "en")
    );
    assert!(got[0].tickers.contains(&"SHOP".to_string()));
    let bad = NewsQuery {
        text: Some("ab".into()),
        ..q(&[])
    };
    let err = c.fetch(&bad).await.expect_err("too short");
    assert!(err.to_string().contains("too short"), "{err}");
}

#[tokio::test]
async fn rss_feed_with_feed_rs() {
    let (url, _f) = fake().await;
    let c = RssFeed::new("fed", &format!("{url}/feed.xml")).expect("client");
    let got = c.fetch(&NewsQuery::default()).await.expect("rss");
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].outlet, "FRB: Press Releases");
    assert_eq!(got[0].source, "rss:fed");
    assert_eq!(
        got[0].summary,
        "The Committee decided to maintain the target range for the federal funds rate."
    );
    assert_eq!(
        got[1].url,
        "https://federalreserve.gov/newsevents/pressreleases/bcreg20261120a.htm"
    );
    assert!(
        got[1].tickers.contains(&"GS".to_string()) && got[1].tickers.contains(&"JPM".to_string())
    );
    let only_gs = c
        .fetch(&NewsQuery {
            tickers: vec!["GS".into()],
            ..NewsQuery::default()
        })
        .await
        .expect("filtered");
    assert_eq!(only_gs.len(), 1);
}

#[tokio::test]
async fn treasury_fred_and_valet_rates() {
    let (url, f) = fake().await;
    let curves = Treasury::new(&url)
        .expect("t")
        .month("202611")
        .await
        .expect("curve");
    assert_eq!(curves.len(), 2);
    let last = &curves[1];
    assert_eq!(last.date, "2026-11-30");
    assert_eq!(last.points.len(), 14);
    assert_eq!(last.points[1].tenor, "6W");
    assert!((last.spread_10y_2y().expect("spread") - (4.01 - 3.49)).abs() < 1e-12);
    assert_eq!(curves[0].points.len(), 5, "missing tenors left out");
    assert_eq!(
        f.seen
            .lock()
            .expect("lock")
            .last()
            .expect("seen")
            .1
            .get("field_tdr_date_value_month")
            .map(String::as_str),
        Some("202611")
    );
    let fred = Fred::new(&url, "k-fred").expect("fred");
    let s = fred
        .series("DGS10", Some("2026-11-24"), Some("2026-11-28"))
        .await
        .expect("series");
    assert_eq!(s.observations.len(), 4);
    assert_eq!(s.observations[2].value, None, "`.` is missing");
    assert_eq!(s.observations[3].value, Some(4.03));
    let err = Fred::new(&url, "bad")
        .expect("f")
        .series("DGS10", None, None)
        .await
        .expect_err("400");
    assert!(err.to_string().contains("not registered"), "{err}");
    let boc = Valet::new(&url).expect("boc");
    let s = boc
        .series("FXUSDCAD", None, None, Some(2))
        .await
        .expect("valet");
    assert_eq!(s.label.as_deref(), Some("USD/CAD"));
    assert_eq!(s.observations[1].value, Some(1.4007));
    let err = boc
        .series("FXNOPE", None, None, Some(2))
        .await
        .expect_err("404");
    assert!(err.to_string().contains("not found"), "{err}");
}

#[tokio::test]
async fn breaker_opens_after_failures_and_recovers() {
    let (url, f) = fake().await;
    let mut c = NewsApi::new(&url, "k-news").expect("client");
    c.http_mut().set_policy(Policy {
        min_interval: Duration::ZERO,
        attempts: 1,
        base_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(1),
        max_retry_after: Duration::from_millis(1),
        breaker_threshold: 2,
        breaker_cooldown: Duration::from_millis(300),
        timeout: Duration::from_secs(5),
    });
    let t = Tracked::new(Box::new(c));
    f.fail.store(true, Ordering::SeqCst);
    for i in 0..2 {
        let e = t.fetch(&q(&["AAPL"]), 1000 + i).await.expect_err("503");
        assert!(e.to_string().contains("503"), "{e}");
    }
    let before = f.hits.load(Ordering::SeqCst);
    let e = t.fetch(&q(&["AAPL"]), 1002).await.expect_err("open");
    assert!(matches!(e, NewsError::BreakerOpen { .. }), "{e}");
    assert_eq!(
        f.hits.load(Ordering::SeqCst),
        before,
        "an open breaker sends nothing"
    );
    assert_eq!(t.breaker_state(1002), "open");
    assert!(
        t.health()
            .last_error
            .unwrap_or_default()
            .contains("circuit breaker open")
    );
    tokio::time::sleep(Duration::from_millis(350)).await;
    f.fail.store(false, Ordering::SeqCst);
    t.fetch(&q(&["AAPL"]), 2000).await.expect("recovered");
    assert_eq!(t.breaker_state(2000), "closed");
}
