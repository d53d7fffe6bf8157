//! The Tradier client against a local axum fake answering the Brokerage
//! API's documented JSON on 127.0.0.1 (including its one-item-as-object and
//! `"null"`-for-none list shapes). Every call must carry
//! `Authorization: Bearer <token>` and `Accept: application/json`; orders
//! are form-encoded with the client id as `tag`. Orders through the desk
//! run on SQLite and PostgreSQL (private schema).
//!
//! Shapes from <https://documentation.tradier.com/brokerage-api>.

#![recursion_limit = "256"]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use futures::{SinkExt, StreamExt};
use nt_brokers::broker::{Broker, Granularity};
use nt_brokers::desk;
use nt_brokers::http::HttpPolicy;
use nt_brokers::tradier::{TradierClient, TradierConfig};
use nt_brokers::types::{OrderRequest, OrderStatus, OrderType, Side, TimeInForce};
use nt_mcp_core::Store;
use nt_mcp_core::bundle::VenueMode;
use nt_mcp_core::store::core_migrations;
use rust_decimal_macros::dec;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

mod support;
use support::pg;

const TOKEN: &str = "tradier-token-789";

#[derive(Default)]
struct Inner {
    orders: Vec<Value>,
    forms: Vec<Vec<(String, String)>>,
    profile_calls: usize,
    /// Streaming sessions issued: (kind, sessionid).
    sessions: Vec<(String, String)>,
}

#[derive(Clone, Default)]
struct Fake {
    inner: Arc<Mutex<Inner>>,
}

type Reply = (StatusCode, String);

fn authed(h: &HeaderMap) -> Result<(), Reply> {
    let get = |k: &str| h.get(k).and_then(|v| v.to_str().ok());
    if get("authorization") != Some(&format!("Bearer {TOKEN}")) {
        // Tradier answers a bad token in plain text.
        return Err((StatusCode::UNAUTHORIZED, "Invalid Access Token".into()));
    }
    if get("accept") != Some("application/json") {
        return Err((
            StatusCode::NOT_ACCEPTABLE,
            "<xml>json only here</xml>".into(),
        ));
    }
    Ok(())
}

fn decode(t: &str) -> String {
    let b = t.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("");
                out.push(u8::from_str_radix(hex, 16).unwrap_or(b'?'));
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn pairs(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect()
}

fn ok(v: Value) -> Reply {
    (StatusCode::OK, v.to_string())
}

async fn profile(State(f): State<Fake>, h: HeaderMap) -> Reply {
    if let Err(r) = authed(&h) {
        return r;
    }
    f.inner.lock().expect("lock").profile_calls += 1;
    // One account: an object, not a list.
    ok(
        json!({"profile": {"id": "id-gcostanza", "name": "George Costanza", "account": {
        "account_number": "VA000001", "classification": "individual", "date_created": "2016-08-01T21:08:55.000Z",
        "day_trader": false, "option_level": 6, "status": "active", "type": "margin",
        "last_update_date": "2016-08-01T21:08:55.000Z"}}}),
    )
}

async fn balances(h: HeaderMap, Path(id): Path<String>) -> Reply {
    if let Err(r) = authed(&h) {
        return r;
    }
    assert_eq!(id, "VA000001");
    // Raw text: Tradier's floats carry more digits than an f64 holds.
    (
        StatusCode::OK,
        r#"{"balances": {"option_short_value": 0, "total_equity": 17798.360000000000582,
        "account_number": "VA000001", "account_type": "margin", "close_pl": -4813.260000000000218,
        "current_requirement": 2557.00, "equity": 0, "long_market_value": 11434.50, "market_value": 11434.50,
        "open_pl": 546.9, "option_long_value": 8877.5, "option_requirement": 0, "pending_orders_count": 0,
        "short_market_value": 0, "stock_long_value": 2557.0, "total_cash": 6363.860000000000582,
        "uncleared_funds": 0, "pending_cash": 0,
        "margin": {"fed_call": 0, "maintenance_call": 0, "option_buying_power": 6363.860000000000582,
            "stock_buying_power": 12727.72, "stock_short_value": 0, "sweep": 0}}}"#
            .into(),
    )
}

