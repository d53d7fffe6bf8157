//! The Questrade client against a local axum fake answering the v1 API's
//! documented JSON on 127.0.0.1. The fake's login server rotates the
//! refresh token on every refresh and refuses a used one; API calls check
//! the bearer token. Run on SQLite and on PostgreSQL (private schema).

#![recursion_limit = "256"]

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use futures::StreamExt;
use nt_brokers::broker::{Broker, Granularity};
use nt_brokers::http::HttpPolicy;
use nt_brokers::questrade::{QuestradeClient, QuestradeConfig};
use nt_brokers::types::{OrderRequest, OrderStatus, OrderType, Side, TimeInForce};
use nt_mcp_core::Store;
use nt_mcp_core::bundle::VenueMode;
use nt_mcp_core::store::core_migrations;
use rust_decimal_macros::dec;
use serde_json::{Value, json};
use sqlx::Row;

mod support;
use support::pg;

#[derive(Default)]
struct Inner {
    current_refresh: String,
    valid_access: Vec<String>,
    refreshes: Vec<String>,
    refused: Vec<String>,
    order_bodies: Vec<Value>,
    cancelled: bool,
    /// Queries of the stream-port requests, with their path.
    port_requests: Vec<(String, Vec<(String, String)>)>,
    /// `GET /v1/time` requests: (authorized, refused).
    time_requests: (u32, u32),
    /// How long the login server takes to answer a token request.
    token_delay: Duration,
}

#[derive(Clone, Default)]
struct Fake {
    inner: Arc<Mutex<Inner>>,
    base: Arc<OnceLock<String>>,
    /// The WebSocket fake's port, answered as `streamPort`.
    stream_port: Arc<OnceLock<u16>>,
}

type Reply = (StatusCode, axum::Json<Value>);

