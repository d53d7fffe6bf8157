//! Per-caller fantasy identities: with `ctx.account` set, the leagues and
//! teams a caller creates belong to that account, and team-owner actions
//! (lineups, trades, waiver claims) are refused on another account's team.
//! Without an account the caller id is the identity (the shared default).

use std::sync::Arc;

use nt_fantasy::{FantasyBundle, migrations};
use nt_mcp_core::bundle::{BundleSettings, Caller, Scope, ToolBundle, ToolCtx};
use nt_mcp_core::clock::ManualClock;
use nt_mcp_core::store::core_migrations;
use nt_mcp_core::{Store, ToolError, ToolErrorKind, ToolRouter};
use serde_json::{Value, json};

const T0: i64 = 1_730_000_000_000;

struct Env {
    router: ToolRouter,
    store: Store,
    clock: Arc<ManualClock>,
}

impl Env {
    async fn new() -> Self {
        let store = Store::open("sqlite::memory:").await.unwrap();
        let mut all = core_migrations();
        all.extend(migrations());
        store.migrate(&all).await.unwrap();
        let bundle = FantasyBundle::new(&BundleSettings::default()).unwrap();
        Self {
            router: Arc::new(bundle).routes(),
            store,
            clock: Arc::new(ManualClock::new(T0)),
        }
    }

    /// One HTTP caller (`web`, no admin scope), acting for `account`.
    fn ctx(&self, account: Option<&str>) -> ToolCtx {
        let ctx = ToolCtx::new(self.store.clone())
            .with_clock(self.clock.clone())
            .with_caller(Caller {
                id: "web".into(),
                scopes: vec![Scope::Read, Scope::Trade],
            });
        match account {
            Some(a) => ctx.with_account(a),
            None => ctx,
        }
    }

    async fn ok(&self, account: Option<&str>, tool: &str, args: Value) -> Value {
        match self
            .router
            .call(tool, args.clone(), self.ctx(account))
            .await
        {
            Ok(out) => out.structured,
            Err(e) => panic!("{tool} {args}: {}", e.to_text()),
        }
    }

    async fn fail(&self, account: Option<&str>, tool: &str, args: Value) -> ToolError {
        match self.router.call(tool, args, self.ctx(account)).await {
            Ok(out) => panic!("{tool} should fail, got {}", out.text),
            Err(e) => e,
        }
    }
}

fn s(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

#[tokio::test]
async fn two_accounts_cannot_act_on_each_others_teams() {
    let env = Env::new().await;
    let (alice, bob) = (Some("alice"), Some("bob"));

    let league = env
        .ok(alice, "fantasy_create_league", json!({"name": "Accounts"}))
        .await;
    assert_eq!(league["league"]["commissioner"], "alice");
    let league_id = s(&league["league"]["id"]);

    let a = env
        .ok(
            alice,
            "fantasy_join_league",
            json!({"league_id": league_id, "team_name": "Alice FC"}),
        )
        .await;
    assert_eq!(a["team"]["owner"], "alice");
    let b = env
        .ok(
            bob,
            "fantasy_join_league",
            json!({"league_id": league_id, "team_name": "Bob FC"}),
        )
        .await;
    assert_eq!(b["team"]["owner"], "bob");
    let (team_a, team_b) = (s(&a["team"]["id"]), s(&b["team"]["id"]));
    let a_player = s(&a["roster"][0]);
    let b_player = s(&b["roster"][0]);
    assert!(!a_player.is_empty() && !b_player.is_empty(), "{a} {b}");

    // Bob may not enter a team for Alice.
    let err = env
        .fail(
            bob,
            "fantasy_join_league",
            json!({"league_id": league_id, "team_name": "Fake", "owner": "alice"}),
        )
        .await;
    assert_eq!(err.field.as_deref(), Some("owner"), "{}", err.message);

    // Each owns their own team ...
    env.ok(alice, "fantasy_set_lineup", json!({"team_id": team_a}))
        .await;
    env.ok(bob, "fantasy_set_lineup", json!({"team_id": team_b}))
        .await;

    // ... and neither may act for the other's.
    let refused = |e: &ToolError, who: &str| {
        assert_eq!(e.kind, ToolErrorKind::Refused, "{}", e.message);
        assert!(
            e.message.contains(&format!("`{who}` may not act")),
            "{}",
            e.message
        );
    };
    let err = env
        .fail(bob, "fantasy_set_lineup", json!({"team_id": team_a}))
        .await;
    refused(&err, "bob");
    let err = env
        .fail(alice, "fantasy_set_lineup", json!({"team_id": team_b}))
        .await;
    refused(&err, "alice");
    let err = env
        .fail(
            bob,
            "fantasy_propose_trade",
            json!({"from_team": team_a, "to_team": team_b, "give": [a_player], "receive": [b_player]}),
        )
        .await;
    refused(&err, "bob");
    let err = env
        .fail(
            alice,
            "fantasy_waiver_claim",
            json!({"team_id": team_b, "add_player": "nfl-kc-wr1", "drop_player": b_player}),
        )
        .await;
    refused(&err, "alice");

    // A trade Alice proposes for her own team is Bob's to answer, not hers.
    let t = env
        .ok(
            alice,
            "fantasy_propose_trade",
            json!({"from_team": team_a, "to_team": team_b, "give": [a_player], "receive": [b_player]}),
        )
        .await;
    let trade_id = s(&t["trade"]["id"]);
    let err = env
        .fail(
            alice,
            "fantasy_respond_trade",
            json!({"trade_id": trade_id, "team_id": team_b, "action": "accept"}),
        )
        .await;
    refused(&err, "alice");
    let accepted = env
        .ok(
            bob,
            "fantasy_respond_trade",
            json!({"trade_id": trade_id, "team_id": team_b, "action": "accept"}),
        )
        .await;
    assert_eq!(accepted["trade"]["status"], "accepted");

    // Without an account the caller id is the identity: `web` owns neither.
    let err = env
        .fail(None, "fantasy_set_lineup", json!({"team_id": team_a}))
        .await;
    refused(&err, "web");
}