async fn positions(h: HeaderMap) -> Reply {
    if let Err(r) = authed(&h) {
        return r;
    }
    ok(json!({"positions": {"position": [
        {"cost_basis": 2070.10, "date_acquired": "2018-08-08T14:41:11.405Z", "id": 130089, "quantity": 10.00000000, "symbol": "AAPL"},
        {"cost_basis": -1000.00, "date_acquired": "2019-01-31T17:05:12.303Z", "id": 133590, "quantity": -4.00000000, "symbol": "TSLA"}
    ]}}))
}

async fn quotes(h: HeaderMap, RawQuery(q): RawQuery) -> Reply {
    if let Err(r) = authed(&h) {
        return r;
    }
    let p = pairs(q.as_deref().unwrap_or(""));
    let sym = p
        .iter()
        .find(|(k, _)| k == "symbols")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    if sym != "AAPL" {
        return ok(json!({"quotes": {"unmatched_symbols": {"symbol": sym}}}));
    }
    ok(
        json!({"quotes": {"quote": {"symbol": "AAPL", "description": "Apple Inc", "exch": "Q", "type": "stock",
        "last": 208.38, "change": -3.37, "volume": 25288395, "open": 204.29, "high": 208.71, "low": 202.11,
        "close": null, "bid": 208.21, "ask": 208.39, "change_percentage": -1.59, "average_volume": 27215269,
        "last_volume": 100, "trade_date": 1557168300000_i64, "prevclose": 211.75, "week_52_high": 233.47,
        "week_52_low": 142.0, "bidsize": 12, "bidexch": "Q", "bid_date": 1557168328000_i64, "asksize": 1,
        "askexch": "Y", "ask_date": 1557168329000_i64, "root_symbols": "AAPL"}}}),
    )
}

async fn history(h: HeaderMap, RawQuery(q): RawQuery) -> Reply {
    if let Err(r) = authed(&h) {
        return r;
    }
    let p = pairs(q.as_deref().unwrap_or(""));
    assert!(p.contains(&("interval".into(), "daily".into())), "{p:?}");
    assert!(
        p.iter().any(|(k, v)| k == "start" && v.len() == 10),
        "{p:?}"
    );
    ok(json!({"history": {"day": [
        {"date": "2019-01-02", "open": 154.89, "high": 158.85, "low": 154.23, "close": 157.92, "volume": 37039737},
        {"date": "2019-01-03", "open": 143.98, "high": 145.72, "low": 142.0, "close": 142.19, "volume": 91312195},
        {"date": "2019-01-04", "open": 144.53, "high": 148.5499, "low": 143.8, "close": 148.26, "volume": 58607070}
    ]}}))
}

