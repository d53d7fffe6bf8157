//! The live-trading gate end to end: the real binary with Polymarket
//! credentials pointed at a local fake CLOB on 127.0.0.1. Without live
//! trading enabled an order is refused before anything reaches the venue;
//! with `--live-trading` it is posted. Reads go to the venue either way.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::Uri;
use axum::routing::{get, post};
use common::*;
use serde_json::{Value, json};

// Throwaway test key and credentials (never funded).
const PK: &str = "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318";
const SECRET: &str = "c2VjcmV0LWtleS1mb3ItdGVzdHMtb25seS0xMjM0NTY3OA==";

#[derive(Default)]
struct Venue {
    orders: AtomicUsize,
}

const CONDITION: &str = "0x1111111111111111111111111111111111111111111111111111111111111111";

/// A Gamma market as `GET /markets` documents it (lists as JSON strings).
fn gamma_market() -> Value {
    json!({
        "id": "512", "conditionId": CONDITION, "question": "Will the gate hold?", "slug": "gate-holds",
        "outcomes": "[\"Yes\", \"No\"]", "clobTokenIds": "[\"1001\", \"1002\"]",
        "negRisk": false, "orderPriceMinTickSize": 0.01, "orderMinSize": 5,
        "endDate": "2030-01-01T00:00:00Z", "active": true, "closed": false,
        "bestBid": 0.48, "bestAsk": 0.52, "lastTradePrice": 0.5
    })
}

/// Starts a fake Polymarket (CLOB `GET /book`, `GET /last-trade-price`,
/// `POST /order`; Gamma
/// `GET /markets`; Data API `GET /positions`) answering in the documented shapes; returns its base URL
/// and the order counter.
async fn fake_clob() -> (String, Arc<Venue>) {
    let venue = Arc::new(Venue::default());
    let app = Router::new()
        .route(
            "/book",
            get(|uri: Uri| async move {
                let token = uri.query().unwrap_or("").replace("token_id=", "");
                Json(json!({
                    "market": CONDITION,
                    "asset_id": token,
                    "timestamp": "1700000000000", "hash": "0xabc",
                    "bids": [{"price": "0.48", "size": "100"}],
                    "asks": [{"price": "0.52", "size": "100"}],
                    "min_order_size": "5", "tick_size": "0.01", "neg_risk": false
                }))
            }),
        )
        .route("/markets", get(|| async { Json(json!([gamma_market()])) }))
        .route(
            "/last-trade-price",
            get(|| async { Json(json!({"price": "0.51", "side": "SELL"})) }),
        )
        // Data API: the account holds nothing yet (daily-loss check).
        .route("/positions", get(|| async { Json(json!([])) }))
        .route(
            "/order",
            post(|State(v): State<Arc<Venue>>, _body: String| async move {
                v.orders.fetch_add(1, Ordering::SeqCst);
                Json(
                    json!({"success": true, "errorMsg": "", "orderID": "0xfeed", "status": "live"}),
                )
            }),
        )
        .with_state(venue.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, venue)
}

fn live_env(url: &str) -> Vec<(&'static str, String)> {
    vec![
        ("POLYMARKET_PRIVATE_KEY", PK.to_string()),
        ("POLYMARKET_API_KEY", "00000000-api-key".to_string()),
        ("POLYMARKET_API_SECRET", SECRET.to_string()),
        ("POLYMARKET_API_PASSPHRASE", "pass-phrase".to_string()),
        ("POLYMARKET_CLOB_URL", url.to_string()),
        ("POLYMARKET_GAMMA_URL", url.to_string()),
        ("POLYMARKET_DATA_URL", url.to_string()),
    ]
}

async fn live_client(url: &str, extra: &[&str]) -> Client {
    let env = live_env(url);
    let mut args = vec![
        "serve",
        "--variant",
        "polymarket",
        "--db",
        "sqlite::memory:",
    ];
    args.extend_from_slice(extra);
    stdio_client_with_env(&args, &env).await
}

fn order() -> Value {
    json!({"token_id": "1001", "side": "BUY", "price": "0.50", "size": "10",
           "order_type": "GTC", "client_order_id": "gate-1",
           "tick_size": "0.01", "neg_risk": false})
}

#[tokio::test]
async fn live_orders_are_refused_until_live_trading_is_enabled() {
    let (url, venue) = fake_clob().await;

    let client = live_client(&url, &[]).await;
    let info = call(&client, "server_info", json!({})).await;
    let modes = structured(&info)["venues"]["polymarket"].to_string();
    assert!(modes.contains("\"live\""), "{modes}");

    let book = call(&client, "polymarket_orderbook", json!({"token_id": "1001"})).await;
    assert!(!is_error(&book), "{}", text(&book));
    assert!(text(&book).contains("venue: polymarket"), "{}", text(&book));
    assert!(
        structured(&book).to_string().contains("0.48"),
        "{}",
        text(&book)
    );

    let refused = call(&client, "polymarket_place_order", order()).await;
    assert!(is_error(&refused));
    assert_eq!(structured(&refused)["error"]["kind"], json!("refused"));
    assert!(
        text(&refused).contains("live trading is disabled"),
        "{}",
        text(&refused)
    );
    assert_eq!(
        venue.orders.load(Ordering::SeqCst),
        0,
        "nothing reached the venue"
    );
    client.cancel().await.expect("close");

    let client = live_client(&url, &["--live-trading"]).await;
    let placed = call(&client, "polymarket_place_order", order()).await;
    assert!(!is_error(&placed), "{}", text(&placed));
    assert_eq!(
        venue.orders.load(Ordering::SeqCst),
        1,
        "the order was posted once"
    );
    let again = call(&client, "polymarket_place_order", order()).await;
    assert!(!is_error(&again), "{}", text(&again));
    assert_eq!(
        venue.orders.load(Ordering::SeqCst),
        1,
        "the same client id posts once"
    );
    client.cancel().await.expect("close");
}
