//! The sports tools through the bundle's route table on the simulated book,
//! on SQLite and PostgreSQL: events and prices, margin removal and Kelly
//! tools, bets placed once per client id and audited, every risk rule
//! refusing by name, settlement, the loss-streak circuit breaker and the
//! risk status.

mod support;

use nt_mcp_core::{Store, ToolCtx, ToolErrorKind};
use nt_sports::SportsBundle;
use nt_sports::risk::RiskConfig;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde_json::{Value, json};
use support::*;

fn dec_of(v: &Value) -> Decimal {
    v.as_str()
        .unwrap_or_else(|| panic!("not a decimal string: {v}"))
        .parse()
        .expect("decimal")
}

async fn first_event(
    r: &nt_mcp_core::ToolRouter,
    ctx: &ToolCtx,
    sport: &str,
) -> (String, String, Decimal) {
    let evs = ok(r, ctx, "odds_events", json!({"sport": sport})).await;
    assert_eq!(evs["venue"], "sim-book");
    // The last listed fixture (tomorrow's latest) is hours from starting.
    let last = evs["events"]
        .as_array()
        .unwrap()
        .last()
        .expect("an event")
        .clone();
    let id = last["id"].as_str().expect("event id").to_string();
    let odds = ok(
        r,
        ctx,
        "odds_for_event",
        json!({"sport": sport, "event_id": id}),
    )
    .await;
    let home = odds["event"]["home"].as_str().unwrap().to_string();
    let best = odds["h2h"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["outcome"] == home.as_str())
        .expect("home line")["best_odds"]
        .clone();
    (id, home, dec_of(&best))
}

