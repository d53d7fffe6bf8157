//! The IB Client Portal client against a local axum fake gateway on
//! 127.0.0.1: order placement must go through one reply/confirm round
//! (`POST /iserver/reply/{id}` with `{"confirmed": true}`) before an order
//! id comes back; tickle, accounts, snapshot and positions use the
//! documented shapes (<https://www.interactivebrokers.com/campus/ibkr-api-page/cpapi-v1/>).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use futures::StreamExt;
use nt_brokers::broker::Broker;
use nt_brokers::http::HttpPolicy;
use nt_brokers::ibkr::{IbkrClient, IbkrConfig, is_loopback};
use nt_brokers::types::{OrderRequest, OrderStatus, OrderType, Side, TimeInForce};
use nt_mcp_core::bundle::VenueMode;
use rust_decimal_macros::dec;
use serde_json::{Value, json};

mod support;

#[derive(Clone, Default)]
struct Fake {
    log: Arc<Mutex<Vec<String>>>,
}

async fn serve(f: Fake) -> String {
    let app = Router::new()
        .route("/v1/api/tickle", post(|| async { axum::Json(json!({"session": "abc", "iserver": {"authStatus": {"authenticated": true, "competing": false, "connected": true}}})) }))
        .route("/v1/api/iserver/accounts", get(|| async { axum::Json(json!({"accounts": ["DU1234567"], "selectedAccount": "DU1234567"})) }))
        .route("/v1/api/iserver/secdef/search", get(|| async { axum::Json(json!([{"conid": "265598", "companyName": "APPLE INC", "symbol": "AAPL", "description": "NASDAQ"}])) }))
        .route("/v1/api/iserver/marketdata/snapshot", get(|| async { axum::Json(json!([{"conid": 265598, "31": "189.95", "84": "189.94", "86": "189.96", "_updated": 1_717_339_800_000_i64}])) }))
        .route("/v1/api/portfolio/{acct}/positions/0", get(|Path(acct): Path<String>| async move {
            assert_eq!(acct, "DU1234567");
            axum::Json(json!([{"acctId": "DU1234567", "conid": 265598, "contractDesc": "AAPL", "position": 10.0, "mktPrice": 189.95, "mktValue": 1899.5, "currency": "USD", "avgCost": 185.1, "avgPrice": 185.1, "unrealizedPnl": 48.5}]))
        }))
        .route("/v1/api/iserver/account/orders", get(|| async { axum::Json(json!({"orders": [], "snapshot": true})) }))
        .route("/v1/api/portfolio/{acct}/summary", get(|| async {
            axum::Json(json!({"totalcashvalue": {"amount": 25000.0, "currency": "USD"}, "netliquidation": {"amount": 26899.5, "currency": "USD"}, "buyingpower": {"amount": 50000.0, "currency": "USD"}}))
        }))
        .route("/v1/api/iserver/account/{acct}/orders", post(|State(f): State<Fake>, Path(acct): Path<String>, body: String| async move {
            let v: Value = serde_json::from_str(&body).expect("json");
            let o = &v["orders"][0];
            assert_eq!((acct.as_str(), &o["conid"], &o["cOID"], &o["orderType"], &o["side"], &o["tif"]), ("DU1234567", &json!(265598), &json!("ib-1"), &json!("LMT"), &json!("BUY"), &json!("DAY")));
            f.log.lock().expect("lock").push("place".into());
            axum::Json(json!([{"id": "07a13a5a-4a48-44a5-bb25-5ab37b79186c", "message": ["You are submitting an order without market data. We strongly recommend against this..."], "isSuppressed": false, "messageIds": ["o354"]}]))
        }))
        .route("/v1/api/iserver/reply/{id}", post(|State(f): State<Fake>, Path(id): Path<String>, body: String| async move {
            assert_eq!(id, "07a13a5a-4a48-44a5-bb25-5ab37b79186c");
            let v: Value = serde_json::from_str(&body).expect("json");
            assert_eq!(v, json!({"confirmed": true}));
            f.log.lock().expect("lock").push("confirm".into());
            axum::Json(json!([{"order_id": "1484112233", "order_status": "Submitted", "encrypt_message": "1"}]))
        }))
        .with_state(f);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}/v1/api", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    base
}

