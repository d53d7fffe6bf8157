//! The Alpaca client against local fakes on 127.0.0.1: an axum server
//! answering the Trading API v2 and Market Data API v2 documented JSON
//! (checking the `APCA-API-KEY-ID` / `APCA-API-SECRET-KEY` headers on every
//! call), and a tokio-tungstenite server speaking the `trade_updates`
//! stream protocol (checks the auth message, acks listen, sends events,
//! drops the first connection once). Orders through the desk run on SQLite
//! and PostgreSQL (private schema).
//!
//! Shapes from <https://docs.alpaca.markets/reference/api-references> and
//! <https://docs.alpaca.markets/docs/websocket-streaming>.

#![recursion_limit = "256"]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{delete, get};
use futures::{SinkExt, StreamExt};
use nt_brokers::alpaca::{AlpacaClient, AlpacaConfig, StreamLimits};
use nt_brokers::broker::{Broker, Granularity};
use nt_brokers::desk;
use nt_brokers::http::HttpPolicy;
use nt_brokers::types::{OrderRequest, OrderStatus, OrderType, Side, TimeInForce};
use nt_mcp_core::Store;
use nt_mcp_core::bundle::VenueMode;
use nt_mcp_core::store::core_migrations;
use rust_decimal_macros::dec;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

mod support;
use support::pg;

const KEY: &str = "AKFAKEKEY123";
const SECRET: &str = "fake-secret-xyz";

#[derive(Default)]
struct Inner {
    orders: Vec<Value>,
    posts: usize,
    deletes: Vec<String>,
    bars_query: Option<String>,
    patches: Vec<Value>,
}

#[derive(Clone, Default)]
struct Fake {
    inner: Arc<Mutex<Inner>>,
}

type Reply = (StatusCode, axum::Json<Value>);

fn authed(h: &HeaderMap) -> Result<(), Reply> {
    let get = |k: &str| h.get(k).and_then(|v| v.to_str().ok());
    if get("apca-api-key-id") == Some(KEY) && get("apca-api-secret-key") == Some(SECRET) {
        Ok(())
    } else {
        Err((
            StatusCode::FORBIDDEN,
            axum::Json(json!({"code": 40310000, "message": "forbidden."})),
        ))
    }
}

fn param(q: &Option<String>, key: &str) -> Option<String> {
    q.as_deref()?.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == key).then(|| v.replace("%3A", ":").replace("%2D", "-"))
    })
}

fn order_json(n: usize, body: &Value) -> Value {
    let market = body["type"] == "market";
    json!({
        "id": format!("61e69015-8549-4bfd-b9c3-01e75843f47{n}"),
        "client_order_id": body["client_order_id"],
        "created_at": "2025-06-02T14:30:01.123456Z",
        "updated_at": "2025-06-02T14:30:01.223456Z",
        "submitted_at": "2025-06-02T14:30:01.123456Z",
        "filled_at": if market { json!("2025-06-02T14:30:01.223456Z") } else { Value::Null },
        "expired_at": null, "canceled_at": null, "failed_at": null,
        "replaced_at": null, "replaced_by": null, "replaces": null,
        "asset_id": "b0b6dd9d-8b9b-48a9-ba46-b9d54906e415",
        "symbol": body["symbol"], "asset_class": "us_equity",
        "notional": null, "qty": body["qty"],
        "filled_qty": if market { body["qty"].clone() } else { json!("0") },
        "filled_avg_price": if market { json!("189.95") } else { Value::Null },
        "order_class": "", "order_type": body["type"], "type": body["type"],
        "side": body["side"], "time_in_force": body["time_in_force"],
        "limit_price": body.get("limit_price").cloned().unwrap_or(Value::Null),
        "stop_price": null,
        "status": if market { "filled" } else { "new" },
        "extended_hours": false, "legs": null,
        "trail_percent": null, "trail_price": null, "hwm": null
    })
}

async fn account(h: HeaderMap) -> Reply {
    if let Err(r) = authed(&h) {
        return r;
    }
    (
        StatusCode::OK,
        axum::Json(json!({
            "id": "904837e3-3b76-47ec-b432-046db621571b", "account_number": "PA3717PJAYWN",
            "status": "ACTIVE", "currency": "USD", "cash": "98123.45", "portfolio_value": "101000.10",
            "equity": "101000.10", "buying_power": "196246.90", "pattern_day_trader": false,
            "trading_blocked": false, "transfers_blocked": false, "account_blocked": false,
            "created_at": "2024-01-04T15:22:51.123456Z", "multiplier": "2", "shorting_enabled": true,
            "long_market_value": "2876.65", "short_market_value": "0", "initial_margin": "1438.33",
            "maintenance_margin": "862.99", "last_equity": "100950.00", "daytrade_count": 0
        })),
    )
}

async fn positions(h: HeaderMap) -> Reply {
    if let Err(r) = authed(&h) {
        return r;
    }
    (
        StatusCode::OK,
        axum::Json(json!([
            {"asset_id": "b0b6dd9d-8b9b-48a9-ba46-b9d54906e415", "symbol": "AAPL", "exchange": "NASDAQ",
             "asset_class": "us_equity", "avg_entry_price": "185.10", "qty": "15", "side": "long",
             "market_value": "2849.25", "cost_basis": "2776.50", "unrealized_pl": "72.75",
             "unrealized_plpc": "0.0262", "current_price": "189.95", "lastday_price": "188.00",
             "change_today": "0.0104", "qty_available": "15"},
            {"asset_id": "8ccae427-5dd0-45b3-b5fe-7ba5e422c766", "symbol": "TSLA", "exchange": "NASDAQ",
             "asset_class": "us_equity", "avg_entry_price": "250.00", "qty": "-2", "side": "short",
             "market_value": "-490.00", "cost_basis": "-500.00", "unrealized_pl": "10.00",
             "unrealized_plpc": "0.02", "current_price": "245.00", "lastday_price": "247.00",
             "change_today": "-0.008", "qty_available": "-2"}
        ])),
    )
}

