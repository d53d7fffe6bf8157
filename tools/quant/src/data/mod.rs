//! Where bars come from: the [`BarProvider`] trait and its implementations:
//! the seeded [`synthetic`] generator (the embedded default), user CSV and
//! Parquet files ([`csv`], [`parquet`](mod@parquet)), Stooq's daily CSV download ([`stooq`]) and Alpha Vantage's
//! daily series ([`alphavantage`], API key).

pub mod alphavantage;
pub mod csv;
#[cfg(feature = "parquet")]
pub mod parquet;
pub mod stooq;
pub mod synthetic;

use async_trait::async_trait;

use crate::bars::BarSeries;
use crate::error::Result;

/// What to fetch: one symbol's daily bars in an optional date range.
#[derive(Debug, Clone, Default)]
pub struct BarRequest {
    /// Symbol as the provider spells it.
    pub symbol: String,
    /// First day (day number), inclusive.
    pub from: Option<i64>,
    /// Last day (day number), inclusive.
    pub to: Option<i64>,
}

/// A source of daily bars. Every series it returns names the source in
/// [`BarSeries::source`], so every answer built on it can say where its data
/// came from.
#[async_trait]
pub trait BarProvider: Send + Sync {
    /// The provider's name (`synthetic`, `csv`, `stooq`).
    fn name(&self) -> &str;
    /// The bars of `req.symbol` in the range.
    async fn bars(&self, req: &BarRequest) -> Result<BarSeries>;
}
