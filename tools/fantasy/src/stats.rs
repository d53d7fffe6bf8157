//! Player stats: import from CSV or JSON, and the analytics over a player's
//! weeks (rolling averages, consistency, usage trend).
//!
//! The import format (documented in the crate README) is one row per player
//! per week: `player_id`, `season`, `week` are required; `name`, `team`,
//! `positions` (`RB` or `RB/WR`), `status`, `salary` and `opponent` describe
//! the player; every other column is a stat of the sport.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use rust_decimal::prelude::{FromPrimitive, ToPrimitive};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::{FantasyError, Result};
use crate::model::{GameStat, Player, PlayerStatus, Sport, StatLine};
use crate::scoring::RuleSet;

/// What an import produced: players to upsert and stat lines to store.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImportBatch {
    /// Players described by the rows (one per id, the last row wins).
    pub players: Vec<Player>,
    /// Stat lines.
    pub stats: Vec<GameStat>,
    /// What the source left out and why (rows without a position, ...).
    pub notes: Vec<String>,
    /// Real games with kickoff times (one row per team and week).
    pub games: Vec<ScheduledGame>,
}

/// One real team's game in a week: opponent and kickoff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduledGame {
    /// Season (year).
    pub season: i64,
    /// Week.
    pub week: i64,
    /// Real team code.
    pub team: String,
    /// Opponent team code.
    pub opponent: Option<String>,
    /// Kickoff, ms since the epoch (UTC).
    pub start_ms: Option<i64>,
}

const META: &[&str] = &[
    "player_id",
    "season",
    "week",
    "name",
    "team",
    "positions",
    "position",
    "status",
    "salary",
    "opponent",
];

/// Splits CSV text into records (RFC 4180 quoting: `"a, b"`, `""` for a quote).
fn csv_records(text: &str) -> Result<Vec<Vec<String>>> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut in_quotes = false;
    let mut chars = text.chars().peekable();
    let mut line = 1usize;
    while let Some(ch) = chars.next() {
        match (in_quotes, ch) {
            (true, '"') => {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    field.push('"');
                } else {
                    in_quotes = false;
                }
            }
            (true, c) => {
                if c == '\n' {
                    line += 1;
                }
                field.push(c);
            }
            (false, '"') if field.is_empty() => in_quotes = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                line += 1;
                record.push(std::mem::take(&mut field));
                if !(record.len() == 1 && record[0].trim().is_empty()) {
                    records.push(std::mem::take(&mut record));
                } else {
                    record.clear();
                }
            }
            (false, c) => field.push(c),
        }
    }
    if in_quotes {
        return Err(FantasyError::invalid(
            "data",
            format!("unterminated quoted field (line {line})"),
        ));
    }
    if !field.is_empty() || !record.is_empty() {
        record.push(field);
        records.push(record);
    }
    Ok(records)
}

/// Marker line that starts the optional games section of a CSV import.
pub const GAMES_SECTION: &str = "[games]";

fn csv_table(records: &[Vec<String>], prefix: &str) -> Result<Vec<BTreeMap<String, String>>> {
    let Some((header, rows)) = records.split_first() else {
        return Ok(Vec::new());
    };
    let header: Vec<String> = header
        .iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    let mut maps = Vec::with_capacity(rows.len());
    for (i, row) in rows.iter().enumerate() {
        if row.len() != header.len() {
            return Err(FantasyError::invalid(
                format!("{prefix}[{i}]"),
                format!("{} fields, header has {}", row.len(), header.len()),
            ));
        }
        maps.push(
            header
                .iter()
                .cloned()
                .zip(row.iter().map(|v| v.trim().to_string()))
                .collect::<BTreeMap<String, String>>(),
        );
    }
    Ok(maps)
}

/// Parses CSV rows (first line is the header) for `sport`. An optional
/// games section follows a line `[games]`, with its own header
/// (`season,week,home,away,start`; see [`parse_games`]).
pub fn parse_csv(sport: Sport, text: &str) -> Result<ImportBatch> {
    let records = csv_records(text)?;
    let split = records
        .iter()
        .position(|r| r.len() == 1 && r[0].trim().eq_ignore_ascii_case(GAMES_SECTION));
    let (stat_records, game_records) = match split {
        Some(at) => (&records[..at], &records[at + 1..]),
        None => (&records[..], &records[..0]),
    };
    if stat_records.is_empty() && split.is_none() {
        return Err(FantasyError::invalid(
            "data",
            "empty CSV: a header row is needed",
        ));
    }
    if split.is_some() && game_records.len() < 2 {
        return Err(FantasyError::invalid(
            "data",
            "the [games] section needs a header (season,week,home,away,start) and at least one game",
        ));
    }
    let games = parse_games(csv_table(game_records, "games")?)?;
    let rows = csv_table(stat_records, "rows")?;
    let mut batch = rows_to_batch(sport, rows, !games.is_empty())?;
    batch.games = games;
    Ok(batch)
}

