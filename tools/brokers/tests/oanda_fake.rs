//! The OANDA v20 client against a local axum fake answering OANDA's
//! documented JSON shapes on 127.0.0.1: bearer auth, order create/fill,
//! an error carrying OANDA's errorMessage, retry on 429, the circuit
//! breaker, the pricing stream with heartbeats, and the transaction stream
//! turned into order updates.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use nt_brokers::broker::{Broker, OrderChange};
use nt_brokers::http::HttpPolicy;
use nt_brokers::oanda::{OandaClient, OandaConfig, StreamEvent};
use nt_brokers::types::{OrderRequest, OrderStatus, OrderType, Side, TimeInForce};
use rust_decimal_macros::dec;
use serde_json::{Value, json};

#[derive(Clone, Default)]
struct Fake {
    hits: Arc<AtomicUsize>,
    pricing_hits: Arc<AtomicUsize>,
}

fn authed(h: &HeaderMap) -> bool {
    h.get("authorization").and_then(|v| v.to_str().ok()) == Some("Bearer tok-123")
        && h.get("accept-datetime-format")
            .and_then(|v| v.to_str().ok())
            == Some("UNIX")
}

async fn summary(h: HeaderMap) -> (StatusCode, axum::Json<Value>) {
    if !authed(&h) {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"errorMessage": "Insufficient authorization to perform request."})),
        );
    }
    (
        StatusCode::OK,
        axum::Json(
            json!({"account": {"id": "101-004-1-001", "currency": "CAD", "balance": "100000.0000", "NAV": "100012.5000", "marginAvailable": "99000.0000", "openPositionCount": 1}, "lastTransactionID": "6"}),
        ),
    )
}

async fn pricing(State(f): State<Fake>, h: HeaderMap) -> (StatusCode, axum::Json<Value>) {
    assert!(authed(&h));
    // The first call is throttled; the client must retry.
    if f.pricing_hits.fetch_add(1, Ordering::SeqCst) == 0 {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            axum::Json(json!({"errorMessage": "Requests are being rate limited"})),
        );
    }
    (
        StatusCode::OK,
        axum::Json(
            json!({"prices": [{"type": "PRICE", "instrument": "USD_CAD", "time": "1750000000.000000000", "tradeable": true,
        "bids": [{"price": "1.36810", "liquidity": 1000000}], "asks": [{"price": "1.36830", "liquidity": 1000000}],
        "closeoutBid": "1.36800", "closeoutAsk": "1.36840"}], "time": "1750000000.000000000"}),
        ),
    )
}

async fn orders(h: HeaderMap, body: String) -> (StatusCode, axum::Json<Value>) {
    assert!(authed(&h));
    let v: Value = serde_json::from_str(&body).expect("json body");
    let o = &v["order"];
    if o["units"] == "0" || o["instrument"] == "XXX_YYY" {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(
                json!({"errorCode": "INSTRUMENT_NOT_TRADEABLE", "errorMessage": "The instrument specified is not tradeable", "orderRejectTransaction": {"type": "MARKET_ORDER_REJECT", "rejectReason": "INSTRUMENT_NOT_TRADEABLE"}}),
            ),
        );
    }
    assert_eq!(o["clientExtensions"]["id"], "cid-1");
    let create = json!({"id": "7", "type": o["type"], "instrument": o["instrument"], "units": o["units"], "timeInForce": o["timeInForce"], "createTime": "1750000001.000000000", "clientExtensions": o["clientExtensions"], "reason": "CLIENT_ORDER"});
    if o["type"] == "MARKET" {
        assert_eq!(o["timeInForce"], "FOK");
        return (
            StatusCode::CREATED,
            axum::Json(
                json!({"orderCreateTransaction": create, "orderFillTransaction": {"id": "8", "type": "ORDER_FILL", "orderID": "7", "instrument": o["instrument"], "units": o["units"], "price": "1.36830", "commission": "0.0000", "time": "1750000001.000000000"}, "relatedTransactionIDs": ["7", "8"], "lastTransactionID": "8"}),
            ),
        );
    }
    (
        StatusCode::CREATED,
        axum::Json(
            json!({"orderCreateTransaction": create, "relatedTransactionIDs": ["7"], "lastTransactionID": "7"}),
        ),
    )
}

