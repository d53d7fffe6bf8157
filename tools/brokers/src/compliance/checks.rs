//! The checks themselves: each reports a named result; a refusal names
//! the rule.

use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::rules::ComplianceRules;
use crate::error::BrokersError;
use crate::money::round_cents;
use crate::types::{Order, OrderRequest, OrderType, Quote, Side};

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
