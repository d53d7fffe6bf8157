//! Unit tests of the stats import parsers and summaries.

use super::*;
use rust_decimal_macros::dec;

const CSV: &str = "player_id,name,team,positions,season,week,rec,rec_yds,rec_td,targets\n\
wr-1,\"Smith, Jr.\",kc,WR,2024,1,5,60,1,7\n\
wr-1,,,,2024,2,7,90,0,9\n\
wr-1,,,,2024,3,3,30,0,5\n\
rb-2,Jones,BUF,RB/WR,2024,1,2,10,0,3\n";

#[test]
fn csv_import_with_quotes_and_player_rows() {
    let batch = parse_csv(Sport::Nfl, CSV).unwrap();
    assert_eq!(batch.stats.len(), 4);
    assert_eq!(batch.players.len(), 2);
    let wr = batch.players.iter().find(|p| p.id == "wr-1").unwrap();
    assert_eq!(wr.name, "Smith, Jr.");
    assert_eq!(wr.team, "KC");
    let rb = batch.players.iter().find(|p| p.id == "rb-2").unwrap();
    assert_eq!(rb.positions, vec!["RB", "WR"]);
    assert_eq!(batch.stats[1].stats.get("rec_yds"), Some(&dec!(90)));
}

#[test]
fn json_import_matches_csv() {
    let json = r#"[{"player_id":"wr-1","name":"Smith, Jr.","team":"KC","positions":"WR","season":2024,"week":1,"rec":5,"rec_yds":60,"rec_td":1,"targets":7}]"#;
    let batch = parse_json(Sport::Nfl, json).unwrap();
    assert_eq!(batch.stats[0].stats.get("rec"), Some(&dec!(5)));
    assert_eq!(batch.players[0].name, "Smith, Jr.");
}

#[test]
fn bad_rows_name_row_and_column() {
    let err = parse_csv(Sport::Nfl, "player_id,season,week,rec\nx,2024,1,lots\n").unwrap_err();
    assert!(
        matches!(&err, FantasyError::Invalid { field, .. } if field == "rows[0].rec"),
        "{err}"
    );
    let err = parse_csv(Sport::Nfl, "player_id,season,week,yards\nx,2024,1,3\n").unwrap_err();
    assert!(
        matches!(&err, FantasyError::Invalid { field, .. } if field == "rows[0].yards"),
        "{err}"
    );
    let err = parse_csv(Sport::Nfl, "player_id,season,week\nx,2024,0\n").unwrap_err();
    assert!(
        matches!(&err, FantasyError::Invalid { field, .. } if field == "rows[0].week"),
        "{err}"
    );
    let err = parse_csv(Sport::Nfl, "player_id,season\nx,2024,1\n").unwrap_err();
    assert!(
        matches!(&err, FantasyError::Invalid { field, .. } if field == "rows[0]"),
        "{err}"
    );
    let err = parse_json(
        Sport::Nba,
        r#"[{"player_id":"p","season":2024,"week":1,"positions":"QB"}]"#,
    )
    .unwrap_err();
    assert!(
        matches!(&err, FantasyError::Invalid { field, .. } if field == "rows[0].positions"),
        "{err}"
    );
}

#[test]
fn kickoff_times_rfc3339_and_ms() {
    assert_eq!(parse_kickoff("2024-09-06T00:20:00Z"), Ok(1_725_582_000_000));
    // 13:00 at UTC-4 is 17:00 UTC.
    assert_eq!(
        parse_kickoff("2024-09-08T13:00:00-04:00"),
        Ok(1_725_814_800_000)
    );
    assert_eq!(
        parse_kickoff("2024-09-08 18:30:00+01:30"),
        Ok(1_725_814_800_000)
    );
    assert_eq!(parse_kickoff("2000-02-29T23:59:59.5Z"), Ok(951_868_799_500));
    assert_eq!(parse_kickoff("1969-12-31T00:00:00Z"), Ok(-86_400_000));
    assert_eq!(parse_kickoff("1725582000000"), Ok(1_725_582_000_000));
    for bad in [
        "2023-02-29T00:00:00Z",
        "2024-09-08T17:00:00",
        "2024-09-08T24:00:00Z",
        "2024-09-08",
        "tomorrow",
        "2024-09-08T17:00:00+0é00",
        "",
    ] {
        assert!(parse_kickoff(bad).is_err(), "{bad}");
    }
}

proptest::proptest! {
    /// Any text is answered without a panic; every UTC second from 1900
    /// to 2200 written by `iso_utc` reads back to itself.
    #[test]
    fn kickoff_parser_total_and_round_trips(text in "\\PC{0,32}", secs in -2_208_988_800i64..7_258_118_400i64) {
        let _ = parse_kickoff(&text);
        let ms = secs * 1000;
        proptest::prop_assert_eq!(parse_kickoff(&crate::league::iso_utc(ms)), Ok(ms));
    }
}

