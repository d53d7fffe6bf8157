//! The `sports` variant through the real binary over stdio with rmcp's
//! client: sports and syndicate tools listed; events and prices from the
//! simulated book; margin removal, Kelly and arbitrage; a bet placed once
//! per client id, a risk rule refusing by name, settlement and the risk
//! status; a syndicate's contributions, a bet voted through by quorum, its
//! settlement, a distribution and a withdrawal, with the books balanced;
//! the audit rows the state changes leave.

mod common;

use common::*;
use serde_json::{Value, json};

async fn ok(client: &Client, tool: &str, args: Value) -> Value {
    let result = call(client, tool, args.clone()).await;
    assert!(!is_error(&result), "{tool} {args}: {}", text(&result));
    structured(&result)
}

/// A decimal answer (text) as a number, whatever its scale.
fn n(v: &Value) -> f64 {
    v.as_str()
        .unwrap_or_else(|| panic!("not a decimal: {v}"))
        .parse()
        .expect("decimal")
}

fn s(v: &Value) -> String {
    v.as_str()
        .unwrap_or_else(|| panic!("not a string: {v}"))
        .to_string()
}

#[tokio::test]
async fn sports_betting_and_a_syndicate_through_mcp() {
    let db = temp_db();
    let client = stdio_client(&["serve", "--variant", "sports", "--db", &db.url]).await;
    let tools = client.list_all_tools().await.expect("tools/list");
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    for t in [
        "odds_convert",
        "odds_remove_margin",
        "odds_find_arbitrage",
        "odds_events",
        "odds_for_event",
        "kelly_stake",
        "kelly_portfolio",
        "bet_place",
        "bet_list",
        "bet_cancel",
        "bet_settle",
        "betting_risk_status",
        "syndicate_create",
        "syndicate_add_member",
        "syndicate_contribute",
        "syndicate_withdraw",
        "syndicate_distribute",
        "syndicate_propose_bet",
        "syndicate_vote",
        "syndicate_status",
        "syndicate_settle_bet",
    ] {
        assert!(names.contains(&t), "{t} missing from {names:?}");
    }
    let place = tools.iter().find(|t| t.name == "bet_place").unwrap();
    assert_eq!(
        place.annotations.as_ref().and_then(|a| a.read_only_hint),
        Some(false)
    );

    // Maths.
    let conv = ok(
        &client,
        "odds_convert",
        json!({"odds": "5/2", "format": "fractional"}),
    )
    .await;
    assert_eq!(conv["american"], "+250");
    let margin = ok(
        &client,
        "odds_remove_margin",
        json!({"odds": ["4.20", "3.70", "1.95"], "method": "shin"}),
    )
    .await;
    assert!((margin["shin"]["parameter"].as_f64().unwrap() - 0.0106081).abs() < 1e-6);
    let kp = ok(
        &client,
        "kelly_portfolio",
        json!({"bets": [{"probability": 0.6, "odds": "2"}], "bankroll": "1000"}),
    )
    .await;
    assert!((kp["bets"][0]["kelly_simultaneous"].as_f64().unwrap() - 0.2).abs() < 1e-9);

    // Events and prices from the simulated book.
    let evs = ok(&client, "odds_events", json!({"sport": "soccer_epl"})).await;
    assert_eq!(evs["venue"], "sim-book");
    // The last listed fixture (tomorrow's latest) is hours from starting.
    let last = evs["events"].as_array().unwrap().last().unwrap().clone();
    let event = s(&last["id"]);
    let home = s(&last["home"]);
    let prices = ok(
        &client,
        "odds_for_event",
        json!({"sport": "soccer_epl", "event_id": event}),
    )
    .await;
    let best = prices["h2h"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["outcome"] == home.as_str())
        .unwrap()["best_odds"]
        .clone();
    let best = s(&best);
    ok(
        &client,
        "odds_find_arbitrage",
        json!({"sport": "soccer_epl"}),
    )
    .await;

    // A bet, once; a rule refusing by name; settlement; the status.
    let args = json!({"client_id": "mcp-1", "sport": "soccer_epl", "event_id": event, "selection": home, "odds": best, "stake": "25"});
    let bet = ok(&client, "bet_place", args.clone()).await;
    assert_eq!(bet["duplicate"], false);
    let again = ok(&client, "bet_place", args).await;
    assert_eq!(again["duplicate"], true);
    let too_big = call(&client, "bet_place", json!({"client_id": "mcp-2", "sport": "soccer_epl", "event_id": event, "selection": home, "odds": best, "stake": "500"})).await;
    assert!(is_error(&too_big));
    assert!(
        text(&too_big).contains("`max_stake_per_bet`"),
        "{}",
        text(&too_big)
    );
    let settled = ok(
        &client,
        "bet_settle",
        json!({"bet_id": bet["bet"]["id"], "result": "void"}),
    )
    .await;
    assert_eq!(settled["bet"]["status"], "void");
    let risk = ok(&client, "betting_risk_status", json!({})).await;
    assert_eq!(risk["can_bet"], true);
    assert_eq!(n(&risk["usage"]["staked_today"]), 25.0);

    // A syndicate.
    let syn = ok(
        &client,
        "syndicate_create",
        json!({"name": "MCP Syndicate", "lead": "ann", "vote_threshold": "50"}),
    )
    .await;
    let sid = s(&syn["syndicate"]["id"]);
    ok(
        &client,
        "syndicate_add_member",
        json!({"syndicate_id": sid, "as_member": "ann", "member_id": "bob"}),
    )
    .await;
    ok(
        &client,
        "syndicate_contribute",
        json!({"syndicate_id": sid, "member": "ann", "amount": "300"}),
    )
    .await;
    ok(
        &client,
        "syndicate_contribute",
        json!({"syndicate_id": sid, "member": "bob", "amount": "100"}),
    )
    .await;
    let denied = call(&client, "syndicate_propose_bet", json!({"syndicate_id": sid, "as_member": "bob", "description": "d", "selection": "x", "odds": "2", "stake": "10"})).await;
    assert!(
        is_error(&denied) && text(&denied).contains("may not propose bets"),
        "{}",
        text(&denied)
    );
    let prop = ok(&client, "syndicate_propose_bet", json!({"syndicate_id": sid, "as_member": "ann", "description": format!("{event} h2h"), "selection": home, "odds": "2.0", "stake": "100"})).await;
    assert_eq!(prop["needs_vote"], true);
    let bet_id = s(&prop["bet"]["id"]);
    let vote = ok(
        &client,
        "syndicate_vote",
        json!({"syndicate_id": sid, "bet_id": bet_id, "as_member": "ann", "approve": true}),
    )
    .await;
    assert_eq!(vote["decision"], "approved");
    let won = ok(
        &client,
        "syndicate_settle_bet",
        json!({"syndicate_id": sid, "bet_id": bet_id, "as_member": "ann", "result": "won"}),
    )
    .await;
    assert_eq!(n(&won["nav"]), 500.0);
    assert_eq!(n(&won["nav_per_unit"]), 1.25);
    ok(
        &client,
        "syndicate_distribute",
        json!({"syndicate_id": sid, "as_member": "ann", "amount": "100", "method": "proportional"}),
    )
    .await;
    let out = ok(
        &client,
        "syndicate_withdraw",
        json!({"syndicate_id": sid, "member": "bob", "all": true}),
    )
    .await;
    assert_eq!(n(&out["paid"]), 100.0);
    let st = ok(&client, "syndicate_status", json!({"syndicate_id": sid})).await;
    assert_eq!(st["balanced"], true);
    assert_eq!(n(&st["nav"]), 300.0);

    client.cancel().await.expect("close");
    let placed = audit_rows(&db.url, "bet_place").await;
    assert!(
        placed.iter().any(|(_, outcome, _)| outcome == "bet_placed"),
        "{placed:?}"
    );
    let contributions = audit_rows(&db.url, "syndicate_contribute").await;
    assert_eq!(
        contributions
            .iter()
            .filter(|(_, o, _)| o == "syndicate_contribution")
            .count(),
        2,
        "{contributions:?}"
    );
}
