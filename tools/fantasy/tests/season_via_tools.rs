//! A full simulated season through the bundle's MCP tools: import stats,
//! create a league, join, set lineups, trade, claim waivers, score weeks,
//! read standings; plus bad input answered with the field at fault.

#[path = "support/pg.rs"]
mod pg;

use std::sync::Arc;

use nt_fantasy::{FantasyBundle, migrations};
use nt_mcp_core::ToolRouter;
use nt_mcp_core::bundle::{BundleSettings, Caller, ToolBundle, ToolCtx};
use nt_mcp_core::clock::ManualClock;
use nt_mcp_core::progress::Progress;
use nt_mcp_core::store::core_migrations;
use nt_mcp_core::{Store, ToolErrorKind};
use serde_json::{Value, json};

const T0: i64 = 1_730_000_000_000;

struct Env {
    bundle: FantasyBundle,
    router: ToolRouter,
    store: Store,
    clock: Arc<ManualClock>,
    progress: Progress,
}

impl Env {
    async fn new() -> Self {
        Self::open("sqlite::memory:").await
    }

    async fn open(url: &str) -> Self {
        let store = Store::open(url).await.unwrap();
        let mut all = core_migrations();
        all.extend(migrations());
        store.migrate(&all).await.unwrap();
        let bundle = FantasyBundle::new(&BundleSettings::default()).unwrap();
        Self {
            bundle: bundle.clone(),
            router: Arc::new(bundle).routes(),
            store,
            clock: Arc::new(ManualClock::new(T0)),
            progress: Progress::recording(),
        }
    }

    fn ctx(&self) -> ToolCtx {
        let mut ctx = ToolCtx::new(self.store.clone())
            .with_clock(self.clock.clone())
            .with_caller(Caller::local());
        ctx.progress = self.progress.clone();
        ctx.variant = Arc::from("fantasy");
        ctx
    }

    async fn call(&self, tool: &str, args: Value) -> Value {
        match self.router.call(tool, args.clone(), self.ctx()).await {
            Ok(out) => {
                assert!(!out.text.is_empty(), "{tool} gave no text");
                out.structured
            }
            Err(e) => panic!("{tool} {args}: {}", e.to_text()),
        }
    }

    async fn text(&self, tool: &str, args: Value) -> String {
        match self.router.call(tool, args.clone(), self.ctx()).await {
            Ok(out) => out.text,
            Err(e) => panic!("{tool} {args}: {}", e.to_text()),
        }
    }

    async fn fail(&self, tool: &str, args: Value) -> nt_mcp_core::ToolError {
        match self.router.call(tool, args, self.ctx()).await {
            Ok(out) => panic!("{tool} should fail, got {}", out.text),
            Err(e) => e,
        }
    }
}

