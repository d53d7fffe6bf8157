//! The CLOB user channel against a local tokio-tungstenite fake on
//! 127.0.0.1 speaking the documented shapes
//! (https://docs.polymarket.com/market-data/websocket/user-channel,
//! asyncapi-user.json v1.0.0): the fake checks the authenticated
//! subscription, sends `order` and `trade` frames (one object or an array,
//! a repeated trade, a trade going MATCHED -> MINED -> CONFIRMED, a stale
//! status), drops the connection, and checks the client resubscribes; the
//! test then reads `pm_live_orders`, `pm_live_fills` and `audit_log`. The
//! same scenario runs on SQLite and, when reachable, on PostgreSQL; and once
//! through the bundle's `polymarket_stream_orders` tool.

mod common;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::TestBundle;
use futures::{SinkExt, StreamExt};
use nt_mcp_core::bundle::{CancellationToken, ToolCtx};
use nt_mcp_core::clock::ManualClock;
use nt_mcp_core::store::core_migrations;
use nt_mcp_core::{Store, ToolBundle, ToolErrorKind};
use nt_polymarket::PolymarketConfig;
use nt_polymarket::auth::ApiCreds;
use nt_polymarket::user_ws::{
    OrderEventKind, Recorder, TradeStatus, UserEvent, UserStreamConfig, UserStreamState,
    parse_frame, run,
};
use nt_polymarket::venue::AuditInfo;
use rust_decimal_macros::dec;
use serde_json::{Value, json};
use sqlx::Row;
use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};

/// Our API key (the docs' example owner) and another account's.
const KEY: &str = "9180014b-33c8-9240-a14b-bdca11c0a465";
const OTHER: &str = "1b2c3d4e-0000-4000-8000-000000000001";
const SECRET: &str = "c2VjcmV0LWtleS1mb3ItdGVzdHMtb25seS0xMjM0NTY3OA==";
const PASS: &str = "pass-phrase";
const PK: &str = "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318";
const MARKET: &str = "0xbd31dc8a20211944f6b70f31557f1001557b59905b7738480ca09bd4532f84af";
const ASSET: &str = "52114319501245915516055106046884209969926127482827954674443846427813813222426";
/// Orders this server placed (rows in pm_live_orders) ...
const ORDER_A: &str = "0xaaaa000000000000000000000000000000000000000000000000000000000001";
const ORDER_B: &str = "0xbbbb000000000000000000000000000000000000000000000000000000000002";
/// ... and orders it did not.
const FOREIGN: &str = "0xffff000000000000000000000000000000000000000000000000000000000003";
const THEIR_TAKER: &str = "0xcccc000000000000000000000000000000000000000000000000000000000004";
const THEIR_MAKER: &str = "0xdddd000000000000000000000000000000000000000000000000000000000005";
const T1: &str = "28c4d2eb-bbea-40e7-a9f0-b2fdb56b2c2e";
const T2: &str = "38c4d2eb-bbea-40e7-a9f0-b2fdb56b2c2f";
const T3: &str = "48c4d2eb-bbea-40e7-a9f0-b2fdb56b2c30";
const T0: i64 = 1_750_000_000_000;

/// An `order` event in the documented shape.
fn order(id: &str, kind: &str, side: &str, price: &str, original: &str, matched: &str) -> Value {
    json!({"asset_id": ASSET, "associate_trades": null, "event_type": "order", "id": id,
           "market": MARKET, "order_owner": KEY, "original_size": original, "outcome": "YES",
           "owner": KEY, "price": price, "side": side, "size_matched": matched,
           "timestamp": "1672290687", "type": kind})
}

fn maker(id: &str, owner: &str, amount: &str, price: &str) -> Value {
    json!({"asset_id": ASSET, "matched_amount": amount, "order_id": id, "outcome": "YES",
           "owner": owner, "price": price})
}