#[test]
fn csv_games_section_gives_both_teams_a_kickoff() {
    let csv = format!(
        "{CSV}[games]\nseason,week,home,away,start\n2024,1,KC,BAL,2024-09-06T00:20:00Z\n2024,1,buf,ari,1725814800000\n"
    );
    let batch = parse_csv(Sport::Nfl, &csv).unwrap();
    assert_eq!(batch.stats.len(), 4);
    assert_eq!(batch.games.len(), 4);
    let kc = batch.games.iter().find(|g| g.team == "KC").unwrap();
    assert_eq!(kc.opponent.as_deref(), Some("BAL"));
    assert_eq!(kc.start_ms, Some(1_725_582_000_000));
    let ari = batch.games.iter().find(|g| g.team == "ARI").unwrap();
    assert_eq!(
        (ari.opponent.as_deref(), ari.start_ms),
        (Some("BUF"), Some(1_725_814_800_000))
    );
    // Games alone are an import too.
    let only = parse_csv(
        Sport::Nfl,
        "[games]\nseason,week,home,away,kickoff\n2024,2,KC,CIN,2024-09-15T20:25:00Z\n",
    )
    .unwrap();
    assert!(only.stats.is_empty());
    assert_eq!(only.games.len(), 2);
}

#[test]
fn json_games_match_csv() {
    let json = r#"{"rows": [{"player_id":"wr-1","name":"A","team":"KC","positions":"WR","season":2024,"week":1,"rec":5}],
                   "games": [{"season":2024,"week":1,"home":"KC","away":"BAL","start":"2024-09-06T00:20:00Z"},
                             {"season":2024,"week":1,"home":"BUF","away":"ARI","start":1725814800000}]}"#;
    let batch = parse_json(Sport::Nfl, json).unwrap();
    assert_eq!(batch.stats.len(), 1);
    let csv = parse_csv(
        Sport::Nfl,
        "[games]\nseason,week,home,away,start\n2024,1,KC,BAL,2024-09-06T00:20:00Z\n2024,1,BUF,ARI,1725814800000\n",
    )
    .unwrap();
    assert_eq!(batch.games, csv.games);
}

#[test]
fn bad_games_name_row_and_column() {
    let cases: &[(&str, &str)] = &[
        (
            "2024,1,KC,BAL,2024-09-06T00:20:00Z\n2024,1,BUF,ARI,2024-13-01T00:00:00Z",
            "games[1].start",
        ),
        ("2024,1,KC,BAL,soon", "games[0].start"),
        ("2024,1,KC,BAL,", "games[0].start"),
        ("2024,0,KC,BAL,1725582000000", "games[0].week"),
        ("2024,1,KC,KC,1725582000000", "games[0].away"),
        (
            "2024,1,KC,BAL,1725582000000\n2024,1,BUF,BAL,1725582000000",
            "games[1].away",
        ),
        ("2024,1,KC,BAL,99999999999999999", "games[0].start"),
    ];
    for (rows, field_at) in cases {
        let csv = format!("[games]\nseason,week,home,away,start\n{rows}\n");
        let err = parse_csv(Sport::Nfl, &csv).unwrap_err();
        assert!(
            matches!(&err, FantasyError::Invalid { field, .. } if field == field_at),
            "{rows}: {err}"
        );
    }
    let err = parse_csv(
        Sport::Nfl,
        "[games]\nseason,week,home,away,start,tv\n2024,1,KC,BAL,1725582000000,NBC\n",
    )
    .unwrap_err();
    assert!(
        matches!(&err, FantasyError::Invalid { field, .. } if field == "games[0].tv"),
        "{err}"
    );
    let err = parse_json(Sport::Nfl, r#"{"games": [{"season":2024,"week":1,"home":"KC","away":"BAL","start":"2024-09-06T00:20:00"}]}"#).unwrap_err();
    assert!(
        matches!(&err, FantasyError::Invalid { field, rule } if field == "games[0].start" && rule.contains("time zone")),
        "{err}"
    );
    let err = parse_json(Sport::Nfl, r#"{"rows": [], "schedule": []}"#).unwrap_err();
    assert!(
        matches!(&err, FantasyError::Invalid { field, .. } if field == "schedule"),
        "{err}"
    );
    // An empty games section is refused rather than ignored.
    assert!(parse_csv(Sport::Nfl, "[games]\nseason,week,home,away,start\n").is_err());
}

#[test]
fn summary_hand_worked() {
    let batch = parse_csv(Sport::Nfl, CSV).unwrap();
    let lines: Vec<GameStat> = batch
        .stats
        .into_iter()
        .filter(|s| s.player_id == "wr-1")
        .collect();
    let rules = RuleSet::preset("nfl_ppr").unwrap();
    let s = summarize(Sport::Nfl, &rules, "WR", &lines, 2);
    // PPR: week1 5 + 6 + 6 = 17; week2 7 + 9 = 16; week3 3 + 3 = 6
    let pts: Vec<Decimal> = s.weekly.iter().map(|w| w.points).collect();
    assert_eq!(pts, vec![dec!(17), dec!(16), dec!(6)]);
    assert_eq!(s.total, dec!(39));
    assert_eq!(s.mean, dec!(13));
    assert_eq!(s.rolling_mean, dec!(11));
    // sd of 17, 16, 6 (sample): mean 13, squares 16 + 9 + 49 = 74 / 2 = 37 -> 6.08
    assert_eq!(s.std_dev, dec!(6.08));
    assert_eq!(s.floor, dec!(6));
    assert_eq!(s.ceiling, dec!(17));
    // usage over last two weeks: 9 then 5 targets: slope -4
    assert_eq!(s.usage_trend, dec!(-4));
    assert_eq!(s.consistency, dec!(53.2));
}
