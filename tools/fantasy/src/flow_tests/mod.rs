//! Database-level tests of a season: leagues, trades, vetoes, waivers,
//! weekly cycles, standings, collectives and their audit rows.

use std::collections::BTreeMap;

use nt_mcp_core::Store;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use sqlx::Row;

use crate::collective::{self, Decision, Funding, Motion};
use crate::data;
use crate::db::Actor;
use crate::engine;
use crate::error::FantasyError;
use crate::league::{self, LeagueKind, NewLeague, WEEK_MS};
use crate::model::{Sport, parse_slots};
use crate::scoring::RuleSet;
use crate::trade::{self, Response};

const T0: i64 = 1_700_000_000_000;
const DAY: i64 = 24 * 3600 * 1000;

fn new_league(weeks: i64) -> NewLeague {
    let labels: Vec<String> = Sport::Nfl
        .default_slots()
        .iter()
        .map(|s| s.to_string())
        .collect();
    NewLeague {
        name: "Test League".into(),
        sport: Sport::Nfl,
        season: 2024,
        kind: LeagueKind::Season,
        scoring: RuleSet::preset("nfl_half_ppr").unwrap(),
        slots: parse_slots(Sport::Nfl, &labels, "slots").unwrap(),
        bench_size: 4,
        salary_cap: None,
        max_teams: 4,
        entry_fee: dec!(50),
        veto_window_ms: DAY,
        veto_votes: 2,
        weeks,
        start_ms: T0 + DAY,
    }
}

async fn audit_count(store: &nt_mcp_core::Store, event: &str) -> i64 {
    sqlx::query("SELECT COUNT(*) FROM audit_log WHERE detail LIKE $1")
        .bind(format!("%\"event\":\"{event}\"%"))
        .fetch_one(store.pool())
        .await
        .unwrap()
        .get(0)
}

fn user(store: &Store, name: &str) -> Actor {
    Actor::system(store, "test", T0).as_identity(name, false)
}

fn sum_ledger(entries: &[collective::LedgerEntry]) -> Decimal {
    entries.iter().map(|e| e.amount).sum()
}

mod collectives;
mod payouts;

db_tests! {
    season_with_trades_vetoes_waivers_and_standings => season_body;
}