/// A `trade` event in the documented shape.
#[allow(clippy::too_many_arguments)]
fn trade(
    id: &str,
    status: &str,
    taker: &str,
    trade_owner: &str,
    makers: Vec<Value>,
    size: &str,
    price: &str,
    last_update: &str,
) -> Value {
    json!({"asset_id": ASSET, "event_type": "trade", "id": id, "last_update": last_update,
           "maker_orders": makers, "market": MARKET, "matchtime": "1700000001", "outcome": "YES",
           "owner": KEY, "price": price, "side": "BUY", "size": size, "status": status,
           "taker_order_id": taker, "timestamp": last_update, "trade_owner": trade_owner,
           "type": "TRADE"})
}

fn t1(status: &str, last_update: &str) -> Value {
    // Our order A (BUY 10 @ 0.57) takes 4 from another account's maker order.
    trade(
        T1,
        status,
        ORDER_A,
        KEY,
        vec![maker(THEIR_MAKER, OTHER, "4", "0.57")],
        "4",
        "0.57",
        last_update,
    )
}

/// The frames of each connection, in order.
fn scripts() -> VecDeque<Vec<String>> {
    let s = |v: Value| v.to_string();
    VecDeque::from([
        vec![
            s(order(ORDER_A, "PLACEMENT", "BUY", "0.57", "10", "0")),
            // An array frame: A matches 4 of 10, and the trade that did it.
            s(json!([
                order(ORDER_A, "UPDATE", "BUY", "0.57", "10", "4"),
                t1("MATCHED", "1700000001")
            ])),
            // The same trade again: nothing changes.
            s(t1("MATCHED", "1700000001")),
            // An order this server did not place.
            s(order(FOREIGN, "PLACEMENT", "SELL", "0.70", "3", "0")),
            // Another account takes 8: 5 from our order B (SELL 20 @ 0.60), 3 from someone else.
            s(trade(
                T2,
                "MATCHED",
                THEIR_TAKER,
                OTHER,
                vec![
                    maker(ORDER_B, KEY, "5", "0.60"),
                    maker(THEIR_MAKER, OTHER, "3", "0.60"),
                ],
                "8",
                "0.60",
                "1700000002",
            )),
            s(order(ORDER_B, "UPDATE", "SELL", "0.60", "20", "5")),
        ],
        vec![
            // After the reconnect: A's state again (the initial dump) changes nothing.
            s(order(ORDER_A, "UPDATE", "BUY", "0.57", "10", "4")),
            s(t1("MINED", "1700000010")),
            s(t1("CONFIRMED", "1700000020")),
            // A late, older MINED frame must not undo CONFIRMED.
            s(t1("MINED", "1700000010")),
            // A fills completely: 10 of 10.
            s(order(ORDER_A, "UPDATE", "BUY", "0.57", "10", "10")),
            // A trade of ours whose taker order this server did not place.
            s(trade(
                T3,
                "MATCHED",
                FOREIGN,
                KEY,
                vec![maker(THEIR_MAKER, OTHER, "2", "0.70")],
                "2",
                "0.70",
                "1700000030",
            )),
            // B is cancelled after 5 of 20 matched.
            s(order(ORDER_B, "CANCELLATION", "SELL", "0.60", "20", "5")),
        ],
    ])
}

#[derive(Default)]
struct Fake {
    subs: Mutex<Vec<Value>>,
    paths: Mutex<Vec<String>>,
    scripts: Mutex<VecDeque<Vec<String>>>,
    /// Drops the waiting connection (no close frame).
    drop_now: Notify,
    pongs: AtomicU32,
    /// Close each connection right after its frames.
    close_after_frames: bool,
}

