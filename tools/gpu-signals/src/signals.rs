//! Signals from indicator values: crossovers, Donchian breakouts,
//! z-score mean reversion, composite scores, top-N ranking across symbols
//! and rules given as data ([`Rule`]).
//!
//! Signals are cheap next to the indicators they read, so they run on the
//! CPU over the indicator values whichever backend computed those. A NaN
//! (warm-up) on either side of a comparison makes it false: no signal is
//! ever raised during an indicator's warm-up.

use std::collections::HashMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::batch::{Batch, Real};
use crate::error::{Result, SignalsError};
use crate::indicators::{Indicator, IndicatorValues, SeriesRef};

/// A batch with the indicator values computed for it, by canonical name.
#[derive(Debug)]
pub struct Workspace<'a, T: Real> {
    /// The inputs.
    pub batch: &'a Batch<T>,
    /// Computed indicators by [`Indicator::name`].
    pub values: HashMap<String, IndicatorValues<T>>,
}

impl<'a, T: Real> Workspace<'a, T> {
    /// A workspace over `batch` with `values`.
    pub fn new(batch: &'a Batch<T>, values: Vec<IndicatorValues<T>>) -> Self {
        Self {
            batch,
            values: values
                .into_iter()
                .map(|v| (v.indicator.name(), v))
                .collect(),
        }
    }

    /// Series `r` of symbol `s` as f64 (the indicator must be computed).
    pub fn series(&self, r: &SeriesRef, s: usize) -> Vec<f64> {
        let raw: &[T] = match r {
            SeriesRef::Field(f) => self.batch.row(*f, s),
            SeriesRef::Output { indicator, output } => match self.values.get(&indicator.name()) {
                Some(v) => v.series(*output, s),
                None => return vec![f64::NAN; self.batch.n_bars],
            },
        };
        raw.iter().map(|x| x.to_f64()).collect()
    }
}

/// +1 where `fast` crosses above `slow` (above now, at or below the bar
/// before), -1 where it crosses below, else 0.
pub fn crossovers(fast: &[f64], slow: &[f64]) -> Vec<i8> {
    let mut out = vec![0; fast.len()];
    for t in 1..fast.len() {
        let (a, b, pa, pb) = (fast[t], slow[t], fast[t - 1], slow[t - 1]);
        if a > b && pa <= pb {
            out[t] = 1;
        } else if a < b && pa >= pb {
            out[t] = -1;
        }
    }
    out
}

/// Donchian breakout over `n` bars: +1 where the close is above the highest
/// high of the `n` bars before, -1 where it is below their lowest low.
pub fn breakouts(high: &[f64], low: &[f64], close: &[f64], n: usize) -> Vec<i8> {
    let mut out = vec![0; close.len()];
    for t in n.max(1)..close.len() {
        let hh = high[t - n..t].iter().copied().fold(f64::MIN, f64::max);
        let ll = low[t - n..t].iter().copied().fold(f64::MAX, f64::min);
        if close[t] > hh {
            out[t] = 1;
        } else if close[t] < ll {
            out[t] = -1;
        }
    }
    out
}

/// A position change of the mean-reversion rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Event {
    /// Bar index.
    pub bar: usize,
    /// `enter_long`, `exit_long`, `enter_short`, `exit_short`.
    pub action: &'static str,
}

/// Mean reversion on a z-score: enter long at `z <= -entry`, leave at
/// `z >= -exit`; enter short at `z >= entry`, leave at `z <= exit`.
/// Returns the position at each bar (-1, 0, 1) and the changes.
pub fn mean_reversion(z: &[f64], entry: f64, exit: f64) -> (Vec<i8>, Vec<Event>) {
    let mut pos = 0i8;
    let mut out = Vec::with_capacity(z.len());
    let mut events = Vec::new();
    for (t, &v) in z.iter().enumerate() {
        if v.is_finite() {
            match pos {
                1 if v >= -exit => {
                    pos = 0;
                    events.push(Event {
                        bar: t,
                        action: "exit_long",
                    });
                }
                -1 if v <= exit => {
                    pos = 0;
                    events.push(Event {
                        bar: t,
                        action: "exit_short",
                    });
                }
                _ => {}
            }
            if pos == 0 && events.last().is_none_or(|e| e.bar != t) {
                if v <= -entry {
                    pos = 1;
                    events.push(Event {
                        bar: t,
                        action: "enter_long",
                    });
                } else if v >= entry {
                    pos = -1;
                    events.push(Event {
                        bar: t,
                        action: "enter_short",
                    });
                }
            }
        }
        out.push(pos);
    }
    (out, events)
}