async fn latest_quote(h: HeaderMap, Path(symbol): Path<String>) -> Reply {
    if let Err(r) = authed(&h) {
        return r;
    }
    if symbol == "NOPE" {
        return (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"message": "not found"})),
        );
    }
    (
        StatusCode::OK,
        axum::Json(json!({"symbol": symbol, "quote": {
            "t": "2025-06-02T14:30:00.5Z", "ax": "V", "ap": 189.96, "as": 3,
            "bx": "V", "bp": 189.94, "bs": 2, "c": ["R"], "z": "C"}})),
    )
}

async fn bars(
    State(f): State<Fake>,
    h: HeaderMap,
    Path(symbol): Path<String>,
    RawQuery(q): RawQuery,
) -> Reply {
    if let Err(r) = authed(&h) {
        return r;
    }
    f.inner.lock().expect("lock").bars_query = q.clone();
    // sort=desc: newest first.
    (
        StatusCode::OK,
        axum::Json(json!({"symbol": symbol, "next_page_token": null, "bars": [
            {"t": "2025-05-30T04:00:00Z", "o": 199.37, "h": 201.96, "l": 196.78, "c": 200.85, "v": 70753132, "n": 930225, "vw": 200.08},
            {"t": "2025-05-29T04:00:00Z", "o": 203.575, "h": 203.81, "l": 198.51, "c": 199.95, "v": 51477938, "n": 699745, "vw": 200.43}
        ]})),
    )
}

async fn orders(State(f): State<Fake>, h: HeaderMap, RawQuery(q): RawQuery, body: String) -> Reply {
    if let Err(r) = authed(&h) {
        return r;
    }
    let mut inner = f.inner.lock().expect("lock");
    if body.is_empty() {
        // GET /v2/orders?status=open|all
        let status = param(&q, "status").unwrap_or_else(|| "open".into());
        let list: Vec<Value> = inner
            .orders
            .iter()
            .rev()
            .filter(|o| status == "all" || matches!(o["status"].as_str(), Some("new")))
            .cloned()
            .collect();
        return (StatusCode::OK, axum::Json(Value::Array(list)));
    }
    let b: Value = serde_json::from_str(&body).expect("json body");
    inner.posts += 1;
    assert!(b["client_order_id"].as_str().is_some_and(|c| !c.is_empty()));
    if b["symbol"] == "ZZZZ" {
        return (
            StatusCode::FORBIDDEN,
            axum::Json(json!({"code": 40310000, "message": "insufficient buying power"})),
        );
    }
    if inner
        .orders
        .iter()
        .any(|o| o["client_order_id"] == b["client_order_id"])
    {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            axum::Json(json!({"code": 40010001, "message": "client_order_id must be unique"})),
        );
    }
    let o = order_json(inner.orders.len(), &b);
    inner.orders.push(o.clone());
    (StatusCode::OK, axum::Json(o))
}

async fn by_client_id(State(f): State<Fake>, h: HeaderMap, RawQuery(q): RawQuery) -> Reply {
    if let Err(r) = authed(&h) {
        return r;
    }
    let cid = param(&q, "client_order_id").unwrap_or_default();
    let inner = f.inner.lock().expect("lock");
    match inner.orders.iter().find(|o| o["client_order_id"] == cid) {
        Some(o) => (StatusCode::OK, axum::Json(o.clone())),
        None => (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"code": 40410000, "message": "order not found"})),
        ),
    }
}

async fn one_order(
    State(f): State<Fake>,
    h: HeaderMap,
    method: axum::http::Method,
    Path(id): Path<String>,
) -> (StatusCode, String) {
    if let Err((s, b)) = authed(&h) {
        return (s, b.0.to_string());
    }
    let mut inner = f.inner.lock().expect("lock");
    let Some(o) = inner.orders.iter_mut().find(|o| o["id"] == id) else {
        return (
            StatusCode::NOT_FOUND,
            json!({"code": 40410000, "message": "order not found"}).to_string(),
        );
    };
    if method == axum::http::Method::DELETE {
        if o["status"] != "new" {
            return (
                StatusCode::UNPROCESSABLE_ENTITY,
                json!({"code": 42210000, "message": "order is not cancelable"}).to_string(),
            );
        }
        o["status"] = json!("canceled");
        o["canceled_at"] = json!("2025-06-02T14:31:00Z");
        o["updated_at"] = json!("2025-06-02T14:31:00Z");
        inner.deletes.push(id);
        return (StatusCode::NO_CONTENT, String::new());
    }
    (StatusCode::OK, o.to_string())
}

/// `PATCH /v2/orders/{id}`: the old order becomes `replaced`, a new order
/// (new id, `replaces` = old id) takes the changed fields.
async fn replace_order(
    State(f): State<Fake>,
    h: HeaderMap,
    Path(id): Path<String>,
    body: String,
) -> Reply {
    if let Err(r) = authed(&h) {
        return r;
    }
    let b: Value = serde_json::from_str(&body).expect("json body");
    let mut inner = f.inner.lock().expect("lock");
    inner.patches.push(b.clone());
    let n = inner.orders.len();
    let Some(old) = inner.orders.iter_mut().find(|o| o["id"] == id) else {
        return (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"code": 40410000, "message": "order not found"})),
        );
    };
    if old["status"] != "new" {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            axum::Json(json!({"code": 42210000, "message": "order is not replaceable"})),
        );
    }
    let mut new = old.clone();
    let new_id = format!("61e69015-8549-4bfd-b9c3-01e75843f47{n}");
    old["status"] = json!("replaced");
    old["replaced_by"] = json!(new_id);
    new["id"] = json!(new_id);
    new["replaces"] = json!(id);
    new["client_order_id"] = json!(format!("repl-{n}"));
    for k in ["qty", "limit_price", "stop_price"] {
        if let Some(v) = b.get(k) {
            new[k] = v.clone();
        }
    }
    inner.orders.push(new.clone());
    (StatusCode::OK, axum::Json(new))
}

