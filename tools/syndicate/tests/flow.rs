//! A syndicate's life through the bundle's route table, on SQLite and on a
//! private PostgreSQL schema: create, add members with roles, contribute at
//! NAV, a bet under the threshold placed at once, a bet over it voted
//! through a quorum and one voted down, settlement moving the NAV per unit,
//! a hybrid distribution, a withdrawal at NAV; permissions, lock-ups and
//! double votes refused; the books balance and every change is audited.

use std::sync::Arc;

use nt_mcp_core::store::core_migrations;
use nt_mcp_core::{Store, ToolBundle, ToolCtx, ToolRouter};
use nt_syndicate::SyndicateBundle;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde_json::{Value, json};

async fn store_at(url: &str) -> Store {
    let store = Store::open(url).await.expect("open");
    let mut all = core_migrations();
    all.extend(nt_syndicate::store::migrations());
    store.migrate(&all).await.expect("migrate");
    store
}

async fn ok(r: &ToolRouter, ctx: &ToolCtx, tool: &str, args: Value) -> Value {
    match r.call(tool, args.clone(), ctx.clone()).await {
        Ok(out) => out.structured,
        Err(e) => panic!("{tool} {args}: {}", e.to_text()),
    }
}

async fn refused(r: &ToolRouter, ctx: &ToolCtx, tool: &str, args: Value) -> String {
    r.call(tool, args, ctx.clone())
        .await
        .expect_err("refused")
        .message
}

fn d(v: &Value) -> Decimal {
    v.as_str()
        .unwrap_or_else(|| panic!("not a decimal: {v}"))
        .parse()
        .unwrap()
}

