//! Bank of Canada Valet series (keyless) for `rates_series`, through the
//! shared [`nt_valet`] client (the brokers' tax FX table uses the same one).
//! FX series such as `FXUSDCAD` are CAD per unit of the other currency.

use nt_valet::ValetError;
use nt_valet::client::Window;

use crate::error::{NewsError, Result};
use crate::rates::{Observation, Series};

pub use nt_valet::DEFAULT_BASE;

/// The provider's name in answers and errors.
const NAME: &str = "Bank of Canada Valet";

/// The Valet client, answering with the news bundle's [`Series`].
#[derive(Debug)]
pub struct Valet {
    inner: nt_valet::Valet,
}

/// A Valet error in the news bundle's words.
fn news_error(e: ValetError) -> NewsError {
    match e {
        ValetError::Invalid { field, reason } => NewsError::invalid(field, reason),
        ValetError::Config(detail) => NewsError::Config(detail),
        ValetError::Http(e) => NewsError::http(NAME, e),
        ValetError::Parse(detail) => NewsError::parse(NAME, detail),
        ValetError::Upstream { status, message } => {
            NewsError::upstream(NAME, format!("answered {status}: {message}"))
        }
    }
}

impl Valet {
    /// A client at `base`.
    pub fn new(base: &str) -> Result<Self> {
        Ok(Self {
            inner: nt_valet::Valet::new(base).map_err(news_error)?,
        })
    }

    /// Observations of `id` between the dates, or the `recent` latest.
    pub async fn series(
        &self,
        id: &str,
        start: Option<&str>,
        end: Option<&str>,
        recent: Option<u32>,
    ) -> Result<Series> {
        let window = Window {
            start: start.map(str::to_string),
            end: end.map(str::to_string),
            recent,
        };
        let s = self.inner.series(id, &window).await.map_err(news_error)?;
        Ok(Series {
            id: s.id,
            provider: "bank-of-canada".into(),
            label: s.label,
            observations: s
                .observations
                .into_iter()
                .map(|o| Observation {
                    date: o.date,
                    value: o.value.and_then(|v| v.parse().ok()),
                })
                .collect(),
        })
    }
}
