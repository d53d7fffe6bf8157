//! Training data: where a series comes from ([`SeriesInput`]: an array,
//! CSV text or file, or nt-quant's synthetic bars, the strategies bundle's
//! default provider), its digest, the per-series [`Scaler`], sliding
//! windows, and the momentum classifier's return features.

use std::path::{Path, PathBuf};

use nt_quant::data::synthetic::{SyntheticParams, generate};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{NeuralError, Result};

/// One series: give exactly one of `values`, `csv`, `csv_path`, `synthetic`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SeriesInput {
    /// The values, oldest first.
    pub values: Option<Vec<f64>>,
    /// CSV text with a header row: an optional date column (`date`, `time`,
    /// `timestamp`, `ds`) and a value column (`value`, `close`, `adj_close`,
    /// `y`, or the one `column` names). Newest-first files are reversed.
    pub csv: Option<String>,
    /// A CSV file (same layout) under the bundle's `data_dir`.
    pub csv_path: Option<String>,
    /// The CSV's value column, when not one of the usual names.
    pub column: Option<String>,
    /// Closing prices of nt-quant's seeded synthetic bars (the strategies
    /// bundle's default data provider).
    pub synthetic: Option<SyntheticParams>,
}

/// A loaded series and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The values, oldest first.
    pub values: Vec<f64>,
    /// `values`, `csv`, `csv:<path>`, `synthetic(seed=..)`.
    pub source: String,
}

impl SeriesInput {
    /// Loads the series, at most `max_len` points, every value finite.
    pub fn load(&self, field: &str, max_len: usize, data_dir: Option<&Path>) -> Result<Series> {
        let given = [
            self.values.is_some(),
            self.csv.is_some(),
            self.csv_path.is_some(),
            self.synthetic.is_some(),
        ]
        .iter()
        .filter(|g| **g)
        .count();
        if given != 1 {
            return Err(NeuralError::invalid(
                field,
                "give exactly one of values, csv, csv_path, synthetic",
            ));
        }
        let col = self.column.as_deref();
        let (values, source) = if let Some(v) = &self.values {
            (v.clone(), "values".to_string())
        } else if let Some(text) = &self.csv {
            (parse_csv(text, col, &format!("{field}.csv"))?, "csv".into())
        } else if let Some(p) = &self.csv_path {
            let path = resolve_path(p, data_dir, &format!("{field}.csv_path"))?;
            let text = std::fs::read_to_string(&path).map_err(|e| {
                NeuralError::invalid(
                    format!("{field}.csv_path"),
                    format!("cannot read `{p}`: {e}"),
                )
            })?;
            (
                parse_csv(&text, col, &format!("{field}.csv_path"))?,
                format!("csv:{p}"),
            )
        } else if let Some(sp) = &self.synthetic {
            if sp.bars > max_len {
                return Err(NeuralError::invalid(
                    format!("{field}.synthetic.bars"),
                    format!("at most {max_len} points"),
                ));
            }
            let bars = generate("SYN", sp)
                .map_err(|e| NeuralError::invalid(format!("{field}.synthetic"), e.to_string()))?;
            (bars.closes(), bars.source)
        } else {
            unreachable!("exactly one source is given")
        };
        if values.len() > max_len {
            return Err(NeuralError::invalid(
                field,
                format!("{} points; at most {max_len}", values.len()),
            ));
        }
        if let Some(i) = values.iter().position(|v| !v.is_finite()) {
            return Err(NeuralError::invalid(
                field,
                format!("value {i} is not a finite number"),
            ));
        }
        Ok(Series { values, source })
    }
}

/// `p` inside `data_dir` (no escaping it with `..` or links).
fn resolve_path(p: &str, data_dir: Option<&Path>, field: &str) -> Result<PathBuf> {
    let dir = data_dir.ok_or_else(|| {
        NeuralError::invalid(
            field,
            "CSV files are read from the bundle's data_dir, which is not set ([bundle_config.neural] data_dir or NT_NEURAL_DATA_DIR); pass the text as `csv` instead",
        )
    })?;
    let dir = dir
        .canonicalize()
        .map_err(|e| NeuralError::invalid(field, format!("data_dir: {e}")))?;
    let full = dir
        .join(p)
        .canonicalize()
        .map_err(|e| NeuralError::invalid(field, format!("`{p}`: {e}")))?;
    if !full.starts_with(&dir) {
        return Err(NeuralError::invalid(
            field,
            "must name a file inside data_dir",
        ));
    }
    Ok(full)
}

const DATE_COLUMNS: &[&str] = &["date", "time", "timestamp", "datetime", "ds"];
const VALUE_COLUMNS: &[&str] = &["value", "close", "adj_close", "adj close", "y", "price"];

