//! Generated data: daily-contest player pools for tests and benches, and the
//! seeded sample season the bundle serves offline.

use rust_decimal::Decimal;

use crate::optimizer::Candidate;
use crate::rng::Rng;

/// Thirty-two team codes used by the generated NFL data.
pub const NFL_TEAMS: [&str; 32] = [
    "ARI", "ATL", "BAL", "BUF", "CAR", "CHI", "CIN", "CLE", "DAL", "DEN", "DET", "GB", "HOU",
    "IND", "JAX", "KC", "LV", "LAC", "LAR", "MIA", "MIN", "NE", "NO", "NYG", "NYJ", "PHI", "PIT",
    "SF", "SEA", "TB", "TEN", "WAS",
];

/// A generated NFL daily pool of `n` players (QB 12%, RB 22%, WR 38%,
/// TE 16%, DST 12%), salaries 3000..=9500 in steps of 100 loosely tied to
/// projections, deterministic for `seed`.
pub fn nfl_dfs_pool(n: usize, seed: u64) -> Vec<Candidate> {
    let mut rng = Rng::new(seed);
    let shares = [("QB", 12), ("RB", 22), ("WR", 38), ("TE", 16), ("DST", 12)];
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let roll = (i * 100 / n.max(1)) as i32;
        let mut acc = 0;
        let mut pos = "WR";
        for (p, share) in shares {
            acc += share;
            if roll < acc {
                pos = p;
                break;
            }
        }
        let team = NFL_TEAMS[rng.range(0, 31) as usize];
        let salary = rng.range(30, 95) * 100;
        let base = salary as f64 / 1000.0 * 2.6;
        let proj = (base + rng.normal() * 3.5).max(0.0);
        out.push(Candidate {
            id: format!("{}-{i}", pos.to_ascii_lowercase()),
            team: team.to_string(),
            positions: vec![pos.to_string()],
            salary: Decimal::from(salary),
            projection: Decimal::from_f64_retain(proj)
                .unwrap_or(Decimal::ZERO)
                .round_dp(2),
        });
    }
    out
}

use crate::model::{GameStat, Player, PlayerStatus, Sport, StatLine};

/// Seed of the bundled sample seasons.
pub const SAMPLE_SEED: u64 = 2024;
/// Season (year) of the bundled sample seasons.
pub const SAMPLE_SEASON: i64 = 2024;
/// Weeks in the NFL sample season.
pub const NFL_SAMPLE_WEEKS: i64 = 14;
/// Weeks in the NBA sample season (one representative game per week).
pub const NBA_SAMPLE_WEEKS: i64 = 16;

const NBA_TEAMS: [&str; 30] = [
    "ATL", "BOS", "BKN", "CHA", "CHI", "CLE", "DAL", "DEN", "DET", "GSW", "HOU", "IND", "LAC",
    "LAL", "MEM", "MIA", "MIL", "MIN", "NOP", "NYK", "OKC", "ORL", "PHI", "PHX", "POR", "SAC",
    "SAS", "TOR", "UTA", "WAS",
];

fn put(line: &mut StatLine, key: &str, value: i64) {
    if value != 0 {
        line.insert(key.to_string(), Decimal::from(value.max(0)));
    }
}

fn normal_int(rng: &mut Rng, mean: f64, sd: f64) -> i64 {
    (mean + sd * rng.normal()).round().max(0.0) as i64
}

/// The sample season for `sport` (NFL and NBA are bundled), deterministic
/// for `seed`; players carry daily salaries. `None` for other sports.
pub fn sample_season(sport: Sport, seed: u64) -> Option<(Vec<Player>, Vec<GameStat>)> {
    match sport {
        Sport::Nfl => Some(nfl_season(seed)),
        Sport::Nba => Some(nba_season(seed)),
        _ => None,
    }
}

fn salary_from(talent: f64, lo: i64, hi: i64) -> Decimal {
    let s = lo as f64 + (hi - lo) as f64 * (talent / 1.6).clamp(0.0, 1.0);
    Decimal::from(((s / 100.0).round() as i64) * 100)
}

