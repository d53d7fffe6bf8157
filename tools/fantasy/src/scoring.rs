//! Scoring rule sets as data (JSON or TOML), presets for the common formats
//! (defined in [`crate::presets`]), and the algorithms: a player's game, a
//! lineup's week, a matchup, standings.
//!
//! A game scores `points` per unit of each stat, plus threshold `bonuses`,
//! plus `tiers` (points by the range a stat falls in, such as a defence's
//! points allowed), plus `combos` (a bonus when several stats reach a
//! threshold together, such as a double-double). Each is evaluated on one
//! stat line, which is one game.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::{FantasyError, Result};
use crate::model::{Sport, StatLine};

/// A league's scoring rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleSet {
    /// Name (`nfl_ppr`, or your own).
    pub name: String,
    /// Sport whose stats it scores.
    pub sport: Sport,
    /// Points per unit of each stat (`{"pass_yds": "0.04", "pass_td": "4"}`).
    /// Empty for category leagues.
    #[serde(default)]
    pub points: BTreeMap<String, Decimal>,
    /// Per-position overrides of `points` (`{"DEF": {"goals": "6"}}`).
    #[serde(default)]
    pub position_points: BTreeMap<String, BTreeMap<String, Decimal>>,
    /// Threshold bonuses (`pass_yds` >= 300 gives 3 points).
    #[serde(default)]
    pub bonuses: Vec<Bonus>,
    /// Head-to-head categories (rotisserie-style leagues such as NBA 9-cat).
    /// When present, matchups are decided by categories won, not points.
    #[serde(default)]
    pub categories: Vec<Category>,
    /// Points by the range a stat's game value falls in (a defence's points
    /// allowed: 0 → 10, 1–6 → 7, ...). Absent in rule sets stored before
    /// tiers existed, which load unchanged.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tiers: Vec<Tier>,
    /// Bonuses for several stats reaching a threshold in the same game
    /// (double-double, triple-double). Each is awarded at most once a game
    /// and they add up: a triple-double also earns a double-double bonus
    /// when both are listed (DraftKings' rule). For "the triple-double
    /// replaces the double-double", give the triple-double the difference.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub combos: Vec<Combo>,
}

/// A stat scored by ranges: the band its game value falls in gives the
/// points (a value in no band gives none).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Tier {
    /// Stat key (`dst_pts_allowed`).
    pub stat: String,
    /// Positions it scores (`["DST"]`); a line of a player at one of them
    /// that lacks the stat counts it as 0 (stat lines omit zeros, so a
    /// shutout may be stored without `dst_pts_allowed`). Empty: every
    /// position, and only lines that carry the stat.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub positions: Vec<String>,
    /// Ranges, lowest first, not overlapping.
    pub bands: Vec<Band>,
}

/// One range of a [`Tier`]: `min..=max` (`max` absent: no upper end).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Band {
    /// Lowest value in the range.
    pub min: Decimal,
    /// Highest value in the range (inclusive); none for "35+".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<Decimal>,
    /// Points for a game in the range.
    pub points: Decimal,
}

impl Band {
    fn holds(&self, value: Decimal) -> bool {
        value >= self.min && self.max.is_none_or(|max| value <= max)
    }
}

impl Tier {
    /// Points of this tier for a game of a player at `position`, if it
    /// applies to them.
    pub fn points_for(&self, stats: &StatLine, position: &str) -> Decimal {
        let value = if self.positions.is_empty() {
            match stats.get(&self.stat) {
                Some(v) => *v,
                None => return Decimal::ZERO,
            }
        } else if self.positions.iter().any(|p| p == position) {
            stats.get(&self.stat).copied().unwrap_or(Decimal::ZERO)
        } else {
            return Decimal::ZERO;
        };
        self.bands
            .iter()
            .find(|b| b.holds(value))
            .map(|b| b.points)
            .unwrap_or(Decimal::ZERO)
    }
}

