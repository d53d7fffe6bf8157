//! The Stooq client against a local fake on 127.0.0.1 answering the
//! documented CSV download (`/q/d/l/?s=..&i=d&d1=..&d2=..&apikey=..`), the
//! `No data` body of an unknown symbol and the daily-quota message.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::routing::get;
use nt_quant::bars::parse_day;
use nt_quant::data::stooq::{StooqClient, StooqConfig};
use nt_quant::data::{BarProvider, BarRequest};

type Seen = Arc<Mutex<Vec<HashMap<String, String>>>>;

async fn download(State(seen): State<Seen>, RawQuery(raw): RawQuery) -> String {
    let q: HashMap<String, String> = raw
        .unwrap_or_default()
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    seen.lock().unwrap().push(q.clone());
    match q.get("s").map(String::as_str) {
        Some("aapl.us") => "Date,Open,High,Low,Close,Volume\n\
             2024-01-02,187.15,188.44,183.885,185.64,82488674\n\
             2024-01-03,184.22,185.88,183.43,184.25,58414460\n\
             2024-01-04,182.15,183.0872,180.88,181.91,71983570\n"
            .to_string(),
        Some("busy.us") => "Exceeded the daily hits limit".to_string(),
        _ => "No data".to_string(),
    }
}

async fn fake() -> (String, Seen) {
    let seen: Seen = Arc::default();
    let app = Router::new()
        .route("/q/d/l/", get(download))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}

#[tokio::test]
async fn stooq_daily_bars_through_the_fake() {
    let (url, seen) = fake().await;
    let env = |k: &str| match k {
        "STOOQ_BASE_URL" => Some(url.clone()),
        "STOOQ_API_KEY" => Some("k123".into()),
        "STOOQ_REQUESTS_PER_MINUTE" => Some("6000".into()),
        _ => None,
    };
    let client = StooqClient::new(StooqConfig::resolve(env).unwrap()).unwrap();
    let req = BarRequest {
        symbol: "AAPL.US".into(),
        from: parse_day("2024-01-02"),
        to: parse_day("2024-01-31"),
    };
    let s = client.bars(&req).await.unwrap();
    assert_eq!(s.source, "stooq");
    assert_eq!(s.len(), 3);
    assert!((s.bars[2].close - 181.91).abs() < 1e-9);
    assert_eq!(s.bars[0].volume, 82_488_674.0);
    let q = seen.lock().unwrap()[0].clone();
    assert_eq!(q["s"], "aapl.us");
    assert_eq!(q["i"], "d");
    assert_eq!(q["d1"], "20240102");
    assert_eq!(q["d2"], "20240131");
    assert_eq!(q["apikey"], "k123");

    let none = client
        .bars(&BarRequest {
            symbol: "nosuch.us".into(),
            ..Default::default()
        })
        .await;
    assert!(
        none.unwrap_err()
            .to_string()
            .contains("no data for `nosuch.us`")
    );
    let busy = client
        .bars(&BarRequest {
            symbol: "busy.us".into(),
            ..Default::default()
        })
        .await;
    assert!(busy.unwrap_err().to_string().contains("daily hits limit"));
}