/// Decodes a query string into pairs (percent escapes and `+`).
fn pairs(q: Option<String>) -> Vec<(String, String)> {
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
    q.unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

impl Fake {
    fn authed(&self, h: &HeaderMap) -> Result<(), Reply> {
        let bearer = h
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        if self
            .inner
            .lock()
            .expect("lock")
            .valid_access
            .iter()
            .any(|a| a == bearer)
        {
            Ok(())
        } else {
            Err((
                StatusCode::UNAUTHORIZED,
                axum::Json(json!({"code": 1017, "message": "Access token is invalid"})),
            ))
        }
    }

    /// Every access token handed out so far stops working (expiry).
    fn expire_access(&self) {
        self.inner.lock().expect("lock").valid_access.clear();
    }
}

async fn token(State(f): State<Fake>, RawQuery(q): RawQuery) -> Reply {
    let q = pairs(q);
    let get = |k: &str| {
        q.iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    // The token is spent (and its successor made) at once; a slow login
    // server only delays the answer.
    let (reply, delay) = {
        let mut s = f.inner.lock().expect("lock");
        let given = get("refresh_token");
        if get("grant_type") != "refresh_token" || given != s.current_refresh {
            s.refused.push(given);
            return (
                StatusCode::BAD_REQUEST,
                axum::Json(json!({"code": 1003, "message": "Bad Request"})),
            );
        }
        s.refreshes.push(given);
        let n = s.refreshes.len();
        s.current_refresh = format!("rt-{n}");
        let access = format!("at-{n}");
        s.valid_access = vec![access.clone()];
        let reply = (
            StatusCode::OK,
            axum::Json(json!({
                "access_token": access, "token_type": "Bearer", "expires_in": 1800,
                "refresh_token": s.current_refresh,
                "api_server": format!("{}/", f.base.get().expect("base")),
            })),
        );
        (reply, s.token_delay)
    };
    tokio::time::sleep(delay).await;
    reply
}

macro_rules! authed {
    ($f:expr, $h:expr) => {
        if let Err(e) = $f.authed(&$h) {
            return e;
        }
    };
}

/// `GET /v1/time`: `{"time": ..}`
/// (<https://www.questrade.com/api/documentation/rest-operations/account-calls/time>).
async fn time(State(f): State<Fake>, h: HeaderMap) -> Reply {
    if let Err(e) = f.authed(&h) {
        f.inner.lock().expect("lock").time_requests.1 += 1;
        return e;
    }
    f.inner.lock().expect("lock").time_requests.0 += 1;
    (
        StatusCode::OK,
        axum::Json(json!({"time": "2014-10-24T12:14:42.730000-04:00"})),
    )
}

async fn accounts(State(f): State<Fake>, h: HeaderMap) -> Reply {
    authed!(f, h);
    (
        StatusCode::OK,
        axum::Json(json!({"accounts": [
            {"type": "TFSA", "number": "26598146", "status": "Active", "isPrimary": false, "isBilling": false, "clientAccountType": "Individual"},
            {"type": "Margin", "number": "26598145", "status": "Active", "isPrimary": true, "isBilling": true, "clientAccountType": "Individual"}
        ], "userId": 3000124})),
    )
}

async fn balances(State(f): State<Fake>, h: HeaderMap, Path(id): Path<String>) -> Reply {
    authed!(f, h);
    assert_eq!(id, "26598145");
    (
        StatusCode::OK,
        axum::Json(json!({"perCurrencyBalances": [
            {"currency": "CAD", "cash": 243971.7, "marketValue": 6017, "totalEquity": 249988.7, "buyingPower": 496367.2, "maintenanceExcess": 248183.6, "isRealTime": false},
            {"currency": "USD", "cash": 198259.05, "marketValue": 53745, "totalEquity": 252004.05, "buyingPower": 461013.3, "maintenanceExcess": 230506.65, "isRealTime": false}
        ], "combinedBalances": [], "sodPerCurrencyBalances": [], "sodCombinedBalances": []})),
    )
}

async fn positions(State(f): State<Fake>, h: HeaderMap) -> Reply {
    authed!(f, h);
    (
        StatusCode::OK,
        axum::Json(json!({"positions": [
            {"symbol": "THI.TO", "symbolId": 38738, "openQuantity": 100, "closedQuantity": 0, "currentMarketValue": 6017, "currentPrice": 60.17, "averageEntryPrice": 60.23, "closedPnl": 0, "openPnl": -6, "totalCost": 6023, "isRealTime": false, "isUnderReorg": false}
        ]})),
    )
}

async fn search(State(f): State<Fake>, h: HeaderMap, RawQuery(q): RawQuery) -> Reply {
    authed!(f, h);
    let q = pairs(q);
    let prefix = q
        .iter()
        .find(|(k, _)| k == "prefix")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let all = [
        json!({"symbol": "THI.TO", "symbolId": 38738, "description": "TIM HORTONS INC", "securityType": "Stock", "listingExchange": "TSX", "isTradable": true, "isQuotable": true, "currency": "CAD"}),
        json!({"symbol": "THIX", "symbolId": 99001, "description": "OTHER", "securityType": "Stock", "listingExchange": "NASDAQ", "isTradable": true, "isQuotable": true, "currency": "USD"}),
    ];
    let hits: Vec<Value> = all
        .into_iter()
        .filter(|s| s["symbol"].as_str().unwrap_or("").starts_with(&prefix))
        .collect();
    (StatusCode::OK, axum::Json(json!({"symbols": hits})))
}

async fn quote(State(f): State<Fake>, h: HeaderMap, Path(id): Path<i64>) -> Reply {
    authed!(f, h);
    assert_eq!(id, 38738);
    (
        StatusCode::OK,
        axum::Json(json!({"quotes": [
            {"symbol": "THI.TO", "symbolId": 38738, "tier": "", "bidPrice": 60.16, "bidSize": 300, "askPrice": 60.19, "askSize": 200,
             "lastTradeTrHrs": 60.17, "lastTradePrice": 60.17, "lastTradeSize": 100, "lastTradeTick": "Equal", "lastTradeTime": "2014-10-24T20:06:40.131000-04:00",
             "volume": 1234567, "openPrice": 60.0, "highPrice": 60.5, "lowPrice": 59.9, "delay": 0, "isHalted": false}
        ]})),
    )
}

async fn candles(State(f): State<Fake>, h: HeaderMap, RawQuery(q): RawQuery) -> Reply {
    authed!(f, h);
    let q = pairs(q);
    let interval = q
        .iter()
        .find(|(k, _)| k == "interval")
        .map(|(_, v)| v.as_str());
    let has_range = q
        .iter()
        .any(|(k, v)| k == "startTime" && v.ends_with("+00:00"));
    if interval != Some("OneDay") || !has_range {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"code": 1002, "message": "Invalid or malformed argument: interval"})),
        );
    }
    (
        StatusCode::OK,
        axum::Json(json!({"candles": [
            {"start": "2014-01-02T00:00:00.000000-05:00", "end": "2014-01-03T00:00:00.000000-05:00", "low": 70.3, "high": 70.78, "open": 70.68, "close": 70.73, "volume": 983609},
            {"start": "2014-01-03T00:00:00.000000-05:00", "end": "2014-01-04T00:00:00.000000-05:00", "low": 70.1, "high": 71.0, "open": 70.73, "close": 70.9, "volume": 765432}
        ]})),
    )
}