async fn serve(f: Fake) -> String {
    let app = Router::new()
        .route("/v2/account", get(account))
        .route("/v2/positions", get(positions))
        .route("/v2/orders", get(orders).post(orders))
        .route("/v2/orders:by_client_order_id", get(by_client_id))
        .route(
            "/v2/orders/{id}",
            delete(one_order).get(one_order).patch(replace_order),
        )
        .route("/v2/stocks/{symbol}/quotes/latest", get(latest_quote))
        .route("/v2/stocks/{symbol}/bars", get(bars))
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

fn client(base: &str, stream: &str, secret: &str) -> AlpacaClient {
    AlpacaClient::new(AlpacaConfig {
        base_url: base.into(),
        data_url: base.into(),
        stream_url: stream.into(),
        data_stream_url: "ws://127.0.0.1:9/v2".into(),
        key_id: KEY.into(),
        secret_key: secret.into(),
        feed: Some("iex".into()),
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
        qty: dec!(3),
        order_type,
        limit_price: limit,
        stop_price: None,
        trail_amount: None,
        trail_percent: None,
        time_in_force: TimeInForce::Day,
        reduce_to_position: false,
    }
}

async fn rest_calls_and_orders(url: &str) {
    let fake = Fake::default();
    let base = serve(fake.clone()).await;
    let alpaca = client(&base, "ws://127.0.0.1:9/stream", SECRET);
    // A local base URL is not the paper host: reported live.
    assert_eq!(alpaca.mode(), VenueMode::Live);

    let acct = alpaca.account().await.expect("account");
    assert_eq!(acct.id, "PA3717PJAYWN");
    assert_eq!(acct.balances[0].cash, dec!(98123.45));
    assert_eq!(acct.balances[0].equity, Some(dec!(101000.10)));
    assert_eq!(acct.balances[0].buying_power, Some(dec!(196246.90)));

    let pos = alpaca.positions().await.expect("positions");
    assert_eq!(pos.len(), 2);
    assert_eq!((pos[0].symbol.as_str(), pos[0].qty), ("AAPL", dec!(15)));
    assert_eq!(pos[0].avg_price, dec!(185.10));
    assert_eq!(pos[1].qty, dec!(-2));
    assert_eq!(pos[1].unrealized_pnl, Some(dec!(10.00)));

    let q = alpaca.quote("aapl").await.expect("quote");
    assert_eq!(
        (q.symbol.as_str(), q.bid, q.ask),
        ("AAPL", dec!(189.94), dec!(189.96))
    );
    assert_eq!(q.last, dec!(189.95));
    assert!(q.at_ms > 0);
    let err = alpaca.quote("NOPE").await.expect_err("unknown").to_string();
    assert!(err.contains("404") && err.contains("not found"), "{err}");

    let bars = alpaca
        .candles("AAPL", Granularity::D1, 2)
        .await
        .expect("bars");
    assert_eq!(bars.len(), 2);
    assert!(bars[0].start_ms < bars[1].start_ms, "oldest first");
    assert_eq!(bars[1].close, dec!(200.85));
    assert_eq!(bars[0].open, dec!(203.575));
    assert_eq!(bars[1].volume, Some(dec!(70753132)));
    let bq = fake
        .inner
        .lock()
        .expect("lock")
        .bars_query
        .clone()
        .expect("query");
    for part in [
        "timeframe=1Day",
        "limit=2",
        "sort=desc",
        "feed=iex",
        "start=",
    ] {
        assert!(bq.contains(part), "{bq} lacks {part}");
    }

    // Orders through the desk: the same client id twice places one order.
    let store = store_at(url).await;
    let broker: Arc<dyn Broker> = Arc::new(alpaca);
    let limit = req("alp-1", OrderType::Limit, Some(dec!(185)));
    let first = desk::place(&store, &broker, &limit, 1_000)
        .await
        .expect("place");
    assert!(first.new);
    assert_eq!(first.order.status, OrderStatus::Open);
    assert_eq!(first.order.client_order_id, "alp-1");
    assert_eq!(first.order.limit_price, Some(dec!(185)));
    let again = desk::place(&store, &broker, &limit, 2_000)
        .await
        .expect("again");
    assert!(!again.new);
    assert_eq!(again.order.id, first.order.id);
    assert_eq!(fake.inner.lock().expect("lock").posts, 1);

    // A POST the venue already took (a retry): Alpaca refuses the repeated
    // client_order_id; the client answers with the order it placed.
    let dup = broker.place_order(&limit, &[]).await.expect("dup");
    assert_eq!(dup.id, first.order.id);
    assert_eq!(fake.inner.lock().expect("lock").posts, 2);

    let market = req("alp-2", OrderType::Market, None);
    let filled = broker.place_order(&market, &[]).await.expect("market");
    assert_eq!(filled.status, OrderStatus::Filled);
    assert_eq!(filled.avg_fill_price, Some(dec!(189.95)));
    assert_eq!(filled.filled_qty, dec!(3));

    let open = broker.orders(true).await.expect("open");
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].client_order_id, "alp-1");
    let all = broker.orders(false).await.expect("all");
    assert_eq!(all.len(), 2);
    let execs = broker.executions().await.expect("executions");
    assert_eq!(execs.len(), 1);
    assert_eq!((execs[0].qty, execs[0].price), (dec!(3), dec!(189.95)));

    assert!(
        broker
            .find_by_client_id("nope")
            .await
            .expect("lookup")
            .is_none()
    );
    // Cancel by our client id: looked up, then DELETE /v2/orders/{id}.
    let cancelled = broker.cancel_order("alp-1").await.expect("cancel");
    assert_eq!(cancelled.status, OrderStatus::Cancelled);
    assert_eq!(fake.inner.lock().expect("lock").deletes.len(), 1);
    assert_eq!(fake.inner.lock().expect("lock").deletes[0], first.order.id);
    let err = broker
        .cancel_order(&filled.id)
        .await
        .expect_err("filled")
        .to_string();
    assert!(
        err.contains("422") && err.contains("not cancelable"),
        "{err}"
    );

    let mut bad = req("alp-3", OrderType::Market, None);
    bad.symbol = "ZZZZ".into();
    let err = broker
        .place_order(&bad, &[])
        .await
        .expect_err("refused")
        .to_string();
    assert!(
        err.contains("insufficient buying power") && err.contains("403"),
        "{err}"
    );

    // Wrong secret: the venue's message, never the keys.
    let wrong = client(&base, "ws://127.0.0.1:9/stream", "wrong-secret-abc");
    let err = wrong.account().await.expect_err("forbidden").to_string();
    assert!(err.contains("forbidden"), "{err}");
    for secret in [KEY, SECRET, "wrong-secret-abc"] {
        assert!(!err.contains(secret), "{err}");
    }
    // No server: a transport error without URL or keys.
    let gone = client("http://127.0.0.1:9", "ws://127.0.0.1:9/stream", SECRET);
    let err = gone.account().await.expect_err("down").to_string();
    assert!(
        !err.contains(SECRET) && !err.contains(KEY) && !err.contains("127.0.0.1:9"),
        "{err}"
    );
}

