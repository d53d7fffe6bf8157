//! Scoring presets checked against each site's published rules, with the
//! worked input in each test's name or comment (issue #9, items 8 and 9).
//!
//! Sources (cited again next to each preset in `src/presets.rs`):
//! - DraftKings NFL classic: <https://www.draftkings.com/help/nfl> and DK
//!   Network "Advanced NFL DFS: Defense & special teams" (2020-06-17).
//! - DraftKings NBA classic: <https://www.draftkings.com/help/nba> as quoted
//!   by DK Nation "Beginner NBA DFS: Scoring" (2020-06-02).
//! - FanDuel NFL / NBA: <https://www.fanduel.com/rules> (its NBA block and
//!   steal values, 2, are out of date: see `nba_fanduel` in `src/presets.rs`).
//! - Yahoo default: <https://help.yahoo.com/kb/fantasy-football/SLN6489.html>.
//! - ESPN standard: <https://support.espn.com/hc/en-us/articles/360003914032>
//!   (worked RB example) and
//!   <https://support.espn.com/hc/en-us/articles/115003847231> (D/ST).

use nt_fantasy::FantasyError;
use nt_fantasy::model::StatLine;
use nt_fantasy::scoring::RuleSet;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

fn line(pairs: &[(&str, Decimal)]) -> StatLine {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

fn preset(name: &str) -> RuleSet {
    RuleSet::preset(name).unwrap_or_else(|| panic!("preset `{name}` is not shipped"))
}

/// A defence's line: nothing but its points allowed.
fn dst(points_allowed: i64) -> StatLine {
    line(&[("dst_pts_allowed", Decimal::from(points_allowed))])
}

/// DraftKings, FanDuel and Yahoo publish the same table:
/// 0 → +10, 1–6 → +7, 7–13 → +4, 14–20 → +1, 21–27 → 0, 28–34 → −1, 35+ → −4.
/// Each edge of each range is checked.
#[test]
fn dst_points_allowed_0_10_1_6_7_7_13_4_14_20_1_21_27_0_28_34_m1_35_plus_m4_on_dk_and_fd() {
    let table = [
        (0, dec!(10)),
        (1, dec!(7)),
        (6, dec!(7)),
        (7, dec!(4)),
        (13, dec!(4)),
        (14, dec!(1)),
        (20, dec!(1)),
        (21, dec!(0)),
        (27, dec!(0)),
        (28, dec!(-1)),
        (34, dec!(-1)),
        (35, dec!(-4)),
        (59, dec!(-4)),
    ];
    for name in ["nfl_draftkings", "nfl_fanduel"] {
        let rules = preset(name);
        for (allowed, want) in table {
            assert_eq!(
                rules.score_game(&dst(allowed), "DST"),
                want,
                "{name}: {allowed} points allowed"
            );
        }
    }
}

/// ESPN standard: 0 → +5, 1–6 → +4, 7–13 → +3, 14–17 → +1, 18–27 → 0,
/// 28–34 → −1, 35–45 → −3, 46+ → −5 (the season-long `nfl_*` presets).
#[test]
fn dst_points_allowed_espn_0_5_1_6_4_7_13_3_14_17_1_18_27_0_28_34_m1_35_45_m3_46_plus_m5() {
    let table = [
        (0, dec!(5)),
        (1, dec!(4)),
        (6, dec!(4)),
        (7, dec!(3)),
        (13, dec!(3)),
        (14, dec!(1)),
        (17, dec!(1)),
        (18, dec!(0)),
        (27, dec!(0)),
        (28, dec!(-1)),
        (34, dec!(-1)),
        (35, dec!(-3)),
        (45, dec!(-3)),
        (46, dec!(-5)),
        (70, dec!(-5)),
    ];
    for name in ["nfl_standard", "nfl_half_ppr", "nfl_ppr"] {
        let rules = preset(name);
        for (allowed, want) in table {
            assert_eq!(
                rules.score_game(&dst(allowed), "DST"),
                want,
                "{name}: {allowed} points allowed"
            );
        }
    }
}

/// A shutout is often stored without the zero (stat lines omit zeros): a
/// defence's line with no `dst_pts_allowed` is a shutout, and points
/// allowed never score for a player at another position.
/// DK: 3 sacks (3) + 1 INT (2) + shutout (10) = 15.
#[test]
fn dst_shutout_stored_without_the_zero_scores_10_on_dk() {
    let rules = preset("nfl_draftkings");
    let game = line(&[("dst_sack", dec!(3)), ("dst_int", dec!(1))]);
    assert_eq!(rules.score_game(&game, "DST"), dec!(15));
    let qb = line(&[("pass_td", dec!(1))]);
    assert_eq!(
        rules.score_game(&qb, "QB"),
        dec!(4),
        "no defence tier for a QB"
    );
}

/// DST, DraftKings: 4 sacks (4) + 2 INT (4) + 1 fumble recovery (2) + 1
/// defensive TD (6) + 1 blocked kick (2) + 17 points allowed (+1) = 19.
/// FanDuel scores the same line 19 (same table, same values).
#[test]
fn dst_4_sacks_2_int_1_fr_1_td_1_blk_17_allowed_is_19_on_dk_and_fd() {
    let game = line(&[
        ("dst_sack", dec!(4)),
        ("dst_int", dec!(2)),
        ("dst_fum_rec", dec!(1)),
        ("dst_td", dec!(1)),
        ("dst_blk_kick", dec!(1)),
        ("dst_pts_allowed", dec!(17)),
    ]);
    assert_eq!(preset("nfl_draftkings").score_game(&game, "DST"), dec!(19));
    assert_eq!(preset("nfl_fanduel").score_game(&game, "DST"), dec!(19));
}

/// ESPN's published example (support article 360003914032): a running back
/// with 50 rushing yards, 6 catches for 30 yards and one touchdown scores
/// 14 in standard and 20 in PPR; half-PPR is 17.
#[test]
fn espn_published_rb_50_rush_6_rec_30_yds_1_td_is_14_standard_20_ppr() {
    let rb = line(&[
        ("rush_yds", dec!(50)),
        ("rec", dec!(6)),
        ("rec_yds", dec!(30)),
        ("rush_td", dec!(1)),
    ]);
    assert_eq!(preset("nfl_standard").score_game(&rb, "RB"), dec!(14));
    assert_eq!(preset("nfl_half_ppr").score_game(&rb, "RB"), dec!(17));
    assert_eq!(preset("nfl_ppr").score_game(&rb, "RB"), dec!(20));
}

/// QB, 312 pass yds, 3 pass TD, 1 INT, 20 rush yds, 1 fumble lost.
/// DraftKings: 12.48 + 12 − 1 + 2 + 3 (300+ passing bonus) − 1 = 27.48.
/// FanDuel:    12.48 + 12 − 1 + 2 − 2 (fumble −2, no bonus)  = 23.48.
#[test]
fn qb_312_yds_3_td_1_int_20_rush_1_fumble_is_27_48_dk_23_48_fd() {
    let qb = line(&[
        ("pass_yds", dec!(312)),
        ("pass_td", dec!(3)),
        ("pass_int", dec!(1)),
        ("rush_yds", dec!(20)),
        ("fumbles_lost", dec!(1)),
    ]);
    assert_eq!(preset("nfl_draftkings").score_game(&qb, "QB"), dec!(27.48));
    assert_eq!(preset("nfl_fanduel").score_game(&qb, "QB"), dec!(23.48));
    // 299 yards: no bonus; 11.96 + 12 − 1 + 2 − 1 = 23.96.
    let mut short = qb.clone();
    short.insert("pass_yds".into(), dec!(299));
    assert_eq!(
        preset("nfl_draftkings").score_game(&short, "QB"),
        dec!(23.96)
    );
}

/// WR, 7 catches, 100 receiving yards (exactly), 1 TD, 1 two-point catch.
/// DraftKings: 7 + 10 + 6 + 2 + 3 (100+ bonus) = 28.
/// FanDuel:    3.5 + 10 + 6 + 2 = 21.5.
/// RB, 24 carries for 131 yards, 2 catches for 9 yards, kick-return TD:
/// DraftKings: 13.1 + 3 (100+ rushing) + 2 + 0.9 + 6 = 25.
/// FanDuel:    13.1 + 1 + 0.9 + 6 = 21.
#[test]
fn wr_7_rec_100_yds_1_td_1_two_pt_is_28_dk_21_5_fd_and_rb_131_rush_yds_kr_td() {
    let wr = line(&[
        ("rec", dec!(7)),
        ("rec_yds", dec!(100)),
        ("rec_td", dec!(1)),
        ("two_pt", dec!(1)),
        ("targets", dec!(10)),
    ]);
    assert_eq!(preset("nfl_draftkings").score_game(&wr, "WR"), dec!(28));
    assert_eq!(preset("nfl_fanduel").score_game(&wr, "WR"), dec!(21.5));
    let rb = line(&[
        ("rush_att", dec!(24)),
        ("rush_yds", dec!(131)),
        ("rec", dec!(2)),
        ("rec_yds", dec!(9)),
        ("ret_td", dec!(1)),
    ]);
    assert_eq!(preset("nfl_draftkings").score_game(&rb, "RB"), dec!(25));
    assert_eq!(preset("nfl_fanduel").score_game(&rb, "RB"), dec!(21));
}

/// DraftKings NBA. Double-double: 20 pts (2 threes), 10 reb, 5 ast, 1 stl,
/// 2 TO = 20 + 1 + 12.5 + 7.5 + 2 − 1 + 1.5 (DD) = 43.5.
/// Triple-double: 12 pts, 11 reb, 10 ast, 2 stl, 1 blk, 4 TO =
/// 12 + 13.75 + 15 + 4 + 2 − 2 + 1.5 (DD) + 3 (TD) = 49.25: DK lists both bonuses,
/// each "max 1 per player", and a triple-double is also a double-double.
/// Quadruple-double 10/10/10/10 stl: 10 + 12.5 + 15 + 20 + 1.5 + 3 = 62
/// (still one of each bonus).
#[test]
fn nba_dk_double_double_43_5_triple_double_49_25_bonuses_stack_once() {
    let rules = preset("nba_draftkings");
    let dd = line(&[
        ("pts", dec!(20)),
        ("tpm", dec!(2)),
        ("reb", dec!(10)),
        ("ast", dec!(5)),
        ("stl", dec!(1)),
        ("tov", dec!(2)),
        ("min", dec!(34)),
    ]);
    assert_eq!(rules.score_game(&dd, "C"), dec!(43.5));
    let td = line(&[
        ("pts", dec!(12)),
        ("reb", dec!(11)),
        ("ast", dec!(10)),
        ("stl", dec!(2)),
        ("blk", dec!(1)),
        ("tov", dec!(4)),
    ]);
    assert_eq!(rules.score_game(&td, "PG"), dec!(49.25));
    let quad = line(&[
        ("pts", dec!(10)),
        ("reb", dec!(10)),
        ("ast", dec!(10)),
        ("stl", dec!(10)),
    ]);
    assert_eq!(rules.score_game(&quad, "PG"), dec!(62));
    // Nine rebounds: no bonus. 20 + 1 + 11.25 + 7.5 + 2 − 1 = 40.75.
    let mut near = dd.clone();
    near.insert("reb".into(), dec!(9));
    assert_eq!(rules.score_game(&near, "C"), dec!(40.75));
}

/// FanDuel NBA: the triple-double line above is 12 + 13.2 + 15 + 6 + 3 − 4
/// = 45.2 (no 3-point or double-double bonus on FanDuel).
#[test]
fn nba_fd_triple_double_line_is_45_2_without_bonuses() {
    let td = line(&[
        ("pts", dec!(12)),
        ("tpm", dec!(2)),
        ("reb", dec!(11)),
        ("ast", dec!(10)),
        ("stl", dec!(2)),
        ("blk", dec!(1)),
        ("tov", dec!(4)),
    ]);
    assert_eq!(preset("nba_fanduel").score_game(&td, "PG"), dec!(45.2));
}

/// A custom rule set can state tiers and combination bonuses in JSON and
/// TOML: Yahoo's default points-allowed table and a double-double.
#[test]
fn custom_tiers_and_combos_from_json_and_toml() {
    let rules = RuleSet::from_json(
        r#"{"name": "yahoo_dst", "sport": "nfl", "points": {"dst_sack": "1"},
            "tiers": [{"stat": "dst_pts_allowed", "positions": ["DST"], "bands": [
              {"min": "0", "max": "0", "points": "10"},
              {"min": "1", "max": "6", "points": "7"},
              {"min": "7", "max": "13", "points": "4"},
              {"min": "14", "max": "20", "points": "1"},
              {"min": "21", "max": "27", "points": "0"},
              {"min": "28", "max": "34", "points": "-1"},
              {"min": "35", "points": "-4"}]}]}"#,
    )
    .unwrap();
    assert_eq!(rules.score_game(&dst(0), "DST"), dec!(10));
    assert_eq!(rules.score_game(&dst(35), "DST"), dec!(-4));
    let rules = RuleSet::from_toml(
        r#"
name = "dd_league"
sport = "nba"
[points]
pts = "1"
[[combos]]
name = "double_double"
stats = ["pts", "reb", "ast", "stl", "blk"]
at_least = "10"
count = 2
points = "5"
"#,
    )
    .unwrap();
    let game = line(&[("pts", dec!(10)), ("reb", dec!(10))]);
    assert_eq!(rules.score_game(&game, "C"), dec!(15));
}