async fn bets_and_risk(store: Store) {
    let risk = RiskConfig {
        max_stake_per_bet: dec!(50),
        max_stake_per_event: dec!(80),
        loss_streak_limit: 2,
        ..RiskConfig::default()
    };
    let r = router(SportsBundle::simulated(11, risk));
    let ctx = ToolCtx::new(store.clone());

    let sports = ok(&r, &ctx, "odds_events", json!({})).await;
    assert_eq!(sports["sports"].as_array().unwrap().len(), 3);
    let (event, home, best) = first_event(&r, &ctx, "soccer_epl").await;

    // Place once; the same client id again is the same bet.
    let placed = ok(&r, &ctx, "bet_place", json!({"client_id": "c1", "sport": "soccer_epl", "event_id": event, "selection": home, "odds": best.to_string(), "stake": "40"})).await;
    assert_eq!(placed["duplicate"], false);
    assert_eq!(dec_of(&placed["bet"]["odds"]), best);
    let again = ok(&r, &ctx, "bet_place", json!({"client_id": "c1", "sport": "soccer_epl", "event_id": event, "selection": home, "odds": best.to_string(), "stake": "40"})).await;
    assert_eq!(again["duplicate"], true);
    assert_eq!(again["bet"]["id"], placed["bet"]["id"]);
    assert_eq!(audit_count(&store, "bet_placed").await, 1);

    // Rules refuse by name.
    let refusal = |args: Value| {
        let r = &r;
        let ctx = &ctx;
        async move { call(r, ctx, "bet_place", args).await.expect_err("refused") }
    };
    let e = refusal(json!({"client_id": "c2", "sport": "soccer_epl", "event_id": event, "selection": home, "odds": best.to_string(), "stake": "60"})).await;
    assert!(e.message.contains("`max_stake_per_bet`"), "{}", e.message);
    let e = refusal(json!({"client_id": "c3", "sport": "soccer_epl", "event_id": event, "selection": home, "odds": best.to_string(), "stake": "45"})).await;
    assert!(e.message.contains("`max_stake_per_event`"), "{}", e.message);
    // A price above the book's is a moved price, not a bet.
    let e = refusal(json!({"client_id": "c4", "sport": "soccer_epl", "event_id": event, "selection": home, "odds": (best + dec!(5)).to_string(), "stake": "5"})).await;
    assert_eq!(e.kind, ToolErrorKind::Refused);
    assert!(e.message.contains("price moved"), "{}", e.message);
    let e = refusal(json!({"client_id": "c5", "sport": "soccer_epl", "event_id": event, "selection": "Nobody", "odds": "2", "stake": "5"})).await;
    assert_eq!(e.field.as_deref(), Some("selection"));

    // Settle: lost, lost -> the loss-streak breaker opens.
    let id1 = placed["bet"]["id"].as_str().unwrap().to_string();
    let e = call(&r, &ctx, "bet_cancel", json!({"bet_id": id1}))
        .await
        .expect_err("sim bets are matched");
    assert!(e.message.contains("nothing to cancel"), "{}", e.message);
    let s = ok(
        &r,
        &ctx,
        "bet_settle",
        json!({"bet_id": id1, "result": "lost"}),
    )
    .await;
    assert_eq!(dec_of(&s["bet"]["pnl"]), dec!(-40));
    let e = call(
        &r,
        &ctx,
        "bet_settle",
        json!({"bet_id": id1, "result": "won"}),
    )
    .await
    .expect_err("settled twice");
    assert!(e.message.contains("already settled"), "{}", e.message);
    let evs = ok(&r, &ctx, "odds_events", json!({"sport": "basketball_nba"})).await;
    let last = evs["events"].as_array().unwrap().last().unwrap().clone();
    let ev2 = last["id"].as_str().unwrap().to_string();
    let home2 = last["home"].as_str().unwrap().to_string();
    let p2 = ok(&r, &ctx, "bet_place", json!({"client_id": "n1", "sport": "basketball_nba", "event_id": ev2, "selection": home2, "odds": "1.01", "stake": "10"})).await;
    let status = ok(&r, &ctx, "betting_risk_status", json!({})).await;
    assert_eq!(status["exposure_by_sport"][0]["sport"], "basketball_nba");
    assert_eq!(dec_of(&status["usage"]["staked_today"]), dec!(50));
    ok(
        &r,
        &ctx,
        "bet_settle",
        json!({"bet_id": p2["bet"]["id"], "result": "lost"}),
    )
    .await;
    let e = refusal(json!({"client_id": "n2", "sport": "basketball_nba", "event_id": ev2, "selection": home2, "odds": "1.01", "stake": "5"})).await;
    assert!(e.message.contains("`loss_streak_breaker`"), "{}", e.message);
    let status = ok(&r, &ctx, "betting_risk_status", json!({})).await;
    assert_eq!(status["can_bet"], false);
    assert!(status["loss_streak_breaker_open_until"].is_string());
    let list = ok(&r, &ctx, "bet_list", json!({"status": "lost"})).await;
    assert_eq!(list["bets"].as_array().unwrap().len(), 2);
    assert_eq!(dec_of(&list["settled_profit"]), dec!(-50));
    assert_eq!(audit_count(&store, "bet_settled").await, 2);
}

#[tokio::test]
async fn bets_and_risk_rules() {
    on_both("bets_and_risk_rules", bets_and_risk).await;
}

