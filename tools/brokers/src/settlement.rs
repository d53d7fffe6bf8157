//! Trade and settlement dates for tax purposes: the one place the
//! settlement cycles are stated ([`settlement_rule`]), the exchange-local
//! trade day of a timestamp ([`trade_day`]), and what a symbol is and where
//! it is listed when the trade does not say.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::dates::{
    DAY_MS, HolidayCalendar, add_business_days, day_of_ms, days_from_civil, eastern_local_ms,
    parse_date, parse_iso_ms,
};

/// What a trade is, for its settlement cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AssetClass {
    /// Shares, ETF and fund units listed on an exchange.
    Equity,
    /// Listed options.
    Option,
    /// Spot foreign exchange (a currency pair such as `USD_CAD`).
    Fx,
}

/// Where a security is listed, for its exchange's holidays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Market {
    /// A US exchange (NYSE, NASDAQ, Cboe…): the NYSE holiday calendar.
    Us,
    /// A Canadian exchange (TSX, TSXV, CSE, Cboe Canada, Montréal
    /// Exchange): the TSX holiday calendar.
    Ca,
}

/// First trade date settling T+1 for US equities (SEC Rule 15c6-1 as
/// amended; 2024-05-27 was Memorial Day).
pub const US_EQUITY_T1_FROM: (i64, u32, u32) = (2024, 5, 28);
/// First trade date settling T+1 for Canadian equities (CSA NI 24-101).
pub const CA_EQUITY_T1_FROM: (i64, u32, u32) = (2024, 5, 27);
/// First trade date settling T+2 for North American equities (T+3 before).
pub const EQUITY_T2_FROM: (i64, u32, u32) = (2017, 9, 5);

/// How many business days after its trade date a trade settles, and whose
/// holidays those business days skip (weekends always):
///
/// | what | cycle | business days of |
/// |---|---|---|
/// | US equity | T+1 from trade date 2024-05-28, T+2 from 2017-09-05, T+3 before | NYSE |
/// | Canadian equity | T+1 from trade date 2024-05-27, T+2 from 2017-09-05, T+3 before | TSX |
/// | listed option | T+1 | NYSE or TSX, by market |
/// | FX spot | T+2; USD/CAD T+1 | US banks if USD is in the pair, Canadian banks if CAD is (other centres' holidays are not modelled) |
///
/// A settlement date given on the trade (the broker's) overrides these.
pub fn settlement_rule(
    asset: AssetClass,
    market: Market,
    symbol: &str,
    currency: &str,
    trade_day: i64,
) -> (u32, Vec<HolidayCalendar>) {
    let day = |(y, m, d): (i64, u32, u32)| days_from_civil(y, m, d);
    let exchange = match market {
        Market::Us => HolidayCalendar::Nyse,
        Market::Ca => HolidayCalendar::Tsx,
    };
    match asset {
        AssetClass::Equity => {
            let t1_from = match market {
                Market::Us => day(US_EQUITY_T1_FROM),
                Market::Ca => day(CA_EQUITY_T1_FROM),
            };
            let n = if trade_day >= t1_from {
                1
            } else if trade_day >= day(EQUITY_T2_FROM) {
                2
            } else {
                3
            };
            (n, vec![exchange])
        }
        AssetClass::Option => (1, vec![exchange]),
        AssetClass::Fx => {
            let (a, b) = fx_pair(symbol)
                .unwrap_or_else(|| (currency.to_ascii_uppercase(), "CAD".to_string()));
            let has = |c: &str| a == c || b == c;
            let mut calendars = Vec::new();
            if has("USD") {
                calendars.push(HolidayCalendar::UsBanks);
            }
            if has("CAD") {
                calendars.push(HolidayCalendar::CanadianBanks);
            }
            (if has("USD") && has("CAD") { 1 } else { 2 }, calendars)
        }
    }
}

/// The settlement day of a trade by [`settlement_rule`].
pub fn settlement_day(
    asset: AssetClass,
    market: Market,
    symbol: &str,
    currency: &str,
    trade_day: i64,
) -> i64 {
    let (n, calendars) = settlement_rule(asset, market, symbol, currency, trade_day);
    add_business_days(trade_day, n, &calendars)
}

/// The trade day of `date` (a day, or a timestamp taken to the exchange's
/// local day; FX days roll at 17:00 New York).
pub fn trade_day(date: &str, asset: AssetClass) -> Option<i64> {
    let text = date.trim();
    if text.len() == 10 {
        return parse_date(text);
    }
    let local = eastern_local_ms(parse_iso_ms(text)?);
    Some(match asset {
        AssetClass::Fx => day_of_ms(local + 7 * DAY_MS / 24),
        _ => day_of_ms(local),
    })
}

/// The two currencies of a pair symbol (`EUR_USD`, `USD/CAD`, `USD.CAD`).
fn fx_pair(symbol: &str) -> Option<(String, String)> {
    let s = symbol.trim().to_ascii_uppercase();
    let (a, b) = s.split_once(['_', '/', '.'])?;
    let iso = |c: &str| c.len() == 3 && c.chars().all(|ch| ch.is_ascii_alphabetic());
    (iso(a) && iso(b)).then(|| (a.to_string(), b.to_string()))
}

/// An OCC option symbol: a root of up to six characters, then YYMMDD, C or
/// P and the strike in thousandths (8 digits), with or without padding.
fn is_option_symbol(symbol: &str) -> bool {
    let s: String = symbol.chars().filter(|c| !c.is_whitespace()).collect();
    let b = s.as_bytes();
    if b.len() < 16 || b.len() > 21 {
        return false;
    }
    let tail = &b[b.len() - 15..];
    tail[..6].iter().all(u8::is_ascii_digit)
        && matches!(tail[6], b'C' | b'P')
        && tail[7..].iter().all(u8::is_ascii_digit)
        && b[..b.len() - 15].iter().all(u8::is_ascii_alphanumeric)
}

/// The asset class a symbol names (a currency pair, an OCC option, else equity).
pub(crate) fn infer_asset_class(symbol: &str) -> AssetClass {
    if fx_pair(symbol).is_some() {
        AssetClass::Fx
    } else if is_option_symbol(symbol) {
        AssetClass::Option
    } else {
        AssetClass::Equity
    }
}

/// The market a symbol is listed on (Canadian suffixes, prefixes or a CAD
/// price, else US).
pub(crate) fn infer_market(symbol: &str, currency: &str) -> Market {
    let s = symbol.trim().to_ascii_uppercase();
    let canadian = [".TO", ".V", ".CN", ".NE"].iter().any(|x| s.ends_with(x))
        || ["TSX:", "TSXV:", "CSE:", "NEO:"]
            .iter()
            .any(|x| s.starts_with(x))
        || currency.eq_ignore_ascii_case("CAD");
    if canadian { Market::Ca } else { Market::Us }
}
