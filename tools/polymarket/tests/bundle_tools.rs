//! The bundle through its ToolBundle interface, as the runtime calls it.

mod common;

use common::TestBundle;
use nt_mcp_core::bundle::{BundleSettings, ToolCtx};
use nt_mcp_core::store::core_migrations;
use nt_mcp_core::{Store, ToolBundle, ToolErrorKind};
use nt_polymarket::{PolymarketBundle, PolymarketConfig};
use serde_json::{Value, json};

async fn setup(config: PolymarketConfig) -> (TestBundle, ToolCtx) {
    let bundle = TestBundle::from_config(config).expect("bundle");
    let store = Store::open("sqlite::memory:").await.expect("open");
    let mut migrations = core_migrations();
    migrations.extend(bundle.migrations());
    store.migrate(&migrations).await.expect("migrate");
    let ctx = common::ctx_at(store, 1_750_000_000_000, false);
    (bundle, ctx)
}

/// Text answers read as prose: no Rust debug output (`Some(..)`, `None`)
/// and no JSON-quoted numbers (`"0.5"`).
fn assert_reads_plain(tool: &str, text: &str) {
    assert!(
        !text.contains("Some(") && !text.contains("None"),
        "{tool}: {text}"
    );
    let b = text.as_bytes();
    for i in 0..b.len().saturating_sub(1) {
        let next = if b[i + 1] == b'-' {
            b.get(i + 2)
        } else {
            b.get(i + 1)
        };
        assert!(
            !(b[i] == b'"' && next.is_some_and(u8::is_ascii_digit)),
            "{tool}: quoted number in {text}"
        );
    }
}

async fn call(b: &TestBundle, ctx: &ToolCtx, tool: &str, args: Value) -> Value {
    match b.call(tool, args, ctx.clone()).await {
        Ok(out) => {
            assert!(
                out.text.contains("venue") || tool == "polymarket_build_order",
                "{}",
                out.text
            );
            assert_reads_plain(tool, &out.text);
            out.structured
        }
        Err(err) => panic!("{tool} failed: {err:?}"),
    }
}

fn market<'a>(markets: &'a Value, slug: &str) -> &'a Value {
    markets["markets"]
        .as_array()
        .and_then(|a| a.iter().find(|m| m["slug"] == slug))
        .expect("market")
}