fn json_table(
    items: Vec<serde_json::Value>,
    prefix: &str,
) -> Result<Vec<BTreeMap<String, String>>> {
    let mut maps = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let serde_json::Value::Object(obj) = item else {
            return Err(FantasyError::invalid(
                format!("{prefix}[{i}]"),
                "each row must be an object",
            ));
        };
        let mut map = BTreeMap::new();
        for (k, v) in obj {
            let text = match v {
                serde_json::Value::String(s) => s,
                serde_json::Value::Number(n) => n.to_string(),
                serde_json::Value::Null => String::new(),
                serde_json::Value::Array(a) => a
                    .iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect::<Vec<_>>()
                    .join("/"),
                other => {
                    return Err(FantasyError::invalid(
                        format!("{prefix}[{i}].{k}"),
                        format!("expected a string or number, got {other}"),
                    ));
                }
            };
            map.insert(k.to_ascii_lowercase(), text.trim().to_string());
        }
        maps.push(map);
    }
    Ok(maps)
}

/// Parses JSON: an array of row objects with the same keys as the CSV
/// columns (values may be strings or numbers), or an object
/// `{"rows": [...], "games": [...]}` whose optional `games` carry kickoff
/// times (see [`parse_games`]).
pub fn parse_json(sport: Sport, text: &str) -> Result<ImportBatch> {
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| FantasyError::invalid("data", format!("not JSON: {e}")))?;
    let (rows, games) = match value {
        serde_json::Value::Array(items) => (items, Vec::new()),
        serde_json::Value::Object(mut obj) => {
            if let Some(k) = obj.keys().find(|k| *k != "rows" && *k != "games") {
                return Err(FantasyError::invalid(
                    k.as_str(),
                    "unknown key: a JSON import object holds `rows` and `games`",
                ));
            }
            let mut list = |key: &str| -> Result<Vec<serde_json::Value>> {
                match obj.remove(key) {
                    None | Some(serde_json::Value::Null) => Ok(Vec::new()),
                    Some(serde_json::Value::Array(a)) => Ok(a),
                    Some(_) => Err(FantasyError::invalid(key, "must be an array of objects")),
                }
            };
            (list("rows")?, list("games")?)
        }
        _ => {
            return Err(FantasyError::invalid(
                "data",
                "JSON import must be an array of row objects, or {\"rows\": [...], \"games\": [...]}",
            ));
        }
    };
    let games = parse_games(json_table(games, "games")?)?;
    let mut batch = rows_to_batch(sport, json_table(rows, "rows")?, !games.is_empty())?;
    batch.games = games;
    Ok(batch)
}

/// Parses an RFC 3339 time (`2024-09-08T17:00:00Z`,
/// `2024-09-08T13:00:00-04:00`, fractional seconds allowed) or an integer of
/// ms since the epoch, to ms since the epoch (UTC).
pub fn parse_kickoff(text: &str) -> std::result::Result<i64, String> {
    let t = text.trim();
    let digits = t.strip_prefix('-').unwrap_or(t);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        return t
            .parse::<i64>()
            .map_err(|_| format!("`{t}` is not a whole number of ms"));
    }
    let bad =
        || format!("`{t}` is not an RFC 3339 time (2024-09-08T17:00:00Z) or ms since the epoch");
    let b = t.as_bytes();
    if b.len() < 19
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return Err(bad());
    }
    let num = |r: std::ops::Range<usize>| -> std::result::Result<i64, String> {
        let s = t.get(r).ok_or_else(bad)?;
        if !s.bytes().all(|c| c.is_ascii_digit()) {
            return Err(bad());
        }
        s.parse::<i64>().map_err(|_| bad())
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days_in = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1..=12).contains(&month) {
        return Err(format!("`{t}`: month {month} is not 1..=12"));
    }
    if day < 1 || day > days_in[(month - 1) as usize] {
        return Err(format!("`{t}`: day {day} is not in month {month}"));
    }
    if hour > 23 || minute > 59 || second > 59 {
        return Err(format!("`{t}`: time of day out of range"));
    }
    let mut rest = &t[19..];
    let mut millis = 0i64;
    if let Some(frac) = rest.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return Err(bad());
        }
        let digits = &frac[..n];
        let padded: String = digits.chars().chain("000".chars()).take(3).collect();
        millis = padded.parse().map_err(|_| bad())?;
        rest = &frac[n..];
    }
    if !rest.is_ascii() {
        return Err(bad());
    }
    let offset_min = match rest {
        "Z" | "z" => 0,
        _ if rest.len() == 6
            && (rest.starts_with('+') || rest.starts_with('-'))
            && &rest[3..4] == ":" =>
        {
            let oh: i64 = rest[1..3].parse().map_err(|_| bad())?;
            let om: i64 = rest[4..6].parse().map_err(|_| bad())?;
            if oh > 23 || om > 59 {
                return Err(bad());
            }
            let m = oh * 60 + om;
            if rest.starts_with('-') { -m } else { m }
        }
        _ => return Err(format!("`{t}`: needs a time zone (`Z` or `+HH:MM`)")),
    };
    // Month and day were range-checked above.
    let days = nt_mcp_core::dates::days_from_civil(year, month as u32, day as u32);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_min * 60;
    Ok(secs * 1000 + millis)
}

