//! Pre-trade compliance checks, configurable per account: maximum order
//! value (in the account's base currency), price band against the last
//! quote, short sales (a `sell_short`, and a plain `sell` of more than the
//! position held), restricted symbols and wash-trade prevention against the
//! account's own resting orders. Every check reports a named result; a
//! refusal names the rule. Two records ride along with the checks and never
//! refuse: the order's marking (UMIR 6.2) and the market it was decided on
//! (the best-execution record); [`CIRO_COVERAGE`] says which CIRO rules
//! the tools implement and which they do not cover.

use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sqlx::{AnyPool, Row};

use crate::error::{BrokersError, Result};
use crate::money::round_cents;
use crate::types::{Order, OrderRequest, OrderType, Quote, Side};

/// The names of the pre-trade compliance rules, as refusals report them.
pub const RULES: [&str; 5] = [
    "max_order_value",
    "price_band",
    "short_sale",
    "restricted_symbol",
    "wash_trade",
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

/// The outcome of one check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CheckResult {
    /// The rule (`max_order_value`, `price_band`, `short_sale`,
    /// `restricted_symbol`, `wash_trade`), or a record that never refuses
    /// (`order_marking`, `best_execution`).
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

/// A rate converting the instrument's currency into the account's.
#[derive(Debug, Clone, PartialEq)]
pub struct Rate {
    /// Units of the account's currency per unit of the instrument's.
    pub value: Decimal,
    /// Where it came from, for the check's detail.
    pub source: String,
}

/// What the checks see of the account and the market.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The venue's last quote of the symbol.
    pub quote: &'a Quote,
    /// The account's working orders.
    pub resting: &'a [Order],
    /// Net position held in the symbol at the broker (negative when short).
    pub held: Decimal,
    /// The account's base currency, when the order value is limited.
    pub account_currency: Option<&'a str>,
    /// The rate from the quote's currency to the account's, when one was
    /// found (unused when the currencies are the same or the symbol is a
    /// pair on the account's currency).
    pub rate: Option<&'a Rate>,
}

/// Whether a position's symbol is the order's: case aside, and IB's
/// `contractDesc` (`AAPL` or `AAPL NASDAQ`) by its first word.
pub fn same_symbol(position: &str, order: &str) -> bool {
    let p = position.trim();
    let o = order.trim();
    p.eq_ignore_ascii_case(o)
        || p.split_whitespace()
            .next()
            .is_some_and(|first| first.eq_ignore_ascii_case(o))
}

/// What a sell can sell without going short.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sellable {
    /// Long position held (zero when flat or short).
    pub long: Decimal,
    /// Quantity still to fill in working sell orders of the symbol.
    pub pending: Decimal,
    /// What is left to sell: `long - pending`, at least zero.
    pub available: Decimal,
}

/// The long position in `symbol` that a new sell may still sell: the
/// position held less what working sell orders will sell.
pub fn sellable(symbol: &str, held: Decimal, resting: &[Order]) -> Sellable {
    let long = held.max(Decimal::ZERO);
    let pending: Decimal = resting
        .iter()
        .filter(|o| o.status.is_working() && o.side == Side::Sell && same_symbol(&o.symbol, symbol))
        .map(|o| (o.qty - o.filled_qty).max(Decimal::ZERO))
        .sum();
    Sellable {
        long,
        pending,
        available: (long - pending).max(Decimal::ZERO),
    }
}

/// The order the checks ran on, which is the caller's unless it asked to
/// reduce a sell to the position, and their results.
#[derive(Debug, Clone, PartialEq)]
pub struct Review {
    /// The order to place.
    pub order: OrderRequest,
    /// The quantity asked for, when the order was reduced to the position.
    pub reduced_from: Option<Decimal>,
    /// Check results and records.
    pub checks: Vec<CheckResult>,
}