/// Values of a CSV with a header (see [`SeriesInput::csv`]).
pub fn parse_csv(text: &str, column: Option<&str>, field: &str) -> Result<Vec<f64>> {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<String> = lines
        .next()
        .ok_or_else(|| NeuralError::invalid(field, "empty CSV"))?
        .split(',')
        .map(|h| h.trim().trim_matches('"').to_ascii_lowercase())
        .collect();
    let date = header
        .iter()
        .position(|h| DATE_COLUMNS.contains(&h.as_str()));
    let value = match column {
        Some(c) => header.iter().position(|h| *h == c.to_ascii_lowercase()),
        None => VALUE_COLUMNS
            .iter()
            .find_map(|name| header.iter().position(|h| h == name))
            .or_else(|| (header.len() == 2 && date.is_some()).then(|| 1 - date.unwrap_or(0))),
    }
    .ok_or_else(|| {
        NeuralError::invalid(
            field,
            format!(
                "no value column in header {header:?} (name one with `column`, or use {VALUE_COLUMNS:?})"
            ),
        )
    })?;
    let mut rows: Vec<(Option<String>, f64)> = Vec::new();
    for (i, line) in lines.enumerate() {
        let cells: Vec<&str> = line
            .split(',')
            .map(|c| c.trim().trim_matches('"'))
            .collect();
        let cell = cells.get(value).ok_or_else(|| {
            NeuralError::invalid(field, format!("row {} has no column {}", i + 2, value + 1))
        })?;
        let v: f64 = cell.parse().map_err(|_| {
            NeuralError::invalid(field, format!("row {}: `{cell}` is not a number", i + 2))
        })?;
        rows.push((date.and_then(|d| cells.get(d)).map(|s| s.to_string()), v));
    }
    if date.is_some() && rows.len() > 1 {
        let asc = rows.windows(2).all(|w| w[0].0 < w[1].0);
        let desc = rows.windows(2).all(|w| w[0].0 > w[1].0);
        if desc {
            rows.reverse();
        } else if !asc {
            return Err(NeuralError::invalid(
                field,
                "dates must be strictly increasing (or strictly decreasing)",
            ));
        }
    }
    Ok(rows.into_iter().map(|(_, v)| v).collect())
}

/// SHA-256 (hex) of the series' values as little-endian f64 bytes.
pub fn digest(values: &[f64]) -> String {
    let mut h = Sha256::new();
    for v in values {
        h.update(v.to_le_bytes());
    }
    hex::encode(h.finalize())
}

/// Per-column z-score scaling, fitted on the training part and stored with
/// the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scaler {
    /// Column means.
    pub mean: Vec<f64>,
    /// Column standard deviations (1 where a column is constant).
    pub std: Vec<f64>,
}

impl Scaler {
    /// Fits one column per row entry over `rows`.
    pub fn fit(rows: &[Vec<f64>]) -> Self {
        let w = rows.first().map_or(0, Vec::len);
        let n = rows.len().max(1) as f64;
        let mut mean = vec![0.0; w];
        for r in rows {
            for (m, x) in mean.iter_mut().zip(r) {
                *m += x / n;
            }
        }
        let mut std = vec![0.0; w];
        for r in rows {
            for ((s, x), m) in std.iter_mut().zip(r).zip(&mean) {
                *s += (x - m).powi(2) / n;
            }
        }
        let std = std
            .into_iter()
            .map(|v| if v.sqrt() > 1e-12 { v.sqrt() } else { 1.0 })
            .collect();
        Self { mean, std }
    }

    /// Fits a single series.
    pub fn fit_series(values: &[f64]) -> Self {
        let rows: Vec<Vec<f64>> = values.iter().map(|v| vec![*v]).collect();
        Self::fit(&rows)
    }

    /// Scales value `x` of column `col`.
    pub fn scale(&self, col: usize, x: f64) -> f64 {
        (x - self.mean[col]) / self.std[col]
    }

    /// Undoes [`Scaler::scale`].
    pub fn unscale(&self, col: usize, z: f64) -> f64 {
        z * self.std[col] + self.mean[col]
    }
}

/// Sliding windows of `z`: inputs `[n, input]` and targets `[n, horizon]`,
/// row-major, for every start where both fit.
pub fn windows(z: &[f64], input: usize, horizon: usize) -> (Vec<f32>, Vec<f32>, usize) {
    let mut xs = Vec::new();
    let mut ys = Vec::new();
    let mut n = 0;
    if z.len() >= input + horizon {
        for t in input..=z.len() - horizon {
            xs.extend(z[t - input..t].iter().map(|v| *v as f32));
            ys.extend(z[t..t + horizon].iter().map(|v| *v as f32));
            n += 1;
        }
    }
    (xs, ys, n)
}

/// Look-back of the momentum features (rolling volatility and 20-period momentum).
pub const MOMENTUM_LOOKBACK: usize = 20;