fn s(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

fn ids(r: &Value) -> Vec<String> {
    r["players"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| s(&p["id"]))
        .collect()
}

#[tokio::test]
async fn full_season_through_the_tools() {
    run_season(&Env::new().await).await;
}

/// The same season on PostgreSQL: `postgres://postgres@127.0.0.1:5432/test`
/// (or `NT_TEST_POSTGRES_URL`), in a private schema dropped afterwards;
/// `SKIPPED` when the server is unreachable, a failure under `CI=true`.
#[tokio::test]
async fn full_season_on_postgres() {
    let Some(pg) = pg::schema("full_season_on_postgres").await else {
        return;
    };
    let env = Env::open(&pg.url).await;
    let schema: String = sqlx::query_scalar("SELECT current_schema()::text")
        .fetch_one(env.store.pool())
        .await
        .unwrap();
    assert_eq!(
        schema, pg.schema,
        "tables must live in the run's own schema"
    );
    run_season(&env).await;
    env.store.pool().close().await;
    pg.drop_schema().await;
}

async fn run_season(env: &Env) {
    let tools: Vec<String> = env.router.specs().into_iter().map(|t| t.name).collect();
    for name in [
        "fantasy_create_league",
        "fantasy_join_league",
        "fantasy_league",
        "fantasy_roster",
        "fantasy_set_lineup",
        "fantasy_player_stats",
        "fantasy_project_player",
        "fantasy_optimal_lineup",
        "fantasy_lineups_diverse",
        "fantasy_propose_trade",
        "fantasy_evaluate_trade",
        "fantasy_respond_trade",
        "fantasy_waiver_claim",
        "fantasy_score_week",
        "fantasy_standings",
        "fantasy_collective_vote",
        "fantasy_import_stats",
    ] {
        assert!(tools.iter().any(|t| t == name), "missing {name}");
    }

    // Stats: the sample season, then a CSV with one extra player.
    let r = env
        .call(
            "fantasy_import_stats",
            json!({"sport": "nfl", "format": "sample"}),
        )
        .await;
    assert_eq!(r["counts"]["players"], 416);
    let csv = "player_id,name,team,positions,season,week,targets,rec,rec_yds,rec_td\n\
rookie-wr,\"Rook, Jr.\",KC,WR,2024,1,9,7,95,1\n\
rookie-wr,,,,2024,2,8,6,70,0\n";
    let r = env
        .call(
            "fantasy_import_stats",
            json!({"sport": "nfl", "format": "csv", "data": csv}),
        )
        .await;
    assert_eq!(r["counts"]["stat_lines"], 2);
    // PPR: week 1 7 + 9.5 + 6 = 22.5; week 2 6 + 7 = 13.
    let r = env
        .call(
            "fantasy_player_stats",
            json!({"player_id": "rookie-wr", "scoring": "nfl_ppr"}),
        )
        .await;
    assert_eq!(r["summary"]["total"], "35.5");
    assert_eq!(r["player"]["name"], "Rook, Jr.");
    let r = env
        .call(
            "fantasy_project_player",
            json!({"player_id": "nfl-kc-wr1", "week": 8}),
        )
        .await;
    let p = &r["projection"];
    assert!(num(&p["low"]) <= num(&p["points"]) && num(&p["points"]) <= num(&p["high"]));
    assert!(!p["drivers"].as_array().unwrap().is_empty());

    // League with four teams; trades execute at once (no veto window).
    let r = env
        .call(
            "fantasy_create_league",
            json!({"name": "Sim League", "sport": "nfl", "scoring": "nfl_ppr", "max_teams": 5, "weeks": 3, "veto_window_hours": 0}),
        )
        .await;
    let league_id = s(&r["league"]["id"]);
    let mut teams = Vec::new();
    for name in ["Ants", "Bees", "Cats", "Dogs"] {
        let r = env
            .call(
                "fantasy_join_league",
                json!({"league_id": league_id, "team_name": name}),
            )
            .await;
        assert_eq!(r["roster"].as_array().unwrap().len(), 13);
        teams.push(s(&r["team"]["id"]));
    }
    // Week 1 has no games behind it: the draft ranks by salary, so a roster
    // is not one real team's depth chart (ids are sport-team-position).
    let first = env
        .call("fantasy_roster", json!({"team_id": teams[0]}))
        .await;
    let real_teams: std::collections::BTreeSet<String> = ids(&first)
        .iter()
        .filter_map(|id| id.split('-').nth(1).map(str::to_string))
        .collect();
    assert!(real_teams.len() >= 5, "drafted from {real_teams:?}");
    // The roster text lists every player with his projection.
    let text = env
        .text("fantasy_roster", json!({"team_id": teams[0]}))
        .await;
    assert_eq!(text.matches("\n- nfl-").count(), 13, "{text}");
    assert!(text.contains(", week 1 projection "), "{text}");
    // A balanced bench: with slots QB RB RB WR WR TE FLEX K DST, no more
    // than 4 RB or WR, 3 TE, 2 QB, K or DST.
    for team in &teams {
        let r = env.call("fantasy_roster", json!({"team_id": team})).await;
        let mut count: std::collections::BTreeMap<String, usize> = Default::default();
        for id in ids(&r) {
            let pos: String = id
                .rsplit('-')
                .next()
                .unwrap()
                .trim_end_matches(|c: char| c.is_ascii_digit())
                .to_string();
            *count.entry(pos).or_default() += 1;
        }
        for (pos, cap) in [
            ("qb", 2),
            ("rb", 4),
            ("wr", 4),
            ("te", 3),
            ("k", 2),
            ("dst", 2),
        ] {
            assert!(
                count.get(pos).copied().unwrap_or(0) <= cap,
                "{pos} over {cap}: {count:?}"
            );
        }
    }
    let r = env
        .call("fantasy_set_lineup", json!({"team_id": teams[0]}))
        .await;
    assert_eq!(r["lineup"].as_array().unwrap().len(), 9);
    let roster = env
        .call("fantasy_roster", json!({"team_id": teams[0]}))
        .await;
    assert_eq!(roster["lineup"].as_array().unwrap().len(), 9);
    // The optimal lineup of a team, given the team alone: its league's
    // slots (with K), from its own roster only.
    let best = env
        .call("fantasy_optimal_lineup", json!({"team_id": teams[0]}))
        .await;
    let picked: Vec<(String, String)> = best["lineup"]["slots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (s(&p["slot"]), s(&p["player_id"])))
        .collect();
    assert_eq!(picked.len(), 9, "{best}");
    assert!(picked.iter().any(|(slot, _)| slot == "K"), "{best}");
    let own = ids(&roster);
    assert!(
        picked.iter().all(|(_, id)| own.contains(id)),
        "{picked:?} not all in {own:?}"
    );

    // Trade a receiver for a receiver: evaluate, propose, accept (executes: no veto window).
    let a_wr = ids(&roster)
        .into_iter()
        .find(|id| id.contains("-wr"))
        .unwrap();
    let b_roster = env
        .call("fantasy_roster", json!({"team_id": teams[1]}))
        .await;
    let b_wr = ids(&b_roster)
        .into_iter()
        .find(|id| id.contains("-wr"))
        .unwrap();
    let r = env
        .call(
            "fantasy_evaluate_trade",
            json!({"from_team": teams[0], "to_team": teams[1], "give": [a_wr], "receive": [b_wr]}),
        )
        .await;
    assert!(r["evaluation"]["verdict"].is_string());
    let r = env
        .call(
            "fantasy_propose_trade",
            json!({"from_team": teams[0], "to_team": teams[1], "give": [a_wr], "receive": [b_wr]}),
        )
        .await;
    let trade_id = s(&r["trade"]["id"]);
    let r = env
        .call(
            "fantasy_respond_trade",
            json!({"trade_id": trade_id, "team_id": teams[1], "action": "accept"}),
        )
        .await;
    assert_eq!(r["trade"]["status"], "executed");
    let r = env
        .call("fantasy_roster", json!({"team_id": teams[1]}))
        .await;
    assert!(ids(&r).contains(&a_wr));

    // Waiver claim on the rookie, dropping a bench player.
    let league = env
        .call("fantasy_league", json!({"league_id": league_id}))
        .await;
    assert_eq!(league["teams"].as_array().unwrap().len(), 4);
    let c_roster = env
        .call("fantasy_roster", json!({"team_id": teams[2]}))
        .await;
    let drop = ids(&c_roster)
        .into_iter()
        .rfind(|id| id.contains("-wr"))
        .unwrap();
    env.call(
        "fantasy_waiver_claim",
        json!({"team_id": teams[2], "add_player": "rookie-wr", "drop_player": drop}),
    )
    .await;

    // Optimal and diverse daily lineups from the stored pool.
    let r = env
        .call("fantasy_optimal_lineup", json!({"sport": "nfl", "week": 5}))
        .await;
    assert_eq!(r["lineup"]["slots"].as_array().unwrap().len(), 9);
    assert!(num(&r["lineup"]["salary"]) <= 50000.0);
    let r = env
        .call(
            "fantasy_lineups_diverse",
            json!({"sport": "nfl", "week": 5, "count": 5, "max_exposure": "0.6",
                   "stacks": [{"anchor": "QB", "with": ["WR", "TE"], "count": 1}]}),
        )
        .await;
    assert_eq!(r["lineups"].as_array().unwrap().len(), 5);
    assert_eq!(env.progress.snapshot().progress, 5.0);

    // Collective: founded (fifth team), joined, votes a lineup for week 1.
    let r = env
        .call(
            "fantasy_collective_vote",
            json!({"action": "create", "league_id": league_id, "name": "Crowd", "member": "ann", "stake": "60", "quorum_pct": "0.6"}),
        )
        .await;
    let cid = s(&r["collective"]["id"]);
    let err = env
        .fail(
            "fantasy_collective_vote",
            json!({"action": "create", "league_id": league_id, "name": "Crowd2", "member": "ann", "stake": "60"}),
        )
        .await;
    assert_eq!(err.kind, ToolErrorKind::Refused, "the league is full");
    env.call(
        "fantasy_collective_vote",
        json!({"action": "join", "collective_id": cid, "member": "ben", "stake": "40"}),
    )
    .await;
    let r = env
        .call(
            "fantasy_collective_vote",
            json!({"action": "propose", "collective_id": cid, "member": "ben", "motion": {"kind": "lineup", "week": 1}}),
        )
        .await;
    assert_eq!(r["proposal"]["status"], "open");
    let pid = s(&r["proposal"]["id"]);
    let r = env
        .call(
            "fantasy_collective_vote",
            json!({"action": "vote", "proposal_id": pid, "member": "ann", "approve": true}),
        )
        .await;
    assert_eq!(r["proposal"]["status"], "passed");

    // Collective money through the tool: deposit, join from credit (refused
    // when short, naming `stake`), winnings, a payout that blocks withdrawals
    // while open, then a withdrawal; balances come from the ledger.
    let cv = "fantasy_collective_vote";
    env.call(
        cv,
        json!({"action": "deposit", "collective_id": cid, "member": "ben", "amount": "25"}),
    )
    .await;
    let err = env
        .fail(
            cv,
            json!({"action": "join", "collective_id": cid, "member": "ben", "stake": "30", "funding": "credit"}),
        )
        .await;
    assert_eq!(err.field.as_deref(), Some("stake"), "{}", err.message);
    env.call(
        cv,
        json!({"action": "join", "collective_id": cid, "member": "ben", "stake": "20", "funding": "credit"}),
    )
    .await;
    let not_admin = ToolCtx {
        caller: Caller {
            id: "ben".into(),
            scopes: vec![
                nt_mcp_core::bundle::Scope::Read,
                nt_mcp_core::bundle::Scope::Trade,
            ],
        },
        ..env.ctx()
    };
    let err = env
        .router
        .call(
            cv,
            json!({"action": "winnings", "collective_id": cid, "amount": "50"}),
            not_admin,
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind, ToolErrorKind::Refused);
    let r = env
        .call(
            cv,
            json!({"action": "winnings", "collective_id": cid, "amount": "50", "reference": "week 0 side prize"}),
        )
        .await;
    assert_eq!(r["balances"]["pool"], "170");
    let r = env
        .call(
            cv,
            json!({"action": "propose", "collective_id": cid, "member": "ann", "motion": {"kind": "payout", "amount": "100.01"}}),
        )
        .await;
    assert_eq!(r["proposal"]["status"], "open");
    let pid = s(&r["proposal"]["id"]);
    let err = env
        .fail(
            cv,
            json!({"action": "withdraw", "collective_id": cid, "member": "ben", "amount": "5"}),
        )
        .await;
    assert_eq!(err.kind, ToolErrorKind::Refused, "{}", err.message);
    let r = env
        .call(
            cv,
            json!({"action": "vote", "proposal_id": pid, "member": "ben", "approve": true}),
        )
        .await;
    assert_eq!(r["proposal"]["status"], "passed");
    // Stakes 60 and 60: 50.005 each rounds down; the cent goes to ann (name order).
    assert_eq!(r["proposal"]["result"]["payout"][0]["amount"], "50.01");
    assert_eq!(r["proposal"]["result"]["payout"][1]["amount"], "50.00");
    let r = env
        .call(
            cv,
            json!({"action": "withdraw", "collective_id": cid, "member": "ben", "amount": "55"}),
        )
        .await;
    assert_eq!(r["withdrawal"]["from_credit"], "55");
    let r = env
        .call(
            cv,
            json!({"action": "balance", "collective_id": cid, "member": "ben"}),
        )
        .await;
    assert_eq!(r["balances"]["pool"], "69.99");
    assert_eq!(r["balances"]["members"]["ben"]["credit"], "0.00");
    assert_eq!(r["balances"]["members"]["ben"]["stake"], "60");
    assert!(r["balances"]["members"].get("ann").is_none());
    assert!(r["ledger"].as_array().unwrap().len() >= 5);

    // Three weeks, the last two in one call; then standings.
    env.clock.advance(3_600_000);
    let r = env
        .call("fantasy_score_week", json!({"league_id": league_id}))
        .await;
    assert_eq!(r["weeks"][0]["matchups"].as_array().unwrap().len(), 2);
    assert_eq!(r["weeks"][0]["waivers"][0]["status"], "won");
    let r = env
        .call(
            "fantasy_score_week",
            json!({"league_id": league_id, "weeks": 2}),
        )
        .await;
    assert_eq!(r["weeks"].as_array().unwrap().len(), 2);
    assert!(env.progress.snapshot().total.unwrap() >= 10.0);
    let err = env
        .fail("fantasy_score_week", json!({"league_id": league_id}))
        .await;
    assert_eq!(err.kind, ToolErrorKind::Refused);
    let r = env
        .call("fantasy_standings", json!({"league_id": league_id}))
        .await;
    let table = r["standings"].as_array().unwrap();
    assert_eq!(table.len(), 5);
    let games: u64 = table
        .iter()
        .map(|r| {
            r["wins"].as_u64().unwrap()
                + r["losses"].as_u64().unwrap()
                + r["ties"].as_u64().unwrap()
        })
        .sum();
    assert_eq!(games, 12, "two games a week with five teams, one sits out");

    // Audit rows were written under the tool names.
    let n: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE tool = 'fantasy_respond_trade'")
            .fetch_one(env.store.pool())
            .await
            .unwrap();
    assert!(n >= 2, "accept + execution");
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE tool = 'fantasy_score_week' AND detail LIKE '%lineup_lock%'",
    )
    .fetch_one(env.store.pool())
    .await
    .unwrap();
    assert_eq!(n, 15, "5 teams x 3 weeks");
}

#[tokio::test]
async fn bad_input_names_the_field() {
    let env = Env::new().await;
    let cases = [
        (
            "fantasy_create_league",
            json!({"name": "x", "slots": ["QB", "XX"]}),
            "slots[1]",
        ),
        ("fantasy_create_league", json!({"sport": "nfl"}), "name"),
        (
            "fantasy_create_league",
            json!({"name": "x", "scoring": "nfl_superppr"}),
            "scoring",
        ),
        (
            "fantasy_create_league",
            json!({"name": "x", "scoring": {"name": "c", "sport": "nfl", "points": {"yards": "1"}}}),
            "scoring.points.yards",
        ),
        (
            "fantasy_create_league",
            json!({"name": "x", "max_teams": 1}),
            "max_teams",
        ),
        (
            "fantasy_optimal_lineup",
            json!({"sport": "nfl", "locked": ["nobody"]}),
            "locked[0]",
        ),
        (
            "fantasy_optimal_lineup",
            json!({"sport": "nba", "slots": ["PG", "FLEX"]}),
            "slots[1]",
        ),
        (
            "fantasy_lineups_diverse",
            json!({"sport": "nfl", "count": 0}),
            "count",
        ),
        (
            "fantasy_lineups_diverse",
            json!({"sport": "nfl", "max_exposure": "1.5"}),
            "max_exposure",
        ),
        (
            "fantasy_import_stats",
            json!({"sport": "nfl", "format": "csv", "data": "player_id,season,week,rec\np,2024,1,many\n"}),
            "data.rows[0].rec",
        ),
        (
            "fantasy_import_stats",
            json!({"sport": "nfl", "format": "csv"}),
            "data",
        ),
        (
            "fantasy_player_stats",
            json!({"player_id": "nobody"}),
            "player_id",
        ),
        (
            "fantasy_project_player",
            json!({"player_id": "nfl-kc-wr1", "week": 0}),
            "week",
        ),
        (
            "fantasy_respond_trade",
            json!({"trade_id": "t", "team_id": "x", "action": "maybe"}),
            "action",
        ),
    ];
    for (tool, args, field) in cases {
        let err = env.fail(tool, args.clone()).await;
        assert_eq!(
            err.kind,
            ToolErrorKind::InvalidInput,
            "{tool} {args}: {}",
            err.message
        );
        assert_eq!(
            err.field.as_deref(),
            Some(field),
            "{tool} {args}: {}",
            err.message
        );
    }
    let err = env
        .fail("fantasy_league", json!({"league_id": "nope"}))
        .await;
    assert_eq!(err.kind, ToolErrorKind::NotFound);
    let err = env.fail("fantasy_nothing", json!({})).await;
    assert_eq!(err.kind, ToolErrorKind::NotFound);
}

#[tokio::test]
async fn daily_contest_under_the_cap() {
    let env = Env::new().await;
    let r = env
        .call(
            "fantasy_create_league",
            json!({"name": "Sunday Main", "sport": "nfl", "kind": "daily", "scoring": "nfl_ppr", "weeks": 1, "max_teams": 3, "salary_cap": "42000"}),
        )
        .await;
    let league_id = s(&r["league"]["id"]);
    assert_eq!(r["league"]["salary_cap"], "42000");
    let mut entries = Vec::new();
    for name in ["Entry A", "Entry B"] {
        let r = env
            .call(
                "fantasy_join_league",
                json!({"league_id": league_id, "team_name": name}),
            )
            .await;
        assert!(
            r["roster"].as_array().unwrap().is_empty(),
            "daily entries have no roster"
        );
        entries.push(s(&r["team"]["id"]));
    }
    // Best lineup under the cap for entry A.
    let r = env
        .call("fantasy_set_lineup", json!({"team_id": entries[0]}))
        .await;
    let lineup = r["lineup"].as_array().unwrap().clone();
    assert_eq!(lineup.len(), 9);
    // Nine starters cost at least 46 000 in the sample (salaries follow talent): over the cap.
    let pricey: Vec<Value> = [
        "nfl-kc-qb1",
        "nfl-sf-rb1",
        "nfl-buf-rb1",
        "nfl-mia-wr1",
        "nfl-dal-wr1",
        "nfl-min-wr1",
        "nfl-kc-te1",
        "nfl-phi-rb1",
        "nfl-sf-dst1",
    ]
    .iter()
    .enumerate()
    .map(|(i, id)| json!({"slot_index": i, "player_id": id}))
    .collect();
    let err = env
        .fail(
            "fantasy_set_lineup",
            json!({"team_id": entries[1], "lineup": pricey}),
        )
        .await;
    assert_eq!(err.kind, ToolErrorKind::InvalidInput, "{}", err.message);
    assert_eq!(err.field.as_deref(), Some("lineup"), "{}", err.message);
    assert!(err.message.contains("over the cap"), "{}", err.message);
    // Week 1 scores both entries (B auto-filled at lock) and ranks them by points.
    env.clock.advance(7 * 24 * 3_600_000);
    let r = env
        .call("fantasy_score_week", json!({"league_id": league_id}))
        .await;
    assert_eq!(r["weeks"][0]["team_points"].as_object().unwrap().len(), 2);
    let table = r["standings"].as_array().unwrap();
    assert_eq!(table.len(), 2);
    assert!(num(&table[0]["points_for"]) >= num(&table[1]["points_for"]));
}

fn num(v: &Value) -> f64 {
    s(v).parse::<f64>().unwrap()
}

const HOUR: i64 = 3_600_000;

fn lineup_args(team: &str, ids: &[&str]) -> Value {
    let entries: Vec<Value> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| json!({"slot_index": i, "player_id": id}))
        .collect();
    json!({"team_id": team, "lineup": entries})
}