#[tokio::test]
async fn alpaca_rest_calls_and_orders_sqlite() {
    let dir = tempfile::tempdir().expect("tmp");
    let url = format!("sqlite://{}", dir.path().join("a.db").display());
    rest_calls_and_orders(&url).await;
}

#[tokio::test]
async fn alpaca_rest_calls_and_orders_postgres() {
    let Some(schema) = pg::schema("alpaca_rest_calls_and_orders_postgres").await else {
        return;
    };
    rest_calls_and_orders(&schema.url).await;
    schema.drop_schema().await;
}

fn event(n: u32, kind: &str) -> Value {
    let status = if kind == "fill" { "filled" } else { "new" };
    json!({"stream": "trade_updates", "data": {
        "event": kind,
        "execution_id": if kind == "fill" { json!(format!("exec-{n}")) } else { Value::Null },
        "timestamp": "2025-06-02T14:30:02.000000Z",
        "price": if kind == "fill" { json!("189.95") } else { Value::Null },
        "qty": if kind == "fill" { json!("3") } else { Value::Null },
        "position_qty": if kind == "fill" { json!("18") } else { Value::Null },
        "order": order_json(n as usize, &json!({"client_order_id": format!("alp-{n}"), "symbol": "AAPL",
            "qty": "3", "side": "buy", "type": "market", "time_in_force": "day"}))
            .as_object().map(|o| { let mut o = o.clone(); o.insert("status".into(), json!(status)); Value::Object(o) })
    }})
}

/// A trade_updates server: checks auth, acks listen, sends two events on
/// the first connection then drops it, one on the next. `refuse` answers
/// every auth with `unauthorized`.
async fn ws_server(refuse: bool) -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("ws://{}/stream", listener.local_addr().expect("addr"));
    let conns = Arc::new(AtomicUsize::new(0));
    let c = conns.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let n = c.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
                    return;
                };
                let Some(Ok(Message::Text(auth))) = ws.next().await else {
                    return;
                };
                let auth: Value = serde_json::from_str(auth.as_str()).expect("auth json");
                let good = auth == json!({"action": "auth", "key": KEY, "secret": SECRET});
                let status = if good && !refuse {
                    "authorized"
                } else {
                    "unauthorized"
                };
                let reply = json!({"stream": "authorization", "data": {"status": status, "action": "authenticate"}});
                let _ = ws.send(Message::Text(reply.to_string().into())).await;
                if status != "authorized" {
                    let _ = ws.close(None).await;
                    return;
                }
                let Some(Ok(Message::Text(listen))) = ws.next().await else {
                    return;
                };
                let listen: Value = serde_json::from_str(listen.as_str()).expect("listen json");
                assert_eq!(
                    listen,
                    json!({"action": "listen", "data": {"streams": ["trade_updates"]}})
                );
                let ack = json!({"stream": "listening", "data": {"streams": ["trade_updates"]}});
                // The paper endpoint sends binary frames.
                let _ = ws
                    .send(Message::Binary(ack.to_string().into_bytes().into()))
                    .await;
                if n == 0 {
                    let _ = ws
                        .send(Message::Binary(
                            event(1, "new").to_string().into_bytes().into(),
                        ))
                        .await;
                    let _ = ws
                        .send(Message::Text(event(1, "fill").to_string().into()))
                        .await;
                    // Drop without a close frame.
                    drop(ws);
                    return;
                }
                let _ = ws
                    .send(Message::Text(event(2, "new").to_string().into()))
                    .await;
                // Hold the connection until the client closes it.
                let _ = tokio::time::timeout(Duration::from_secs(5), ws.next()).await;
            });
        }
    });
    (url, conns)
}

