//! Bars from a Parquet file the user gives (`<dir>/<SYMBOL>.parquet`), read
//! with the `parquet` crate's plain row reader (no Arrow), snappy- or
//! zstd-compressed or uncompressed.
//!
//! Columns are found by name, case-insensitively, at the top level of the
//! schema:
//! - the date: `date`, `day`, `timestamp`, `datetime` or `time`; a `DATE`
//!   (days), a `TIMESTAMP` in milli-, micro- or nanoseconds (the UTC day is
//!   taken), a legacy `INT96` timestamp, or a string `YYYY-MM-DD` /
//!   `YYYYMMDD` (anything after a `T` or a space is ignored);
//! - `close` (or `adj close`, `adj_close`, `price`), required; `open`,
//!   `high`, `low` and `volume` optional, filled as the CSV reader fills them;
//!   each a double, float, integer or decimal.
//!
//! Rows may come in any order (they are sorted by day). A missing column, a
//! column of the wrong type and a null price are errors that name the column
//! (and the row).

use std::path::Path;

use parquet::basic::{ConvertedType, LogicalType, TimeUnit, Type as Physical};
use parquet::data_type::Decimal;
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::Field;
use parquet::schema::types::Type;

use crate::bars::{Bar, BarSeries, parse_day};
use crate::error::{QuantError, Result};

const DATE_NAMES: &[&str] = &["date", "day", "timestamp", "datetime", "time"];
const CLOSE_NAMES: &[&str] = &["close", "adj close", "adj_close", "price"];

/// How the date column stores its dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DateKind {
    /// `DATE`: days since the epoch.
    Days,
    /// `TIMESTAMP(MILLIS)` or a legacy `INT96` timestamp.
    Millis,
    /// `TIMESTAMP(MICROS)`.
    Micros,
    /// `TIMESTAMP(NANOS)` (the row reader hands it over as a plain integer).
    Nanos,
    /// A UTF-8 string.
    Text,
}

/// One located column: its top-level index and display name.
#[derive(Debug, Clone)]
struct Col {
    index: usize,
    name: String,
}

/// Reads one Parquet file of daily bars for `symbol`; the series' source is
/// `parquet:<path>`.
pub fn read_parquet_file(symbol: &str, path: &Path) -> Result<BarSeries> {
    let source = format!("parquet:{}", path.display());
    let fail = |what: String| QuantError::Data(format!("{source}: {what}"));
    let file = std::fs::File::open(path)
        .map_err(|e| QuantError::Data(format!("cannot read {}: {e}", path.display())))?;
    let reader = SerializedFileReader::new(file)
        .map_err(|e| fail(format!("not a readable Parquet file: {e}")))?;
    let root = reader
        .metadata()
        .file_metadata()
        .schema_descr()
        .root_schema()
        .clone();
    let fields = root.get_fields();
    let names: Vec<String> = fields.iter().map(|f| f.name().to_string()).collect();
    let find = |wanted: &[&str]| {
        names
            .iter()
            .position(|n| wanted.contains(&n.to_ascii_lowercase().as_str()))
            .map(|index| Col {
                index,
                name: names[index].clone(),
            })
    };
    let date = find(DATE_NAMES).ok_or_else(|| {
        fail(format!(
            "no date column (one of {}) among the columns [{}]",
            DATE_NAMES.join(", "),
            names.join(", ")
        ))
    })?;
    let close = find(CLOSE_NAMES).ok_or_else(|| {
        fail(format!(
            "no `close` column among the columns [{}]",
            names.join(", ")
        ))
    })?;
    let (open, high, low, volume) = (
        find(&["open"]),
        find(&["high"]),
        find(&["low"]),
        find(&["volume", "vol"]),
    );
    let date_kind = date_kind(&fields[date.index]).map_err(|t| {
        fail(format!(
            "column `{}` is {t}; a date column must be a DATE, a TIMESTAMP (ms, us or ns) or a YYYY-MM-DD string",
            date.name
        ))
    })?;
    for c in [
        Some(&close),
        open.as_ref(),
        high.as_ref(),
        low.as_ref(),
        volume.as_ref(),
    ]
    .into_iter()
    .flatten()
    {
        check_number(&fields[c.index]).map_err(|t| {
            fail(format!(
                "column `{}` is {t}; a price or volume column must be a double, float, integer or decimal",
                c.name
            ))
        })?;
    }
    let rows = reader
        .get_row_iter(None)
        .map_err(|e| fail(format!("cannot read rows: {e}")))?;
    let mut bars = Vec::new();
    for (n, row) in rows.enumerate() {
        let row = row.map_err(|e| fail(format!("row {n}: {e}")))?;
        let cells: Vec<&Field> = row.get_column_iter().map(|(_, f)| f).collect();
        let cell = |c: &Col| cells.get(c.index).copied().unwrap_or(&Field::Null);
        let day = to_day(cell(&date), date_kind).ok_or_else(|| {
            fail(format!(
                "row {n}: `{}` is {}, not a date",
                date.name,
                cell(&date)
            ))
        })?;
        let num = |c: Option<&Col>| -> Result<Option<f64>> {
            let Some(c) = c else { return Ok(None) };
            match cell(c) {
                Field::Null => Ok(None),
                f => to_f64(f)
                    .map(Some)
                    .ok_or_else(|| fail(format!("row {n}: `{}` is {f}, not a number", c.name))),
            }
        };
        let c =
            num(Some(&close))?.ok_or_else(|| fail(format!("row {n}: `{}` is null", close.name)))?;
        let o = num(open.as_ref())?.unwrap_or(c);
        let h = num(high.as_ref())?.unwrap_or(o.max(c));
        let l = num(low.as_ref())?.unwrap_or(o.min(c));
        let v = num(volume.as_ref())?.unwrap_or(0.0);
        bars.push(Bar {
            day,
            open: o,
            high: h,
            low: l,
            close: c,
            volume: v,
        });
    }
    bars.sort_by_key(|b| b.day);
    BarSeries::new(symbol, source.as_str(), bars).map_err(|e| match e {
        QuantError::Data(m) => fail(m),
        other => other,
    })
}

