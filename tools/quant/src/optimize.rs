//! Parameter search: grid, seeded random and Nelder–Mead (derivative-free
//! simplex: Nelder & Mead 1965, with the standard reflection 1, expansion 2,
//! contraction ½ and shrink ½, on the search box scaled to the unit cube),
//! maximising an objective; and the out-of-sample check that flags
//! overfitting when the chosen parameters lose most of their in-sample edge
//! on data the search never saw.

use std::collections::HashMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::{QuantError, Result};
use crate::rng::Rng;

/// One searched parameter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ParamRange {
    /// Parameter name (`lookback`).
    pub name: String,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
    /// Grid step (grid search; default: 5 evenly spaced points).
    #[serde(default)]
    pub step: Option<f64>,
    /// Whole numbers only.
    #[serde(default)]
    pub integer: bool,
}

/// Search method.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum SearchMethod {
    /// Every combination of grid points.
    Grid,
    /// `trials` uniform draws in the box.
    Random {
        /// Number of draws (1-100000).
        trials: usize,
    },
    /// Nelder–Mead simplex from the box centre.
    NelderMead {
        /// Objective evaluations allowed (10-100000).
        max_evals: usize,
    },
}

/// One evaluated point.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrialResult {
    /// Parameter values, in the order of the search space.
    pub params: Vec<f64>,
    /// Objective value.
    pub score: f64,
}

/// What a search found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchOutcome {
    /// The best point.
    pub best: TrialResult,
    /// Distinct points evaluated.
    pub evaluations: usize,
    /// The ten best points, best first.
    pub top: Vec<TrialResult>,
}

fn check_space(space: &[ParamRange]) -> Result<()> {
    if space.is_empty() || space.len() > 10 {
        return Err(QuantError::invalid("space", "give 1-10 parameters"));
    }
    for (i, p) in space.iter().enumerate() {
        if !(p.min.is_finite() && p.max.is_finite() && p.min <= p.max) {
            return Err(QuantError::invalid(
                format!("space[{i}]"),
                "need finite min <= max",
            ));
        }
        if p.step.is_some_and(|s| !(s > 0.0)) {
            return Err(QuantError::invalid(
                format!("space[{i}].step"),
                "must be positive",
            ));
        }
    }
    Ok(())
}

fn snap(p: &ParamRange, x: f64) -> f64 {
    let x = x.clamp(p.min, p.max);
    if p.integer {
        x.round().clamp(p.min.ceil(), p.max.floor())
    } else {
        x
    }
}

fn grid_values(p: &ParamRange) -> Vec<f64> {
    let mut v = vec![];
    match p.step {
        Some(step) => {
            let mut k = 0.0;
            while p.min + k * step <= p.max + 1e-12 {
                v.push(snap(p, p.min + k * step));
                k += 1.0;
            }
        }
        None => (0..5).for_each(|k| v.push(snap(p, p.min + (p.max - p.min) * f64::from(k) / 4.0))),
    }
    v.dedup();
    v
}

/// A search that evaluates each distinct point once and reports progress.
struct Search<'a> {
    objective: &'a mut dyn FnMut(&[f64]) -> Result<f64>,
    progress: &'a mut dyn FnMut(usize, usize) -> Result<()>,
    seen: HashMap<Vec<u64>, f64>,
    trials: Vec<TrialResult>,
    total: usize,
}

impl Search<'_> {
    fn eval(&mut self, x: Vec<f64>) -> Result<f64> {
        let key: Vec<u64> = x.iter().map(|v| v.to_bits()).collect();
        if let Some(s) = self.seen.get(&key) {
            return Ok(*s);
        }
        if self.trials.len() >= self.total {
            // Budget spent (a Nelder–Mead step ran over): not evaluated.
            return Ok(f64::NEG_INFINITY);
        }
        let s = (self.objective)(&x)?;
        let s = if s.is_nan() { f64::NEG_INFINITY } else { s };
        self.seen.insert(key, s);
        self.trials.push(TrialResult {
            params: x,
            score: s,
        });
        (self.progress)(self.trials.len(), self.total)?;
        Ok(s)
    }
}

