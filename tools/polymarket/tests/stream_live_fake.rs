//! The live bundle's streamed books, live arbitrage scan and top holders,
//! end to end against local fakes on 127.0.0.1: a tokio-tungstenite
//! market channel the test drives frame by frame, a CLOB answering
//! `GET /book` and `POST /books`, Gamma `/markets` and `/events`, and the
//! Data API `/holders`, all in the documented JSON shapes.

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use common::TestBundle;
use futures::{SinkExt, StreamExt};
use nt_mcp_core::bundle::ToolCtx;
use nt_mcp_core::store::core_migrations;
use nt_mcp_core::{Store, ToolBundle, ToolErrorKind};
use nt_polymarket::PolymarketConfig;
use nt_polymarket::auth::ApiCreds;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

const SECRET: &str = "c2VjcmV0LWtleS1mb3ItdGVzdHMtb25seS0xMjM0NTY3OA==";
const PK: &str = "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318";
const COND: &str = "0x1111111111111111111111111111111111111111111111111111111111111111";
const YES: &str = "1001";
const NO: &str = "1002";

fn lv(levels: &[(&str, &str)]) -> Value {
    levels
        .iter()
        .map(|(p, s)| json!({"price": p, "size": s}))
        .collect()
}

type Levels = &'static [(&'static str, &'static str)];

/// The CLOB's (REST) book of each token: `(bids, asks, hash)`.
fn rest_book(token: &str) -> Value {
    let (bids, asks): (Levels, Levels) = match token {
        YES => (
            &[("0.40", "10"), ("0.50", "30")],
            &[("0.60", "15"), ("0.55", "25")],
        ),
        NO => (&[("0.44", "12")], &[("0.52", "8")]),
        // Binary market with a buy-both edge: 0.45 + 0.52 = 0.97.
        "2001" => (&[("0.40", "100")], &[("0.45", "50")]),
        "2002" => (&[("0.47", "80")], &[("0.52", "30")]),
        // Neg-risk event: YES asks 0.30 + 0.33 + 0.31 = 0.94.
        "3001" => (&[("0.28", "10")], &[("0.30", "20")]),
        "3011" => (&[("0.31", "10")], &[("0.33", "25")]),
        "3021" => (&[("0.29", "10")], &[("0.31", "40")]),
        "3002" => (&[("0.68", "10")], &[("0.72", "10")]),
        "3012" => (&[("0.66", "10")], &[("0.69", "10")]),
        "3022" => (&[("0.67", "10")], &[("0.71", "10")]),
        // A fair market.
        _ => (&[("0.48", "10")], &[("0.52", "10")]),
    };
    json!({"market": COND, "asset_id": token, "timestamp": "1700000000000", "hash": format!("0xrest{token}"),
           "bids": lv(bids), "asks": lv(asks), "min_order_size": "5", "tick_size": "0.01", "neg_risk": false})
}

/// The market channel's snapshot: differs from REST for YES and NO, so an
/// answer shows where it came from.
fn ws_book(token: &str) -> Value {
    let mut b = rest_book(token);
    b["event_type"] = json!("book");
    b["timestamp"] = json!("1000");
    match token {
        YES => {
            b["bids"] = lv(&[("0.45", "20")]);
            b["asks"] = lv(&[("0.58", "40")]);
            b["hash"] = json!("0xws");
        }
        NO => {
            b["bids"] = lv(&[("0.41", "5")]);
            b["asks"] = lv(&[("0.56", "9")]);
            b["hash"] = json!("0xwsno");
        }
        _ => {}
    }
    b
}

#[derive(Default)]
struct Fake {
    book_gets: Mutex<Vec<String>>,
    books_posts: Mutex<Vec<Vec<String>>>,
    fee_reads: Mutex<Vec<String>>,
    holders_queries: Mutex<Vec<HashMap<String, String>>>,
    ws_subs: Mutex<Vec<Value>>,
    ws_tx: Mutex<Option<mpsc::UnboundedSender<String>>>,
    ws_closed: AtomicU32,
}

async fn clob_book(
    State(f): State<Arc<Fake>>,
    Query(q): Query<HashMap<String, String>>,
) -> Json<Value> {
    let t = q.get("token_id").cloned().unwrap_or_default();
    f.book_gets.lock().expect("lock").push(t.clone());
    Json(rest_book(&t))
}