/// Earliest and latest kickoff accepted (years 1900 and 2200, UTC).
const KICKOFF_RANGE: std::ops::RangeInclusive<i64> = -2_208_988_800_000..=7_258_118_400_000;

/// Games rows (`season`, `week`, `home`, `away`, `start`; `kickoff` is
/// accepted for `start`) to one [`ScheduledGame`] per team. Errors name
/// `games[i].column`.
pub fn parse_games(rows: Vec<BTreeMap<String, String>>) -> Result<Vec<ScheduledGame>> {
    const COLUMNS: &[&str] = &["season", "week", "home", "away", "start", "kickoff"];
    let mut out: Vec<ScheduledGame> = Vec::with_capacity(rows.len() * 2);
    let mut seen: BTreeMap<(i64, i64, String), usize> = BTreeMap::new();
    for (i, row) in rows.iter().enumerate() {
        let field = |k: &str| format!("games[{i}].{k}");
        if let Some(k) = row.keys().find(|k| !COLUMNS.contains(&k.as_str())) {
            return Err(FantasyError::invalid(
                field(k),
                "unknown column (games take season, week, home, away, start)",
            ));
        }
        let get = |k: &str| row.get(k).map(String::as_str).filter(|v| !v.is_empty());
        let int = |k: &str, lo: i64, hi: i64| -> Result<i64> {
            get(k)
                .ok_or_else(|| FantasyError::invalid(field(k), "required"))?
                .parse::<i64>()
                .ok()
                .filter(|n| (lo..=hi).contains(n))
                .ok_or_else(|| {
                    FantasyError::invalid(field(k), format!("an integer in {lo}..={hi}"))
                })
        };
        let season = int("season", 1900, 2200)?;
        let week = int("week", 1, 60)?;
        let team = |k: &str| -> Result<String> {
            let v = get(k).ok_or_else(|| FantasyError::invalid(field(k), "required"))?;
            if v.len() > 16
                || !v
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                return Err(FantasyError::invalid(
                    field(k),
                    "a team code (letters, digits, at most 16)",
                ));
            }
            Ok(v.to_ascii_uppercase())
        };
        let (home, away) = (team("home")?, team("away")?);
        if home == away {
            return Err(FantasyError::invalid(
                field("away"),
                format!("{home} cannot play itself"),
            ));
        }
        let (col, text) = match (get("start"), get("kickoff")) {
            (Some(v), None) => ("start", v),
            (None, Some(v)) => ("kickoff", v),
            (Some(_), Some(_)) => {
                return Err(FantasyError::invalid(
                    field("kickoff"),
                    "give `start` or `kickoff`, not both",
                ));
            }
            (None, None) => return Err(FantasyError::invalid(field("start"), "required")),
        };
        let start = parse_kickoff(text).map_err(|rule| FantasyError::invalid(field(col), rule))?;
        if !KICKOFF_RANGE.contains(&start) {
            return Err(FantasyError::invalid(
                field(col),
                format!("`{text}` is outside the years 1900..2200"),
            ));
        }
        for (t, side) in [(&home, "home"), (&away, "away")] {
            if let Some(j) = seen.insert((season, week, t.clone()), i) {
                return Err(FantasyError::invalid(
                    field(side),
                    format!("{t} already plays in season {season} week {week} (games[{j}])"),
                ));
            }
        }
        out.push(ScheduledGame {
            season,
            week,
            team: home.clone(),
            opponent: Some(away.clone()),
            start_ms: Some(start),
        });
        out.push(ScheduledGame {
            season,
            week,
            team: away,
            opponent: Some(home),
            start_ms: Some(start),
        });
    }
    Ok(out)
}