async fn compliance(store: Store) {
    let risk = RiskConfig {
        allowed_jurisdictions: vec!["GB".into(), "IE".into()],
        jurisdiction: Some("US-UT".into()),
        ..RiskConfig::default()
    };
    let r = router(SportsBundle::simulated(3, risk));
    let ctx = ToolCtx::new(store.clone());
    let (event, home, best) = first_event(&r, &ctx, "americanfootball_nfl").await;
    let e = call(&r, &ctx, "bet_place", json!({"client_id": "j1", "sport": "americanfootball_nfl", "event_id": event, "selection": home, "odds": best.to_string(), "stake": "5"})).await.expect_err("jurisdiction");
    assert!(
        e.message.contains("`jurisdiction`") && e.message.contains("US-UT"),
        "{}",
        e.message
    );
    assert_eq!(audit_count(&store, "bet_placed").await, 0);

    let risk = RiskConfig {
        self_excluded_until_ms: Some(i64::MAX / 2),
        ..RiskConfig::default()
    };
    let r = router(SportsBundle::simulated(3, risk));
    let e = call(&r, &ctx, "bet_place", json!({"client_id": "j2", "sport": "americanfootball_nfl", "event_id": event, "selection": home, "odds": best.to_string(), "stake": "5"})).await.expect_err("excluded");
    assert!(e.message.contains("`self_exclusion`"), "{}", e.message);

    // Per-caller accounts keep their bets apart.
    let r = router(SportsBundle::simulated(3, RiskConfig::default()));
    let a = ctx.clone().with_account("alice");
    let b = ctx.clone().with_account("bob");
    ok(&r, &a, "bet_place", json!({"client_id": "x", "sport": "americanfootball_nfl", "event_id": event, "selection": home, "odds": best.to_string(), "stake": "5"})).await;
    let mine = ok(&r, &b, "bet_list", json!({})).await;
    assert_eq!(mine["bets"].as_array().unwrap().len(), 0);
    let theirs = ok(&r, &a, "bet_list", json!({})).await;
    assert_eq!(theirs["bets"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn compliance_flags_and_accounts() {
    on_both("compliance_flags_and_accounts", compliance).await;
}

#[tokio::test]
async fn maths_tools() {
    let store = store_at("sqlite::memory:").await;
    let r = router(SportsBundle::simulated(1, RiskConfig::default()));
    let ctx = ToolCtx::new(store);
    let c = ok(
        &r,
        &ctx,
        "odds_convert",
        json!({"odds": "-200", "format": "american"}),
    )
    .await;
    assert_eq!(c["fractional"], "1/2");
    let m = ok(
        &r,
        &ctx,
        "odds_remove_margin",
        json!({"odds": ["4.20", "3.70", "1.95"]}),
    )
    .await;
    let p = m["proportional"]["probabilities"][0].as_f64().unwrap();
    assert!((p - 0.2331556).abs() < 1e-7);
    assert!(m["shin"]["parameter"].as_f64().unwrap() > 0.0);
    let e = call(
        &r,
        &ctx,
        "odds_remove_margin",
        json!({"odds": ["4.20", "0.9"]}),
    )
    .await
    .expect_err("bad");
    assert_eq!(e.field.as_deref(), Some("odds[1]"));

    let k = ok(
        &r,
        &ctx,
        "kelly_stake",
        json!({"probability": 0.6, "odds": "2.0", "bankroll": "1000", "fraction": 0.5}),
    )
    .await;
    assert_eq!(k["kelly_fraction"].as_f64().unwrap(), 0.2);
    assert_eq!(dec_of(&k["stake"]), dec!(100));
    let pf = ok(&r, &ctx, "kelly_portfolio", json!({"bets": [{"probability": 0.6, "odds": "2.0"}, {"probability": 0.6, "odds": "2.0"}], "bankroll": "1000"})).await;
    let f = pf["bets"][0]["kelly_simultaneous"].as_f64().unwrap();
    assert!((f - 0.4 / 2.08).abs() < 1e-7, "{f}");
    assert_eq!(dec_of(&pf["total_stake"]), dec!(384.60));

    let arb = ok(
        &r,
        &ctx,
        "odds_find_arbitrage",
        json!({"quotes": [
        {"book": "x", "outcome": "A", "odds": "2.10"}, {"book": "y", "outcome": "B", "odds": "2.05"}
    ], "total_stake": "1000"}),
    )
    .await;
    assert_eq!(dec_of(&arb["arbitrage"]["guaranteed_profit"]), dec!(37.35));
    let scan = ok(
        &r,
        &ctx,
        "odds_find_arbitrage",
        json!({"sport": "basketball_nba"}),
    )
    .await;
    // Tomorrow's three NBA fixtures, plus today's not yet started.
    let scanned = scan["events_scanned"].as_u64().unwrap();
    assert!((3..=6).contains(&scanned), "{scanned}");
    assert_eq!(scan["venue"], "sim-book");
}

#[test]
fn settings_are_read_and_unknown_keys_refused() {
    use nt_mcp_core::BundleSettings;
    let table: toml::Table = toml::from_str(
        r#"
        seed = 9
        max_stake_per_bet = "25.50"
        allowed_jurisdictions = "GB, IE"
        jurisdiction = "IE"
        bettor_age = 30
        self_excluded_until = "2031-01-01"
        stale_feed = "90s"
        loss_streak_limit = 0
        "#,
    )
    .unwrap();
    let settings = BundleSettings {
        table: table.into_iter().collect(),
        live_trading: false,
    };
    let b = SportsBundle::new(&settings).expect("valid settings");
    assert_eq!(b.risk.max_stake_per_bet, dec!(25.50));
    assert_eq!(
        b.risk.allowed_jurisdictions,
        vec!["GB".to_string(), "IE".to_string()]
    );
    assert_eq!(b.risk.bettor_age, Some(30));
    assert_eq!(b.risk.stale_feed_ms, 90_000);
    assert_eq!(b.risk.loss_streak_limit, 0);
    assert_eq!(
        b.risk.self_excluded_until_ms,
        nt_mcp_core::dates::parse_iso_ms("2031-01-01T00:00:00Z")
    );

    let bad: toml::Table = toml::from_str("max_stake_per_bet = -5").unwrap();
    let e = SportsBundle::new(&BundleSettings {
        table: bad.into_iter().collect(),
        live_trading: false,
    })
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("bundle_config.sports.max_stake_per_bet"),
        "{e}"
    );
    let unknown: toml::Table = toml::from_str("max_bet = 5").unwrap();
    let e = SportsBundle::new(&BundleSettings {
        table: unknown.into_iter().collect(),
        live_trading: false,
    })
    .unwrap_err();
    assert!(e.to_string().contains("unknown setting"), "{e}");
}

/// On the simulated book, time moves: a bet on a fixture settles from its
/// seeded result once it has finished, and a started fixture takes no bets.
async fn auto_settle(store: Store) {
    use std::sync::Arc;
    let clock = Arc::new(nt_mcp_core::clock::ManualClock::new(1_800_000_000_000));
    let r =
        router(SportsBundle::simulated(21, RiskConfig::default()).with_sim_clock(clock.clone()));
    let ctx = ToolCtx::new(store.clone()).with_clock(clock.clone());
    let evs = ok(&r, &ctx, "odds_events", json!({"sport": "basketball_nba"})).await;
    let event = evs["events"][0]["id"].as_str().unwrap().to_string();
    let home = evs["events"][0]["home"].as_str().unwrap().to_string();
    let placed = ok(&r, &ctx, "bet_place", json!({"client_id": "auto", "sport": "basketball_nba", "event_id": event, "selection": home, "odds": "1.01", "stake": "10"})).await;
    let id = placed["bet"]["id"].clone();
    let e = call(&r, &ctx, "bet_settle", json!({"bet_id": id}))
        .await
        .expect_err("not finished");
    assert!(e.message.contains("no final score"), "{}", e.message);

    let start =
        nt_mcp_core::dates::parse_iso_ms(evs["events"][0]["commence_time"].as_str().unwrap())
            .unwrap();
    clock.set(start + 60_000);
    let e = call(&r, &ctx, "bet_place", json!({"client_id": "late", "sport": "basketball_nba", "event_id": event, "selection": home, "odds": "1.01", "stake": "10"})).await.expect_err("started");
    assert!(e.message.contains("`event_started`"), "{}", e.message);

    clock.set(start + 3 * 3_600_000);
    let s = ok(&r, &ctx, "bet_settle", json!({"bet_id": id})).await;
    let status = s["bet"]["status"].as_str().unwrap().to_string();
    assert!(status == "won" || status == "lost", "{status}");
    // The same result the feed reports.
    use nt_sports::feed::OddsFeed;
    let book = nt_sports::sim::SimBook::new(21).with_clock(clock.clone());
    let score = book
        .scores("basketball_nba")
        .await
        .unwrap()
        .into_iter()
        .find(|x| x.event_id == event)
        .unwrap();
    assert_eq!(status == "won", score.home > score.away);
}

#[tokio::test]
async fn simulated_results_settle_bets() {
    on_both("simulated_results_settle_bets", auto_settle).await;
}