/// `GET /orders/{spec}`: a pending LIMIT sell with client id `cid-9`, and
/// the orders the transaction stream talks about (21 pending after a
/// partial fill, 24 a filled market buy, 27 cancelled).
async fn one_order(
    h: HeaderMap,
    Path((_, spec)): Path<(String, String)>,
) -> (StatusCode, axum::Json<Value>) {
    assert!(authed(&h));
    let order = match spec.as_str() {
        "@cid-9" => json!({
            "id": "11", "createTime": "1750000002.000000000", "type": "LIMIT", "instrument": "USD_CAD",
            "units": "-100", "timeInForce": "GTC", "price": "1.37000", "positionFill": "DEFAULT",
            "triggerCondition": "DEFAULT", "state": "PENDING", "clientExtensions": {"id": "cid-9"}
        }),
        "21" => json!({
            "id": "21", "createTime": "1750000010.000000000", "type": "LIMIT", "instrument": "USD_CAD",
            "units": "-100", "timeInForce": "GTC", "price": "1.37000", "positionFill": "DEFAULT",
            "triggerCondition": "DEFAULT", "state": "PENDING", "clientExtensions": {"id": "cid-21"}
        }),
        "24" => json!({
            "id": "24", "createTime": "1750000012.000000000", "type": "MARKET", "instrument": "EUR_USD",
            "units": "10", "timeInForce": "FOK", "positionFill": "DEFAULT", "state": "FILLED",
            "fillingTransactionID": "25", "filledTime": "1750000012.000000000",
            "clientExtensions": {"id": "cid-24"}
        }),
        "27" => json!({
            "id": "27", "createTime": "1750000009.000000000", "type": "LIMIT", "instrument": "USD_CAD",
            "units": "50", "timeInForce": "GTC", "price": "1.30000", "state": "CANCELLED",
            "cancellingTransactionID": "26", "cancelledTime": "1750000013.000000000",
            "clientExtensions": {"id": "cid-27"}
        }),
        other => {
            return (
                StatusCode::NOT_FOUND,
                axum::Json(json!({"errorMessage": format!("Order {other} does not exist")})),
            );
        }
    };
    (
        StatusCode::OK,
        axum::Json(json!({"order": order, "lastTransactionID": "28"})),
    )
}

/// `GET /transactions/stream`: heartbeats and transactions as OANDA sends
/// them, newline-delimited, including one (financing) not about an order.
async fn transactions(h: HeaderMap) -> (StatusCode, String) {
    if !authed(&h) {
        return (
            StatusCode::UNAUTHORIZED,
            json!({"errorMessage": "Insufficient authorization to perform request."}).to_string(),
        );
    }
    let body = [
        r#"{"type":"HEARTBEAT","lastTransactionID":"20","time":"1750000008.000000000"}"#,
        r#"{"type":"LIMIT_ORDER","id":"21","accountID":"101-004-1-001","batchID":"21","time":"1750000010.000000000","instrument":"USD_CAD","units":"-100","price":"1.37000","timeInForce":"GTC","positionFill":"DEFAULT","triggerCondition":"DEFAULT","reason":"CLIENT_ORDER","clientExtensions":{"id":"cid-21"}}"#,
        r#"{"type":"ORDER_FILL","id":"22","accountID":"101-004-1-001","batchID":"22","time":"1750000011.000000000","orderID":"21","clientOrderID":"cid-21","instrument":"USD_CAD","units":"-40","price":"1.37010","reason":"LIMIT_ORDER","pl":"0.0000","financing":"0.0000","accountBalance":"100000.0000"}"#,
        r#"{"type":"MARKET_ORDER","id":"24","accountID":"101-004-1-001","batchID":"24","time":"1750000012.000000000","instrument":"EUR_USD","units":"10","timeInForce":"FOK","positionFill":"DEFAULT","reason":"CLIENT_ORDER","clientExtensions":{"id":"cid-24"}}"#,
        r#"{"type":"ORDER_FILL","id":"25","accountID":"101-004-1-001","batchID":"24","time":"1750000012.000000000","orderID":"24","clientOrderID":"cid-24","instrument":"EUR_USD","units":"10","price":"1.08030","reason":"MARKET_ORDER"}"#,
        r#"{"type":"DAILY_FINANCING","id":"23","accountID":"101-004-1-001","time":"1750000012.500000000","financing":"-0.0123"}"#,
        r#"{"type":"HEARTBEAT","lastTransactionID":"25","time":"1750000013.000000000"}"#,
        r#"{"type":"ORDER_CANCEL","id":"26","accountID":"101-004-1-001","batchID":"26","time":"1750000013.000000000","orderID":"27","clientOrderID":"cid-27","reason":"CLIENT_REQUEST"}"#,
        r#"{"type":"MARKET_ORDER_REJECT","id":"28","accountID":"101-004-1-001","batchID":"28","time":"1750000014.000000000","instrument":"EUR_USD","units":"5000000","timeInForce":"FOK","positionFill":"DEFAULT","reason":"CLIENT_ORDER","rejectReason":"INSUFFICIENT_MARGIN","clientExtensions":{"id":"cid-28"}}"#,
    ]
    .join("\n")
        + "\n";
    (StatusCode::OK, body)
}

