//! Domain models: sports, positions, roster slots, players and stat lines.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::{FantasyError, Result};

/// A sport the bundle knows how to score.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Sport {
    /// American football.
    Nfl,
    /// Basketball.
    Nba,
    /// Baseball.
    Mlb,
    /// Association football.
    Soccer,
}

impl Sport {
    /// All sports.
    pub const ALL: [Sport; 4] = [Sport::Nfl, Sport::Nba, Sport::Mlb, Sport::Soccer];

    /// Lowercase name (`nfl`).
    pub fn as_str(self) -> &'static str {
        match self {
            Sport::Nfl => "nfl",
            Sport::Nba => "nba",
            Sport::Mlb => "mlb",
            Sport::Soccer => "soccer",
        }
    }

    /// The positions players of this sport can hold.
    pub fn positions(self) -> &'static [&'static str] {
        match self {
            Sport::Nfl => &["QB", "RB", "WR", "TE", "K", "DST"],
            Sport::Nba => &["PG", "SG", "SF", "PF", "C"],
            Sport::Mlb => &["C", "1B", "2B", "3B", "SS", "OF", "SP", "RP"],
            Sport::Soccer => &["GK", "DEF", "MID", "FWD"],
        }
    }

    /// The stat keys a stat line of this sport may carry.
    pub fn stats(self) -> &'static [&'static str] {
        match self {
            Sport::Nfl => &[
                "pass_yds",
                "pass_td",
                "pass_int",
                "rush_att",
                "rush_yds",
                "rush_td",
                "targets",
                "rec",
                "rec_yds",
                "rec_td",
                "ret_td",
                "fum_rec_td",
                "fumbles_lost",
                "two_pt",
                "fg_made",
                "fg_missed",
                "xp_made",
                "dst_sack",
                "dst_int",
                "dst_fum_rec",
                "dst_td",
                "dst_safety",
                "dst_blk_kick",
                "dst_two_pt_ret",
                "dst_pts_allowed",
            ],
            Sport::Nba => &[
                "min", "pts", "reb", "ast", "stl", "blk", "tov", "fgm", "fga", "ftm", "fta", "tpm",
            ],
            Sport::Mlb => &[
                "ab", "single", "double", "triple", "hr", "r", "rbi", "bb", "sb", "cs", "so",
                "outs", "p_so", "p_h", "p_er", "p_bb", "w", "l", "sv",
            ],
            Sport::Soccer => &[
                "minutes",
                "goals",
                "assists",
                "shots",
                "shots_on_target",
                "clean_sheet",
                "goals_conceded",
                "saves",
                "yellow",
                "red",
                "own_goal",
                "pen_missed",
                "pen_saved",
            ],
        }
    }

    /// Named multi-position slots (`FLEX`, `UTIL`, ...) and what they accept.
    pub fn flex_slots(self) -> &'static [(&'static str, &'static [&'static str])] {
        match self {
            Sport::Nfl => &[
                ("FLEX", &["RB", "WR", "TE"]),
                ("SUPERFLEX", &["QB", "RB", "WR", "TE"]),
            ],
            Sport::Nba => &[
                ("G", &["PG", "SG"]),
                ("F", &["SF", "PF"]),
                ("UTIL", &["PG", "SG", "SF", "PF", "C"]),
            ],
            Sport::Mlb => &[
                ("UTIL", &["C", "1B", "2B", "3B", "SS", "OF"]),
                ("P", &["SP", "RP"]),
                ("CI", &["1B", "3B"]),
                ("MI", &["2B", "SS"]),
            ],
            Sport::Soccer => &[("UTIL", &["DEF", "MID", "FWD"])],
        }
    }

    /// The default season-long lineup slots.
    pub fn default_slots(self) -> &'static [&'static str] {
        match self {
            Sport::Nfl => &["QB", "RB", "RB", "WR", "WR", "TE", "FLEX", "K", "DST"],
            Sport::Nba => &["PG", "SG", "SF", "PF", "C", "G", "F", "UTIL"],
            Sport::Mlb => &[
                "C", "1B", "2B", "3B", "SS", "OF", "OF", "OF", "UTIL", "P", "P",
            ],
            Sport::Soccer => &[
                "GK", "DEF", "DEF", "DEF", "MID", "MID", "MID", "FWD", "FWD", "UTIL",
            ],
        }
    }

    /// Daily-contest slots (DraftKings-style) and salary cap.
    pub fn daily_slots(self) -> (&'static [&'static str], i64) {
        match self {
            Sport::Nfl => (
                &["QB", "RB", "RB", "WR", "WR", "WR", "TE", "FLEX", "DST"],
                50_000,
            ),
            Sport::Nba => (&["PG", "SG", "SF", "PF", "C", "G", "F", "UTIL"], 50_000),
            Sport::Mlb => (
                &["P", "P", "C", "1B", "2B", "3B", "SS", "OF", "OF", "OF"],
                50_000,
            ),
            Sport::Soccer => (
                &["GK", "DEF", "DEF", "MID", "MID", "FWD", "FWD", "UTIL"],
                50_000,
            ),
        }
    }

    /// Whether `pos` is a position of this sport.
    pub fn has_position(self, pos: &str) -> bool {
        self.positions().contains(&pos)
    }
}

