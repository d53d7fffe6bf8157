//! Calendar arithmetic on days since 1970-01-01 (UTC), without a date crate:
//! civil dates, `YYYY-MM-DD` and ISO 8601 timestamps. Shared by the bundles
//! (tax years and FX dates, venue timestamps, fantasy kickoffs).

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
