//! The per-account compliance rules, their storage (with an in-process
//! cache the order path reads through) and the CIRO coverage list.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sqlx::{AnyPool, Row};

use crate::error::{BrokersError, Result};

/// The names of the pre-trade compliance rules, as refusals report them.
pub const RULES: [&str; 6] = [
    "max_order_value",
    "price_band",
    "short_sale",
    "restricted_symbol",
    "wash_trade",
    "kill_rule",
];

/// The records every order's checks carry (they never refuse): its UMIR
/// 6.2 marking and the quote it was decided on.
pub const RECORDS: [&str; 2] = ["order_marking", "best_execution"];

/// The rules for one account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ComplianceRules {
    /// Largest order value (quantity times price) in the account's base
    /// currency (`broker_account`'s `currency`); an order in another
    /// currency is converted first (the pair's own price for a currency
    /// pair on its base currency, else the venue's quote of the pair, else
    /// the stored daily rates), and refused when no rate is available.
    /// `null` for no limit.
    #[serde(default)]
    pub max_order_value: Option<Decimal>,
    /// Limit and stop prices must be within this percent of the last price;
    /// `null` for no band.
    #[serde(default)]
    pub price_band_percent: Option<Decimal>,
    /// Whether short sales are allowed: a `sell_short`, or a `sell` of more
    /// than the position available (held long, less working sell orders).
    /// When allowed, such a sell is marked a short sale (UMIR 6.2).
    #[serde(default)]
    pub allow_short: bool,
    /// Symbols the account may not trade.
    #[serde(default)]
    pub restricted_symbols: Vec<String>,
    /// Refuse orders that could trade against the account's own resting
    /// orders of any type (limit and stop-limit at their limit price; stop,
    /// trailing-stop and market orders have no price bound once triggered).
    #[serde(default = "yes")]
    pub wash_trade_prevention: bool,
}

fn yes() -> bool {
    true
}

impl ComplianceRules {
    /// The rules in one line, for a tool's text answer; `currency` is the
    /// account's base currency when known.
    pub fn summary(&self) -> String {
        self.summary_in(None)
    }