async fn clob_books(State(f): State<Arc<Fake>>, Json(body): Json<Vec<Value>>) -> Json<Value> {
    let ids: Vec<String> = body
        .iter()
        .filter_map(|b| b["token_id"].as_str().map(str::to_string))
        .collect();
    f.books_posts.lock().expect("lock").push(ids.clone());
    Json(ids.iter().map(|t| rest_book(t)).collect())
}

/// `GET /clob-markets/{condition_id}` (CLOB V2 market info, as
/// py-clob-client-v2 reads it): the binary market charges rate 0.04,
/// exponent 1 (`fd`); the others carry no `fd` (fee-free).
async fn clob_market_info(State(f): State<Arc<Fake>>, Path(cid): Path<String>) -> Json<Value> {
    f.fee_reads.lock().expect("lock").push(cid.clone());
    let mut v = json!({"t": [], "mts": 0.01, "nr": false});
    if cid == cond(1) {
        v["fd"] = json!({"r": 0.04, "e": 1, "to": true});
    }
    Json(v)
}

fn gamma_market(cond: &str, q: &str, slug: &str, yes: &str, no: &str, neg: bool) -> Value {
    json!({"id": "1", "conditionId": cond, "question": q, "slug": slug,
           "outcomes": "[\"Yes\", \"No\"]", "clobTokenIds": format!("[\"{yes}\", \"{no}\"]"),
           "negRisk": neg, "orderPriceMinTickSize": 0.01, "orderMinSize": 5,
           "endDate": "2030-01-01T00:00:00Z", "active": true, "closed": false})
}

async fn gamma_markets(Query(q): Query<HashMap<String, String>>) -> Json<Value> {
    let hit = q.get("condition_ids").is_none_or(|c| c == COND)
        && q.get("clob_token_ids").is_none_or(|t| t == YES || t == NO)
        && q.get("slug").is_none_or(|s| s == "fake-pass");
    Json(if hit {
        json!([gamma_market(
            COND,
            "Will the fake pass?",
            "fake-pass",
            YES,
            NO,
            false
        )])
    } else {
        json!([])
    })
}

fn cond(n: u8) -> String {
    format!("0x{}", format!("{n:02x}").repeat(32))
}

async fn gamma_events(Query(q): Query<HashMap<String, String>>) -> Json<Value> {
    assert_eq!(q.get("closed").map(String::as_str), Some("false"));
    // Doc: https://docs.polymarket.com/developers/gamma-markets-api/get-events (limit, offset)
    let offset: usize = q.get("offset").and_then(|o| o.parse().ok()).unwrap_or(0);
    let limit: usize = q.get("limit").and_then(|l| l.parse().ok()).unwrap_or(100);
    let all = all_events();
    Json(Value::Array(
        all.into_iter().skip(offset).take(limit).collect(),
    ))
}

fn all_events() -> Vec<Value> {
    let Value::Array(events) = json!([
        {"id": "10", "slug": "binary-edge", "title": "Binary", "negRisk": false,
         "markets": [gamma_market(&cond(1), "Binary edge?", "binary-edge", "2001", "2002", false)]},
        {"id": "11", "slug": "who-wins", "title": "Who wins?", "negRisk": true,
         "markets": [gamma_market(&cond(2), "A wins?", "a", "3001", "3002", true),
                     gamma_market(&cond(3), "B wins?", "b", "3011", "3012", true),
                     gamma_market(&cond(4), "C wins?", "c", "3021", "3022", true)]},
        {"id": "12", "slug": "fair", "title": "Fair", "negRisk": false,
         "markets": [gamma_market(&cond(5), "Fair?", "fair", "4001", "4002", false)]}
    ]) else {
        unreachable!("a JSON array literal")
    };
    events
}

async fn data_holders(
    State(f): State<Arc<Fake>>,
    Query(q): Query<HashMap<String, String>>,
) -> Json<Value> {
    f.holders_queries.lock().expect("lock").push(q);
    // Doc: https://docs.polymarket.com/api-reference/core/get-top-holders-for-markets
    let h = |w: &str, name: &str, pseudo: &str, asset: &str, amount: f64, idx: u8| {
        json!({"proxyWallet": w, "bio": "", "asset": asset, "pseudonym": pseudo, "amount": amount,
               "displayUsernamePublic": true, "outcomeIndex": idx, "name": name,
               "profileImage": "", "profileImageOptimized": ""})
    };
    Json(json!([
        {"token": YES, "holders": [
            h("0x56687bf447db6ffa42ffe2204a05edaa20f55839", "whale", "Calm-Whale", YES, 1500.5, 0),
            h("0x00000000000000000000000000000000000000aa", "", "Tiny-Fish", YES, 20.0, 0)]},
        {"token": NO, "holders": [
            h("0x00000000000000000000000000000000000000bb", "bear", "Grim-Bear", NO, 900.0, 1)]}
    ]))
}