impl fmt::Display for Sport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Sport {
    type Err = FantasyError;

    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "nfl" | "football" => Ok(Sport::Nfl),
            "nba" | "basketball" => Ok(Sport::Nba),
            "mlb" | "baseball" => Ok(Sport::Mlb),
            "soccer" | "epl" => Ok(Sport::Soccer),
            other => Err(FantasyError::invalid(
                "sport",
                format!("unknown sport `{other}`; expected one of nfl, nba, mlb, soccer"),
            )),
        }
    }
}

/// One lineup slot: its label and the positions it accepts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Slot {
    /// Label (`RB`, `FLEX`, `RB/WR`).
    pub name: String,
    /// Positions that may fill it.
    pub accepts: Vec<String>,
}

impl Slot {
    /// Whether a player with `positions` may fill this slot.
    pub fn accepts_any(&self, positions: &[String]) -> bool {
        positions
            .iter()
            .any(|p| self.accepts.iter().any(|a| a == p))
    }
}

/// Parses slot labels (`QB`, `FLEX`, `UTIL`, or a custom `RB/WR`) for `sport`.
/// Errors name the field as `{field}[i]`.
pub fn parse_slots(sport: Sport, labels: &[String], field: &str) -> Result<Vec<Slot>> {
    if labels.is_empty() {
        return Err(FantasyError::invalid(field, "at least one slot is needed"));
    }
    if labels.len() > 30 {
        return Err(FantasyError::invalid(field, "at most 30 slots"));
    }
    labels
        .iter()
        .enumerate()
        .map(|(i, label)| {
            parse_slot(sport, label)
                .map_err(|rule| FantasyError::invalid(format!("{field}[{i}]"), rule))
        })
        .collect()
}

fn parse_slot(sport: Sport, label: &str) -> std::result::Result<Slot, String> {
    let label = label.trim().to_ascii_uppercase();
    if let Some((_, accepts)) = sport.flex_slots().iter().find(|(n, _)| *n == label) {
        return Ok(Slot {
            name: label.clone(),
            accepts: accepts.iter().map(|s| s.to_string()).collect(),
        });
    }
    let mut accepts = Vec::new();
    for part in label.split('/') {
        let part = part.trim();
        if !sport.has_position(part) {
            let flex: Vec<&str> = sport.flex_slots().iter().map(|(n, _)| *n).collect();
            return Err(format!(
                "`{label}` is not a {sport} slot; use a position ({}), a flex slot ({}) or positions joined by `/`",
                sport.positions().join(", "),
                flex.join(", ")
            ));
        }
        if !accepts.iter().any(|a: &String| a == part) {
            accepts.push(part.to_string());
        }
    }
    Ok(Slot {
        name: label,
        accepts,
    })
}

