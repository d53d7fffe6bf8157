//! The CLOB REST client against a local fake CLOB on 127.0.0.1 that
//! answers with the documented JSON shapes and checks the L2 headers.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::routing::{any, get};
use nt_polymarket::auth::{ApiCreds, hmac_signature};
use nt_polymarket::rest::{ClobClient, RetryPolicy};
use nt_polymarket::signing::{self, OrderRequest, SignatureType, Wallet};
use nt_polymarket::types::{Side, TickSize};
use rust_decimal_macros::dec;
use serde_json::{Value, json};

const SECRET: &str = "c2VjcmV0LWtleS1mb3ItdGVzdHMtb25seS0xMjM0NTY3OA==";
const KEY: &str = "00000000-api-key";
const PASS: &str = "pass-phrase";

#[derive(Default)]
struct Fake {
    flaky_calls: AtomicU32,
    broken_calls: AtomicU32,
    authed: std::sync::Mutex<Vec<(String, String, String)>>,
}

fn check_l2(
    headers: &HeaderMap,
    method: &Method,
    path: &str,
    body: &str,
) -> Result<(), (StatusCode, Json<Value>)> {
    let h = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let (Some(addr), Some(sig), Some(ts), Some(key), Some(pass)) = (
        h("POLY_ADDRESS"),
        h("POLY_SIGNATURE"),
        h("POLY_TIMESTAMP"),
        h("POLY_API_KEY"),
        h("POLY_PASSPHRASE"),
    ) else {
        return Err((
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "Unauthorized/Invalid api key"})),
        ));
    };
    let ts: u64 = ts.parse().unwrap_or(0);
    let body = (!body.is_empty()).then_some(body);
    let want = hmac_signature(SECRET, ts, method.as_str(), path, body).unwrap_or_default();
    if key != KEY || pass != PASS || sig != want || !addr.starts_with("0x") {
        return Err((
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "Unauthorized/Invalid api key"})),
        ));
    }
    Ok(())
}

async fn authed(
    State(fake): State<Arc<Fake>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> (StatusCode, Json<Value>) {
    let path = uri.path().to_string();
    if let Err(e) = check_l2(&headers, &method, &path, &body) {
        return e;
    }
    fake.authed
        .lock()
        .expect("lock")
        .push((method.to_string(), path.clone(), body.clone()));
    match (method.as_str(), path.as_str()) {
        ("POST", "/order") => {
            let v: Value = serde_json::from_str(&body).unwrap_or_default();
            if v["order"]["signature"]
                .as_str()
                .is_none_or(|s| s.len() != 132)
                || v["owner"] != KEY
            {
                return (
                    StatusCode::BAD_REQUEST,
                    Json(json!({"error": "invalid order payload"})),
                );
            }
            (
                StatusCode::OK,
                Json(
                    json!({"success": true, "errorMsg": "", "orderID": "0xfeed", "orderHashes": [], "status": "live"}),
                ),
            )
        }
        ("DELETE", "/order") => (
            StatusCode::OK,
            Json(json!({"canceled": ["0xfeed"], "not_canceled": {}})),
        ),
        ("DELETE", "/cancel-all") => (
            StatusCode::OK,
            Json(json!({"canceled": ["0xfeed"], "not_canceled": {}})),
        ),
        ("GET", "/data/orders") => (
            StatusCode::OK,
            Json(json!({"data": [{"id": "0xfeed", "status": "LIVE"}], "next_cursor": "LTE="})),
        ),
        _ => (StatusCode::NOT_FOUND, Json(json!({"error": "not found"}))),
    }
}

async fn book() -> Json<Value> {
    Json(json!({
        "market": "0xbd31dc8a", "asset_id": "123", "timestamp": "1700000000000", "hash": "0xabc",
        "bids": [{"price": "0.48", "size": "30"}], "asks": [{"price": "0.52", "size": "25"}],
        "min_order_size": "5", "tick_size": "0.01", "neg_risk": false, "last_trade_price": "0.5"
    }))
}

async fn flaky(State(fake): State<Arc<Fake>>) -> (StatusCode, Json<Value>) {
    if fake.flaky_calls.fetch_add(1, Ordering::SeqCst) < 2 {
        (
            StatusCode::TOO_MANY_REQUESTS,
            Json(json!({"error": "Too Many Requests"})),
        )
    } else {
        (StatusCode::OK, Json(json!({"mid": "0.5"})))
    }
}

async fn broken(State(fake): State<Arc<Fake>>) -> (StatusCode, Json<Value>) {
    fake.broken_calls.fetch_add(1, Ordering::SeqCst);
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        Json(json!({"error": "internal"})),
    )
}

/// `GET /price`, `/spread`, `/last-trade-price` in the documented shapes
/// (docs.polymarket.com/api-reference/market-data/...); echoes the query so
/// the test can check the parameters sent.
async fn pricing(uri: Uri) -> (StatusCode, Json<Value>) {
    let query = uri.query().unwrap_or("").to_string();
    if !query.contains("token_id=123") {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "Invalid token id"})),
        );
    }
    let body = match uri.path() {
        "/price" if query.contains("side=BUY") => json!({"price": "0.44", "query": query}),
        "/price" if query.contains("side=SELL") => json!({"price": "0.46", "query": query}),
        "/spread" => json!({"spread": "0.02"}),
        "/last-trade-price" => json!({"price": "0.45", "side": "BUY"}),
        _ => return (StatusCode::BAD_REQUEST, Json(json!({"error": "bad side"}))),
    };
    (StatusCode::OK, Json(body))
}