    /// [`Self::summary`] naming the currency of the order-value limit.
    pub fn summary_in(&self, currency: Option<&str>) -> String {
        let max = match (self.max_order_value, currency) {
            (None, _) => "no limit".to_string(),
            (Some(m), Some(c)) => format!("{m} {c} (the account's base currency)"),
            (Some(m), None) => format!("{m} in the account's base currency"),
        };
        format!(
            "max order value {max}; price band {}; short sales {}; restricted symbols {}; wash-trade prevention {}",
            self.price_band_percent
                .map_or_else(|| "no limit".to_string(), |d| format!("{d}%")),
            if self.allow_short {
                "allowed (marked short sale, UMIR 6.2)"
            } else {
                "refused (sell_short, and any sell of more than is held)"
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

/// How far the tools go with one CIRO rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Coverage {
    /// Checked or recorded on every order.
    Implemented,
    /// Part of it is checked or recorded; the rest is the dealer's.
    Partial,
    /// Not checked: it binds the dealer (Participant) or needs facts the
    /// tools do not have.
    NotCovered,
}

/// One CIRO rule and what the compliance tools do about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
pub struct CiroRule {
    /// The rule (`UMIR 6.2`, `IDPC Rule 3100 Part C`).
    pub rule: &'static str,
    /// Its subject.
    pub title: &'static str,
    /// How far the tools go.
    pub coverage: Coverage,
    /// What the tools do, or why not.
    pub how: &'static str,
}

/// The CIRO rules (UMIR: Universal Market Integrity Rules; IDPC: Investment
/// Dealer and Partially Consolidated Rules) that bear on an agent placing
/// orders in its own account through a dealer's API, and what the tools do
/// about each. The dealer remains the Participant of record: these checks
/// are the account's own pre-trade controls and records, not the dealer's.
pub const CIRO_COVERAGE: [CiroRule; 11] = [
    CiroRule {
        rule: "UMIR 6.2",
        title: "Order designations: short sale",
        coverage: Coverage::Implemented,
        how: "A sell_short, or a sell of more than the position available (held long at the broker, less working sell orders), is a short sale: refused by rule short_sale unless allow_short; when allowed, its order_marking record says `short sale`. Other sells are marked `long sale`.",
    },
    CiroRule {
        rule: "UMIR 6.2",
        title: "Order marking record (client order, entered by an automated agent)",
        coverage: Coverage::Implemented,
        how: "Every order's checks carry an order_marking record (designation, side, quantity held and available) written to the hash-chained audit trail with the order.",
    },
    CiroRule {
        rule: "UMIR 2.2",
        title: "Manipulative and deceptive activities: wash trades (no change in beneficial ownership)",
        coverage: Coverage::Implemented,
        how: "Rule wash_trade refuses an order that could trade against the account's own working order on the other side, of any type (stop-limit at its limit; stop, trailing-stop and market orders at any price).",
    },
    CiroRule {
        rule: "IDPC Rule 3100 Part C",
        title: "Best execution of client orders",
        coverage: Coverage::Partial,
        how: "Each order records the venue's bid, ask and last at the decision (best_execution record, in the audit trail). Routing among marketplaces and the best-execution policies are the dealer's.",
    },
    CiroRule {
        rule: "UMIR 10.11 / IDPC record keeping",
        title: "Audit trail of orders",
        coverage: Coverage::Partial,
        how: "Every order event, check result and fill is a row of a hash-chained audit trail (audit_verify, audit_export). The dealer's own audit trail and its retention are the dealer's.",
    },
    CiroRule {
        rule: "UMIR 7.1 / NI 23-103 s. 3",
        title: "Pre-trade risk controls (erroneous orders, credit limits)",
        coverage: Coverage::Partial,
        how: "Rules max_order_value (in the account's base currency), price_band and restricted_symbol. The dealer's own supervision and controls are not replaced.",
    },
    CiroRule {
        rule: "UMIR 3.1",
        title: "Short-sale restrictions (e.g. during a distribution) and pre-borrow",
        coverage: Coverage::NotCovered,
        how: "The tools do not know which securities are under distribution or what can be borrowed; list them in restricted_symbols, or keep allow_short off.",
    },
    CiroRule {
        rule: "UMIR 5.2",
        title: "Best price",
        coverage: Coverage::NotCovered,
        how: "Order protection across marketplaces is the dealer's and the marketplaces'.",
    },
    CiroRule {
        rule: "UMIR 5.3",
        title: "Client priority",
        coverage: Coverage::NotCovered,
        how: "Binds a Participant's principal and non-client orders against its clients' orders; one account trading for itself has no client orders to give priority to.",
    },
    CiroRule {
        rule: "UMIR 6.3",
        title: "Exposure of client orders",
        coverage: Coverage::NotCovered,
        how: "The dealer enters the orders on a marketplace.",
    },
    CiroRule {
        rule: "UMIR 10.10",
        title: "Reporting short positions",
        coverage: Coverage::NotCovered,
        how: "The dealer reports its accounts' short positions twice a month.",
    },
];

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

/// How long a cached copy of an account's rules is used before it is read
/// again (rules stored through this process replace the copy at once; the
/// bound is for rules stored by another replica on a shared database).
pub const RULES_CACHE_TTL: Duration = Duration::from_secs(1);

/// The rules of each account as last read or stored, so placing an order
/// does not read and parse them again.
#[derive(Debug, Default)]
pub struct RulesCache {
    inner: Mutex<HashMap<String, (Arc<ComplianceRules>, Instant)>>,
}

impl RulesCache {
    /// The rules of `account_id`: the cached copy when fresh, else read.
    pub async fn get(&self, pool: &AnyPool, account_id: &str) -> Result<Arc<ComplianceRules>> {
        if let Some((rules, at)) = self.lock().get(account_id)
            && at.elapsed() < RULES_CACHE_TTL
        {
            return Ok(rules.clone());
        }
        let rules = Arc::new(load_rules(pool, account_id).await?);
        self.lock()
            .insert(account_id.to_string(), (rules.clone(), Instant::now()));
        Ok(rules)
    }

    /// Stores `rules` for `account_id` and replaces the cached copy.
    pub async fn save(
        &self,
        pool: &AnyPool,
        account_id: &str,
        rules: &ComplianceRules,
        now_ms: i64,
    ) -> Result<()> {
        save_rules(pool, account_id, rules, now_ms).await?;
        self.lock().insert(
            account_id.to_string(),
            (Arc::new(rules.clone()), Instant::now()),
        );
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Arc<ComplianceRules>, Instant)>> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}