/// A bonus when at least `count` of `stats` reach `at_least` in one game.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Combo {
    /// Label (`double_double`).
    pub name: String,
    /// Stats that count (`pts`, `reb`, `ast`, `stl`, `blk`).
    pub stats: Vec<String>,
    /// Threshold each counted stat must reach (>=).
    pub at_least: Decimal,
    /// How many of `stats` must reach it.
    pub count: u32,
    /// Points awarded (once a game).
    pub points: Decimal,
}

impl Combo {
    /// Whether the game earns the bonus.
    pub fn earned(&self, stats: &StatLine) -> bool {
        let reached = self
            .stats
            .iter()
            .filter(|s| stats.get(*s).is_some_and(|v| *v >= self.at_least))
            .count();
        reached >= self.count as usize
    }
}

/// A one-off bonus when a stat reaches a threshold in a game.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Bonus {
    /// Stat key.
    pub stat: String,
    /// Threshold the stat must reach (>=).
    pub at_least: Decimal,
    /// Points awarded.
    pub points: Decimal,
}

/// One head-to-head category.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Category {
    /// Label (`FG%`).
    pub name: String,
    /// Stat summed over the week (the numerator of a ratio).
    pub stat: String,
    /// Denominator stat, for ratio categories (`fga` for FG%).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per: Option<String>,
    /// False when less is better (turnovers).
    #[serde(default = "yes")]
    pub higher_is_better: bool,
}

fn yes() -> bool {
    true
}

pub use crate::presets::PRESETS;

impl RuleSet {
    /// A built-in preset by name (see [`PRESETS`]).
    pub fn preset(name: &str) -> Option<RuleSet> {
        crate::presets::preset(name)
    }

    /// The default preset for a sport.
    pub fn default_for(sport: Sport) -> RuleSet {
        let name = match sport {
            Sport::Nfl => "nfl_half_ppr",
            Sport::Nba => "nba_points",
            Sport::Mlb => "mlb_points",
            Sport::Soccer => "soccer_points",
        };
        // Every sport's default is a preset above.
        Self::preset(name).unwrap_or_else(|| RuleSet {
            name: name.into(),
            sport,
            points: BTreeMap::new(),
            position_points: BTreeMap::new(),
            bonuses: Vec::new(),
            categories: Vec::new(),
            tiers: Vec::new(),
            combos: Vec::new(),
        })
    }

    /// The key projection models and stored projections are filed under:
    /// the name and a digest of the rules, so a preset whose rules change
    /// (or a stored league's older copy of it) never reuses models trained
    /// under other rules.
    pub fn cache_key(&self) -> String {
        use sha2::Digest;
        let text = serde_json::to_string(self).unwrap_or_default();
        let digest = hex::encode(sha2::Sha256::digest(text.as_bytes()));
        format!("{}#{}", self.name, &digest[..12])
    }

    /// Parses a rule set from JSON and validates it.
    pub fn from_json(text: &str) -> Result<RuleSet> {
        let rules: RuleSet = serde_json::from_str(text)
            .map_err(|e| FantasyError::invalid("scoring", format!("not a rule set: {e}")))?;
        rules.validate()?;
        Ok(rules)
    }

    /// Parses a rule set from TOML and validates it.
    pub fn from_toml(text: &str) -> Result<RuleSet> {
        let rules: RuleSet = toml::from_str(text)
            .map_err(|e| FantasyError::invalid("scoring", format!("not a rule set: {e}")))?;
        rules.validate()?;
        Ok(rules)
    }

    /// Whether matchups are decided by categories.
    pub fn is_categories(&self) -> bool {
        !self.categories.is_empty()
    }

