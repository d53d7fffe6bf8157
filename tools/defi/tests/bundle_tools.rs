//! Every tool through the route table on the embedded snapshot: answers say
//! `source: snapshot`; the paper ledger accrues at the vault's APY on the
//! context's clock, books a client id once and audits each booking; bad
//! input names its field.

mod common;

use std::sync::Arc;

use common::{SNAP_MS, TestBundle, ctx, store};
use nt_defi::DefiConfig;
use nt_defi::beefy::snapshot;
use nt_mcp_core::ToolErrorKind;
use nt_mcp_core::clock::ManualClock;
use serde_json::{Value, json};

const YEAR_MS: i64 = 31_536_000_000;

fn num(v: &Value) -> f64 {
    match v {
        Value::String(s) => s.parse().expect("number text"),
        other => other.as_f64().expect("number"),
    }
}

#[tokio::test]
async fn the_table_has_the_tools_and_they_answer_from_the_snapshot() {
    let b = TestBundle::new(DefiConfig::default());
    let names = b.names();
    for t in [
        "defi_chains",
        "defi_vaults",
        "defi_vault",
        "defi_apy_breakdown",
        "defi_position",
        "defi_build_deposit",
        "defi_build_withdraw",
        "defi_rank_vaults",
        "defi_allocate",
        "defi_impermanent_loss",
        "defi_paper_deposit",
        "defi_paper_withdraw",
        "defi_send_transaction",
        "defi_rebalance",
    ] {
        assert!(names.iter().any(|n| n == t), "missing {t}");
    }
    let store = store().await;
    let clock = Arc::new(ManualClock::new(SNAP_MS));
    let c = || ctx(&store, &clock, false);

    let chains = b.call("defi_chains", json!({}), c()).await.expect("chains");
    assert_eq!(chains.structured["source"], "snapshot");
    assert!(chains.text.contains("source: snapshot"));
    let rows = chains.structured["chains"].as_array().expect("rows");
    assert_eq!(rows.len(), 7);
    let base = rows.iter().find(|r| r["chain"] == "base").expect("base");
    assert_eq!(base["chain_id"], 8453);
    assert_eq!(base["rpc_configured"], false);

    let list = b
        .call("defi_vaults", json!({"sort": "apy", "limit": 5}), c())
        .await
        .expect("vaults");
    let v = list.structured["vaults"].as_array().expect("list");
    assert_eq!(v.len(), 5);
    assert!(v.windows(2).all(|w| num(&w[0]["apy"]) >= num(&w[1]["apy"])));
    assert!(v.iter().all(|x| x["status"] == "active"));
    let eol = b
        .call("defi_vaults", json!({"status": "eol"}), c())
        .await
        .expect("eol");
    assert_eq!(eol.structured["matched"], 1);

    let one = b
        .call(
            "defi_vault",
            json!({"vault_id": "aerodrome-weth-usdc"}),
            c(),
        )
        .await
        .expect("vault");
    assert_eq!(one.structured["chain"], "base");
    assert_eq!(
        one.structured["boosts"].as_array().expect("boosts").len(),
        1
    );
    assert_eq!(num(&one.structured["price_per_full_share"]), 1.0612);

    let bad = b
        .call("defi_vaults", json!({"sort": "fun"}), c())
        .await
        .expect_err("bad sort");
    assert_eq!(bad.field.as_deref(), Some("sort"));
    let bad = b
        .call("defi_vaults", json!({"colour": 1}), c())
        .await
        .expect_err("unknown field");
    assert_eq!(bad.kind, ToolErrorKind::InvalidInput);
}

