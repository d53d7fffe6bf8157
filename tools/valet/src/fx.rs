//! The Bank of Canada's daily exchange rates as CAD per unit of a foreign
//! currency: series `FX{CCY}CAD` (`FXUSDCAD` = Canadian dollars for one US
//! dollar), all of them in the group [`FX_GROUP`]. These are the rates the
//! CRA accepts for converting foreign amounts to CAD.

use std::str::FromStr;

use rust_decimal::Decimal;

use crate::client::{Valet, Window};
use crate::error::{Result, ValetError};

/// The group holding every daily FX series.
pub const FX_GROUP: &str = "FX_RATES_DAILY";

/// One day's rate: CAD for one unit of `currency`.
#[derive(Debug, Clone, PartialEq)]
pub struct CadRate {
    /// Day, `YYYY-MM-DD`.
    pub date: String,
    /// ISO code (`USD`).
    pub currency: String,
    /// CAD per unit.
    pub rate: Decimal,
}

/// The daily series of `currency` (`USD` → `FXUSDCAD`).
pub fn fx_series(currency: &str) -> String {
    format!("FX{}CAD", currency.to_ascii_uppercase())
}

/// The currency of an `FX{CCY}CAD` series name.
fn currency_of(series: &str) -> Option<&str> {
    let ccy = series.strip_prefix("FX")?.strip_suffix("CAD")?;
    (ccy.len() == 3 && ccy.chars().all(|c| c.is_ascii_uppercase())).then_some(ccy)
}

/// Daily CAD rates of `currencies` (ISO codes; empty means every currency
/// the Bank publishes) over `window`, oldest first, then by currency. One
/// currency is one series request; several are one group request. Days the
/// Bank published no value are left out; a currency the Bank does not
/// publish is an error naming the ones it does.
pub async fn cad_rates(
    valet: &Valet,
    currencies: &[String],
    window: &Window,
) -> Result<Vec<CadRate>> {
    let mut wanted = Vec::with_capacity(currencies.len());
    for c in currencies {
        let c = c.trim().to_ascii_uppercase();
        if c.len() != 3 || !c.chars().all(|ch| ch.is_ascii_alphabetic()) {
            return Err(ValetError::invalid(
                "currencies",
                format!("`{c}` is not a 3-letter ISO code"),
            ));
        }
        if c == "CAD" {
            return Err(ValetError::invalid(
                "currencies",
                "CAD is the base currency (its rate is 1)",
            ));
        }
        if !wanted.contains(&c) {
            wanted.push(c);
        }
    }
    let series = if wanted.len() == 1 {
        vec![valet.series(&fx_series(&wanted[0]), window).await?]
    } else {
        let all = valet.group(FX_GROUP, window).await?;
        let published: Vec<&str> = all.iter().filter_map(|s| currency_of(&s.id)).collect();
        if let Some(missing) = wanted.iter().find(|c| !published.contains(&c.as_str())) {
            return Err(ValetError::invalid(
                "currencies",
                format!(
                    "the Bank of Canada publishes no daily rate for {missing}; it publishes {}",
                    published.join(", ")
                ),
            ));
        }
        all.into_iter()
            .filter(|s| {
                currency_of(&s.id)
                    .is_some_and(|c| wanted.is_empty() || wanted.iter().any(|w| w == c))
            })
            .collect()
    };
    let mut out = Vec::new();
    for s in series {
        let Some(currency) = currency_of(&s.id).map(str::to_string) else {
            continue;
        };
        for o in s.observations {
            let Some(text) = o.value else { continue };
            let rate = Decimal::from_str(&text).map_err(|_| {
                ValetError::Parse(format!("{} on {}: `{text}` is not a number", s.id, o.date))
            })?;
            if rate <= Decimal::ZERO {
                return Err(ValetError::Parse(format!(
                    "{} on {}: rate {text} is not positive",
                    s.id, o.date
                )));
            }
            out.push(CadRate {
                date: o.date,
                currency: currency.clone(),
                rate,
            });
        }
    }
    out.sort_by(|a, b| {
        a.date
            .cmp(&b.date)
            .then_with(|| a.currency.cmp(&b.currency))
    });
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_names_map_to_currencies() {
        assert_eq!(fx_series("usd"), "FXUSDCAD");
        assert_eq!(currency_of("FXUSDCAD"), Some("USD"));
        assert_eq!(currency_of("FXCADUSD"), None);
        assert_eq!(currency_of("CEER_DAILY"), None);
    }
}