/// Runs the checks on `req`, first reducing a sell to the position
/// available when the caller asked for it (`reduce_to_position`) and short
/// sales are not allowed. A sell with nothing available stays as asked and
/// is refused.
pub fn review(rules: &ComplianceRules, req: &OrderRequest, ctx: &Context<'_>) -> Review {
    let mut order = req.clone();
    let mut reduced_from = None;
    if req.reduce_to_position && req.side == Side::Sell && !rules.allow_short {
        let s = sellable(&req.symbol, ctx.held, ctx.resting);
        if req.qty > s.available && s.available > Decimal::ZERO {
            reduced_from = Some(req.qty);
            order.qty = s.available;
        }
    }
    let mut checks = check_order(rules, &order, ctx);
    if let Some(asked) = reduced_from
        && let Some(c) = checks.iter_mut().find(|c| c.rule == "short_sale")
    {
        c.detail = format!(
            "reduced from {asked} to {} to stay within the position (reduce_to_position): {}",
            order.qty, c.detail
        );
    }
    Review {
        order,
        reduced_from,
        checks,
    }
}

/// Runs every check on `req` against what `ctx` shows of the market and
/// the account, then appends the order's records.
pub fn check_order(
    rules: &ComplianceRules,
    req: &OrderRequest,
    ctx: &Context<'_>,
) -> Vec<CheckResult> {
    let quote = ctx.quote;
    let resting = ctx.resting;
    let mut out = Vec::with_capacity(7);
    let symbol = req.symbol.trim().to_ascii_uppercase();

    let restricted = rules
        .restricted_symbols
        .iter()
        .any(|s| s.trim().eq_ignore_ascii_case(&symbol));
    out.push(CheckResult::new(
        "restricted_symbol",
        !restricted,
        if restricted {
            format!("{symbol} is on the account's restricted list")
        } else {
            format!("{symbol} is not restricted")
        },
    ));

    // Short sales: a sell_short, or the part of a plain sell beyond the
    // long position not already offered by working sell orders.
    let s = sellable(&symbol, ctx.held, resting);
    let (short_sale, passed, detail) = match req.side {
        Side::SellShort => (
            true,
            rules.allow_short,
            if rules.allow_short {
                "a short sale (sell_short); short sales are allowed on this account".to_string()
            } else {
                "sell_short is a short sale; short sales are not allowed on this account (allow_short = false)".to_string()
            },
        ),
        Side::Sell if req.qty > s.available => {
            let short = req.qty - s.available;
            let position = format!(
                "{} held long, {} in working sell orders, {} available",
                s.long, s.pending, s.available
            );
            if rules.allow_short {
                (
                    true,
                    true,
                    format!(
                        "selling {} {symbol} sells {short} short ({position}); short sales are allowed on this account, and the order is marked a short sale (UMIR 6.2)",
                        req.qty
                    ),
                )
            } else {
                (
                    true,
                    false,
                    format!(
                        "selling {} {symbol} would sell {short} short ({position}); short sales are not allowed on this account (allow_short = false): sell at most {}, or set reduce_to_position to sell only what is available",
                        req.qty, s.available
                    ),
                )
            }
        }
        Side::Sell => (
            false,
            true,
            format!(
                "a long sale: {} of {} available ({} held long, {} in working sell orders)",
                req.qty, s.available, s.long, s.pending
            ),
        ),
        Side::Buy | Side::BuyToCover => (false, true, "not a sale".to_string()),
    };
    out.push(CheckResult::new("short_sale", passed, detail));

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
    out.push(max_order_value(rules, req, ctx, &symbol, price));

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

    out.push(wash_trade(rules, req, resting, &symbol));

    // Records: the order's marking and the market it was decided on.
    let designation = if short_sale {
        "short sale"
    } else if req.side.is_buy() {
        "buy"
    } else {
        "long sale"
    };
    out.push(CheckResult::new(
        "order_marking",
        true,
        format!(
            "UMIR 6.2 designation: {designation}; client order entered by an automated agent; {} {} {symbol} ({} held, {} available to sell)",
            req.side.as_str(),
            req.qty,
            ctx.held,
            s.available
        ),
    ));
    out.push(CheckResult::new(
        "best_execution",
        true,
        format!(
            "market at entry: bid {} ask {} last {} {} at {}; {} order",
            quote.bid,
            quote.ask,
            quote.last,
            quote.currency,
            crate::dates::format_iso_ms(quote.at_ms),
            req.order_type.as_str()
        ),
    ));
    out
}