#[tokio::test]
async fn ibkr_order_needs_one_confirm_round() {
    let fake = Fake::default();
    let base = serve(fake.clone()).await;
    let ib = IbkrClient::new(IbkrConfig {
        base_url: base,
        account_id: None,
        allow_invalid_certs: true,
        ws_url: None,
        policy: HttpPolicy {
            base_backoff: Duration::from_millis(5),
            max_retries: 1,
            ..HttpPolicy::default()
        },
        keepalive: None,
    })
    .expect("client");
    assert_eq!(
        ib.mode(),
        VenueMode::Live,
        "live until the account is known"
    );
    assert!(ib.tickle().await.expect("tickle"));
    assert_eq!(ib.account_id().await.expect("acct"), "DU1234567");
    assert_eq!(ib.mode(), VenueMode::Paper, "DU accounts are paper");
    let q = ib.quote("aapl").await.expect("quote");
    assert_eq!(
        (q.bid, q.ask, q.last),
        (dec!(189.94), dec!(189.96), dec!(189.95))
    );
    let pos = ib.positions().await.expect("positions");
    assert_eq!(
        (pos[0].symbol.as_str(), pos[0].qty, pos[0].avg_price),
        ("AAPL", dec!(10), dec!(185.1))
    );
    let order = ib
        .place_order(
            &OrderRequest {
                client_order_id: "ib-1".into(),
                symbol: "AAPL".into(),
                side: Side::Buy,
                qty: dec!(5),
                order_type: OrderType::Limit,
                limit_price: Some(dec!(185)),
                stop_price: None,
                trail_amount: None,
                trail_percent: None,
                time_in_force: TimeInForce::Day,
                reduce_to_position: false,
            },
            &[],
        )
        .await
        .expect("placed after confirm");
    assert_eq!(order.id, "1484112233");
    assert_eq!(order.status, OrderStatus::Open);
    assert_eq!(order.client_order_id, "ib-1");
    assert_eq!(*fake.log.lock().expect("lock"), ["place", "confirm"]);
}

/// Issue 9, item 1, at Interactive Brokers: the fake account holds 10
/// AAPL. A plain `sell` of 12 used to pass the checks and would sell 2
/// short at IB; it is refused by `short_sale` before any order is sent.
#[tokio::test]
async fn a_plain_sell_beyond_the_ib_position_is_a_refused_short_sale() {
    let fake = Fake::default();
    let base = serve(fake.clone()).await;
    let ib = IbkrClient::new(IbkrConfig {
        base_url: base,
        account_id: None,
        allow_invalid_certs: true,
        ws_url: None,
        policy: HttpPolicy {
            base_backoff: Duration::from_millis(5),
            max_retries: 1,
            ..HttpPolicy::default()
        },
        keepalive: None,
    })
    .expect("client");
    let store = nt_mcp_core::Store::open("sqlite::memory:")
        .await
        .expect("open");
    let mut m = nt_mcp_core::store::core_migrations();
    m.extend(nt_brokers::migrations());
    store.migrate(&m).await.expect("migrate");
    let broker: Arc<dyn Broker> = Arc::new(ib);
    let sell = OrderRequest {
        client_order_id: "ib-s1".into(),
        symbol: "AAPL".into(),
        side: Side::Sell,
        qty: dec!(12),
        order_type: OrderType::Limit,
        limit_price: Some(dec!(190)),
        stop_price: None,
        trail_amount: None,
        trail_percent: None,
        time_in_force: TimeInForce::Day,
        reduce_to_position: false,
    };
    let err = nt_brokers::desk::place(&store, &broker, &sell, 1_000)
        .await
        .expect_err("short sale")
        .to_string();
    assert!(
        err.contains("short_sale") && err.contains("would sell 2 short"),
        "{err}"
    );
    assert!(
        fake.log.lock().expect("lock").is_empty(),
        "nothing sent to IB"
    );
    let review = nt_brokers::desk::check(
        &store,
        broker.as_ref(),
        &OrderRequest {
            reduce_to_position: true,
            ..sell
        },
        1_000,
    )
    .await
    .expect("check");
    assert_eq!(review.order.qty, dec!(10));
}

