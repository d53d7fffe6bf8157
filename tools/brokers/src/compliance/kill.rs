//! The emergency kill rule at the broker: the risk bundle's
//! [`KillRule`] (nt-quant), read from the same settings
//! (`[bundle_config.brokers] kill_max_drawdown`, `kill_max_period_loss`,
//! `kill_max_consecutive_losses`, or `NT_KILL_MAX_DRAWDOWN`,
//! `NT_KILL_MAX_PERIOD_LOSS`, `NT_KILL_MAX_CONSECUTIVE_LOSSES`; any one of
//! them turns the check on, the others then take the risk bundle's
//! defaults), refuses orders that add risk (buys, short sales, the short
//! part of a sell) once the account's figures reach a limit; a sell that
//! closes a long position and a buy to cover stay allowed.
//!
//! The paper account keeps no equity history, so the figures are what the
//! database shows ([`AccountRisk`]), per currency:
//! - drawdown: the fall of equity (cash plus positions at the current
//!   marks) below the starting cash (the cash before the first fill:
//!   today's cash less every fill's cash flow), not below an unknown peak;
//! - period loss: the realized loss of today's (UTC) closing fills, less
//!   their commissions, as a fraction of the realized equity at the start of
//!   the day (starting cash plus earlier realized P&L);
//! - consecutive losses: the closing fills in a row, most recent last,
//!   whose realized P&L less commission was below zero.
//!
//! The largest drawdown and period loss over the currencies count.

use nt_mcp_core::BundleSettings;
use nt_quant::risk::adaptive::{KillFigures, KillRule};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::Serialize;

use super::checks::{CheckResult, sellable};
use crate::error::{BrokersError, Result};
use crate::types::{Order, OrderRequest, Side};

/// The rule name a kill refusal reports.
pub const KILL_RULE: &str = "kill_rule";

/// The kill rule from the brokers' settings (the table first, then the
/// `NT_KILL_*` environment); `None` when none of the three is set.
pub fn kill_rule_from(settings: &BundleSettings) -> Result<Option<KillRule>> {
    let bad = |e: nt_mcp_core::SettingError| {
        BrokersError::Config(format!("bundle_config.brokers.{}: {}", e.key, e.reason))
    };
    let dd = settings
        .decimal("kill_max_drawdown", "NT_KILL_MAX_DRAWDOWN")
        .map_err(bad)?;
    let pl = settings
        .decimal("kill_max_period_loss", "NT_KILL_MAX_PERIOD_LOSS")
        .map_err(bad)?;
    let n = settings
        .integer(
            "kill_max_consecutive_losses",
            "NT_KILL_MAX_CONSECUTIVE_LOSSES",
        )
        .map_err(bad)?;
    if dd.is_none() && pl.is_none() && n.is_none() {
        return Ok(None);
    }
    let mut rule = KillRule::default();
    if let Some(d) = dd {
        rule.max_drawdown = d.to_f64().unwrap_or(f64::NAN);
    }
    if let Some(d) = pl {
        rule.max_period_loss = d.to_f64().unwrap_or(f64::NAN);
    }
    if let Some(n) = n {
        rule.max_consecutive_losses = u32::try_from(n).map_err(|_| {
            BrokersError::Config(
                "bundle_config.brokers.kill_max_consecutive_losses: must be 0 or more".into(),
            )
        })?;
    }
    rule.check()
        .map_err(|e| BrokersError::Config(format!("bundle_config.brokers.kill_*: {e}")))?;
    Ok(Some(rule))
}

/// One currency's figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CurrencyRisk {
    /// The currency.
    pub currency: String,
    /// Cash before the first fill.
    pub starting_cash: Decimal,
    /// Cash plus positions at the current marks.
    pub equity: Decimal,
    /// Realized P&L (less commissions) of closing fills before today.
    pub realized_before_today: Decimal,
    /// Realized P&L (less commissions) of today's closing fills.
    pub realized_today: Decimal,
}

/// What the database shows of an account's risk.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AccountRisk {
    /// Per currency with starting cash.
    pub currencies: Vec<CurrencyRisk>,
    /// Losing closing fills in a row, most recent last.
    pub losing_streak: u32,
}

impl AccountRisk {
    /// The figures the rule compares: the largest drawdown and period loss
    /// over the currencies, and the losing streak.
    pub fn figures(&self) -> KillFigures {
        let frac = |num: Decimal, den: Decimal| {
            if den > Decimal::ZERO && num > Decimal::ZERO {
                (num / den).to_f64().unwrap_or(0.0)
            } else {
                0.0
            }
        };
        let mut f = KillFigures {
            consecutive_losses: self.losing_streak,
            ..KillFigures::default()
        };
        for c in &self.currencies {
            f.drawdown = f
                .drawdown
                .max(frac(c.starting_cash - c.equity, c.starting_cash));
            f.period_loss = f.period_loss.max(frac(
                -c.realized_today,
                c.starting_cash + c.realized_before_today,
            ));
        }
        f
    }