fn order_json(state: &str, limit: Value) -> Value {
    json!({"id": 177106005, "symbol": "THI.TO", "symbolId": 38738, "totalQuantity": 10, "openQuantity": 10, "filledQuantity": 0,
        "canceledQuantity": 0, "side": "Buy", "orderType": "Limit", "limitPrice": limit, "stopPrice": null, "isAllOrNone": false,
        "isAnonymous": false, "icebergQuantity": null, "minQuantity": null, "avgExecPrice": null, "lastExecPrice": null,
        "source": "TradingAPI", "timeInForce": "GoodTillCanceled", "gtdDate": null, "state": state, "clientReasonStr": "",
        "chainId": 177106005, "creationTime": "2014-10-23T20:03:41.636000-04:00", "updateTime": "2014-10-23T20:03:42.890000-04:00",
        "notes": "", "primaryRoute": "AUTO", "secondaryRoute": "", "orderRoute": "LAMP", "venueHoldingOrder": "",
        "comissionCharged": 0, "exchangeOrderId": "XS1771060050147", "isSignificantShareHolder": false, "isInsider": false,
        "isLimitOffsetInDollar": false, "userId": 3000124, "placementCommission": null, "legs": [], "strategyType": "SingleLeg",
        "triggerStopPrice": null, "orderGroupId": 0, "orderClass": null})
}

async fn orders(
    State(f): State<Fake>,
    h: HeaderMap,
    method: axum::http::Method,
    body: String,
) -> Reply {
    authed!(f, h);
    if method == axum::http::Method::POST {
        let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        let ok = v["symbolId"] == 38738
            && v["quantity"] == 10
            && v["orderType"] == "Limit"
            && v["timeInForce"] == "GoodTillCanceled"
            && v["action"] == "Buy"
            && v["primaryRoute"] == "AUTO"
            && v["limitPrice"].as_f64() == Some(60.1);
        f.inner.lock().expect("lock").order_bodies.push(v.clone());
        if !ok {
            return (
                StatusCode::BAD_REQUEST,
                axum::Json(
                    json!({"code": 1002, "message": format!("Invalid or malformed argument: {v}")}),
                ),
            );
        }
        return (
            StatusCode::OK,
            axum::Json(
                json!({"orderId": 177106005, "orders": [order_json("Accepted", json!(60.1))]}),
            ),
        );
    }
    (
        StatusCode::OK,
        axum::Json(json!({"orders": [order_json("Accepted", json!(60.1))]})),
    )
}

async fn one_order(
    State(f): State<Fake>,
    h: HeaderMap,
    method: axum::http::Method,
    Path((_, oid)): Path<(String, String)>,
) -> Reply {
    authed!(f, h);
    if oid != "177106005" {
        return (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"code": 1019, "message": "Order not found"})),
        );
    }
    let mut s = f.inner.lock().expect("lock");
    if method == axum::http::Method::DELETE {
        s.cancelled = true;
        return (StatusCode::OK, axum::Json(json!({"orderId": 177106005})));
    }
    let state = if s.cancelled { "Canceled" } else { "Accepted" };
    (
        StatusCode::OK,
        axum::Json(json!({"orders": [order_json(state, json!(60.1))]})),
    )
}

async fn executions(State(f): State<Fake>, h: HeaderMap) -> Reply {
    authed!(f, h);
    (
        StatusCode::OK,
        axum::Json(json!({"executions": [
            {"symbol": "AAPL", "symbolId": 8049, "quantity": 10, "side": "Buy", "price": 536.87, "id": 53817310, "orderId": 177106005,
             "orderChainId": 17710600, "exchangeExecId": "XS1771060050147", "timestamp": "2014-03-31T13:38:29.000000-04:00",
             "notes": "", "venue": "LAMP", "totalCost": 5368.7, "orderPlacementCommission": 0, "commission": 4.95,
             "executionFee": 0, "secFee": 0, "canadianExecutionFee": 0, "parentId": 0}
        ]})),
    )
}

/// `GET /v1/markets/quotes?ids=..&stream=true&mode=WebSocket` and
/// `GET /v1/notifications?mode=WebSocket`: `{"streamPort": N}`
/// (<https://www.questrade.com/api/documentation/streaming>).
async fn stream_port(
    State(f): State<Fake>,
    h: HeaderMap,
    uri: axum::http::Uri,
    RawQuery(q): RawQuery,
) -> Reply {
    authed!(f, h);
    f.inner
        .lock()
        .expect("lock")
        .port_requests
        .push((uri.path().to_string(), pairs(q)));
    (
        StatusCode::OK,
        axum::Json(json!({"streamPort": f.stream_port.get().copied().unwrap_or(9)})),
    )
}