async fn conn(f: Arc<Fake>, tcp: tokio::net::TcpStream) {
    let paths = f.clone();
    // The handshake callback's error type is tungstenite's (large) HTTP response.
    #[allow(clippy::result_large_err)]
    let cb = move |req: &Request, resp: Response| {
        paths
            .paths
            .lock()
            .expect("lock")
            .push(req.uri().path().to_string());
        Ok(resp)
    };
    let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(tcp, cb).await else {
        return;
    };
    let Ok(Some(Ok(Message::Text(first)))) =
        tokio::time::timeout(Duration::from_secs(2), ws.next()).await
    else {
        return;
    };
    f.subs
        .lock()
        .expect("lock")
        .push(serde_json::from_str(first.as_str()).unwrap_or_default());
    let frames = f
        .scripts
        .lock()
        .expect("lock")
        .pop_front()
        .unwrap_or_default();
    for frame in frames {
        if ws.send(Message::Text(frame.into())).await.is_err() {
            return;
        }
    }
    if f.close_after_frames {
        let _ = ws.close(None).await;
        return;
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        tokio::select! {
            () = tokio::time::sleep_until(deadline) => return,
            () = f.drop_now.notified() => return,
            msg = ws.next() => match msg {
                Some(Ok(Message::Text(t))) if t.as_str() == "PING" => {
                    if ws.send(Message::Text("PONG".into())).await.is_err() {
                        return;
                    }
                    f.pongs.fetch_add(1, Ordering::SeqCst);
                }
                Some(Ok(Message::Close(_)) | Err(_)) | None => return,
                Some(Ok(_)) => {}
            }
        }
    }
}

/// A fake user channel; returns its `ws://…/ws/market` URL (the bundle's
/// market-channel setting, from which the user URL is derived).
async fn serve(fake: Arc<Fake>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("ws://{}/ws/market", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        for _ in 0..10 {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(conn(fake.clone(), tcp));
        }
    });
    url
}

fn creds() -> ApiCreds {
    ApiCreds {
        key: KEY.into(),
        secret: SECRET.into(),
        passphrase: PASS.into(),
    }
}

/// A recorder writing as the tool would, at `now_ms`.
fn recorder(store: &Store, now_ms: i64) -> Recorder {
    let audit = AuditInfo {
        variant: "test".into(),
        tool: "polymarket_stream_orders".into(),
        caller: "stdio".into(),
        args_digest: AuditInfo::digest(&json!({})),
        at_ms: 0,
    };
    Recorder::new(
        store.pool().clone(),
        Arc::new(ManualClock::new(now_ms)),
        audit,
        KEY,
    )
}

async fn open_store(url: &str) -> Store {
    let store = Store::open(url).await.expect("open");
    let mut migrations = core_migrations();
    migrations.extend(nt_polymarket::migrations());
    store.migrate(&migrations).await.expect("migrate");
    store
}

/// A live order as `live::place` leaves it after the venue accepted it.
async fn placed(store: &Store, cid: &str, venue_id: &str, side: &str, price: &str, size: &str) {
    sqlx::query(
        "INSERT INTO pm_live_orders (client_order_id, venue_order_id, market, token_id, side, price, size, \
         order_type, status, signed_order, response, created_ms, updated_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'GTC', 'live', '{}', '{\"success\": true}', $8, $8)",
    )
    .bind(cid)
    .bind(venue_id)
    .bind(MARKET)
    .bind(ASSET)
    .bind(side)
    .bind(price)
    .bind(size)
    .bind(T0)
    .execute(store.pool())
    .await
    .expect("insert order");
}