#[tokio::test]
async fn trading_flow_is_idempotent_risk_checked_and_simulated() {
    let (b, ctx) = setup(PolymarketConfig::default()).await;
    assert_eq!(b.tools().len(), 24);
    let markets = call(&b, &ctx, "polymarket_markets", json!({})).await;
    assert_eq!(markets["venue"], "simulated");
    assert_eq!(markets["count"], 7);
    let fed = market(&markets, "fed-cut-next-fomc");
    let yes = fed["tokens"][0]["token_id"]
        .as_str()
        .expect("token")
        .to_string();

    // Missing client id and off-tick prices name their fields.
    let err = b
        .call(
            "polymarket_place_order",
            json!({"token_id": yes, "side": "BUY", "price": "0.63", "size": "10"}),
            ctx.clone(),
        )
        .await
        .expect_err("needs client id");
    assert_eq!(err.field.as_deref(), Some("client_order_id"));
    let err = b
        .call("polymarket_place_order", json!({"token_id": yes, "side": "BUY", "price": "0.635", "size": "10", "client_order_id": "x"}), ctx.clone())
        .await
        .expect_err("tick");
    assert_eq!(err.field.as_deref(), Some("price"));
    let err = b
        .call("polymarket_place_order", json!({"token_id": yes, "side": "HOLD", "price": "0.6", "size": "10", "client_order_id": "x"}), ctx.clone())
        .await
        .expect_err("side");
    assert_eq!(err.field.as_deref(), Some("side"));
    // A market without an outcome, and neither market nor token: named.
    let err = b
        .call("polymarket_place_order", json!({"market": "fed-cut-next-fomc", "side": "BUY", "price": "0.6", "size": "10", "client_order_id": "x"}), ctx.clone())
        .await
        .expect_err("outcome");
    assert_eq!(err.field.as_deref(), Some("outcome"));
    let err = b
        .call(
            "polymarket_place_order",
            json!({"side": "BUY", "price": "0.6", "size": "10", "client_order_id": "x"}),
            ctx.clone(),
        )
        .await
        .expect_err("token");
    assert_eq!(err.field.as_deref(), Some("token_id"));

    // Same client id twice: one order.
    let args = json!({"token_id": yes, "side": "BUY", "price": "0.50", "size": "10", "client_order_id": "bid-1"});
    let first = call(&b, &ctx, "polymarket_place_order", args.clone()).await;
    let second = call(&b, &ctx, "polymarket_place_order", args).await;
    assert_eq!(first["duplicate"], false);
    assert_eq!(second["duplicate"], true);
    assert_eq!(first["order"]["order_id"], second["order"]["order_id"]);
    let open = call(&b, &ctx, "polymarket_open_orders", json!({})).await;
    assert_eq!(open["orders"].as_array().map(Vec::len), Some(1));

    // Taking liquidity fills and shows up in positions. By market and
    // outcome instead of token id; numbers as well as decimal strings.
    let taken = call(&b, &ctx, "polymarket_place_order", json!({"market": "fed-cut-next-fomc", "outcome": "YES", "side": "BUY", "price": 0.63, "size": 20, "client_order_id": "take-1"})).await;
    assert_eq!(taken["order"]["status"], "filled");
    let pos = call(&b, &ctx, "polymarket_positions", json!({})).await;
    assert_eq!(pos["positions"][0]["shares"], "20");
    assert_eq!(pos["positions"][0]["token_id"], yes.as_str());
    let text = b
        .call("polymarket_positions", json!({}), ctx.clone())
        .await
        .expect("positions")
        .text;
    assert!(
        text.contains(": 20 shares @ "),
        "one line a position: {text}"
    );

    // Risk: a tight notional limit refuses and names itself.
    call(
        &b,
        &ctx,
        "polymarket_set_risk_limits",
        json!({"max_order_notional": "5"}),
    )
    .await;
    let err = b
        .call("polymarket_place_order", json!({"token_id": yes, "side": "BUY", "price": "0.60", "size": "10", "client_order_id": "big"}), ctx.clone())
        .await
        .expect_err("limit");
    assert_eq!(err.kind, ToolErrorKind::Refused);
    assert!(
        err.message.contains("max_order_notional"),
        "{}",
        err.message
    );

    // Kill switch cancels everything and refuses new orders.
    let killed = call(
        &b,
        &ctx,
        "polymarket_set_risk_limits",
        json!({"kill_switch": true, "max_order_notional": "1000"}),
    )
    .await;
    assert_eq!(killed["cancelled"], 1);
    let err = b
        .call("polymarket_place_order", json!({"token_id": yes, "side": "BUY", "price": "0.40", "size": "1", "client_order_id": "k"}), ctx.clone())
        .await
        .expect_err("killed");
    assert!(err.message.contains("kill switch"), "{}", err.message);
    let status = call(&b, &ctx, "polymarket_risk_status", json!({})).await;
    assert_eq!(status["kill_switch"], true);
    call(
        &b,
        &ctx,
        "polymarket_set_risk_limits",
        json!({"kill_switch": false}),
    )
    .await;

    // Settlement pays the 20 YES shares and returns redeem calldata.
    let settled = call(
        &b,
        &ctx,
        "polymarket_settle",
        json!({"market": "fed-cut-next-fomc", "winner": "YES"}),
    )
    .await;
    assert_eq!(settled["paper_payout"], "20");
    assert!(
        settled["redeem"]["data"]
            .as_str()
            .is_some_and(|d| d.starts_with("0x01b7037c"))
    );

    // Every order, fill, cancel and settlement is in the audit log.
    let rows: Vec<(String,)> = sqlx::query_as("SELECT outcome FROM audit_log")
        .fetch_all(ctx.store.pool())
        .await
        .expect("audit");
    for outcome in ["order_placed", "fill", "order_cancelled", "settlement"] {
        assert!(
            rows.iter().any(|r| r.0 == outcome),
            "no {outcome} in audit log"
        );
    }
}

