//! Stress tests: apply a scenario's shock per asset class (or per position
//! name) to a book's market values.
//!
//! The named scenarios are peak-to-trough (or one-day) moves of public
//! benchmark indices, rounded to 0.1%:
//!
//! | scenario | window | equity | tech_equity | bonds | crypto |
//! |---|---|---|---|---|---|
//! | `black_monday_1987` | 1987-10-19 | S&P 500 -20.5% | | | |
//! | `dotcom_2000_2002` | 2000-03-10 .. 2002-10-09 | S&P 500 -49.1% | Nasdaq Comp. -77.9% | | |
//! | `gfc_2008` | 2007-10-09 .. 2009-03-09 | S&P 500 -56.8% | Nasdaq Comp. -55.6% | US Agg. 2008 +5.2% | |
//! | `covid_2020` | 2020-02-19 .. 2020-03-23 | S&P 500 -33.9% | Nasdaq Comp. -30.1% | | BTC 2020-03-12 -39% (one day) |
//! | `rates_2022` | 2022-01-03 .. 2022-10-12 | S&P 500 -25.4% | Nasdaq Comp. -35.1% | US Agg. 2022 -13.0% | BTC 2022 -64.2% |
//!
//! An asset class a scenario has no figure for is reported as not covered
//! (shock 0), never guessed; user shocks fill such gaps.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::{QuantError, Result};

/// One holding of the book under test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Exposure {
    /// Position name (`SPY`, `TLT`).
    pub name: String,
    /// Asset class: `equity`, `tech_equity`, `bonds`, `crypto`, or your own.
    pub asset_class: String,
    /// Market value (negative when short).
    pub value: f64,
}

/// A named historical scenario: shocks by asset class.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scenario {
    /// Name (`gfc_2008`).
    pub name: &'static str,
    /// What happened and when.
    pub description: &'static str,
    /// Return by asset class.
    pub shocks: &'static [(&'static str, f64)],
}

/// The built-in scenarios (see the module doc for sources and windows).
pub const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "black_monday_1987",
        description: "1987-10-19, one day: S&P 500 -20.5%",
        shocks: &[("equity", -0.205)],
    },
    Scenario {
        name: "dotcom_2000_2002",
        description: "2000-03-10 to 2002-10-09: S&P 500 -49.1%, Nasdaq Composite -77.9%",
        shocks: &[("equity", -0.491), ("tech_equity", -0.779)],
    },
    Scenario {
        name: "gfc_2008",
        description: "2007-10-09 to 2009-03-09: S&P 500 -56.8%, Nasdaq -55.6%; US Aggregate bonds +5.2% in 2008",
        shocks: &[
            ("equity", -0.568),
            ("tech_equity", -0.556),
            ("bonds", 0.052),
        ],
    },
    Scenario {
        name: "covid_2020",
        description: "2020-02-19 to 2020-03-23: S&P 500 -33.9%, Nasdaq -30.1%; Bitcoin -39% on 2020-03-12",
        shocks: &[
            ("equity", -0.339),
            ("tech_equity", -0.301),
            ("crypto", -0.39),
        ],
    },
    Scenario {
        name: "rates_2022",
        description: "2022-01-03 to 2022-10-12: S&P 500 -25.4%, Nasdaq -35.1%; US Aggregate -13.0% and Bitcoin -64.2% over 2022",
        shocks: &[
            ("equity", -0.254),
            ("tech_equity", -0.351),
            ("bonds", -0.13),
            ("crypto", -0.642),
        ],
    },
];

/// The outcome of one scenario on the book.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StressResult {
    /// Scenario name.
    pub scenario: String,
    /// Profit or loss in money.
    pub pnl: f64,
    /// Over the book's gross value.
    pub pnl_pct_of_gross: f64,
    /// Profit or loss by position.
    pub by_position: BTreeMap<String, f64>,
    /// Asset classes in the book the scenario has no figure for.
    pub not_covered: Vec<String>,
}

/// Applies `shocks` (asset class or position name -> return; a name wins
/// over its class) to the book.
pub fn apply(
    book: &[Exposure],
    scenario: &str,
    shocks: &BTreeMap<String, f64>,
) -> Result<StressResult> {
    if book.is_empty() {
        return Err(QuantError::invalid(
            "positions",
            "give at least one position",
        ));
    }
    for (k, v) in shocks {
        if !(-1.0..=10.0).contains(v) {
            return Err(QuantError::invalid(
                format!("shocks.{k}"),
                "a shock is a return between -1 and 10",
            ));
        }
    }
    let gross: f64 = book.iter().map(|e| e.value.abs()).sum();
    let mut by_position = BTreeMap::new();
    let mut not_covered = vec![];
    let mut pnl = 0.0;
    for e in book {
        let s = shocks.get(&e.name).or_else(|| shocks.get(&e.asset_class));
        if s.is_none() && !not_covered.contains(&e.asset_class) {
            not_covered.push(e.asset_class.clone());
        }
        let p = e.value * s.copied().unwrap_or(0.0);
        *by_position.entry(e.name.clone()).or_insert(0.0) += p;
        pnl += p;
    }
    Ok(StressResult {
        scenario: scenario.to_string(),
        pnl,
        pnl_pct_of_gross: if gross > 0.0 { pnl / gross } else { 0.0 },
        by_position,
        not_covered,
    })
}

/// Runs the named scenarios (all when `names` is empty) and optional user
/// shocks (as scenario `user`).
pub fn stress_test(
    book: &[Exposure],
    names: &[String],
    user: Option<&BTreeMap<String, f64>>,
) -> Result<Vec<StressResult>> {
    let mut out = vec![];
    for (i, n) in names.iter().enumerate() {
        if !SCENARIOS.iter().any(|s| s.name == n) {
            let known: Vec<&str> = SCENARIOS.iter().map(|s| s.name).collect();
            return Err(QuantError::invalid(
                format!("scenarios[{i}]"),
                format!("unknown scenario `{n}` (known: {})", known.join(", ")),
            ));
        }
    }
    for s in SCENARIOS
        .iter()
        .filter(|s| names.is_empty() || names.iter().any(|n| n == s.name))
    {
        let shocks = s.shocks.iter().map(|(k, v)| (k.to_string(), *v)).collect();
        out.push(apply(book, s.name, &shocks)?);
    }
    if let Some(u) = user {
        out.push(apply(book, "user", u)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenarios_price_the_book_and_name_uncovered_classes() {
        let book = vec![
            Exposure {
                name: "SPY".into(),
                asset_class: "equity".into(),
                value: 60_000.0,
            },
            Exposure {
                name: "AGG".into(),
                asset_class: "bonds".into(),
                value: 40_000.0,
            },
            Exposure {
                name: "GLD".into(),
                asset_class: "gold".into(),
                value: 10_000.0,
            },
        ];
        let r = stress_test(&book, &["gfc_2008".into()], None).unwrap();
        // 60000 * -0.568 + 40000 * 0.052 = -34080 + 2080 = -32000
        assert!((r[0].pnl + 32_000.0).abs() < 1e-9);
        assert_eq!(r[0].not_covered, vec!["gold".to_string()]);
        let user: BTreeMap<String, f64> =
            [("equity".to_string(), -0.1), ("GLD".to_string(), 0.05)].into();
        let r = stress_test(&book, &["covid_2020".into()], Some(&user)).unwrap();
        assert!((r[1].pnl - (-6000.0 + 500.0)).abs() < 1e-9);
        assert!(
            stress_test(&book, &["nope".into()], None)
                .unwrap_err()
                .to_string()
                .contains("scenarios[0]")
        );
    }
}
