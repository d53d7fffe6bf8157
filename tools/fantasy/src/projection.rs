//! Projections ("neural insights"): a least-squares model per position that
//! predicts next week's fantasy points from recent form, season average and
//! usage, with an 80% interval from the residual spread and the drivers of
//! each projection.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use rust_decimal::prelude::{FromPrimitive, ToPrimitive};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::model::{GameStat, PlayerStatus, Sport};
use crate::scoring::RuleSet;
use crate::stats::usage;

/// Feature names, in coefficient order after the intercept.
pub const FEATURES: [&str; 3] = ["recent_form", "season_average", "usage"];

/// z for a two-sided 80% interval.
const Z80: f64 = 1.2816;
/// Games of history needed before a (player, week) is a training example.
const MIN_HISTORY: usize = 2;
/// Games in the "recent form" window.
const RECENT: usize = 3;

/// A fitted model for one position.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PositionModel {
    /// Position.
    pub position: String,
    /// Intercept followed by one coefficient per [`FEATURES`] entry.
    pub coefficients: Vec<f64>,
    /// Residual standard deviation (points).
    pub residual_sd: f64,
    /// Training examples.
    pub samples: usize,
    /// R² on the training data.
    pub r_squared: f64,
    /// What a player with no games yet (week 1, a rookie) is projected
    /// from; absent in models stored before it existed.
    #[serde(default)]
    pub prior: Option<Prior>,
}

/// The no-history projection of a position: points per game against
/// salary (the market's preseason valuation), `points = intercept +
/// per_1k_salary × salary / 1000`, fitted on every game of the position.
/// A player without a salary gets the position's mean.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Prior {
    /// Points at zero salary.
    pub intercept: f64,
    /// Points per 1,000 of salary.
    pub per_1k_salary: f64,
    /// Mean points per game of the position.
    pub mean: f64,
    /// Residual standard deviation of the salary fit (points).
    pub residual_sd: f64,
}

impl Prior {
    /// Fits the prior on (salary in thousands, points) pairs and the points
    /// of games by players without a salary. A slope needs 12 games and
    /// some spread of salaries; otherwise the mean stands alone.
    pub fn fit(with_salary: &[(f64, f64)], without_salary: &[f64]) -> Option<Prior> {
        let all: Vec<f64> = with_salary
            .iter()
            .map(|p| p.1)
            .chain(without_salary.iter().copied())
            .collect();
        if all.is_empty() {
            return None;
        }
        let mean = all.iter().sum::<f64>() / all.len() as f64;
        let n = with_salary.len() as f64;
        let (mut intercept, mut slope) = (mean, 0.0);
        if with_salary.len() >= 12 {
            let mx = with_salary.iter().map(|p| p.0).sum::<f64>() / n;
            let my = with_salary.iter().map(|p| p.1).sum::<f64>() / n;
            let sxx: f64 = with_salary.iter().map(|p| (p.0 - mx).powi(2)).sum();
            let sxy: f64 = with_salary.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
            if sxx > 1e-9 {
                slope = sxy / sxx;
                intercept = my - slope * mx;
            }
        }
        let predict = |x: f64| intercept + slope * x;
        let ss: f64 = with_salary
            .iter()
            .map(|p| (p.1 - predict(p.0)).powi(2))
            .chain(without_salary.iter().map(|y| (y - mean).powi(2)))
            .sum();
        Some(Prior {
            intercept,
            per_1k_salary: slope,
            mean,
            residual_sd: (ss / (all.len().saturating_sub(2).max(1)) as f64).sqrt(),
        })
    }

    /// The prior projection for a player with `salary` (if known).
    pub fn points(&self, salary: Option<f64>) -> f64 {
        match salary {
            Some(s) => (self.intercept + self.per_1k_salary * s / 1000.0).max(0.0),
            None => self.mean,
        }
    }
}

/// The features of one player before one week.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Features {
    /// Mean points over the last [`RECENT`] games.
    pub recent_form: f64,
    /// Mean points over all earlier games.
    pub season_average: f64,
    /// Mean usage over the last [`RECENT`] games.
    pub usage: f64,
}

impl Features {
    fn as_row(self) -> [f64; 4] {
        [1.0, self.recent_form, self.season_average, self.usage]
    }
}

