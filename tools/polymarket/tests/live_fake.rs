//! The bundle's live path against local fakes of the CLOB (L1/L2 headers
//! checked), Gamma and the Data API on 127.0.0.1, answering with the
//! documented JSON shapes.

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::routing::{any, get};
use axum::{Json, Router};
use common::TestBundle;
use nt_mcp_core::bundle::{ToolCtx, VenueMode};
use nt_mcp_core::store::core_migrations;
use nt_mcp_core::{Store, ToolBundle, ToolErrorKind};
use nt_polymarket::PolymarketConfig;
use nt_polymarket::auth::{ApiCreds, hmac_signature};
use nt_polymarket::signing::{
    EXCHANGE_V2, Exchange, NEG_RISK_EXCHANGE_V2, SignedOrder, Wallet, sign_clob_auth, verify_order,
};
use serde_json::{Value, json};

const SECRET: &str = "c2VjcmV0LWtleS1mb3ItdGVzdHMtb25seS0xMjM0NTY3OA==";
const KEY: &str = "00000000-api-key";
const PASS: &str = "pass-phrase";
const PK: &str = "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318";
const COND: &str = "0x1111111111111111111111111111111111111111111111111111111111111111";
const YES: &str = "1001";
const NO: &str = "1002";
const SRC: &str = "0x56687bf447db6ffa42ffe2204a05edaa20f55839";

#[derive(Default)]
struct Fake {
    posts: Mutex<Vec<Value>>,
    fail_posts: AtomicU32,
    deletes: Mutex<Vec<(String, String)>>,
    derives: AtomicU32,
    fee_reads: AtomicU32,
}