    /// Checks the rule set; errors name the field (`points.pass_yard`).
    pub fn validate(&self) -> Result<()> {
        let sport = self.sport;
        let known = |stat: &str| sport.stats().contains(&stat);
        let unknown = |field: String, stat: &str| {
            FantasyError::invalid(
                field,
                format!(
                    "unknown {sport} stat `{stat}`; known stats: {}",
                    sport.stats().join(", ")
                ),
            )
        };
        let limit = Decimal::from(1000);
        if self.name.trim().is_empty() || self.name.len() > 64 {
            return Err(FantasyError::invalid("name", "1 to 64 characters"));
        }
        let scores_points =
            !self.points.is_empty() || !self.tiers.is_empty() || !self.combos.is_empty();
        if !scores_points && self.categories.is_empty() {
            return Err(FantasyError::invalid(
                "points",
                "a rule set needs `points` (or `tiers`, `combos`) or `categories`",
            ));
        }
        if scores_points && !self.categories.is_empty() {
            return Err(FantasyError::invalid(
                "categories",
                "a rule set scores by `points` (with `tiers`, `combos`) or by `categories`, not both",
            ));
        }
        for (stat, value) in &self.points {
            if !known(stat) {
                return Err(unknown(format!("points.{stat}"), stat));
            }
            if value.abs() > limit {
                return Err(FantasyError::invalid(
                    format!("points.{stat}"),
                    "points per unit must be within -1000..=1000",
                ));
            }
        }
        for (pos, table) in &self.position_points {
            if !sport.has_position(pos) {
                return Err(FantasyError::invalid(
                    format!("position_points.{pos}"),
                    format!(
                        "unknown {sport} position; known: {}",
                        sport.positions().join(", ")
                    ),
                ));
            }
            for (stat, value) in table {
                if !known(stat) {
                    return Err(unknown(format!("position_points.{pos}.{stat}"), stat));
                }
                if value.abs() > limit {
                    return Err(FantasyError::invalid(
                        format!("position_points.{pos}.{stat}"),
                        "points per unit must be within -1000..=1000",
                    ));
                }
            }
        }
        for (i, bonus) in self.bonuses.iter().enumerate() {
            if !known(&bonus.stat) {
                return Err(unknown(format!("bonuses[{i}].stat"), &bonus.stat));
            }
            if bonus.at_least <= Decimal::ZERO {
                return Err(FantasyError::invalid(
                    format!("bonuses[{i}].at_least"),
                    "threshold must be positive",
                ));
            }
            if bonus.points.abs() > limit {
                return Err(FantasyError::invalid(
                    format!("bonuses[{i}].points"),
                    "bonus must be within -1000..=1000",
                ));
            }
        }
        self.validate_tiers()?;
        self.validate_combos()?;
        let mut names = std::collections::BTreeSet::new();
        for (i, cat) in self.categories.iter().enumerate() {
            if !names.insert(cat.name.as_str()) {
                return Err(FantasyError::invalid(
                    format!("categories[{i}].name"),
                    format!("duplicate category `{}`", cat.name),
                ));
            }
            if !known(&cat.stat) {
                return Err(unknown(format!("categories[{i}].stat"), &cat.stat));
            }
            if let Some(per) = &cat.per {
                if !known(per) {
                    return Err(unknown(format!("categories[{i}].per"), per));
                }
                if per == &cat.stat {
                    return Err(FantasyError::invalid(
                        format!("categories[{i}].per"),
                        "a ratio's denominator must differ from its numerator",
                    ));
                }
            }
        }
        Ok(())
    }

    fn unknown_stat(&self, field: String, stat: &str) -> FantasyError {
        FantasyError::invalid(
            field,
            format!(
                "unknown {} stat `{stat}`; known stats: {}",
                self.sport,
                self.sport.stats().join(", ")
            ),
        )
    }