/// The order's value in the account's base currency against the limit.
fn max_order_value(
    rules: &ComplianceRules,
    req: &OrderRequest,
    ctx: &Context<'_>,
    symbol: &str,
    price: Decimal,
) -> CheckResult {
    let currency = ctx.quote.currency.to_ascii_uppercase();
    let raw = req.qty * price;
    let value = round_cents(raw);
    let Some(max) = rules.max_order_value else {
        return CheckResult::new(
            "max_order_value",
            true,
            format!("order value {value} {currency}; no limit set"),
        );
    };
    let Some(account) = ctx.account_currency.map(str::to_ascii_uppercase) else {
        // No account currency known: the limit is read in the instrument's.
        return CheckResult::new(
            "max_order_value",
            value <= max,
            format!("order value {value} {currency} against a limit of {max} {currency}"),
        );
    };
    let pair_base = symbol
        .split_once('_')
        .map(|(base, quote_ccy)| (base.to_string(), quote_ccy.to_string()));
    let converted = if account == currency {
        Ok((value, String::new()))
    } else if let Some((base, _)) = pair_base
        .as_ref()
        .filter(|(b, q)| *b == account && *q == currency)
        && price > Decimal::ZERO
    {
        // A pair on the account's currency (USD_JPY in a USD account): the
        // order is worth its quantity of the base currency.
        let v = round_cents(raw / price);
        Ok((v, format!(" = {v} {base} at {price} {currency} per {base}")))
    } else if let Some(rate) = ctx.rate {
        let v = round_cents(raw * rate.value);
        Ok((
            v,
            format!(
                " = {v} {account} at {} {account} per {currency} ({})",
                rate.value, rate.source
            ),
        ))
    } else {
        Err(())
    };
    match converted {
        Ok((v, how)) => CheckResult::new(
            "max_order_value",
            v <= max,
            format!("order value {value} {currency}{how} against a limit of {max} {account}"),
        ),
        Err(()) => CheckResult::new(
            "max_order_value",
            false,
            format!(
                "order value {value} {currency} cannot be checked against the limit of {max} {account}: no {currency}/{account} rate was found (no daily CAD rates of the last 31 days are stored for both currencies, and the venue quotes no {currency}_{account} or {account}_{currency} pair): load the rates with tax_load_fx_rates, or set max_order_value to null"
            ),
        ),
    }
}

/// The highest (buy) or lowest (sell) price an order may trade at, or
/// `None` when it has no bound (market, stop and trailing-stop orders,
/// which trade at market once triggered).
fn price_bound(order_type: OrderType, limit: Option<Decimal>) -> Option<Decimal> {
    match order_type {
        OrderType::Limit | OrderType::StopLimit => limit,
        OrderType::Market | OrderType::Stop | OrderType::TrailingStop => None,
    }
}

/// Whether an order to buy (`buy`) with bound `mine` could trade against an
/// own order on the other side with bound `theirs`.
fn could_cross(buy: bool, mine: Option<Decimal>, theirs: Option<Decimal>) -> bool {
    match (mine, theirs) {
        (Some(mine), Some(theirs)) => {
            if buy {
                mine >= theirs
            } else {
                mine <= theirs
            }
        }
        // An order without a price bound on either side can meet the other.
        _ => true,
    }
}

