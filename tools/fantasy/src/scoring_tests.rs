//! Unit tests of the scoring rules.

use super::*;
use rust_decimal_macros::dec;

fn line(pairs: &[(&str, Decimal)]) -> StatLine {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

#[test]
fn every_preset_is_valid() {
    for name in PRESETS {
        let rules = RuleSet::preset(name).expect("preset exists");
        rules.validate().unwrap_or_else(|e| panic!("{name}: {e}"));
        // Every literal parsed (a typo would silently become zero).
        for (stat, v) in &rules.points {
            assert!(!v.is_zero() || stat == "rec", "{name}.{stat} is zero");
        }
    }
}

#[test]
fn nfl_presets_match_hand_worked_receiver_game() {
    // WR: 8 receptions, 112 yards, 1 TD, 1 fumble lost, 12 rushing yards.
    // standard: 11.2 + 6 - 2 + 1.2 = 16.4; half-PPR: +4 = 20.4; PPR: +8 = 24.4
    let game = line(&[
        ("rec", dec!(8)),
        ("rec_yds", dec!(112)),
        ("rec_td", dec!(1)),
        ("fumbles_lost", dec!(1)),
        ("rush_yds", dec!(12)),
        ("targets", dec!(11)),
    ]);
    let score = |p| RuleSet::preset(p).unwrap().score_game(&game, "WR");
    assert_eq!(score("nfl_standard"), dec!(16.4));
    assert_eq!(score("nfl_half_ppr"), dec!(20.4));
    assert_eq!(score("nfl_ppr"), dec!(24.4));
}

#[test]
fn nfl_quarterback_and_defense_hand_worked() {
    // QB: 287 pass yds (11.48) + 2 TD (8) - 1 INT (-2) + 23 rush yds (2.3) + 1 two-pt (2) = 21.78
    let qb = line(&[
        ("pass_yds", dec!(287)),
        ("pass_td", dec!(2)),
        ("pass_int", dec!(1)),
        ("rush_yds", dec!(23)),
        ("two_pt", dec!(1)),
    ]);
    assert_eq!(
        RuleSet::preset("nfl_ppr").unwrap().score_game(&qb, "QB"),
        dec!(21.78)
    );
    // DST: 3 sacks (3) + 1 INT (2) + 1 fum rec (2) + 17 pts allowed
    // (ESPN's 14-17 band: +1) = 8; it was -3.4 (linear -0.2 a point) = 3.6.
    let dst = line(&[
        ("dst_sack", dec!(3)),
        ("dst_int", dec!(1)),
        ("dst_fum_rec", dec!(1)),
        ("dst_pts_allowed", dec!(17)),
    ]);
    assert_eq!(
        RuleSet::preset("nfl_standard")
            .unwrap()
            .score_game(&dst, "DST"),
        dec!(8)
    );
}

#[test]
fn nba_points_hand_worked() {
    // 27 pts + 10 reb*1.2 (12) + 8 ast*1.5 (12) + 2 stl*3 (6) + 1 blk*3 (3) - 4 tov = 56
    let game = line(&[
        ("pts", dec!(27)),
        ("reb", dec!(10)),
        ("ast", dec!(8)),
        ("stl", dec!(2)),
        ("blk", dec!(1)),
        ("tov", dec!(4)),
        ("fga", dec!(20)),
    ]);
    assert_eq!(
        RuleSet::preset("nba_points")
            .unwrap()
            .score_game(&game, "PG"),
        dec!(56.0)
    );
}

#[test]
fn nba_9cat_matchup_hand_worked() {
    let rules = RuleSet::preset("nba_9cat").unwrap();
    // Home: FG 40/80 = .5, FT 18/20 = .9, 3PM 10, PTS 108, REB 40, AST 25, STL 8, BLK 4, TO 12
    // Away: FG 45/100 = .45, FT 20/25 = .8, 3PM 14, PTS 120, REB 40, AST 20, STL 6, BLK 7, TO 15
    // Home wins FG%, FT%, AST, STL, TO (fewer) = 5; away wins 3PM, PTS, BLK = 3; REB tie.
    let home = TeamWeek {
        team: "h".into(),
        points: Decimal::ZERO,
        totals: line(&[
            ("fgm", dec!(40)),
            ("fga", dec!(80)),
            ("ftm", dec!(18)),
            ("fta", dec!(20)),
            ("tpm", dec!(10)),
            ("pts", dec!(108)),
            ("reb", dec!(40)),
            ("ast", dec!(25)),
            ("stl", dec!(8)),
            ("blk", dec!(4)),
            ("tov", dec!(12)),
        ]),
    };
    let away = TeamWeek {
        team: "a".into(),
        points: Decimal::ZERO,
        totals: line(&[
            ("fgm", dec!(45)),
            ("fga", dec!(100)),
            ("ftm", dec!(20)),
            ("fta", dec!(25)),
            ("tpm", dec!(14)),
            ("pts", dec!(120)),
            ("reb", dec!(40)),
            ("ast", dec!(20)),
            ("stl", dec!(6)),
            ("blk", dec!(7)),
            ("tov", dec!(15)),
        ]),
    };
    let result = score_matchup(&rules, &home, &away);
    assert_eq!(result.home_score, dec!(5));
    assert_eq!(result.away_score, dec!(3));
    assert_eq!(result.winner, Side::Home);
    let reb = result
        .categories
        .iter()
        .find(|c| c.category == "REB")
        .unwrap();
    assert_eq!(reb.winner, Side::Tie);
    let fg = result
        .categories
        .iter()
        .find(|c| c.category == "FG%")
        .unwrap();
    assert_eq!(fg.home, Some(dec!(0.5)));
}

#[test]
fn mlb_hitter_and_pitcher_hand_worked() {
    let rules = RuleSet::preset("mlb_points").unwrap();
    // Hitter: 1 single, 1 HR (4), 2 R, 3 RBI, 1 BB, 1 SO (-0.5) = 1+4+2+3+1-0.5 = 10.5
    let hitter = line(&[
        ("single", dec!(1)),
        ("hr", dec!(1)),
        ("r", dec!(2)),
        ("rbi", dec!(3)),
        ("bb", dec!(1)),
        ("so", dec!(1)),
        ("ab", dec!(4)),
    ]);
    assert_eq!(rules.score_game(&hitter, "OF"), dec!(10.5));
    // SP: 6.1 IP = 19 outs, 7 K, 5 H, 2 ER, 1 BB, W = 19+7-5-4-1+5 = 21
    let pitcher = line(&[
        ("outs", dec!(19)),
        ("p_so", dec!(7)),
        ("p_h", dec!(5)),
        ("p_er", dec!(2)),
        ("p_bb", dec!(1)),
        ("w", dec!(1)),
    ]);
    assert_eq!(rules.score_game(&pitcher, "SP"), dec!(21));
}

#[test]
fn soccer_position_overrides_and_bonuses_hand_worked() {
    let rules = RuleSet::preset("soccer_points").unwrap();
    // DEF: 90 min (1+1), 1 goal (6), clean sheet (4), 1 yellow (-1) = 11
    let def = line(&[
        ("minutes", dec!(90)),
        ("goals", dec!(1)),
        ("clean_sheet", dec!(1)),
        ("yellow", dec!(1)),
    ]);
    assert_eq!(rules.score_game(&def, "DEF"), dec!(11));
    // Same line as FWD: 2 + 4 + 0 (no clean-sheet points) - 1 = 5
    assert_eq!(rules.score_game(&def, "FWD"), dec!(5));
    // MID, 45 min, 1 assist, 2 shots on target: 1 + 3 + 1 = 5
    let mid = line(&[
        ("minutes", dec!(45)),
        ("assists", dec!(1)),
        ("shots_on_target", dec!(2)),
    ]);
    assert_eq!(rules.score_game(&mid, "MID"), dec!(5));
}

#[test]
fn custom_rule_set_from_toml_with_bonus() {
    let rules = RuleSet::from_toml(
        r#"
name = "my_league"
sport = "nfl"
[points]
pass_yds = "0.05"
pass_td = "6"
[[bonuses]]
stat = "pass_yds"
at_least = "300"
points = "3"
"#,
    )
    .unwrap();
    let game = line(&[("pass_yds", dec!(320)), ("pass_td", dec!(3))]);
    assert_eq!(rules.score_game(&game, "QB"), dec!(37)); // 16 + 18 + 3
    let game = line(&[("pass_yds", dec!(299)), ("pass_td", dec!(3))]);
    assert_eq!(rules.score_game(&game, "QB"), dec!(32.95));
}

#[test]
fn invalid_rule_sets_name_the_field() {
    let err = RuleSet::from_json(r#"{"name":"x","sport":"nfl","points":{"pass_yards":"1"}}"#)
        .unwrap_err();
    assert!(
        matches!(&err, FantasyError::Invalid { field, rule } if field == "points.pass_yards" && rule.contains("known stats")),
        "{err}"
    );
    let err = RuleSet::from_json(
        r#"{"name":"x","sport":"nba","categories":[{"name":"FG%","stat":"fgm","per":"fgm"}]}"#,
    )
    .unwrap_err();
    assert!(matches!(&err, FantasyError::Invalid { field, .. } if field == "categories[0].per"));
    let err = RuleSet::from_json(r#"{"name":"x","sport":"nfl"}"#).unwrap_err();
    assert!(matches!(&err, FantasyError::Invalid { field, .. } if field == "points"));
    let err = RuleSet::from_json(r#"{"name":"x","sport":"cricket","points":{}}"#).unwrap_err();
    assert!(matches!(&err, FantasyError::Invalid { field, .. } if field == "scoring"));
    let err = RuleSet::from_json(
        r#"{"name":"x","sport":"soccer","points":{"goals":"5"},"position_points":{"ST":{"goals":"4"}}}"#,
    )
    .unwrap_err();
    assert!(matches!(&err, FantasyError::Invalid { field, .. } if field == "position_points.ST"));
}

#[test]
fn standings_use_tiebreakers() {
    let teams: Vec<String> = ["a", "b", "c", "d"].iter().map(|s| s.to_string()).collect();
    let m = |h: &str, hs: Decimal, a: &str, as_: Decimal| MatchupResult {
        home: h.into(),
        away: a.into(),
        home_score: hs,
        away_score: as_,
        winner: side(hs.cmp(&as_)),
        categories: vec![],
    };
    // Week 1: a beats b, c beats d. Week 2: b beats c, d beats a.
    // a, b, c, d all 1-1; head-to-head among all: each 1 win. Then points_for.
    let results = vec![
        m("a", dec!(100), "b", dec!(90)),
        m("c", dec!(120), "d", dec!(80)),
        m("b", dec!(110), "c", dec!(105)),
        m("d", dec!(101), "a", dec!(99)),
    ];
    let table = standings(&teams, &results);
    let order: Vec<&str> = table.iter().map(|r| r.team.as_str()).collect();
    // points_for: a 199, b 200, c 225, d 181
    assert_eq!(order, vec!["c", "b", "a", "d"]);
    assert_eq!(table[0].win_pct, dec!(0.5));
    // A 2-0 team ranks first regardless of points.
    let mut results2 = results.clone();
    results2.push(m("d", dec!(50), "b", dec!(40)));
    let table = standings(&teams, &results2);
    assert_eq!(table[0].team, "d");
    assert_eq!(table[0].wins, 2);
    assert_eq!(table[3].team, "b");
}