    fn validate_tiers(&self) -> Result<()> {
        let limit = Decimal::from(1000);
        if self.tiers.len() > 32 {
            return Err(FantasyError::invalid("tiers", "at most 32 tiers"));
        }
        for (i, tier) in self.tiers.iter().enumerate() {
            if !self.sport.stats().contains(&tier.stat.as_str()) {
                return Err(self.unknown_stat(format!("tiers[{i}].stat"), &tier.stat));
            }
            for (j, pos) in tier.positions.iter().enumerate() {
                if !self.sport.has_position(pos) {
                    return Err(FantasyError::invalid(
                        format!("tiers[{i}].positions[{j}]"),
                        format!(
                            "unknown {} position `{pos}`; known: {}",
                            self.sport,
                            self.sport.positions().join(", ")
                        ),
                    ));
                }
            }
            if tier.bands.is_empty() || tier.bands.len() > 32 {
                return Err(FantasyError::invalid(
                    format!("tiers[{i}].bands"),
                    "1 to 32 bands",
                ));
            }
            let mut previous: Option<&Band> = None;
            for (j, band) in tier.bands.iter().enumerate() {
                let at = |f: &str| format!("tiers[{i}].bands[{j}].{f}");
                if let Some(max) = band.max
                    && max < band.min
                {
                    return Err(FantasyError::invalid(at("max"), "must be at least `min`"));
                }
                if band.points.abs() > limit {
                    return Err(FantasyError::invalid(
                        at("points"),
                        "points must be within -1000..=1000",
                    ));
                }
                if let Some(prev) = previous {
                    match prev.max {
                        None => {
                            return Err(FantasyError::invalid(
                                at("min"),
                                format!(
                                    "band {} has no `max` and already covers everything from {}; only the last band may be open-ended",
                                    j - 1,
                                    prev.min
                                ),
                            ));
                        }
                        Some(prev_max) if band.min <= prev_max => {
                            return Err(FantasyError::invalid(
                                at("min"),
                                format!(
                                    "bands are listed lowest first without overlapping; {} is within the band before ({}..={prev_max})",
                                    band.min, prev.min
                                ),
                            ));
                        }
                        Some(_) => {}
                    }
                }
                previous = Some(band);
            }
        }
        Ok(())
    }

    fn validate_combos(&self) -> Result<()> {
        let limit = Decimal::from(1000);
        if self.combos.len() > 16 {
            return Err(FantasyError::invalid("combos", "at most 16 combos"));
        }
        for (i, combo) in self.combos.iter().enumerate() {
            let at = |f: &str| format!("combos[{i}].{f}");
            if combo.name.trim().is_empty() || combo.name.len() > 64 {
                return Err(FantasyError::invalid(at("name"), "1 to 64 characters"));
            }
            if combo.stats.is_empty() {
                return Err(FantasyError::invalid(at("stats"), "at least one stat"));
            }
            for (j, stat) in combo.stats.iter().enumerate() {
                if !self.sport.stats().contains(&stat.as_str()) {
                    return Err(self.unknown_stat(format!("combos[{i}].stats[{j}]"), stat));
                }
                if combo.stats[..j].contains(stat) {
                    return Err(FantasyError::invalid(
                        format!("combos[{i}].stats[{j}]"),
                        format!("`{stat}` is listed twice"),
                    ));
                }
            }
            if combo.count == 0 || combo.count as usize > combo.stats.len() {
                return Err(FantasyError::invalid(
                    at("count"),
                    format!("1 to {} (the number of `stats`)", combo.stats.len()),
                ));
            }
            if combo.at_least <= Decimal::ZERO {
                return Err(FantasyError::invalid(
                    at("at_least"),
                    "threshold must be positive",
                ));
            }
            if combo.points.abs() > limit {
                return Err(FantasyError::invalid(
                    at("points"),
                    "bonus must be within -1000..=1000",
                ));
            }
        }
        Ok(())
    }

    /// Points for one unit of `stat` scored by a player at `position`.
    pub fn value_of(&self, stat: &str, position: &str) -> Decimal {
        self.position_points
            .get(position)
            .and_then(|t| t.get(stat))
            .or_else(|| self.points.get(stat))
            .copied()
            .unwrap_or(Decimal::ZERO)
    }

    /// Fantasy points of one game's stat line for a player at `position`
    /// (primary position). Category leagues give a fantasy-relevance score
    /// by the `nba_points` weights so that projections and lineups still rank.
    pub fn score_game(&self, stats: &StatLine, position: &str) -> Decimal {
        if self.is_categories() {
            let proxy = Self::preset("nba_points")
                .map(|p| p.points)
                .unwrap_or_default();
            return stats
                .iter()
                .map(|(k, v)| *v * proxy.get(k).copied().unwrap_or(Decimal::ZERO))
                .sum();
        }
        let base: Decimal = stats
            .iter()
            .map(|(stat, value)| *value * self.value_of(stat, position))
            .sum();
        let bonus: Decimal = self
            .bonuses
            .iter()
            .filter(|b| stats.get(&b.stat).is_some_and(|v| *v >= b.at_least))
            .map(|b| b.points)
            .sum();
        let tiers: Decimal = self
            .tiers
            .iter()
            .map(|t| t.points_for(stats, position))
            .sum();
        let combos: Decimal = self
            .combos
            .iter()
            .filter(|c| c.earned(stats))
            .map(|c| c.points)
            .sum();
        base + bonus + tiers + combos
    }

