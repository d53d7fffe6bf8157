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

db_tests! {
    season_with_trades_vetoes_waivers_and_standings => season_body;
    collective_votes_with_quorum_and_splits_winnings => collective_body;
    collective_money_three_members_to_the_cent => collective_money_body;
    collective_concurrent_withdrawals_never_overdraw => collective_race_body;
    collective_second_payout_fails_when_the_pool_is_short => collective_two_payouts_body;
    collective_refuses_amounts_finer_than_a_cent => sub_cent_amounts_body;
    collective_payout_without_stake_is_refused => payout_without_stake_body;
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
    trade::claim(&store, &user(&store, "bob"), &b.id, &free.id, Some(&b_drop), T0 + 8)
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

async fn collective_body(store: Store) {
    data::ensure_data(&store, Sport::Nfl, T0).await.unwrap();
    let admin = Actor::system(&store, "test", T0);
    let lg = league::create_league(&store, &admin, new_league(2), T0)
        .await
        .unwrap();
    league::join_league(&store, &user(&store, "x"), &lg.id, "X", "x", None, None, T0)
        .await
        .unwrap();
    let c = collective::create(
        &store,
        &admin,
        &lg.id,
        "Syndicate",
        "ann",
        dec!(600),
        dec!(0),
        dec!(0.6),
        dec!(0.5),
        T0,
    )
    .await
    .unwrap();
    let c = collective::contribute(&store, &admin, &c.id, "ben", dec!(400), Funding::Cash, T0)
        .await
        .unwrap();
    // 1000 paid in, the league's entry fee (50) paid out of the pool.
    assert_eq!(c.pool, dec!(950));
    // Ben (40%) proposes: below quorum, open. Ann votes no: fails.
    let p = collective::propose(
        &store,
        &admin,
        &c.id,
        "ben",
        Motion::Payout { amount: dec!(100) },
        T0,
    )
    .await
    .unwrap();
    assert_eq!(p.status, Decision::Open);
    let p = collective::vote(&store, &admin, &p.id, "ann", false, T0)
        .await
        .unwrap();
    assert_eq!(p.status, Decision::Failed);
    let err = collective::vote(&store, &admin, &p.id, "ben", true, T0)
        .await
        .unwrap_err();
    assert!(matches!(err, FantasyError::Refused(_)));
    // Outsiders cannot vote.
    let p = collective::propose(
        &store,
        &admin,
        &c.id,
        "ben",
        Motion::Lineup {
            week: 1,
            lineup: vec![],
        },
        T0,
    )
    .await
    .unwrap();
    assert!(matches!(
        collective::vote(&store, &admin, &p.id, "zed", true, T0).await,
        Err(FantasyError::Refused(_))
    ));
    // Ann approves the lineup motion: it passes and the lineup is set.
    let p = collective::vote(&store, &admin, &p.id, "ann", true, T0)
        .await
        .unwrap();
    assert_eq!(p.status, Decision::Passed);
    assert_eq!(
        league::lineup(&store, &c.team_id, 1).await.unwrap().len(),
        lg.slots.len()
    );
    // Ann (60%) alone passes a payout; split 60/40.
    let p = collective::propose(
        &store,
        &admin,
        &c.id,
        "ann",
        Motion::Payout {
            amount: dec!(250.05),
        },
        T0,
    )
    .await
    .unwrap();
    assert_eq!(p.status, Decision::Passed);
    let c = collective::collective(&store, &c.id).await.unwrap();
    let paid: BTreeMap<&str, Decimal> = c
        .members
        .iter()
        .map(|m| (m.member.as_str(), m.paid_out))
        .collect();
    assert_eq!(paid["ann"], dec!(150.03));
    assert_eq!(paid["ben"], dec!(100.02));
    assert_eq!(audit_count(&store, "collective_vote").await, 5);
    assert_eq!(audit_count(&store, "collective_capital").await, 1);
    assert_eq!(audit_count(&store, "collective_payout").await, 1);
}

fn sum_ledger(entries: &[collective::LedgerEntry]) -> Decimal {
    entries.iter().map(|e| e.amount).sum()
}

/// Hand-worked: league entry fee 50, member fee 10, quorum 60%.
/// ann pays 510 (stake 500), ben deposits 400 and joins from credit with 310
/// (stake 300, credit 90), cat pays 210 (stake 200). Pool: 30 fees + 1000
/// stake - 50 league fee = 980. Winnings 400: pool 1380. Payout 333.33 by
/// stake 50/30/20: 166.665, 99.999, 66.666 round down to 166.66, 99.99,
/// 66.66 (333.31); the 2 cents left go to the largest remainders (.009 ben,
/// .006 cat; it used to be the largest stakes, ann and ben): ann 166.66,
/// ben 100.00, cat 66.67. Pool 1046.67.
async fn collective_money_body(store: Store) {
    data::ensure_data(&store, Sport::Nfl, T0).await.unwrap();
    let admin = Actor::system(&store, "test", T0);
    let lg = league::create_league(&store, &admin, new_league(2), T0)
        .await
        .unwrap();
    // A founder who cannot cover the league's entry fee is refused, and no
    // team is created for it.
    let err = collective::create(
        &store,
        &admin,
        &lg.id,
        "Poor",
        "zed",
        dec!(40),
        dec!(0),
        dec!(0.6),
        dec!(0.5),
        T0,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&err, FantasyError::Invalid { field, rule } if field == "stake" && rule.contains("50")),
        "{err}"
    );
    assert!(league::teams(&store, &lg.id).await.unwrap().is_empty());

    let c = collective::create(
        &store,
        &admin,
        &lg.id,
        "Trio",
        "ann",
        dec!(510),
        dec!(10),
        dec!(0.6),
        dec!(0.5),
        T0,
    )
    .await
    .unwrap();
    assert_eq!(c.pool, dec!(460));
    assert_eq!(c.members[0].stake, dec!(500));
    assert_eq!(c.members[0].credit, dec!(0));
    let rows_before = collective::ledger(&store, &c.id).await.unwrap().len();
    assert_eq!(rows_before, 6);

    // Ben has no credit yet: joining from credit is refused, nothing written.
    let err = collective::contribute(&store, &admin, &c.id, "ben", dec!(310), Funding::Credit, T0)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, FantasyError::Invalid { field, rule } if field == "stake" && rule.contains("credit 0")),
        "{err}"
    );
    assert_eq!(
        collective::ledger(&store, &c.id).await.unwrap().len(),
        rows_before
    );
    assert_eq!(
        collective::collective(&store, &c.id)
            .await
            .unwrap()
            .members
            .len(),
        1
    );
    // A join that does not cover the member fee is refused.
    let err = collective::contribute(&store, &admin, &c.id, "cat", dec!(10), Funding::Cash, T0)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, FantasyError::Invalid { field, .. } if field == "stake"),
        "{err}"
    );

    let b = collective::deposit(&store, &admin, &c.id, "ben", dec!(400), T0)
        .await
        .unwrap();
    assert_eq!(b.member("ben").credit, dec!(400));
    assert_eq!(b.pool, dec!(460), "a deposit is credit, not pool");
    collective::contribute(&store, &admin, &c.id, "ben", dec!(310), Funding::Credit, T0)
        .await
        .unwrap();
    let c = collective::contribute(&store, &admin, &c.id, "cat", dec!(210), Funding::Cash, T0)
        .await
        .unwrap();
    assert_eq!(c.pool, dec!(980));
    let by: BTreeMap<&str, (Decimal, Decimal)> = c
        .members
        .iter()
        .map(|m| (m.member.as_str(), (m.stake, m.credit)))
        .collect();
    assert_eq!(by["ann"], (dec!(500), dec!(0)));
    assert_eq!(by["ben"], (dec!(300), dec!(90)));
    assert_eq!(by["cat"], (dec!(200), dec!(0)));

    let b = collective::credit_winnings(&store, &admin, &c.id, dec!(400), Some("week 1"), T0)
        .await
        .unwrap();
    assert_eq!(b.pool, dec!(1380));
    // More than the pool holds cannot even be proposed.
    let err = collective::propose(
        &store,
        &admin,
        &c.id,
        "ann",
        Motion::Payout {
            amount: dec!(1380.01),
        },
        T0,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&err, FantasyError::Invalid { field, .. } if field == "motion.amount"),
        "{err}"
    );

    // Ann (50%) proposes a payout: open below the 60% quorum.
    let p = collective::propose(
        &store,
        &admin,
        &c.id,
        "ann",
        Motion::Payout {
            amount: dec!(333.33),
        },
        T0,
    )
    .await
    .unwrap();
    assert_eq!(p.status, Decision::Open);
    // No withdrawals while it is open, not even of credit.
    let err = collective::withdraw(&store, &admin, &c.id, "ben", dec!(90), T0)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, FantasyError::Refused(msg) if msg.contains(&p.id)),
        "{err}"
    );
    let p = collective::vote(&store, &admin, &p.id, "ben", true, T0)
        .await
        .unwrap();
    assert_eq!(p.status, Decision::Passed);
    let c = collective::collective(&store, &c.id).await.unwrap();
    let paid: BTreeMap<&str, (Decimal, Decimal)> = c
        .members
        .iter()
        .map(|m| (m.member.as_str(), (m.paid_out, m.credit)))
        .collect();
    assert_eq!(paid["ann"], (dec!(166.66), dec!(166.66)));
    assert_eq!(paid["ben"], (dec!(100.00), dec!(190.00)));
    assert_eq!(paid["cat"], (dec!(66.67), dec!(66.67)));
    assert_eq!(c.pool, dec!(1046.67));
    // Money is conserved: 510 + 400 + 210 in, 400 won, 50 league fee out.
    let ledger = collective::ledger(&store, &c.id).await.unwrap();
    assert_eq!(sum_ledger(&ledger), dec!(1470));

    // Withdrawals: credit first, then stake out of the pool.
    let w = collective::withdraw(&store, &admin, &c.id, "cat", dec!(66.67), T0)
        .await
        .unwrap();
    assert_eq!((w.from_credit, w.from_stake), (dec!(66.67), dec!(0)));
    let err = collective::withdraw(&store, &admin, &c.id, "cat", dec!(200.01), T0)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, FantasyError::Invalid { field, rule } if field == "amount" && rule.contains("available balance 200")),
        "{err}"
    );
    let w = collective::withdraw(&store, &admin, &c.id, "ann", dec!(666.66), T0)
        .await
        .unwrap();
    assert_eq!((w.from_credit, w.from_stake), (dec!(166.66), dec!(500)));
    assert_eq!(w.balances.pool, dec!(546.67));
    let w = collective::withdraw(&store, &admin, &c.id, "ben", dec!(490), T0)
        .await
        .unwrap();
    assert_eq!(w.balances.pool, dec!(246.67));
    // Cat's whole stake would leave 46.67 in the pool, under the league's 50.
    let err = collective::withdraw(&store, &admin, &c.id, "cat", dec!(200), T0)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, FantasyError::Invalid { field, rule } if field == "amount" && rule.contains("46.67")),
        "{err}"
    );
    let w = collective::withdraw(&store, &admin, &c.id, "cat", dec!(196.67), T0)
        .await
        .unwrap();
    assert_eq!(w.balances.pool, dec!(50));
    assert_eq!(w.balances.member("cat").stake, dec!(3.33));
    assert_eq!(
        w.balances.member("ann"),
        collective::MemberBalance {
            credit: dec!(0),
            stake: dec!(0),
            paid_out: dec!(166.66),
        }
    );

    // Every ledger row has its audit row (and nothing refused left either).
    let ledger = collective::ledger(&store, &c.id).await.unwrap();
    assert_eq!(ledger.len(), 31);
    assert_eq!(sum_ledger(&ledger), dec!(50));
    assert_eq!(audit_count(&store, "collective_ledger").await, 31);
    for e in &ledger {
        let n: i64 = sqlx::query("SELECT COUNT(*) FROM audit_log WHERE detail LIKE $1")
            .bind(format!("%\"ledger_id\":\"{}\"%", e.id))
            .fetch_one(store.pool())
            .await
            .unwrap()
            .get(0);
        assert_eq!(n, 1, "audit row for ledger row {e:?}");
    }
    let kinds: Vec<&str> = ledger.iter().map(|e| e.kind.as_str()).collect();
    for k in [
        "deposit",
        "entry_fee",
        "capital",
        "league_fee",
        "winnings",
        "payout",
        "withdraw",
    ] {
        assert!(kinds.contains(&k), "{k} in {kinds:?}");
    }
}