async fn life(store: Store) {
    let r = Arc::new(SyndicateBundle).routes();
    let ctx = ToolCtx::new(store.clone());
    let s = ok(&r, &ctx, "syndicate_create", json!({"name": "Sharp Money", "lead": "ann", "vote_threshold": "100", "quorum_pct": "0.5", "lockup_days": 0, "performance_fee_pct": "0.2"})).await;
    let sid = s["syndicate"]["id"].as_str().unwrap().to_string();
    for (m, role) in [("bob", "member"), ("cat", "analyst"), ("dan", "observer")] {
        ok(
            &r,
            &ctx,
            "syndicate_add_member",
            json!({"syndicate_id": sid, "as_member": "ann", "member_id": m, "role": role}),
        )
        .await;
    }
    let msg = refused(
        &r,
        &ctx,
        "syndicate_add_member",
        json!({"syndicate_id": sid, "as_member": "bob", "member_id": "eve"}),
    )
    .await;
    assert!(msg.contains("may not manage members"), "{msg}");

    // 1000 + 600 + 400 at NAV 1: 2000 units.
    for (m, a) in [("ann", "1000"), ("bob", "600"), ("cat", "400")] {
        let c = ok(
            &r,
            &ctx,
            "syndicate_contribute",
            json!({"syndicate_id": sid, "member": m, "amount": a}),
        )
        .await;
        assert_eq!(d(&c["units_issued"]), a.parse::<Decimal>().unwrap());
    }
    let msg = refused(
        &r,
        &ctx,
        "syndicate_contribute",
        json!({"syndicate_id": sid, "member": "dan", "amount": "10"}),
    )
    .await;
    assert!(
        msg.contains("observer") && msg.contains("may not contribute"),
        "{msg}"
    );

    // Under the threshold: the analyst places it at once.
    let small = ok(&r, &ctx, "syndicate_propose_bet", json!({"syndicate_id": sid, "as_member": "cat", "description": "EPL Arsenal v Chelsea h2h", "selection": "Arsenal", "odds": "2.5", "stake": "100"})).await;
    assert_eq!(small["bet"]["status"], "placed");
    let msg = refused(&r, &ctx, "syndicate_propose_bet", json!({"syndicate_id": sid, "as_member": "bob", "description": "x", "selection": "y", "odds": "2", "stake": "10"})).await;
    assert!(msg.contains("may not propose bets"), "{msg}");

    // Over it: needs a vote. Quorum 50 % of 2000 units; Bob's 600 yes is
    // not yet a quorum, Ann's 1000 yes decides it.
    let big = ok(&r, &ctx, "syndicate_propose_bet", json!({"syndicate_id": sid, "as_member": "cat", "description": "NBA Celtics v Heat h2h", "selection": "Celtics", "odds": "1.8", "stake": "500", "probability": "0.6"})).await;
    assert_eq!(big["bet"]["status"], "proposed");
    let big_id = big["bet"]["id"].as_str().unwrap().to_string();
    let v = ok(
        &r,
        &ctx,
        "syndicate_vote",
        json!({"syndicate_id": sid, "bet_id": big_id, "as_member": "bob", "approve": true}),
    )
    .await;
    assert_eq!(v["decision"], "open");
    let msg = refused(
        &r,
        &ctx,
        "syndicate_vote",
        json!({"syndicate_id": sid, "bet_id": big_id, "as_member": "bob", "approve": true}),
    )
    .await;
    assert!(msg.contains("`one_vote`"), "{msg}");
    let msg = refused(
        &r,
        &ctx,
        "syndicate_vote",
        json!({"syndicate_id": sid, "bet_id": big_id, "as_member": "dan", "approve": false}),
    )
    .await;
    assert!(msg.contains("may not vote"), "{msg}");
    let v = ok(
        &r,
        &ctx,
        "syndicate_vote",
        json!({"syndicate_id": sid, "bet_id": big_id, "as_member": "ann", "approve": true}),
    )
    .await;
    assert_eq!(v["decision"], "approved");
    assert_eq!(v["bet"]["status"], "placed");

    // A third, voted down 1000 no against 600 yes.
    let third = ok(&r, &ctx, "syndicate_propose_bet", json!({"syndicate_id": sid, "as_member": "ann", "description": "NFL", "selection": "Chiefs", "odds": "3.0", "stake": "300"})).await;
    let third_id = third["bet"]["id"].as_str().unwrap().to_string();
    ok(
        &r,
        &ctx,
        "syndicate_vote",
        json!({"syndicate_id": sid, "bet_id": third_id, "as_member": "bob", "approve": true}),
    )
    .await;
    let v = ok(
        &r,
        &ctx,
        "syndicate_vote",
        json!({"syndicate_id": sid, "bet_id": third_id, "as_member": "ann", "approve": false}),
    )
    .await;
    assert_eq!(v["decision"], "rejected");

    // Cash 1400, at risk 600; nobody takes out more than they hold.
    let st = ok(&r, &ctx, "syndicate_status", json!({"syndicate_id": sid})).await;
    assert_eq!(d(&st["fund"]["cash"]), dec!(1400));
    assert_eq!(d(&st["fund"]["at_risk"]), dec!(600));
    let msg = refused(
        &r,
        &ctx,
        "syndicate_withdraw",
        json!({"syndicate_id": sid, "member": "bob", "amount": "700"}),
    )
    .await;
    assert!(msg.contains("`units_held`"), "{msg}");

    // Settle: +150 and -500 → NAV 1650 over 2000 units = 0.825.
    let msg = refused(&r, &ctx, "syndicate_settle_bet", json!({"syndicate_id": sid, "bet_id": small["bet"]["id"], "as_member": "cat", "result": "won"})).await;
    assert!(msg.contains("may not settle bets"), "{msg}");
    let w = ok(&r, &ctx, "syndicate_settle_bet", json!({"syndicate_id": sid, "bet_id": small["bet"]["id"], "as_member": "ann", "result": "won"})).await;
    assert_eq!(d(&w["pnl"]), dec!(150));
    let l = ok(
        &r,
        &ctx,
        "syndicate_settle_bet",
        json!({"syndicate_id": sid, "bet_id": big_id, "as_member": "ann", "result": "lost"}),
    )
    .await;
    assert_eq!(d(&l["nav"]), dec!(1650));
    assert_eq!(d(&l["nav_per_unit"]), dec!(0.825));

    // Hybrid distribution of 100: 20 fee to Ann, 80 by units 1000:600:400.
    let dist = ok(
        &r,
        &ctx,
        "syndicate_distribute",
        json!({"syndicate_id": sid, "as_member": "ann", "amount": "100", "method": "hybrid"}),
    )
    .await;
    let paid: Decimal = dist["payments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| d(&p["amount"]))
        .sum();
    assert_eq!(paid, dec!(100));
    let ann: Decimal = dist["payments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["member"] == "ann")
        .map(|p| d(&p["amount"]))
        .sum();
    assert_eq!(ann, dec!(60));

    // Bob redeems everything at the new NAV: 600 × 1550/2000 = 465.
    let out = ok(
        &r,
        &ctx,
        "syndicate_withdraw",
        json!({"syndicate_id": sid, "member": "bob", "all": true}),
    )
    .await;
    assert_eq!(d(&out["paid"]), dec!(465));

    let st = ok(&r, &ctx, "syndicate_status", json!({"syndicate_id": sid})).await;
    assert_eq!(st["balanced"], true);
    assert_eq!(d(&st["nav"]), dec!(1085));
    assert_eq!(st["ledger"][0]["kind"], "withdrawal");
    assert_eq!(d(&st["ledger"][0]["amount"]), dec!(-465));
    let bob = st["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["member"] == "bob")
        .unwrap()
        .clone();
    // Bob: put in 600, got 465 + 24 (80 × 600/2000): profit −111.
    assert_eq!(d(&bob["profit"]), dec!(-111));
    let cat = st["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["member"] == "cat")
        .unwrap()
        .clone();
    assert_eq!(
        (
            cat["bets_proposed"].as_u64(),
            cat["bets_won"].as_u64(),
            cat["bets_lost"].as_u64()
        ),
        (Some(2), Some(1), Some(1))
    );
    assert_eq!(d(&cat["bets_pnl"]), dec!(-350));

    let audited: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE outcome LIKE 'syndicate_%'")
            .fetch_one(store.pool())
            .await
            .unwrap();
    // create + 3 members + 3 contributions + 3 proposals + 4 votes + 2 settlements + 1 distribution + 1 withdrawal.
    assert_eq!(audited, 18);
    let ledger: Vec<(String, String)> = sqlx::query_as(
        "SELECT kind, amount FROM syndicate_ledger WHERE syndicate_id = $1 ORDER BY seq",
    )
    .bind(&sid)
    .fetch_all(store.pool())
    .await
    .unwrap();
    let net: Decimal = ledger
        .iter()
        .filter(|(k, _)| !k.starts_with("bet_"))
        .map(|(_, a)| a.parse::<Decimal>().unwrap())
        .sum();
    // External flows: 2000 in, 100 distributed, 465 withdrawn; plus P&L −350 = NAV 1085.
    assert_eq!(net - dec!(350), dec!(1085));
}

#[tokio::test]
async fn a_syndicate_through_its_tools() {
    life(store_at("sqlite::memory:").await).await;
    if let Some(pg) =
        nt_mcp_core::testing::pg_schema("nt_syndicate_", "a_syndicate_through_its_tools").await
    {
        let store = store_at(&pg.url).await;
        life(store.clone()).await;
        store.pool().close().await;
        pg.drop_schema().await;
    }
}

#[tokio::test]
async fn lockups_hold_money_and_per_caller_accounts_act_as_themselves() {
    let store = store_at("sqlite::memory:").await;
    let r = Arc::new(SyndicateBundle).routes();
    let ctx = ToolCtx::new(store.clone());
    let s = ok(
        &r,
        &ctx,
        "syndicate_create",
        json!({"name": "Locked", "lead": "ann", "lockup_days": 30}),
    )
    .await;
    let sid = s["syndicate"]["id"].as_str().unwrap().to_string();
    ok(
        &r,
        &ctx,
        "syndicate_contribute",
        json!({"syndicate_id": sid, "member": "ann", "amount": "100"}),
    )
    .await;
    let msg = refused(
        &r,
        &ctx,
        "syndicate_withdraw",
        json!({"syndicate_id": sid, "member": "ann", "amount": "10"}),
    )
    .await;
    assert!(msg.contains("`lockup`"), "{msg}");
    let alice = ctx.clone().with_account("alice");
    let msg = refused(
        &r,
        &alice,
        "syndicate_contribute",
        json!({"syndicate_id": sid, "member": "ann", "amount": "10"}),
    )
    .await;
    assert!(msg.contains("you act as `alice`"), "{msg}");
}

async fn concurrent(store: Store) {
    let r = Arc::new(SyndicateBundle).routes();
    let ctx = ToolCtx::new(store.clone());
    let s = ok(
        &r,
        &ctx,
        "syndicate_create",
        json!({"name": "Busy", "lead": "ann"}),
    )
    .await;
    let sid = s["syndicate"]["id"].as_str().unwrap().to_string();
    for m in ["m1", "m2", "m3", "m4"] {
        ok(
            &r,
            &ctx,
            "syndicate_add_member",
            json!({"syndicate_id": sid, "as_member": "ann", "member_id": m}),
        )
        .await;
    }
    // Eight contributions at once from four members: the version check
    // makes each reload and retry, none is lost.
    let mut tasks = Vec::new();
    for i in 0..8 {
        let (r, ctx, sid) = (r.clone(), ctx.clone(), sid.clone());
        tasks.push(tokio::spawn(async move {
            let m = format!("m{}", i % 4 + 1);
            r.call(
                "syndicate_contribute",
                json!({"syndicate_id": sid, "member": m, "amount": "12.5"}),
                ctx,
            )
            .await
        }));
    }
    let mut done = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => done += 1,
            Err(e) => assert!(
                e.message.contains("changed during the call"),
                "{}",
                e.message
            ),
        }
    }
    let st = ok(&r, &ctx, "syndicate_status", json!({"syndicate_id": sid})).await;
    assert_eq!(st["balanced"], true);
    assert_eq!(
        d(&st["fund"]["contributed"]),
        Decimal::from(done) * dec!(12.5)
    );
    assert_eq!(d(&st["fund"]["units"]), Decimal::from(done) * dec!(12.5));
    assert_eq!(done, 8, "every contribution goes through");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_contributions_are_all_counted() {
    concurrent(store_at("sqlite::memory:").await).await;
    if let Some(pg) =
        nt_mcp_core::testing::pg_schema("nt_syndicate_", "concurrent_contributions_are_all_counted")
            .await
    {
        let store = store_at(&pg.url).await;
        concurrent(store.clone()).await;
        store.pool().close().await;
        pg.drop_schema().await;
    }
}