/// Each lineup slot locks at its own player's kickoff (the sample's week 1:
/// ARI-ATL on Thursday night, BAL-BUF and CAR-CHI on Sunday at 17:00 UTC,
/// 2 d 16 h 45 min later), not the whole week at once.
#[tokio::test]
async fn lineup_slots_lock_at_each_players_kickoff() {
    let env = Env::new().await;
    let r = env
        .call(
            "fantasy_create_league",
            json!({"name": "Kickoffs", "sport": "nfl", "max_teams": 2, "weeks": 2, "first_lock_in_hours": 24}),
        )
        .await;
    let league_id = s(&r["league"]["id"]);
    let roster = [
        "nfl-ari-qb1",
        "nfl-atl-rb1",
        "nfl-bal-rb1",
        "nfl-ari-wr1",
        "nfl-car-wr1",
        "nfl-chi-te1",
        "nfl-buf-rb1",
        "nfl-atl-k1",
        "nfl-ari-dst1",
        "nfl-bal-qb1",
        "nfl-chi-wr1",
        "nfl-atl-te1",
        "nfl-buf-wr1",
    ];
    let r = env
        .call(
            "fantasy_join_league",
            json!({"league_id": league_id, "team_name": "Clock", "players": roster}),
        )
        .await;
    let team = s(&r["team"]["id"]);
    let starters = &roster[..9];
    env.call("fantasy_set_lineup", lineup_args(&team, starters))
        .await;

    // Thursday's game has kicked off: ARI and ATL players are locked.
    let thursday = T0 + 24 * HOUR;
    env.clock.advance(24 * HOUR + 60_000);
    let mut moved = starters.to_vec();
    moved[0] = "nfl-bal-qb1";
    let err = env
        .fail("fantasy_set_lineup", lineup_args(&team, &moved))
        .await;
    assert_eq!(err.kind, ToolErrorKind::Refused, "{}", err.message);
    assert!(err.message.contains("nfl-ari-qb1"), "{}", err.message);
    assert!(
        err.message.contains(&nt_fantasy::league::iso_utc(thursday)),
        "names the kickoff: {}",
        err.message
    );
    // A benched player whose game started cannot come in either.
    let mut moved = starters.to_vec();
    moved[5] = "nfl-atl-te1";
    let err = env
        .fail("fantasy_set_lineup", lineup_args(&team, &moved))
        .await;
    assert!(
        err.message.contains("nfl-atl-te1") && err.message.contains("into TE"),
        "{}",
        err.message
    );
    // Sunday players still move.
    let mut sunday = starters.to_vec();
    sunday[4] = "nfl-chi-wr1";
    let r = env
        .call("fantasy_set_lineup", lineup_args(&team, &sunday))
        .await;
    let rows = r["lineup"].as_array().unwrap().clone();
    for row in &rows {
        let id = s(&row["player_id"]);
        let started = id.starts_with("nfl-ari-") || id.starts_with("nfl-atl-");
        assert_eq!(row["locked"], json!(started), "{row}");
        if started {
            assert_eq!(row["locked_ms"], json!(thursday), "{row}");
        }
    }
    // The best lineup by projection keeps the started players where they are.
    let r = env
        .call("fantasy_set_lineup", json!({"team_id": team}))
        .await;
    let at = |rows: &Value, slot: usize| s(&rows["lineup"][slot]["player_id"]);
    assert_eq!(at(&r, 0), "nfl-ari-qb1");
    assert_eq!(at(&r, 1), "nfl-atl-rb1");
    assert_eq!(at(&r, 3), "nfl-ari-wr1");
    assert_eq!(at(&r, 7), "nfl-atl-k1");
    assert_eq!(at(&r, 8), "nfl-ari-dst1");
    env.call("fantasy_set_lineup", lineup_args(&team, &sunday))
        .await;

    // Sunday 17:00 UTC: BAL, BUF, CAR and CHI have kicked off too.
    let sunday_kickoff = thursday + 2 * 24 * HOUR + 16 * HOUR + 45 * 60_000;
    env.clock.set(sunday_kickoff + 60_000);
    let mut late = sunday.clone();
    late[4] = "nfl-buf-wr1";
    let err = env
        .fail("fantasy_set_lineup", lineup_args(&team, &late))
        .await;
    assert_eq!(err.kind, ToolErrorKind::Refused, "{}", err.message);
    assert!(
        err.message.contains("nfl-chi-wr1")
            && err
                .message
                .contains(&nt_fantasy::league::iso_utc(sunday_kickoff)),
        "{}",
        err.message
    );
    // Everyone has started: the best lineup is the one already set.
    let r = env
        .call("fantasy_set_lineup", json!({"team_id": team}))
        .await;
    let now: Vec<String> = (0..9).map(|i| at(&r, i)).collect();
    assert_eq!(now, sunday);
}