/// Six withdrawals of 60 race against a credit of 100: money movements of a
/// collective are serialised, so exactly one goes through and the rest are
/// refused naming `amount`.
async fn collective_race_body(store: Store) {
    data::ensure_data(&store, Sport::Nfl, T0).await.unwrap();
    let admin = Actor::system(&store, "test", T0);
    let lg = league::create_league(&store, &admin, new_league(2), T0)
        .await
        .unwrap();
    let c = collective::create(
        &store,
        &admin,
        &lg.id,
        "Race",
        "ann",
        dec!(100),
        dec!(0),
        dec!(0.5),
        dec!(0.5),
        T0,
    )
    .await
    .unwrap();
    collective::deposit(&store, &admin, &c.id, "ann", dec!(100), T0)
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let (store, admin, id) = (store.clone(), admin.clone(), c.id.clone());
        tasks.push(tokio::spawn(async move {
            // Credit 100 + stake 100, but the pool (50 after the league fee)
            // must keep 50: only the credit can go.
            collective::withdraw(&store, &admin, &id, "ann", dec!(60), T0).await
        }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(w) => {
                assert_eq!(w.from_credit, dec!(60));
                ok += 1;
            }
            Err(FantasyError::Invalid { field, .. }) => assert_eq!(field, "amount"),
            Err(e) => panic!("unexpected: {e}"),
        }
    }
    assert_eq!(ok, 1);
    let b = collective::balances(&store, &c.id).await.unwrap();
    assert_eq!(b.member("ann").credit, dec!(40));
    assert_eq!(b.pool, dec!(50));
}