fn nfl_season(seed: u64) -> (Vec<Player>, Vec<GameStat>) {
    let mut rng = Rng::new(seed);
    let depth = [
        ("QB", 2),
        ("RB", 3),
        ("WR", 4),
        ("TE", 2),
        ("K", 1),
        ("DST", 1),
    ];
    let mut players = Vec::new();
    let mut talents = Vec::new();
    for (t_idx, team) in NFL_TEAMS.iter().enumerate() {
        for (pos, n) in depth {
            for slot in 0..n {
                let talent = if slot == 0 {
                    0.6 + rng.unit()
                } else {
                    (0.9 - 0.3 * slot as f64 + 0.4 * rng.unit()).max(0.05)
                };
                let id = format!(
                    "nfl-{}-{}{}",
                    team.to_ascii_lowercase(),
                    pos.to_ascii_lowercase(),
                    slot + 1
                );
                let salary = match pos {
                    "QB" => salary_from(talent, 4800, 8400),
                    "RB" => salary_from(talent, 4000, 9000),
                    "WR" => salary_from(talent, 3000, 9200),
                    "TE" => salary_from(talent, 2500, 7000),
                    "DST" => salary_from(talent, 2000, 4000),
                    _ => salary_from(talent, 4000, 5000),
                };
                players.push(Player {
                    id: id.clone(),
                    name: format!("{team} {pos}{}", slot + 1),
                    sport: Sport::Nfl,
                    team: team.to_string(),
                    positions: vec![pos.to_string()],
                    status: PlayerStatus::Active,
                    salary: Some(salary),
                });
                // Weekly drift of the role: some players gain usage, some lose it.
                talents.push((id, pos, talent, 0.04 * rng.normal(), t_idx));
            }
        }
    }
    let mut stats = Vec::new();
    for week in 1..=NFL_SAMPLE_WEEKS {
        // Opponent: team i meets team i XOR week, a perfect pairing each week.
        for (id, pos, talent, drift, t_idx) in &talents {
            // About 4% of player-weeks are missed.
            if rng.unit() < 0.04 {
                continue;
            }
            let t = (talent + drift * week as f64).max(0.02);
            let mut line = StatLine::new();
            match *pos {
                "QB" => {
                    if *talent < 0.6 {
                        continue; // backups rarely play
                    }
                    put(
                        &mut line,
                        "pass_yds",
                        normal_int(&mut rng, 190.0 + 60.0 * t, 55.0),
                    );
                    put(&mut line, "pass_td", rng.poisson(1.0 + 0.8 * t));
                    put(&mut line, "pass_int", rng.poisson(0.8));
                    put(&mut line, "rush_att", rng.poisson(2.0 + 2.0 * t));
                    put(
                        &mut line,
                        "rush_yds",
                        normal_int(&mut rng, 8.0 + 12.0 * t, 10.0),
                    );
                    put(&mut line, "rush_td", rng.poisson(0.12));
                    put(&mut line, "fumbles_lost", rng.poisson(0.1));
                }
                "RB" | "WR" | "TE" => {
                    let (carries, tgt, ypc, ypr, td) = match *pos {
                        "RB" => (4.0 + 12.0 * t, 1.0 + 3.0 * t, 4.2, 7.5, 0.15 + 0.35 * t),
                        "WR" => (0.2, 2.0 + 6.0 * t, 6.0, 12.5, 0.1 + 0.35 * t),
                        _ => (0.0, 1.5 + 4.5 * t, 0.0, 10.5, 0.08 + 0.25 * t),
                    };
                    let att = rng.poisson(carries);
                    let targets = rng.poisson(tgt);
                    let catch_rate = 0.55 + 0.2 * rng.unit();
                    let rec = (targets as f64 * catch_rate).round() as i64;
                    put(&mut line, "rush_att", att);
                    put(
                        &mut line,
                        "rush_yds",
                        normal_int(&mut rng, att as f64 * ypc, 2.0 * (att as f64).sqrt()),
                    );
                    put(&mut line, "targets", targets);
                    put(&mut line, "rec", rec);
                    put(
                        &mut line,
                        "rec_yds",
                        normal_int(&mut rng, rec as f64 * ypr, 3.0 * (rec as f64).sqrt()),
                    );
                    let tds = rng.poisson(td);
                    if *pos == "RB" && rng.unit() < 0.6 {
                        put(&mut line, "rush_td", tds);
                    } else {
                        put(&mut line, "rec_td", tds);
                    }
                    put(&mut line, "fumbles_lost", rng.poisson(0.04));
                }
                "K" => {
                    put(&mut line, "fg_made", rng.poisson(1.2 + 0.5 * t));
                    put(&mut line, "fg_missed", rng.poisson(0.3));
                    put(&mut line, "xp_made", rng.poisson(2.0 + 0.5 * t));
                }
                _ => {
                    put(&mut line, "dst_sack", rng.poisson(1.6 + 1.2 * t));
                    put(&mut line, "dst_int", rng.poisson(0.5 + 0.4 * t));
                    put(&mut line, "dst_fum_rec", rng.poisson(0.5));
                    put(&mut line, "dst_td", rng.poisson(0.1));
                    put(
                        &mut line,
                        "dst_pts_allowed",
                        normal_int(&mut rng, 27.0 - 6.0 * t, 8.0),
                    );
                }
            }
            stats.push(GameStat {
                player_id: id.clone(),
                season: SAMPLE_SEASON,
                week,
                opponent: Some(NFL_TEAMS[t_idx ^ (week as usize % 32)].to_string()),
                stats: line,
            });
        }
    }
    (players, stats)
}