#[test]
fn ibkr_invalid_certs_only_on_loopback() {
    assert!(is_loopback("https://localhost:5000/v1/api"));
    assert!(is_loopback("https://127.0.0.1:5000/v1/api"));
    assert!(is_loopback("https://[::1]:5000/v1/api"));
    assert!(!is_loopback("https://gateway.example.com:5000/v1/api"));
    assert!(!is_loopback("https://localhost.example.com/v1/api"));
    let err = IbkrClient::new(IbkrConfig {
        base_url: "https://10.0.0.5:5000/v1/api".into(),
        account_id: None,
        allow_invalid_certs: true,
        ws_url: None,
        policy: HttpPolicy::default(),
        keepalive: None,
    })
    .expect_err("refused")
    .to_string();
    assert!(err.contains("IBKR_ALLOW_INVALID_CERTS"), "{err}");
}

/// A gateway on its own thread and runtime (real time) that counts tickles.
fn tickle_counter() -> (String, Arc<std::sync::atomic::AtomicUsize>) {
    let count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let c = count.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let app = Router::new().route(
                "/v1/api/tickle",
                post(move || {
                    let c = c.clone();
                    async move {
                        c.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        axum::Json(json!({"session": "abc", "iserver": {"authStatus": {"authenticated": true, "competing": false, "connected": true}}}))
                    }
                }),
            );
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            let _ = tx.send(format!(
                "http://{}/v1/api",
                listener.local_addr().expect("addr")
            ));
            // Bounded: the thread ends with the test process at the latest.
            let _ = tokio::time::timeout(Duration::from_secs(30), axum::serve(listener, app)).await;
        });
    });
    let base = rx
        .recv_timeout(Duration::from_secs(5))
        .expect("gateway address");
    (base, count)
}

/// Lets the keep-alive task and its request run without moving the paused
/// clock, until `count` reaches `want` or `real` wall time passes.
async fn settle(count: &std::sync::atomic::AtomicUsize, want: usize, real: Duration) -> usize {
    let end = std::time::Instant::now() + real;
    loop {
        let n = count.load(std::sync::atomic::Ordering::SeqCst);
        if n >= want || std::time::Instant::now() >= end {
            return n;
        }
        tokio::task::yield_now().await;
    }
}

#[tokio::test(start_paused = true)]
async fn ibkr_keepalive_tickles_on_its_timer_and_stops_when_dropped() {
    let (base, count) = tickle_counter();
    let ib = IbkrClient::new(IbkrConfig {
        base_url: base.clone(),
        account_id: Some("DU1234567".into()),
        allow_invalid_certs: false,
        ws_url: None,
        policy: HttpPolicy::default(),
        keepalive: Some(Duration::from_secs(60)),
    })
    .expect("client");
    // Nothing before the first interval.
    assert_eq!(settle(&count, 1, Duration::from_millis(200)).await, 0);
    tokio::time::advance(Duration::from_secs(60)).await;
    assert_eq!(settle(&count, 1, Duration::from_secs(5)).await, 1);
    tokio::time::advance(Duration::from_secs(59)).await;
    assert_eq!(
        settle(&count, 2, Duration::from_millis(200)).await,
        1,
        "not before 120 s"
    );
    tokio::time::advance(Duration::from_secs(1)).await;
    assert_eq!(settle(&count, 2, Duration::from_secs(5)).await, 2);
    tokio::time::advance(Duration::from_secs(60)).await;
    assert_eq!(settle(&count, 3, Duration::from_secs(5)).await, 3);
    drop(ib);
    tokio::time::advance(Duration::from_secs(600)).await;
    assert_eq!(
        settle(&count, 4, Duration::from_millis(300)).await,
        3,
        "no tickle after the client is dropped"
    );

    // Keep-alive off: no background tickles at all.
    let quiet = IbkrClient::new(IbkrConfig {
        base_url: base,
        account_id: Some("DU1234567".into()),
        allow_invalid_certs: false,
        ws_url: None,
        policy: HttpPolicy::default(),
        keepalive: None,
    })
    .expect("client");
    tokio::time::advance(Duration::from_secs(600)).await;
    assert_eq!(settle(&count, 4, Duration::from_millis(300)).await, 3);
    drop(quiet);
}