/// Two payout motions are open at once; the pool covers only the first to
/// pass. The second fails when it would pass, and pays nothing.
async fn collective_two_payouts_body(store: Store) {
    data::ensure_data(&store, Sport::Nfl, T0).await.unwrap();
    let admin = Actor::system(&store, "test", T0);
    let lg = league::create_league(&store, &admin, new_league(2), T0)
        .await
        .unwrap();
    let c = collective::create(
        &store,
        &admin,
        &lg.id,
        "Two",
        "ann",
        dec!(600),
        dec!(0),
        dec!(0.7),
        dec!(0.5),
        T0,
    )
    .await
    .unwrap();
    let c = collective::contribute(&store, &admin, &c.id, "ben", dec!(400), Funding::Cash, T0)
        .await
        .unwrap();
    assert_eq!(c.pool, dec!(950));
    let mut ids = Vec::new();
    for amount in [dec!(600), dec!(500)] {
        let p = collective::propose(&store, &admin, &c.id, "ann", Motion::Payout { amount }, T0)
            .await
            .unwrap();
        assert_eq!(p.status, Decision::Open, "60% is under the 70% quorum");
        ids.push(p.id);
    }
    let p = collective::vote(&store, &admin, &ids[0], "ben", true, T0)
        .await
        .unwrap();
    assert_eq!(p.status, Decision::Passed);
    // Shares are written in cents.
    assert_eq!(p.result.unwrap()["payout"][0]["amount"], "360.00");
    let rows = collective::ledger(&store, &c.id).await.unwrap().len();
    let p = collective::vote(&store, &admin, &ids[1], "ben", true, T0)
        .await
        .unwrap();
    assert_eq!(p.status, Decision::Failed);
    let why = p.result.unwrap()["failed"].as_str().unwrap().to_string();
    assert!(why.contains("350"), "{why}");
    assert_eq!(collective::ledger(&store, &c.id).await.unwrap().len(), rows);
    let c = collective::collective(&store, &c.id).await.unwrap();
    assert_eq!(c.pool, dec!(350));
    let status: String =
        sqlx::query("SELECT status FROM fantasy_collective_proposals WHERE id = $1")
            .bind(&ids[1])
            .fetch_one(store.pool())
            .await
            .unwrap()
            .get(0);
    assert_eq!(status, "failed");
    // Nothing open any more: withdrawals work again.
    collective::withdraw(&store, &admin, &c.id, "ben", dec!(240), T0)
        .await
        .unwrap();
}