    /// Compares two teams' week totals category by category.
    pub fn compare_categories(&self, home: &StatLine, away: &StatLine) -> Vec<CategoryResult> {
        self.categories
            .iter()
            .map(|cat| {
                let value = |line: &StatLine| -> Option<Decimal> {
                    let num = line.get(&cat.stat).copied().unwrap_or(Decimal::ZERO);
                    match &cat.per {
                        Some(per) => {
                            let den = line.get(per).copied().unwrap_or(Decimal::ZERO);
                            if den.is_zero() {
                                None
                            } else {
                                Some((num / den).round_dp(4))
                            }
                        }
                        None => Some(num),
                    }
                };
                let (h, a) = (value(home), value(away));
                let ord = match (h, a) {
                    (Some(h), Some(a)) => h.cmp(&a),
                    (Some(_), None) => Ordering::Greater,
                    (None, Some(_)) => Ordering::Less,
                    (None, None) => Ordering::Equal,
                };
                let ord = if cat.higher_is_better {
                    ord
                } else {
                    ord.reverse()
                };
                let winner = match ord {
                    Ordering::Greater => Side::Home,
                    Ordering::Less => Side::Away,
                    Ordering::Equal => Side::Tie,
                };
                CategoryResult {
                    category: cat.name.clone(),
                    home: h,
                    away: a,
                    winner,
                }
            })
            .collect()
    }
}

/// Which side won.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// The home team.
    Home,
    /// The away team.
    Away,
    /// Neither.
    Tie,
}

/// One category of a category matchup.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CategoryResult {
    /// Category label.
    pub category: String,
    /// Home value (None when its denominator is zero).
    pub home: Option<Decimal>,
    /// Away value.
    pub away: Option<Decimal>,
    /// Winner.
    pub winner: Side,
}

/// A decided matchup.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MatchupResult {
    /// Home team id.
    pub home: String,
    /// Away team id.
    pub away: String,
    /// Home score: points, or categories won.
    pub home_score: Decimal,
    /// Away score.
    pub away_score: Decimal,
    /// Winner.
    pub winner: Side,
    /// Per-category detail for category leagues.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<CategoryResult>,
}

/// A team's week for a matchup: its fantasy points and its summed stat line.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TeamWeek {
    /// Team id.
    pub team: String,
    /// Sum of its starters' fantasy points.
    pub points: Decimal,
    /// Sum of its starters' stat lines.
    pub totals: StatLine,
}

/// Sums stat lines.
pub fn sum_lines<'a>(lines: impl IntoIterator<Item = &'a StatLine>) -> StatLine {
    let mut total = StatLine::new();
    for line in lines {
        for (k, v) in line {
            *total.entry(k.clone()).or_insert(Decimal::ZERO) += *v;
        }
    }
    total
}

/// Decides a matchup under `rules`.
pub fn score_matchup(rules: &RuleSet, home: &TeamWeek, away: &TeamWeek) -> MatchupResult {
    if rules.is_categories() {
        let categories = rules.compare_categories(&home.totals, &away.totals);
        let h = categories.iter().filter(|c| c.winner == Side::Home).count();
        let a = categories.iter().filter(|c| c.winner == Side::Away).count();
        MatchupResult {
            home: home.team.clone(),
            away: away.team.clone(),
            home_score: Decimal::from(h),
            away_score: Decimal::from(a),
            winner: side(h.cmp(&a)),
            categories,
        }
    } else {
        MatchupResult {
            home: home.team.clone(),
            away: away.team.clone(),
            home_score: home.points,
            away_score: away.points,
            winner: side(home.points.cmp(&away.points)),
            categories: Vec::new(),
        }
    }
}