/// A readable name for a column's type, for errors.
fn type_name(t: &Type) -> String {
    if !t.is_primitive() {
        return "a group (nested column)".into();
    }
    let info = t.get_basic_info();
    match info.logical_type_ref() {
        Some(l) => format!("{:?} ({l:?})", t.get_physical_type()),
        None if info.converted_type() != ConvertedType::NONE => {
            format!("{:?} ({})", t.get_physical_type(), info.converted_type())
        }
        None => format!("{:?}", t.get_physical_type()),
    }
}

/// How a date column stores dates, or its type name when it is no date.
fn date_kind(t: &Type) -> std::result::Result<DateKind, String> {
    if !t.is_primitive() {
        return Err(type_name(t));
    }
    let info = t.get_basic_info();
    let kind = match (t.get_physical_type(), info.logical_type_ref()) {
        (Physical::INT32, Some(LogicalType::Date)) => DateKind::Days,
        (Physical::INT64, Some(LogicalType::Timestamp(ts))) => match ts.unit {
            TimeUnit::MILLIS => DateKind::Millis,
            TimeUnit::MICROS => DateKind::Micros,
            TimeUnit::NANOS => DateKind::Nanos,
        },
        (Physical::INT96, _) => DateKind::Millis,
        (Physical::BYTE_ARRAY, Some(LogicalType::String)) => DateKind::Text,
        (Physical::INT32, None) if info.converted_type() == ConvertedType::DATE => DateKind::Days,
        (Physical::INT64, None) => match info.converted_type() {
            ConvertedType::TIMESTAMP_MILLIS => DateKind::Millis,
            ConvertedType::TIMESTAMP_MICROS => DateKind::Micros,
            _ => return Err(type_name(t)),
        },
        (Physical::BYTE_ARRAY, None) if info.converted_type() == ConvertedType::UTF8 => {
            DateKind::Text
        }
        _ => return Err(type_name(t)),
    };
    Ok(kind)
}