fn h(headers: &HeaderMap, n: &str) -> String {
    headers
        .get(n)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

fn unauthorized() -> (StatusCode, Json<Value>) {
    (
        StatusCode::UNAUTHORIZED,
        Json(json!({"error": "Unauthorized/Invalid api key"})),
    )
}

fn l2_ok(headers: &HeaderMap, method: &Method, path: &str, body: &str) -> bool {
    let ts: u64 = h(headers, "POLY_TIMESTAMP").parse().unwrap_or(0);
    let body = (!body.is_empty()).then_some(body);
    let want = hmac_signature(SECRET, ts, method.as_str(), path, body).unwrap_or_default();
    h(headers, "POLY_API_KEY") == KEY
        && h(headers, "POLY_PASSPHRASE") == PASS
        && h(headers, "POLY_SIGNATURE") == want
        && h(headers, "POLY_ADDRESS").starts_with("0x")
}

async fn clob(
    State(fake): State<Arc<Fake>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> (StatusCode, Json<Value>) {
    let path = uri.path().to_string();
    match (method.as_str(), path.as_str()) {
        ("GET", "/book") => {
            let token = uri.query().unwrap_or("").replace("token_id=", "");
            return (
                StatusCode::OK,
                Json(json!({
                    "market": COND, "asset_id": token, "timestamp": "1700000000000", "hash": "0xabc",
                    "bids": [{"price": "0.40", "size": "10"}, {"price": "0.50", "size": "30"}],
                    "asks": [{"price": "0.60", "size": "15"}, {"price": "0.55", "size": "25"}],
                    "min_order_size": "5", "tick_size": "0.001", "neg_risk": true
                })),
            );
        }
        ("GET", "/prices-history") => {
            return (
                StatusCode::OK,
                Json(
                    json!({"history": [{"t": 1700000000, "p": 0.5}, {"t": 1700000600, "p": 0.52}]}),
                ),
            );
        }
        // CLOB V2 market info with its fee schedule, as py-clob-client-v2 reads it.
        ("GET", p) if p == format!("/clob-markets/{COND}") => {
            fake.fee_reads.fetch_add(1, Ordering::SeqCst);
            return (
                StatusCode::OK,
                Json(
                    json!({"t": [{"t": YES, "o": "Yes"}, {"t": NO, "o": "No"}], "mts": 0.001,
                            "nr": true, "fd": {"r": 0.03, "e": 1, "to": true}}),
                ),
            );
        }
        ("GET", p) if p.starts_with("/markets-by-token/") => {
            let token = p.trim_start_matches("/markets-by-token/");
            return if token == YES || token == NO {
                (StatusCode::OK, Json(json!({"condition_id": COND})))
            } else {
                (
                    StatusCode::NOT_FOUND,
                    Json(json!({"error": "market not found"})),
                )
            };
        }
        ("GET", p) if p.starts_with("/fees/builder-fees/") => {
            return (
                StatusCode::OK,
                Json(json!({"builder_maker_fee_rate_bps": 20, "builder_taker_fee_rate_bps": 50})),
            );
        }
        ("GET", "/auth/derive-api-key") => {
            let wallet = Wallet::from_hex(PK).expect("key");
            let ts: u64 = h(&headers, "POLY_TIMESTAMP").parse().unwrap_or(0);
            let nonce: u64 = h(&headers, "POLY_NONCE").parse().unwrap_or(99);
            let want = sign_clob_auth(&wallet, 137, ts, nonce).unwrap_or_default();
            if h(&headers, "POLY_SIGNATURE") != want
                || h(&headers, "POLY_ADDRESS") != wallet.address().to_checksum(None)
            {
                return unauthorized();
            }
            fake.derives.fetch_add(1, Ordering::SeqCst);
            return (
                StatusCode::OK,
                Json(json!({"apiKey": KEY, "secret": SECRET, "passphrase": PASS})),
            );
        }
        _ => {}
    }
    if !l2_ok(&headers, &method, &path, &body) {
        return unauthorized();
    }
    match (method.as_str(), path.as_str()) {
        ("POST", "/order") => {
            let v: Value = serde_json::from_str(&body).unwrap_or_default();
            fake.posts.lock().expect("lock").push(v.clone());
            if fake.fail_posts.load(Ordering::SeqCst) > 0 {
                fake.fail_posts.fetch_sub(1, Ordering::SeqCst);
                return (
                    StatusCode::SERVICE_UNAVAILABLE,
                    Json(json!({"error": "temporarily unavailable"})),
                );
            }
            if let Err(e) = check_v2_order(&v) {
                return (StatusCode::BAD_REQUEST, Json(json!({"error": e})));
            }
            let n = fake.posts.lock().expect("lock").len();
            (
                StatusCode::OK,
                Json(
                    json!({"success": true, "errorMsg": "", "orderID": format!("0xfeed{n}"), "orderHashes": [], "status": "live"}),
                ),
            )
        }
        ("DELETE", "/order") => {
            let v: Value = serde_json::from_str(&body).unwrap_or_default();
            let id = v["orderID"].as_str().unwrap_or("").to_string();
            fake.deletes
                .lock()
                .expect("lock")
                .push(("one".into(), id.clone()));
            (
                StatusCode::OK,
                Json(json!({"canceled": [id], "not_canceled": {}})),
            )
        }
        ("DELETE", "/cancel-all") => {
            fake.deletes
                .lock()
                .expect("lock")
                .push(("all".into(), String::new()));
            (
                StatusCode::OK,
                Json(json!({"canceled": [], "not_canceled": {}})),
            )
        }
        ("GET", "/balance-allowance") => {
            let q = uri.query().unwrap_or("");
            if !q.contains("signature_type=0") {
                return (
                    StatusCode::BAD_REQUEST,
                    Json(json!({"error": "signature_type expected"})),
                );
            }
            if q.contains("asset_type=COLLATERAL") {
                (
                    StatusCode::OK,
                    Json(json!({"balance": "1250500000", "allowances": {
                        EXCHANGE_V2: "115792089237316195423570985008687907853269984665640564039457584007913129639935",
                        NEG_RISK_EXCHANGE_V2: "0"
                    }})),
                )
            } else if q.contains("asset_type=CONDITIONAL") && q.contains(&format!("token_id={YES}"))
            {
                (
                    StatusCode::OK,
                    Json(json!({"balance": "2000000", "allowances": {EXCHANGE_V2: "0"}})),
                )
            } else {
                (
                    StatusCode::BAD_REQUEST,
                    Json(json!({"error": "invalid asset_type"})),
                )
            }
        }
        ("DELETE", "/cancel-market-orders") => {
            let v: Value = serde_json::from_str(&body).unwrap_or_default();
            fake.deletes.lock().expect("lock").push((
                "market".into(),
                v["market"].as_str().unwrap_or("").to_string(),
            ));
            (
                StatusCode::OK,
                Json(json!({"canceled": ["0xold1"], "not_canceled": {}})),
            )
        }
        // The account's trades, as GET /data/trades documents them.
        ("GET", "/data/trades") => (
            StatusCode::OK,
            Json(json!({"data": [
                {"id": "t1", "taker_order_id": "0xfeed1", "market": COND, "asset_id": YES, "side": "BUY",
                 "size": "10", "fee_rate_bps": "0", "price": "0.55", "status": "CONFIRMED",
                 "match_time": "1700000000", "outcome": "Yes", "trader_side": "TAKER", "maker_orders": []},
                {"id": "t2", "taker_order_id": "0xother", "market": COND, "asset_id": NO, "side": "BUY",
                 "size": "4", "fee_rate_bps": "0", "price": "0.45", "status": "MATCHED",
                 "match_time": "1700000100", "outcome": "No", "trader_side": "MAKER", "maker_orders": []}
            ], "next_cursor": "LTE="})),
        ),
        ("GET", "/data/orders") => (
            StatusCode::OK,
            Json(
                json!({"data": [{"id": "0xfeed1", "status": "LIVE", "market": COND, "asset_id": YES, "side": "BUY", "original_size": "10", "size_matched": "0", "price": "0.55"}], "next_cursor": "LTE="}),
            ),
        ),
        _ => (StatusCode::NOT_FOUND, Json(json!({"error": "not found"}))),
    }
}

/// What the V2 venue checks of a posted order: the V2 body (no V1 field),
/// the owner, and a signature by the order's signer under the V2 Neg-Risk
/// exchange's domain (the fake market is neg-risk).
fn check_v2_order(v: &Value) -> Result<(), String> {
    if v["owner"] != KEY {
        return Err("invalid owner".into());
    }
    let order = &v["order"];
    for v1 in ["nonce", "feeRateBps", "taker"] {
        if order.get(v1).is_some() {
            return Err(format!("order_version_mismatch: V1 field {v1}"));
        }
    }
    for v2 in [
        "timestamp",
        "metadata",
        "builder",
        "expiration",
        "signatureType",
    ] {
        if order.get(v2).is_none() {
            return Err(format!("order_version_mismatch: missing {v2}"));
        }
    }
    if v.get("deferExec").is_none() || v.get("postOnly").is_none() {
        return Err("missing deferExec/postOnly".into());
    }
    let signed: SignedOrder =
        serde_json::from_value(order.clone()).map_err(|e| format!("invalid order: {e}"))?;
    verify_order(&signed, 137, Exchange::NegRiskV2)
        .map_err(|e| format!("invalid signature: {e}"))?;
    Ok(())
}

fn gamma_market() -> Value {
    json!({
        "id": "512", "conditionId": COND, "question": "Will the fake pass?", "slug": "fake-pass",
        "outcomes": "[\"Yes\", \"No\"]", "clobTokenIds": format!("[\"{YES}\", \"{NO}\"]"),
        "negRisk": true, "orderPriceMinTickSize": 0.001, "orderMinSize": 5,
        "endDate": "2030-01-01T00:00:00Z", "active": true, "closed": false,
        "bestBid": 0.5, "bestAsk": 0.55, "lastTradePrice": 0.52
    })
}

async fn gamma_markets(Query(q): Query<HashMap<String, String>>) -> Json<Value> {
    let hit = q.get("condition_ids").is_none_or(|c| c == COND)
        && q.get("clob_token_ids").is_none_or(|t| t == YES || t == NO)
        && q.get("slug").is_none_or(|s| s == "fake-pass");
    Json(if hit {
        json!([gamma_market()])
    } else {
        json!([])
    })
}

fn position(user: &str, asset: &str, size: f64, pnl: f64) -> Value {
    json!({"proxyWallet": user, "asset": asset, "conditionId": COND, "size": size, "avgPrice": 0.5,
           "initialValue": size * 0.5, "currentValue": size * 0.52, "cashPnl": pnl, "percentPnl": 4.0,
           "totalBought": size, "realizedPnl": 0, "percentRealizedPnl": 0, "curPrice": 0.52,
           "redeemable": false, "mergeable": false, "title": "Will the fake pass?", "slug": "fake-pass",
           "icon": "", "eventSlug": "fake", "outcome": "Yes", "outcomeIndex": 0})
}

async fn data_positions(Query(q): Query<HashMap<String, String>>) -> (StatusCode, Json<Value>) {
    let user = q.get("user").cloned().unwrap_or_default();
    if !q.contains_key("sizeThreshold") {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "sizeThreshold expected"})),
        );
    }
    if user.eq_ignore_ascii_case(SRC) {
        (
            StatusCode::OK,
            Json(json!([position(&user, YES, 1000.0, 40.0)])),
        )
    } else {
        (
            StatusCode::OK,
            Json(json!([
                position(&user, YES, 2.0, 1.5),
                position(&user, NO, 7.0, 0.4)
            ])),
        )
    }
}