async fn orders(
    State(f): State<Fake>,
    h: HeaderMap,
    Path(id): Path<String>,
    body: String,
) -> Reply {
    if let Err(r) = authed(&h) {
        return r;
    }
    assert_eq!(id, "VA000001");
    let mut inner = f.inner.lock().expect("lock");
    if body.is_empty() {
        return match inner.orders.len() {
            0 => ok(json!({"orders": "null"})),
            1 => ok(json!({"orders": {"order": inner.orders[0]}})),
            _ => ok(json!({"orders": {"order": inner.orders}})),
        };
    }
    let form = pairs(&body);
    let get = |k: &str| {
        form.iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    inner.forms.push(form.clone());
    if get("symbol") == "ZZZZ" {
        return (
            StatusCode::BAD_REQUEST,
            json!({"errors": {"error": ["Backoffice rejected override of the order.", "InitialMargin"]}})
                .to_string(),
        );
    }
    assert_eq!(get("class"), "equity");
    let n = 228175 + inner.orders.len();
    let market = get("type") == "market";
    inner.orders.push(json!({
        "id": n, "type": get("type"), "symbol": get("symbol"), "side": get("side"),
        "quantity": get("quantity").parse::<f64>().unwrap_or(0.0),
        "status": if market { "filled" } else { "open" }, "duration": get("duration"),
        "price": get("price").parse::<f64>().ok(),
        "avg_fill_price": if market { 208.39 } else { 0.0 },
        "exec_quantity": if market { get("quantity").parse::<f64>().unwrap_or(0.0) } else { 0.0 },
        "last_fill_price": 0.0, "last_fill_quantity": 0.0, "remaining_quantity": 0.0,
        "create_date": "2019-05-06T18:45:02.000Z", "transaction_date": "2019-05-06T18:45:03.000Z",
        "class": "equity", "tag": get("tag")
    }));
    ok(
        json!({"order": {"id": n, "status": "ok", "partner_id": "3a8bbee1-5184-4ffe-8a0c-294fbad1aee9"}}),
    )
}

async fn one_order(
    State(f): State<Fake>,
    h: HeaderMap,
    method: axum::http::Method,
    Path((_acct, oid)): Path<(String, String)>,
) -> Reply {
    if let Err(r) = authed(&h) {
        return r;
    }
    let mut inner = f.inner.lock().expect("lock");
    let Some(o) = inner
        .orders
        .iter_mut()
        .find(|o| o["id"].as_u64().is_some_and(|n| n.to_string() == oid))
    else {
        return (
            StatusCode::BAD_REQUEST,
            json!({"errors": {"error": "Order not found"}}).to_string(),
        );
    };
    if method == axum::http::Method::DELETE {
        if o["status"] != "open" {
            return (
                StatusCode::BAD_REQUEST,
                json!({"errors": {"error": ["Order is not cancelable"]}}).to_string(),
            );
        }
        o["status"] = json!("canceled");
        return ok(json!({"order": {"id": o["id"], "status": "ok"}}));
    }
    ok(json!({"order": o}))
}

/// `PUT /v1/accounts/{id}/orders/{oid}` (form-encoded): changes price,
/// stop, type and duration of an open order
/// (<https://documentation.tradier.com/brokerage-api/trading/change-order>).
async fn modify(
    State(f): State<Fake>,
    h: HeaderMap,
    Path((acct, oid)): Path<(String, String)>,
    body: String,
) -> Reply {
    if let Err(r) = authed(&h) {
        return r;
    }
    assert_eq!(acct, "VA000001");
    let form = pairs(&body);
    let mut inner = f.inner.lock().expect("lock");
    inner.forms.push(form.clone());
    let Some(o) = inner
        .orders
        .iter_mut()
        .find(|o| o["id"].as_u64().is_some_and(|n| n.to_string() == oid))
    else {
        return (
            StatusCode::BAD_REQUEST,
            json!({"errors": {"error": "Order not found"}}).to_string(),
        );
    };
    if o["status"] != "open" {
        return (
            StatusCode::BAD_REQUEST,
            json!({"errors": {"error": ["Order is not modifiable"]}}).to_string(),
        );
    }
    for (k, v) in &form {
        match k.as_str() {
            "price" => o["price"] = json!(v.parse::<f64>().unwrap_or(0.0)),
            "stop" => o["stop_price"] = json!(v.parse::<f64>().unwrap_or(0.0)),
            "type" | "duration" => o[k.as_str()] = json!(v),
            other => panic!("unexpected modify field {other}"),
        }
    }
    ok(
        json!({"order": {"id": o["id"], "status": "ok", "partner_id": "3a8bbee1-5184-4ffe-8a0c-294fbad1aee9"}}),
    )
}

/// `POST /v1/{markets|accounts}/events/session`: a fresh session id each
/// time, in the documented `{"stream": {"url", "sessionid"}}` shape.
async fn session(State(f): State<Fake>, h: HeaderMap, uri: axum::http::Uri) -> Reply {
    if let Err(r) = authed(&h) {
        return r;
    }
    let kind = if uri.path().starts_with("/v1/markets") {
        "markets"
    } else {
        "accounts"
    };
    let mut inner = f.inner.lock().expect("lock");
    let id = format!("c8638963a1d7{}{}", &kind[..1], inner.sessions.len());
    inner.sessions.push((kind.to_string(), id.clone()));
    ok(
        json!({"stream": {"url": format!("https://stream.tradier.com/v1/{kind}/events"), "sessionid": id}}),
    )
}

async fn serve(f: Fake) -> String {
    let app = Router::new()
        .route("/v1/user/profile", get(profile))
        .route("/v1/accounts/{id}/balances", get(balances))
        .route("/v1/accounts/{id}/positions", get(positions))
        .route("/v1/accounts/{id}/orders", get(orders).post(orders))
        .route(
            "/v1/accounts/{id}/orders/{oid}",
            get(one_order).delete(one_order).put(modify),
        )
        .route("/v1/markets/quotes", get(quotes))
        .route("/v1/markets/events/session", axum::routing::post(session))
        .route("/v1/accounts/events/session", axum::routing::post(session))
        .route("/v1/markets/history", get(history))
        .with_state(f);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    base
}

fn client(base: &str, token: &str) -> TradierClient {
    TradierClient::new(TradierConfig {
        base_url: base.into(),
        token: token.into(),
        account_id: None,
        stream_url: None,
        policy: HttpPolicy {
            base_backoff: Duration::from_millis(5),
            max_retries: 1,
            ..HttpPolicy::default()
        },
    })
    .expect("client")
}

async fn store_at(url: &str) -> Store {
    let store = Store::open(url).await.expect("open");
    let mut m = core_migrations();
    m.extend(nt_brokers::migrations());
    store.migrate(&m).await.expect("migrate");
    store
}

fn req(cid: &str, order_type: OrderType, limit: Option<rust_decimal::Decimal>) -> OrderRequest {
    OrderRequest {
        client_order_id: cid.into(),
        symbol: "aapl".into(),
        side: Side::Buy,
        qty: dec!(5),
        order_type,
        limit_price: limit,
        stop_price: None,
        trail_amount: None,
        trail_percent: None,
        time_in_force: TimeInForce::Gtc,
        reduce_to_position: false,
    }
}

async fn calls_and_orders(url: &str) {
    let fake = Fake::default();
    let base = serve(fake.clone()).await;
    let tradier = client(&base, TOKEN);
    assert_eq!(
        tradier.mode(),
        VenueMode::Live,
        "a local host is not the sandbox"
    );

    let acct = tradier.account().await.expect("account");
    assert_eq!(acct.id, "VA000001");
    assert_eq!(acct.balances[0].cash, dec!(6363.86));
    assert_eq!(acct.balances[0].equity, Some(dec!(17798.36)));
    assert_eq!(acct.balances[0].buying_power, Some(dec!(12727.72)));

    let pos = tradier.positions().await.expect("positions");
    assert_eq!(pos.len(), 2);
    assert_eq!((pos[0].qty, pos[0].avg_price), (dec!(10), dec!(207.01)));
    assert_eq!((pos[1].qty, pos[1].avg_price), (dec!(-4), dec!(250)));

    let q = tradier.quote("aapl").await.expect("quote");
    assert_eq!(
        (q.bid, q.ask, q.last),
        (dec!(208.21), dec!(208.39), dec!(208.38))
    );
    assert_eq!(q.at_ms, 1_557_168_300_000);
    let err = tradier
        .quote("NOPE")
        .await
        .expect_err("unmatched")
        .to_string();
    assert!(err.contains("no quote for NOPE"), "{err}");

    let bars = tradier
        .candles("AAPL", Granularity::D1, 2)
        .await
        .expect("history");
    assert_eq!(bars.len(), 2, "the newest two of three");
    assert_eq!(bars[0].close, dec!(142.19));
    assert_eq!(bars[1].high, dec!(148.5499));
    let err = tradier
        .candles("AAPL", Granularity::H1, 2)
        .await
        .expect_err("no 1h")
        .to_string();
    assert!(err.contains("granularity"), "{err}");

    let store = store_at(url).await;
    let broker: Arc<dyn Broker> = Arc::new(tradier);
    assert!(
        broker.orders(false).await.expect("none").is_empty(),
        "\"null\" means none"
    );
    let limit = req("trd-1", OrderType::Limit, Some(dec!(200)));
    let first = desk::place(&store, &broker, &limit, 1_000)
        .await
        .expect("place");
    assert!(first.new);
    assert_eq!(first.order.status, OrderStatus::Open);
    assert_eq!(first.order.client_order_id, "trd-1");
    assert_eq!(first.order.limit_price, Some(dec!(200)));
    let again = desk::place(&store, &broker, &limit, 2_000)
        .await
        .expect("again");
    assert!(!again.new);
    assert_eq!(again.order.id, first.order.id);
    {
        let inner = fake.inner.lock().expect("lock");
        assert_eq!(inner.forms.len(), 1, "placed once");
        let form = &inner.forms[0];
        for (k, v) in [
            ("class", "equity"),
            ("symbol", "AAPL"),
            ("side", "buy"),
            ("quantity", "5"),
            ("type", "limit"),
            ("duration", "gtc"),
            ("price", "200"),
            ("tag", "trd-1"),
        ] {
            assert!(
                form.contains(&(k.into(), v.into())),
                "{form:?} lacks {k}={v}"
            );
        }
        assert_eq!(inner.profile_calls, 1, "account number cached");
    }

    let mut market = req("trd-2", OrderType::Market, None);
    market.time_in_force = TimeInForce::Day;
    market.side = Side::SellShort;
    let filled = broker.place_order(&market, &[]).await.expect("market");
    assert_eq!(filled.status, OrderStatus::Filled);
    assert_eq!(filled.side, Side::SellShort);
    assert_eq!(filled.avg_fill_price, Some(dec!(208.39)));
    let open = broker.orders(true).await.expect("open");
    assert_eq!(open.len(), 1);
    assert_eq!(broker.orders(false).await.expect("all").len(), 2);
    let ex = broker.executions().await.expect("executions");
    assert_eq!((ex.len(), ex[0].qty), (1, dec!(5)));

    let cancelled = broker.cancel_order("trd-1").await.expect("cancel by tag");
    assert_eq!(cancelled.status, OrderStatus::Cancelled);
    let err = broker
        .cancel_order(&filled.id)
        .await
        .expect_err("filled")
        .to_string();
    assert!(
        err.contains("Order is not cancelable") && err.contains("400"),
        "{err}"
    );

    let mut bad = req("trd-3", OrderType::Market, None);
    bad.symbol = "ZZZZ".into();
    let err = broker
        .place_order(&bad, &[])
        .await
        .expect_err("rejected")
        .to_string();
    assert!(
        err.contains("Backoffice rejected override of the order."),
        "{err}"
    );
    // Tags take letters, digits and - only; IOC is not a Tradier duration.
    let err = broker
        .place_order(&req("trd_4", OrderType::Market, None), &[])
        .await
        .expect_err("tag")
        .to_string();
    assert!(err.contains("client_order_id"), "{err}");
    let mut ioc = req("trd-5", OrderType::Market, None);
    ioc.time_in_force = TimeInForce::Ioc;
    let err = broker
        .place_order(&ioc, &[])
        .await
        .expect_err("ioc")
        .to_string();
    assert!(err.contains("time_in_force"), "{err}");
    assert_eq!(fake.inner.lock().expect("lock").forms.len(), 3);

    // A bad token: Tradier's plain-text message, never the token.
    let wrong = client(&base, "wrong-token-000");
    let err = wrong.account().await.expect_err("401").to_string();
    assert!(
        err.contains("Invalid Access Token") && err.contains("401"),
        "{err}"
    );
    assert!(
        !err.contains("wrong-token-000") && !err.contains(TOKEN),
        "{err}"
    );
}

#[tokio::test]
async fn tradier_calls_and_orders_sqlite() {
    let dir = tempfile::tempdir().expect("tmp");
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    calls_and_orders(&url).await;
}

#[tokio::test]
async fn tradier_calls_and_orders_postgres() {
    let Some(schema) = pg::schema("tradier_calls_and_orders_postgres").await else {
        return;
    };
    calls_and_orders(&schema.url).await;
    schema.drop_schema().await;
}

#[test]
fn tradier_sandbox_is_paper() {
    let cfg = |base: &str| TradierConfig {
        base_url: base.into(),
        token: "t".into(),
        account_id: None,
        stream_url: None,
        policy: HttpPolicy::default(),
    };
    assert!(cfg("https://sandbox.tradier.com").is_sandbox());
    assert!(cfg("https://sandbox.tradier.com/").is_sandbox());
    assert!(!cfg("https://api.tradier.com").is_sandbox());
    assert!(!cfg("https://sandbox.tradier.com.example.org").is_sandbox());
    let c = TradierClient::new(cfg("https://sandbox.tradier.com")).expect("client");
    assert_eq!(c.mode(), VenueMode::Paper);
    let dbg = format!("{:?}", cfg("https://api.tradier.com"));
    assert!(!dbg.contains("token: \"t\""), "{dbg}");
    assert_eq!(
        cfg("https://api.tradier.com/").ws_base(),
        "wss://ws.tradier.com"
    );
    assert_eq!(
        cfg("https://sandbox.tradier.com").ws_base(),
        "wss://sandbox-ws.tradier.com"
    );
    assert_eq!(cfg("http://127.0.0.1:8/").ws_base(), "ws://127.0.0.1:8");
}

#[tokio::test]
async fn tradier_replace_order_puts_a_form_and_answers_the_changed_order() {
    use nt_brokers::broker::OrderChange;
    let fake = Fake::default();
    let base = serve(fake.clone()).await;
    let broker = client(&base, TOKEN);
    let placed = broker
        .place_order(&req("trd-r1", OrderType::Limit, Some(dec!(200))), &[])
        .await
        .expect("place");
    assert_eq!(placed.status, OrderStatus::Open);
    let forms_before = fake.inner.lock().expect("lock").forms.len();
    for (change, field) in [
        (
            OrderChange {
                qty: Some(dec!(7)),
                ..OrderChange::default()
            },
            "qty",
        ),
        (
            OrderChange {
                stop_price: Some(dec!(190)),
                ..OrderChange::default()
            },
            "stop_price",
        ),
        (OrderChange::default(), "qty"),
    ] {
        let err = broker
            .replace_order(&placed.id, &change)
            .await
            .expect_err("invalid")
            .to_string();
        assert!(err.contains(field), "{err}");
    }
    assert_eq!(fake.inner.lock().expect("lock").forms.len(), forms_before);
    // By our tag: looked up, then changed with a PUT form.
    let changed = broker
        .replace_order(
            "trd-r1",
            &OrderChange {
                limit_price: Some(dec!(201.25)),
                ..OrderChange::default()
            },
        )
        .await
        .expect("replace");
    assert_eq!(changed.id, placed.id);
    assert_eq!(changed.limit_price, Some(dec!(201.25)));
    assert_eq!(changed.status, OrderStatus::Open);
    let last = fake
        .inner
        .lock()
        .expect("lock")
        .forms
        .last()
        .cloned()
        .expect("form");
    // Only what changes: the page says to send only the fields to adjust.
    assert_eq!(last, vec![("price".to_string(), "201.25".to_string())]);
    // A filled order: refused by rule before any PUT.
    let filled = broker
        .place_order(&req("trd-r2", OrderType::Market, None), &[])
        .await
        .expect("market");
    let err = broker
        .replace_order(
            &filled.id,
            &OrderChange {
                limit_price: Some(dec!(1)),
                ..OrderChange::default()
            },
        )
        .await
        .expect_err("filled")
        .to_string();
    assert!(err.contains("order_state"), "{err}");
    assert!(!err.contains(TOKEN), "{err}");
}

// ---- WebSocket streaming ----
// <https://documentation.tradier.com/brokerage-api/streaming/wss-market-websocket>,
// <https://documentation.tradier.com/brokerage-api/streaming/wss-account-websocket>,
// payloads from <https://docs.tradier.com/docs/streaming> and
// <https://docs.tradier.com/docs/account-streaming-responses>.

fn stream_client(base: &str, ws: &support::ws::Fake, token: &str) -> TradierClient {
    TradierClient::new(TradierConfig {
        base_url: base.into(),
        token: token.into(),
        account_id: None,
        stream_url: Some(format!("ws://{}", ws.addr)),
        policy: HttpPolicy {
            base_backoff: Duration::from_millis(5),
            max_retries: 1,
            ..HttpPolicy::default()
        },
    })
    .expect("client")
}

/// The latest session id issued for `kind`.
fn latest_session(f: &Fake, kind: &str) -> Option<String> {
    f.inner
        .lock()
        .expect("lock")
        .sessions
        .iter()
        .rev()
        .find(|(k, _)| k == kind)
        .map(|(_, id)| id.clone())
}

#[tokio::test]
async fn tradier_quote_stream_uses_a_fresh_session_per_connection() {
    use support::ws::{hold, recv_json};
    let fake = Fake::default();
    let base = serve(fake.clone()).await;
    let subs = Arc::new(Mutex::new(Vec::<(String, Value, Option<String>)>::new()));
    let (f2, s2) = (fake.clone(), subs.clone());
    let ws = support::ws::serve(move |mut c| {
        let (fake, subs) = (f2.clone(), s2.clone());
        async move {
            let Some(first) = recv_json(&mut c.ws).await else {
                return;
            };
            subs.lock()
                .expect("lock")
                .push((c.path.clone(), first.clone(), latest_session(&fake, "markets")));
            if c.n == 0 {
                // Two payloads in one frame, each followed by a line break.
                let frame = format!(
                    "{}\n{}\n",
                    json!({"type": "quote", "symbol": "SPY", "bid": 281.84, "bidsz": 60, "bidexch": "M",
                        "biddate": "1557757189000", "ask": 281.85, "asksz": 6, "askexch": "Z", "askdate": "1557757190000"}),
                    json!({"type": "quote", "symbol": "AAPL", "bid": 189.5, "bidsz": 1, "bidexch": "Q",
                        "biddate": "1557757191000", "ask": 189.53, "asksz": 2, "askexch": "Q", "askdate": "1557757189500"})
                );
                let _ = c.ws.send(Message::Text(frame.into())).await;
                return; // dropped
            }
            let q = json!({"type": "quote", "symbol": "SPY", "bid": 282.0, "bidsz": 1, "bidexch": "M",
                "biddate": "1557757199000", "ask": 282.02, "asksz": 1, "askexch": "M", "askdate": "1557757199000"});
            let _ = c.ws.send(Message::Text(format!("{q}\n").into())).await;
            hold(&mut c.ws).await;
        }
    })
    .await;
    let tradier = stream_client(&base, &ws, TOKEN);
    let mut stream = tradier
        .quote_stream_with(
            &["spy".to_string(), "AAPL".to_string()],
            support::ws::fast_limits(),
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
    assert_eq!(quotes[0].symbol, "SPY");
    assert_eq!(quotes[0].bid, dec!(281.84));
    assert_eq!(quotes[0].ask, dec!(281.85));
    assert_eq!(
        quotes[0].at_ms, 1557757190000,
        "the later of bid and ask dates"
    );
    assert_eq!(quotes[1].symbol, "AAPL");
    assert_eq!(quotes[1].ask, dec!(189.53));
    assert_eq!(quotes[1].at_ms, 1557757191000);
    assert_eq!(quotes[2].bid, dec!(282), "after the reconnect");
    assert_eq!(ws.count(), 2);
    let subs = subs.lock().expect("lock").clone();
    assert_eq!(subs.len(), 2);
    let mut ids = Vec::new();
    for (path, msg, issued) in &subs {
        assert_eq!(path, "/v1/markets/events");
        let issued = issued.clone().expect("a session was created first");
        assert_eq!(
            msg,
            &json!({"symbols": ["SPY", "AAPL"], "sessionid": issued, "filter": ["quote"], "linebreak": true})
        );
        ids.push(issued);
    }
    assert_ne!(ids[0], ids[1], "a new session for the new connection");
}

#[tokio::test]
async fn tradier_order_updates_complete_events_from_the_order_and_map_statuses() {
    use support::ws::{hold, recv_json, send_json};
    let fake = Fake::default();
    let base = serve(fake.clone()).await;
    let firsts = Arc::new(Mutex::new(Vec::<(String, Value, Option<String>)>::new()));
    let (f2, s2) = (fake.clone(), firsts.clone());
    let ws = support::ws::serve(move |mut c| {
        let (fake, firsts) = (f2.clone(), s2.clone());
        async move {
            let Some(first) = recv_json(&mut c.ws).await else {
                return;
            };
            firsts
                .lock()
                .expect("lock")
                .push((c.path.clone(), first, latest_session(&fake, "accounts")));
            let ev = |status: &str, exec: f64, last_qty: f64, last_px: f64, avg: f64| {
                json!({"id": 228175, "event": "order", "status": status, "type": "limit", "price": 200.0,
                    "stop_price": 0.0, "avg_fill_price": avg, "exec_quantity": exec,
                    "last_fill_quantity": last_qty, "last_fill_price": last_px,
                    "remaining_quantity": 3.0 - exec, "transaction_date": "2021-08-09T20:05:36.277Z",
                    "create_date": "2021-08-09T20:05:35.277Z", "account": "VA000001"})
            };
            if c.n == 0 {
                send_json(&mut c.ws, &json!({"event": "heartbeat", "status": "active", "timestamp": "2025-12-09T18:03:51.029067177Z"})).await;
                send_json(&mut c.ws, &ev("pending", 0.0, 0.0, 0.0, 0.0)).await;
                // Another account of the same user: not ours.
                let mut other = ev("filled", 3.0, 3.0, 1.0, 1.0);
                other["account"] = json!("VA999999");
                other["id"] = json!(1);
                send_json(&mut c.ws, &other).await;
                send_json(&mut c.ws, &ev("partially_filled", 1.0, 1.0, 200.0, 200.0)).await;
                return; // dropped
            }
            send_json(&mut c.ws, &ev("filled", 3.0, 2.0, 199.625, 199.75)).await;
            hold(&mut c.ws).await;
        }
    })
    .await;
    let tradier = stream_client(&base, &ws, TOKEN);
    let placed = tradier
        .place_order(&req("trd-s1", OrderType::Limit, Some(dec!(200))), &[])
        .await
        .expect("place");
    assert_eq!(placed.id, "228175");
    let mut stream = tradier
        .order_stream_with(support::ws::fast_limits())
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
    assert_eq!(events, ["pending", "partially_filled", "filled"]);
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
        // Symbol, side and tag come from the order itself.
        assert_eq!(u.order.symbol, "AAPL");
        assert_eq!(u.order.side, Side::Buy);
        assert_eq!(u.order.client_order_id, "trd-s1");
        assert_eq!(u.order.account_id, "VA000001");
        assert_eq!(u.order.limit_price, Some(dec!(200)));
        assert_eq!(u.order.stop_price, None);
        assert_eq!(u.order.updated_ms, 1628539536277);
    }
    assert_eq!(ups[0].fill_qty, None);
    assert_eq!(ups[0].fill_price, None);
    assert_eq!(ups[1].fill_qty, Some(dec!(1)));
    assert_eq!(ups[1].fill_price, Some(dec!(200)));
    assert_eq!(ups[1].order.filled_qty, dec!(1));
    assert_eq!(ups[2].fill_qty, Some(dec!(2)));
    assert_eq!(ups[2].fill_price, Some(dec!(199.625)));
    assert_eq!(ups[2].order.filled_qty, dec!(3));
    assert_eq!(ups[2].order.avg_fill_price, Some(dec!(199.75)));
    assert_eq!(ws.count(), 2, "reconnected once");
    let firsts = firsts.lock().expect("lock").clone();
    assert_eq!(firsts.len(), 2);
    for (path, msg, issued) in &firsts {
        assert_eq!(path, "/v1/accounts/events");
        let issued = issued.clone().expect("a session was created first");
        assert_eq!(
            msg,
            &json!({"events": ["order"], "sessionid": issued, "excludeAccounts": []})
        );
    }
    assert_ne!(firsts[0].2, firsts[1].2);
}

#[tokio::test]
async fn tradier_stream_with_a_refused_token_fails_at_once() {
    let fake = Fake::default();
    let base = serve(fake.clone()).await;
    let ws = support::ws::serve(|_c| async {}).await;
    let tradier = stream_client(&base, &ws, "wrong-token-123");
    for kind in ["orders", "quotes"] {
        let r = if kind == "orders" {
            tradier
                .order_stream_with(support::ws::fast_limits())
                .await
                .map(|_| ())
        } else {
            tradier
                .quote_stream_with(&["SPY".to_string()], support::ws::fast_limits())
                .await
                .map(|_| ())
        };
        let err = r.expect_err("refused").to_string();
        assert!(
            err.contains("401") && err.contains("Invalid Access Token"),
            "{err}"
        );
        assert!(!err.contains("wrong-token-123"), "{err}");
    }
    assert_eq!(ws.count(), 0, "no connection without a session");
}

/// Issue 9, item 1, at Tradier: the fake account holds 10 AAPL long and 4
/// TSLA short. A plain `sell` of 12 AAPL used to pass the checks and would
/// sell 2 short at Tradier; it is refused by `short_sale` before anything
/// is sent, and with `reduce_to_position` it goes out as a sell of 10.
#[tokio::test]
async fn a_plain_sell_beyond_the_tradier_position_is_a_refused_short_sale() {
    let fake = Fake::default();
    let base = serve(fake.clone()).await;
    let store = store_at("sqlite::memory:").await;
    let broker: Arc<dyn Broker> = Arc::new(client(&base, TOKEN));
    let sell = OrderRequest {
        side: Side::Sell,
        qty: dec!(12),
        ..req("trd-s1", OrderType::Limit, Some(dec!(208.30)))
    };
    let err = desk::place(&store, &broker, &sell, 1_000)
        .await
        .expect_err("short sale")
        .to_string();
    assert!(
        err.contains("short_sale") && err.contains("would sell 2 short"),
        "{err}"
    );
    assert!(fake.inner.lock().expect("lock").forms.is_empty());
    let reduced = OrderRequest {
        client_order_id: "trd-s2".into(),
        reduce_to_position: true,
        ..sell
    };
    let placed = desk::place(&store, &broker, &reduced, 2_000)
        .await
        .expect("reduced");
    assert_eq!(
        (placed.order.qty, placed.reduced_from),
        (dec!(10), Some(dec!(12)))
    );
    let forms = fake.inner.lock().expect("lock").forms.clone();
    let field = |k: &str| {
        forms[0]
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(field("side").as_deref(), Some("sell"));
    assert_eq!(field("quantity").as_deref(), Some("10"));
    assert!(
        nt_brokers::audit::verify(store.pool())
            .await
            .expect("verify")
            .intact
    );
}
