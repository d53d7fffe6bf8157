//! A simulated fantasy season through the real binary and a real MCP client:
//! import the sample season, create a league, join, set lineups, evaluate and
//! trade, claim a waiver, score weeks with progress, read standings, and the
//! audit rows the state changes leave.

mod common;

use common::*;
use serde_json::{Value, json};

fn s(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

fn player_ids(roster: &Value) -> Vec<String> {
    roster["players"]
        .as_array()
        .expect("players")
        .iter()
        .map(|p| s(&p["id"]))
        .collect()
}

/// `"-333.33"` as -33333 cents; refuses anything finer than a cent.
fn cents(amount: &str) -> i64 {
    let (sign, digits) = match amount.strip_prefix('-') {
        Some(rest) => (-1, rest),
        None => (1, amount),
    };
    let (whole, frac) = digits.split_once('.').unwrap_or((digits, ""));
    assert!(frac.len() <= 2, "{amount} is finer than a cent");
    let frac = format!("{frac:0<2}");
    sign * (whole.parse::<i64>().expect("whole") * 100 + frac.parse::<i64>().expect("cents"))
}

async fn ok(client: &Client, tool: &str, args: Value) -> Value {
    let result = call(client, tool, args.clone()).await;
    assert!(!is_error(&result), "{tool} {args}: {}", text(&result));
    structured(&result)
}

#[tokio::test]
async fn a_season_through_mcp() {
    let db = temp_db();
    let client = stdio_client(&["serve", "--variant", "fantasy", "--db", &db.url]).await;
    let tools = client.list_all_tools().await.expect("tools/list");
    assert!(tools.iter().any(|t| t.name == "fantasy_optimal_lineup"));

    let imported = ok(
        &client,
        "fantasy_import_stats",
        json!({"sport": "nfl", "format": "sample"}),
    )
    .await;
    assert!(imported["counts"]["players"].as_u64().unwrap_or(0) > 100);

    let league = ok(
        &client,
        "fantasy_create_league",
        json!({"name": "MCP League", "sport": "nfl", "scoring": "nfl_ppr", "max_teams": 4, "weeks": 2, "veto_window_hours": 0}),
    )
    .await;
    let league_id = s(&league["league"]["id"]);
    let mut teams = Vec::new();
    for name in ["Ants", "Bees", "Cats", "Dogs"] {
        let joined = ok(
            &client,
            "fantasy_join_league",
            json!({"league_id": league_id, "team_name": name}),
        )
        .await;
        teams.push(s(&joined["team"]["id"]));
    }

    // The scoring presets and import format are resources; the weekly
    // routine is a prompt naming the team.
    let presets = client
        .read_resource(rmcp::model::ReadResourceRequestParams::new(
            "fantasy://scoring-presets",
        ))
        .await
        .expect("resources/read");
    assert!(format!("{:?}", presets.contents).contains("nfl_half_ppr"));
    let prompt = client
        .get_prompt(
            rmcp::model::GetPromptRequestParams::new("fantasy_manage_week").with_arguments(
                serde_json::from_value(json!({"team_id": teams[0]})).expect("args"),
            ),
        )
        .await
        .expect("prompts/get");
    let rendered = format!("{:?}", prompt.messages);
    assert!(
        rendered.contains(&teams[0]) && rendered.contains("fantasy_set_lineup"),
        "{rendered}"
    );
    let lineup = ok(&client, "fantasy_set_lineup", json!({"team_id": teams[0]})).await;
    assert_eq!(lineup["lineup"].as_array().expect("lineup").len(), 9);

    // Bad input names the field, and the session goes on.
    let bad = call(
        &client,
        "fantasy_create_league",
        json!({"name": "X", "sport": "curling"}),
    )
    .await;
    assert!(is_error(&bad));
    assert_eq!(structured(&bad)["error"]["field"], json!("sport"));

    // Trade a receiver for a receiver.
    let a = ok(&client, "fantasy_roster", json!({"team_id": teams[0]})).await;
    let b = ok(&client, "fantasy_roster", json!({"team_id": teams[1]})).await;
    let a_wr = player_ids(&a)
        .into_iter()
        .find(|id| id.contains("-wr"))
        .expect("wr");
    let b_wr = player_ids(&b)
        .into_iter()
        .find(|id| id.contains("-wr"))
        .expect("wr");
    let deal =
        json!({"from_team": teams[0], "to_team": teams[1], "give": [a_wr], "receive": [b_wr]});
    let eval = ok(&client, "fantasy_evaluate_trade", deal.clone()).await;
    assert!(eval["evaluation"]["verdict"].is_string());
    let proposed = ok(&client, "fantasy_propose_trade", deal).await;
    let trade_id = s(&proposed["trade"]["id"]);
    let accepted = ok(
        &client,
        "fantasy_respond_trade",
        json!({"trade_id": trade_id, "team_id": teams[1], "action": "accept"}),
    )
    .await;
    assert_eq!(accepted["trade"]["status"], json!("executed"));
    let b_after = ok(&client, "fantasy_roster", json!({"team_id": teams[1]})).await;
    assert!(player_ids(&b_after).contains(&a_wr));

    let optimal = ok(
        &client,
        "fantasy_optimal_lineup",
        json!({"sport": "nfl", "week": 5}),
    )
    .await;
    assert_eq!(
        optimal["lineup"]["slots"].as_array().expect("slots").len(),
        9
    );

    // Score both weeks (with a progress token), then standings add up.
    let handle = start_call(
        &client,
        "fantasy_score_week",
        json!({"league_id": league_id, "weeks": 2}),
    )
    .await;
    let response = handle.await_response().await.expect("score");
    let rmcp::model::ServerResult::CallToolResult(scored) = response else {
        panic!("unexpected {response:?}");
    };
    assert!(!is_error(&scored), "{}", text(&scored));
    assert!(
        !client.service().progress.lock().expect("lock").is_empty(),
        "score_week reports progress"
    );
    let standings = ok(
        &client,
        "fantasy_standings",
        json!({"league_id": league_id}),
    )
    .await;
    let rows = standings["standings"]
        .as_array()
        .expect("standings")
        .clone();
    assert_eq!(rows.len(), 4);
    let games: u64 = rows
        .iter()
        .map(|r| {
            r["wins"].as_u64().unwrap_or(0)
                + r["losses"].as_u64().unwrap_or(0)
                + r["ties"].as_u64().unwrap_or(0)
        })
        .sum();
    assert_eq!(games, 8, "4 teams x 2 weeks: {standings}");
    client.cancel().await.expect("close");

    let trades = audit_rows(&db.url, "fantasy_respond_trade").await;
    assert!(!trades.is_empty());
}

/// Issue #9, items 8 and 10, through the real binary.
///
/// Defence tiers: a DST imported with points allowed 0, 6, 21 and 35 over
/// weeks 1-4 (2 sacks each week) scores 12, 9, 2 and -2 on DraftKings
/// (sacks 2 + tier 10 / 7 / 0 / -4) and 7, 6, 2 and -1 under the ESPN
/// table of `nfl_standard` (sacks 2 + tier 5 / 4 / 0 / -3).
///
/// Exact payouts: stakes 500 / 300 / 200, winnings 400, payout 333.33:
/// exact shares 166.665 / 99.999 / 66.666 round down to 166.66 / 99.99 /
/// 66.66 and the two cents left go by largest remainder (.009 ben, .006
/// cat): 166.66 + 100.00 + 66.67 = 333.33, and the pool drops by exactly
/// 333.33. A payout finer than a cent (100.005) is refused naming
/// `motion.amount`, and nothing leaves the pool.
#[tokio::test]
async fn defence_tiers_and_exact_payouts_through_mcp() {
    let db = temp_db();
    let client = stdio_client(&["serve", "--variant", "fantasy", "--db", &db.url]).await;
    // The sample season gives the collective's team its players.
    ok(
        &client,
        "fantasy_import_stats",
        json!({"sport": "nfl", "format": "sample"}),
    )
    .await;

    let rows: Vec<Value> = [(1, "0"), (2, "6"), (3, "21"), (4, "35")]
        .iter()
        .map(|(week, allowed)| {
            json!({"player_id": "nfl-zz-dst", "name": "ZZ Defense", "team": "ZZ",
                   "position": "DST", "season": "2024", "week": week.to_string(),
                   "dst_sack": "2", "dst_pts_allowed": allowed})
        })
        .collect();
    ok(
        &client,
        "fantasy_import_stats",
        json!({"sport": "nfl", "format": "json", "data": json!(rows).to_string()}),
    )
    .await;
    let weekly = |v: &Value| -> Vec<String> {
        v["summary"]["weekly"]
            .as_array()
            .expect("weekly")
            .iter()
            .map(|w| s(&w["points"]))
            .collect()
    };
    let dk = ok(
        &client,
        "fantasy_player_stats",
        json!({"player_id": "nfl-zz-dst", "season": 2024, "scoring": "nfl_draftkings"}),
    )
    .await;
    assert_eq!(weekly(&dk), ["12", "9", "2", "-2"], "{dk}");
    let espn = ok(
        &client,
        "fantasy_player_stats",
        json!({"player_id": "nfl-zz-dst", "season": 2024, "scoring": "nfl_standard"}),
    )
    .await;
    assert_eq!(weekly(&espn), ["7", "6", "2", "-1"], "{espn}");

    // A collective in a league without an entry fee.
    let league = ok(
        &client,
        "fantasy_create_league",
        json!({"name": "Payout League", "sport": "nfl", "max_teams": 4, "weeks": 2}),
    )
    .await;
    let league_id = s(&league["league"]["id"]);
    let cv = "fantasy_collective_vote";
    let created = ok(
        &client,
        cv,
        json!({"action": "create", "league_id": league_id, "name": "Trio", "member": "ann", "stake": "500"}),
    )
    .await;
    let cid = s(&created["collective"]["id"]);
    for (member, stake) in [("ben", "300"), ("cat", "200")] {
        ok(
            &client,
            cv,
            json!({"action": "join", "collective_id": cid, "member": member, "stake": stake}),
        )
        .await;
    }
    let b = ok(
        &client,
        cv,
        json!({"action": "winnings", "collective_id": cid, "amount": "400"}),
    )
    .await;
    assert_eq!(b["balances"]["pool"], "1400");

    let bad = call(
        &client,
        cv,
        json!({"action": "propose", "collective_id": cid, "member": "ann", "motion": {"kind": "payout", "amount": "100.005"}}),
    )
    .await;
    assert!(is_error(&bad), "{}", text(&bad));
    assert_eq!(structured(&bad)["error"]["field"], json!("motion.amount"));

    // Ann holds half the stake: the default 50% quorum passes it at once.
    let paid = ok(
        &client,
        cv,
        json!({"action": "propose", "collective_id": cid, "member": "ann", "motion": {"kind": "payout", "amount": "333.33"}}),
    )
    .await;
    assert_eq!(paid["proposal"]["status"], "passed", "{paid}");
    let parts: Vec<(String, String)> = paid["proposal"]["result"]["payout"]
        .as_array()
        .expect("payout parts")
        .iter()
        .map(|p| (s(&p["member"]), s(&p["amount"])))
        .collect();
    assert_eq!(
        parts,
        [
            ("ann".to_string(), "166.66".to_string()),
            ("ben".to_string(), "100.00".to_string()),
            ("cat".to_string(), "66.67".to_string()),
        ]
    );
    let balance = ok(
        &client,
        cv,
        json!({"action": "balance", "collective_id": cid}),
    )
    .await;
    assert_eq!(balance["balances"]["pool"], "1066.67", "{balance}");
    let members = &balance["balances"]["members"];
    let credits: Vec<String> = ["ann", "ben", "cat"]
        .iter()
        .map(|m| s(&members[*m]["credit"]))
        .collect();
    assert_eq!(credits, ["166.66", "100.00", "66.67"]);
    // Every ledger row, summed: 1000 of stakes + 400 of winnings came in.
    let ledger_cents: i64 = balance["ledger"]
        .as_array()
        .expect("ledger")
        .iter()
        .map(|e| cents(&s(&e["amount"])))
        .sum();
    assert_eq!(ledger_cents, 140_000);
    client.cancel().await.expect("close");
}