/// Rule sets stored before tiers existed still load and score as stored:
/// a league created with the old linear `dst_pts_allowed` (−0.2 a point)
/// keeps it (17 allowed: −3.4).
#[test]
fn stored_rules_without_tiers_still_load_and_score_as_stored() {
    let old = r#"{"name":"nfl_half_ppr","sport":"nfl","points":{"dst_pts_allowed":"-0.2","dst_sack":"1","rec":"0.5"},"position_points":{},"bonuses":[],"categories":[]}"#;
    let rules = RuleSet::from_json(old).unwrap();
    assert_eq!(rules.score_game(&dst(17), "DST"), dec!(-3.4));
    let stored = serde_json::to_string(&rules).unwrap();
    assert_eq!(RuleSet::from_json(&stored).unwrap(), rules);
}

/// Overlapping bands, an unknown position and an impossible combination
/// are refused, naming the field.
#[test]
fn bad_tiers_and_combos_name_the_field() {
    let cases = [
        (
            r#"{"name":"x","sport":"nfl","points":{"dst_sack":"1"},"tiers":[{"stat":"dst_pts_allowed","bands":[{"min":"0","max":"6","points":"7"},{"min":"6","points":"1"}]}]}"#,
            "tiers[0].bands[1].min",
        ),
        (
            r#"{"name":"x","sport":"nfl","points":{"dst_sack":"1"},"tiers":[{"stat":"dst_pts_allowed","positions":["DEF"],"bands":[{"min":"0","points":"1"}]}]}"#,
            "tiers[0].positions[0]",
        ),
        (
            r#"{"name":"x","sport":"nfl","points":{"dst_sack":"1"},"tiers":[{"stat":"dst_pts_alowed","bands":[{"min":"0","points":"1"}]}]}"#,
            "tiers[0].stat",
        ),
        (
            r#"{"name":"x","sport":"nba","points":{"pts":"1"},"combos":[{"name":"dd","stats":["pts","reb"],"at_least":"10","count":3,"points":"1.5"}]}"#,
            "combos[0].count",
        ),
    ];
    for (json, want) in cases {
        let err = RuleSet::from_json(json).unwrap_err();
        assert!(
            matches!(&err, FantasyError::Invalid { field, .. } if field == want),
            "{want}: {err}"
        );
    }
}