/// Features from a player's earlier games (sorted by week, points computed).
pub fn features(history: &[(f64, f64)]) -> Option<Features> {
    if history.len() < MIN_HISTORY {
        return None;
    }
    let recent = &history[history.len().saturating_sub(RECENT)..];
    let mean = |xs: &[(f64, f64)], f: fn(&(f64, f64)) -> f64| {
        xs.iter().map(f).sum::<f64>() / xs.len() as f64
    };
    Some(Features {
        recent_form: mean(recent, |x| x.0),
        season_average: mean(history, |x| x.0),
        usage: mean(recent, |x| x.1),
    })
}

/// Solves (XᵀX + ridge·I) b = Xᵀy by Gaussian elimination with pivoting.
fn least_squares(rows: &[[f64; 4]], ys: &[f64]) -> Option<[f64; 4]> {
    let mut a = [[0.0f64; 5]; 4];
    for (row, y) in rows.iter().zip(ys) {
        for i in 0..4 {
            for j in 0..4 {
                a[i][j] += row[i] * row[j];
            }
            a[i][4] += row[i] * y;
        }
    }
    for (i, r) in a.iter_mut().enumerate().skip(1) {
        r[i] += 1e-6 * rows.len() as f64;
    }
    for col in 0..4 {
        let pivot = (col..4).max_by(|&x, &y| a[x][col].abs().total_cmp(&a[y][col].abs()))?;
        if a[pivot][col].abs() < 1e-12 {
            return None;
        }
        a.swap(col, pivot);
        let pivot_row = a[col];
        for (r, row) in a.iter_mut().enumerate() {
            if r != col {
                let f = row[col] / pivot_row[col];
                for (cell, p) in row.iter_mut().zip(pivot_row.iter()).skip(col) {
                    *cell -= f * p;
                }
            }
        }
    }
    Some([
        a[0][4] / a[0][0],
        a[1][4] / a[1][1],
        a[2][4] / a[2][2],
        a[3][4] / a[3][3],
    ])
}

/// (points, usage) per week for one player, sorted by week.
pub fn history(
    sport: Sport,
    rules: &RuleSet,
    position: &str,
    lines: &[&GameStat],
) -> Vec<(i64, f64, f64)> {
    let mut out: Vec<(i64, f64, f64)> = lines
        .iter()
        .map(|l| {
            (
                l.season * 100 + l.week,
                rules.score_game(&l.stats, position).to_f64().unwrap_or(0.0),
                usage(sport, &l.stats),
            )
        })
        .collect();
    out.sort_by_key(|x| x.0);
    out
}

/// Fits one model per position from every player's weekly history, with
/// its no-history [`Prior`]. `players` maps player id to primary position,
/// `salaries` player id to salary where known.
pub fn train(
    sport: Sport,
    rules: &RuleSet,
    players: &BTreeMap<String, String>,
    salaries: &BTreeMap<String, f64>,
    lines: &[GameStat],
) -> Vec<PositionModel> {
    let mut by_player: BTreeMap<&str, Vec<&GameStat>> = BTreeMap::new();
    for l in lines {
        by_player.entry(l.player_id.as_str()).or_default().push(l);
    }
    let mut data: BTreeMap<&str, (Vec<[f64; 4]>, Vec<f64>)> = BTreeMap::new();
    type PriorData = (Vec<(f64, f64)>, Vec<f64>);
    let mut prior_data: BTreeMap<&str, PriorData> = BTreeMap::new();
    for (id, lines) in by_player {
        let Some(pos) = players.get(id) else { continue };
        let hist = history(sport, rules, pos, &lines);
        let pairs: Vec<(f64, f64)> = hist.iter().map(|h| (h.1, h.2)).collect();
        let pd = prior_data.entry(pos.as_str()).or_default();
        match salaries.get(id) {
            Some(s) => pd.0.extend(pairs.iter().map(|p| (s / 1000.0, p.0))),
            None => pd.1.extend(pairs.iter().map(|p| p.0)),
        }
        for t in MIN_HISTORY..pairs.len() {
            if let Some(f) = features(&pairs[..t]) {
                let entry = data.entry(pos.as_str()).or_default();
                entry.0.push(f.as_row());
                entry.1.push(pairs[t].0);
            }
        }
    }
    data.into_iter()
        .map(|(pos, (rows, ys))| {
            let mut m = fit(pos, &rows, &ys);
            m.prior = prior_data
                .get(pos)
                .and_then(|(with, without)| Prior::fit(with, without));
            m
        })
        .collect()
}