fn rows_to_batch(
    sport: Sport,
    rows: Vec<BTreeMap<String, String>>,
    games_only_ok: bool,
) -> Result<ImportBatch> {
    if rows.is_empty() && games_only_ok {
        return Ok(ImportBatch::default());
    }
    if rows.is_empty() {
        return Err(FantasyError::invalid("data", "no rows"));
    }
    if rows.len() > 200_000 {
        return Err(FantasyError::invalid(
            "data",
            "at most 200000 rows per import",
        ));
    }
    let mut players: BTreeMap<String, Player> = BTreeMap::new();
    let mut stats = Vec::with_capacity(rows.len());
    for (i, row) in rows.iter().enumerate() {
        let field = |k: &str| format!("rows[{i}].{k}");
        let get = |k: &str| row.get(k).map(String::as_str).filter(|v| !v.is_empty());
        let id = get("player_id")
            .ok_or_else(|| FantasyError::invalid(field("player_id"), "required"))?;
        if id.len() > 64 {
            return Err(FantasyError::invalid(
                field("player_id"),
                "at most 64 characters",
            ));
        }
        let int = |k: &str, lo: i64, hi: i64| -> Result<i64> {
            let v = get(k).ok_or_else(|| FantasyError::invalid(field(k), "required"))?;
            v.parse::<i64>()
                .ok()
                .filter(|n| (lo..=hi).contains(n))
                .ok_or_else(|| {
                    FantasyError::invalid(field(k), format!("an integer in {lo}..={hi}"))
                })
        };
        let season = int("season", 1900, 2200)?;
        let week = int("week", 1, 60)?;
        let mut line = StatLine::new();
        for (k, v) in row {
            if META.contains(&k.as_str()) || v.is_empty() {
                continue;
            }
            let value: Decimal = v
                .parse()
                .map_err(|_| FantasyError::invalid(field(k), format!("`{v}` is not a number")))?;
            line.insert(k.clone(), value);
        }
        crate::model::validate_stat_line(sport, &line, &format!("rows[{i}]"))?;
        let existing = players.get(id).cloned();
        let positions: Option<Vec<String>> =
            get("positions").or_else(|| get("position")).map(|p| {
                p.split('/')
                    .map(|s| s.trim().to_ascii_uppercase())
                    .collect()
            });
        if let Some(ps) = &positions
            && let Some(bad) = ps.iter().find(|p| !sport.has_position(p))
        {
            return Err(FantasyError::invalid(
                field("positions"),
                format!(
                    "`{bad}` is not a {sport} position ({})",
                    sport.positions().join(", ")
                ),
            ));
        }
        let status = match get("status") {
            Some(s) => Some(PlayerStatus::parse(s).ok_or_else(|| {
                FantasyError::invalid(field("status"), "one of active, questionable, out, ir")
            })?),
            None => None,
        };
        let salary = match get("salary") {
            Some(s) => Some(
                s.parse::<Decimal>()
                    .ok()
                    .filter(|d| *d >= Decimal::ZERO)
                    .ok_or_else(|| {
                        FantasyError::invalid(field("salary"), "a non-negative number")
                    })?,
            ),
            None => None,
        };
        let has_meta = get("name").is_some() || positions.is_some() || get("team").is_some();
        if has_meta || existing.is_some() || status.is_some() || salary.is_some() {
            let base = existing.unwrap_or_else(|| Player {
                id: id.to_string(),
                name: id.to_string(),
                sport,
                team: String::from("FA"),
                positions: Vec::new(),
                status: PlayerStatus::Active,
                salary: None,
            });
            let player = Player {
                name: get("name").map(str::to_string).unwrap_or(base.name),
                team: get("team")
                    .map(|t| t.to_ascii_uppercase())
                    .unwrap_or(base.team),
                positions: positions.unwrap_or(base.positions),
                status: status.unwrap_or(base.status),
                salary: salary.or(base.salary),
                ..base
            };
            players.insert(id.to_string(), player);
        }
        stats.push(GameStat {
            player_id: id.to_string(),
            season,
            week,
            opponent: get("opponent").map(str::to_string),
            stats: line,
        });
    }
    Ok(ImportBatch {
        players: players.into_values().collect(),
        stats,
        notes: Vec::new(),
        games: Vec::new(),
    })
}

/// The stats that measure a player's opportunity in each sport.
pub fn usage_stats(sport: Sport) -> &'static [&'static str] {
    match sport {
        Sport::Nfl => &["targets", "rush_att"],
        Sport::Nba => &["min"],
        Sport::Mlb => &["ab", "outs"],
        Sport::Soccer => &["minutes"],
    }
}

