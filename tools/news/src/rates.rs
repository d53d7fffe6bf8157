//! Rates data: the US Treasury daily par yield curve, FRED series and Bank
//! of Canada Valet series, as plain values the tools answer with (each
//! answer names its provider), cached in the database like news.

use serde::{Deserialize, Serialize};

/// One tenor of a par yield curve.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CurvePoint {
    /// Tenor label (`1M`, `10Y`).
    pub tenor: String,
    /// Tenor in months (1.5 for the 6-week bill).
    pub months: f64,
    /// Par yield, percent.
    pub rate: f64,
}

/// One day's curve.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct YieldCurve {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// Points by increasing tenor.
    pub points: Vec<CurvePoint>,
}

impl YieldCurve {
    /// The rate at `months`, if quoted.
    pub fn rate(&self, months: f64) -> Option<f64> {
        self.points
            .iter()
            .find(|p| (p.months - months).abs() < 1e-9)
            .map(|p| p.rate)
    }

    /// 10-year minus 2-year, percentage points.
    pub fn spread_10y_2y(&self) -> Option<f64> {
        Some(self.rate(120.0)? - self.rate(24.0)?)
    }

    /// 10-year minus 3-month, percentage points.
    pub fn spread_10y_3m(&self) -> Option<f64> {
        Some(self.rate(120.0)? - self.rate(3.0)?)
    }
}

/// One observation of a series (`None`: missing on that date).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// The value.
    pub value: Option<f64>,
}

/// A time series from FRED or the Bank of Canada.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Series {
    /// Series id (`DGS10`, `FXUSDCAD`).
    pub id: String,
    /// Provider (`fred`, `bank-of-canada`).
    pub provider: String,
    /// The provider's label, when it gives one.
    pub label: Option<String>,
    /// Observations, oldest first.
    pub observations: Vec<Observation>,
}