/// Whether a column holds numbers, or its type name when it does not.
fn check_number(t: &Type) -> std::result::Result<(), String> {
    if !t.is_primitive() {
        return Err(type_name(t));
    }
    let info = t.get_basic_info();
    let decimal = matches!(info.logical_type_ref(), Some(LogicalType::Decimal { .. }))
        || info.converted_type() == ConvertedType::DECIMAL;
    let plain_int = matches!(
        info.logical_type_ref(),
        None | Some(LogicalType::Integer { .. })
    ) && matches!(
        info.converted_type(),
        ConvertedType::NONE
            | ConvertedType::INT_8
            | ConvertedType::INT_16
            | ConvertedType::INT_32
            | ConvertedType::INT_64
            | ConvertedType::UINT_8
            | ConvertedType::UINT_16
            | ConvertedType::UINT_32
            | ConvertedType::UINT_64
    );
    match t.get_physical_type() {
        Physical::DOUBLE | Physical::FLOAT => Ok(()),
        Physical::INT32 | Physical::INT64 if decimal || plain_int => Ok(()),
        Physical::BYTE_ARRAY | Physical::FIXED_LEN_BYTE_ARRAY if decimal => Ok(()),
        _ => Err(type_name(t)),
    }
}

/// The day number of a date cell.
fn to_day(f: &Field, kind: DateKind) -> Option<i64> {
    const MS: i64 = 86_400_000;
    match (f, kind) {
        (Field::Date(d), _) => Some(i64::from(*d)),
        (Field::TimestampMillis(ms), _) => Some(ms.div_euclid(MS)),
        (Field::TimestampMicros(us), _) => Some(us.div_euclid(MS * 1000)),
        (Field::Long(ns), DateKind::Nanos) => Some(ns.div_euclid(MS * 1_000_000)),
        (Field::Str(s), DateKind::Text) => parse_day(s.split(['T', ' ']).next().unwrap_or("")),
        _ => None,
    }
}

/// The value of a number cell.
fn to_f64(f: &Field) -> Option<f64> {
    Some(match f {
        Field::Double(x) => *x,
        Field::Float(x) => f64::from(*x),
        Field::Float16(x) => f64::from(f32::from(*x)),
        Field::Byte(x) => f64::from(*x),
        Field::Short(x) => f64::from(*x),
        Field::Int(x) => f64::from(*x),
        Field::Long(x) => *x as f64,
        Field::UByte(x) => f64::from(*x),
        Field::UShort(x) => f64::from(*x),
        Field::UInt(x) => f64::from(*x),
        Field::ULong(x) => *x as f64,
        Field::Decimal(d) => decimal_to_f64(d)?,
        _ => return None,
    })
}

/// A decimal's value: its big-endian two's-complement unscaled integer (up to
/// 16 bytes) over 10^scale.
fn decimal_to_f64(d: &Decimal) -> Option<f64> {
    let bytes = d.data();
    if bytes.is_empty() || bytes.len() > 16 {
        return None;
    }
    let negative = bytes[0] & 0x80 != 0;
    let mut buf = [if negative { 0xff } else { 0 }; 16];
    buf[16 - bytes.len()..].copy_from_slice(bytes);
    let unscaled = i128::from_be_bytes(buf);
    Some(unscaled as f64 / 10f64.powi(d.scale()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_of_any_width_and_sign_decode() {
        assert_eq!(
            decimal_to_f64(&Decimal::from_i32(12345, 7, 2)),
            Some(123.45)
        );
        assert_eq!(decimal_to_f64(&Decimal::from_i64(-5, 10, 1)), Some(-0.5));
        let bytes = parquet::data_type::ByteArray::from(vec![0xffu8, 0x85]); // -123
        assert_eq!(
            decimal_to_f64(&Decimal::from_bytes(bytes, 5, 1)),
            Some(-12.3)
        );
    }

    #[test]
    fn dates_come_from_days_timestamps_and_strings() {
        let d = parse_day("2024-01-02").unwrap();
        let ms = d * 86_400_000 + 3_600_000;
        assert_eq!(to_day(&Field::Date(d as i32), DateKind::Days), Some(d));
        assert_eq!(
            to_day(&Field::TimestampMillis(ms), DateKind::Millis),
            Some(d)
        );
        assert_eq!(
            to_day(&Field::TimestampMicros(ms * 1000), DateKind::Micros),
            Some(d)
        );
        assert_eq!(
            to_day(&Field::Long(ms * 1_000_000), DateKind::Nanos),
            Some(d)
        );
        assert_eq!(to_day(&Field::Long(ms), DateKind::Text), None);
        assert_eq!(
            to_day(&Field::Str("2024-01-02T15:30:00Z".into()), DateKind::Text),
            Some(d)
        );
        // Before the epoch the day still floors.
        assert_eq!(
            to_day(&Field::TimestampMillis(-1), DateKind::Millis),
            Some(-1)
        );
    }
}