/// One random collective for [`collective_payouts_never_create_or_lose_money`]:
/// members with `stakes` (cents), `winnings` (cents) credited, then payouts
/// (cents; `true` adds half a cent). Every payout finer than a cent is
/// refused naming `motion.amount`; every payout that passes takes exactly
/// its amount from the pool and gives exactly that amount to the members,
/// each within a cent of their pro-rata share; the ledger sums to the money
/// that came in.
async fn random_collective(
    store: &Store,
    stakes: Vec<i64>,
    winnings: i64,
    payouts: Vec<(i64, bool)>,
) -> Result<(), proptest::test_runner::TestCaseError> {
    use proptest::{prop_assert, prop_assert_eq};
    let admin = Actor::system(&store, "test", T0);
    let mut spec = new_league(2);
    spec.entry_fee = dec!(0);
    let lg = league::create_league(store, &admin, spec, T0)
        .await
        .unwrap();
    let names: Vec<String> = (0..stakes.len()).map(|i| format!("m{i}")).collect();
    let stake_of = |c: i64| Decimal::new(c, 2);
    let c = collective::create(
        store,
        &admin,
        &lg.id,
        "Prop",
        &names[0],
        stake_of(stakes[0]),
        dec!(0),
        dec!(0.5),
        dec!(0.5),
        T0,
    )
    .await
    .unwrap();
    for (name, cents) in names.iter().zip(&stakes).skip(1) {
        collective::contribute(
            store,
            &admin,
            &c.id,
            name,
            stake_of(*cents),
            Funding::Cash,
            T0,
        )
        .await
        .unwrap();
    }
    let mut came_in: Decimal = stakes.iter().map(|c| stake_of(*c)).sum();
    if winnings > 0 {
        collective::credit_winnings(store, &admin, &c.id, stake_of(winnings), None, T0)
            .await
            .unwrap();
        came_in += stake_of(winnings);
    }
    let total_stake: Decimal = stakes.iter().map(|c| stake_of(*c)).sum();
    let mut paid_out = Decimal::ZERO;
    for (cents, half) in payouts {
        let amount = if half {
            Decimal::new(cents * 10 + 5, 3)
        } else {
            Decimal::new(cents, 2)
        };
        let pool = collective::balances(store, &c.id).await.unwrap().pool;
        let proposed = collective::propose(
            store,
            &admin,
            &c.id,
            &names[0],
            Motion::Payout { amount },
            T0,
        )
        .await;
        if half || amount > pool {
            prop_assert!(
                matches!(&proposed, Err(FantasyError::Invalid { field, .. }) if field == "motion.amount"),
                "{amount} (pool {pool}): {proposed:?}"
            );
            continue;
        }
        let mut p = proposed.unwrap();
        for name in names.iter().skip(1) {
            if p.status != Decision::Open {
                break;
            }
            p = collective::vote(store, &admin, &p.id, name, true, T0)
                .await
                .unwrap();
        }
        prop_assert_eq!(p.status, Decision::Passed);
        let rows: Vec<_> = collective::ledger(store, &c.id)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.reference.as_deref() == Some(p.id.as_str()))
            .collect();
        let from_pool: Decimal = rows
            .iter()
            .filter(|e| e.member.is_none())
            .map(|e| e.amount)
            .sum();
        let to_members: Decimal = rows
            .iter()
            .filter(|e| e.member.is_some())
            .map(|e| e.amount)
            .sum();
        prop_assert_eq!(from_pool, -amount);
        prop_assert_eq!(to_members, amount);
        for e in rows.iter().filter(|e| e.member.is_some()) {
            let i = names
                .iter()
                .position(|n| Some(n) == e.member.as_ref())
                .unwrap();
            let exact = amount * stake_of(stakes[i]) / total_stake;
            prop_assert!((e.amount - exact).abs() < dec!(0.01), "{e:?} vs {exact}");
            prop_assert!(e.amount.normalize().scale() <= 2, "{e:?} finer than a cent");
        }
        paid_out += amount;
    }
    let ledger = collective::ledger(store, &c.id).await.unwrap();
    prop_assert_eq!(sum_ledger(&ledger), came_in);
    let b = collective::balances(store, &c.id).await.unwrap();
    prop_assert_eq!(b.pool, came_in - paid_out);
    let credits: Decimal = b.members.values().map(|m| m.credit).sum();
    prop_assert_eq!(credits, paid_out);
    Ok(())
}

