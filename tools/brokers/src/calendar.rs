//! When the paper venue's trading day ends, so a DAY order expires at the
//! close of its market and not at UTC midnight.
//!
//! - **US equities** (NYSE / NASDAQ; any symbol without a Canadian suffix
//!   or `_`): the regular session closes at 16:00 America/New_York, or at
//!   13:00 on the NYSE's early-close days ([`NYSE_EARLY_CLOSES`]: the day
//!   after Thanksgiving, Christmas Eve, and July 3, each when it is a
//!   trading day). NYSE holidays close it all day.
//! - **Canadian equities** (`.TO`, `.V`, `.NE`, `.CN`): the TSX closes at
//!   16:00 Eastern (America/Toronto keeps New York's clock), at 13:00 on
//!   Christmas Eve when it is a trading day ([`TSX_EARLY_CLOSES`], from the
//!   TMX holiday schedules 2019–2025); TSX holidays close it all day.
//! - **Currency pairs** (`EUR_USD`, OANDA's instruments): the FX trading day
//!   rolls at 17:00 New York, Monday to Friday; the week closes Friday at
//!   17:00 and reopens Sunday at 17:00, so a DAY order placed over the
//!   weekend ends Monday at 17:00. FX holidays (Christmas, New Year's Day)
//!   are not modelled: the venue quotes them like any weekday.
//!
//! Eastern time (EST/EDT, with the US daylight-time rules computed by hand)
//! and the NYSE / TSX holiday calendars come from [`crate::dates`]; only the
//! early closes are data here. A DAY order ends at the first close strictly
//! after it is placed: one placed before the open or during the session
//! ends at that day's close, one placed after the close (or on a weekend
//! or holiday) at the next trading day's close, as at a real venue that
//! queues it for the next session.

use crate::dates::{self, HolidayCalendar};

/// Minutes after local midnight of the regular equity close, 16:00.
pub const EQUITY_CLOSE_MIN: i64 = 16 * 60;
/// Minutes after local midnight of an early close, 13:00.
pub const EARLY_CLOSE_MIN: i64 = 13 * 60;
/// Minutes after local midnight of the FX day roll, 17:00 New York.
pub const FX_ROLL_MIN: i64 = 17 * 60;

/// A day on which a market closes early, by rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EarlyCloseDay {
    /// The Friday after the fourth Thursday of November.
    DayAfterThanksgiving,
    /// December 24.
    ChristmasEve,
    /// July 3.
    July3,
}

impl EarlyCloseDay {
    /// The day number of this day in year `y`.
    pub fn in_year(self, y: i64) -> i64 {
        match self {
            Self::DayAfterThanksgiving => dates::nth_weekday(y, 11, 3, 4) + 1,
            Self::ChristmasEve => dates::days_from_civil(y, 12, 24),
            Self::July3 => dates::days_from_civil(y, 7, 3),
        }
    }
}

/// An early close: the day and its closing time (minutes after local
/// midnight, Eastern). It applies only when the day is a trading day: a
/// July 3 that is a Saturday, or the Friday observed for a Saturday July 4,
/// has no session to close early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EarlyClose {
    /// Which day.
    pub day: EarlyCloseDay,
    /// When the session ends that day.
    pub close_min: i64,
}

/// The NYSE's scheduled early closes (13:00 ET), as published in its
/// holiday calendars: the day after Thanksgiving, Christmas Eve and July 3
/// (e.g. 2025: July 3, November 28, December 24).
pub const NYSE_EARLY_CLOSES: [EarlyClose; 3] = [
    EarlyClose {
        day: EarlyCloseDay::DayAfterThanksgiving,
        close_min: EARLY_CLOSE_MIN,
    },
    EarlyClose {
        day: EarlyCloseDay::ChristmasEve,
        close_min: EARLY_CLOSE_MIN,
    },
    EarlyClose {
        day: EarlyCloseDay::July3,
        close_min: EARLY_CLOSE_MIN,
    },
];

/// The TSX's scheduled early close: Christmas Eve at 13:00 ET (TMX holiday
/// operating schedules, 2019–2025; December 31 trades regular hours).
pub const TSX_EARLY_CLOSES: [EarlyClose; 1] = [EarlyClose {
    day: EarlyCloseDay::ChristmasEve,
    close_min: EARLY_CLOSE_MIN,
}];

/// The market a paper symbol trades in, for its trading day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Session {
    /// NYSE / NASDAQ regular session.
    Us,
    /// TSX / TSX Venture regular session.
    Canada,
    /// The 24-hour FX day, rolling at 17:00 New York.
    Fx,
}

impl Session {
    /// The session of a paper symbol: `AAA_BBB` pairs trade FX,
    /// `.TO`/`.V`/`.NE`/`.CN` listings the TSX, the rest US equities.
    pub fn of_symbol(symbol: &str) -> Self {
        let upper = symbol.trim().to_ascii_uppercase();
        if upper.contains('_') {
            Self::Fx
        } else if [".TO", ".V", ".NE", ".CN"]
            .iter()
            .any(|s| upper.ends_with(s))
        {
            Self::Canada
        } else {
            Self::Us
        }
    }

