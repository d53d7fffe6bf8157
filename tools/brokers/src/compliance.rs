//! Pre-trade compliance checks, configurable per account: maximum order
//! value, price band against the last quote, the short-sale flag, restricted
//! symbols and wash-trade prevention against the account's own resting
//! orders. Every check reports a named result; a refusal names the rule.

use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sqlx::{AnyPool, Row};

use crate::error::{BrokersError, Result};
use crate::types::{Order, OrderRequest, OrderType, Quote, Side};

/// The names of the pre-trade compliance rules, as refusals report them.
pub const RULES: [&str; 5] = [
    "max_order_value",
    "price_band",
    "short_sale",
    "restricted_symbol",
    "wash_trade",
];

/// The rules for one account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ComplianceRules {
    /// Largest order value (quantity times price, in the instrument's
    /// currency); `null` for no limit.
    #[serde(default)]
    pub max_order_value: Option<Decimal>,
    /// Limit and stop prices must be within this percent of the last price;
    /// `null` for no band.
    #[serde(default)]
    pub price_band_percent: Option<Decimal>,
    /// Whether short sales are allowed.
    #[serde(default)]
    pub allow_short: bool,
    /// Symbols the account may not trade.
    #[serde(default)]
    pub restricted_symbols: Vec<String>,
    /// Refuse orders that would trade against the account's own resting orders.
    #[serde(default = "yes")]
    pub wash_trade_prevention: bool,
}

fn yes() -> bool {
    true
}

impl ComplianceRules {
    /// The rules in one line, for a tool's text answer.
    pub fn summary(&self) -> String {
        let or_none = |v: &Option<Decimal>, unit: &str| {
            v.map_or_else(|| "no limit".to_string(), |d| format!("{d}{unit}"))
        };
        format!(
            "max order value {}; price band {}; short sales {}; restricted symbols {}; wash-trade prevention {}",
            or_none(&self.max_order_value, ""),
            or_none(&self.price_band_percent, "%"),
            if self.allow_short {
                "allowed"
            } else {
                "refused"
            },
            if self.restricted_symbols.is_empty() {
                "none".to_string()
            } else {
                self.restricted_symbols.join(", ")
            },
            if self.wash_trade_prevention {
                "on"
            } else {
                "off"
            },
        )
    }
}

impl Default for ComplianceRules {
    fn default() -> Self {
        Self {
            max_order_value: Some(Decimal::from(1_000_000)),
            price_band_percent: Some(Decimal::from(10)),
            allow_short: false,
            restricted_symbols: Vec::new(),
            wash_trade_prevention: true,
        }
    }
}

/// The outcome of one check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CheckResult {
    /// The rule (`max_order_value`, `price_band`, `short_sale`,
    /// `restricted_symbol`, `wash_trade`).
    pub rule: String,
    /// Whether the order passed it.
    pub passed: bool,
    /// What the check saw.
    pub detail: String,
}

impl CheckResult {
    fn new(rule: &str, passed: bool, detail: String) -> Self {
        Self {
            rule: rule.to_string(),
            passed,
            detail,
        }
    }
}