/// `PUT /orders/{spec}`: OANDA's replace, answering with the cancel of the
/// old order and the create of its replacement.
async fn replace(
    h: HeaderMap,
    Path((_, spec)): Path<(String, String)>,
    body: String,
) -> (StatusCode, axum::Json<Value>) {
    assert!(authed(&h));
    assert_eq!(spec, "@cid-9");
    let v: Value = serde_json::from_str(&body).expect("json body");
    let o = &v["order"];
    assert_eq!(o["type"], "LIMIT");
    assert_eq!(o["instrument"], "USD_CAD");
    assert_eq!(o["timeInForce"], "GTC");
    assert_eq!(o["triggerCondition"], "DEFAULT");
    (
        StatusCode::CREATED,
        axum::Json(json!({
            "orderCancelTransaction": {"id": "12", "type": "ORDER_CANCEL", "orderID": "11",
                "clientOrderID": "cid-9", "reason": "CLIENT_REQUEST_REPLACED", "time": "1750000003.000000000"},
            "orderCreateTransaction": {"id": "13", "type": "LIMIT", "instrument": o["instrument"],
                "units": o["units"], "price": o["price"], "timeInForce": o["timeInForce"],
                "createTime": "1750000003.000000000", "reason": "REPLACEMENT", "replacesOrderID": "11"},
            "relatedTransactionIDs": ["12", "13"], "lastTransactionID": "13"
        })),
    )
}

async fn broken(State(f): State<Fake>) -> StatusCode {
    f.hits.fetch_add(1, Ordering::SeqCst);
    StatusCode::SERVICE_UNAVAILABLE
}

async fn stream(h: HeaderMap) -> (StatusCode, String) {
    if !authed(&h) {
        return (
            StatusCode::UNAUTHORIZED,
            json!({"errorMessage": "Insufficient authorization to perform request."}).to_string(),
        );
    }
    let body = [
        r#"{"type":"HEARTBEAT","time":"1750000000.000000000"}"#,
        r#"{"type":"PRICE","instrument":"EUR_USD","time":"1750000001.500000000","bids":[{"price":"1.08010","liquidity":1000000}],"asks":[{"price":"1.08030","liquidity":1000000}],"closeoutBid":"1.08000","closeoutAsk":"1.08040","tradeable":true}"#,
        r#"{"type":"HEARTBEAT","time":"1750000005.000000000"}"#,
        r#"{"type":"PRICE","instrument":"EUR_USD","time":"1750000006.000000000","bids":[{"price":"1.08020","liquidity":1000000}],"asks":[{"price":"1.08040","liquidity":1000000}],"closeoutBid":"1.08010","closeoutAsk":"1.08050","tradeable":true}"#,
    ]
    .join("\n")
        + "\n";
    (StatusCode::OK, body)
}

