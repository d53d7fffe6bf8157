//! Calendar arithmetic on days since 1970-01-01 (UTC), without a date crate:
//! civil dates, `YYYY-MM-DD` and ISO 8601 timestamps, weekdays, North
//! American Eastern time (daylight-time rules by hand), and the NYSE, TSX
//! and US / Canadian bank holiday calendars with business-day arithmetic.
//! Shared by the bundles (tax years, settlement and FX dates, venue
//! timestamps and sessions, fantasy kickoffs).

/// Milliseconds in a day.
pub const DAY_MS: i64 = 86_400_000;

/// The day number (days since 1970-01-01) of a timestamp in ms.
pub fn day_of_ms(ms: i64) -> i64 {
    ms.div_euclid(DAY_MS)
}

/// The civil date (year, month 1-12, day 1-31) of a day number.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    // Howard Hinnant's algorithm.
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// The day number of a civil date.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let d = i64::from(d);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Parses `YYYY-MM-DD` into a day number.
pub fn parse_date(text: &str) -> Option<i64> {
    let mut parts = text.trim().splitn(3, '-');
    let y: i64 = parts.next()?.parse().ok()?;
    let m: u32 = parts.next()?.parse().ok()?;
    let d: u32 = parts.next()?.get(..2)?.parse().ok()?;
    if !(1..=12).contains(&m) || d == 0 || d > 31 || !(1900..=9999).contains(&y) {
        return None;
    }
    let day = days_from_civil(y, m, d);
    // Reject dates like 2023-02-30 that roll over.
    (civil_from_days(day) == (y, m, d)).then_some(day)
}

/// Formats a day number as `YYYY-MM-DD`.
pub fn format_date(day: i64) -> String {
    let (y, m, d) = civil_from_days(day);
    format!("{y:04}-{m:02}-{d:02}")
}

/// The calendar year of a day number.
pub fn year_of_day(day: i64) -> i64 {
    civil_from_days(day).0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(format_date(days_from_civil(2024, 2, 29)), "2024-02-29");
        assert_eq!(parse_date("2023-02-30"), None);
        assert_eq!(
            parse_date("2025-12-31").map(format_date).as_deref(),
            Some("2025-12-31")
        );
        for day in -1000..40_000 {
            let (y, m, d) = civil_from_days(day);
            assert_eq!(days_from_civil(y, m, d), day);
        }
    }
}

/// Parses an ISO 8601 timestamp (`2014-01-02T00:00:00.000000-05:00`,
/// `...Z`, or without offset meaning UTC) into ms since the epoch.
pub fn parse_iso_ms(text: &str) -> Option<i64> {
    let text = text.trim();
    let day = parse_date(text.get(..10)?)?;
    let rest = text.get(10..)?;
    let rest = rest.strip_prefix('T').or_else(|| rest.strip_prefix(' '))?;
    let h: i64 = rest.get(0..2)?.parse().ok()?;
    let mi: i64 = rest.get(3..5)?.parse().ok()?;
    let s: i64 = rest.get(6..8)?.parse().ok()?;
    if h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let mut tail = rest.get(8..)?;
    let mut ms = 0i64;
    if let Some(frac) = tail.strip_prefix('.') {
        let digits: String = frac.chars().take_while(|c| c.is_ascii_digit()).collect();
        let padded = format!("{digits:0<3}");
        ms = padded.get(..3)?.parse().ok()?;
        tail = &frac[digits.len()..];
    }
    let offset_min = match tail {
        "" | "Z" | "z" => 0,
        t if t.len() == 6 && (t.starts_with('+') || t.starts_with('-')) => {
            let oh: i64 = t.get(1..3)?.parse().ok()?;
            let om: i64 = t.get(4..6)?.parse().ok()?;
            let v = oh * 60 + om;
            if t.starts_with('-') { -v } else { v }
        }
        _ => return None,
    };
    Some(day * DAY_MS + ((h * 60 + mi - offset_min) * 60 + s) * 1000 + ms)
}