/// Property (issue #9, item 10): random stakes, winnings and payouts on
/// the real ledger (SQLite) never create or lose an amount.
#[test]
fn collective_payouts_never_create_or_lose_money() {
    use proptest::collection::vec;
    use proptest::test_runner::{Config, TestRunner};
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let store = rt.block_on(async {
        let store = data::tests::test_store().await;
        data::ensure_data(&store, Sport::Nfl, T0).await.unwrap();
        store
    });
    let strategy = (
        vec(1i64..=100_000, 1..=4),
        0i64..=500_000,
        vec((1i64..=150_000, proptest::bool::weighted(0.3)), 1..=4),
    );
    let mut runner = TestRunner::new(Config {
        cases: 24,
        // A manual runner has no source file to keep failures next to.
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&strategy, |(stakes, winnings, payouts)| {
            rt.block_on(random_collective(&store, stakes, winnings, payouts))
        })
        .unwrap();
}

/// A payout of 100.005 used to take 100.005 from the pool and pay 50.00 +
/// 50.00: it is now refused naming `motion.amount`, and so are deposits,
/// stakes, winnings, withdrawals, member fees and league entry fees finer
/// than a cent (the ledger keeps cents).
async fn sub_cent_amounts_body(store: Store) {
    data::ensure_data(&store, Sport::Nfl, T0).await.unwrap();
    let admin = Actor::system(&store, "test", T0);
    let mut spec = new_league(2);
    spec.entry_fee = dec!(0.005);
    let err = league::create_league(&store, &admin, spec, T0)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, FantasyError::Invalid { field, .. } if field == "entry_fee"),
        "{err}"
    );
    let mut spec = new_league(2);
    spec.entry_fee = dec!(0);
    let lg = league::create_league(&store, &admin, spec, T0)
        .await
        .unwrap();
    let err = collective::create(
        &store,
        &admin,
        &lg.id,
        "Fine",
        "ann",
        dec!(100.001),
        dec!(0),
        dec!(0.5),
        dec!(0.5),
        T0,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&err, FantasyError::Invalid { field, .. } if field == "stake"),
        "{err}"
    );
    let err = collective::create(
        &store,
        &admin,
        &lg.id,
        "Fine",
        "ann",
        dec!(100),
        dec!(0.001),
        dec!(0.5),
        dec!(0.5),
        T0,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&err, FantasyError::Invalid { field, .. } if field == "member_fee"),
        "{err}"
    );
    let c = collective::create(
        &store,
        &admin,
        &lg.id,
        "Even",
        "ann",
        dec!(100),
        dec!(0),
        dec!(0.5),
        dec!(0.5),
        T0,
    )
    .await
    .unwrap();
    collective::contribute(&store, &admin, &c.id, "ben", dec!(100), Funding::Cash, T0)
        .await
        .unwrap();
    let rows = collective::ledger(&store, &c.id).await.unwrap().len();
    let refused = [
        collective::contribute(&store, &admin, &c.id, "ben", dec!(0.005), Funding::Cash, T0)
            .await
            .map(|_| ()),
        collective::deposit(&store, &admin, &c.id, "ben", dec!(1.001), T0)
            .await
            .map(|_| ()),
        collective::credit_winnings(&store, &admin, &c.id, dec!(0.009), None, T0)
            .await
            .map(|_| ()),
        collective::withdraw(&store, &admin, &c.id, "ben", dec!(0.001), T0)
            .await
            .map(|_| ()),
        collective::propose(
            &store,
            &admin,
            &c.id,
            "ann",
            Motion::Payout {
                amount: dec!(100.005),
            },
            T0,
        )
        .await
        .map(|_| ()),
    ];
    for (r, field) in refused
        .iter()
        .zip(["stake", "amount", "amount", "amount", "motion.amount"])
    {
        assert!(
            matches!(r, Err(FantasyError::Invalid { field: f, rule }) if f == field && rule.contains("cent")),
            "{field}: {r:?}"
        );
    }
    assert_eq!(collective::ledger(&store, &c.id).await.unwrap().len(), rows);
    // Trailing zeros are whole cents: 100.0000 is fine.
    let p = collective::propose(
        &store,
        &admin,
        &c.id,
        "ann",
        Motion::Payout {
            amount: dec!(100.0000),
        },
        T0,
    )
    .await
    .unwrap();
    assert_eq!(p.status, Decision::Passed);
    let b = collective::balances(&store, &c.id).await.unwrap();
    assert_eq!(b.pool, dec!(100));
    assert_eq!(b.member("ann").credit + b.member("ben").credit, dec!(100));
}