async fn serve(f: Fake) -> String {
    let app = Router::new()
        .route("/v3/accounts/{id}/summary", get(summary))
        .route("/v3/accounts/{id}/pricing", get(pricing))
        .route("/v3/accounts/{id}/orders", post(orders))
        .route(
            "/v3/accounts/{id}/orders/{spec}",
            get(one_order).put(replace),
        )
        .route("/v3/accounts/{id}/openPositions", get(broken))
        .route("/v3/accounts/{id}/pricing/stream", get(stream))
        .route("/v3/accounts/{id}/transactions/stream", get(transactions))
        .with_state(f);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

fn client(base: &str, token: &str) -> OandaClient {
    OandaClient::new(OandaConfig {
        base_url: base.into(),
        stream_url: base.into(),
        token: token.into(),
        account_id: "101-004-1-001".into(),
        live: false,
        policy: HttpPolicy {
            base_backoff: Duration::from_millis(5),
            max_retries: 2,
            breaker_threshold: 2,
            breaker_cooldown: Duration::from_secs(60),
            ..HttpPolicy::default()
        },
    })
    .expect("client")
}

#[tokio::test]
async fn account_pricing_orders_and_errors() {
    let fake = Fake::default();
    let base = serve(fake.clone()).await;
    let c = client(&base, "tok-123");
    let a = c.account().await.expect("account");
    assert_eq!(
        (a.balances[0].cash, a.currency.as_str()),
        (dec!(100000), "CAD")
    );

    let q = c.quote("USD_CAD").await.expect("quote after a 429");
    assert_eq!(
        (q.bid, q.ask, q.at_ms),
        (dec!(1.36810), dec!(1.36830), 1_750_000_000_000)
    );
    assert_eq!(fake.pricing_hits.load(Ordering::SeqCst), 2);

    let req = OrderRequest::market("cid-1", "USD_CAD", Side::Sell, dec!(1000));
    let o = c.place_order(&req, &[]).await.expect("order");
    assert_eq!(
        (o.id.as_str(), o.status, o.side, o.avg_fill_price),
        ("7", OrderStatus::Filled, Side::Sell, Some(dec!(1.36830)))
    );
    let limit = OrderRequest {
        order_type: OrderType::Limit,
        limit_price: Some(dec!(1.30)),
        time_in_force: TimeInForce::Gtc,
        ..req.clone()
    };
    assert_eq!(
        c.place_order(&limit, &[]).await.expect("limit").status,
        OrderStatus::Open
    );

    let bad = OrderRequest {
        symbol: "XXX_YYY".into(),
        ..req
    };
    let err = c
        .place_order(&bad, &[])
        .await
        .expect_err("rejected")
        .to_string();
    assert!(
        err.contains("HTTP 400") || err.contains("not tradeable"),
        "{err}"
    );
    assert!(
        err.contains("The instrument specified is not tradeable")
            && err.contains("INSTRUMENT_NOT_TRADEABLE"),
        "{err}"
    );

    let wrong = client(&base, "nope");
    let err = wrong.account().await.expect_err("unauthorized").to_string();
    assert!(err.contains("Insufficient authorization"), "{err}");
}

#[tokio::test]
async fn the_breaker_opens_after_repeated_server_errors() {
    let fake = Fake::default();
    let base = serve(fake.clone()).await;
    let c = client(&base, "tok-123");
    for _ in 0..2 {
        let err = c.positions().await.expect_err("503").to_string();
        assert!(err.contains("503"), "{err}");
    }
    // 2 calls x 3 attempts reached the server; the third call fails fast.
    assert_eq!(fake.hits.load(Ordering::SeqCst), 6);
    let err = c.positions().await.expect_err("open").to_string();
    assert!(err.contains("circuit breaker open"), "{err}");
    assert_eq!(fake.hits.load(Ordering::SeqCst), 6);
}

#[tokio::test]
async fn the_pricing_stream_yields_prices_and_heartbeats() {
    let base = serve(Fake::default()).await;
    let c = client(&base, "tok-123");
    let events = c
        .stream_prices(&["EUR_USD"], 10, Duration::from_secs(5))
        .await
        .expect("stream");
    assert_eq!(events.len(), 4);
    assert_eq!(events[0], StreamEvent::Heartbeat(1_750_000_000_000));
    match &events[1] {
        StreamEvent::Price(q) => assert_eq!(
            (q.bid, q.ask, q.at_ms, q.currency.as_str()),
            (dec!(1.08010), dec!(1.08030), 1_750_000_001_500, "USD")
        ),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        events[2],
        StreamEvent::Heartbeat(1_750_000_005_000)
    ));
}