#[tokio::test]
async fn apy_breakdown_recomputes_and_projects() {
    let b = TestBundle::new(DefiConfig::default());
    let store = store().await;
    let clock = Arc::new(ManualClock::new(SNAP_MS));
    let out = b
        .call(
            "defi_apy_breakdown",
            json!({"vault_id": "cakev2-cake-bnb", "deposit_usd": 1000, "days": 365}),
            ctx(&store, &clock, false),
        )
        .await
        .expect("breakdown");
    let s = &out.structured;
    assert_eq!(s["recomputed"]["consistent"], true, "{}", out.text);
    // Farm APR before fee: the generator's 22.4 %.
    assert!((num(&s["farm_apr_before_fee"]) - 0.224).abs() < 1e-9);
    let total = num(&s["total_apy"]);
    // A year's yield on $1000 is $1000 · totalApy.
    assert!((num(&s["projection"]["yield_usd"]) - 1000.0 * total).abs() < 1e-4);
    // The boosted vault: boost APR from rewardRate/totalSupply (the
    // generator aimed at 8 %).
    let boosted = b
        .call(
            "defi_apy_breakdown",
            json!({"vault_id": "aerodrome-weth-usdc"}),
            ctx(&store, &clock, false),
        )
        .await
        .expect("boosted");
    assert!(
        (num(&boosted.structured["boost_apr"]) - 0.08).abs() < 1e-6,
        "{}",
        boosted.text
    );
    // LP fee APR from volume: $2M/day at cakev2's 0.25 % over $50M = 3.65 %.
    let lp = b
        .call("defi_apy_breakdown", json!({"vault_id": "cakev2-cake-bnb", "daily_volume_usd": 2_000_000, "liquidity_usd": 50_000_000}), ctx(&store, &clock, false))
        .await
        .expect("lp fee");
    assert!((num(&lp.structured["lp_fee_apr_estimate"]) - 0.0365).abs() < 1e-12);
    let half = b
        .call(
            "defi_apy_breakdown",
            json!({"vault_id": "cakev2-cake-bnb", "daily_volume_usd": 1}),
            ctx(&store, &clock, false),
        )
        .await
        .expect_err("one of two");
    assert_eq!(half.field.as_deref(), Some("liquidity_usd"));
    // The eol boost pays nothing.
    let eol = b
        .call(
            "defi_apy_breakdown",
            json!({"vault_id": "velodrome-v2-weth-op"}),
            ctx(&store, &clock, false),
        )
        .await
        .expect("eol boost");
    assert_eq!(num(&eol.structured["boost_apr"]), 0.0);
}

#[tokio::test]
async fn impermanent_loss_tool() {
    let b = TestBundle::new(DefiConfig::default());
    let store = store().await;
    let clock = Arc::new(ManualClock::new(SNAP_MS));
    let out = b
        .call(
            "defi_impermanent_loss",
            json!({"price_a_start": 2000, "price_a_end": 8000, "deposit_usd": 10000, "apy": 0}),
            ctx(&store, &clock, false),
        )
        .await
        .expect("il");
    assert!((num(&out.structured["impermanent_loss"]) + 0.2).abs() < 1e-12);
    assert_eq!(num(&out.structured["hold_value"]), 25000.0);
    assert_eq!(num(&out.structured["lp_value"]), 20000.0);
    let err = b
        .call(
            "defi_impermanent_loss",
            json!({"price_a_start": 0, "price_a_end": 1}),
            ctx(&store, &clock, false),
        )
        .await
        .expect_err("zero price");
    assert_eq!(err.field.as_deref(), Some("price_a_start"));
}