async fn data_activity() -> Json<Value> {
    Json(
        json!([{"proxyWallet": SRC, "timestamp": 1700000000, "conditionId": COND, "type": "TRADE",
                  "size": 10, "usdcSize": 5.5, "transactionHash": "0xdead", "price": 0.55, "asset": YES,
                  "side": "BUY", "outcomeIndex": 0, "title": "Will the fake pass?", "slug": "fake-pass",
                  "outcome": "Yes"}]),
    )
}

async fn data_leaderboard(Query(q): Query<HashMap<String, String>>) -> Json<Value> {
    Json(
        json!([{"rank": "1", "proxyWallet": SRC, "userName": "whale", "vol": 1000000.5,
                  "pnl": 25000.25, "profileImage": "", "xUsername": "", "verifiedBadge": false,
                  "period": q.get("timePeriod").cloned().unwrap_or_default()}]),
    )
}

async fn serve() -> (String, String, Arc<Fake>) {
    let fake = Arc::new(Fake::default());
    let clob_app = Router::new().fallback(any(clob)).with_state(fake.clone());
    let meta_app = Router::new()
        .route("/markets", get(gamma_markets))
        .route("/positions", get(data_positions))
        .route("/activity", get(data_activity))
        .route("/v1/leaderboard", get(data_leaderboard));
    let mut urls = Vec::new();
    for app in [clob_app, meta_app] {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        urls.push(format!("http://{}", listener.local_addr().expect("addr")));
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
    }
    (urls[0].clone(), urls[1].clone(), fake)
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

fn live_config(clob: &str, meta: &str, creds: bool) -> PolymarketConfig {
    PolymarketConfig {
        clob_url: clob.into(),
        gamma_url: meta.into(),
        data_url: meta.into(),
        private_key: Some(PK.into()),
        api_creds: creds.then(|| ApiCreds {
            key: KEY.into(),
            secret: SECRET.into(),
            passphrase: PASS.into(),
        }),
        derive_api_key: !creds,
        ..PolymarketConfig::default()
    }
}

async fn call(b: &TestBundle, ctx: &ToolCtx, tool: &str, args: Value) -> Value {
    match b.call(tool, args, ctx.clone()).await {
        Ok(out) => {
            assert!(
                out.text.starts_with("venue: polymarket"),
                "{tool}: {}",
                out.text
            );
            assert_eq!(out.structured["venue"], "polymarket", "{tool}");
            out.structured
        }
        Err(err) => panic!("{tool} failed: {err:?}"),
    }
}

async fn audit_count(ctx: &ToolCtx, outcome: &str) -> i64 {
    use sqlx::Row;
    sqlx::query("SELECT COUNT(*) AS n FROM audit_log WHERE outcome = $1")
        .bind(outcome)
        .fetch_one(ctx.store.pool())
        .await
        .expect("count")
        .try_get::<i64, _>("n")
        .expect("n")
}

#[tokio::test]
async fn live_tools_route_to_clob_gamma_and_data_api() {
    let (clob, meta, fake) = serve().await;
    let (b, ctx) = setup(live_config(&clob, &meta, true)).await;
    assert!(b.is_live());
    assert!(
        b.venues()
            .iter()
            .any(|v| v.name == "polymarket" && v.mode == VenueMode::Live)
    );
    let offline = TestBundle::from_config(PolymarketConfig {
        private_key: Some(PK.into()),
        ..PolymarketConfig::default()
    })
    .expect("offline");
    assert!(!offline.is_live());
    assert!(
        offline
            .venues()
            .iter()
            .all(|v| v.mode == VenueMode::Simulated)
    );

    let markets = call(&b, &ctx, "polymarket_markets", json!({"query": "fake"})).await;
    assert_eq!(markets["count"], 1);
    assert_eq!(markets["markets"][0]["tokens"][1]["token_id"], NO);
    assert_eq!(markets["markets"][0]["neg_risk"], true);

    let market = call(
        &b,
        &ctx,
        "polymarket_market",
        json!({"market": "fake-pass"}),
    )
    .await;
    assert_eq!(market["condition_id"], COND);
    assert_eq!(market["yes_book"]["bids"][0]["price"], "0.50");
    assert_eq!(market["no_book"]["token_id"], NO);

    let book = call(
        &b,
        &ctx,
        "polymarket_orderbook",
        json!({"market": COND, "outcome": "NO", "depth": 1}),
    )
    .await;
    assert_eq!(book["token_id"], NO);
    assert_eq!(book["asks"][0]["price"], "0.55");
    assert_eq!(book["asks"].as_array().map(Vec::len), Some(1));

    let hist = call(
        &b,
        &ctx,
        "polymarket_price_history",
        json!({"token_id": YES}),
    )
    .await;
    assert_eq!(hist["history"][0]["t"], 1700000600);
    // The text lists the newest points with their UTC time (t is seconds).
    let text = b
        .call(
            "polymarket_price_history",
            json!({"token_id": YES}),
            ctx.clone(),
        )
        .await
        .expect("history")
        .text;
    assert!(
        text.contains("\n2023-11-14T22:23:20+00:00 0.52\n2023-11-14T22:13:20+00:00 0.5"),
        "{text}"
    );
    let bad = b
        .call(
            "polymarket_price_history",
            json!({"token_id": YES, "interval": "5y"}),
            ctx.clone(),
        )
        .await
        .expect_err("bad interval");
    assert_eq!(bad.kind, ToolErrorKind::InvalidInput);

    let wallet = call(&b, &ctx, "polymarket_wallet", json!({"address": SRC})).await;
    assert_eq!(wallet["positions"][0]["size"], "1000");
    assert_eq!(wallet["activity"][0]["usdc_size"], "5.5");
    assert_eq!(wallet["unrealized_pnl"], "40");
    let bad = b
        .call(
            "polymarket_wallet",
            json!({"address": "paper"}),
            ctx.clone(),
        )
        .await
        .expect_err("not an address");
    assert_eq!(bad.kind, ToolErrorKind::InvalidInput);

    let board = call(
        &b,
        &ctx,
        "polymarket_leaderboard",
        json!({"time_period": "week", "order_by": "vol"}),
    )
    .await;
    assert_eq!(board["leaderboard"][0]["user_name"], "whale");
    assert_eq!(board["leaderboard"][0]["pnl"], "25000.25");

    // Tick size and neg-risk come from Gamma when not given.
    let built = b
        .call(
            "polymarket_build_order",
            json!({"token_id": YES, "side": "BUY", "price": "0.555", "size": "10", "salt": 7}),
            ctx.clone(),
        )
        .await
        .expect("build")
        .structured;
    assert_eq!(built["tick_size"], "0.001");
    assert_eq!(built["neg_risk"], true);
    assert_eq!(built["metadata_from"], "gamma");
    // The V2 Neg-Risk exchange (not V1's 0xC5d563A3...), domain version "2".
    assert_eq!(
        built["exchange"],
        "0xe2222d279d744050d28e00520010520000310F59"
    );
    assert_eq!(built["domain_version"], "2");
    assert!(built["order"].get("nonce").is_none());

    // Copy trading on the live venue plans by default and places nothing.
    let copy = call(
        &b,
        &ctx,
        "polymarket_copy_wallet",
        json!({"source": SRC, "scale": "0.01"}),
    )
    .await;
    assert_eq!(copy["executed"], false);
    assert_eq!(copy["planned"][0]["size"], "8");
    assert_eq!(copy["planned"][0]["price"], "0.55");
    // We hold 7 NO the followed wallet does not hold: its target is 0, so
    // the plan sells them at the best bid (0.50). The old plan walked only
    // the wallet's tokens and left them.
    assert_eq!(copy["planned"][1]["token_id"], NO, "{copy}");
    assert_eq!(copy["planned"][1]["side"], "SELL");
    assert_eq!(copy["planned"][1]["size"], "7");
    assert_eq!(copy["planned"][1]["price"], "0.50");
    assert!(fake.posts.lock().expect("lock").is_empty());
}

#[tokio::test]
async fn live_orders_are_idempotent_risk_checked_and_cancellable() {
    let (clob, meta, fake) = serve().await;
    let (b, ctx) = setup(live_config(&clob, &meta, true)).await;
    let order = json!({"token_id": YES, "side": "BUY", "price": "0.55", "size": "10", "client_order_id": "c1"});
    let first = call(&b, &ctx, "polymarket_place_order", order.clone()).await;
    assert_eq!(first["duplicate"], false);
    assert_eq!(first["order"]["order_id"], "0xfeed1");
    assert_eq!(first["order"]["status"], "live");
    assert_eq!(first["order"]["market"], COND);
    let again = call(&b, &ctx, "polymarket_place_order", order).await;
    assert_eq!(again["duplicate"], true);
    assert_eq!(again["order"]["order_id"], "0xfeed1");
    assert_eq!(fake.posts.lock().expect("lock").len(), 1);
    assert_eq!(audit_count(&ctx, "live_order_pending").await, 1);
    assert_eq!(audit_count(&ctx, "order_placed").await, 1);

    // Off-tick prices are refused before anything is sent (Gamma tick 0.001).
    let err = b
        .call(
            "polymarket_place_order",
            json!({"token_id": YES, "side": "BUY", "price": "0.5555", "size": "10", "client_order_id": "c-tick"}),
            ctx.clone(),
        )
        .await
        .expect_err("tick");
    assert_eq!(err.kind, ToolErrorKind::InvalidInput);

    // Risk limits apply on the live path; the refusal names the limit.
    call(
        &b,
        &ctx,
        "polymarket_set_risk_limits",
        json!({"max_order_notional": "3"}),
    )
    .await;
    let err = b
        .call(
            "polymarket_place_order",
            json!({"token_id": YES, "side": "BUY", "price": "0.55", "size": "10", "client_order_id": "c2"}),
            ctx.clone(),
        )
        .await
        .expect_err("risk");
    assert_eq!(err.kind, ToolErrorKind::Refused);
    assert!(
        err.message.contains("max_order_notional"),
        "{}",
        err.message
    );
    assert_eq!(fake.posts.lock().expect("lock").len(), 1);
    let status = call(&b, &ctx, "polymarket_risk_status", json!({})).await;
    assert_eq!(status["total_exposure"], "5.50");
    call(
        &b,
        &ctx,
        "polymarket_set_risk_limits",
        json!({"max_order_notional": "1000"}),
    )
    .await;

    // An unknown outcome (503 on every retry) leaves the order pending; the
    // same client id re-sends the identical signed order.
    fake.fail_posts.store(3, Ordering::SeqCst);
    // By market and outcome: Gamma names the token.
    let order = json!({"market": COND, "outcome": "NO", "side": "SELL", "price": "0.45", "size": "6", "client_order_id": "c3"});
    let err = b
        .call("polymarket_place_order", order.clone(), ctx.clone())
        .await
        .expect_err("unavailable");
    assert_eq!(err.kind, ToolErrorKind::Upstream);
    assert!(
        err.message.contains("same client_order_id"),
        "{}",
        err.message
    );
    let retried = call(&b, &ctx, "polymarket_place_order", order).await;
    assert_eq!(retried["duplicate"], true);
    assert_eq!(retried["order"]["status"], "live");
    let posts = fake.posts.lock().expect("lock").clone();
    assert_eq!(posts.len(), 5);
    assert_eq!(posts[1]["order"], posts[4]["order"]);
    assert_eq!(posts[4]["order"]["side"], "SELL");
    assert_eq!(posts[4]["order"]["tokenId"], NO);

    let open = call(&b, &ctx, "polymarket_open_orders", json!({})).await;
    assert_eq!(open["orders"][0]["id"], "0xfeed1");

    // Cancel by client order id maps to the venue id.
    let cancelled = call(
        &b,
        &ctx,
        "polymarket_cancel_order",
        json!({"order_ids": ["c1"]}),
    )
    .await;
    assert_eq!(cancelled["canceled"][0], "0xfeed1");
    assert_eq!(
        fake.deletes.lock().expect("lock")[0],
        ("one".to_string(), "0xfeed1".to_string())
    );
    let status = call(&b, &ctx, "polymarket_risk_status", json!({})).await;
    assert_eq!(status["total_exposure"], "0");
    call(
        &b,
        &ctx,
        "polymarket_set_risk_limits",
        json!({"kill_switch": true}),
    )
    .await;
    assert_eq!(fake.deletes.lock().expect("lock")[1].0, "all");
    let err = b
        .call(
            "polymarket_place_order",
            json!({"token_id": YES, "side": "BUY", "price": "0.5", "size": "6", "client_order_id": "c9"}),
            ctx.clone(),
        )
        .await
        .expect_err("kill switch");
    assert!(err.message.contains("kill switch"), "{}", err.message);
}

#[tokio::test]
async fn api_credentials_are_derived_with_l1_headers_when_only_a_key_is_set() {
    let (clob, meta, fake) = serve().await;
    let (b, ctx) = setup(live_config(&clob, &meta, false)).await;
    assert!(b.is_live());
    let open = call(&b, &ctx, "polymarket_open_orders", json!({})).await;
    assert_eq!(open["orders"].as_array().map(Vec::len), Some(1));
    call(&b, &ctx, "polymarket_open_orders", json!({})).await;
    assert_eq!(fake.derives.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn live_orders_are_clob_v2_signed_never_v1() {
    // The fake refuses any order with a V1 field, without timestamp /
    // metadata / builder, or whose signature does not recover to its signer
    // under the V2 Neg-Risk exchange's domain (check_v2_order).
    let (clob, meta, fake) = serve().await;
    let builder = format!("0x{}", "0b".repeat(32));
    let (b, ctx) = setup(PolymarketConfig {
        builder_code: builder.parse().expect("bytes32"),
        ..live_config(&clob, &meta, true)
    })
    .await;
    let placed = call(
        &b,
        &ctx,
        "polymarket_place_order",
        json!({"market": "fake-pass", "outcome": "YES", "side": "BUY", "price": "0.512", "size": "10", "client_order_id": "v2-1"}),
    )
    .await;
    assert_eq!(placed["order"]["status"], "live");
    let posts = fake.posts.lock().expect("lock").clone();
    assert_eq!(posts.len(), 1);
    let order = &posts[0]["order"];
    assert_eq!(order["builder"], builder);
    assert_eq!(order["signatureType"], 0);
    // 10 shares at 0.512 (tick 0.001): 5.12 pUSD = 5_120_000 units.
    assert_eq!(order["makerAmount"], "5120000");
    assert_eq!(order["takerAmount"], "10000000");
    assert!(order.get("nonce").is_none() && order.get("feeRateBps").is_none());
    assert_eq!(posts[0]["deferExec"], false);
}

#[tokio::test]
async fn pusd_balance_and_allowances_come_from_balance_allowance() {
    let (clob, meta, _fake) = serve().await;
    let (b, ctx) = setup(live_config(&clob, &meta, true)).await;
    let status = call(&b, &ctx, "polymarket_collateral", json!({"token_id": YES})).await;
    assert_eq!(status["collateral"], "pUSD");
    // 1250500000 units of a 6-decimal token.
    assert_eq!(status["pusd"]["balance"], "1250.5");
    assert_eq!(
        status["missing_approvals"],
        json!(["Neg-Risk CTF Exchange V2"])
    );
    assert_eq!(status["token"]["balance"], "2");
    let text = b
        .call("polymarket_collateral", json!({}), ctx.clone())
        .await
        .expect("status")
        .text;
    assert!(text.contains("pUSD balance 1250.5"), "{text}");
    assert!(
        text.contains("not approved for: Neg-Risk CTF Exchange V2"),
        "{text}"
    );

    let redeem = call(
        &b,
        &ctx,
        "polymarket_collateral",
        json!({"action": "redeem", "market": "fake-pass"}),
    )
    .await;
    // The fake market is neg-risk: the neg-risk collateral adapter, pUSD as collateral.
    assert_eq!(
        redeem["calls"][0]["to"],
        "0xadA2005600Dec949baf300f4C6120000bDB6eAab"
    );
    assert_eq!(redeem["sent"], false);
    let err = b
        .call(
            "polymarket_collateral",
            json!({"action": "wrap"}),
            ctx.clone(),
        )
        .await
        .expect_err("no amount");
    assert_eq!(err.kind, ToolErrorKind::InvalidInput);
    assert!(err.message.contains("amount"), "{}", err.message);
}

#[tokio::test]
async fn fee_estimate_reads_the_venue_schedule_once_and_adds_the_builder_fee() {
    let (clob, meta, fake) = serve().await;
    let mut config = live_config(&clob, &meta, true);
    config.builder_code = alloy_primitives::B256::repeat_byte(0x11);
    let (b, ctx) = setup(config).await;
    // Fee schedule of the market (GET /clob-markets): rate 0.03, exponent 1.
    // 100 shares at 0.40 as taker: 100 x 0.03 x (0.40 x 0.60) = 0.72; builder
    // taker 50 bps of the 40 USDC notional = 0.20; total 0.92 = 2.3 % of 40.
    let args = json!({"token_id": YES, "side": "BUY", "price": "0.40", "size": "100"});
    let v = call(&b, &ctx, "polymarket_fee_estimate", args.clone()).await;
    let e = &v["estimate"];
    assert_eq!(v["market"], COND);
    assert_eq!(e["platform_fee"], "0.72", "{v}");
    assert_eq!(e["builder_fee"], "0.2");
    assert_eq!(e["total_fee"], "0.92");
    assert_eq!(e["effective_rate"], "0.023");
    assert_eq!(e["schedule"]["rate"], "0.03");
    assert_eq!(e["schedule_source"]["kind"], "venue");
    assert_eq!(
        e["schedule_source"]["endpoint"],
        format!("GET /clob-markets/{COND}")
    );
    assert_eq!(e["schedule_source"]["cached"], false);
    // The second estimate (the NO token, as a maker) answers from the cache:
    // makers pay no platform fee, only the builder's maker 20 bps of
    // 100 x 0.60 = 60 USDC = 0.12.
    let v = call(
        &b,
        &ctx,
        "polymarket_fee_estimate",
        json!({"market": COND, "outcome": "NO", "side": "SELL", "price": "0.60", "size": "100", "role": "maker"}),
    )
    .await;
    assert_eq!(v["token_id"], NO);
    assert_eq!(v["estimate"]["platform_fee"], "0");
    assert_eq!(v["estimate"]["builder_fee"], "0.12");
    assert_eq!(v["estimate"]["schedule_source"]["cached"], true);
    assert_eq!(fake.fee_reads.load(Ordering::SeqCst), 1);
    let err = b
        .call(
            "polymarket_fee_estimate",
            json!({"token_id": YES, "side": "BUY", "price": "1.2", "size": "1"}),
            ctx.clone(),
        )
        .await
        .expect_err("price");
    assert_eq!(err.field.as_deref(), Some("price"));
}

#[tokio::test]
async fn quotes_ensemble_settle_and_analytics_read_the_live_venue() {
    let (clob, meta, fake) = serve().await;
    let (b, ctx) = setup(live_config(&clob, &meta, true)).await;

    // Quotes around the live YES mid (best bid 0.50, best ask 0.55 -> 0.525)
    // with the live inventory (2 YES - 7 NO shares from the Data API).
    let q = call(
        &b,
        &ctx,
        "polymarket_quote_market",
        json!({"market": "fake-pass"}),
    )
    .await;
    assert_eq!(q["mid"], "0.525");
    assert_eq!(q["inventory"], "-5");
    assert_eq!(q["market"], COND);
    assert!(fake.posts.lock().expect("lock").is_empty());
    // place=true cancels the market's open orders and posts both quotes as
    // V2 orders (the fake verifies each one's signature).
    let placed = call(
        &b,
        &ctx,
        "polymarket_quote_market",
        json!({"market": "fake-pass", "place": true, "base_size": "10"}),
    )
    .await;
    let n = placed["placed"].as_array().map_or(0, Vec::len);
    assert_eq!(n, 2, "{placed}");
    assert_eq!(fake.posts.lock().expect("lock").len(), 2);
    assert!(
        fake.deletes
            .lock()
            .expect("lock")
            .iter()
            .any(|(k, m)| k == "market" && m == COND)
    );

    // The ensemble prices against the live asks with the venue's fee
    // schedule (rate 0.03, exponent 1) and the pUSD balance (1250.5).
    let e = call(
        &b,
        &ctx,
        "polymarket_ensemble_signal",
        json!({"market": "fake-pass", "forecasts": [{"probability": "0.7", "source": "model"}]}),
    )
    .await;
    assert_eq!(e["bankroll_pusd"], "1250.5");
    assert_eq!(e["suggestion"]["outcome"], "YES");
    assert_eq!(e["suggestion"]["price"], "0.55");

    // Settlement: the market is open, so nothing is redeemable yet.
    let s = call(
        &b,
        &ctx,
        "polymarket_settle",
        json!({"market": "fake-pass"}),
    )
    .await;
    assert_eq!(s["redeem"], Value::Null);
    assert_eq!(s["positions"][0]["size"], "2");

    // Analytics over the account's CLOB trades: one taker fill of 10 x 0.55,
    // one maker fill of 4 x 0.45.
    let a = call(&b, &ctx, "polymarket_analytics", json!({})).await;
    assert_eq!(a["fills"]["taker"], 1);
    assert_eq!(a["fills"]["maker"], 1);
    assert_eq!(a["fills"]["taker_volume"], "5.50");
    assert_eq!(a["fills"]["maker_volume"], "1.80");
    assert_eq!(a["unrealized_pnl"], "1.9");
}