/// Usage of one stat line (sum of the sport's usage stats).
pub fn usage(sport: Sport, line: &StatLine) -> f64 {
    usage_stats(sport)
        .iter()
        .filter_map(|k| line.get(*k))
        .filter_map(|d| d.to_f64())
        .sum()
}

/// One week of a player's season.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct WeekPoints {
    /// Week.
    pub week: i64,
    /// Fantasy points under the rule set.
    pub points: Decimal,
    /// Usage (targets + carries, minutes, ...).
    pub usage: Decimal,
}

/// A player's season in numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PlayerSummary {
    /// Games with a stat line.
    pub games: usize,
    /// Total points.
    pub total: Decimal,
    /// Mean points per game.
    pub mean: Decimal,
    /// Mean over the last `window` games.
    pub rolling_mean: Decimal,
    /// Window used for the rolling figures.
    pub window: usize,
    /// Standard deviation of points per game.
    pub std_dev: Decimal,
    /// Consistency score 0..100: 100 × (1 - std_dev / mean), floored at 0.
    pub consistency: Decimal,
    /// Lowest game.
    pub floor: Decimal,
    /// Highest game.
    pub ceiling: Decimal,
    /// Least-squares slope of usage per week over the window (+ rising).
    pub usage_trend: Decimal,
    /// Every week.
    pub weekly: Vec<WeekPoints>,
}

fn dec(x: f64) -> Decimal {
    Decimal::from_f64(x).unwrap_or(Decimal::ZERO).round_dp(2)
}

/// Least-squares slope of `ys` against 0, 1, 2, ...
pub fn slope(ys: &[f64]) -> f64 {
    let n = ys.len() as f64;
    if ys.len() < 2 {
        return 0.0;
    }
    let mx = (n - 1.0) / 2.0;
    let my = ys.iter().sum::<f64>() / n;
    let (mut num, mut den) = (0.0, 0.0);
    for (i, y) in ys.iter().enumerate() {
        let dx = i as f64 - mx;
        num += dx * (y - my);
        den += dx * dx;
    }
    if den == 0.0 { 0.0 } else { num / den }
}

/// Summarises a player's stat lines (any order) under `rules` at `position`.
pub fn summarize(
    sport: Sport,
    rules: &RuleSet,
    position: &str,
    lines: &[GameStat],
    window: usize,
) -> PlayerSummary {
    let mut lines: Vec<&GameStat> = lines.iter().collect();
    lines.sort_by_key(|l| (l.season, l.week));
    let weekly: Vec<WeekPoints> = lines
        .iter()
        .map(|l| WeekPoints {
            week: l.week,
            points: rules.score_game(&l.stats, position),
            usage: dec(usage(sport, &l.stats)),
        })
        .collect();
    let games = weekly.len();
    let total: Decimal = weekly.iter().map(|w| w.points).sum();
    let window = window.clamp(1, 52);
    let recent = &weekly[games.saturating_sub(window)..];
    let mean_of = |ws: &[WeekPoints]| {
        if ws.is_empty() {
            Decimal::ZERO
        } else {
            (ws.iter().map(|w| w.points).sum::<Decimal>() / Decimal::from(ws.len())).round_dp(2)
        }
    };
    let mean = mean_of(&weekly);
    let pts: Vec<f64> = weekly.iter().filter_map(|w| w.points.to_f64()).collect();
    let mean_f = pts.iter().sum::<f64>() / (pts.len().max(1) as f64);
    let var = if pts.len() > 1 {
        pts.iter().map(|p| (p - mean_f).powi(2)).sum::<f64>() / (pts.len() - 1) as f64
    } else {
        0.0
    };
    let sd = var.sqrt();
    let consistency = if mean_f > 0.0 {
        (100.0 * (1.0 - sd / mean_f)).max(0.0)
    } else {
        0.0
    };
    let usage_recent: Vec<f64> = recent.iter().filter_map(|w| w.usage.to_f64()).collect();
    PlayerSummary {
        games,
        total,
        mean,
        rolling_mean: mean_of(recent),
        window,
        std_dev: dec(sd),
        consistency: dec(consistency).round_dp(1),
        floor: weekly
            .iter()
            .map(|w| w.points)
            .min()
            .unwrap_or(Decimal::ZERO),
        ceiling: weekly
            .iter()
            .map(|w| w.points)
            .max()
            .unwrap_or(Decimal::ZERO),
        usage_trend: dec(slope(&usage_recent)),
        weekly,
    }
}

#[cfg(test)]
#[path = "stats_tests.rs"]
mod tests;