/// How a composite component is normalised before weighting.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Normalize {
    /// Cross-sectional z-score at each bar (across symbols).
    #[default]
    Zscore,
    /// The raw value.
    None,
}

/// Composite score per symbol and bar: Σ weight · normalised component.
/// `components[i][s]` is component i's series for symbol s. NaN where any
/// component is NaN; a cross-section with fewer than two values or no
/// spread normalises to 0.
pub fn composite(components: &[Vec<Vec<f64>>], weights: &[f64], norm: Normalize) -> Vec<Vec<f64>> {
    let n_sym = components.first().map_or(0, Vec::len);
    let n_bars = components
        .first()
        .and_then(|c| c.first())
        .map_or(0, Vec::len);
    let mut score = vec![vec![0.0; n_bars]; n_sym];
    for (comp, &w) in components.iter().zip(weights) {
        for t in 0..n_bars {
            let (mean, sd) = if norm == Normalize::Zscore {
                let xs: Vec<f64> = comp
                    .iter()
                    .map(|s| s[t])
                    .filter(|v| v.is_finite())
                    .collect();
                let m = xs.iter().sum::<f64>() / xs.len().max(1) as f64;
                let var =
                    xs.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / xs.len().max(1) as f64;
                (m, if xs.len() >= 2 { var.sqrt() } else { 0.0 })
            } else {
                (0.0, 1.0)
            };
            for s in 0..n_sym {
                let v = comp[s][t];
                let z = if !v.is_finite() {
                    f64::NAN
                } else if sd > 0.0 {
                    (v - mean) / sd
                } else {
                    0.0
                };
                score[s][t] += w * z;
            }
        }
    }
    score
}

/// Top-N ranking at one bar: `long` is the `n` highest scores (best first),
/// `short` the `n` lowest (worst first), without overlap; NaN scores are
/// left out; ties go to the lower symbol index.
pub fn rank(scores: &[f64], n: usize) -> (Vec<usize>, Vec<usize>) {
    let mut idx: Vec<usize> = (0..scores.len())
        .filter(|&i| scores[i].is_finite())
        .collect();
    idx.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    let long: Vec<usize> = idx.iter().copied().take(n).collect();
    let mut rest: Vec<usize> = idx.into_iter().skip(long.len()).collect();
    rest.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]).then(a.cmp(&b)));
    let short = rest.into_iter().take(n).collect();
    (long, short)
}

/// A comparison in a [`Rule`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub enum Cmp {
    /// Greater than.
    #[serde(rename = ">")]
    Gt,
    /// Greater or equal.
    #[serde(rename = ">=")]
    Ge,
    /// Less than.
    #[serde(rename = "<")]
    Lt,
    /// Less or equal.
    #[serde(rename = "<=")]
    Le,
    /// Above now, at or below the bar before.
    #[serde(rename = "crosses_above")]
    CrossesAbove,
    /// Below now, at or above the bar before.
    #[serde(rename = "crosses_below")]
    CrossesBelow,
}

/// The right side of a comparison: a number or another series.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum Operand {
    /// A threshold.
    Number(f64),
    /// A series name (`close`, `sma_50`, `bb_20_2.lower`).
    Series(String),
}

/// A rule given as data: a comparison, or all / any / not of rules.
/// `{"left": "rsi_14", "op": "<", "right": 30}`,
/// `{"all": [{"left": "close", "op": "crosses_above", "right": "sma_50"}, {"left": "rsi_14", "op": "<", "right": 70}]}`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum Rule {
    /// True when every rule is.
    All {
        /// The rules.
        all: Vec<Rule>,
    },
    /// True when any rule is.
    Any {
        /// The rules.
        any: Vec<Rule>,
    },
    /// True when the rule is not.
    Not {
        /// The rule.
        not: Box<Rule>,
    },
    /// A comparison of a series with a number or another series.
    Compare {
        /// A series name (`rsi_14`, `close`, `macd_12_26_9.hist`).
        left: String,
        /// The comparison.
        op: Cmp,
        /// A number or a series name.
        right: Operand,
    },
}