fn nba_season(seed: u64) -> (Vec<Player>, Vec<GameStat>) {
    let mut rng = Rng::new(seed ^ 0x004E_4241);
    let roster: [&[&str]; 8] = [
        &["PG"],
        &["SG"],
        &["SF"],
        &["PF"],
        &["C"],
        &["PG", "SG"],
        &["SF", "PF"],
        &["PF", "C"],
    ];
    let mut players = Vec::new();
    let mut talents = Vec::new();
    for team in NBA_TEAMS {
        for (i, pos) in roster.iter().enumerate() {
            let talent = if i < 5 {
                0.5 + rng.unit()
            } else {
                0.2 + 0.5 * rng.unit()
            };
            let id = format!("nba-{}-{}", team.to_ascii_lowercase(), i + 1);
            players.push(Player {
                id: id.clone(),
                name: format!("{team} {}{}", pos.join("/"), i + 1),
                sport: Sport::Nba,
                team: team.to_string(),
                positions: pos.iter().map(|p| p.to_string()).collect(),
                status: PlayerStatus::Active,
                salary: Some(salary_from(talent, 3500, 11000)),
            });
            talents.push((id, pos[0], talent));
        }
    }
    let mut stats = Vec::new();
    for week in 1..=NBA_SAMPLE_WEEKS {
        for (id, pos, t) in &talents {
            if rng.unit() < 0.06 {
                continue;
            }
            let mut line = StatLine::new();
            let min = normal_int(&mut rng, 14.0 + 16.0 * t, 4.0).min(44);
            let m = min as f64 / 36.0;
            let big = matches!(*pos, "PF" | "C");
            let fga = rng.poisson((10.0 + 8.0 * t) * m);
            let fgm = (fga as f64 * (0.42 + 0.1 * rng.unit() + if big { 0.06 } else { 0.0 }))
                .round() as i64;
            let tpm = if big {
                rng.poisson(0.4 * m)
            } else {
                rng.poisson(2.0 * m)
            }
            .min(fgm);
            let fta = rng.poisson(4.0 * t * m);
            let ftm = (fta as f64 * (0.7 + 0.15 * rng.unit())).round() as i64;
            put(&mut line, "min", min);
            put(&mut line, "fga", fga);
            put(&mut line, "fgm", fgm);
            put(&mut line, "tpm", tpm);
            put(&mut line, "fta", fta);
            put(&mut line, "ftm", ftm);
            put(&mut line, "pts", 2 * fgm + tpm + ftm);
            put(
                &mut line,
                "reb",
                rng.poisson(if big { 9.0 } else { 4.0 } * m),
            );
            put(
                &mut line,
                "ast",
                rng.poisson(if *pos == "PG" { 7.5 } else { 2.5 } * m),
            );
            put(&mut line, "stl", rng.poisson(1.0 * m));
            put(
                &mut line,
                "blk",
                rng.poisson(if big { 1.3 } else { 0.4 } * m),
            );
            put(&mut line, "tov", rng.poisson(2.0 * m));
            stats.push(GameStat {
                player_id: id.clone(),
                season: SAMPLE_SEASON,
                week,
                opponent: None,
                stats: line,
            });
        }
    }
    (players, stats)
}