async fn season_body(store: Store) {
    data::ensure_data(&store, Sport::Nfl, T0).await.unwrap();
    let admin = Actor::system(&store, "test", T0);
    let lg = league::create_league(&store, &admin, new_league(4), T0)
        .await
        .unwrap();
    let mut teams = Vec::new();
    for name in ["alice", "bob", "carol", "dave"] {
        let (t, roster) = league::join_league(
            &store,
            &user(&store, name),
            &lg.id,
            &format!("{name} FC"),
            name,
            None,
            None,
            T0,
        )
        .await
        .unwrap();
        assert_eq!(roster.len(), 13);
        teams.push(t);
    }
    let err = league::join_league(
        &store,
        &user(&store, "eve"),
        &lg.id,
        "eve FC",
        "eve",
        None,
        None,
        T0,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, FantasyError::Refused(_)));
    let (a, b, c, d) = (&teams[0], &teams[1], &teams[2], &teams[3]);

    // Lineups: the best one is accepted; a player from another roster is refused by field.
    let best = league::best_lineup(&store, &lg, &a.id, 1, T0)
        .await
        .unwrap();
    league::set_lineup(&store, &user(&store, "alice"), &a.id, 1, best.clone(), T0)
        .await
        .unwrap();
    let b_roster = league::roster_ids(&store, &b.id).await.unwrap();
    let mut bad = best.clone();
    bad[0].1 = b_roster[0].clone();
    let err = league::set_lineup(&store, &user(&store, "alice"), &a.id, 1, bad, T0)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, FantasyError::Invalid { field, .. } if field == "lineup[0].player_id"),
        "{err}"
    );
    // Bob cannot set Alice's lineup.
    let err = league::set_lineup(&store, &user(&store, "bob"), &a.id, 1, best.clone(), T0)
        .await
        .unwrap_err();
    assert!(matches!(err, FantasyError::Refused(_)));

    // A trade that leaves Alice without a kicker is refused.
    let a_roster = league::roster_ids(&store, &a.id).await.unwrap();
    let kickers: Vec<&String> = a_roster.iter().filter(|id| id.contains("-k1")).collect();
    if kickers.len() == 1 {
        let b_wr = b_roster
            .iter()
            .find(|id| id.contains("-wr"))
            .unwrap()
            .clone();
        let err = trade::propose(
            &store,
            &user(&store, "alice"),
            &a.id,
            &b.id,
            vec![kickers[0].clone()],
            vec![b_wr],
            None,
            None,
            T0,
        )
        .await
        .unwrap_err();
        assert!(
            matches!(&err, FantasyError::Refused(m) if m.contains("could no longer fill")),
            "{err}"
        );
    }
    // Not Alice's player: refused by field.
    let err = trade::propose(
        &store,
        &user(&store, "alice"),
        &a.id,
        &b.id,
        vec![b_roster[0].clone()],
        vec![],
        None,
        None,
        T0,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&err, FantasyError::Invalid { field, .. } if field == "give[0]"),
        "{err}"
    );

    // WR for WR: proposed, accepted, one veto is not enough, executes after the window.
    let a_wr = a_roster
        .iter()
        .find(|id| id.contains("-wr"))
        .unwrap()
        .clone();
    let b_wr = b_roster
        .iter()
        .find(|id| id.contains("-wr"))
        .unwrap()
        .clone();
    let eval = trade::evaluate(
        &store,
        &a.id,
        &b.id,
        std::slice::from_ref(&a_wr),
        std::slice::from_ref(&b_wr),
        T0,
        &|| false,
    )
    .await
    .unwrap();
    assert!(["fair", "favors_from", "favors_to"].contains(&eval.verdict.as_str()));
    assert_eq!(eval.weeks_left, 4);
    let t1 = trade::propose(
        &store,
        &user(&store, "alice"),
        &a.id,
        &b.id,
        vec![a_wr.clone()],
        vec![b_wr.clone()],
        Some("wr swap".into()),
        None,
        T0,
    )
    .await
    .unwrap();
    let err = trade::respond(
        &store,
        &user(&store, "carol"),
        &t1.id,
        &c.id,
        Response::Accept,
        None,
        T0,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, FantasyError::Refused(_)));
    let t1 = trade::respond(
        &store,
        &user(&store, "bob"),
        &t1.id,
        &b.id,
        Response::Accept,
        None,
        T0 + 1,
    )
    .await
    .unwrap();
    assert_eq!(t1.status, "accepted");
    assert_eq!(t1.veto_until_ms, Some(T0 + 1 + DAY));
    let t1 = trade::respond(
        &store,
        &user(&store, "carol"),
        &t1.id,
        &c.id,
        Response::Veto,
        None,
        T0 + 2,
    )
    .await
    .unwrap();
    assert_eq!(t1.status, "accepted");

    // A second trade gets two vetoes and dies.
    let a_rb = a_roster
        .iter()
        .find(|id| id.contains("-rb"))
        .unwrap()
        .clone();
    let c_roster = league::roster_ids(&store, &c.id).await.unwrap();
    let c_rb = c_roster
        .iter()
        .find(|id| id.contains("-rb"))
        .unwrap()
        .clone();
    let t2 = trade::propose(
        &store,
        &user(&store, "alice"),
        &a.id,
        &c.id,
        vec![a_rb.clone()],
        vec![c_rb.clone()],
        None,
        None,
        T0,
    )
    .await
    .unwrap();
    trade::respond(
        &store,
        &user(&store, "carol"),
        &t2.id,
        &c.id,
        Response::Accept,
        None,
        T0 + 3,
    )
    .await
    .unwrap();
    trade::respond(
        &store,
        &user(&store, "bob"),
        &t2.id,
        &b.id,
        Response::Veto,
        None,
        T0 + 4,
    )
    .await
    .unwrap();
    let t2 = trade::respond(
        &store,
        &user(&store, "dave"),
        &t2.id,
        &d.id,
        Response::Veto,
        None,
        T0 + 5,
    )
    .await
    .unwrap();
    assert_eq!(t2.status, "vetoed");

    // Counter-offer: Dave counters Alice's proposal; the original is marked countered.
    let d_roster = league::roster_ids(&store, &d.id).await.unwrap();
    let d_rb = d_roster
        .iter()
        .find(|id| id.contains("-rb"))
        .unwrap()
        .clone();
    let t3 = trade::propose(
        &store,
        &user(&store, "alice"),
        &a.id,
        &d.id,
        vec![a_rb.clone()],
        vec![d_rb.clone()],
        None,
        None,
        T0,
    )
    .await
    .unwrap();
    // Another of Dave's running backs: a like-for-like counter keeps both
    // rosters able to fill their slots.
    let d_rb2 = d_roster
        .iter()
        .find(|id| id.contains("-rb") && **id != d_rb)
        .unwrap()
        .clone();
    let counter = trade::respond(
        &store,
        &user(&store, "dave"),
        &t3.id,
        &d.id,
        Response::Counter,
        Some((vec![d_rb2.clone()], vec![a_rb.clone()])),
        T0 + 6,
    )
    .await
    .unwrap();
    assert_eq!(counter.from_team, d.id);
    assert_eq!(counter.parent_id.as_deref(), Some(t3.id.as_str()));
    assert_eq!(
        trade::trade(&store, &t3.id).await.unwrap().status,
        "countered"
    );
    trade::respond(
        &store,
        &user(&store, "alice"),
        &counter.id,
        &a.id,
        Response::Reject,
        None,
        T0 + 7,
    )
    .await
    .unwrap();

    // Waivers: Alice (priority 1) and Bob (2) claim the same free agent; Alice wins and drops to last.
    let owners = league::owners(&store, &lg.id).await.unwrap();
    let free = data::players(&store, Sport::Nfl)
        .await
        .unwrap()
        .into_iter()
        .find(|p| !owners.contains_key(&p.id) && p.positions[0] == "WR")
        .unwrap();
    let a_bench_wr = league::roster_ids(&store, &a.id)
        .await
        .unwrap()
        .into_iter()
        .rfind(|id| id.contains("-wr") && id != &a_wr)
        .unwrap();
    let b_drop = b_roster
        .iter()
        .rfind(|id| id.contains("-wr") && **id != b_wr)
        .unwrap()
        .clone();
    trade::claim(
        &store,
        &user(&store, "bob"),
        &b.id,
        &free.id,
        Some(&b_drop),
        T0 + 8,
    )
    .await
    .unwrap();
    trade::claim(
        &store,
        &user(&store, "alice"),
        &a.id,
        &free.id,
        Some(&a_bench_wr),
        T0 + 9,
    )
    .await
    .unwrap();
    let err = trade::claim(&store, &user(&store, "alice"), &a.id, &b_wr, None, T0 + 9)
        .await
        .unwrap_err();
    assert!(matches!(&err, FantasyError::Invalid { field, .. } if field == "add_player"));

    // Week 1 runs after the veto window: the WR swap executes, waivers process.
    let mut steps = Vec::new();
    let report = engine::run_week(
        &store,
        &admin,
        &lg.id,
        T0 + 2 * DAY,
        &mut |p, _, m| steps.push((p, m)),
        &|| false,
    )
    .await
    .unwrap();
    assert_eq!(report.week, 1);
    assert_eq!(report.trades_executed, vec![t1.id.clone()]);
    assert_eq!(report.matchups.len(), 2);
    for t in [b, c, d] {
        assert!(report.auto_lineups.contains(&t.id));
    }
    // The traded receiver left Alice's unlocked lineup before it locked.
    let a_week1 = league::lineup(&store, &a.id, 1).await.unwrap();
    assert_eq!(a_week1.len(), lg.slots.len());
    assert!(a_week1.iter().all(|r| r.locked && r.player_id != a_wr));
    assert!(steps.len() >= 5);
    let owners = league::owners(&store, &lg.id).await.unwrap();
    assert_eq!(owners.get(&a_wr), Some(&b.id));
    assert_eq!(owners.get(&b_wr), Some(&a.id));
    assert_eq!(owners.get(&free.id), Some(&a.id));
    assert_eq!(
        report
            .waivers
            .iter()
            .map(|w| w.status.as_str())
            .collect::<Vec<_>>(),
        vec!["won", "lost"]
    );
    let order: Vec<String> = league::teams(&store, &lg.id)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(
        order,
        vec![b.id.clone(), c.id.clone(), d.id.clone(), a.id.clone()]
    );
    // Week 1 is locked now.
    let err = league::set_lineup(&store, &user(&store, "alice"), &a.id, 1, best, T0 + 2 * DAY)
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        FantasyError::Invalid { .. } | FantasyError::Refused(_)
    ));
    // Teams' points are sums of their starters' scored games.
    let scored: Decimal = report.team_points.values().copied().sum();
    assert!(scored > dec!(100), "{scored}");

    // A cancelled cycle leaves the week unscored.
    let err = engine::run_week(
        &store,
        &admin,
        &lg.id,
        T0 + 3 * DAY,
        &mut |_, _, _| {},
        &|| true,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, FantasyError::Cancelled));
    assert_eq!(
        league::league(&store, &lg.id).await.unwrap().current_week,
        2
    );
    for w in 2..=4 {
        engine::run_week(
            &store,
            &admin,
            &lg.id,
            T0 + w * WEEK_MS,
            &mut |_, _, _| {},
            &|| false,
        )
        .await
        .unwrap();
    }
    let err = engine::run_week(
        &store,
        &admin,
        &lg.id,
        T0 + 5 * WEEK_MS,
        &mut |_, _, _| {},
        &|| false,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, FantasyError::Refused(_)));
    let table = engine::standings(&store, &league::league(&store, &lg.id).await.unwrap())
        .await
        .unwrap();
    assert_eq!(table.len(), 4);
    let games: u32 = table.iter().map(|r| r.wins + r.losses + r.ties).sum();
    assert_eq!(games, 16);
    assert!(table.windows(2).all(|w| w[0].win_pct >= w[1].win_pct));

    // Every audited change is there.
    assert_eq!(audit_count(&store, "lineup_lock").await, 16);
    assert_eq!(audit_count(&store, "trade_executed").await, 1);
    assert_eq!(audit_count(&store, "trade_veto_vote").await, 3);
    assert_eq!(audit_count(&store, "waiver_processed").await, 2);
    assert_eq!(audit_count(&store, "week_scored").await, 4);
}