async fn ws_conn(f: Arc<Fake>, tcp: tokio::net::TcpStream) {
    let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
        return;
    };
    let Ok(Some(Ok(Message::Text(first)))) =
        tokio::time::timeout(Duration::from_secs(2), ws.next()).await
    else {
        return;
    };
    let sub: Value = serde_json::from_str(first.as_str()).unwrap_or_default();
    f.ws_subs.lock().expect("lock").push(sub.clone());
    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
    *f.ws_tx.lock().expect("lock") = Some(tx);
    let assets: Vec<String> = sub["assets_ids"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let snapshots: Vec<Value> = assets.iter().map(|a| ws_book(a)).collect();
    if ws
        .send(Message::Text(Value::Array(snapshots).to_string().into()))
        .await
        .is_err()
    {
        return;
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        tokio::select! {
            () = tokio::time::sleep_until(deadline) => break,
            frame = rx.recv() => {
                let Some(frame) = frame else { break };
                if ws.send(Message::Text(frame.into())).await.is_err() {
                    break;
                }
            }
            msg = ws.next() => match msg {
                Some(Ok(Message::Text(t))) if t.as_str() == "PING" => {
                    if ws.send(Message::Text("PONG".into())).await.is_err() {
                        break;
                    }
                }
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
                Some(Ok(_)) => {}
            }
        }
    }
    f.ws_closed.fetch_add(1, Ordering::SeqCst);
}

struct Urls {
    clob: String,
    meta: String,
    ws: String,
}