#[tokio::test]
async fn strategies_arbitrage_quotes_ensemble_copy_and_analytics() {
    let (b, ctx) = setup(PolymarketConfig::default()).await;
    // The seeded league event's YES asks 0.41 + 0.31 + 0.21 + 0.06 = 0.99
    // leave 0.01 per set before fees. The local CLOB's default schedule
    // (rate 0.04, exponent 1) takes 0.04 x (0.2419 + 0.2139 + 0.1659 +
    // 0.0564) = 0.04 x 0.6781 = 0.027124 per set: no arbitrage after fees.
    let arb = call(&b, &ctx, "polymarket_find_arbitrage", json!({})).await;
    assert_eq!(
        arb["opportunities"].as_array().map(Vec::len),
        Some(0),
        "{arb}"
    );
    assert_eq!(arb["skipped_events"].as_array().map(Vec::len), Some(0));
    let free = call(
        &b,
        &ctx,
        "polymarket_find_arbitrage",
        json!({"fee_bps": "0"}),
    )
    .await;
    let opps = free["opportunities"].as_array().expect("opps");
    assert_eq!(opps.len(), 1, "{free}");
    assert_eq!(opps[0]["kind"], "neg_risk_buy_all");
    assert_eq!(opps[0]["edge_per_set"], "0.01");
    assert!(
        opps[0]["action"]
            .as_str()
            .is_some_and(|a| a.starts_with("buy YES of all 4 outcomes")),
        "{free}"
    );
    // At 100 bps: 0.01 x 0.6781 = 0.006781, edge 0.003219 per set; on the
    // 200 sets at the top of the books the legs pay 200 x 0.01 x p(1-p):
    // 0.4838 + 0.4278 + 0.3318 + 0.1128 = 1.3562; profit 2.00 - 1.3562 = 0.6438.
    let low = call(
        &b,
        &ctx,
        "polymarket_find_arbitrage",
        json!({"fee_bps": "100"}),
    )
    .await;
    assert_eq!(low["opportunities"][0]["edge_per_set"], "0.003219", "{low}");
    assert_eq!(low["opportunities"][0]["size"], "200");
    assert_eq!(low["opportunities"][0]["fees_total"], "1.3562");
    assert_eq!(low["opportunities"][0]["expected_profit"], "0.6438");
    let with_fees = call(
        &b,
        &ctx,
        "polymarket_find_arbitrage",
        json!({"fee_bps": "200"}),
    )
    .await;
    assert_eq!(with_fees["opportunities"].as_array().map(Vec::len), Some(0));

    let q = call(
        &b,
        &ctx,
        "polymarket_quote_market",
        json!({"market": "btc-150k-year-end", "place": true}),
    )
    .await;
    assert_eq!(q["placed"].as_array().map(Vec::len), Some(2), "{q}");
    let open = call(
        &b,
        &ctx,
        "polymarket_open_orders",
        json!({"market": "btc-150k-year-end"}),
    )
    .await;
    assert_eq!(open["orders"].as_array().map(Vec::len), Some(2));

    // A slow order flow (k = 1.5) gives a spread of 0.00025 + 20 ln(1 + 0.1/1.5)
    // = 1.29102: around the 0.07 mid the bid 0.07 - 0.64551 is below one tick,
    // so no bid is posted (the old code clamped it to 0.001), and says why.
    let thin = call(
        &b,
        &ctx,
        "polymarket_quote_market",
        json!({"market": "london-snow-christmas", "k": 1.5, "place": true}),
    )
    .await;
    assert!(thin["quotes"]["bid"].is_null(), "{thin}");
    assert!(
        thin["quotes"]["no_bid_reason"]
            .as_str()
            .is_some_and(|r| r.contains("below one tick")),
        "{thin}"
    );
    assert_eq!(thin["quotes"]["ask"]["price"], "0.716");
    assert_eq!(thin["placed"].as_array().map(Vec::len), Some(1));

    // Fees of a fill on the local CLOB (its default schedule: rate 0.04,
    // exponent 1): 100 shares at 0.50 as taker = 100 x 0.04 x 0.25 = 1;
    // with a builder taker rate of 100 bps on the 50 USDC notional, + 0.5.
    let fee = call(
        &b,
        &ctx,
        "polymarket_fee_estimate",
        json!({"market": "btc-150k-year-end", "outcome": "YES", "side": "BUY", "price": "0.5", "size": 100,
               "builder_taker_bps": "100"}),
    )
    .await;
    assert_eq!(fee["estimate"]["platform_fee"], "1", "{fee}");
    assert_eq!(fee["estimate"]["builder_fee"], "0.5");
    assert_eq!(fee["estimate"]["total_fee"], "1.5");
    assert_eq!(fee["estimate"]["effective_rate"], "0.03");
    assert_eq!(fee["estimate"]["schedule_source"]["kind"], "local_clob");
    let maker = call(
        &b,
        &ctx,
        "polymarket_fee_estimate",
        json!({"market": "btc-150k-year-end", "side": "SELL", "price": "0.5", "size": "100", "role": "maker"}),
    )
    .await;
    assert_eq!(maker["estimate"]["platform_fee"], "0");
    let err = b
        .call(
            "polymarket_fee_estimate",
            json!({"market": "btc-150k-year-end", "side": "BUY", "price": "0.5", "size": "100", "builder_taker_bps": "101"}),
            ctx.clone(),
        )
        .await
        .expect_err("builder cap");
    assert_eq!(err.field.as_deref(), Some("builder_taker_bps"));

    let sig = call(&b, &ctx, "polymarket_ensemble_signal", json!({
        "market": "london-snow-christmas",
        "forecasts": [{"source": "a", "probability": 0.20}, {"source": "b", "probability": "0.30", "weight": 1}]
    })).await;
    assert_eq!(sig["suggestion"]["outcome"], "YES");
    assert_eq!(sig["risk"]["allowed"], true, "{sig}");
    // Under a tight order limit the same kind of suggestion says it would
    // be refused, and by which limit (a market left unresolved here, so
    // the Brier score below is unchanged).
    call(
        &b,
        &ctx,
        "polymarket_set_risk_limits",
        json!({"max_order_notional": "1"}),
    )
    .await;
    let capped = call(
        &b,
        &ctx,
        "polymarket_ensemble_signal",
        json!({
            "market": "btc-150k-year-end",
            "forecasts": [{"source": "a", "probability": 0.35}]
        }),
    )
    .await;
    assert_eq!(capped["risk"]["allowed"], false, "{capped}");
    assert!(
        capped["risk"]["refused_by"]
            .as_str()
            .is_some_and(|r| r.contains("max_order_notional")),
        "{capped}"
    );
    call(
        &b,
        &ctx,
        "polymarket_set_risk_limits",
        json!({"max_order_notional": "1000"}),
    )
    .await;
    let err = b
        .call("polymarket_ensemble_signal", json!({"market": "london-snow-christmas", "forecasts": [{"source": "a", "probability": "2"}]}), ctx.clone())
        .await
        .expect_err("bad prob");
    assert_eq!(err.field.as_deref(), Some("forecasts[0].probability"));
    call(
        &b,
        &ctx,
        "polymarket_settle",
        json!({"market": "london-snow-christmas", "winner": "NO"}),
    )
    .await;
    let stats = call(&b, &ctx, "polymarket_analytics", json!({})).await;
    assert_eq!(stats["scored_forecasts"], 2);
    // The paper quotes rest unfilled: no maker shares, nothing captured yet
    // (the mark-out arithmetic is checked in analytics::tests).
    assert_eq!(stats["maker_shares"], "0", "{stats}");
    assert_eq!(stats["spread_captured"], "0", "{stats}");
    assert_eq!(stats["brier_score"], "0.065"); // (0.04 + 0.09) / 2

    let plan = call(
        &b,
        &ctx,
        "polymarket_copy_wallet",
        json!({"source": "house", "scale": "0.0001", "dry_run": true}),
    )
    .await;
    assert!(!plan["planned"].as_array().expect("plan").is_empty());
    let done = call(
        &b,
        &ctx,
        "polymarket_copy_wallet",
        json!({"source": "house", "scale": "0.0001"}),
    )
    .await;
    assert!(
        done["results"]
            .as_array()
            .is_some_and(|r| r.iter().any(|x| x["filled"].is_string())),
        "{done}"
    );
    let board = call(&b, &ctx, "polymarket_leaderboard", json!({})).await;
    assert_eq!(board["leaderboard"].as_array().map(Vec::len), Some(2));
    let wallet = call(&b, &ctx, "polymarket_wallet", json!({"address": "paper"})).await;
    assert!(!wallet["activity"].as_array().expect("activity").is_empty());

    let book = call(
        &b,
        &ctx,
        "polymarket_orderbook",
        json!({"market": "league-title-alpha", "outcome": "NO", "depth": 3}),
    )
    .await;
    assert_eq!(book["bids"].as_array().map(Vec::len), Some(3));
}

