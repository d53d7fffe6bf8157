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

mod support;
use support::pg;

const TOKEN: &str = "tradier-token-789";

#[derive(Default)]
struct Inner {
    orders: Vec<Value>,
    forms: Vec<Vec<(String, String)>>,
    profile_calls: usize,
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
/// stop, type and duration of an open order.
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
    assert_eq!(
        last,
        vec![
            ("type".to_string(), "limit".to_string()),
            ("duration".to_string(), "gtc".to_string()),
            ("price".to_string(), "201.25".to_string()),
        ]
    );
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