async fn serve(f: Fake) -> String {
    let app = Router::new()
        .route("/oauth2/token", get(token))
        .route("/v1/accounts", get(accounts))
        .route("/v1/accounts/{id}/balances", get(balances))
        .route("/v1/accounts/{id}/positions", get(positions))
        .route("/v1/accounts/{id}/orders", get(orders).post(orders))
        .route(
            "/v1/accounts/{id}/orders/{oid}",
            get(one_order).delete(one_order),
        )
        .route("/v1/accounts/{id}/executions", get(executions))
        .route("/v1/symbols/search", get(search))
        .route("/v1/markets/quotes/{id}", get(quote))
        .route("/v1/markets/candles/{id}", get(candles))
        .route("/v1/markets/quotes", get(stream_port))
        .route("/v1/notifications", get(stream_port))
        .route("/v1/time", get(time))
        .with_state(f.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let _ = f.base.set(base.clone());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    base
}

fn client(base: &str, refresh: &str) -> QuestradeClient {
    client_with(base, refresh, None)
}

fn client_with(base: &str, refresh: &str, keepalive: Option<Duration>) -> QuestradeClient {
    QuestradeClient::new(QuestradeConfig {
        login_url: base.into(),
        api_url: None,
        refresh_token: refresh.into(),
        account_id: None,
        practice: false,
        policy: HttpPolicy {
            base_backoff: Duration::from_millis(5),
            max_retries: 1,
            ..HttpPolicy::default()
        },
        keepalive,
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

async fn stored_refresh(store: &Store) -> String {
    sqlx::query("SELECT refresh_token FROM broker_oauth_tokens WHERE venue = 'questrade'")
        .fetch_one(store.pool())
        .await
        .expect("row")
        .try_get(0)
        .expect("col")
}

async fn rotation_restart_and_the_v1_calls(url: &str, other_url: &str) {
    let fake = Fake::default();
    fake.inner.lock().expect("lock").current_refresh = "rt-0".into();
    let base = serve(fake.clone()).await;

    let store = store_at(url).await;
    let c = client(&base, "rt-0");
    c.attach_store(&store);
    assert_eq!(c.mode(), VenueMode::Live);
    let account = c.account().await.expect("account");
    assert_eq!(account.id, "26598145", "the primary account");
    assert_eq!(
        (
            account.balances[0].currency.as_str(),
            account.balances[0].cash
        ),
        ("CAD", dec!(243971.7))
    );
    assert_eq!(account.balances[1].buying_power, Some(dec!(461013.3)));
    assert_eq!(stored_refresh(&store).await, "rt-1");

    // Access token expired at the venue: one 401, one refresh, one retry.
    fake.expire_access();
    let pos = c.positions().await.expect("positions");
    assert_eq!(
        (
            pos[0].symbol.as_str(),
            pos[0].qty,
            pos[0].avg_price,
            pos[0].unrealized_pnl
        ),
        ("THI.TO", dec!(100), dec!(60.23), Some(dec!(-6)))
    );
    assert_eq!(stored_refresh(&store).await, "rt-2");

    let q = c.quote("thi.to").await.expect("quote");
    assert_eq!(
        (q.bid, q.ask, q.last, q.currency.as_str(), q.at_ms),
        (
            dec!(60.16),
            dec!(60.19),
            dec!(60.17),
            "CAD",
            1_414_195_600_131
        )
    );
    let bars = c
        .candles("THI.TO", Granularity::D1, 1)
        .await
        .expect("candles");
    assert_eq!(bars.len(), 1);
    assert_eq!(
        (bars[0].close, bars[0].volume),
        (dec!(70.9), Some(dec!(765432)))
    );
    let err = c
        .quote("NOPE")
        .await
        .expect_err("unknown symbol")
        .to_string();
    assert!(err.contains("NOPE"), "{err}");

    let req = OrderRequest {
        client_order_id: "q-1".into(),
        symbol: "THI.TO".into(),
        side: Side::Buy,
        qty: dec!(10),
        order_type: OrderType::Limit,
        limit_price: Some(dec!(60.10)),
        stop_price: None,
        trail_amount: None,
        trail_percent: None,
        time_in_force: TimeInForce::Gtc,
        reduce_to_position: false,
    };
    let o = c.place_order(&req, &[]).await.expect("place");
    assert_eq!(
        (
            o.id.as_str(),
            o.status,
            o.limit_price,
            o.client_order_id.as_str()
        ),
        ("177106005", OrderStatus::Open, Some(dec!(60.1)), "q-1")
    );
    let bad = OrderRequest {
        qty: dec!(11),
        ..req.clone()
    };
    let err = c
        .place_order(&bad, &[])
        .await
        .expect_err("venue refuses")
        .to_string();
    assert!(
        err.contains("HTTP 400") && err.contains("Invalid or malformed argument"),
        "{err}"
    );
    let frac = OrderRequest {
        qty: dec!(1.5),
        ..req
    };
    assert!(
        c.place_order(&frac, &[])
            .await
            .expect_err("fractional")
            .to_string()
            .contains("qty")
    );
    assert_eq!(c.orders(true).await.expect("orders").len(), 1);
    let cancelled = c.cancel_order("177106005").await.expect("cancel");
    assert_eq!(cancelled.status, OrderStatus::Cancelled);
    let ex = c.executions().await.expect("executions");
    assert_eq!(
        (ex[0].price, ex[0].commission, ex[0].qty),
        (dec!(536.87), dec!(4.95), dec!(10))
    );

    // Restart: a new client (the environment still says rt-0) over the same
    // database uses the stored, rotated token; rt-0 is never sent again.
    drop(c);
    store.pool().close().await;
    fake.expire_access();
    let store = store_at(url).await;
    let c2 = client(&base, "rt-0");
    c2.attach_store(&store);
    c2.account().await.expect("account after restart");
    assert_eq!(stored_refresh(&store).await, "rt-3");
    {
        let s = fake.inner.lock().expect("lock");
        assert_eq!(s.refreshes, ["rt-0", "rt-1", "rt-2"]);
        assert!(s.refused.is_empty(), "{:?}", s.refused);
    }
    // The fake refuses a used token, and so the error names no secret.
    let stale_store = store_at(other_url).await;
    let stale = client(&base, "rt-1");
    stale.attach_store(&stale_store);
    let err = stale.account().await.expect_err("reused token").to_string();
    assert!(err.contains("refused") && !err.contains("rt-"), "{err}");
    assert_eq!(fake.inner.lock().expect("lock").refused, ["rt-1"]);
}

#[tokio::test]
async fn questrade_rotation_restart_and_v1_calls_sqlite() {
    let dir = tempfile::tempdir().expect("tmp");
    let url = |n: &str| format!("sqlite://{}", dir.path().join(n).display());
    rotation_restart_and_the_v1_calls(&url("a.db"), &url("b.db")).await;
}

#[tokio::test]
async fn questrade_rotation_restart_and_v1_calls_postgres() {
    let Some(schema) = pg::schema("questrade_rotation_restart_and_v1_calls_postgres").await else {
        return;
    };
    let Some(other) = pg::schema("questrade_rotation_restart_and_v1_calls_postgres").await else {
        return;
    };
    rotation_restart_and_the_v1_calls(&schema.url, &other.url).await;
    schema.drop_schema().await;
    other.drop_schema().await;
}

// ---- Streaming: L1 quotes and order notifications over WebSocket ----
// <https://www.questrade.com/api/documentation/streaming>

/// A Questrade stream fake: checks the first message is a currently valid
/// access token (no `Bearer`), answers `{"success": true}`, then runs
/// `script` for the connection. With `refuse_first`, the first login is
/// refused as an expired token would be (the token is invalidated).
async fn qt_ws<F, Fut>(
    fake: &Fake,
    logins: Arc<Mutex<Vec<(String, String, bool)>>>,
    refuse_first: bool,
    script: F,
) -> support::ws::Fake
where
    F: Fn(support::ws::Conn) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    use support::ws::{recv_text, send_json};
    let f2 = fake.clone();
    let script = Arc::new(script);
    let ws = support::ws::serve(move |mut c| {
        let (fake, logins, script) = (f2.clone(), logins.clone(), script.clone());
        async move {
            let Some(token) = recv_text(&mut c.ws).await else {
                return;
            };
            if refuse_first && c.n == 0 {
                fake.expire_access();
            }
            let valid = fake
                .inner
                .lock()
                .expect("lock")
                .valid_access
                .contains(&token);
            logins
                .lock()
                .expect("lock")
                .push((c.path.clone(), token, valid));
            if !valid {
                send_json(
                    &mut c.ws,
                    &json!({"code": 1017, "message": "Access token is invalid"}),
                )
                .await;
                support::ws::hold(&mut c.ws).await;
                return;
            }
            send_json(&mut c.ws, &json!({"success": true})).await;
            script(c).await;
        }
    })
    .await;
    let _ = fake.stream_port.set(ws.port);
    ws
}

#[tokio::test]
async fn questrade_quote_stream_logs_in_with_the_token_and_refreshes_a_refused_one() {
    use support::ws::{hold, send_json};
    let fake = Fake::default();
    fake.inner.lock().expect("lock").current_refresh = "rt-0".into();
    let logins = Arc::new(Mutex::new(Vec::new()));
    let f2 = fake.clone();
    let ws = qt_ws(&fake, logins.clone(), true, move |mut c| {
        let _fake = f2.clone();
        async move {
            if c.n == 1 {
                send_json(&mut c.ws, &json!({"quotes": [
                    {"symbol": "THI.TO", "symbolId": 38738, "tier": "", "bidPrice": 83.65, "bidSize": 6500,
                     "askPrice": 83.67, "askSize": 9100, "lastTradePriceTrHrs": 83.66, "lastTradePrice": 83.66,
                     "lastTradeSize": 3100, "lastTradeTick": "Equal", "lastTradeTime": "2014-10-24T20:06:40.131000-04:00",
                     "volume": 80483500, "openPrice": 83.66, "highPrice": 83.86, "lowPrice": 83.66, "delay": 0, "isHalted": false}
                ]})).await;
                return; // dropped
            }
            // Updates may carry only what changed.
            send_json(&mut c.ws, &json!({"quotes": [{"symbolId": 38738, "bidPrice": 83.7}]})).await;
            hold(&mut c.ws).await;
        }
    })
    .await;
    let base = serve(fake.clone()).await;
    let store = store_at("sqlite::memory:").await;
    let qt = client(&base, "rt-0");
    qt.attach_store(&store);
    // Connection 0 is refused (expired token): refresh, then connection 1
    // gets a full quote and drops, connection 2 a partial update.
    let mut stream = qt
        .quote_stream_with(&["thi.to".to_string()], support::ws::fast_limits())
        .await
        .expect("stream");
    let mut quotes = Vec::new();
    for _ in 0..2 {
        quotes.push(
            tokio::time::timeout(Duration::from_secs(15), stream.next())
                .await
                .expect("bounded")
                .expect("an item")
                .expect("a quote"),
        );
    }
    drop(stream);
    assert_eq!(quotes[0].symbol, "THI.TO");
    assert_eq!(quotes[0].currency, "CAD");
    assert_eq!(quotes[0].bid, dec!(83.65));
    assert_eq!(quotes[0].ask, dec!(83.67));
    assert_eq!(quotes[0].last, dec!(83.66));
    assert!(quotes[0].at_ms > 0);
    assert_eq!(quotes[1].bid, dec!(83.7), "a partial update merged");
    assert_eq!(quotes[1].ask, dec!(83.67));
    let logins = logins.lock().expect("lock").clone();
    let seen: Vec<(&str, bool)> = logins.iter().map(|(_, t, v)| (t.as_str(), *v)).collect();
    assert_eq!(seen, [("at-1", false), ("at-2", true), ("at-2", true)]);
    assert!(
        logins
            .iter()
            .all(|(p, _, _)| p == "/v1/markets/quotes?ids=38738&stream=true&mode=WebSocket"),
        "{logins:?}"
    );
    assert_eq!(ws.count(), 3);
    let inner = fake.inner.lock().expect("lock");
    assert!(
        inner.refreshes.len() >= 2,
        "the expired token was refreshed"
    );
    let (path, q) = &inner.port_requests[0];
    assert_eq!(path, "/v1/markets/quotes");
    assert_eq!(
        q,
        &vec![
            ("ids".to_string(), "38738".to_string()),
            ("stream".to_string(), "true".to_string()),
            ("mode".to_string(), "WebSocket".to_string()),
        ]
    );
}

#[tokio::test]
async fn questrade_order_notifications_map_states_and_fills() {
    use support::ws::{hold, send_json};
    let fake = Fake::default();
    fake.inner.lock().expect("lock").current_refresh = "rt-0".into();
    let logins = Arc::new(Mutex::new(Vec::new()));
    let order = |state: &str, filled: u32, avg: Option<f64>| {
        json!({"id": 177106005, "symbol": "AAPL", "symbolId": 8049, "totalQuantity": 10, "openQuantity": 10 - filled,
            "filledQuantity": filled, "canceledQuantity": 0, "side": "Buy", "orderType": "Limit", "limitPrice": 537,
            "stopPrice": null, "isAllOrNone": false, "isAnonymous": false, "avgExecPrice": avg, "lastExecPrice": avg,
            "source": "TradingAPI", "timeInForce": "Day", "gtdDate": null, "state": state, "rejectionReason": "",
            "chainId": 177106005, "creationTime": "2014-10-23T20:03:41.636000-04:00",
            "updateTime": "2014-10-23T20:03:42.890000-04:00", "notes": "", "primaryRoute": "AUTO",
            "secondaryRoute": "", "orderRoute": "LAMP", "venueHoldingOrder": "", "comissionCharged": 0,
            "exchangeOrderId": "XS177106005", "isSignificantShareHolder": false, "isInsider": false,
            "isLimitOffsetInDollar": false, "userId": 3000124, "placementCommission": null, "legs": [],
            "strategyType": "SingleLeg", "triggerStopPrice": null, "orderGroupId": 0, "orderClass": null})
    };
    let exec = |qty: u32, price: f64| {
        json!({"symbol": "AAPL", "symbolId": 8049, "quantity": qty, "side": "Buy", "price": price, "id": 53817310,
            "orderId": 177106005, "orderChainId": 17710600, "exchangeExecId": "XS1771060050147",
            "timestamp": "2014-10-23T20:03:42.000000-04:00", "notes": "", "venue": "LAMP", "totalCost": 0,
            "orderPlacementCommission": 0, "commission": 4.95, "executionFee": 0, "secFee": 0,
            "canadianExecutionFee": 0, "parentId": 0})
    };
    let ws = qt_ws(&fake, logins.clone(), false, move |mut c| async move {
        if c.n == 0 {
            send_json(
                &mut c.ws,
                &json!({"orders": [order("Accepted", 0, None)], "accountNumber": 26598145}),
            )
            .await;
            // Another account of the login: not ours.
            send_json(
                &mut c.ws,
                &json!({"orders": [order("Executed", 10, Some(1.0))], "accountNumber": 26598146}),
            )
            .await;
            send_json(
                &mut c.ws,
                &json!({"orders": [order("Partial", 4, Some(536.9))],
                "executions": [exec(4, 536.9)], "accountNumber": 26598145}),
            )
            .await;
            return; // dropped
        }
        send_json(
            &mut c.ws,
            &json!({"orders": [order("Executed", 10, Some(536.87))],
            "executions": [exec(6, 536.85)], "accountNumber": 26598145}),
        )
        .await;
        hold(&mut c.ws).await;
    })
    .await;
    let base = serve(fake.clone()).await;
    let store = store_at("sqlite::memory:").await;
    let qt = client(&base, "rt-0");
    qt.attach_store(&store);
    let mut stream = qt
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
    assert_eq!(events, ["Accepted", "Partial", "Executed"]);
    let statuses: Vec<OrderStatus> = ups.iter().map(|u| u.order.status).collect();
    assert_eq!(
        statuses,
        [
            OrderStatus::Open,
            OrderStatus::PartiallyFilled,
            OrderStatus::Filled
        ]
    );
    assert!(
        ups.iter()
            .all(|u| u.order.account_id == "26598145" && u.order.symbol == "AAPL")
    );
    assert_eq!(ups[0].fill_qty, None);
    assert_eq!(
        (ups[1].fill_qty, ups[1].fill_price),
        (Some(dec!(4)), Some(dec!(536.9)))
    );
    assert_eq!(ups[1].order.filled_qty, dec!(4));
    assert_eq!(
        (ups[2].fill_qty, ups[2].fill_price),
        (Some(dec!(6)), Some(dec!(536.85)))
    );
    assert_eq!(ups[2].order.avg_fill_price, Some(dec!(536.87)));
    assert_eq!(ups[2].order.limit_price, Some(dec!(537)));
    assert_eq!(ws.count(), 2, "reconnected once");
    let logins = logins.lock().expect("lock").clone();
    assert!(
        logins
            .iter()
            .all(|(p, t, valid)| p == "/v1/notifications?mode=WebSocket"
                && t.starts_with("at-")
                && *valid),
        "{logins:?}"
    );
    let inner = fake.inner.lock().expect("lock");
    assert_eq!(inner.time_requests, (0, 0), "no keep-alive configured");
    assert_eq!(inner.port_requests.len(), 2, "a port per connection");
    assert_eq!(inner.port_requests[0].0, "/v1/notifications");
    assert_eq!(
        inner.port_requests[0].1,
        vec![("mode".to_string(), "WebSocket".to_string())]
    );
}

#[tokio::test]
async fn an_open_questrade_stream_keeps_its_session_alive_with_rest_requests() {
    // "Keeping a socket open does not extend your session. You need to send
    // requests at least every 30 minutes" (the streaming page).
    let fake = Fake::default();
    fake.inner.lock().expect("lock").current_refresh = "rt-0".into();
    let logins = Arc::new(Mutex::new(Vec::new()));
    let ws = qt_ws(&fake, logins.clone(), false, move |mut c| async move {
        support::ws::hold(&mut c.ws).await;
    })
    .await;
    let base = serve(fake.clone()).await;
    let store = store_at("sqlite::memory:").await;
    let qt = client_with(&base, "rt-0", Some(Duration::from_millis(100)));
    qt.attach_store(&store);
    let stream = qt
        .order_stream_with(support::ws::fast_limits())
        .await
        .expect("stream");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while fake.inner.lock().expect("lock").time_requests.0 < 3 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no keep-alive requests within 10 s: {:?}",
            fake.inner.lock().expect("lock").time_requests
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(stream);
    assert_eq!(
        fake.inner.lock().expect("lock").time_requests.1,
        0,
        "every keep-alive carried a valid token"
    );
    assert_eq!(ws.count(), 1, "the socket stayed open");
    assert_eq!(logins.lock().expect("lock").len(), 1);
}

#[tokio::test]
async fn a_slow_questrade_login_does_not_hold_the_sqlite_connection() {
    // SQLite runs on one connection for the whole server: a refresh that
    // held it across the HTTP exchange would stall every other tool call
    // (and the audit log) for as long as the login server takes.
    let fake = Fake::default();
    {
        let mut s = fake.inner.lock().expect("lock");
        s.current_refresh = "rt-0".into();
        s.token_delay = Duration::from_millis(2500);
    }
    let base = serve(fake.clone()).await;
    let store = store_at("sqlite::memory:").await;
    let qt = client(&base, "rt-0");
    qt.attach_store(&store);
    let call = tokio::spawn({
        let qt = qt.clone();
        async move { qt.account().await }
    });
    // Wait until the token request is in flight.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while fake.inner.lock().expect("lock").refreshes.is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "no token request");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let other = tokio::time::timeout(
        Duration::from_millis(1000),
        sqlx::query("SELECT COUNT(*) FROM broker_oauth_tokens").fetch_one(store.pool()),
    )
    .await
    .expect("the database answers while the login server is slow")
    .expect("query");
    let rows: i64 = other.try_get(0).expect("count");
    assert_eq!(rows, 0, "nothing stored before the answer");
    let account = call.await.expect("join").expect("account");
    assert_eq!(account.id, "26598145");
    assert_eq!(stored_refresh(&store).await, "rt-1");
}

#[tokio::test]
async fn two_servers_sharing_a_sqlite_file_both_get_a_session_from_one_rotation() {
    // Claude Desktop and Claude Code can each start a server on the same
    // state file. Both find no stored token and spend the configured one at
    // once: one wins the rotation, the other is refused and picks up the
    // winner's stored token instead of failing.
    let fake = Fake::default();
    {
        let mut s = fake.inner.lock().expect("lock");
        s.current_refresh = "rt-0".into();
        s.token_delay = Duration::from_millis(1000);
    }
    let base = serve(fake.clone()).await;
    let dir = tempfile::tempdir().expect("dir");
    let url = format!("sqlite://{}", dir.path().join("state.db").display());
    let (store_a, store_b) = (store_at(&url).await, Store::open(&url).await.expect("open"));
    let (a, b) = (client(&base, "rt-0"), client(&base, "rt-0"));
    a.attach_store(&store_a);
    b.attach_store(&store_b);
    let (ra, rb) = tokio::join!(a.account(), b.account());
    assert_eq!(ra.expect("first server").id, "26598145");
    assert_eq!(rb.expect("second server").id, "26598145");
    {
        let s = fake.inner.lock().expect("lock");
        assert_eq!(s.refreshes, ["rt-0"], "one rotation");
        assert_eq!(s.refused, ["rt-0"], "the other spent token was refused");
    }
    assert_eq!(stored_refresh(&store_a).await, "rt-1");
}

/// Issue 9, item 1, at Questrade: the fake account holds 100 THI.TO. A
/// plain `sell` of 150 used to pass the checks and would sell 50 short; it
/// is refused by `short_sale` with no order sent, and the review of the
/// same sell with `reduce_to_position` sells the 100 held.
#[tokio::test]
async fn a_plain_sell_beyond_the_questrade_position_is_a_refused_short_sale() {
    use nt_brokers::desk;

    let fake = Fake::default();
    fake.inner.lock().expect("lock").current_refresh = "rt-0".into();
    let base = serve(fake.clone()).await;
    let store = store_at("sqlite::memory:").await;
    let c = client(&base, "rt-0");
    c.attach_store(&store);
    let broker: Arc<dyn Broker> = Arc::new(c);
    let sell = OrderRequest {
        client_order_id: "q-s1".into(),
        symbol: "THI.TO".into(),
        side: Side::Sell,
        qty: dec!(150),
        order_type: OrderType::Limit,
        limit_price: Some(dec!(61)),
        stop_price: None,
        trail_amount: None,
        trail_percent: None,
        time_in_force: TimeInForce::Gtc,
        reduce_to_position: false,
    };
    let err = desk::place(&store, &broker, &sell, 1_000)
        .await
        .expect_err("short sale")
        .to_string();
    assert!(
        err.contains("short_sale")
            && err.contains("would sell 50 short")
            && err.contains("100 held long"),
        "{err}"
    );
    assert!(fake.inner.lock().expect("lock").order_bodies.is_empty());
    let reduced = OrderRequest {
        reduce_to_position: true,
        ..sell
    };
    let review = desk::check(&store, broker.as_ref(), &reduced, 1_000)
        .await
        .expect("check");
    assert_eq!(
        (review.order.qty, review.reduced_from),
        (dec!(100), Some(dec!(150)))
    );
    assert!(
        nt_brokers::compliance::refusal(&review.checks).is_none(),
        "{:?}",
        review.checks
    );
}