async fn wait_for(what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !ready() {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn order_row(store: &Store, cid: &str) -> (String, Option<String>) {
    let r =
        sqlx::query("SELECT status, size_matched FROM pm_live_orders WHERE client_order_id = $1")
            .bind(cid)
            .fetch_one(store.pool())
            .await
            .expect("order row");
    (r.get("status"), r.get("size_matched"))
}

async fn fill_row(store: &Store, trade_id: &str) -> Value {
    let r = sqlx::query("SELECT * FROM pm_live_fills WHERE trade_id = $1")
        .bind(trade_id)
        .fetch_one(store.pool())
        .await
        .expect("fill row");
    json!({
        "status": r.get::<String, _>("status"),
        "role": r.get::<String, _>("role"),
        "order_id": r.get::<Option<String>, _>("venue_order_id"),
        "client_order_id": r.get::<Option<String>, _>("client_order_id"),
        "placed_here": r.get::<i64, _>("placed_here"),
        "own_size": r.get::<String, _>("own_size"),
        "own_price": r.get::<String, _>("own_price"),
        "size": r.get::<String, _>("size"),
        "last_update": r.get::<Option<String>, _>("last_update"),
    })
}

async fn audit_rows(store: &Store) -> Vec<(String, Value)> {
    sqlx::query(
        "SELECT outcome, detail FROM audit_log WHERE tool = 'polymarket_stream_orders' ORDER BY id",
    )
    .fetch_all(store.pool())
    .await
    .expect("audit")
    .iter()
    .map(|r| {
        let detail: Option<String> = r.get("detail");
        (
            r.get::<String, _>("outcome"),
            detail
                .and_then(|d| serde_json::from_str(&d).ok())
                .unwrap_or(Value::Null),
        )
    })
    .collect()
}

/// Checks the tables after both connections' frames were applied.
async fn check_store(store: &Store) {
    // A: PLACEMENT 0, UPDATE 4, UPDATE 10 of 10 -> matched. B: 5 of 20, then cancelled.
    assert_eq!(
        order_row(store, "cid-a").await,
        ("matched".into(), Some("10".into()))
    );
    assert_eq!(
        order_row(store, "cid-b").await,
        ("cancelled".into(), Some("5".into()))
    );
    assert_eq!(
        fill_row(store, T1).await,
        json!({"status": "CONFIRMED", "role": "taker", "order_id": ORDER_A, "client_order_id": "cid-a",
               "placed_here": 1, "own_size": "4", "own_price": "0.57", "size": "4",
               "last_update": "1700000020"})
    );
    // Our maker share of T2 is B's 5 (of 8) at B's price 0.60.
    assert_eq!(
        fill_row(store, T2).await,
        json!({"status": "MATCHED", "role": "maker", "order_id": ORDER_B, "client_order_id": "cid-b",
               "placed_here": 1, "own_size": "5", "own_price": "0.6", "size": "8",
               "last_update": "1700000002"})
    );
    // T3: ours by the trade owner (our key), but this server did not place the order.
    assert_eq!(
        fill_row(store, T3).await,
        json!({"status": "MATCHED", "role": "taker", "order_id": FOREIGN, "client_order_id": null,
               "placed_here": 0, "own_size": "2", "own_price": "0.7", "size": "2",
               "last_update": "1700000030"})
    );
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pm_live_fills")
        .fetch_one(store.pool())
        .await
        .expect("count");
    assert_eq!(n, 3, "one row per trade id");
    let audit = audit_rows(store).await;
    let outcomes: Vec<&str> = audit.iter().map(|(o, _)| o.as_str()).collect();
    assert_eq!(
        outcomes,
        [
            "live_order_update", // A placed (size matched 0)
            "live_order_update", // A 4 of 10
            "live_fill",         // T1 MATCHED
            "live_fill",         // T2 MATCHED
            "live_order_update", // B 5 of 20
            "live_fill_status",  // T1 MINED
            "live_fill_status",  // T1 CONFIRMED
            "live_order_update", // A 10 of 10 -> matched
            "live_fill",         // T3 MATCHED
            "live_order_update", // B cancelled
        ]
    );
    assert_eq!(audit[1].1["status"], "live");
    assert_eq!(audit[1].1["size_matched"], "4");
    assert_eq!(audit[6].1["status_before"], "MINED");
    assert_eq!(audit[6].1["status"], "CONFIRMED");
    assert_eq!(audit[7].1["status"], "matched");
    assert_eq!(audit[8].1["placed_here"], false);
    assert_eq!(
        audit[8].1["note"],
        "fill of an order this server did not place"
    );
    assert_eq!(audit[9].1["status_before"], "live");
    assert_eq!(audit[9].1["status"], "cancelled");
}

fn check_subscriptions(fake: &Fake, markets: Value) {
    let subs = fake.subs.lock().expect("lock").clone();
    assert_eq!(subs.len(), 2, "subscribed, dropped, resubscribed: {subs:?}");
    let want = json!({"auth": {"apiKey": KEY, "secret": SECRET, "passphrase": PASS},
                      "type": "user", "markets": markets, "assets_ids": [], "initial_dump": true});
    assert_eq!(subs[0], want);
    assert_eq!(subs[1], want, "the same subscription after the reconnect");
    let paths = fake.paths.lock().expect("lock").clone();
    assert!(paths.iter().all(|p| p == "/ws/user"), "{paths:?}");
}

async fn scenario(store_url: &str) {
    let store = open_store(store_url).await;
    placed(&store, "cid-a", ORDER_A, "BUY", "0.57", "10").await;
    placed(&store, "cid-b", ORDER_B, "SELL", "0.6", "20").await;
    let fake = Arc::new(Fake {
        scripts: Mutex::new(scripts()),
        ..Fake::default()
    });
    let market_url = serve(fake.clone()).await;
    let mut cfg = UserStreamConfig::new(
        &nt_polymarket::user_ws::user_url(&market_url),
        creds(),
        vec![MARKET.to_string()],
    );
    cfg.ping_every = Duration::from_millis(30);
    cfg.backoff = Duration::from_millis(20);
    cfg.max_reconnects = 3;
    let recorder = recorder(&store, T0 + 1000);
    let state = UserStreamState::default();
    let cancel = CancellationToken::new();
    let task = tokio::spawn(run(cfg, recorder, state.clone(), cancel.clone()));

    // Connection 1: 4 order events and 3 trade events applied, one PONG.
    wait_for("first connection's events", || {
        let s = state.stats();
        s.orders_updated + s.orders_unchanged + s.orders_not_placed_here == 4
            && s.fills_recorded + s.fills_updated + s.fills_unchanged == 3
            && s.pongs >= 1
    })
    .await;
    let s = state.stats();
    assert_eq!((s.orders_updated, s.orders_not_placed_here), (3, 1));
    assert_eq!(
        (s.fills_recorded, s.fills_unchanged),
        (2, 1),
        "T1 twice is one fill"
    );
    fake.drop_now.notify_one();

    // Connection 2, after the reconnect and resubscription.
    wait_for("second connection's events", || {
        let s = state.stats();
        s.order_events == 7
            && s.trade_events == 7
            && s.store_errors == 0
            && s.unreadable == 0
            && s.orders_updated + s.orders_unchanged + s.orders_not_placed_here == 7
            && s.fills_recorded + s.fills_updated + s.fills_unchanged == 7
    })
    .await;
    cancel.cancel();
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("stops on cancel")
        .expect("join")
        .expect("no error");
    let s = state.stats();
    assert!(s.connects >= 2 && s.reconnects >= 1, "{s:?}");
    assert_eq!(s.subscriptions, s.connects);
    assert!(s.pings >= s.pongs && fake.pongs.load(Ordering::SeqCst) >= 1);
    assert_eq!(
        (
            s.orders_updated,
            s.orders_unchanged,
            s.orders_not_placed_here
        ),
        (5, 1, 1)
    );
    assert_eq!(
        (
            s.fills_recorded,
            s.fills_updated,
            s.fills_unchanged,
            s.fills_not_placed_here
        ),
        (3, 2, 2, 1)
    );
    assert!(!s.connected);
    check_subscriptions(&fake, json!([MARKET]));
    check_store(&store).await;
}

#[tokio::test]
async fn user_channel_feeds_live_orders_and_fills_on_sqlite() {
    scenario("sqlite::memory:").await;
}

/// The same on PostgreSQL (`postgres://postgres@127.0.0.1:5432/test`, or
/// `NT_TEST_POSTGRES_URL`) in a private schema; skipped when unreachable,
/// except under `CI=true`.
#[tokio::test]
async fn user_channel_feeds_live_orders_and_fills_on_postgres() {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let server = std::env::var("NT_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/test".into());
    let conn = tokio::time::timeout(
        Duration::from_secs(5),
        sqlx::AnyConnection::connect(&server),
    )
    .await;
    let mut conn = match conn {
        Ok(Ok(c)) => c,
        other => {
            let why = match other {
                Ok(Err(e)) => e.to_string(),
                _ => "no answer in 5 s".into(),
            };
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true but PostgreSQL is not reachable: {why}"
            );
            eprintln!("SKIPPED: user channel on PostgreSQL: not reachable: {why}");
            return;
        }
    };
    let schema = format!(
        "nt_pm_userws_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    );
    sqlx::raw_sql(&format!("CREATE SCHEMA {schema}"))
        .execute(&mut conn)
        .await
        .expect("create schema");
    let sep = if server.contains('?') { '&' } else { '?' };
    let url = format!("{server}{sep}options=-c%20search_path%3D{schema}");
    let result =
        futures::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(scenario(&url))).await;
    let _ = sqlx::raw_sql(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
        .execute(&mut conn)
        .await;
    let _ = conn.close().await;
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

#[test]
fn parses_the_documented_frames() {
    // The trade example of https://docs.polymarket.com/market-data/websocket/user-channel.
    let doc_trade = r#"{
      "asset_id": "52114319501245915516055106046884209969926127482827954674443846427813813222426",
      "event_type": "trade", "id": "28c4d2eb-bbea-40e7-a9f0-b2fdb56b2c2e", "last_update": "1672290701",
      "maker_orders": [{"asset_id": "52114319501245915516055106046884209969926127482827954674443846427813813222426",
        "matched_amount": "10", "order_id": "0xff354cd7ca7539dfa9c28d90943ab5779a4eac34b9b37a757d7b32bdfb11790b",
        "outcome": "YES", "owner": "9180014b-33c8-9240-a14b-bdca11c0a465", "price": "0.57"}],
      "market": "0xbd31dc8a20211944f6b70f31557f1001557b59905b7738480ca09bd4532f84af",
      "matchtime": "1672290701", "outcome": "YES", "owner": "9180014b-33c8-9240-a14b-bdca11c0a465",
      "price": "0.57", "side": "BUY", "size": "10", "status": "MATCHED",
      "taker_order_id": "0x06bc63e346ed4ceddce9efd6b3af37c8f8f440c92fe7da6b2d0f9e4ccbc50c42",
      "timestamp": "1672290701", "trade_owner": "9180014b-33c8-9240-a14b-bdca11c0a465", "type": "TRADE"}"#;
    let (events, bad) = parse_frame(doc_trade);
    assert_eq!(bad, 0);
    let [UserEvent::Trade(t)] = events.as_slice() else {
        panic!("one trade: {events:?}")
    };
    assert_eq!(t.id, T1);
    assert_eq!(t.status, TradeStatus::Matched);
    assert_eq!((t.price, t.size), (dec!(0.57), dec!(10)));
    assert_eq!(t.side, "BUY");
    assert_eq!(t.market, MARKET);
    assert_eq!(
        t.taker_order_id,
        "0x06bc63e346ed4ceddce9efd6b3af37c8f8f440c92fe7da6b2d0f9e4ccbc50c42"
    );
    assert_eq!(t.maker_orders.len(), 1);
    assert_eq!(t.maker_orders[0].matched_amount, dec!(10));
    assert_eq!(t.maker_orders[0].owner, KEY);
    assert_eq!(t.last_update, "1672290701");

    // An array frame: an order event, an event type this client ignores,
    // and a trade with a bad size (counted, skipped; the rest is kept).
    let frame = json!([
        order(ORDER_A, "UPDATE", "sell", "0.57", "10", "2.5"),
        {"event_type": "book", "asset_id": ASSET},
        {"event_type": "trade", "id": "x", "status": "MINED", "size": "lots"}
    ])
    .to_string();
    let (events, bad) = parse_frame(&frame);
    assert_eq!(bad, 1);
    let [UserEvent::Order(o)] = events.as_slice() else {
        panic!("one order: {events:?}")
    };
    assert_eq!(o.kind, OrderEventKind::Update);
    assert_eq!(o.side, "SELL");
    assert_eq!(
        (o.price, o.original_size, o.size_matched),
        (dec!(0.57), dec!(10), dec!(2.5))
    );
    assert_eq!(o.owner, KEY);
    assert!(o.associate_trades.is_empty());

    // Keepalives and garbage.
    assert_eq!(parse_frame("PONG"), (vec![], 0));
    assert_eq!(parse_frame("{not json"), (vec![], 1));
    // An order event without an id cannot be applied.
    assert_eq!(
        parse_frame(r#"{"event_type": "order", "type": "PLACEMENT"}"#).1,
        1
    );
}

// ------------------------------------------------------------ through the tool

fn ctx(store: Store) -> ToolCtx {
    common::ctx_at(store, T0, true)
}

async fn call(b: &TestBundle, ctx: &ToolCtx, args: Value) -> Value {
    b.call("polymarket_stream_orders", args, ctx.clone())
        .await
        .expect("polymarket_stream_orders")
        .structured
}

#[tokio::test]
async fn stream_orders_tool_starts_reports_and_stops() {
    let fake = Arc::new(Fake {
        scripts: Mutex::new(scripts()),
        ..Fake::default()
    });
    let ws_url = serve(fake.clone()).await;
    let bundle = TestBundle::from_config(PolymarketConfig {
        // Nothing here is called: markets default to those of open live orders.
        clob_url: "http://127.0.0.1:9".into(),
        gamma_url: "http://127.0.0.1:9".into(),
        data_url: "http://127.0.0.1:9".into(),
        ws_url,
        private_key: Some(PK.into()),
        api_creds: Some(creds()),
        ..PolymarketConfig::default()
    })
    .expect("bundle");
    let store = Store::open("sqlite::memory:").await.expect("open");
    let mut migrations = core_migrations();
    migrations.extend(bundle.migrations());
    store.migrate(&migrations).await.expect("migrate");
    placed(&store, "cid-a", ORDER_A, "BUY", "0.57", "10").await;
    placed(&store, "cid-b", ORDER_B, "SELL", "0.6", "20").await;
    let ctx = ctx(store.clone());

    let bad = bundle
        .call(
            "polymarket_stream_orders",
            json!({"markets": [""]}),
            ctx.clone(),
        )
        .await
        .expect_err("empty market");
    assert_eq!(bad.kind, ToolErrorKind::InvalidInput);
    assert_eq!(bad.field.as_deref(), Some("markets"), "{}", bad.message);

    let started = call(&bundle, &ctx, json!({})).await;
    assert_eq!(started["venue"], "polymarket");
    assert_eq!(started["action"], "started");
    assert_eq!(started["stream"]["markets"], json!([MARKET]));
    let again = call(&bundle, &ctx, json!({"action": "start"})).await;
    assert_eq!(again["action"], "already running");

    // Connection 1's frames, then a drop and connection 2's.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let mut dropped = false;
    let done = loop {
        let s = call(&bundle, &ctx, json!({"action": "status"})).await;
        let st = &s["stream"]["stats"];
        if !dropped && st["trade_events"] == 3 && st["order_events"] == 4 {
            fake.drop_now.notify_one();
            dropped = true;
        }
        if st["order_events"] == 7 && st["trade_events"] == 7 {
            break s;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out: {s}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(done["stream"]["running"].as_bool().expect("running"));
    assert_eq!(done["stream"]["stats"]["fills_recorded"], 3);
    assert_eq!(done["stream"]["stats"]["fills_not_placed_here"], 1);
    let orders = done["orders"].as_array().expect("orders");
    let a = orders
        .iter()
        .find(|o| o["client_order_id"] == "cid-a")
        .expect("cid-a");
    assert_eq!(
        (&a["status"], &a["size_matched"]),
        (&json!("matched"), &json!("10"))
    );
    let fills = done["fills"].as_array().expect("fills");
    assert_eq!(fills.len(), 3);
    let t3 = fills.iter().find(|f| f["trade_id"] == T3).expect("T3");
    assert_eq!(t3["placed_here"], false);
    assert!(
        done["stream"]["recent_orders"]
            .as_array()
            .expect("recent")
            .iter()
            .any(|o| o["order_id"] == FOREIGN && o["placed_here"] == false)
    );

    let stopped = call(&bundle, &ctx, json!({"action": "stop"})).await;
    assert_eq!(stopped["action"], "stopped");
    assert_eq!(stopped["stream"]["running"], false);
    check_subscriptions(&fake, json!([MARKET]));
    check_store(&store).await;
    let after = call(&bundle, &ctx, json!({"action": "status"})).await;
    assert!(after["stream"].is_null(), "{after}");
}

#[tokio::test]
async fn stream_orders_is_refused_on_the_local_clob() {
    let bundle = TestBundle::from_config(PolymarketConfig::default()).expect("bundle");
    let store = Store::open("sqlite::memory:").await.expect("open");
    let mut migrations = core_migrations();
    migrations.extend(bundle.migrations());
    store.migrate(&migrations).await.expect("migrate");
    let err = bundle
        .call("polymarket_stream_orders", json!({}), ctx(store))
        .await
        .expect_err("refused");
    assert_eq!(err.kind, ToolErrorKind::Refused);
    assert!(err.message.contains("live venue"), "{}", err.message);
    assert!(
        bundle
            .tools()
            .iter()
            .any(|t| t.name == "polymarket_stream_orders")
    );
}

/// A venue that refuses every subscription with a text message and closes:
/// the client gives up after `max_reconnects` reconnects in a row (2 here:
/// 3 connections) and reports the venue's words.
#[tokio::test]
async fn gives_up_after_failed_reconnects_and_reports_the_venue_message() {
    let refusal = "invalid auth credentials".to_string();
    let fake = Arc::new(Fake {
        scripts: Mutex::new(VecDeque::from(vec![vec![refusal.clone()]; 5])),
        close_after_frames: true,
        ..Fake::default()
    });
    let url = nt_polymarket::user_ws::user_url(&serve(fake.clone()).await);
    let store = open_store("sqlite::memory:").await;
    let mut cfg = UserStreamConfig::new(&url, creds(), vec![]);
    cfg.backoff = Duration::from_millis(5);
    cfg.max_reconnects = 2;
    let recorder = recorder(&store, T0);
    let state = UserStreamState::default();
    let err = tokio::time::timeout(
        Duration::from_secs(10),
        run(cfg, recorder, state.clone(), CancellationToken::new()),
    )
    .await
    .expect("gives up in time")
    .expect_err("gives up");
    assert!(
        err.to_string()
            .contains("gave up after 2 reconnects in a row"),
        "{err}"
    );
    let s = state.stats();
    assert_eq!((s.connects, s.subscriptions, s.reconnects), (3, 3, 2));
    assert_eq!(s.notice.as_deref(), Some(refusal.as_str()));
    assert_eq!(fake.subs.lock().expect("lock")[0]["markets"], json!([]));
}