#[tokio::test]
async fn build_order_signs_only_with_a_key_and_resources_render() {
    let (b, ctx) = setup(PolymarketConfig::default()).await;
    let err = b
        .call(
            "polymarket_build_order",
            json!({"token_id": "1", "side": "BUY", "price": "0.5", "size": "10"}),
            ctx.clone(),
        )
        .await
        .expect_err("no key");
    assert!(err.message.contains("POLYMARKET_PRIVATE_KEY"));
    let cfg = PolymarketConfig {
        private_key: Some(
            "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318".into(),
        ),
        ..PolymarketConfig::default()
    };
    let (b, ctx) = setup(cfg).await;
    // Fixture case 0 (py-clob-client-v2), built through the tool: the same
    // CLOB V2 order and signature, for the V2 Neg-Risk exchange.
    let fx: Value =
        serde_json::from_str(include_str!("../fixtures/signing_fixtures.json")).expect("fixtures");
    let case = &fx["orders"][0];
    let signed = call(&b, &ctx, "polymarket_build_order", json!({
        "token_id": case["asset"], "side": case["side"], "price": case["price"], "size": case["size"],
        "tick_size": case["tick_size"], "neg_risk": case["neg_risk"], "salt": case["salt"],
        "timestamp_ms": case["timestamp_ms"], "metadata": case["metadata"], "builder_code": case["builder"]
    })).await;
    assert_eq!(signed["order"]["signature"], case["signature"]);
    assert_eq!(signed["exchange"], case["exchange"]);
    assert_eq!(signed["protocol"], "CLOB V2");
    // V1 arguments are refused by name, not silently ignored.
    let err = b
        .call(
            "polymarket_build_order",
            json!({"token_id": "1", "side": "BUY", "price": "0.5", "size": "10", "nonce": 3}),
            ctx.clone(),
        )
        .await
        .expect_err("v1 nonce");
    assert!(err.message.contains("nonce"), "{}", err.message);
    let glossary = b
        .read_resource("polymarket://glossary", ctx.clone())
        .await
        .expect("glossary");
    assert!(glossary.text.contains("neg-risk") || glossary.text.contains("Neg-risk"));
    assert!(
        b.read_resource("polymarket://nope", ctx.clone())
            .await
            .is_err()
    );
    let mut args = std::collections::BTreeMap::new();
    args.insert("market".to_string(), "fed-cut-next-fomc".to_string());
    let text = b
        .render_prompt("polymarket_research_and_size", &args)
        .expect("prompt");
    assert!(text.contains("polymarket_ensemble_signal"));
    assert_eq!(
        b.venues()[0].mode,
        nt_mcp_core::bundle::VenueMode::Simulated
    );
    assert!(PolymarketBundle::new(&BundleSettings::default()).is_ok());
}