    /// How the session's day ends, in words.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Us => "the NYSE close (16:00 New York; 13:00 on early-close days)",
            Self::Canada => "the TSX close (16:00 Toronto; 13:00 on Christmas Eve)",
            Self::Fx => "the FX day roll (17:00 New York)",
        }
    }

    fn calendar(self) -> Option<(HolidayCalendar, &'static [EarlyClose])> {
        match self {
            Self::Us => Some((HolidayCalendar::Nyse, &NYSE_EARLY_CLOSES)),
            Self::Canada => Some((HolidayCalendar::Tsx, &TSX_EARLY_CLOSES)),
            Self::Fx => None,
        }
    }

    /// The instant (ms since the epoch) the session closes on the Eastern
    /// calendar day `day`, or `None` when it does not trade that day.
    pub fn close_on(self, day: i64) -> Option<i64> {
        if dates::is_weekend(day) {
            return None;
        }
        let minute = match self.calendar() {
            None => FX_ROLL_MIN,
            Some((holidays, early)) => {
                if holidays.is_holiday(day) {
                    return None;
                }
                let y = dates::year_of_day(day);
                early
                    .iter()
                    .find(|e| e.day.in_year(y) == day)
                    .map_or(EQUITY_CLOSE_MIN, |e| e.close_min)
            }
        };
        Some(dates::eastern_to_utc_ms(day, minute))
    }

    /// When a DAY order placed at `now_ms` ends: the first close strictly
    /// after it.
    pub fn day_order_end(self, now_ms: i64) -> i64 {
        let today = dates::eastern_day(now_ms);
        // At most a long weekend plus a run of holidays ahead (the NYSE's
        // longest closure was four days, 2001-09-11..14).
        for ahead in 0..15 {
            if let Some(close) = self.close_on(today + ahead)
                && close > now_ms
            {
                return close;
            }
        }
        // Unreachable with the calendars above; a day later at worst.
        now_ms + dates::DAY_MS
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dates::{format_iso_ms, parse_iso_ms};

    fn end(symbol: &str, placed: &str) -> String {
        let ms = parse_iso_ms(placed).expect("timestamp");
        format_iso_ms(Session::of_symbol(symbol).day_order_end(ms))
    }

    #[test]
    fn symbols_map_to_their_market() {
        assert_eq!(Session::of_symbol("aapl"), Session::Us);
        assert_eq!(Session::of_symbol("SHOP.TO"), Session::Canada);
        assert_eq!(Session::of_symbol("abc.v"), Session::Canada);
        assert_eq!(Session::of_symbol("USD_JPY"), Session::Fx);
    }

    /// Worked inputs, in UTC, with the New York time they stand for.
    #[test]
    fn equity_day_orders_end_at_the_16_00_new_york_close_in_summer_and_winter() {
        // Monday 2025-06-16 11:00 EDT → that day 16:00 EDT = 20:00Z (the old
        // code said 2025-06-17T00:00Z, four hours of trading too many).
        assert_eq!(
            end("AAPL", "2025-06-16T15:00:00Z"),
            "2025-06-16T20:00:00+00:00"
        );
        assert_eq!(
            end("SHOP.TO", "2025-06-16T15:00:00Z"),
            "2025-06-16T20:00:00+00:00"
        );
        // Winter, Tuesday 2025-12-09 10:00 EST → 16:00 EST = 21:00Z.
        assert_eq!(
            end("AAPL", "2025-12-09T15:00:00Z"),
            "2025-12-09T21:00:00+00:00"
        );
        // After the close (Monday 22:00 EDT = Tuesday 02:00Z): Tuesday's close.
        assert_eq!(
            end("AAPL", "2025-06-17T02:00:00Z"),
            "2025-06-17T20:00:00+00:00"
        );
        // Exactly at the close: the next session.
        assert_eq!(
            end("AAPL", "2025-06-16T20:00:00Z"),
            "2025-06-17T20:00:00+00:00"
        );
        // Before the open (Monday 08:00 EDT): that day's close.
        assert_eq!(
            end("AAPL", "2025-06-16T12:00:00Z"),
            "2025-06-16T20:00:00+00:00"
        );
        // Friday evening: Monday's close.
        assert_eq!(
            end("AAPL", "2025-06-20T21:30:00Z"),
            "2025-06-23T20:00:00+00:00"
        );
    }

    #[test]
    fn the_close_follows_daylight_time_across_its_changes() {
        // Placed Saturday 2025-03-08 (EST): Monday 2025-03-10 is EDT, so
        // 16:00 is 20:00Z, not 21:00Z.
        assert_eq!(
            end("AAPL", "2025-03-08T15:00:00Z"),
            "2025-03-10T20:00:00+00:00"
        );
        // Friday 2025-03-07 15:00 EST → 21:00Z.
        assert_eq!(
            end("AAPL", "2025-03-07T20:00:00Z"),
            "2025-03-07T21:00:00+00:00"
        );
        // Placed Friday 2025-10-31 after the close (EDT): Monday 2025-11-03
        // is EST, 16:00 = 21:00Z.
        assert_eq!(
            end("AAPL", "2025-10-31T21:00:00Z"),
            "2025-11-03T21:00:00+00:00"
        );
        // 2006 used the April–October rule: Monday 2006-03-20 is still EST.
        assert_eq!(
            end("AAPL", "2006-03-20T15:00:00Z"),
            "2006-03-20T21:00:00+00:00"
        );
    }

    #[test]
    fn nyse_early_closes_end_the_day_at_13_00() {
        // 2025: July 3 (Thursday, EDT) 13:00 = 17:00Z; November 28 and
        // December 24 (EST) 13:00 = 18:00Z.
        assert_eq!(
            end("AAPL", "2025-07-03T14:00:00Z"),
            "2025-07-03T17:00:00+00:00"
        );
        assert_eq!(
            end("AAPL", "2025-11-28T15:00:00Z"),
            "2025-11-28T18:00:00+00:00"
        );
        assert_eq!(
            end("AAPL", "2025-12-24T15:00:00Z"),
            "2025-12-24T18:00:00+00:00"
        );
        // After the early close on Christmas Eve: the 25th is a holiday, so
        // Friday the 26th at 16:00 EST.
        assert_eq!(
            end("AAPL", "2025-12-24T18:30:00Z"),
            "2025-12-26T21:00:00+00:00"
        );
        // 2026: July 3 is the observed Independence Day (July 4 is a
        // Saturday): closed, so an order placed on July 2 after the close
        // ends Monday July 6 at 16:00 EDT.
        assert_eq!(
            end("AAPL", "2026-07-02T21:00:00Z"),
            "2026-07-06T20:00:00+00:00"
        );
        // 2023: Christmas Eve is a Sunday: no early close that year.
        assert_eq!(
            end("AAPL", "2023-12-22T15:00:00Z"),
            "2023-12-22T21:00:00+00:00"
        );
        // The TSX closes early on Christmas Eve but not on July 3 or the day
        // after (US) Thanksgiving.
        assert_eq!(
            end("SHOP.TO", "2025-12-24T15:00:00Z"),
            "2025-12-24T18:00:00+00:00"
        );
        assert_eq!(
            end("SHOP.TO", "2025-07-03T14:00:00Z"),
            "2025-07-03T20:00:00+00:00"
        );
        assert_eq!(
            end("SHOP.TO", "2025-11-28T15:00:00Z"),
            "2025-11-28T21:00:00+00:00"
        );
    }

    #[test]
    fn each_market_skips_its_own_holidays() {
        // US Thanksgiving 2025-11-27: AAPL waits for the early close on the
        // 28th; the TSX trades the 27th.
        assert_eq!(
            end("AAPL", "2025-11-27T15:00:00Z"),
            "2025-11-28T18:00:00+00:00"
        );
        assert_eq!(
            end("SHOP.TO", "2025-11-27T15:00:00Z"),
            "2025-11-27T21:00:00+00:00"
        );
        // Canada Day 2025-07-01: the TSX is closed, the NYSE is not.
        assert_eq!(
            end("SHOP.TO", "2025-07-01T14:00:00Z"),
            "2025-07-02T20:00:00+00:00"
        );
        assert_eq!(
            end("AAPL", "2025-07-01T14:00:00Z"),
            "2025-07-01T20:00:00+00:00"
        );
        // Good Friday 2025-04-18: both closed; Monday the 21st.
        assert_eq!(
            end("AAPL", "2025-04-18T14:00:00Z"),
            "2025-04-21T20:00:00+00:00"
        );
        assert_eq!(
            end("RY.TO", "2025-04-18T14:00:00Z"),
            "2025-04-21T20:00:00+00:00"
        );
    }

    #[test]
    fn fx_day_orders_end_at_the_17_00_new_york_roll() {
        // Monday 2025-06-16 11:00 EDT → 17:00 EDT = 21:00Z.
        assert_eq!(
            end("USD_JPY", "2025-06-16T15:00:00Z"),
            "2025-06-16T21:00:00+00:00"
        );
        // After the roll (18:00 EDT): Tuesday's 17:00.
        assert_eq!(
            end("EUR_USD", "2025-06-16T22:00:00Z"),
            "2025-06-17T21:00:00+00:00"
        );
        // Friday after the week's close, Saturday, Sunday evening (the new
        // week's first day is Monday): Monday 17:00.
        assert_eq!(
            end("EUR_USD", "2025-06-20T22:00:00Z"),
            "2025-06-23T21:00:00+00:00"
        );
        assert_eq!(
            end("EUR_USD", "2025-06-21T12:00:00Z"),
            "2025-06-23T21:00:00+00:00"
        );
        assert_eq!(
            end("EUR_USD", "2025-06-22T22:00:00Z"),
            "2025-06-23T21:00:00+00:00"
        );
        // Winter: 17:00 EST = 22:00Z; US holidays do not stop FX.
        assert_eq!(
            end("USD_CAD", "2025-11-27T15:00:00Z"),
            "2025-11-27T22:00:00+00:00"
        );
    }
}