/// Deepest nesting and most comparisons a rule may have.
pub const RULE_LIMITS: (usize, usize) = (8, 64);

/// A [`Rule`] with its series names resolved.
#[derive(Debug, Clone)]
pub enum Compiled {
    /// All of.
    All(Vec<Compiled>),
    /// Any of.
    Any(Vec<Compiled>),
    /// Not.
    Not(Box<Compiled>),
    /// A comparison.
    Compare(SeriesRef, Cmp, Side),
}

/// A resolved right-hand side.
#[derive(Debug, Clone)]
pub enum Side {
    /// A number.
    Number(f64),
    /// A series.
    Series(SeriesRef),
}

impl Rule {
    /// Resolves every name and collects the indicators the rule reads.
    pub fn compile(&self, field: &str, needs: &mut Vec<Indicator>) -> Result<Compiled> {
        let mut count = 0;
        self.compile_at(field, 0, &mut count, needs)
    }

    fn compile_at(
        &self,
        field: &str,
        depth: usize,
        count: &mut usize,
        needs: &mut Vec<Indicator>,
    ) -> Result<Compiled> {
        if depth > RULE_LIMITS.0 {
            return Err(SignalsError::invalid(
                field,
                format!("rules nest at most {} deep", RULE_LIMITS.0),
            ));
        }
        let list = |rules: &[Rule], what: &str, count: &mut usize, needs: &mut Vec<Indicator>| {
            if rules.is_empty() {
                return Err(SignalsError::invalid(
                    format!("{field}.{what}"),
                    "needs at least one rule",
                ));
            }
            rules
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    r.compile_at(&format!("{field}.{what}[{i}]"), depth + 1, count, needs)
                })
                .collect::<Result<Vec<_>>>()
        };
        Ok(match self {
            Rule::All { all } => Compiled::All(list(all, "all", count, needs)?),
            Rule::Any { any } => Compiled::Any(list(any, "any", count, needs)?),
            Rule::Not { not } => Compiled::Not(Box::new(not.compile_at(
                &format!("{field}.not"),
                depth + 1,
                count,
                needs,
            )?)),
            Rule::Compare { left, op, right } => {
                *count += 1;
                if *count > RULE_LIMITS.1 {
                    return Err(SignalsError::invalid(
                        field,
                        format!("a rule may hold at most {} comparisons", RULE_LIMITS.1),
                    ));
                }
                let l = resolve(&format!("{field}.left"), left, needs)?;
                let r = match right {
                    Operand::Number(x) if x.is_finite() => Side::Number(*x),
                    Operand::Number(_) => {
                        return Err(SignalsError::invalid(
                            format!("{field}.right"),
                            "must be a finite number or a series name",
                        ));
                    }
                    Operand::Series(s) => {
                        Side::Series(resolve(&format!("{field}.right"), s, needs)?)
                    }
                };
                Compiled::Compare(l, *op, r)
            }
        })
    }
}

fn resolve(field: &str, name: &str, needs: &mut Vec<Indicator>) -> Result<SeriesRef> {
    let r = SeriesRef::parse(field, name)?;
    if let SeriesRef::Output { indicator, .. } = &r
        && !needs.contains(indicator)
    {
        needs.push(*indicator);
    }
    Ok(r)
}