#[tokio::test]
async fn rank_allocate_and_rebalance() {
    let b = TestBundle::new(DefiConfig::default());
    let store = store().await;
    let clock = Arc::new(ManualClock::new(SNAP_MS));
    let c = || ctx(&store, &clock, false);
    let ranked = b
        .call("defi_rank_vaults", json!({"limit": 10}), c())
        .await
        .expect("rank");
    let r = ranked.structured["ranked"].as_array().expect("ranked");
    assert_eq!(r.len(), 10);
    assert!(
        r.windows(2)
            .all(|w| num(&w[0]["score"]) >= num(&w[1]["score"]))
    );
    assert!(ranked.structured["elapsed_us"].as_u64().is_some());
    println!(
        "ranking figure: {}",
        ranked.text.lines().next().unwrap_or("")
    );

    let alloc = b
        .call("defi_allocate", json!({"budget_usd": 10000, "max_vaults": 5, "max_per_vault": 0.3, "max_per_chain": 0.5}), c())
        .await
        .expect("allocate");
    let a = &alloc.structured["allocation"];
    let slices = a["slices"].as_array().expect("slices");
    let sum: f64 = slices.iter().map(|s| num(&s["amount"])).sum();
    assert!((sum + num(&a["unallocated"]) - 10000.0).abs() < 0.011);
    assert!(slices.iter().all(|s| num(&s["amount"]) <= 3000.0 + 0.005));
    let mut per_chain = std::collections::HashMap::<String, f64>::new();
    for s in slices {
        *per_chain
            .entry(s["chain"].as_str().expect("chain").into())
            .or_default() += num(&s["amount"]);
    }
    assert!(
        per_chain.values().all(|v| *v <= 5000.0 + 0.01),
        "{per_chain:?}"
    );

    // Holdings in a low-yield vault: moving is suggested.
    let reb = b
        .call(
            "defi_rebalance",
            json!({"holdings": [{"vault_id": "aave-op-weth", "usd": 5000}]}),
            c(),
        )
        .await
        .expect("rebalance");
    assert_eq!(reb.structured["rebalance"], true, "{}", reb.text);
    let moves = reb.structured["moves"].as_array().expect("moves");
    assert!(
        moves
            .iter()
            .any(|m| m["id"] == "aave-op-weth" && num(&m["change"]) == -5000.0)
    );
    let none = b
        .call("defi_rebalance", json!({}), c())
        .await
        .expect_err("no holdings");
    assert_eq!(none.kind, ToolErrorKind::NotFound);
}