#[tokio::test]
async fn broker_watch_streams_oanda_prices_without_heartbeats() {
    use nt_mcp_core::bundle::{ToolBundle, ToolCtx};
    use nt_mcp_core::clock::ManualClock;
    use nt_mcp_core::progress::Progress;

    let base = serve(Fake::default()).await;
    let store = nt_mcp_core::Store::open("sqlite::memory:")
        .await
        .expect("open");
    let mut m = nt_mcp_core::store::core_migrations();
    m.extend(nt_brokers::migrations());
    store.migrate(&m).await.expect("migrate");
    let bundle = nt_brokers::BrokersBundle::paper_only(Default::default())
        .with_broker(Arc::new(client(&base, "tok-123")));
    let bundle = Arc::new(bundle).routes();
    let progress = Progress::recording();
    let ctx = {
        let mut c = ToolCtx::new(store).with_clock(Arc::new(ManualClock::new(0)));
        c.progress = progress.clone();
        c.variant = Arc::from("t");
        c
    };
    // The fake sends 2 prices and 2 heartbeats, then ends the stream.
    let out = tokio::time::timeout(
        Duration::from_secs(10),
        bundle.call(
            "broker_watch",
            json!({"broker": "oanda", "kind": "quotes", "symbols": ["EUR_USD"], "seconds": 5, "max_events": 10}),
            ctx.clone(),
        ),
    )
    .await
    .expect("bounded")
    .expect("watch");
    let body = out.structured;
    assert_eq!(body["venue"], "oanda");
    assert_eq!(body["stopped"], "stream_ended");
    let events = body["events"].as_array().expect("events");
    assert_eq!(events.len(), 2, "heartbeats are not quotes: {events:?}");
    assert_eq!(events[0]["bid"], "1.08010");
    assert_eq!(events[1]["ask"], "1.08040");
    assert_eq!(events[1]["at_ms"], 1_750_000_006_000_i64);
    assert_eq!(progress.snapshot().progress, 2.0);
    // A bad instrument name never reaches the venue.
    let err = bundle
        .call(
            "broker_watch",
            json!({"broker": "oanda", "kind": "quotes", "symbols": ["EUR/USD&x=1"], "seconds": 1}),
            ctx.clone(),
        )
        .await
        .expect_err("invalid");
    assert_eq!(err.field.as_deref(), Some("symbols"));
    // A wrong token: the venue's refusal, not the token.
    let bad = nt_brokers::BrokersBundle::paper_only(Default::default())
        .with_broker(Arc::new(client(&base, "tok-wrong-999")));
    let bad = Arc::new(bad).routes();
    let err = bad
        .call(
            "broker_watch",
            json!({"broker": "oanda", "kind": "quotes", "symbols": ["EUR_USD"], "seconds": 1}),
            ctx,
        )
        .await
        .expect_err("refused")
        .to_text();
    assert!(
        err.contains("401") && err.contains("Insufficient authorization"),
        "{err}"
    );
    assert!(!err.contains("tok-wrong-999"), "{err}");
}

#[tokio::test]
async fn replace_order_keeps_side_and_client_id_and_refuses_a_stop_on_a_limit() {
    let base = serve(Fake::default()).await;
    let c = client(&base, "tok-123");
    let change = OrderChange {
        qty: Some(dec!(150)),
        limit_price: Some(dec!(1.365)),
        stop_price: None,
    };
    let replaced = c.replace_order("cid-9", &change).await.expect("replaced");
    assert_eq!(replaced.id, "13", "the replacement has a new venue id");
    assert_eq!(replaced.client_order_id, "cid-9");
    assert_eq!(replaced.side, Side::Sell, "a short order stays short");
    assert_eq!(replaced.qty, dec!(150));
    assert_eq!(replaced.limit_price, Some(dec!(1.365)));
    assert_eq!(replaced.order_type, OrderType::Limit);

    let err = c
        .replace_order(
            "cid-9",
            &OrderChange {
                qty: None,
                limit_price: None,
                stop_price: Some(dec!(1.2)),
            },
        )
        .await
        .expect_err("a LIMIT order has no stop");
    assert!(err.to_string().contains("stop_price"), "{err}");
    let err = c.replace_order("a/b", &change).await.expect_err("bad id");
    assert!(err.to_string().contains("order_id"), "{err}");
}

