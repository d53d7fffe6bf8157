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