#[tokio::test]
async fn alpaca_trade_updates_reauth_after_drop() {
    let (url, conns) = ws_server(false).await;
    let alpaca = client("http://127.0.0.1:9", &url, SECRET);
    let limits = StreamLimits {
        max_events: 3,
        max_reconnects: 3,
        backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(100),
        stall: Duration::from_secs(5),
    };
    let report = tokio::time::timeout(Duration::from_secs(20), alpaca.trade_updates(&limits))
        .await
        .expect("bounded")
        .expect("stream");
    assert_eq!(report.connects, 2, "authorized twice");
    assert_eq!(report.reconnects, 1);
    assert_eq!(conns.load(Ordering::SeqCst), 2);
    let kinds: Vec<&str> = report.events.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(kinds, ["new", "fill", "new"]);
    let fill = &report.events[1];
    assert_eq!(fill.execution_id.as_deref(), Some("exec-1"));
    assert_eq!(fill.price, Some(dec!(189.95)));
    assert_eq!(fill.qty, Some(dec!(3)));
    assert_eq!(fill.position_qty, Some(dec!(18)));
    assert_eq!(fill.order.status, OrderStatus::Filled);
    assert_eq!(fill.order.client_order_id, "alp-1");
    assert_eq!(report.events[2].order.client_order_id, "alp-2");
    assert!(fill.at_ms > 0);
}

#[tokio::test]
async fn alpaca_trade_updates_refused_auth_ends_at_once() {
    let (url, conns) = ws_server(true).await;
    let alpaca = client("http://127.0.0.1:9", &url, SECRET);
    let err = tokio::time::timeout(
        Duration::from_secs(10),
        alpaca.trade_updates(&StreamLimits {
            stall: Duration::from_secs(5),
            ..StreamLimits::default()
        }),
    )
    .await
    .expect("bounded")
    .expect_err("refused")
    .to_string();
    assert!(err.contains("unauthorized"), "{err}");
    assert!(!err.contains(SECRET) && !err.contains(KEY), "{err}");
    assert_eq!(conns.load(Ordering::SeqCst), 1, "no retry after a refusal");
}

#[tokio::test]
async fn alpaca_gives_up_after_bounded_reconnects() {
    // Nothing listens: each connect fails; the run ends after the bound.
    let alpaca = client("http://127.0.0.1:9", "ws://127.0.0.1:9/stream", SECRET);
    let err = tokio::time::timeout(
        Duration::from_secs(10),
        alpaca.trade_updates(&StreamLimits {
            max_events: 1,
            max_reconnects: 2,
            backoff: Duration::from_millis(5),
            max_backoff: Duration::from_millis(10),
            stall: Duration::from_secs(2),
        }),
    )
    .await
    .expect("bounded")
    .expect_err("gave up")
    .to_string();
    assert!(err.contains("gave up after 2 reconnects"), "{err}");
    assert!(!err.contains(SECRET), "{err}");
}

#[tokio::test]
async fn broker_watch_streams_alpaca_trade_updates_across_a_reconnect() {
    use nt_mcp_core::bundle::{ToolBundle, ToolCtx};
    use nt_mcp_core::clock::ManualClock;
    use nt_mcp_core::progress::Progress;

    let (url, conns) = ws_server(false).await;
    let bundle = nt_brokers::BrokersBundle::paper_only(Default::default())
        .with_broker(Arc::new(client("http://127.0.0.1:9", &url, SECRET)));
    let bundle = Arc::new(bundle).routes();
    let progress = Progress::recording();
    let ctx = {
        let mut c = ToolCtx::new(store_at("sqlite::memory:").await)
            .with_clock(Arc::new(ManualClock::new(0)));
        c.progress = progress.clone();
        c.variant = Arc::from("t");
        c
    };
    let out = tokio::time::timeout(
        Duration::from_secs(15),
        bundle.call(
            "broker_watch",
            json!({"broker": "alpaca", "kind": "orders", "seconds": 10, "max_events": 3}),
            ctx,
        ),
    )
    .await
    .expect("bounded")
    .expect("watch");
    let body = out.structured;
    assert_eq!(body["venue"], "alpaca");
    assert_eq!(body["stopped"], "max_events");
    let events = body["events"].as_array().expect("events");
    let kinds: Vec<&str> = events.iter().filter_map(|e| e["event"].as_str()).collect();
    assert_eq!(kinds, ["new", "fill", "new"]);
    assert_eq!(events[1]["fill_price"], "189.95");
    assert_eq!(events[1]["fill_qty"], "3");
    assert_eq!(events[1]["order"]["status"], "filled");
    assert_eq!(events[2]["order"]["client_order_id"], "alp-2");
    assert_eq!(
        conns.load(Ordering::SeqCst),
        2,
        "re-authorized after the drop"
    );
    assert_eq!(progress.snapshot().progress, 3.0);
    assert!(!out.text.contains(SECRET));
}