/// Formats ms since the epoch as `YYYY-MM-DDTHH:MM:SS+00:00` (UTC).
pub fn format_iso_ms(ms: i64) -> String {
    let day = day_of_ms(ms);
    let secs = ms.rem_euclid(DAY_MS) / 1000;
    format!(
        "{}T{:02}:{:02}:{:02}+00:00",
        format_date(day),
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

#[cfg(test)]
mod iso_tests {
    use super::*;

    #[test]
    fn iso_timestamps_round_trip_and_honour_offsets() {
        let ms = parse_iso_ms("2014-01-02T00:00:00.000000-05:00").expect("parse");
        assert_eq!(format_iso_ms(ms), "2014-01-02T05:00:00+00:00");
        assert_eq!(parse_iso_ms(&format_iso_ms(ms)), Some(ms));
        assert_eq!(
            parse_iso_ms("2024-03-01T12:30:15.25Z"),
            Some(1_709_296_215_250)
        );
        assert_eq!(parse_iso_ms("2024-13-01T00:00:00Z"), None);
        assert_eq!(parse_iso_ms("garbage"), None);
    }
}

// ---------------------------------------------------------------------------
// Weekdays, North American Eastern time, and exchange / settlement holidays.

/// The weekday of a day number: 0 Monday, 1 Tuesday, … 5 Saturday, 6 Sunday
/// (1970-01-01 was a Thursday).
pub fn weekday(day: i64) -> u32 {
    (day + 3).rem_euclid(7) as u32
}

/// Whether a day number is a Saturday or a Sunday.
pub fn is_weekend(day: i64) -> bool {
    weekday(day) >= 5
}

/// The day number of the `n`th (from 1) weekday `wd` (0 Monday … 6 Sunday)
/// of a month.
pub fn nth_weekday(y: i64, m: u32, wd: u32, n: u32) -> i64 {
    let first = days_from_civil(y, m, 1);
    first + i64::from((wd + 7 - weekday(first)) % 7) + 7 * i64::from(n.max(1) - 1)
}

/// The day number of the last weekday `wd` (0 Monday … 6 Sunday) of a month.
pub fn last_weekday(y: i64, m: u32, wd: u32) -> i64 {
    let next = if m == 12 {
        days_from_civil(y + 1, 1, 1)
    } else {
        days_from_civil(y, m + 1, 1)
    };
    let last = next - 1;
    last - i64::from((weekday(last) + 7 - wd) % 7)
}

/// Easter Sunday of a Gregorian year (the Meeus/Jones/Butcher algorithm).
pub fn easter_sunday(y: i64) -> i64 {
    let a = y % 19;
    let b = y / 100;
    let c = y % 100;
    let (d, e) = (b / 4, b % 4);
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let (i, k) = (c / 4, c % 4);
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let n = h + l - 7 * m + 114;
    days_from_civil(y, (n / 31) as u32, (n % 31 + 1) as u32)
}

const HOUR_MS: i64 = 3_600_000;

/// The UTC offset in minutes of North American Eastern time
/// (America/New_York, America/Toronto: the zone of NYSE, NASDAQ and the
/// TSX) at the instant `ms`: −240 in daylight time (EDT), −300 otherwise
/// (EST). Daylight time by hand, without a time-zone database: since 2007
/// from the second Sunday of March at 02:00 local (07:00 UTC) to the first
/// Sunday of November at 02:00 local (06:00 UTC); 1987–2006 from the first
/// Sunday of April to the last Sunday of October (earlier years use the
/// 1987 rule).
pub fn eastern_offset_min(ms: i64) -> i64 {
    let y = year_of_day(day_of_ms(ms - 5 * HOUR_MS));
    let (start, end) = if y >= 2007 {
        (nth_weekday(y, 3, 6, 2), nth_weekday(y, 11, 6, 1))
    } else {
        (nth_weekday(y, 4, 6, 1), last_weekday(y, 10, 6))
    };
    let daylight = start * DAY_MS + 7 * HOUR_MS..end * DAY_MS + 6 * HOUR_MS;
    if daylight.contains(&ms) { -240 } else { -300 }
}

/// The Eastern wall-clock time at the instant `ms`, as ms since the epoch
/// of that local time (its day is [`eastern_day`]).
pub fn eastern_local_ms(ms: i64) -> i64 {
    ms + eastern_offset_min(ms) * 60_000
}

/// The Eastern local calendar day of the instant `ms`: the trade day of a
/// fill on NYSE, NASDAQ or the TSX (an after-hours fill at 20:00 EST on
/// 2025-12-30 is 2025-12-31T01:00Z and trades on 2025-12-30).
pub fn eastern_day(ms: i64) -> i64 {
    day_of_ms(eastern_local_ms(ms))
}

/// The instant (ms since the epoch, UTC) of the Eastern wall-clock time
/// `minute_of_day` (0..1440) on `day`, e.g. 16:00 = 960 for the close. In
/// the repeated hour when daylight time ends the first (EDT) instant is
/// taken; a time in the skipped hour when it starts is read as EST.
pub fn eastern_to_utc_ms(day: i64, minute_of_day: i64) -> i64 {
    let local = day * DAY_MS + minute_of_day * 60_000;
    let edt = local + 4 * HOUR_MS;
    if eastern_offset_min(edt) == -240 {
        edt
    } else {
        local + 5 * HOUR_MS
    }
}

/// Whose holidays a business day skips. Each calendar is computed by rule
/// for any year (observed days when a holiday falls on a weekend), plus
/// the NYSE's unscheduled full-day closures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HolidayCalendar {
    /// NYSE and NASDAQ (US equities and listed options, and their DTC
    /// settlement): New Year's Day (not observed when on a Saturday),
    /// Martin Luther King Jr. Day (from 1998), Washington's Birthday, Good
    /// Friday, Memorial Day, Juneteenth (from 2022), Independence Day, Labor
    /// Day, Thanksgiving, Christmas (Saturday → Friday, Sunday → Monday),
    /// and the unscheduled closures (2001-09-11..14, 2004-06-11, 2007-01-02,
    /// 2012-10-29/30, 2018-12-05, 2025-01-09).
    Nyse,
    /// Toronto Stock Exchange and TSX Venture (Canadian equities and
    /// options, and their CDS settlement): New Year's Day, Family Day (from
    /// 2008), Good Friday, Victoria Day, Canada Day, Civic Holiday, Labour
    /// Day, Thanksgiving, Christmas and Boxing Day (weekend days move to the
    /// next free weekday).
    Tsx,
    /// US banks (the Federal Reserve), the USD side of FX settlement: New
    /// Year's Day, MLK Day, Washington's Birthday, Memorial Day, Juneteenth
    /// (from 2022), Independence Day, Labor Day, Columbus Day, Veterans Day,
    /// Thanksgiving, Christmas (Sunday → Monday; not observed when on a
    /// Saturday).
    UsBanks,
    /// Canadian banks (Payments Canada), the CAD side of FX settlement: New
    /// Year's Day, Good Friday, Victoria Day, Canada Day, Civic Holiday,
    /// Labour Day, National Day for Truth and Reconciliation (from 2021),
    /// Thanksgiving, Remembrance Day, Christmas and Boxing Day (weekend days
    /// move to the next free weekday).
    CanadianBanks,
}

/// NYSE full-day closures outside its holiday rules.
const NYSE_UNSCHEDULED: [(i64, u32, u32); 9] = [
    (2001, 9, 11),
    (2001, 9, 12),
    (2001, 9, 13),
    (2001, 9, 14),
    (2004, 6, 11),
    (2007, 1, 2),
    (2012, 10, 29),
    (2012, 10, 30),
    (2018, 12, 5),
];

/// NYSE closures announced for national days of mourning since 2025.
const NYSE_MOURNING: [(i64, u32, u32); 1] = [(2025, 1, 9)];

impl HolidayCalendar {
    /// The holidays (as observed) of a calendar year, weekdays only.
    pub fn holidays(self, y: i64) -> Vec<i64> {
        let date = |m, d| days_from_civil(y, m, d);
        // US rule: Saturday → Friday before, Sunday → Monday after.
        let us = |day: i64| match weekday(day) {
            5 => day - 1,
            6 => day + 1,
            _ => day,
        };
        // Federal Reserve rule: Sunday → Monday, Saturday not observed.
        let fed = |day: i64| if weekday(day) == 6 { day + 1 } else { day };
        // Canadian rule: Saturday or Sunday → the Monday after.
        let ca = |day: i64| match weekday(day) {
            5 => day + 2,
            6 => day + 1,
            _ => day,
        };
        let good_friday = easter_sunday(y) - 2;
        let monday_on_or_before = |day: i64| day - i64::from(weekday(day));
        let mut days = Vec::with_capacity(14);
        match self {
            Self::Nyse => {
                let new_year = date(1, 1);
                if weekday(new_year) != 5 {
                    days.push(us(new_year));
                }
                if y >= 1998 {
                    days.push(nth_weekday(y, 1, 0, 3));
                }
                days.extend([nth_weekday(y, 2, 0, 3), good_friday, last_weekday(y, 5, 0)]);
                if y >= 2022 {
                    days.push(us(date(6, 19)));
                }
                days.extend([
                    us(date(7, 4)),
                    nth_weekday(y, 9, 0, 1),
                    nth_weekday(y, 11, 3, 4),
                    us(date(12, 25)),
                ]);
                days.extend(
                    NYSE_UNSCHEDULED
                        .iter()
                        .chain(NYSE_MOURNING.iter())
                        .filter(|(yy, _, _)| *yy == y)
                        .map(|(yy, m, d)| days_from_civil(*yy, *m, *d)),
                );
            }
            Self::UsBanks => {
                days.push(fed(date(1, 1)));
                if y >= 1986 {
                    days.push(nth_weekday(y, 1, 0, 3));
                }
                days.extend([nth_weekday(y, 2, 0, 3), last_weekday(y, 5, 0)]);
                if y >= 2022 {
                    days.push(fed(date(6, 19)));
                }
                days.extend([
                    fed(date(7, 4)),
                    nth_weekday(y, 9, 0, 1),
                    nth_weekday(y, 10, 0, 2),
                    fed(date(11, 11)),
                    nth_weekday(y, 11, 3, 4),
                    fed(date(12, 25)),
                ]);
            }
            Self::Tsx | Self::CanadianBanks => {
                days.push(ca(date(1, 1)));
                if self == Self::Tsx && y >= 2008 {
                    days.push(nth_weekday(y, 2, 0, 3));
                }
                days.extend([
                    good_friday,
                    monday_on_or_before(date(5, 24)),
                    ca(date(7, 1)),
                    nth_weekday(y, 8, 0, 1),
                    nth_weekday(y, 9, 0, 1),
                ]);
                if self == Self::CanadianBanks && y >= 2021 {
                    days.push(ca(date(9, 30)));
                }
                days.push(nth_weekday(y, 10, 0, 2));
                if self == Self::CanadianBanks {
                    days.push(ca(date(11, 11)));
                }
                // Christmas, then Boxing Day on the next weekday not taken.
                let christmas = ca(date(12, 25));
                let mut boxing = ca(date(12, 26));
                if boxing == christmas {
                    boxing += 1;
                }
                days.extend([christmas, boxing]);
            }
        }
        days.retain(|d| !is_weekend(*d));
        days.sort_unstable();
        days.dedup();
        days
    }

    /// Whether `day` is one of this calendar's holidays.
    pub fn is_holiday(self, day: i64) -> bool {
        self.holidays(year_of_day(day)).contains(&day)
    }

    /// Whether `day` is a weekday and not a holiday.
    pub fn is_business_day(self, day: i64) -> bool {
        !is_weekend(day) && !self.is_holiday(day)
    }
}

/// The day `n` business days after `day`, a business day being a weekday
/// that is a holiday in none of `calendars` (`n = 0` gives `day`).
pub fn add_business_days(day: i64, n: u32, calendars: &[HolidayCalendar]) -> i64 {
    let mut d = day;
    let mut left = n;
    while left > 0 {
        d += 1;
        if !is_weekend(d) && !calendars.iter().any(|c| c.is_holiday(d)) {
            left -= 1;
        }
    }
    d
}

#[cfg(test)]
mod calendar_tests {
    use super::*;

    fn day(text: &str) -> i64 {
        parse_date(text).expect("date")
    }

    fn dates(days: Vec<i64>) -> Vec<String> {
        days.into_iter().map(format_date).collect()
    }

    #[test]
    fn weekdays_and_easter() {
        assert_eq!(weekday(day("1970-01-01")), 3);
        assert_eq!(weekday(day("2025-12-31")), 2); // a Wednesday
        assert_eq!(format_date(nth_weekday(2025, 3, 6, 2)), "2025-03-09");
        assert_eq!(format_date(last_weekday(2025, 5, 0)), "2025-05-26");
        for (y, easter) in [
            (2024, "2024-03-31"),
            (2025, "2025-04-20"),
            (2026, "2026-04-05"),
            (2000, "2000-04-23"),
        ] {
            assert_eq!(format_date(easter_sunday(y)), easter);
        }
    }

    /// Published exchange calendars: NYSE 2025 (nyse.com "Holidays and
    /// trading hours") and TSX 2025 (tsx.com "Market hours and holidays").
    #[test]
    fn nyse_and_tsx_2025_match_their_published_holiday_lists() {
        assert_eq!(
            dates(HolidayCalendar::Nyse.holidays(2025)),
            [
                "2025-01-01",
                "2025-01-09",
                "2025-01-20",
                "2025-02-17",
                "2025-04-18",
                "2025-05-26",
                "2025-06-19",
                "2025-07-04",
                "2025-09-01",
                "2025-11-27",
                "2025-12-25"
            ]
        );
        assert_eq!(
            dates(HolidayCalendar::Tsx.holidays(2025)),
            [
                "2025-01-01",
                "2025-02-17",
                "2025-04-18",
                "2025-05-19",
                "2025-07-01",
                "2025-08-04",
                "2025-09-01",
                "2025-10-13",
                "2025-12-25",
                "2025-12-26"
            ]
        );
        // Weekend observances: NYSE 2021 (Christmas Saturday → Friday 24th;
        // New Year's Day 2022 on a Saturday is not observed), TSX 2021/2022
        // (Christmas Saturday, Boxing Day Sunday → 27th and 28th; New Year's
        // Day 2022 Saturday → Monday 3rd).
        assert!(HolidayCalendar::Nyse.is_holiday(day("2021-12-24")));
        assert!(!HolidayCalendar::Nyse.is_holiday(day("2021-12-31")));
        assert!(!HolidayCalendar::Nyse.is_holiday(day("2022-01-03")));
        assert!(HolidayCalendar::Tsx.is_holiday(day("2021-12-27")));
        assert!(HolidayCalendar::Tsx.is_holiday(day("2021-12-28")));
        assert!(HolidayCalendar::Tsx.is_holiday(day("2022-01-03")));
        assert!(HolidayCalendar::Tsx.is_holiday(day("2022-12-27")));
        assert!(HolidayCalendar::CanadianBanks.is_holiday(day("2025-09-30")));
        assert!(HolidayCalendar::UsBanks.is_holiday(day("2025-10-13")));
        assert!(!HolidayCalendar::UsBanks.is_holiday(day("2025-04-18")));
    }

    #[test]
    fn business_days_skip_weekends_and_holidays() {
        let nyse = [HolidayCalendar::Nyse];
        // Wednesday 2025-12-31 + 1: Thursday is New Year's Day → Friday.
        assert_eq!(
            format_date(add_business_days(day("2025-12-31"), 1, &nyse)),
            "2026-01-02"
        );
        assert_eq!(
            format_date(add_business_days(day("2025-12-30"), 1, &nyse)),
            "2025-12-31"
        );
        // Friday + 2 over a weekend and Memorial Day 2024.
        assert_eq!(
            format_date(add_business_days(day("2024-05-24"), 2, &nyse)),
            "2024-05-29"
        );
        assert_eq!(
            format_date(add_business_days(day("2024-05-24"), 0, &nyse)),
            "2024-05-24"
        );
    }

    #[test]
    fn eastern_time_follows_us_and_canadian_daylight_time() {
        let ms = |t: &str| parse_iso_ms(t).expect("ts");
        // 20:00 EST on 2025-12-30 is 01:00 UTC on the 31st.
        assert_eq!(
            format_date(eastern_day(ms("2025-12-31T01:00:00Z"))),
            "2025-12-30"
        );
        assert_eq!(
            format_date(eastern_day(ms("2025-12-31T05:00:00Z"))),
            "2025-12-31"
        );
        // Summer: EDT, 23:30 local on June 30.
        assert_eq!(eastern_offset_min(ms("2025-07-01T03:30:00Z")), -240);
        assert_eq!(
            format_date(eastern_day(ms("2025-07-01T03:30:00Z"))),
            "2025-06-30"
        );
        // 2025 transitions: 2025-03-09 07:00Z and 2025-11-02 06:00Z.
        assert_eq!(eastern_offset_min(ms("2025-03-09T06:59:59Z")), -300);
        assert_eq!(eastern_offset_min(ms("2025-03-09T07:00:00Z")), -240);
        assert_eq!(eastern_offset_min(ms("2025-11-02T05:59:59Z")), -240);
        assert_eq!(eastern_offset_min(ms("2025-11-02T06:00:00Z")), -300);
        // 2006 used the April–October rule.
        assert_eq!(eastern_offset_min(ms("2006-03-20T12:00:00Z")), -300);
        assert_eq!(eastern_offset_min(ms("2006-04-02T07:00:00Z")), -240);
        // The 16:00 close in winter and summer.
        assert_eq!(
            format_iso_ms(eastern_to_utc_ms(day("2025-12-30"), 16 * 60)),
            "2025-12-30T21:00:00+00:00"
        );
        assert_eq!(
            format_iso_ms(eastern_to_utc_ms(day("2025-07-02"), 16 * 60)),
            "2025-07-02T20:00:00+00:00"
        );
    }
}