fn side(ord: Ordering) -> Side {
    match ord {
        Ordering::Greater => Side::Home,
        Ordering::Less => Side::Away,
        Ordering::Equal => Side::Tie,
    }
}

/// One row of the standings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct StandingRow {
    /// Rank from 1.
    pub rank: u32,
    /// Team id.
    pub team: String,
    /// Wins.
    pub wins: u32,
    /// Losses.
    pub losses: u32,
    /// Ties.
    pub ties: u32,
    /// (wins + ties/2) / games, 3 decimals.
    pub win_pct: Decimal,
    /// Points (or categories) scored.
    pub points_for: Decimal,
    /// Points (or categories) allowed.
    pub points_against: Decimal,
    /// Wins against the teams it is tied with on win percentage.
    pub head_to_head_wins: u32,
}

/// The tiebreakers [`standings`] applies, in order.
pub const TIEBREAKERS: &[&str] = &[
    "win_pct",
    "head_to_head_wins (among teams tied on win_pct)",
    "points_for",
    "points_against (fewer first)",
    "team id",
];

/// Standings from decided matchups, with tiebreakers [`TIEBREAKERS`].
/// `teams` lists every team so that teams without games still appear.
pub fn standings(teams: &[String], results: &[MatchupResult]) -> Vec<StandingRow> {
    let mut rows: BTreeMap<&str, StandingRow> = teams
        .iter()
        .map(|t| {
            (
                t.as_str(),
                StandingRow {
                    rank: 0,
                    team: t.clone(),
                    wins: 0,
                    losses: 0,
                    ties: 0,
                    win_pct: Decimal::ZERO,
                    points_for: Decimal::ZERO,
                    points_against: Decimal::ZERO,
                    head_to_head_wins: 0,
                },
            )
        })
        .collect();
    for r in results {
        for (me, score, other, won) in [
            (&r.home, r.home_score, r.away_score, Side::Home),
            (&r.away, r.away_score, r.home_score, Side::Away),
        ] {
            if let Some(row) = rows.get_mut(me.as_str()) {
                row.points_for += score;
                row.points_against += other;
                if r.winner == Side::Tie {
                    row.ties += 1;
                } else if r.winner == won {
                    row.wins += 1;
                } else {
                    row.losses += 1;
                }
            }
        }
    }
    for row in rows.values_mut() {
        let games = row.wins + row.losses + row.ties;
        row.win_pct = if games == 0 {
            Decimal::ZERO
        } else {
            ((Decimal::from(row.wins) + Decimal::from(row.ties) / Decimal::TWO)
                / Decimal::from(games))
            .round_dp(3)
        };
    }
    // Head-to-head wins among teams with the same win percentage.
    let pct: BTreeMap<String, Decimal> =
        rows.values().map(|r| (r.team.clone(), r.win_pct)).collect();
    for r in results {
        let (Some(hp), Some(ap)) = (pct.get(&r.home), pct.get(&r.away)) else {
            continue;
        };
        if hp != ap {
            continue;
        }
        let winner = match r.winner {
            Side::Home => &r.home,
            Side::Away => &r.away,
            Side::Tie => continue,
        };
        if let Some(row) = rows.get_mut(winner.as_str()) {
            row.head_to_head_wins += 1;
        }
    }
    let mut out: Vec<StandingRow> = rows.into_values().collect();
    out.sort_by(|a, b| {
        b.win_pct
            .cmp(&a.win_pct)
            .then(b.head_to_head_wins.cmp(&a.head_to_head_wins))
            .then(b.points_for.cmp(&a.points_for))
            .then(a.points_against.cmp(&b.points_against))
            .then(a.team.cmp(&b.team))
    });
    for (i, row) in out.iter_mut().enumerate() {
        row.rank = u32::try_from(i + 1).unwrap_or(u32::MAX);
    }
    out
}

#[cfg(test)]
#[path = "scoring_tests.rs"]
mod tests;