impl Compiled {
    /// Whether the rule holds at each bar of symbol `s`.
    pub fn eval<T: Real>(&self, ws: &Workspace<'_, T>, s: usize) -> Vec<bool> {
        let n = ws.batch.n_bars;
        match self {
            Compiled::All(rs) => rs.iter().fold(vec![true; n], |acc, r| {
                acc.iter()
                    .zip(r.eval(ws, s))
                    .map(|(a, b)| *a && b)
                    .collect()
            }),
            Compiled::Any(rs) => rs.iter().fold(vec![false; n], |acc, r| {
                acc.iter()
                    .zip(r.eval(ws, s))
                    .map(|(a, b)| *a || b)
                    .collect()
            }),
            Compiled::Not(r) => r.eval(ws, s).into_iter().map(|b| !b).collect(),
            Compiled::Compare(l, op, r) => {
                let a = ws.series(l, s);
                let b = match r {
                    Side::Number(x) => vec![*x; n],
                    Side::Series(r) => ws.series(r, s),
                };
                match op {
                    Cmp::Gt => a.iter().zip(&b).map(|(a, b)| a > b).collect(),
                    Cmp::Ge => a.iter().zip(&b).map(|(a, b)| a >= b).collect(),
                    Cmp::Lt => a.iter().zip(&b).map(|(a, b)| a < b).collect(),
                    Cmp::Le => a.iter().zip(&b).map(|(a, b)| a <= b).collect(),
                    Cmp::CrossesAbove => crossovers(&a, &b).into_iter().map(|c| c == 1).collect(),
                    Cmp::CrossesBelow => crossovers(&a, &b).into_iter().map(|c| c == -1).collect(),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_crossover_at_a_known_bar() {
        let fast = [1.0, 2.0, 3.0, 4.0, 3.0, 2.0];
        let slow = [2.5, 2.5, 2.5, 2.5, 2.5, 2.5];
        assert_eq!(crossovers(&fast, &slow), vec![0, 0, 1, 0, 0, -1]);
        // Warm-up NaN never crosses.
        assert_eq!(crossovers(&[f64::NAN, 3.0], &[2.0, 2.0]), vec![0, 0]);
    }

    #[test]
    fn a_breakout_above_the_channel_and_below_it() {
        let high = [10.0, 11.0, 10.5, 10.8, 12.0, 9.0];
        let low = [9.0, 9.5, 9.8, 9.7, 10.0, 8.0];
        let close = [9.5, 10.5, 10.0, 10.2, 11.5, 8.5];
        // Bar 4 closes at 11.5, under bar 1's high 11: no; bar 4 vs bars 1-3 (n=3).
        assert_eq!(breakouts(&high, &low, &close, 3), vec![0, 0, 0, 0, 1, -1]);
    }

    #[test]
    fn mean_reversion_enters_and_exits_on_thresholds() {
        let z = [f64::NAN, 0.0, -2.1, -1.0, -0.4, 0.5, 2.5, 1.0, 0.2];
        let (pos, ev) = mean_reversion(&z, 2.0, 0.5);
        assert_eq!(pos, vec![0, 0, 1, 1, 0, 0, -1, -1, 0]);
        let acts: Vec<_> = ev.iter().map(|e| (e.bar, e.action)).collect();
        assert_eq!(
            acts,
            vec![
                (2, "enter_long"),
                (4, "exit_long"),
                (6, "enter_short"),
                (8, "exit_short")
            ]
        );
    }

    #[test]
    fn ranking_orders_best_and_worst_without_nan() {
        let scores = [0.5, f64::NAN, 2.0, -1.0, 2.0, -3.0];
        let (long, short) = rank(&scores, 2);
        assert_eq!(long, vec![2, 4]);
        assert_eq!(short, vec![5, 3]);
        let (long, short) = rank(&[1.0, 2.0], 5);
        assert_eq!((long, short), (vec![1, 0], vec![]));
    }

    #[test]
    fn composite_is_a_weighted_sum_of_cross_sectional_zscores() {
        // One bar, three symbols: component values 1, 2, 3 -> z = -1.2247, 0, 1.2247.
        let c1 = vec![vec![1.0], vec![2.0], vec![3.0]];
        let c2 = vec![vec![10.0], vec![10.0], vec![40.0]];
        let s = composite(&[c1, c2], &[1.0, 0.5], Normalize::Zscore);
        let z = 1.5f64.sqrt();
        // c2: mean 20, population sd sqrt(200) -> -0.7071, -0.7071, 1.4142.
        let h = 0.5f64.sqrt();
        assert!((s[0][0] - (-z - 0.5 * h)).abs() < 1e-12);
        assert!((s[1][0] - (-0.5 * h)).abs() < 1e-12);
        assert!((s[2][0] - (z + 0.5 * 2.0 * h)).abs() < 1e-12);
    }
}