const HOUR_MS: i64 = 3600 * 1000;
const DAY_MS: i64 = 24 * HOUR_MS;
/// Thursday 2024-09-05 00:00 UTC: the NFL sample's week 1.
const NFL_WEEK1_MS: i64 = 1_725_494_400_000;
/// Tuesday 2024-10-22 00:00 UTC: the NBA sample's week 1.
const NBA_WEEK1_MS: i64 = 1_729_555_200_000;

/// The sample season's real-team schedule with kickoff times (UTC), one row
/// per team and week. NFL: the pairing of the stats (team i meets team
/// i XOR week); per week one Thursday night game (00:15 UTC Friday), nine
/// early Sunday games (17:00), three late ones (20:05, 20:25), Sunday night
/// (00:20 Monday) and Monday night (00:15 Tuesday). NBA: round robin, the
/// week's games spread Tuesday to Saturday at 23:30, 00:00, 02:00 or 03:00.
pub fn sample_schedule(sport: Sport) -> Vec<crate::stats::ScheduledGame> {
    let mut out = Vec::new();
    let mut push = |week: i64, a: &str, b: &str, start: i64| {
        for (team, opp) in [(a, b), (b, a)] {
            out.push(crate::stats::ScheduledGame {
                season: SAMPLE_SEASON,
                week,
                team: team.to_string(),
                opponent: Some(opp.to_string()),
                start_ms: Some(start),
            });
        }
    };
    match sport {
        Sport::Nfl => {
            let slots: [i64; 16] = [
                DAY_MS + HOUR_MS / 4,
                3 * DAY_MS + 17 * HOUR_MS,
                3 * DAY_MS + 17 * HOUR_MS,
                3 * DAY_MS + 17 * HOUR_MS,
                3 * DAY_MS + 17 * HOUR_MS,
                3 * DAY_MS + 17 * HOUR_MS,
                3 * DAY_MS + 17 * HOUR_MS,
                3 * DAY_MS + 17 * HOUR_MS,
                3 * DAY_MS + 17 * HOUR_MS,
                3 * DAY_MS + 17 * HOUR_MS,
                3 * DAY_MS + 20 * HOUR_MS + 5 * 60_000,
                3 * DAY_MS + 20 * HOUR_MS + 25 * 60_000,
                3 * DAY_MS + 20 * HOUR_MS + 25 * 60_000,
                4 * DAY_MS + 20 * 60_000,
                5 * DAY_MS + HOUR_MS / 4,
                3 * DAY_MS + 17 * HOUR_MS,
            ];
            for week in 1..=NFL_SAMPLE_WEEKS {
                let w = week as usize % 32;
                let base = NFL_WEEK1_MS + (week - 1) * 7 * DAY_MS;
                let pairs = (0..32).filter(|i| *i < (i ^ w));
                for (k, i) in pairs.enumerate() {
                    push(week, NFL_TEAMS[i], NFL_TEAMS[i ^ w], base + slots[k % 16]);
                }
            }
        }
        Sport::Nba => {
            let ids: Vec<String> = NBA_TEAMS.iter().map(|t| t.to_string()).collect();
            let times = [
                23 * HOUR_MS + HOUR_MS / 2,
                DAY_MS,
                DAY_MS + 2 * HOUR_MS,
                DAY_MS + 3 * HOUR_MS,
            ];
            for week in 1..=NBA_SAMPLE_WEEKS {
                let base = NBA_WEEK1_MS + (week - 1) * 7 * DAY_MS;
                for (k, (a, b)) in crate::engine::schedule(&ids, week).iter().enumerate() {
                    let k = k as i64;
                    push(
                        week,
                        a,
                        b,
                        base + (k % 5) * DAY_MS + times[(k / 5 % 4) as usize],
                    );
                }
            }
        }
        _ => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::validate_stat_line;
    use crate::projection::train;
    use crate::scoring::RuleSet;

    #[test]
    fn sample_schedule_has_one_game_per_team_and_week_with_kickoffs() {
        for (sport, teams, weeks) in [
            (Sport::Nfl, 32, NFL_SAMPLE_WEEKS),
            (Sport::Nba, 30, NBA_SAMPLE_WEEKS),
        ] {
            let games = sample_schedule(sport);
            assert_eq!(games.len() as i64, teams * weeks, "{sport}");
            for week in 1..=weeks {
                let wk: Vec<_> = games.iter().filter(|g| g.week == week).collect();
                let mut seen = std::collections::BTreeSet::new();
                for g in &wk {
                    assert!(
                        seen.insert(g.team.clone()),
                        "{sport} week {week}: {} twice",
                        g.team
                    );
                    let opp = wk
                        .iter()
                        .find(|o| Some(&o.team) == g.opponent.as_ref())
                        .unwrap();
                    assert_eq!(opp.start_ms, g.start_ms, "both sides kick off together");
                }
            }
        }
        let nfl = sample_schedule(Sport::Nfl);
        let first = nfl
            .iter()
            .filter(|g| g.week == 1)
            .min_by_key(|g| g.start_ms)
            .unwrap();
        assert_eq!(first.team, "ARI");
        assert_eq!(
            crate::league::iso_utc(first.start_ms.unwrap()),
            "2024-09-06T00:15:00Z"
        );
        assert_eq!(crate::league::iso_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(
            crate::league::iso_utc(951_782_400_000),
            "2000-02-29T00:00:00Z"
        );
    }

    #[test]
    fn sample_seasons_are_valid_and_deterministic() {
        for sport in [Sport::Nfl, Sport::Nba] {
            let (players, stats) = sample_season(sport, SAMPLE_SEED).unwrap();
            let (players2, stats2) = sample_season(sport, SAMPLE_SEED).unwrap();
            assert_eq!(players, players2);
            assert_eq!(stats, stats2);
            assert!(players.len() >= 240, "{sport}: {}", players.len());
            for s in &stats {
                validate_stat_line(sport, &s.stats, "stats").unwrap();
            }
            for p in &players {
                for pos in &p.positions {
                    assert!(sport.has_position(pos));
                }
            }
        }
    }

    #[test]
    fn sample_projection_models_have_signal() {
        let (players, stats) = sample_season(Sport::Nfl, SAMPLE_SEED).unwrap();
        let positions = players
            .iter()
            .map(|p| (p.id.clone(), p.positions[0].clone()))
            .collect();
        let salaries = players
            .iter()
            .filter_map(|p| Some((p.id.clone(), p.salary?.to_string().parse::<f64>().ok()?)))
            .collect();
        let rules = RuleSet::preset("nfl_ppr").unwrap();
        let models = train(Sport::Nfl, &rules, &positions, &salaries, &stats);
        let wr = models.iter().find(|m| m.position == "WR").unwrap();
        // Salary carries talent in the sample: the no-history prior rises
        // with it, so week 1 is not a tie.
        let prior = wr.prior.expect("WR prior");
        assert!(prior.per_1k_salary > 0.5, "{prior:?}");
        assert!(prior.points(Some(9000.0)) > prior.points(Some(3500.0)) + 5.0);
        assert!(wr.samples > 500);
        assert!(wr.r_squared > 0.1, "WR r2 {}", wr.r_squared);
        assert!(
            wr.residual_sd > 1.0 && wr.residual_sd < 15.0,
            "{}",
            wr.residual_sd
        );
    }
}