/// Runs every check on `req` against the last `quote` and the account's
/// `resting` (working) orders.
pub fn check_order(
    rules: &ComplianceRules,
    req: &OrderRequest,
    quote: &Quote,
    resting: &[Order],
) -> Vec<CheckResult> {
    let mut out = Vec::with_capacity(5);
    let symbol = req.symbol.to_ascii_uppercase();

    let restricted = rules
        .restricted_symbols
        .iter()
        .any(|s| s.eq_ignore_ascii_case(&symbol));
    out.push(CheckResult::new(
        "restricted_symbol",
        !restricted,
        if restricted {
            format!("{symbol} is on the account's restricted list")
        } else {
            format!("{symbol} is not restricted")
        },
    ));

    let is_short = req.side == Side::SellShort;
    out.push(CheckResult::new(
        "short_sale",
        !is_short || rules.allow_short,
        if !is_short {
            "not a short sale".to_string()
        } else if rules.allow_short {
            "short sales are allowed on this account".to_string()
        } else {
            "short sales are not allowed on this account (allow_short = false)".to_string()
        },
    ));

    let reference = if req.side.is_buy() {
        quote.ask
    } else {
        quote.bid
    };
    let price = match req.order_type {
        OrderType::Market | OrderType::TrailingStop => reference,
        OrderType::Limit | OrderType::StopLimit => req.limit_price.unwrap_or(reference),
        OrderType::Stop => req.stop_price.unwrap_or(reference),
    };
    let value = (req.qty * price).round_dp(2);
    match rules.max_order_value {
        Some(max) => out.push(CheckResult::new(
            "max_order_value",
            value <= max,
            format!(
                "order value {value} {} against a limit of {max}",
                quote.currency
            ),
        )),
        None => out.push(CheckResult::new(
            "max_order_value",
            true,
            format!("order value {value}; no limit set"),
        )),
    }

    match rules.price_band_percent {
        Some(band) if quote.last > Decimal::ZERO => {
            let mut worst: Option<(String, Decimal, Decimal)> = None;
            for (name, p) in [
                ("limit_price", req.limit_price),
                ("stop_price", req.stop_price),
            ] {
                if let Some(p) = p {
                    let dev =
                        ((p - quote.last).abs() / quote.last * Decimal::ONE_HUNDRED).round_dp(2);
                    if worst.as_ref().is_none_or(|w| dev > w.2) {
                        worst = Some((name.to_string(), p, dev));
                    }
                }
            }
            match worst {
                Some((name, p, dev)) => out.push(CheckResult::new(
                    "price_band",
                    dev <= band,
                    format!(
                        "{name} {p} is {dev}% from the last price {} (band {band}%)",
                        quote.last
                    ),
                )),
                None => out.push(CheckResult::new(
                    "price_band",
                    true,
                    "no limit or stop price to check".to_string(),
                )),
            }
        }
        _ => out.push(CheckResult::new(
            "price_band",
            true,
            "no price band set".to_string(),
        )),
    }

    if rules.wash_trade_prevention {
        let own_price = match req.order_type {
            OrderType::Limit | OrderType::StopLimit => req.limit_price,
            _ => None,
        };
        let crossing = resting.iter().find(|o| {
            o.status.is_working()
                && o.symbol.eq_ignore_ascii_case(&symbol)
                && o.side.is_buy() != req.side.is_buy()
                && matches!(o.order_type, OrderType::Limit)
                && match (o.limit_price, own_price) {
                    (Some(theirs), Some(mine)) => {
                        if req.side.is_buy() {
                            mine >= theirs
                        } else {
                            mine <= theirs
                        }
                    }
                    // A market order crosses any resting limit on the other side.
                    (Some(_), None) => matches!(req.order_type, OrderType::Market),
                    _ => false,
                }
        });
        out.push(match crossing {
            Some(o) => CheckResult::new(
                "wash_trade",
                false,
                format!(
                    "would trade against own resting {} order {} at {}",
                    o.side.as_str(),
                    o.id,
                    o.limit_price.map(|p| p.to_string()).unwrap_or_default()
                ),
            ),
            None => CheckResult::new(
                "wash_trade",
                true,
                "does not cross an own resting order".to_string(),
            ),
        });
    } else {
        out.push(CheckResult::new(
            "wash_trade",
            true,
            "wash-trade prevention is off".to_string(),
        ));
    }
    out
}

/// The first failed check as a refusal naming its rule.
pub fn refusal(results: &[CheckResult]) -> Option<BrokersError> {
    results
        .iter()
        .find(|r| !r.passed)
        .map(|r| BrokersError::refused(r.rule.clone(), r.detail.clone()))
}

/// The rules stored for `account_id`, or the defaults.
pub async fn load_rules(pool: &AnyPool, account_id: &str) -> Result<ComplianceRules> {
    let row = sqlx::query("SELECT rules FROM broker_compliance_rules WHERE account_id = $1")
        .bind(account_id)
        .fetch_optional(pool)
        .await?;
    match row {
        Some(row) => {
            let text: String = row.try_get(0)?;
            serde_json::from_str(&text)
                .map_err(|e| BrokersError::Corrupt(format!("compliance rules: {e}")))
        }
        None => Ok(ComplianceRules::default()),
    }
}

/// Stores the rules for `account_id`.
pub async fn save_rules(
    pool: &AnyPool,
    account_id: &str,
    rules: &ComplianceRules,
    now_ms: i64,
) -> Result<()> {
    let text = serde_json::to_string(rules).map_err(|e| BrokersError::Corrupt(e.to_string()))?;
    sqlx::query(
        "INSERT INTO broker_compliance_rules (account_id, rules, updated_ms) VALUES ($1, $2, $3) \
         ON CONFLICT (account_id) DO UPDATE SET rules = excluded.rules, updated_ms = excluded.updated_ms",
    )
    .bind(account_id)
    .bind(text)
    .bind(now_ms)
    .execute(pool)
    .await?;
    Ok(())
}