async fn serve() -> (Urls, Arc<Fake>) {
    let fake = Arc::new(Fake::default());
    let clob = Router::new()
        .route("/book", get(clob_book))
        .route("/books", post(clob_books))
        .route("/clob-markets/{cid}", get(clob_market_info))
        .with_state(fake.clone());
    let meta = Router::new()
        .route("/markets", get(gamma_markets))
        .route("/events", get(gamma_events))
        .route("/holders", get(data_holders))
        .with_state(fake.clone());
    let mut urls = Vec::new();
    for app in [clob, meta] {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        urls.push(format!("http://{}", listener.local_addr().expect("addr")));
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let ws = format!("ws://{}/ws/market", listener.local_addr().expect("addr"));
    let f = fake.clone();
    tokio::spawn(async move {
        for _ in 0..20 {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(ws_conn(f.clone(), tcp));
        }
    });
    (
        Urls {
            clob: urls[0].clone(),
            meta: urls[1].clone(),
            ws,
        },
        fake,
    )
}

async fn setup(config: PolymarketConfig) -> (TestBundle, ToolCtx) {
    let bundle = TestBundle::from_config(config).expect("bundle");
    let store = Store::open("sqlite::memory:").await.expect("open");
    let mut migrations = core_migrations();
    migrations.extend(bundle.migrations());
    store.migrate(&migrations).await.expect("migrate");
    let ctx = common::ctx_at(store, 1_750_000_000_000, true);
    (bundle, ctx)
}

fn live_config(u: &Urls) -> PolymarketConfig {
    PolymarketConfig {
        clob_url: u.clob.clone(),
        gamma_url: u.meta.clone(),
        data_url: u.meta.clone(),
        ws_url: u.ws.clone(),
        private_key: Some(PK.into()),
        api_creds: Some(ApiCreds {
            key: "k".into(),
            secret: SECRET.into(),
            passphrase: "p".into(),
        }),
        ..PolymarketConfig::default()
    }
}

async fn call(b: &TestBundle, ctx: &ToolCtx, tool: &str, args: Value) -> Value {
    match b.call(tool, args, ctx.clone()).await {
        Ok(out) => {
            assert_eq!(out.structured["venue"], "polymarket", "{tool}");
            out.structured
        }
        Err(err) => panic!("{tool} failed: {err:?}"),
    }
}

/// Calls `tool` until `done` holds (at most 5 s, every 10 ms).
async fn until(
    b: &TestBundle,
    ctx: &ToolCtx,
    tool: &str,
    args: Value,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let v = call(b, ctx, tool, args.clone()).await;
        if done(&v) {
            return v;
        }
        assert!(tokio::time::Instant::now() < deadline, "{tool}: {v}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn push(fake: &Fake, frame: Value) {
    fake.ws_tx
        .lock()
        .expect("lock")
        .as_ref()
        .expect("a connection")
        .send(frame.to_string())
        .expect("send");
}

fn delta(price: &str, size: &str, best_bid: &str, ts: &str) -> Value {
    json!({"event_type": "price_change", "market": COND, "timestamp": ts,
           "price_changes": [{"asset_id": YES, "price": price, "size": size, "side": "BUY",
                              "hash": "0xd", "best_bid": best_bid, "best_ask": "0.58"}]})
}

#[tokio::test]
async fn orderbook_answers_from_the_stream_and_recovers_a_gap_from_rest() {
    let (urls, fake) = serve().await;
    let (b, ctx) = setup(live_config(&urls)).await;
    let yes_book = json!({"token_id": YES});

    // Not subscribed: a REST snapshot, saying why; no connection yet (lazy).
    let v = call(&b, &ctx, "polymarket_orderbook", yes_book.clone()).await;
    assert_eq!(v["book_source"], "rest");
    assert_eq!(v["hash"], "0xrest1001");
    assert!(
        v["stream_miss"]
            .as_str()
            .is_some_and(|r| r.contains("not subscribed"))
    );
    assert!(fake.ws_subs.lock().expect("lock").is_empty());

    let bad = b
        .call(
            "polymarket_stream_books",
            json!({"subscribe": ["12x"]}),
            ctx.clone(),
        )
        .await
        .expect_err("bad token id");
    assert_eq!(bad.kind, ToolErrorKind::InvalidInput);

    // Subscribing a market streams both tokens over one connection.
    let s = call(
        &b,
        &ctx,
        "polymarket_stream_books",
        json!({"markets": ["fake-pass"]}),
    )
    .await;
    assert_eq!(s["subscribed"], json!([YES, NO]));
    let v = until(&b, &ctx, "polymarket_orderbook", yes_book.clone(), |v| {
        v["book_source"] == "stream"
    })
    .await;
    assert_eq!(v["hash"], "0xws");
    assert_eq!(v["bids"], json!([{"price": "0.45", "size": "20"}]));
    assert_eq!(v["asks"][0]["price"], "0.58");
    assert!(v["age_ms"].as_u64().is_some_and(|a| a < 5_000));
    let subs = fake.ws_subs.lock().expect("lock").clone();
    assert_eq!(subs.len(), 1);
    assert_eq!(subs[0]["type"], "market");
    assert_eq!(subs[0]["assets_ids"], json!([YES, NO]));

    let m = call(&b, &ctx, "polymarket_market", json!({"market": COND})).await;
    assert_eq!(m["book_source"], "stream");
    assert_eq!(m["yes_book"]["bids"][0]["price"], "0.45");
    assert_eq!(m["no_book"]["asks"][0]["price"], "0.56");

    // An in-sync delta is applied to the streamed book.
    push(&fake, delta("0.47", "11", "0.47", "1001"));
    let v = until(&b, &ctx, "polymarket_orderbook", yes_book.clone(), |v| {
        v["bids"][0]["price"] == "0.47"
    })
    .await;
    assert_eq!(v["book_source"], "stream");
    assert_eq!(v["bids"][1], json!({"price": "0.45", "size": "20"}));

    // A gapped delta (the venue's best bid 0.49 disagrees with the local
    // 0.47): the stream drops the book and recovers it from REST /book.
    let gets_before = fake.book_gets.lock().expect("lock").len();
    push(&fake, delta("0.30", "5", "0.49", "1002"));
    let v = until(&b, &ctx, "polymarket_orderbook", yes_book.clone(), |v| {
        v["book_source"] == "stream" && v["hash"] == "0xrest1001"
    })
    .await;
    let rest = rest_book(YES);
    assert_eq!(
        v["bids"],
        json!([{"price": "0.50", "size": "30"}, {"price": "0.40", "size": "10"}])
    );
    assert_eq!(
        v["asks"],
        json!([{"price": "0.55", "size": "25"}, {"price": "0.60", "size": "15"}])
    );
    assert_eq!(v["market"], rest["market"]);
    assert!(fake.book_gets.lock().expect("lock")[gets_before..].contains(&YES.to_string()));
    let s = call(&b, &ctx, "polymarket_stream_books", json!({})).await;
    assert_eq!(s["stream"]["stats"]["gaps"], 1);
    assert_eq!(s["stream"]["stats"]["recoveries"], 1);
    assert_eq!(s["stream"]["stats"]["connected"], true);
    assert_eq!(s["stream"]["runs"], 1);
    assert_eq!(fake.ws_subs.lock().expect("lock").len(), 1);

    // Stale by the caller's limit: REST, with the age reported.
    tokio::time::sleep(Duration::from_millis(15)).await;
    let v = call(
        &b,
        &ctx,
        "polymarket_orderbook",
        json!({"token_id": YES, "max_age_ms": 5}),
    )
    .await;
    assert_eq!(v["book_source"], "rest");
    assert!(
        v["stream_miss"]
            .as_str()
            .is_some_and(|r| r.contains("stale"))
    );
    assert!(v["stream_age_ms"].as_u64().is_some_and(|a| a >= 5));

    // Unsubscribing everything closes the connection.
    let s = call(
        &b,
        &ctx,
        "polymarket_stream_books",
        json!({"unsubscribe": [YES, NO]}),
    )
    .await;
    assert_eq!(s["subscribed"], json!([]));
    let v = call(&b, &ctx, "polymarket_orderbook", yes_book.clone()).await;
    assert_eq!(v["book_source"], "rest");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    while fake.ws_closed.load(Ordering::SeqCst) < 1 {
        assert!(tokio::time::Instant::now() < deadline, "not closed");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    // Dropping the bundle shuts its stream down.
    call(
        &b,
        &ctx,
        "polymarket_stream_books",
        json!({"subscribe": [NO]}),
    )
    .await;
    until(
        &b,
        &ctx,
        "polymarket_orderbook",
        json!({"token_id": NO}),
        |v| v["book_source"] == "stream",
    )
    .await;
    assert_eq!(fake.ws_subs.lock().expect("lock").len(), 2);
    drop(b);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    while fake.ws_closed.load(Ordering::SeqCst) < 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "stream outlived the bundle"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn live_arbitrage_scans_gamma_events_with_streamed_and_batched_books() {
    let (urls, fake) = serve().await;
    let (b, ctx) = setup(live_config(&urls)).await;
    // The binary market's books come from the stream, the rest from /books.
    call(
        &b,
        &ctx,
        "polymarket_stream_books",
        json!({"subscribe": ["2001", "2002"]}),
    )
    .await;
    until(&b, &ctx, "polymarket_stream_books", json!({}), |v| {
        v["stream"]["tokens"]
            .as_array()
            .is_some_and(|ts| ts.len() == 2 && ts.iter().all(|t| t["synced"] == true))
    })
    .await;

    let v = call(&b, &ctx, "polymarket_find_arbitrage", json!({"limit": 50})).await;
    assert_eq!(v["markets_scanned"], 5);
    assert_eq!(v["events_scanned"], 1);
    assert_eq!(v["books"], json!({"stream": 2, "rest": 8}));
    let posts = fake.books_posts.lock().expect("lock").clone();
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].len(), 8);
    assert!(!posts[0].iter().any(|t| t == "2001" || t == "2002"));

    let ops = v["opportunities"].as_array().expect("opportunities");
    assert_eq!(ops.len(), 2, "{v}");
    assert_eq!(ops[0]["kind"], "neg_risk_buy_all");
    assert_eq!(ops[0]["id"], "who-wins");
    assert_eq!(ops[0]["edge_per_set"], "0.06");
    assert_eq!(ops[0]["size"], "20");
    assert_eq!(ops[0]["expected_profit"], "1.20");
    assert_eq!(ops[0]["legs"].as_array().map(Vec::len), Some(3));
    // The binary market's fee schedule was read from GET /clob-markets and
    // applied: rate 0.04, exponent 1 on asks 0.45 and 0.52 (0.97, gross 0.03):
    // 0.04 x (0.45 x 0.55 + 0.52 x 0.48) = 0.04 x (0.2475 + 0.2496) = 0.019884,
    // edge 0.010116; on 30 sets 30 x 0.04 x 0.2475 = 0.297 and
    // 30 x 0.04 x 0.2496 = 0.29952, profit 0.90 - 0.59652 = 0.30348.
    // The neg-risk markets carry no fee (no `fd`).
    assert_eq!(ops[1]["kind"], "binary_buy_both");
    assert_eq!(ops[1]["id"], cond(1));
    assert_eq!(ops[1]["edge_per_set"], "0.010116");
    assert_eq!(ops[1]["size"], "30");
    assert_eq!(ops[1]["fees_total"], "0.59652");
    assert_eq!(ops[1]["expected_profit"], "0.30348");
    assert_eq!(v["fee_schedules_read"], 4);
    let mut reads = fake.fee_reads.lock().expect("lock").clone();
    reads.sort();
    assert_eq!(reads, vec![cond(1), cond(2), cond(3), cond(4)]);
    // A second scan answers from the fee cache.
    call(&b, &ctx, "polymarket_find_arbitrage", json!({"limit": 50})).await;
    assert_eq!(fake.fee_reads.lock().expect("lock").len(), 4);

    // A fee given in the call overrides every schedule; one that exceeds
    // the binary edge leaves only the neg-risk one: 800 bps x 0.4971 =
    // 0.039768 > 0.03, while the neg-risk set pays 0.08 x (0.21 + 0.2211 +
    // 0.2139) = 0.0516 < 0.06.
    let v = call(
        &b,
        &ctx,
        "polymarket_find_arbitrage",
        json!({"fee_bps": "800"}),
    )
    .await;
    let kinds: Vec<&str> = v["opportunities"]
        .as_array()
        .expect("ops")
        .iter()
        .filter_map(|o| o["kind"].as_str())
        .collect();
    assert_eq!(kinds, vec!["neg_risk_buy_all"]);
}

#[tokio::test]
async fn holders_come_from_the_data_api_live_and_the_accounts_offline() {
    let (urls, fake) = serve().await;
    let (b, ctx) = setup(live_config(&urls)).await;
    let v = call(
        &b,
        &ctx,
        "polymarket_holders",
        json!({"market": "fake-pass", "limit": 5}),
    )
    .await;
    assert_eq!(v["market"], COND);
    assert_eq!(v["tokens"][0]["token_id"], YES);
    assert_eq!(v["tokens"][0]["outcome"], "Yes");
    assert_eq!(v["tokens"][0]["holders"][0]["name"], "whale");
    assert_eq!(v["tokens"][0]["holders"][0]["amount"], "1500.5");
    assert_eq!(v["tokens"][0]["holders"][1]["name"], "Tiny-Fish");
    assert_eq!(v["tokens"][1]["outcome"], "No");
    assert_eq!(v["tokens"][1]["holders"][0]["outcome_index"], 1);
    let q = fake.holders_queries.lock().expect("lock").clone();
    assert_eq!(q[0].get("market").map(String::as_str), Some(COND));
    assert_eq!(q[0].get("limit").map(String::as_str), Some("5"));
    let err = b
        .call(
            "polymarket_holders",
            json!({"market": "no-such-market"}),
            ctx.clone(),
        )
        .await
        .expect_err("unknown market");
    assert_eq!(err.kind, ToolErrorKind::InvalidInput);

    // Offline: the local CLOB's accounts, and streaming is refused.
    let (local, lctx) = setup(PolymarketConfig::default()).await;
    let out = local
        .call(
            "polymarket_holders",
            json!({"market": "fed-cut-next-fomc"}),
            lctx.clone(),
        )
        .await
        .expect("holders")
        .structured;
    assert_eq!(out["venue"], "simulated");
    assert_eq!(out["tokens"].as_array().map(Vec::len), Some(2));
    assert_eq!(out["tokens"][1]["outcome"], "NO");
    let err = local
        .call(
            "polymarket_stream_books",
            json!({"subscribe": [YES]}),
            lctx.clone(),
        )
        .await
        .expect_err("offline");
    assert_eq!(err.kind, ToolErrorKind::Refused);
}

#[tokio::test]
async fn gamma_events_are_paged_until_a_short_page() {
    let (urls, _fake) = serve().await;
    let gamma = nt_polymarket::gamma::GammaClient::new(&urls.meta).expect("client");
    // Pages of 2 over the fake's 3 events: offset 0 gives 2, offset 2 gives 1 (short).
    let events = gamma.events_paged(Some(false), 10, 2).await.expect("paged");
    let slugs: Vec<&str> = events.iter().map(|e| e.slug.as_str()).collect();
    assert_eq!(slugs, vec!["binary-edge", "who-wins", "fair"]);
    // The total caps what is fetched.
    let two = gamma
        .events_paged(Some(false), 2, 100)
        .await
        .expect("capped");
    assert_eq!(two.len(), 2);
}