fn fit(position: &str, rows: &[[f64; 4]], ys: &[f64]) -> PositionModel {
    let n = ys.len();
    // Too little data: project the season average.
    let coefficients = if n >= 12 {
        least_squares(rows, ys).unwrap_or([0.0, 0.0, 1.0, 0.0])
    } else {
        [0.0, 0.0, 1.0, 0.0]
    };
    let predict = |r: &[f64; 4]| {
        r.iter()
            .zip(coefficients.iter())
            .map(|(x, b)| x * b)
            .sum::<f64>()
    };
    let mean = ys.iter().sum::<f64>() / n.max(1) as f64;
    let (mut ss_res, mut ss_tot) = (0.0, 0.0);
    for (r, y) in rows.iter().zip(ys) {
        ss_res += (y - predict(r)).powi(2);
        ss_tot += (y - mean).powi(2);
    }
    let dof = n.saturating_sub(4).max(1) as f64;
    PositionModel {
        position: position.to_string(),
        coefficients: coefficients.to_vec(),
        residual_sd: (ss_res / dof).sqrt(),
        samples: n,
        r_squared: if ss_tot > 0.0 {
            1.0 - ss_res / ss_tot
        } else {
            0.0
        },
        prior: None,
    }
}

/// One driver of a projection: a feature, its value and its contribution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Driver {
    /// Feature name (`recent_form`), `intercept` or `status`.
    pub name: String,
    /// Feature value.
    pub value: Decimal,
    /// Points it adds to the projection.
    pub contribution: Decimal,
}

/// A projection with an 80% interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Projection {
    /// Player id.
    pub player_id: String,
    /// Week projected.
    pub week: i64,
    /// Projected points.
    pub points: Decimal,
    /// Lower end of the 80% interval.
    pub low: Decimal,
    /// Upper end of the 80% interval.
    pub high: Decimal,
    /// What drives it, largest first.
    pub drivers: Vec<Driver>,
}

fn d2(x: f64) -> Decimal {
    Decimal::from_f64(x).unwrap_or(Decimal::ZERO).round_dp(2)
}