#[tokio::test]
async fn paper_ledger_accrues_books_once_and_audits() {
    let b = TestBundle::new(DefiConfig::default());
    let store = store().await;
    let clock = Arc::new(ManualClock::new(SNAP_MS));
    let data = snapshot::data().expect("snapshot");
    let apy = data.total_apy("cakev2-cake-bnb");

    let dep = b
        .call(
            "defi_paper_deposit",
            json!({"vault_id": "cakev2-cake-bnb", "amount": "100", "client_id": "dep-1"}),
            ctx(&store, &clock, false),
        )
        .await
        .expect("deposit");
    assert_eq!(dep.structured["source"], "snapshot");
    let fill = &dep.structured["fill"];
    assert_eq!(num(&fill["ppfs"]), 2.441);
    assert!((num(&fill["shares"]) - 100.0 / 2.441).abs() < 1e-12);
    // Same client id: booked once.
    let again = b
        .call(
            "defi_paper_deposit",
            json!({"vault_id": "cakev2-cake-bnb", "amount": "100", "client_id": "dep-1"}),
            ctx(&store, &clock, false),
        )
        .await
        .expect("replay");
    assert_eq!(again.structured["fill"]["replayed"], true);

    // Half a year later the position is worth 100·(1 + apy)^0.5.
    clock.advance(YEAR_MS / 2);
    let pos = b
        .call("defi_position", json!({}), ctx(&store, &clock, false))
        .await
        .expect("position");
    let p = &pos.structured["positions"][0];
    let expect = 100.0 * (1.0 + apy).powf(0.5);
    assert!(
        (num(&p["value_want"]) - expect).abs() < 1e-9,
        "{} vs {expect}",
        p["value_want"]
    );
    assert!((num(&p["earned_want"]) - (expect - 100.0)).abs() < 1e-9);

    // Withdraw everything: less the 0.1 % withdrawal fee.
    let w = b
        .call(
            "defi_paper_withdraw",
            json!({"vault_id": "cakev2-cake-bnb", "client_id": "w-1"}),
            ctx(&store, &clock, false),
        )
        .await
        .expect("withdraw");
    let f = &w.structured["fill"];
    assert!((num(&f["fee_want"]) - expect * 0.001).abs() < 1e-9);
    assert!((num(&f["want_amount"]) - expect * 0.999).abs() < 1e-9);
    let empty = b
        .call("defi_position", json!({}), ctx(&store, &clock, false))
        .await
        .expect("position");
    assert_eq!(
        empty.structured["positions"]
            .as_array()
            .expect("list")
            .len(),
        0
    );
    let err = b
        .call(
            "defi_paper_withdraw",
            json!({"vault_id": "cakev2-cake-bnb", "client_id": "w-2"}),
            ctx(&store, &clock, false),
        )
        .await
        .expect_err("nothing left");
    assert_eq!(err.kind, ToolErrorKind::NotFound);

    // Another caller's account is kept apart.
    let alice = ctx(&store, &clock, false).with_account("alice");
    b.call(
        "defi_paper_deposit",
        json!({"vault_id": "aave-arb-usdc", "amount": "5", "client_id": "dep-1"}),
        alice.clone(),
    )
    .await
    .expect("alice deposit");
    let hers = b
        .call("defi_position", json!({}), alice.clone())
        .await
        .expect("alice");
    assert_eq!(
        hers.structured["positions"].as_array().expect("list").len(),
        1
    );
    assert_eq!(hers.structured["positions"][0]["vault_id"], "aave-arb-usdc");
    let reb = b
        .call("defi_rebalance", json!({"min_apy_gain": 0}), alice)
        .await
        .expect("rebalance from paper");
    assert!(num(&reb.structured["current_apy"]) > 0.0);

    let audits: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE outcome LIKE 'defi_paper_%'")
            .fetch_one(store.pool())
            .await
            .expect("audit");
    // The shared deposit (once), its withdrawal, and alice's deposit under the same client id.
    assert_eq!(audits, 3);

    // USD deposits use the want price; closed vaults refuse.
    let usd = b
        .call(
            "defi_paper_deposit",
            json!({"vault_id": "morpho-base-usdc", "amount_usd": 250, "client_id": "u-1"}),
            ctx(&store, &clock, false),
        )
        .await
        .expect("usd");
    assert_eq!(num(&usd.structured["fill"]["want_amount"]), 250.0);
    let closed = b
        .call(
            "defi_paper_deposit",
            json!({"vault_id": "sushi-matic-old", "amount": 1, "client_id": "c-1"}),
            ctx(&store, &clock, false),
        )
        .await
        .expect_err("eol");
    assert_eq!(closed.kind, ToolErrorKind::Refused);
    let both = b
        .call("defi_paper_deposit", json!({"vault_id": "morpho-base-usdc", "amount": 1, "amount_usd": 1, "client_id": "c-2"}), ctx(&store, &clock, false))
        .await
        .expect_err("both");
    assert_eq!(both.field.as_deref(), Some("amount"));
}

#[tokio::test]
async fn building_without_rpc_returns_calldata_for_review() {
    let b = TestBundle::new(DefiConfig::default());
    let store = store().await;
    let clock = Arc::new(ManualClock::new(SNAP_MS));
    let out = b
        .call(
            "defi_build_deposit",
            json!({"vault_id": "morpho-base-usdc", "amount": "25"}),
            ctx(&store, &clock, false),
        )
        .await
        .expect("build");
    assert_eq!(out.structured["sent"], false);
    let calls = out.structured["calls"].as_array().expect("calls");
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0]["call"]["selector"], "0x095ea7b3");
    assert_eq!(calls[1]["call"]["selector"], "0xb6b55f25");
    // 25 USDC = 25,000,000 raw = 0x17d7840.
    assert!(
        calls[1]["call"]["data"]
            .as_str()
            .expect("data")
            .ends_with("17d7840")
    );
    let send = b
        .call("defi_send_transaction", json!({"vault_id": "morpho-base-usdc", "action": "deposit", "amount": "1", "confirm": true}), ctx(&store, &clock, true))
        .await
        .expect_err("no key");
    assert_eq!(send.kind, ToolErrorKind::Refused);
    let precise = b
        .call(
            "defi_build_deposit",
            json!({"vault_id": "morpho-base-usdc", "amount": "0.0000001"}),
            ctx(&store, &clock, false),
        )
        .await
        .expect_err("too precise");
    assert_eq!(precise.field.as_deref(), Some("amount"));
}