    /// The figures in words, for the check's detail.
    pub fn describe(&self) -> String {
        let mut parts: Vec<String> = self
            .currencies
            .iter()
            .map(|c| {
                format!(
                    "{}: equity {} vs starting cash {}, realized today {} (before today {})",
                    c.currency,
                    c.equity.round_dp(2),
                    c.starting_cash.round_dp(2),
                    c.realized_today.round_dp(2),
                    c.realized_before_today.round_dp(2)
                )
            })
            .collect();
        parts.push(format!(
            "{} losing closed trades in a row",
            self.losing_streak
        ));
        parts.join("; ")
    }
}

/// Whether `req` adds risk: a buy, a short sale, or a sell of more than the
/// long position available (`held` less working sells in `resting`).
pub fn adds_risk(req: &OrderRequest, held: Decimal, resting: &[Order]) -> bool {
    match req.side {
        Side::Buy | Side::SellShort => true,
        Side::BuyToCover => false,
        Side::Sell => req.qty > sellable(&req.symbol, held, resting).available,
    }
}

/// The `kill_rule` check: refuses an order that adds risk once `risk`
/// reaches one of `rule`'s limits; an order that only reduces risk passes
/// whatever the figures.
pub fn kill_check(rule: &KillRule, risk: &AccountRisk, adds: bool) -> CheckResult {
    let f = risk.figures();
    let reasons = rule.judge(&f);
    let limits = format!(
        "limits: drawdown {:.2}%, one-day loss {:.2}%, {} losing trades in a row (0 = off)",
        rule.max_drawdown * 100.0,
        rule.max_period_loss * 100.0,
        rule.max_consecutive_losses
    );
    let figures = format!(
        "drawdown from starting cash {:.2}%, realized loss today {:.2}%; {}",
        f.drawdown * 100.0,
        f.period_loss * 100.0,
        risk.describe()
    );
    let (passed, detail) = match (reasons.is_empty(), adds) {
        (true, _) => (true, format!("within the kill rule: {figures} ({limits})")),
        (false, true) => (
            false,
            format!(
                "the emergency kill rule has tripped ({}): {figures} ({limits}); only orders that reduce risk (closing sells, buys to cover) are allowed",
                reasons.join("; ")
            ),
        ),
        (false, false) => (
            true,
            format!(
                "the kill rule has tripped ({}), but this order reduces risk: {figures} ({limits})",
                reasons.join("; ")
            ),
        ),
    };
    CheckResult {
        rule: KILL_RULE.to_string(),
        passed,
        detail,
    }
}

/// Puts `check` among `checks`, before the records (which come last).
pub fn insert_check(checks: &mut Vec<CheckResult>, check: CheckResult) {
    let at = checks
        .iter()
        .position(|c| super::RECORDS.contains(&c.rule.as_str()))
        .unwrap_or(checks.len());
    checks.insert(at, check);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn risk(start: i64, equity: i64, before: i64, today: i64, streak: u32) -> AccountRisk {
        AccountRisk {
            currencies: vec![CurrencyRisk {
                currency: "USD".into(),
                starting_cash: start.into(),
                equity: equity.into(),
                realized_before_today: before.into(),
                realized_today: today.into(),
            }],
            losing_streak: streak,
        }
    }

    #[test]
    fn figures_are_fractions_of_the_starting_cash_and_the_days_opening() {
        // 1000 start, 900 now: 10% drawdown; 1000 + 200 earlier, -60 today: 5%.
        let f = risk(1000, 900, 200, -60, 2).figures();
        assert!((f.drawdown - 0.10).abs() < 1e-12, "{f:?}");
        assert!((f.period_loss - 0.05).abs() < 1e-12, "{f:?}");
        assert_eq!(f.consecutive_losses, 2);
        // Gains give zero, not negative, figures.
        let f = risk(1000, 1100, 0, 50, 0).figures();
        assert_eq!((f.drawdown, f.period_loss), (0.0, 0.0));
    }

    #[test]
    fn a_tripped_rule_refuses_only_orders_that_add_risk() {
        let rule = KillRule {
            max_drawdown: 0.0,
            max_period_loss: 0.0,
            max_consecutive_losses: 2,
        };
        let r = risk(1000, 990, 0, -10, 2);
        let c = kill_check(&rule, &r, true);
        assert!(!c.passed && c.rule == "kill_rule", "{c:?}");
        assert!(
            c.detail.contains("2 losing periods in a row (limit 2)"),
            "{}",
            c.detail
        );
        assert!(kill_check(&rule, &r, false).passed);
        assert!(kill_check(&rule, &risk(1000, 990, 0, -10, 1), true).passed);
    }
}