/// Projects one player for `week` from his earlier (points, usage) history.
/// With a game or two it projects their average, and with none (week 1, a
/// rookie) the position's [`Prior`] at his salary; both with a wider
/// interval.
pub fn project(
    model: &PositionModel,
    player_id: &str,
    week: i64,
    history: &[(f64, f64)],
    salary: Option<f64>,
    status: PlayerStatus,
) -> Projection {
    let b = &model.coefficients;
    let (mut points, mut drivers, sd) = match features(history) {
        Some(f) => {
            let row = f.as_row();
            let mut drivers = vec![Driver {
                name: "intercept".into(),
                value: Decimal::ONE,
                contribution: d2(b[0]),
            }];
            for (i, name) in FEATURES.iter().enumerate() {
                drivers.push(Driver {
                    name: (*name).into(),
                    value: d2(row[i + 1]),
                    contribution: d2(row[i + 1] * b[i + 1]),
                });
            }
            let p: f64 = row.iter().zip(b.iter()).map(|(x, c)| x * c).sum();
            (p, drivers, model.residual_sd)
        }
        None if history.is_empty() => match &model.prior {
            Some(prior) => {
                let p = prior.points(salary);
                let name = if salary.is_some() {
                    "preseason prior (salary)"
                } else {
                    "preseason prior (position mean)"
                };
                (
                    p,
                    vec![Driver {
                        name: name.into(),
                        value: d2(salary.unwrap_or(prior.mean)),
                        contribution: d2(p),
                    }],
                    prior.residual_sd.max(model.residual_sd),
                )
            }
            None => (0.0, Vec::new(), model.residual_sd * 1.5),
        },
        None => {
            let avg = history.iter().map(|h| h.0).sum::<f64>() / history.len() as f64;
            (
                avg,
                vec![Driver {
                    name: "season_average (short history)".into(),
                    value: d2(avg),
                    contribution: d2(avg),
                }],
                model.residual_sd * 1.5,
            )
        }
    };
    let factor = match status {
        PlayerStatus::Active => 1.0,
        PlayerStatus::Questionable => 0.8,
        PlayerStatus::Out | PlayerStatus::InjuredReserve => 0.0,
    };
    if factor < 1.0 {
        drivers.push(Driver {
            name: format!("status: {}", status.as_str()),
            value: d2(factor),
            contribution: d2(points * factor - points),
        });
        points *= factor;
    }
    drivers.sort_by_key(|b| std::cmp::Reverse(b.contribution.abs()));
    let half = Z80 * sd * if factor == 0.0 { 0.0 } else { 1.0 };
    Projection {
        player_id: player_id.to_string(),
        week,
        points: d2(points),
        low: d2(points - half),
        high: d2(points + half),
        drivers,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn least_squares_recovers_a_known_line() {
        // y = 2 + 0.5 a + 0.3 b + 0.1 c exactly.
        let mut rows = Vec::new();
        let mut ys = Vec::new();
        for i in 0..40 {
            let (a, b, c) = (i as f64, (i * 7 % 13) as f64, (i * 3 % 5) as f64);
            rows.push([1.0, a, b, c]);
            ys.push(2.0 + 0.5 * a + 0.3 * b + 0.1 * c);
        }
        let m = fit("WR", &rows, &ys);
        for (got, want) in m.coefficients.iter().zip([2.0, 0.5, 0.3, 0.1]) {
            assert!((got - want).abs() < 1e-3, "{got} vs {want}");
        }
        assert!(m.residual_sd < 1e-3);
        assert!(m.r_squared > 0.999);
    }

    #[test]
    fn projection_interval_and_status() {
        let model = PositionModel {
            position: "RB".into(),
            coefficients: vec![1.0, 0.5, 0.3, 0.1],
            residual_sd: 5.0,
            samples: 100,
            r_squared: 0.4,
            prior: None,
        };
        let hist = [(10.0, 15.0), (20.0, 15.0), (12.0, 18.0), (14.0, 20.0)];
        // recent (last 3): form 15.33, usage 17.67; season avg 14
        // 1 + 7.667 + 4.2 + 1.767 = 14.633
        let p = project(&model, "rb", 5, &hist, None, PlayerStatus::Active);
        assert_eq!(p.points, Decimal::new(1463, 2));
        assert_eq!(p.high - p.points, Decimal::new(641, 2)); // 1.2816 * 5
        assert_eq!(p.drivers[0].name, "recent_form");
        let q = project(&model, "rb", 5, &hist, None, PlayerStatus::Out);
        assert_eq!(q.points, Decimal::ZERO);
        assert_eq!(q.low, q.high);
    }

    #[test]
    fn the_prior_recovers_a_known_salary_line_and_projects_week_one() {
        // points = 2 + 3 × salary/1000 exactly, salaries 3,000..8,700.
        let with: Vec<(f64, f64)> = (0..20)
            .map(|i| {
                let k = 3.0 + 0.3 * f64::from(i);
                (k, 2.0 + 3.0 * k)
            })
            .collect();
        let prior = Prior::fit(&with, &[]).expect("prior");
        assert!((prior.intercept - 2.0).abs() < 1e-9, "{prior:?}");
        assert!((prior.per_1k_salary - 3.0).abs() < 1e-9, "{prior:?}");
        assert!(prior.residual_sd < 1e-9);
        // mean of 2 + 3k over k = 3.0..8.7 = 2 + 3 × 5.85
        assert!((prior.mean - 19.55).abs() < 1e-9);
        let model = PositionModel {
            position: "WR".into(),
            coefficients: vec![0.0, 0.5, 0.5, 0.0],
            residual_sd: 4.0,
            samples: 100,
            r_squared: 0.3,
            prior: Some(prior),
        };
        // No games yet: salary 6,000 gives 2 + 18 = 20 points.
        let p = project(&model, "wr", 1, &[], Some(6000.0), PlayerStatus::Active);
        assert_eq!(p.points, Decimal::new(20, 0));
        assert_eq!(p.drivers[0].name, "preseason prior (salary)");
        // 80% interval from the larger of the two spreads (4.0 here).
        assert_eq!(p.high - p.points, Decimal::new(513, 2));
        // No salary: the position mean.
        let q = project(&model, "wr", 1, &[], None, PlayerStatus::Active);
        assert_eq!(q.points, Decimal::new(1955, 2));
        // Too few salaried games for a slope: the mean alone.
        let flat = Prior::fit(&with[..5], &[10.0]).expect("prior");
        assert_eq!(flat.per_1k_salary, 0.0);
        assert_eq!(Prior::fit(&[], &[]), None);
    }
}