fn wash_trade(
    rules: &ComplianceRules,
    req: &OrderRequest,
    resting: &[Order],
    symbol: &str,
) -> CheckResult {
    if !rules.wash_trade_prevention {
        return CheckResult::new(
            "wash_trade",
            true,
            "wash-trade prevention is off".to_string(),
        );
    }
    let mine = price_bound(req.order_type, req.limit_price);
    let crossing = resting.iter().find(|o| {
        o.status.is_working()
            && o.symbol.trim().eq_ignore_ascii_case(symbol)
            && o.side.is_buy() != req.side.is_buy()
            && could_cross(
                req.side.is_buy(),
                mine,
                price_bound(o.order_type, o.limit_price),
            )
    });
    match crossing {
        Some(o) => {
            let at = match (price_bound(o.order_type, o.limit_price), o.stop_price) {
                (Some(p), Some(stop)) => format!("limit {p} (stop {stop})"),
                (Some(p), None) => format!("limit {p}"),
                (None, Some(stop)) => format!("stop {stop}, at market once triggered"),
                (None, None) => "market".to_string(),
            };
            CheckResult::new(
                "wash_trade",
                false,
                format!(
                    "could trade against own resting {} {} order {} ({at})",
                    o.side.as_str(),
                    o.order_type.as_str(),
                    o.id
                ),
            )
        }
        None => CheckResult::new(
            "wash_trade",
            true,
            "does not cross an own resting order".to_string(),
        ),
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{OrderStatus, TimeInForce};
    use rust_decimal_macros::dec;

    fn quote(symbol: &str, currency: &str, bid: Decimal, ask: Decimal) -> Quote {
        Quote {
            symbol: symbol.into(),
            currency: currency.into(),
            bid,
            ask,
            last: (bid + ask) / dec!(2),
            at_ms: 1_750_086_000_000,
        }
    }

    fn req(symbol: &str, side: Side, qty: Decimal) -> OrderRequest {
        OrderRequest {
            client_order_id: "c-1".into(),
            symbol: symbol.into(),
            side,
            qty,
            order_type: OrderType::Market,
            limit_price: None,
            stop_price: None,
            trail_amount: None,
            trail_percent: None,
            time_in_force: TimeInForce::Day,
            reduce_to_position: false,
        }
    }

    fn resting(
        symbol: &str,
        side: Side,
        order_type: OrderType,
        qty: Decimal,
        limit: Option<Decimal>,
        stop: Option<Decimal>,
    ) -> Order {
        Order {
            id: format!("R-{}", order_type.as_str()),
            client_order_id: "r".into(),
            account_id: "a".into(),
            symbol: symbol.into(),
            currency: "USD".into(),
            side,
            order_type,
            time_in_force: TimeInForce::Gtc,
            qty,
            limit_price: limit,
            stop_price: stop,
            trail_amount: None,
            trail_percent: None,
            status: OrderStatus::Open,
            filled_qty: Decimal::ZERO,
            avg_fill_price: None,
            commission: Decimal::ZERO,
            reason: None,
            created_ms: 0,
            updated_ms: 0,
        }
    }

    fn ctx<'a>(q: &'a Quote, resting: &'a [Order], held: Decimal) -> Context<'a> {
        Context {
            quote: q,
            resting,
            held,
            account_currency: None,
            rate: None,
        }
    }

    fn result<'a>(checks: &'a [CheckResult], rule: &str) -> &'a CheckResult {
        checks.iter().find(|c| c.rule == rule).expect(rule)
    }

    /// Issue 9, item 1: 10 AAPL held, a resting sell of 4; a plain sell of
    /// 7 sells 1 short. The old code checked only sell_short and let it
    /// through; with allow_short = false it is refused by `short_sale`.
    #[test]
    fn a_plain_sell_of_more_than_held_is_a_short_sale() {
        let q = quote("AAPL", "USD", dec!(199.9), dec!(200.1));
        let rest = [resting(
            "AAPL",
            Side::Sell,
            OrderType::Limit,
            dec!(4),
            Some(dec!(250)),
            None,
        )];
        let rules = ComplianceRules::default();
        let checks = check_order(
            &rules,
            &req("aapl", Side::Sell, dec!(7)),
            &ctx(&q, &rest, dec!(10)),
        );
        let short = result(&checks, "short_sale");
        assert!(!short.passed, "{short:?}");
        assert!(
            short.detail.contains("would sell 1 short")
                && short
                    .detail
                    .contains("10 held long, 4 in working sell orders, 6 available"),
            "{}",
            short.detail
        );
        assert!(
            refusal(&checks)
                .map(|e| e.to_string())
                .unwrap_or_default()
                .contains("short_sale")
        );
        // 6 is a long sale.
        let checks = check_order(
            &rules,
            &req("AAPL", Side::Sell, dec!(6)),
            &ctx(&q, &rest, dec!(10)),
        );
        assert!(result(&checks, "short_sale").passed);
        assert!(
            result(&checks, "order_marking")
                .detail
                .contains("designation: long sale")
        );
        // Nothing held, or held short (-2): any sell is short.
        for held in [Decimal::ZERO, dec!(-2)] {
            let checks = check_order(
                &rules,
                &req("AAPL", Side::Sell, dec!(1)),
                &ctx(&q, &[], held),
            );
            assert!(!result(&checks, "short_sale").passed, "held {held}");
        }
        // Allowed: it passes and is marked a short sale (UMIR 6.2).
        let allow = ComplianceRules {
            allow_short: true,
            ..ComplianceRules::default()
        };
        let checks = check_order(
            &allow,
            &req("AAPL", Side::Sell, dec!(7)),
            &ctx(&q, &rest, dec!(10)),
        );
        assert!(result(&checks, "short_sale").passed);
        assert!(
            result(&checks, "order_marking")
                .detail
                .contains("designation: short sale"),
            "{checks:?}"
        );
        assert!(refusal(&checks).is_none());
    }

    /// Sell 20 with 15 held and reduce_to_position: placed as 15; with
    /// nothing available it stays 20 and is refused; buys are untouched.
    #[test]
    fn reduce_to_position_sells_only_what_is_held() {
        let q = quote("AAPL", "USD", dec!(199.9), dec!(200.1));
        let rules = ComplianceRules::default();
        let mut r = req("AAPL", Side::Sell, dec!(20));
        r.reduce_to_position = true;
        let rv = review(&rules, &r, &ctx(&q, &[], dec!(15)));
        assert_eq!((rv.order.qty, rv.reduced_from), (dec!(15), Some(dec!(20))));
        assert!(refusal(&rv.checks).is_none(), "{:?}", rv.checks);
        assert!(
            result(&rv.checks, "short_sale")
                .detail
                .starts_with("reduced from 20 to 15"),
            "{:?}",
            rv.checks
        );
        let rv = review(&rules, &r, &ctx(&q, &[], Decimal::ZERO));
        assert_eq!((rv.order.qty, rv.reduced_from), (dec!(20), None));
        assert!(!result(&rv.checks, "short_sale").passed);
        // Without the flag: refused, not reduced.
        r.reduce_to_position = false;
        let rv = review(&rules, &r, &ctx(&q, &[], dec!(15)));
        assert_eq!(rv.order.qty, dec!(20));
        assert!(!result(&rv.checks, "short_sale").passed);
    }

    /// Issue 9, item 6: the old wash-trade check looked only at resting
    /// limit orders. A resting stop-limit sell (stop 102, limit 101) and a
    /// new buy limit at 101.50 can meet once the stop triggers; so can a
    /// resting stop sell (market once triggered) and any buy; and a new
    /// sell stop can hit the account's own resting buy limit.
    #[test]
    fn wash_trades_cover_every_resting_order_type() {
        let q = quote("AAPL", "USD", dec!(100), dec!(100.1));
        let rules = ComplianceRules::default();
        let buy_limit = |p: Decimal| OrderRequest {
            order_type: OrderType::Limit,
            limit_price: Some(p),
            ..req("AAPL", Side::Buy, dec!(1))
        };
        let stop_limit = [resting(
            "AAPL",
            Side::Sell,
            OrderType::StopLimit,
            dec!(1),
            Some(dec!(101)),
            Some(dec!(102)),
        )];
        let checks = check_order(
            &rules,
            &buy_limit(dec!(101.5)),
            &ctx(&q, &stop_limit, dec!(1)),
        );
        let w = result(&checks, "wash_trade");
        assert!(!w.passed && w.detail.contains("stop_limit"), "{w:?}");
        // Below its limit it cannot meet it.
        let checks = check_order(
            &rules,
            &buy_limit(dec!(100.5)),
            &ctx(&q, &stop_limit, dec!(1)),
        );
        assert!(result(&checks, "wash_trade").passed);
        for order_type in [OrderType::Stop, OrderType::TrailingStop] {
            let stop = [resting(
                "AAPL",
                Side::Sell,
                order_type,
                dec!(1),
                None,
                Some(dec!(90)),
            )];
            let checks = check_order(&rules, &buy_limit(dec!(80)), &ctx(&q, &stop, dec!(1)));
            let w = result(&checks, "wash_trade");
            assert!(
                !w.passed && w.detail.contains("at market once triggered"),
                "{w:?}"
            );
        }
        let bid = [resting(
            "AAPL",
            Side::Buy,
            OrderType::Limit,
            dec!(1),
            Some(dec!(95)),
            None,
        )];
        let sell_stop = OrderRequest {
            order_type: OrderType::Stop,
            stop_price: Some(dec!(96)),
            ..req("AAPL", Side::Sell, dec!(1))
        };
        let checks = check_order(&rules, &sell_stop, &ctx(&q, &bid, dec!(5)));
        assert!(!result(&checks, "wash_trade").passed);
        // Another symbol, or a filled order, never crosses.
        let mut done = stop_limit.clone();
        done[0].status = OrderStatus::Filled;
        let checks = check_order(&rules, &buy_limit(dec!(101.5)), &ctx(&q, &done, dec!(1)));
        assert!(result(&checks, "wash_trade").passed);
    }

    /// Issue 9, item 6: a USD_JPY order of 1,000,000 units at 150 is worth
    /// 150,000,000 JPY = 1,000,000 USD. The old check compared 150,000,000
    /// with a limit of 2,000,000 (of nothing in particular) and refused it;
    /// in a USD account it is within a 2,000,000 USD limit and over a
    /// 500,000 USD one, and the message names the currencies.
    #[test]
    fn max_order_value_is_in_the_account_currency() {
        let q = quote("USD_JPY", "JPY", dec!(149.99), dec!(150));
        let order = OrderRequest {
            order_type: OrderType::Limit,
            limit_price: Some(dec!(150)),
            ..req("USD_JPY", Side::Buy, dec!(1000000))
        };
        let usd = Context {
            account_currency: Some("USD"),
            ..ctx(&q, &[], Decimal::ZERO)
        };
        let mut rules = ComplianceRules {
            max_order_value: Some(dec!(2000000)),
            ..ComplianceRules::default()
        };
        let c = check_order(&rules, &order, &usd);
        let m = result(&c, "max_order_value");
        assert!(m.passed, "{m:?}");
        assert!(
            m.detail.contains("150000000.00 JPY = 1000000.00 USD")
                && m.detail.ends_with("against a limit of 2000000 USD"),
            "{}",
            m.detail
        );
        rules.max_order_value = Some(dec!(500000));
        assert!(!result(&check_order(&rules, &order, &usd), "max_order_value").passed);

        // The same order in a CAD account, at 0.0091 CAD per JPY (from the
        // venue's CAD_JPY quote): 1,365,000 CAD, over a 1,000,000 CAD limit.
        let rate = Rate {
            value: dec!(0.0091),
            source: "oanda quote of CAD_JPY".into(),
        };
        let cad = Context {
            account_currency: Some("CAD"),
            rate: Some(&rate),
            ..ctx(&q, &[], Decimal::ZERO)
        };
        rules.max_order_value = Some(dec!(1000000));
        let m = check_order(&rules, &order, &cad);
        let m = result(&m, "max_order_value");
        assert!(!m.passed);
        assert!(
            m.detail
                .contains("= 1365000.00 CAD at 0.0091 CAD per JPY (oanda quote of CAD_JPY)")
                && m.detail.contains("limit of 1000000 CAD"),
            "{}",
            m.detail
        );
        // No rate at all: refused, saying how to give one.
        let none = Context {
            account_currency: Some("CAD"),
            ..ctx(&q, &[], Decimal::ZERO)
        };
        let m = check_order(&rules, &order, &none);
        let m = result(&m, "max_order_value");
        assert!(
            !m.passed && m.detail.contains("tax_load_fx_rates"),
            "{}",
            m.detail
        );
        // A USD stock in a USD account needs no rate: 1000 x 200 = 200,000 USD.
        let aapl = quote("AAPL", "USD", dec!(199.9), dec!(200));
        let usd = Context {
            account_currency: Some("USD"),
            ..ctx(&aapl, &[], Decimal::ZERO)
        };
        let m = check_order(&rules, &req("AAPL", Side::Buy, dec!(1000)), &usd);
        assert!(
            result(&m, "max_order_value")
                .detail
                .contains("200000.00 USD against a limit of 1000000 USD")
        );
    }

    #[test]
    fn ciro_coverage_lists_implemented_and_uncovered_rules() {
        let covered: Vec<&str> = CIRO_COVERAGE
            .iter()
            .filter(|r| r.coverage == Coverage::Implemented)
            .map(|r| r.rule)
            .collect();
        assert!(covered.contains(&"UMIR 6.2") && covered.contains(&"UMIR 2.2"));
        let not: Vec<&str> = CIRO_COVERAGE
            .iter()
            .filter(|r| r.coverage == Coverage::NotCovered)
            .map(|r| r.rule)
            .collect();
        assert!(
            not.contains(&"UMIR 5.3") && not.contains(&"UMIR 3.1"),
            "{not:?}"
        );
        assert!(same_symbol("AAPL NASDAQ", "aapl") && !same_symbol("AAPLX", "AAPL"));
    }
}