#[tokio::test]
async fn alpaca_replace_order_patches_and_answers_the_new_order() {
    use nt_brokers::broker::OrderChange;
    let fake = Fake::default();
    let base = serve(fake.clone()).await;
    let alpaca = client(&base, "ws://127.0.0.1:9/stream", SECRET);
    let placed = alpaca
        .place_order(&req("alp-r1", OrderType::Limit, Some(dec!(180))), &[])
        .await
        .expect("place");
    assert_eq!(placed.status, OrderStatus::Open);
    // Nothing to change: refused before any request.
    let err = alpaca
        .replace_order(&placed.id, &OrderChange::default())
        .await
        .expect_err("empty change");
    assert!(err.to_string().contains("qty"), "{err}");
    let err = alpaca
        .replace_order(
            &placed.id,
            &OrderChange {
                limit_price: Some(dec!(-1)),
                ..OrderChange::default()
            },
        )
        .await
        .expect_err("negative");
    assert!(err.to_string().contains("limit_price"), "{err}");
    assert!(fake.inner.lock().expect("lock").patches.is_empty());
    // By our client id: looked up, then patched.
    let new = alpaca
        .replace_order(
            "alp-r1",
            &OrderChange {
                qty: Some(dec!(5)),
                limit_price: Some(dec!(180.5)),
                stop_price: None,
            },
        )
        .await
        .expect("replace");
    assert_ne!(new.id, placed.id);
    assert_eq!(
        (new.qty, new.limit_price, new.status),
        (dec!(5), Some(dec!(180.5)), OrderStatus::Open)
    );
    assert_eq!(
        fake.inner.lock().expect("lock").patches,
        vec![json!({"qty": "5", "limit_price": "180.5"})]
    );
    // The old order is now `replaced`: Alpaca refuses a second replace and
    // its message comes through.
    let err = alpaca
        .replace_order(
            &placed.id,
            &OrderChange {
                qty: Some(dec!(6)),
                ..OrderChange::default()
            },
        )
        .await
        .expect_err("not replaceable")
        .to_string();
    assert!(
        err.contains("422") && err.contains("order is not replaceable"),
        "{err}"
    );
    assert!(!err.contains(SECRET), "{err}");
}