/// Maximises `objective` over `space` with `method`. `progress(done,
/// planned)` is called after each evaluation; an error from it (a
/// cancellation) stops the search.
pub fn search(
    space: &[ParamRange],
    method: SearchMethod,
    seed: u64,
    objective: &mut dyn FnMut(&[f64]) -> Result<f64>,
    progress: &mut dyn FnMut(usize, usize) -> Result<()>,
) -> Result<SearchOutcome> {
    check_space(space)?;
    let mut s = Search {
        objective,
        progress,
        seen: HashMap::new(),
        trials: vec![],
        total: 0,
    };
    match method {
        SearchMethod::Grid => {
            let axes: Vec<Vec<f64>> = space.iter().map(grid_values).collect();
            let total: usize = axes.iter().map(Vec::len).product();
            if total > 100_000 {
                return Err(QuantError::invalid(
                    "space",
                    format!("the grid has {total} points; at most 100000 (use larger steps)"),
                ));
            }
            s.total = total;
            let mut idx = vec![0usize; axes.len()];
            for _ in 0..total {
                s.eval(idx.iter().zip(&axes).map(|(i, a)| a[*i]).collect())?;
                for d in 0..idx.len() {
                    idx[d] += 1;
                    if idx[d] < axes[d].len() {
                        break;
                    }
                    idx[d] = 0;
                }
            }
        }
        SearchMethod::Random { trials } => {
            if !(1..=100_000).contains(&trials) {
                return Err(QuantError::invalid("method.trials", "must be 1-100000"));
            }
            s.total = trials;
            let mut rng = Rng::new(seed);
            for _ in 0..trials {
                s.eval(
                    space
                        .iter()
                        .map(|p| snap(p, p.min + (p.max - p.min) * rng.unit()))
                        .collect(),
                )?;
            }
        }
        SearchMethod::NelderMead { max_evals } => {
            if !(10..=100_000).contains(&max_evals) {
                return Err(QuantError::invalid("method.max_evals", "must be 10-100000"));
            }
            s.total = max_evals;
            nelder_mead(space, max_evals, &mut s)?;
        }
    }
    let mut trials = s.trials;
    trials.sort_by(|a, b| b.score.total_cmp(&a.score));
    let best = trials
        .first()
        .cloned()
        .ok_or_else(|| QuantError::NotEnoughData("no point was evaluated".into()))?;
    Ok(SearchOutcome {
        best,
        evaluations: trials.len(),
        top: trials.into_iter().take(10).collect(),
    })
}

fn nelder_mead(space: &[ParamRange], max_evals: usize, s: &mut Search<'_>) -> Result<()> {
    let d = space.len();
    let to_x = |u: &[f64]| -> Vec<f64> {
        u.iter()
            .zip(space)
            .map(|(u, p)| snap(p, p.min + u.clamp(0.0, 1.0) * (p.max - p.min)))
            .collect()
    };
    // Minimise f = -score over the unit cube.
    let f = |u: &[f64], s: &mut Search<'_>| -> Result<f64> { Ok(-s.eval(to_x(u))?) };
    let mut simplex: Vec<Vec<f64>> = vec![vec![0.5; d]];
    for i in 0..d {
        let mut v = vec![0.5; d];
        v[i] = 0.75;
        simplex.push(v);
    }
    let mut vals: Vec<f64> = Vec::with_capacity(d + 1);
    for v in &simplex {
        vals.push(f(v, s)?);
    }
    let mut evals = d + 1;
    while evals < max_evals {
        let mut order: Vec<usize> = (0..=d).collect();
        order.sort_by(|a, b| vals[*a].total_cmp(&vals[*b]));
        simplex = order.iter().map(|i| simplex[*i].clone()).collect();
        vals = order.iter().map(|i| vals[*i]).collect();
        let spread = simplex
            .iter()
            .flat_map(|v| v.iter().zip(&simplex[0]).map(|(a, b)| (a - b).abs()))
            .fold(0.0, f64::max);
        if spread < 1e-9 || (vals[d] - vals[0]).abs() < 1e-12 && spread < 1e-6 {
            break;
        }
        let centroid: Vec<f64> = (0..d)
            .map(|j| simplex[..d].iter().map(|v| v[j]).sum::<f64>() / d as f64)
            .collect();
        let along = |t: f64| -> Vec<f64> {
            (0..d)
                .map(|j| (centroid[j] + t * (simplex[d][j] - centroid[j])).clamp(0.0, 1.0))
                .collect()
        };
        let xr = along(-1.0);
        let fr = f(&xr, s)?;
        evals += 1;
        if fr < vals[0] {
            let xe = along(-2.0);
            let fe = f(&xe, s)?;
            evals += 1;
            (simplex[d], vals[d]) = if fe < fr { (xe, fe) } else { (xr, fr) };
        } else if fr < vals[d - 1] {
            (simplex[d], vals[d]) = (xr, fr);
        } else {
            let xc = if fr < vals[d] {
                along(-0.5)
            } else {
                along(0.5)
            };
            let fc = f(&xc, s)?;
            evals += 1;
            if fc < vals[d].min(fr) {
                (simplex[d], vals[d]) = (xc, fc);
            } else {
                for i in 1..=d {
                    simplex[i] = (0..d)
                        .map(|j| simplex[0][j] + 0.5 * (simplex[i][j] - simplex[0][j]))
                        .collect();
                    vals[i] = f(&simplex[i].clone(), s)?;
                    evals += 1;
                }
            }
        }
    }
    Ok(())
}