/// Kickoffs imported with `fantasy_import_stats` (a `[games]` CSV section)
/// move the per-player locks: CHI and BUF, Sunday teams in the sample
/// schedule, are imported to kick off an hour after the week's first game,
/// so their players lock then; a bad time names the row and column and
/// stores nothing.
#[tokio::test]
async fn imported_kickoffs_drive_the_locks() {
    use sqlx::Row;
    let env = Env::new().await;
    let r = env
        .call(
            "fantasy_create_league",
            json!({"name": "Imported", "sport": "nfl", "max_teams": 2, "weeks": 2, "first_lock_in_hours": 24}),
        )
        .await;
    let league_id = s(&r["league"]["id"]);
    let kickoff = |team: &'static str| {
        let store = env.store.clone();
        async move {
            sqlx::query("SELECT start_ms FROM fantasy_games WHERE sport = 'nfl' AND season = 2024 AND week = 1 AND team = $1")
                .bind(team)
                .fetch_one(store.pool())
                .await
                .unwrap()
                .get::<Option<i64>, _>(0)
                .unwrap()
        }
    };
    let first: i64 = sqlx::query(
        "SELECT MIN(start_ms) FROM fantasy_games WHERE sport = 'nfl' AND season = 2024 AND week = 1",
    )
    .fetch_one(env.store.pool())
    .await
    .unwrap()
    .get(0);
    // The import-format resource documents the games section.
    let doc = env
        .bundle
        .read_resource("fantasy://import-format", env.ctx())
        .await
        .unwrap()
        .text;
    assert!(
        doc.contains("[games]") && doc.contains("season,week,home,away,start"),
        "import-format documents games"
    );
    let chi_before = kickoff("CHI").await;
    assert!(
        chi_before > first + 2 * 24 * HOUR,
        "CHI plays on Sunday in the sample"
    );

    // A bad time: named by row and column, nothing stored.
    let err = env
        .fail(
            "fantasy_import_stats",
            json!({"sport": "nfl", "format": "csv", "data": format!(
                "[games]\nseason,week,home,away,start\n2024,1,CHI,BUF,{}\n2024,1,DAL,NYG,2024-09-31T20:25:00Z\n",
                nt_fantasy::league::iso_utc(first + HOUR)
            )}),
        )
        .await;
    assert_eq!(
        err.field.as_deref(),
        Some("data.games[1].start"),
        "{}",
        err.message
    );
    assert!(err.message.contains("2024-09-31"), "{}", err.message);
    assert_eq!(kickoff("CHI").await, chi_before);

    // The same game in JSON with an offset time: 1 hour after the first
    // kickoff, written in UTC-4.
    let at = first + HOUR - 4 * HOUR;
    let local = nt_fantasy::league::iso_utc(at).replace('Z', "-04:00");
    let r = env
        .call(
            "fantasy_import_stats",
            json!({"sport": "nfl", "format": "json", "data": json!({"games": [
                {"season": 2024, "week": 1, "home": "CHI", "away": "BUF", "start": local}
            ]}).to_string()}),
        )
        .await;
    assert_eq!(r["counts"]["games"], 2);
    assert_eq!(kickoff("CHI").await, first + HOUR);
    assert_eq!(kickoff("BUF").await, first + HOUR);

    let roster = [
        "nfl-ari-qb1",
        "nfl-atl-rb1",
        "nfl-bal-rb1",
        "nfl-ari-wr1",
        "nfl-car-wr1",
        "nfl-chi-te1",
        "nfl-buf-rb1",
        "nfl-atl-k1",
        "nfl-ari-dst1",
        "nfl-bal-qb1",
        "nfl-chi-wr1",
        "nfl-atl-te1",
        "nfl-buf-wr1",
    ];
    let r = env
        .call(
            "fantasy_join_league",
            json!({"league_id": league_id, "team_name": "Clock", "players": roster}),
        )
        .await;
    let team = s(&r["team"]["id"]);
    let starters = &roster[..9];
    env.call("fantasy_set_lineup", lineup_args(&team, starters))
        .await;

    // League week 1 starts at T0 + 24 h; CHI v BUF an hour later.
    let chi_bufs = T0 + 25 * HOUR;
    env.clock.advance(25 * HOUR + 60_000);
    let mut moved = starters.to_vec();
    moved[4] = "nfl-chi-wr1";
    let err = env
        .fail("fantasy_set_lineup", lineup_args(&team, &moved))
        .await;
    assert_eq!(err.kind, ToolErrorKind::Refused, "{}", err.message);
    assert!(
        err.message.contains("nfl-chi-wr1")
            && err.message.contains(&nt_fantasy::league::iso_utc(chi_bufs)),
        "{}",
        err.message
    );
    // The unchanged lineup is accepted; CHI and BUF slots carry the imported lock.
    let r = env
        .call("fantasy_set_lineup", lineup_args(&team, starters))
        .await;
    for row in r["lineup"].as_array().unwrap() {
        let id = s(&row["player_id"]);
        if id.starts_with("nfl-chi-") || id.starts_with("nfl-buf-") {
            assert_eq!(row["locked"], json!(true), "{row}");
            assert_eq!(row["locked_ms"], json!(chi_bufs), "{row}");
        }
    }
}