#[tokio::test]
async fn broker_replace_order_tool_replaces_at_alpaca_and_audits_it() {
    use nt_mcp_core::bundle::{ToolBundle, ToolCtx};
    use nt_mcp_core::clock::ManualClock;

    let fake = Fake::default();
    let base = serve(fake.clone()).await;
    let bundle = nt_brokers::BrokersBundle::paper_only(Default::default())
        .with_broker(Arc::new(client(&base, "ws://127.0.0.1:9/stream", SECRET)));
    let bundle = Arc::new(bundle).routes();
    let ctx = {
        let mut c = ToolCtx::new(store_at("sqlite::memory:").await)
            .with_clock(Arc::new(ManualClock::new(1_750_000_000_000)))
            .with_live_trading(true);
        c.variant = Arc::from("t");
        c
    };
    let placed = bundle
        .call(
            "broker_place_order",
            json!({"broker": "alpaca", "client_order_id": "alp-mcp-1", "symbol": "AAPL", "side": "buy",
                   "qty": "3", "order_type": "limit", "limit_price": "180", "time_in_force": "day"}),
            ctx.clone(),
        )
        .await
        .expect("place");
    let old_id = placed.structured["order"]["id"].clone();
    let out = bundle
        .call(
            "broker_replace_order",
            json!({"broker": "alpaca", "order_id": "alp-mcp-1", "limit_price": "181"}),
            ctx.clone(),
        )
        .await
        .expect("replace");
    assert_eq!(out.structured["venue"], "alpaca");
    assert_eq!(out.structured["order"]["limit_price"], "181");
    assert_ne!(out.structured["order"]["id"], old_id);
    let rows = bundle
        .call("audit_export", json!({}), ctx.clone())
        .await
        .expect("export")
        .structured;
    let kinds: Vec<&str> = rows["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .filter_map(|r| r["kind"].as_str())
        .collect();
    assert!(kinds.contains(&"order_replaced"), "{kinds:?}");
    let verify = bundle
        .call("audit_verify", json!({}), ctx.clone())
        .await
        .expect("verify");
    assert_eq!(verify.structured["report"]["intact"], true);
    let err = bundle
        .call(
            "broker_replace_order",
            json!({"broker": "alpaca", "order_id": "alp-mcp-1"}),
            ctx,
        )
        .await
        .expect_err("nothing to change");
    assert_eq!(err.field.as_deref(), Some("qty"));
}

/// Issue 9, item 1, at Alpaca through the tools: the fake account holds 15
/// AAPL long and 2 TSLA short. A plain `sell` of 20 AAPL used to pass the
/// checks (only `sell_short` was a short sale) and would open a 5-share
/// short at Alpaca; with `allow_short = false` it is refused by
/// `short_sale` before anything reaches the venue, reduced to 15 when the
/// caller sets `reduce_to_position`, and any sell of TSLA (held short) is
/// refused. With shorts allowed it goes through, marked a short sale.
#[tokio::test]
async fn a_plain_sell_beyond_the_alpaca_position_is_a_refused_short_sale() {
    use nt_mcp_core::bundle::{ToolBundle, ToolCtx};
    use nt_mcp_core::clock::ManualClock;

    let fake = Fake::default();
    let base = serve(fake.clone()).await;
    let bundle = nt_brokers::BrokersBundle::paper_only(Default::default())
        .with_broker(Arc::new(client(&base, "ws://127.0.0.1:9/stream", SECRET)));
    let bundle = Arc::new(bundle).routes();
    let ctx = {
        let mut c = ToolCtx::new(store_at("sqlite::memory:").await)
            .with_clock(Arc::new(ManualClock::new(1_750_000_000_000)))
            .with_live_trading(true);
        c.variant = Arc::from("t");
        c
    };
    let sell = |cid: &str, symbol: &str, qty: &str, reduce: bool| {
        json!({"broker": "alpaca", "client_order_id": cid, "symbol": symbol, "side": "sell",
               "qty": qty, "order_type": "limit", "limit_price": "190", "time_in_force": "day",
               "reduce_to_position": reduce})
    };
    let err = bundle
        .call(
            "broker_place_order",
            sell("alp-s1", "AAPL", "20", false),
            ctx.clone(),
        )
        .await
        .expect_err("short sale");
    let msg = err.to_string();
    assert!(
        msg.contains("short_sale")
            && msg.contains("would sell 5 short")
            && msg.contains("15 held long"),
        "{msg}"
    );
    assert_eq!(
        fake.inner.lock().expect("lock").posts,
        0,
        "nothing reached Alpaca"
    );
    let check = bundle
        .call(
            "compliance_check_order",
            sell("alp-s1", "AAPL", "20", false),
            ctx.clone(),
        )
        .await
        .expect("check");
    assert_eq!(check.structured["allowed"], false);
    assert!(check.text.contains("short_sale"), "{}", check.text);

    let placed = bundle
        .call(
            "broker_place_order",
            sell("alp-s2", "AAPL", "20", true),
            ctx.clone(),
        )
        .await
        .expect("reduced");
    assert_eq!(placed.structured["order"]["qty"], "15");
    assert_eq!(placed.structured["reduced_from"], "20");
    assert!(
        placed.text.contains("reduced from 20 to 15"),
        "{}",
        placed.text
    );
    {
        let inner = fake.inner.lock().expect("lock");
        assert_eq!(inner.posts, 1);
        assert_eq!(inner.orders[0]["qty"], "15");
        assert_eq!(inner.orders[0]["side"], "sell");
    }
    // The working sell of 15 now holds the whole position: one more share
    // is short, and reducing leaves nothing to sell.
    let err = bundle
        .call(
            "broker_place_order",
            sell("alp-s3", "AAPL", "1", true),
            ctx.clone(),
        )
        .await
        .expect_err("nothing left");
    assert!(
        err.to_string()
            .contains("15 in working sell orders, 0 available"),
        "{err}"
    );
    let err = bundle
        .call(
            "broker_place_order",
            sell("alp-s4", "TSLA", "1", false),
            ctx.clone(),
        )
        .await
        .expect_err("held short");
    assert!(err.to_string().contains("short_sale"), "{err}");

    // Shorts allowed: the sell goes through, marked a short sale (UMIR 6.2).
    bundle
        .call(
            "compliance_rules",
            json!({"broker": "alpaca", "set": {"allow_short": true}}),
            ctx.clone(),
        )
        .await
        .expect("rules");
    let placed = bundle
        .call(
            "broker_place_order",
            sell("alp-s5", "AAPL", "5", false),
            ctx.clone(),
        )
        .await
        .expect("short allowed");
    let marking = placed.structured["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .find(|c| c["rule"] == "order_marking")
        .cloned()
        .expect("marking");
    assert!(
        marking["detail"]
            .as_str()
            .is_some_and(|d| d.contains("designation: short sale")),
        "{marking}"
    );
    let verify = bundle
        .call("audit_verify", json!({}), ctx)
        .await
        .expect("verify");
    assert_eq!(verify.structured["report"]["intact"], true);
}

// ---- Market-data stream (quotes) ----
// Protocol as documented at <https://docs.alpaca.markets/docs/streaming-market-data>
// and <https://docs.alpaca.markets/docs/real-time-stock-pricing-data>.

fn quote_msg(sym: &str, bp: f64, ap: f64, t: &str) -> Value {
    json!({"T": "q", "S": sym, "bx": "V", "bp": bp, "bs": 3, "ax": "V", "ap": ap, "as": 5,
        "t": t, "c": ["R"], "z": "C"})
}

#[derive(Default)]
struct DataSeen {
    paths: Vec<String>,
    auths: Vec<Value>,
    subscribes: Vec<Value>,
}

/// A market-data fake: greets with `connected`, checks the auth message
/// (402 `auth failed` otherwise, or always when `refuse`), checks the
/// subscribe message, acks it, then sends quotes: two in one array and a
/// drop (no close frame) on the first connection, one on the next.
async fn data_server(refuse: bool) -> (support::ws::Fake, Arc<Mutex<DataSeen>>) {
    use support::ws::{hold, recv_json, send_json};
    let seen = Arc::new(Mutex::new(DataSeen::default()));
    let s = seen.clone();
    let fake = support::ws::serve(move |mut c| {
        let seen = s.clone();
        async move {
            seen.lock().expect("lock").paths.push(c.path.clone());
            send_json(&mut c.ws, &json!([{"T": "success", "msg": "connected"}])).await;
            let Some(auth) = recv_json(&mut c.ws).await else {
                return;
            };
            seen.lock().expect("lock").auths.push(auth.clone());
            let good = auth == json!({"action": "auth", "key": KEY, "secret": SECRET});
            if !good || refuse {
                send_json(
                    &mut c.ws,
                    &json!([{"T": "error", "code": 402, "msg": "auth failed"}]),
                )
                .await;
                hold(&mut c.ws).await;
                return;
            }
            send_json(
                &mut c.ws,
                &json!([{"T": "success", "msg": "authenticated"}]),
            )
            .await;
            let Some(sub) = recv_json(&mut c.ws).await else {
                return;
            };
            seen.lock().expect("lock").subscribes.push(sub.clone());
            let quotes = sub["quotes"].clone();
            send_json(
                &mut c.ws,
                &json!([{"T": "subscription", "trades": [], "quotes": quotes, "bars": []}]),
            )
            .await;
            if c.n == 0 {
                send_json(
                    &mut c.ws,
                    &json!([
                        quote_msg("AAPL", 189.94, 189.96, "2025-06-02T14:30:01.123456789Z"),
                        quote_msg("MSFT", 415.1, 415.25, "2025-06-02T14:30:01.5Z"),
                    ]),
                )
                .await;
                return; // drop without a close frame
            }
            send_json(
                &mut c.ws,
                &json!([quote_msg("AAPL", 190.01, 190.03, "2025-06-02T14:30:09Z")]),
            )
            .await;
            hold(&mut c.ws).await;
        }
    })
    .await;
    (fake, seen)
}

fn data_client(ws_base: &str) -> AlpacaClient {
    let mut cfg = client("http://127.0.0.1:9", "ws://127.0.0.1:9/stream", SECRET)
        .config()
        .clone();
    cfg.data_stream_url = ws_base.into();
    AlpacaClient::new(cfg).expect("client")
}

#[tokio::test]
async fn alpaca_quote_stream_auths_subscribes_and_resubscribes_after_a_drop() {
    let (fake, seen) = data_server(false).await;
    let alpaca = data_client(&format!("ws://{}/v2/", fake.addr));
    let symbols = vec!["aapl".to_string(), " MSFT ".to_string(), "AAPL".to_string()];
    let mut stream = alpaca
        .quote_stream_with(&symbols, support::ws::fast_limits())
        .await
        .expect("stream");
    let mut quotes = Vec::new();
    for _ in 0..3 {
        let q = tokio::time::timeout(Duration::from_secs(10), stream.next())
            .await
            .expect("bounded")
            .expect("an item")
            .expect("a quote");
        quotes.push(q);
    }
    drop(stream);
    assert_eq!(quotes[0].symbol, "AAPL");
    assert_eq!(quotes[0].bid, dec!(189.94));
    assert_eq!(quotes[0].ask, dec!(189.96));
    assert_eq!(quotes[0].last, dec!(189.95));
    assert_eq!(quotes[0].currency, "USD");
    // Nanosecond RFC-3339 timestamps keep their milliseconds.
    assert_eq!(quotes[0].at_ms % 1000, 123);
    assert_eq!(quotes[1].symbol, "MSFT");
    assert_eq!(quotes[1].bid, dec!(415.1));
    assert_eq!(quotes[1].ask, dec!(415.25));
    assert_eq!(quotes[2].bid, dec!(190.01), "the quote after the reconnect");
    assert_eq!(fake.count(), 2, "one reconnect");
    let seen = seen.lock().expect("lock");
    // Feed iex (the client's configured feed) appended to the base URL.
    assert_eq!(seen.paths, ["/v2/iex", "/v2/iex"]);
    let auth = json!({"action": "auth", "key": KEY, "secret": SECRET});
    assert_eq!(
        seen.auths,
        [auth.clone(), auth],
        "re-authenticated after the drop"
    );
    let sub = json!({"action": "subscribe", "quotes": ["AAPL", "MSFT"]});
    assert_eq!(
        seen.subscribes,
        [sub.clone(), sub],
        "re-subscribed after the drop"
    );
}

#[tokio::test]
async fn alpaca_quote_stream_refused_auth_ends_with_the_venue_message() {
    let (fake, seen) = data_server(true).await;
    let alpaca = data_client(&format!("ws://{}/v2", fake.addr));
    let mut stream = alpaca
        .quote_stream_with(&["AAPL".to_string()], support::ws::fast_limits())
        .await
        .expect("stream");
    let err = tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .expect("bounded")
        .expect("an item")
        .expect_err("refused")
        .to_string();
    assert!(err.contains("402") && err.contains("auth failed"), "{err}");
    assert!(!err.contains(SECRET), "{err}");
    assert!(
        tokio::time::timeout(Duration::from_secs(5), stream.next())
            .await
            .expect("bounded")
            .is_none(),
        "the stream ends after a refusal"
    );
    assert_eq!(fake.count(), 1, "no reconnect after a refusal");
    assert!(seen.lock().expect("lock").subscribes.is_empty());
}

#[tokio::test]
async fn alpaca_quote_stream_gives_up_after_bounded_reconnects_and_checks_symbols() {
    let alpaca = data_client("ws://127.0.0.1:9/v2");
    let err = alpaca
        .quote_stream_with(&["AA PL".to_string()], support::ws::fast_limits())
        .await
        .err()
        .expect("bad symbol")
        .to_string();
    assert!(err.contains("symbols"), "{err}");
    let mut stream = alpaca
        .quote_stream_with(
            &["AAPL".to_string()],
            nt_brokers::ws::WsLimits {
                max_reconnects: 2,
                backoff: Duration::from_millis(5),
                max_backoff: Duration::from_millis(10),
                stall: Duration::from_secs(2),
            },
        )
        .await
        .expect("stream");
    let err = tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .expect("bounded")
        .expect("an item")
        .expect_err("gave up")
        .to_string();
    assert!(err.contains("gave up after 2 reconnects"), "{err}");
}

#[tokio::test]
async fn broker_watch_streams_alpaca_quotes() {
    use nt_mcp_core::bundle::{ToolBundle, ToolCtx};
    use nt_mcp_core::clock::ManualClock;

    let (fake, _) = data_server(false).await;
    let bundle = nt_brokers::BrokersBundle::paper_only(Default::default())
        .with_broker(Arc::new(data_client(&format!("ws://{}/v2", fake.addr))));
    let bundle = Arc::new(bundle).routes();
    let ctx = {
        let mut c = ToolCtx::new(store_at("sqlite::memory:").await)
            .with_clock(Arc::new(ManualClock::new(0)));
        c.variant = Arc::from("t");
        c
    };
    let out = tokio::time::timeout(
        Duration::from_secs(20),
        bundle.call(
            "broker_watch",
            json!({"broker": "alpaca", "kind": "quotes", "symbols": ["AAPL", "MSFT"], "seconds": 15, "max_events": 2}),
            ctx,
        ),
    )
    .await
    .expect("bounded")
    .expect("watch");
    let events = out.structured["events"].as_array().expect("events").clone();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0]["symbol"], "AAPL");
    assert_eq!(events[0]["bid"], "189.94");
    assert_eq!(events[1]["ask"], "415.25");
    assert!(!out.text.contains(SECRET));
}