async fn serve() -> (String, Arc<Fake>) {
    let fake = Arc::new(Fake::default());
    let app = Router::new()
        .route("/book", get(book))
        .route("/midpoint", get(flaky))
        .route("/price", get(pricing))
        .route("/spread", get(pricing))
        .route("/last-trade-price", get(pricing))
        .route("/markets", get(broken))
        .route("/order", any(authed))
        .route("/cancel-all", any(authed))
        .route("/data/orders", any(authed))
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), fake)
}

fn creds(secret: &str) -> ApiCreds {
    ApiCreds {
        key: KEY.into(),
        secret: secret.into(),
        passphrase: PASS.into(),
    }
}

fn fast() -> RetryPolicy {
    RetryPolicy {
        attempts: 3,
        backoff: Duration::from_millis(5),
        // Two calls that each exhaust their three attempts open it.
        breaker_threshold: 2,
        breaker_cooldown: Duration::from_secs(60),
        max_per_second: 0,
    }
}

#[tokio::test]
async fn signed_order_posts_with_valid_l2_headers_and_cancels() {
    let (base, fake) = serve().await;
    let wallet =
        Wallet::from_hex("0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")
            .expect("key");
    let client = ClobClient::new(
        &base,
        Some(creds(SECRET)),
        Some(wallet.address().to_checksum(None)),
    )
    .expect("client")
    .with_policy(fast());
    let book = client.book("123").await.expect("book");
    assert_eq!(book.bids[0].price, "0.48");
    let order = signing::sign_order(
        &wallet,
        &OrderRequest {
            asset_id: "123".into(),
            by_position: false,
            side: Side::Buy,
            price: dec!(0.5),
            size: dec!(10),
            kind: signing::OrderKind::Limit,
            tick: TickSize::T0_01,
            neg_risk: false,
            expiration: 0,
            salt: 1,
            timestamp_ms: 1_780_000_000_000,
            signature_type: SignatureType::Eoa,
            funder: None,
            builder: alloy_primitives::B256::ZERO,
            metadata: alloy_primitives::B256::ZERO,
        },
        137,
    )
    .expect("sign");
    let placed = client.post_order(&order, "GTC").await.expect("post");
    assert_eq!(placed["orderID"], "0xfeed");
    let cancelled = client.cancel("0xfeed").await.expect("cancel");
    assert_eq!(cancelled["canceled"][0], "0xfeed");
    client.cancel_all().await.expect("cancel all");
    let open = client.open_orders(None).await.expect("open");
    assert_eq!(open["data"][0]["id"], "0xfeed");
    assert_eq!(fake.authed.lock().expect("lock").len(), 4);
}

#[tokio::test]
async fn wrong_secret_is_rejected_by_the_fake_with_a_clear_error() {
    let (base, fake) = serve().await;
    let other = "b3RoZXItc2VjcmV0LW5vdC10aGUtcmlnaHQtb25lLTEyMzQ=";
    let client = ClobClient::new(&base, Some(creds(other)), Some("0xabc".into()))
        .expect("client")
        .with_policy(fast());
    let err = client.cancel("0xfeed").await.expect_err("unauthorized");
    assert!(
        err.to_string().contains("401") && err.to_string().contains("Invalid api key"),
        "{err}"
    );
    assert!(fake.authed.lock().expect("lock").is_empty());
    let anon = ClobClient::new(&base, None, None).expect("client");
    assert!(
        anon.cancel_all()
            .await
            .expect_err("no creds")
            .to_string()
            .contains("POLYMARKET_API_KEY")
    );
}

#[tokio::test]
async fn price_spread_and_last_trade_use_the_documented_endpoints() {
    let (base, _fake) = serve().await;
    let client = ClobClient::new(&base, None, None)
        .expect("client")
        .with_policy(fast());
    let buy = client.price("123", Side::Buy).await.expect("price");
    assert_eq!(buy["price"], "0.44");
    assert!(buy["query"].as_str().unwrap_or("").contains("side=BUY"));
    assert_eq!(
        client.price("123", Side::Sell).await.expect("price")["price"],
        "0.46"
    );
    assert_eq!(
        client.spread("123").await.expect("spread")["spread"],
        "0.02"
    );
    let last = client.last_trade_price("123").await.expect("last trade");
    assert_eq!(
        (last["price"].as_str(), last["side"].as_str()),
        (Some("0.45"), Some("BUY"))
    );
    let err = client.spread("999").await.expect_err("unknown token");
    assert!(err.to_string().contains("Invalid token id"), "{err}");
}

#[tokio::test]
async fn retries_429_then_opens_the_breaker_on_repeated_5xx() {
    let (base, fake) = serve().await;
    let client = ClobClient::new(&base, None, None)
        .expect("client")
        .with_policy(fast());
    let mid = client.midpoint("123").await.expect("retried to success");
    assert_eq!(mid["mid"], "0.5");
    assert_eq!(fake.flaky_calls.load(Ordering::SeqCst), 3);
    let err = client.markets("MA==").await.expect_err("500s");
    assert!(err.to_string().contains("500"), "{err}");
    let _ = client.markets("MA==").await;
    let calls = fake.broken_calls.load(Ordering::SeqCst);
    let err = client.markets("MA==").await.expect_err("breaker");
    assert!(err.to_string().contains("circuit breaker open"), "{err}");
    assert_eq!(
        fake.broken_calls.load(Ordering::SeqCst),
        calls,
        "breaker must not call the server"
    );
}