/// Availability of a player.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum PlayerStatus {
    /// Healthy and playing.
    #[default]
    Active,
    /// Might not play.
    Questionable,
    /// Will not play this week.
    Out,
    /// On injured reserve.
    InjuredReserve,
}

impl PlayerStatus {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            PlayerStatus::Active => "active",
            PlayerStatus::Questionable => "questionable",
            PlayerStatus::Out => "out",
            PlayerStatus::InjuredReserve => "injured_reserve",
        }
    }

    /// Parses a stored or imported status (`active`, `q`, `out`, `ir`, ...).
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "" | "active" | "a" | "healthy" => Some(PlayerStatus::Active),
            "questionable" | "q" | "doubtful" | "d" | "gtd" => Some(PlayerStatus::Questionable),
            "out" | "o" | "suspended" => Some(PlayerStatus::Out),
            "ir" | "injured_reserve" => Some(PlayerStatus::InjuredReserve),
            _ => None,
        }
    }
}

/// A real-world player.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Player {
    /// Stable id (`nfl-qb-kc-1`).
    pub id: String,
    /// Display name.
    pub name: String,
    /// Sport.
    pub sport: Sport,
    /// Real team code (`KC`).
    pub team: String,
    /// Positions the player is eligible at (first is primary).
    pub positions: Vec<String>,
    /// Availability.
    #[serde(default)]
    pub status: PlayerStatus,
    /// Daily-contest salary, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub salary: Option<Decimal>,
}

/// Stats of one player in one game (week), keyed by the sport's stat names.
pub type StatLine = BTreeMap<String, Decimal>;

/// One player's stats for one week of a season.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct GameStat {
    /// Player id.
    pub player_id: String,
    /// Season (year).
    pub season: i64,
    /// Week (or round / game day) within the season, from 1.
    pub week: i64,
    /// Opponent team code, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opponent: Option<String>,
    /// Stat values.
    pub stats: StatLine,
}

/// Checks that every key of `stats` is a stat of `sport`; errors name the field
/// as `{field}.{key}`.
pub fn validate_stat_line(sport: Sport, stats: &StatLine, field: &str) -> Result<()> {
    for (key, value) in stats {
        if !sport.stats().contains(&key.as_str()) {
            return Err(FantasyError::invalid(
                format!("{field}.{key}"),
                format!(
                    "unknown {sport} stat; known stats: {}",
                    sport.stats().join(", ")
                ),
            ));
        }
        if value.abs() > Decimal::from(100_000) {
            return Err(FantasyError::invalid(
                format!("{field}.{key}"),
                "stat value out of range (|value| <= 100000)",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flex_slot_accepts_backs_and_receivers() {
        let slots = parse_slots(Sport::Nfl, &["FLEX".into(), "rb/wr".into()], "slots").unwrap();
        assert_eq!(slots[0].accepts, vec!["RB", "WR", "TE"]);
        assert_eq!(slots[1].name, "RB/WR");
        assert!(slots[0].accepts_any(&["TE".into()]));
        assert!(!slots[0].accepts_any(&["QB".into()]));
    }

    #[test]
    fn bad_slot_names_its_index() {
        let err = parse_slots(Sport::Nba, &["PG".into(), "QB".into()], "slots").unwrap_err();
        match err {
            FantasyError::Invalid { field, rule } => {
                assert_eq!(field, "slots[1]");
                assert!(rule.contains("not a nba slot"), "{rule}");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn unknown_stat_is_refused_with_its_key() {
        let mut line = StatLine::new();
        line.insert("pass_yards".into(), Decimal::ONE);
        let err = validate_stat_line(Sport::Nfl, &line, "stats").unwrap_err();
        assert!(
            matches!(err, FantasyError::Invalid { ref field, .. } if field == "stats.pass_yards")
        );
    }
}