/// A gateway that lists two live orders and modifies the working one
/// through one reply/confirm round.
async fn serve_modify(log: Arc<Mutex<Vec<String>>>) -> String {
    let (l1, l2) = (log.clone(), log);
    let app = Router::new()
        .route("/v1/api/iserver/account/orders", get(|| async {
            axum::Json(json!({"orders": [
                {"acct": "DU1234567", "conid": 265598, "orderId": 1484112233, "order_ref": "ib-1", "ticker": "AAPL", "side": "BUY", "orderType": "Limit", "timeInForce": "GTC", "totalSize": 10.0, "filledQuantity": 0.0, "price": "189.5", "status": "Submitted", "cashCcy": "USD", "lastExecutionTime_r": 1_717_339_800_000_i64},
                {"acct": "DU1234567", "conid": 265598, "orderId": 1484112299, "order_ref": "ib-2", "ticker": "AAPL", "side": "BUY", "orderType": "Limit", "timeInForce": "DAY", "totalSize": 5.0, "filledQuantity": 5.0, "price": "189.9", "status": "Filled", "cashCcy": "USD", "lastExecutionTime_r": 1_717_339_800_000_i64}
            ]}))
        }))
        .route("/v1/api/iserver/account/{acct}/order/{id}", post(move |Path((acct, id)): Path<(String, String)>, body: String| {
            let log = l1.clone();
            async move {
                assert_eq!((acct.as_str(), id.as_str()), ("DU1234567", "1484112233"));
                let v: Value = serde_json::from_str(&body).expect("json");
                let text = |k: &str| v[k].to_string().trim_matches('"').to_string();
                assert_eq!(
                    (v["conid"].clone(), text("orderType"), text("side"), text("tif"), text("quantity"), text("price")),
                    (json!(265598), "LMT".into(), "BUY".into(), "GTC".into(), "12".into(), "190.25".into()),
                    "{v}"
                );
                log.lock().expect("lock").push("modify".into());
                axum::Json(json!([{"id": "9f1c2d3e-aaaa-bbbb-cccc-0123456789ab", "message": ["The order price is outside the daily band..."], "isSuppressed": false, "messageIds": ["o163"]}]))
            }
        }))
        .route("/v1/api/iserver/reply/{id}", post(move |Path(id): Path<String>, body: String| {
            let log = l2.clone();
            async move {
                assert_eq!(id, "9f1c2d3e-aaaa-bbbb-cccc-0123456789ab");
                let v: Value = serde_json::from_str(&body).expect("json");
                assert_eq!(v, json!({"confirmed": true}));
                log.lock().expect("lock").push("confirm".into());
                axum::Json(json!([{"order_id": "1484112233", "order_status": "PreSubmitted"}]))
            }
        }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}/v1/api", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    base
}

#[tokio::test]
async fn ibkr_replace_order_goes_through_one_confirm_round() {
    use nt_brokers::broker::OrderChange;
    let log = Arc::new(Mutex::new(Vec::new()));
    let base = serve_modify(log.clone()).await;
    let ib = IbkrClient::new(IbkrConfig {
        base_url: base,
        account_id: Some("DU1234567".into()),
        allow_invalid_certs: false,
        ws_url: None,
        policy: HttpPolicy {
            base_backoff: Duration::from_millis(5),
            max_retries: 1,
            ..HttpPolicy::default()
        },
        keepalive: None,
    })
    .expect("client");
    // Wrong field for the order type, and a filled order: refused before any POST.
    let err = ib
        .replace_order(
            "ib-1",
            &OrderChange {
                stop_price: Some(dec!(180)),
                ..OrderChange::default()
            },
        )
        .await
        .expect_err("no stop on a limit order")
        .to_string();
    assert!(err.contains("stop_price"), "{err}");
    let err = ib
        .replace_order(
            "1484112299",
            &OrderChange {
                limit_price: Some(dec!(190)),
                ..OrderChange::default()
            },
        )
        .await
        .expect_err("filled")
        .to_string();
    assert!(err.contains("order_state"), "{err}");
    assert!(log.lock().expect("lock").is_empty());
    // By our client id: the whole order is sent again, then confirmed once.
    let o = ib
        .replace_order(
            "ib-1",
            &OrderChange {
                qty: Some(dec!(12)),
                limit_price: Some(dec!(190.25)),
                stop_price: None,
            },
        )
        .await
        .expect("replace");
    assert_eq!(*log.lock().expect("lock"), ["modify", "confirm"]);
    assert_eq!(o.id, "1484112233");
    assert_eq!(
        (o.qty, o.limit_price, o.status, o.time_in_force),
        (
            dec!(12),
            Some(dec!(190.25)),
            OrderStatus::Open,
            TimeInForce::Gtc
        )
    );
}

// ---- Gateway WebSocket: smd market data, sor live orders, tic ----
// <https://interactivebrokers.github.io/cpwebapi/RealtimeSubscription.html>

fn ws_client(base: String, ws: &support::ws::Fake) -> IbkrClient {
    support::ibkr::client(base, format!("ws://{}/v1/api/ws", ws.addr), true)
}

/// Reads client frames until `want` arrives (true) or 3 s pass (false),
/// recording each.
async fn wait_for(
    ws: &mut tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>,
    want: &str,
    log: &Arc<Mutex<Vec<(usize, String)>>>,
    n: usize,
) -> bool {
    tokio::time::timeout(Duration::from_secs(3), async {
        while let Some(t) = support::ws::recv_text(ws).await {
            log.lock().expect("lock").push((n, t.clone()));
            if t == want {
                return true;
            }
        }
        false
    })
    .await
    .unwrap_or(false)
}

#[tokio::test]
async fn ibkr_quote_stream_sends_session_smd_and_tic_and_merges_partial_updates() {
    use support::ws::{hold, send_json};
    let fake = Fake::default();
    let base = serve(fake.clone()).await;
    let log = Arc::new(Mutex::new(Vec::<(usize, String)>::new()));
    let l2 = log.clone();
    let ws = support::ws::serve(move |mut c| {
        let log = l2.clone();
        async move {
            assert_eq!(c.path, "/v1/api/ws");
            let smd = r#"smd+265598+{"fields":["31","84","85","86","88"]}"#;
            if !wait_for(&mut c.ws, smd, &log, c.n).await {
                return;
            }
            send_json(
                &mut c.ws,
                &json!({"topic": "sts", "args": {"authenticated": true}}),
            )
            .await;
            if c.n == 0 {
                // A tic must come (tick is 50 ms here).
                if !wait_for(&mut c.ws, "tic", &log, c.n).await {
                    return;
                }
                send_json(
                    &mut c.ws,
                    &json!({"topic": "smd+265598", "conid": 265598, "server_id": "q0",
                    "31": "189.95", "84": "189.94", "85": "300", "86": "189.96", "88": "500",
                    "_updated": 1_717_339_800_000_i64, "6119": "q0"}),
                )
                .await;
                // Only what changed.
                send_json(
                    &mut c.ws,
                    &json!({"topic": "smd+265598", "conid": 265598, "84": "189.97",
                    "_updated": 1_717_339_801_000_i64}),
                )
                .await;
                return; // dropped
            }
            send_json(
                &mut c.ws,
                &json!({"topic": "smd+265598", "conid": 265598, "31": "190.1",
                "84": "190.05", "86": "190.12", "_updated": 1_717_339_900_000_i64}),
            )
            .await;
            hold(&mut c.ws).await;
        }
    })
    .await;
    let ib = ws_client(base, &ws);
    let mut stream = ib
        .quote_stream_with(
            &["aapl".to_string()],
            support::ws::fast_limits(),
            Duration::from_millis(50),
        )
        .await
        .expect("stream");
    let mut quotes = Vec::new();
    for _ in 0..3 {
        quotes.push(
            tokio::time::timeout(Duration::from_secs(10), stream.next())
                .await
                .expect("bounded")
                .expect("an item")
                .expect("a quote"),
        );
    }
    drop(stream);
    assert_eq!(quotes[0].symbol, "AAPL");
    assert_eq!(
        (quotes[0].bid, quotes[0].ask, quotes[0].last),
        (dec!(189.94), dec!(189.96), dec!(189.95))
    );
    assert_eq!(quotes[0].at_ms, 1_717_339_800_000);
    assert_eq!(
        (quotes[1].bid, quotes[1].ask),
        (dec!(189.97), dec!(189.96)),
        "partial update merged"
    );
    assert_eq!(quotes[1].at_ms, 1_717_339_801_000);
    assert_eq!((quotes[2].bid, quotes[2].ask), (dec!(190.05), dec!(190.12)));
    assert_eq!(ws.count(), 2, "reconnected once");
    let log = log.lock().expect("lock").clone();
    for n in 0..2 {
        let sent: Vec<&str> = log
            .iter()
            .filter(|(c, _)| *c == n)
            .map(|(_, t)| t.as_str())
            .collect();
        // The session from /tickle first, then the subscription.
        assert_eq!(sent[0], r#"{"session":"abc"}"#, "{sent:?}");
        assert_eq!(
            sent[1],
            r#"smd+265598+{"fields":["31","84","85","86","88"]}"#
        );
    }
    assert!(
        log.iter().any(|(c, t)| *c == 0 && t == "tic"),
        "keep-alive sent"
    );
}

#[tokio::test]
async fn ibkr_order_stream_merges_sor_updates_and_resubscribes_after_a_refusal() {
    use support::ws::{hold, send_json};
    let fake = Fake::default();
    let base = serve(fake.clone()).await;
    let log = Arc::new(Mutex::new(Vec::<(usize, String)>::new()));
    let l2 = log.clone();
    let ws = support::ws::serve(move |mut c| {
        let log = l2.clone();
        async move {
            if !wait_for(&mut c.ws, "sor+{}", &log, c.n).await {
                return;
            }
            if c.n == 0 {
                send_json(&mut c.ws, &json!({"topic": "sor", "args": [{"acct": "DU1234567", "conidex": "265598",
                    "conid": 265598, "orderId": 1001, "cashCcy": "USD", "sizeAndFills": "0/10",
                    "orderDesc": "Buy 10 Limit 189.50, Day", "description1": "AAPL", "ticker": "AAPL",
                    "secType": "STK", "remainingQuantity": 10.0, "filledQuantity": 0.0, "totalSize": 10.0,
                    "companyName": "APPLE INC", "status": "PreSubmitted", "origOrderType": "LIMIT",
                    "orderType": "Limit", "price": "189.50", "side": "BUY", "timeInForce": "CLOSE",
                    "lastExecutionTime_r": 1_717_339_800_000_i64, "order_ref": "ib-1"}]})).await;
                // Another account: not ours.
                send_json(&mut c.ws, &json!({"topic": "sor", "args": [{"acct": "U999", "orderId": 5, "status": "Filled"}]})).await;
                send_json(&mut c.ws, &json!({"topic": "sor", "args": [{"acct": "DU1234567", "orderId": 1001,
                    "status": "Submitted", "filledQuantity": 4.0, "remainingQuantity": 6.0, "avgPrice": "189.50",
                    "lastExecutionTime_r": 1_717_339_801_000_i64}]})).await;
                return; // dropped
            }
            // IB refuses a subscribe now and then; the client asks again.
            send_json(&mut c.ws, &json!({"error": "unable to subscribe", "code": 500, "topic": "sor"})).await;
            if !wait_for(&mut c.ws, "sor+{}", &log, c.n).await {
                return;
            }
            send_json(&mut c.ws, &json!({"topic": "sor", "args": [{"acct": "DU1234567", "orderId": 1001,
                "status": "Filled", "filledQuantity": 10.0, "remainingQuantity": 0.0, "avgPrice": "189.44",
                "lastExecutionTime_r": 1_717_339_802_000_i64}]})).await;
            hold(&mut c.ws).await;
        }
    })
    .await;
    let ib = ws_client(base, &ws);
    let mut stream = ib
        .order_stream_with(support::ws::fast_limits(), Duration::from_millis(50))
        .await
        .expect("stream");
    let mut ups = Vec::new();
    for _ in 0..3 {
        ups.push(
            tokio::time::timeout(Duration::from_secs(10), stream.next())
                .await
                .expect("bounded")
                .expect("an item")
                .expect("an update"),
        );
    }
    drop(stream);
    let events: Vec<&str> = ups.iter().map(|u| u.event.as_str()).collect();
    assert_eq!(events, ["PreSubmitted", "Submitted", "Filled"]);
    let statuses: Vec<OrderStatus> = ups.iter().map(|u| u.order.status).collect();
    assert_eq!(
        statuses,
        [
            OrderStatus::Open,
            OrderStatus::PartiallyFilled,
            OrderStatus::Filled
        ]
    );
    for u in &ups {
        assert_eq!(u.order.id, "1001");
        assert_eq!(u.order.symbol, "AAPL");
        assert_eq!(u.order.side, Side::Buy);
        assert_eq!(u.order.client_order_id, "ib-1");
        assert_eq!(u.order.account_id, "DU1234567");
        assert_eq!(u.order.qty, dec!(10));
        assert_eq!(u.order.limit_price, Some(dec!(189.50)));
    }
    assert_eq!((ups[0].fill_qty, ups[0].fill_price), (None, None));
    assert_eq!(
        (ups[1].fill_qty, ups[1].fill_price),
        (Some(dec!(4)), Some(dec!(189.50)))
    );
    // 10 @ 189.44 after 4 @ 189.50: this fill was 6 @ 189.40.
    assert_eq!(
        (ups[2].fill_qty, ups[2].fill_price),
        (Some(dec!(6)), Some(dec!(189.4)))
    );
    assert_eq!(ups[2].order.avg_fill_price, Some(dec!(189.44)));
    assert_eq!(ups[2].at_ms, 1_717_339_802_000);
    assert_eq!(ws.count(), 2);
    let log = log.lock().expect("lock").clone();
    let second: Vec<&str> = log
        .iter()
        .filter(|(c, _)| *c == 1)
        .map(|(_, t)| t.as_str())
        .collect();
    assert_eq!(second[0], r#"{"session":"abc"}"#);
    assert_eq!(
        second.iter().filter(|t| **t == "sor+{}").count(),
        2,
        "re-subscribed after the refusal: {second:?}"
    );
}
