//! [`Bar`] and [`BarSeries`]: one symbol's OHLCV bars in time order, with
//! the name of the source they came from, and a tiny calendar for the
//! `YYYY-MM-DD` dates bars carry.

use serde::{Deserialize, Serialize};

use crate::error::{QuantError, Result};

/// One OHLCV bar.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Bar {
    /// Day number (days since 1970-01-01, UTC) of the bar's session.
    pub day: i64,
    /// Opening price.
    pub open: f64,
    /// Highest price.
    pub high: f64,
    /// Lowest price.
    pub low: f64,
    /// Closing price.
    pub close: f64,
    /// Volume traded.
    pub volume: f64,
}

/// One symbol's bars, oldest first, and where they came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BarSeries {
    /// Symbol (`AAPL.US`, `SYN`).
    pub symbol: String,
    /// The data source (`synthetic(seed=7)`, `csv:/path`, `stooq`).
    pub source: String,
    /// The bars, strictly increasing in `day`.
    pub bars: Vec<Bar>,
}

impl BarSeries {
    /// A checked series: at least one bar, strictly increasing days,
    /// positive prices with `low <= open, close <= high`.
    pub fn new(
        symbol: impl Into<String>,
        source: impl Into<String>,
        bars: Vec<Bar>,
    ) -> Result<Self> {
        if bars.is_empty() {
            return Err(QuantError::NotEnoughData("the series has no bars".into()));
        }
        for (i, b) in bars.iter().enumerate() {
            let ok = b.low > 0.0
                && b.low <= b.open.min(b.close) + 1e-9
                && b.high + 1e-9 >= b.open.max(b.close)
                && b.volume >= 0.0
                && [b.open, b.high, b.low, b.close, b.volume]
                    .iter()
                    .all(|x| x.is_finite());
            if !ok {
                return Err(QuantError::Data(format!(
                    "bar {i} ({}) is not a valid OHLCV bar (need 0 < low <= open, close <= high, volume >= 0)",
                    format_day(b.day)
                )));
            }
            if i > 0 && bars[i - 1].day >= b.day {
                return Err(QuantError::Data(format!(
                    "bar {i} ({}) is not after the bar before it; bars must be in time order without repeats",
                    format_day(b.day)
                )));
            }
        }
        Ok(Self {
            symbol: symbol.into(),
            source: source.into(),
            bars,
        })
    }

    /// Number of bars.
    pub fn len(&self) -> usize {
        self.bars.len()
    }

    /// Whether there are no bars (never true for a checked series).
    pub fn is_empty(&self) -> bool {
        self.bars.is_empty()
    }

    /// Closing prices.
    pub fn closes(&self) -> Vec<f64> {
        self.bars.iter().map(|b| b.close).collect()
    }

    /// Simple close-to-close returns (one fewer than bars).
    pub fn returns(&self) -> Vec<f64> {
        simple_returns(&self.closes())
    }

    /// The bars in `range`, as a series of their own.
    pub fn slice(&self, range: std::ops::Range<usize>) -> Self {
        Self {
            symbol: self.symbol.clone(),
            source: self.source.clone(),
            bars: self.bars[range].to_vec(),
        }
    }

    /// The bars whose day is within `[from, to]` (either bound optional).
    pub fn between(&self, from: Option<i64>, to: Option<i64>) -> Self {
        let bars = self
            .bars
            .iter()
            .filter(|b| from.is_none_or(|f| b.day >= f) && to.is_none_or(|t| b.day <= t))
            .copied()
            .collect();
        Self {
            symbol: self.symbol.clone(),
            source: self.source.clone(),
            bars,
        }
    }
}

/// Simple returns `p[t] / p[t-1] - 1` of a price or equity path.
pub fn simple_returns(prices: &[f64]) -> Vec<f64> {
    prices.windows(2).map(|w| w[1] / w[0] - 1.0).collect()
}

/// The civil date (year, month, day) of a day number (H. Hinnant's algorithm).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// The day number of a civil date.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let (m, d) = (i64::from(m), i64::from(d));
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468
}

/// `YYYY-MM-DD` of a day number.
pub fn format_day(day: i64) -> String {
    let (y, m, d) = civil_from_days(day);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Parses `YYYY-MM-DD` (or `YYYYMMDD`) into a day number.
pub fn parse_day(text: &str) -> Option<i64> {
    let t = text.trim();
    let (y, m, d) = if t.len() == 8 && t.bytes().all(|b| b.is_ascii_digit()) {
        (&t[0..4], &t[4..6], &t[6..8])
    } else {
        let mut it = t.get(..10)?.split('-');
        (it.next()?, it.next()?, it.next()?)
    };
    let (y, m, d): (i64, u32, u32) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let day = days_from_civil(y, m, d);
    (civil_from_days(day) == (y, m, d)).then_some(day)
}

/// Whether a day number is a Saturday or Sunday (1970-01-01 was a Thursday).
pub fn is_weekend(day: i64) -> bool {
    matches!((day + 3).rem_euclid(7), 5 | 6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip_and_weekends() {
        assert_eq!(
            parse_day("2024-02-29").map(format_day).as_deref(),
            Some("2024-02-29")
        );
        assert_eq!(parse_day("20240105"), parse_day("2024-01-05"));
        assert_eq!(parse_day("2023-02-29"), None);
        // 2024-01-06 was a Saturday, 2024-01-08 a Monday.
        assert!(is_weekend(parse_day("2024-01-06").unwrap()));
        assert!(!is_weekend(parse_day("2024-01-08").unwrap()));
    }

    #[test]
    fn a_series_refuses_bad_bars() {
        let bar = |day, close| Bar {
            day,
            open: close,
            high: close,
            low: close,
            close,
            volume: 1.0,
        };
        assert!(BarSeries::new("X", "t", vec![bar(1, 10.0), bar(1, 11.0)]).is_err());
        assert!(BarSeries::new("X", "t", vec![bar(1, -1.0)]).is_err());
        let s = BarSeries::new("X", "t", vec![bar(1, 10.0), bar(2, 11.0)]).unwrap();
        assert!((s.returns()[0] - 0.1).abs() < 1e-12);
    }
}