/// Names of the momentum features for `lags` lagged returns.
pub fn momentum_feature_names(lags: usize) -> Vec<String> {
    let mut v: Vec<String> = (0..lags).map(|l| format!("ret_lag{l}")).collect();
    v.extend(["vol20".into(), "mom5".into(), "mom20".into()]);
    v
}

/// Simple returns of `prices` (every price must be positive).
pub fn returns(prices: &[f64], field: &str) -> Result<Vec<f64>> {
    if let Some(i) = prices.iter().position(|p| *p <= 0.0) {
        return Err(NeuralError::invalid(
            field,
            format!("the momentum model needs positive prices; value {i} is not"),
        ));
    }
    Ok(prices.windows(2).map(|w| w[1] / w[0] - 1.0).collect())
}

/// The feature row at return index `t` (needs `t + 1 >= max(lags, 20)`):
/// the last `lags` returns (newest first), the 20-period volatility and the
/// 5- and 20-period momentum (sums of returns).
pub fn momentum_row(r: &[f64], t: usize, lags: usize) -> Vec<f64> {
    let mut row: Vec<f64> = (0..lags).map(|l| r[t - l]).collect();
    let w = &r[t + 1 - MOMENTUM_LOOKBACK..=t];
    let m = w.iter().sum::<f64>() / w.len() as f64;
    let vol = (w.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (w.len() - 1) as f64).sqrt();
    row.push(vol);
    row.push(r[t - 4..=t].iter().sum());
    row.push(w.iter().sum());
    row
}

/// First return index with a full feature row.
pub fn momentum_first(lags: usize) -> usize {
    lags.max(MOMENTUM_LOOKBACK).max(5) - 1
}

/// Feature rows and labels (1 when the next return is positive) for every
/// return index with both.
pub fn momentum_samples(r: &[f64], lags: usize) -> (Vec<Vec<f64>>, Vec<f64>) {
    let first = momentum_first(lags);
    let mut xs = Vec::new();
    let mut ys = Vec::new();
    if r.len() >= first + 2 {
        for t in first..r.len() - 1 {
            xs.push(momentum_row(r, t, lags));
            ys.push(if r[t + 1] > 0.0 { 1.0 } else { 0.0 });
        }
    }
    (xs, ys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_with_dates_newest_first_and_named_columns() {
        let text = "Date,Open,Close\n2024-01-03,1,12\n2024-01-02,1,11\n2024-01-01,1,10\n";
        assert_eq!(
            parse_csv(text, None, "csv").unwrap(),
            vec![10.0, 11.0, 12.0]
        );
        assert_eq!(parse_csv(text, Some("open"), "csv").unwrap(), vec![1.0; 3]);
        let two = "ds,sales\n2024-01-01,5\n2024-01-02,6\n";
        assert_eq!(parse_csv(two, None, "csv").unwrap(), vec![5.0, 6.0]);
        let bad = "date,value\n2024-01-02,1\n2024-01-01,2\n2024-01-03,3\n";
        assert!(parse_csv(bad, None, "csv").is_err());
        assert!(parse_csv("date,value\n2024-01-01,x\n", None, "csv").is_err());
    }

    #[test]
    fn exactly_one_source() {
        let both = SeriesInput {
            values: Some(vec![1.0]),
            csv: Some("value\n1\n".into()),
            ..Default::default()
        };
        assert!(both.load("series", 10, None).is_err());
        let long = SeriesInput {
            values: Some(vec![1.0; 11]),
            ..Default::default()
        };
        let e = long.load("series", 10, None).unwrap_err().to_string();
        assert!(e.contains("at most 10"), "{e}");
        let path = SeriesInput {
            csv_path: Some("x.csv".into()),
            ..Default::default()
        };
        let e = path.load("series", 10, None).unwrap_err().to_string();
        assert!(e.contains("data_dir"), "{e}");
    }

    #[test]
    fn windows_and_momentum_rows() {
        let z: Vec<f64> = (0..6).map(f64::from).collect();
        let (xs, ys, n) = windows(&z, 3, 2);
        assert_eq!(n, 2);
        assert_eq!(xs, vec![0., 1., 2., 1., 2., 3.]);
        assert_eq!(ys, vec![3., 4., 4., 5.]);
        let r: Vec<f64> = (0..22).map(|i| f64::from(i) / 100.0).collect();
        let row = momentum_row(&r, 21, 2);
        assert_eq!(row[0], 0.21);
        assert_eq!(row[1], 0.20);
        // mom5 = 0.17 + ... + 0.21 = 0.95
        assert!((row[3] - 0.95).abs() < 1e-12);
        let (xs, ys) = momentum_samples(&r, 2);
        assert_eq!(xs.len(), 2);
        assert_eq!(ys, vec![1.0, 1.0]);
    }
}