#[tokio::test]
async fn the_transaction_stream_becomes_order_updates() {
    use futures::StreamExt;
    use nt_brokers::broker::OrderUpdate;

    let base = serve(Fake::default()).await;
    let c = client(&base, "tok-123");
    let stream = c.order_updates().await.expect("stream");
    let updates: Vec<OrderUpdate> = tokio::time::timeout(
        Duration::from_secs(10),
        stream.map(|u| u.expect("update")).collect::<Vec<_>>(),
    )
    .await
    .expect("the fake's body ends the stream");
    let seen: Vec<(&str, &str, OrderStatus)> = updates
        .iter()
        .map(|u| (u.event.as_str(), u.order.id.as_str(), u.order.status))
        .collect();
    assert_eq!(
        seen,
        vec![
            ("new", "21", OrderStatus::Open),
            ("partial_fill", "21", OrderStatus::PartiallyFilled),
            ("new", "24", OrderStatus::Filled),
            ("fill", "24", OrderStatus::Filled),
            ("canceled", "27", OrderStatus::Cancelled),
            ("rejected", "28", OrderStatus::Rejected),
        ],
        "heartbeats and the financing transaction are skipped"
    );
    let partial = &updates[1];
    assert_eq!(
        (
            partial.fill_qty,
            partial.fill_price,
            partial.order.filled_qty
        ),
        (Some(dec!(40)), Some(dec!(1.37010)), dec!(40))
    );
    assert_eq!(
        (partial.order.side, partial.order.client_order_id.as_str()),
        (Side::Sell, "cid-21")
    );
    assert_eq!(partial.at_ms, 1_750_000_011_000);
    let fill = &updates[3];
    assert_eq!(
        (fill.fill_qty, fill.fill_price, fill.order.side),
        (Some(dec!(10)), Some(dec!(1.08030)), Side::Buy)
    );
    assert_eq!(updates[4].order.reason.as_deref(), Some("CLIENT_REQUEST"));
    let rejected = &updates[5];
    assert_eq!(
        rejected.order.reason.as_deref(),
        Some("INSUFFICIENT_MARGIN")
    );
    assert_eq!(
        (
            rejected.order.qty,
            rejected.order.client_order_id.as_str(),
            rejected.order.order_type
        ),
        (dec!(5000000), "cid-28", OrderType::Market)
    );

    // A refused token fails at once with OANDA's message.
    let err = client(&base, "wrong")
        .order_updates()
        .await
        .err()
        .expect("refused")
        .to_string();
    assert!(err.contains("Insufficient authorization"), "{err}");
    assert!(!err.contains("wrong"), "{err}");
}

/// A second OANDA fake for the desk: an account in CAD holding 10,000
/// USD_JPY long, no pending orders, prices for USD_JPY (150) and CAD_JPY
/// (110) and none for JPY_CAD (OANDA lists the pair one way only), and an
/// order endpoint that records what it is sent.
#[derive(Clone, Default)]
struct DeskFake {
    posted: Arc<std::sync::Mutex<Vec<Value>>>,
}