/// Every member withdrew their stake but winnings stayed in the pool: a
/// payout has nobody to go to and is refused, instead of leaving the pool
/// for no one.
async fn payout_without_stake_body(store: Store) {
    data::ensure_data(&store, Sport::Nfl, T0).await.unwrap();
    let admin = Actor::system(&store, "test", T0);
    let mut spec = new_league(2);
    spec.entry_fee = dec!(0);
    let lg = league::create_league(&store, &admin, spec, T0)
        .await
        .unwrap();
    let c = collective::create(
        &store,
        &admin,
        &lg.id,
        "Empty",
        "ann",
        dec!(10),
        dec!(0),
        dec!(0.5),
        dec!(0.5),
        T0,
    )
    .await
    .unwrap();
    collective::credit_winnings(&store, &admin, &c.id, dec!(50), None, T0)
        .await
        .unwrap();
    collective::withdraw(&store, &admin, &c.id, "ann", dec!(10), T0)
        .await
        .unwrap();
    let rows = collective::ledger(&store, &c.id).await.unwrap().len();
    let err = collective::propose(
        &store,
        &admin,
        &c.id,
        "ann",
        Motion::Payout { amount: dec!(50) },
        T0,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&err, FantasyError::Invalid { field, rule } if field == "motion.amount" && rule.contains("stake")),
        "{err}"
    );
    assert_eq!(collective::ledger(&store, &c.id).await.unwrap().len(), rows);
    assert_eq!(
        collective::balances(&store, &c.id).await.unwrap().pool,
        dec!(50)
    );
}