/// The out-of-sample verdict on a search.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct OverfitReport {
    /// Objective on the data the search used.
    pub in_sample: f64,
    /// Objective of the same parameters on held-out data.
    pub out_of_sample: f64,
    /// out_of_sample / in_sample (when in_sample > 0).
    pub retained: Option<f64>,
    /// Whether the edge mostly vanished out of sample.
    pub overfit: bool,
}

/// Flags overfitting when a positive in-sample score keeps less than
/// `min_retained` of itself out of sample (0.5: half the edge).
pub fn overfit_check(in_sample: f64, out_of_sample: f64, min_retained: f64) -> OverfitReport {
    let retained = (in_sample > 0.0).then(|| out_of_sample / in_sample);
    OverfitReport {
        in_sample,
        out_of_sample,
        retained,
        overfit: retained.is_some_and(|r| r < min_retained),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn space() -> Vec<ParamRange> {
        vec![
            ParamRange {
                name: "x".into(),
                min: -10.0,
                max: 10.0,
                step: Some(1.0),
                integer: false,
            },
            ParamRange {
                name: "y".into(),
                min: -10.0,
                max: 10.0,
                step: Some(0.5),
                integer: false,
            },
        ]
    }

    /// Known optimum at (3, -1.5) with value 2.
    fn bowl(p: &[f64]) -> Result<f64> {
        Ok(2.0 - (p[0] - 3.0).powi(2) - 2.0 * (p[1] + 1.5).powi(2))
    }

    #[test]
    fn every_method_finds_the_known_optimum() {
        let mut quiet = |_: usize, _: usize| Ok(());
        let g = search(&space(), SearchMethod::Grid, 0, &mut bowl, &mut quiet).unwrap();
        assert_eq!(g.best.params, vec![3.0, -1.5]);
        assert_eq!(g.evaluations, 21 * 41);
        let n = search(
            &space(),
            SearchMethod::NelderMead { max_evals: 400 },
            0,
            &mut bowl,
            &mut quiet,
        )
        .unwrap();
        assert!(
            (n.best.params[0] - 3.0).abs() < 1e-3 && (n.best.params[1] + 1.5).abs() < 1e-3,
            "{:?}",
            n.best
        );
        assert!(n.evaluations <= 400);
        let r = search(
            &space(),
            SearchMethod::Random { trials: 3000 },
            9,
            &mut bowl,
            &mut quiet,
        )
        .unwrap();
        assert!(r.best.score > 1.8, "{:?}", r.best);
    }

    #[test]
    fn integer_parameters_stay_whole_and_progress_can_cancel() {
        let sp = vec![ParamRange {
            name: "n".into(),
            min: 2.0,
            max: 50.0,
            step: None,
            integer: true,
        }];
        let mut obj = |p: &[f64]| Ok(-(p[0] - 17.0).abs());
        let mut quiet = |_: usize, _: usize| Ok(());
        let out = search(
            &sp,
            SearchMethod::NelderMead { max_evals: 200 },
            0,
            &mut obj,
            &mut quiet,
        )
        .unwrap();
        assert_eq!(out.best.params, vec![17.0]);
        let mut stop = |done: usize, _: usize| {
            if done >= 5 {
                Err(QuantError::Cancelled)
            } else {
                Ok(())
            }
        };
        let err = search(
            &sp,
            SearchMethod::Random { trials: 1000 },
            1,
            &mut obj,
            &mut stop,
        )
        .unwrap_err();
        assert!(matches!(err, QuantError::Cancelled));
    }

    #[test]
    fn the_overfit_flag_reads_the_retained_edge() {
        assert!(overfit_check(2.0, 0.3, 0.5).overfit);
        assert!(!overfit_check(2.0, 1.5, 0.5).overfit);
        assert!(!overfit_check(-0.5, -1.0, 0.5).overfit);
    }
}