async fn desk_fake() -> (String, DeskFake) {
    use axum::extract::RawQuery;
    let f = DeskFake::default();
    let posted = f.posted.clone();
    let app = Router::new()
        .route("/v3/accounts/{id}/summary", get(summary))
        .route(
            "/v3/accounts/{id}/pricing",
            get(|RawQuery(q): RawQuery| async move {
                let q = q.unwrap_or_default();
                let price = |instrument: &str, bid: &str, ask: &str| {
                    json!({"type": "PRICE", "instrument": instrument, "time": "1750000000.000000000", "tradeable": true,
                        "bids": [{"price": bid, "liquidity": 1000000}], "asks": [{"price": ask, "liquidity": 1000000}]})
                };
                let prices = if q.contains("instruments=USD_JPY") {
                    vec![price("USD_JPY", "149.990", "150.010")]
                } else if q.contains("instruments=CAD_JPY") {
                    vec![price("CAD_JPY", "109.990", "110.010")]
                } else {
                    Vec::new()
                };
                axum::Json(json!({"prices": prices, "time": "1750000000.000000000"}))
            }),
        )
        .route(
            "/v3/accounts/{id}/orders",
            get(|| async { axum::Json(json!({"orders": [], "lastTransactionID": "6"})) }).post(
                move |body: String| {
                    let posted = posted.clone();
                    async move {
                        let v: Value = serde_json::from_str(&body).expect("json");
                        posted.lock().expect("lock").push(v.clone());
                        let o = &v["order"];
                        (
                            StatusCode::CREATED,
                            axum::Json(json!({"orderCreateTransaction": {"id": "7", "type": o["type"],
                                "instrument": o["instrument"], "units": o["units"], "price": o["price"],
                                "timeInForce": o["timeInForce"], "createTime": "1750000001.000000000",
                                "clientExtensions": o["clientExtensions"], "reason": "CLIENT_ORDER"},
                                "relatedTransactionIDs": ["7"], "lastTransactionID": "7"})),
                        )
                    }
                },
            ),
        )
        .route(
            "/v3/accounts/{id}/openPositions",
            get(|| async {
                axum::Json(json!({"positions": [{"instrument": "USD_JPY",
                    "long": {"units": "10000", "averagePrice": "148.000", "unrealizedPL": "120.0000"},
                    "short": {"units": "0"}}], "lastTransactionID": "6"}))
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), f)
}

async fn desk_store() -> nt_mcp_core::Store {
    let store = nt_mcp_core::Store::open("sqlite::memory:")
        .await
        .expect("open");
    let mut m = nt_mcp_core::store::core_migrations();
    m.extend(nt_brokers::migrations());
    store.migrate(&m).await.expect("migrate");
    store
}

fn usd_jpy(cid: &str, side: Side, units: rust_decimal::Decimal) -> OrderRequest {
    OrderRequest {
        client_order_id: cid.into(),
        symbol: "USD_JPY".into(),
        side,
        qty: units,
        order_type: OrderType::Limit,
        limit_price: Some(dec!(150)),
        stop_price: None,
        trail_amount: None,
        trail_percent: None,
        time_in_force: TimeInForce::Gtc,
        reduce_to_position: false,
    }
}

/// Issue 9, items 1 and 6, at OANDA: the CAD account holds 10,000 USD_JPY
/// long. A plain `sell` of 15,000 used to pass (an OANDA sell of more
/// than held opens a short); it is refused by `short_sale` with nothing
/// sent, and with `reduce_to_position` it goes out as -10000 units. The
/// order value is checked in CAD: a buy of 5,000 USD_JPY at 150 is
/// 750,000 JPY = 6,818.18 CAD at CAD_JPY 110 (the venue lists no JPY_CAD),
/// within a 10,000 CAD limit that the old check, comparing 750,000 JPY
/// with it, refused; 10,000 units (13,636.36 CAD) are over it.
#[tokio::test]
async fn oanda_orders_refuse_sells_beyond_the_position_and_value_in_the_account_currency() {
    use nt_brokers::compliance::{self, ComplianceRules};
    use nt_brokers::desk;

    let (base, fake) = desk_fake().await;
    let store = desk_store().await;
    let broker: Arc<dyn Broker> = Arc::new(client(&base, "tok-123"));
    let err = desk::place(
        &store,
        &broker,
        &usd_jpy("cid-s1", Side::Sell, dec!(15000)),
        1_000,
    )
    .await
    .expect_err("short sale")
    .to_string();
    assert!(
        err.contains("short_sale") && err.contains("would sell 5000 short"),
        "{err}"
    );
    assert!(fake.posted.lock().expect("lock").is_empty());
    let reduced = OrderRequest {
        reduce_to_position: true,
        ..usd_jpy("cid-s2", Side::Sell, dec!(15000))
    };
    let placed = desk::place(&store, &broker, &reduced, 2_000)
        .await
        .expect("reduced");
    assert_eq!(placed.reduced_from, Some(dec!(15000)));
    assert_eq!(
        fake.posted.lock().expect("lock")[0]["order"]["units"],
        "-10000"
    );

    let rules = ComplianceRules {
        max_order_value: Some(dec!(10000)),
        ..ComplianceRules::default()
    };
    compliance::save_rules(store.pool(), "oanda", &rules, 0)
        .await
        .expect("rules");
    let review = desk::check(
        &store,
        broker.as_ref(),
        &usd_jpy("cid-b1", Side::Buy, dec!(5000)),
        1_750_000_000_000,
    )
    .await
    .expect("check");
    let m = review
        .checks
        .iter()
        .find(|c| c.rule == "max_order_value")
        .expect("max");
    assert!(m.passed, "{m:?}");
    assert!(
        m.detail.contains("750000.00 JPY = 6818.18 CAD")
            && m.detail.contains("oanda quote of CAD_JPY")
            && m.detail.ends_with("against a limit of 10000 CAD"),
        "{}",
        m.detail
    );
    let review = desk::check(
        &store,
        broker.as_ref(),
        &usd_jpy("cid-b2", Side::Buy, dec!(10000)),
        1_750_000_000_000,
    )
    .await
    .expect("check");
    let refusal = compliance::refusal(&review.checks)
        .expect("over")
        .to_string();
    assert!(
        refusal.contains("max_order_value") && refusal.contains("13636.36 CAD"),
        "{refusal}"
    );
}
