//! The Alpha Vantage client against a local fake on 127.0.0.1 answering the
//! documented `TIME_SERIES_DAILY` JSON, the `Error Message` of a bad symbol
//! and the `Information` of a rate limit.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::routing::get;
use nt_quant::bars::parse_day;
use nt_quant::data::BarRequest;
use nt_quant::data::alphavantage::{AlphaVantageClient, AlphaVantageConfig};
use serde_json::{Value, json};

type Seen = Arc<Mutex<Vec<String>>>;

async fn query(State(seen): State<Seen>, RawQuery(raw): RawQuery) -> axum::Json<Value> {
    let raw = raw.unwrap_or_default();
    seen.lock().unwrap().push(raw.clone());
    if !raw.contains("apikey=demo-key") {
        return axum::Json(json!({"Error Message": "the parameter apikey is invalid or missing."}));
    }
    axum::Json(if raw.contains("symbol=IBM") {
        json!({
            "Meta Data": {"1. Information": "Daily Prices (open, high, low, close) and Volumes", "2. Symbol": "IBM", "3. Last Refreshed": "2024-01-04", "4. Output Size": "Compact", "5. Time Zone": "US/Eastern"},
            "Time Series (Daily)": {
                "2024-01-04": {"1. open": "160.7500", "2. high": "161.4700", "3. low": "159.5000", "4. close": "160.1000", "5. volume": "4089254"},
                "2024-01-03": {"1. open": "161.0000", "2. high": "161.7300", "3. low": "160.0800", "4. close": "160.1000", "5. volume": "4086133"},
                "2024-01-02": {"1. open": "162.8300", "2. high": "163.2900", "3. low": "160.6000", "4. close": "161.5000", "5. volume": "3824941"}
            }
        })
    } else if raw.contains("symbol=BUSY") {
        json!({"Information": "Thank you for using Alpha Vantage! Our standard API rate limit is 25 requests per day."})
    } else {
        json!({"Error Message": "Invalid API call. Please retry or visit the documentation (https://www.alphavantage.co/documentation/) for TIME_SERIES_DAILY."})
    })
}

#[tokio::test]
async fn alpha_vantage_daily_bars_through_the_fake() {
    let seen: Seen = Arc::default();
    let app = Router::new()
        .route("/query", get(query))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let env = |k: &str| match k {
        "ALPHAVANTAGE_API_KEY" => Some("demo-key".to_string()),
        "ALPHAVANTAGE_BASE_URL" => Some(url.clone()),
        "ALPHAVANTAGE_REQUESTS_PER_MINUTE" => Some("6000".to_string()),
        _ => None,
    };
    let client =
        AlphaVantageClient::new(AlphaVantageConfig::resolve(env).unwrap().unwrap()).unwrap();
    let today = parse_day("2024-01-05").unwrap();
    let req = BarRequest {
        symbol: "IBM".into(),
        from: parse_day("2024-01-03"),
        to: None,
    };
    let s = client.daily(&req, today).await.unwrap();
    assert_eq!(s.closes(), vec![160.1, 160.1]);
    assert_eq!(s.source, "alphavantage(TIME_SERIES_DAILY, compact)");
    let q = seen.lock().unwrap()[0].clone();
    assert!(
        q.contains("function=TIME_SERIES_DAILY") && q.contains("outputsize=compact"),
        "{q}"
    );
    let old = BarRequest {
        symbol: "IBM".into(),
        from: parse_day("2020-01-01"),
        to: None,
    };
    assert_eq!(client.daily(&old, today).await.unwrap().len(), 3);
    assert!(seen.lock().unwrap()[1].contains("outputsize=full"));
    let busy = client
        .daily(
            &BarRequest {
                symbol: "BUSY".into(),
                ..Default::default()
            },
            today,
        )
        .await
        .unwrap_err();
    assert!(busy.to_string().contains("rate limit"), "{busy}");
    let bad = client
        .daily(
            &BarRequest {
                symbol: "NOPE".into(),
                ..Default::default()
            },
            today,
        )
        .await
        .unwrap_err();
    assert!(bad.to_string().contains("Invalid API call"), "{bad}");
    assert!(AlphaVantageConfig::resolve(|_| None).unwrap().is_none());
}
