//! Parquet bar files written by an independent writer (pyarrow, see
//! `fixtures/gen_parquet.py`) read back to the values the writer recorded in
//! `fixtures/bars_expected.json`: snappy with date32 and doubles, zstd with
//! nanosecond timestamps, a decimal and a float; a string price column and a
//! folder holding both `.csv` and `.parquet` for a symbol are refused.
#![cfg(feature = "parquet")]

use std::path::PathBuf;

use nt_quant::bars::{format_day, parse_day};
use nt_quant::data::csv::CsvFileProvider;
use nt_quant::data::parquet::read_parquet_file;
use nt_quant::data::{BarProvider, BarRequest};
use serde_json::Value;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

fn expected() -> Value {
    let text = std::fs::read_to_string(fixtures().join("bars_expected.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

async fn read(symbol: &str) -> nt_quant::Result<nt_quant::BarSeries> {
    let p = CsvFileProvider { dir: fixtures() };
    p.bars(&BarRequest {
        symbol: symbol.into(),
        ..Default::default()
    })
    .await
}

#[tokio::test]
async fn pyarrow_written_files_read_back_to_the_written_values() {
    let want = expected();
    for symbol in ["ABC", "XYZ"] {
        let s = read(symbol).await.unwrap();
        assert!(
            s.source.starts_with("parquet:") && s.source.ends_with(&format!("{symbol}.parquet")),
            "{}",
            s.source
        );
        let rows = want[symbol].as_array().unwrap();
        assert_eq!(s.len(), rows.len(), "{symbol}");
        for (b, w) in s.bars.iter().zip(rows) {
            assert_eq!(format_day(b.day), w["date"].as_str().unwrap(), "{symbol}");
            for (got, key) in [
                (b.open, "open"),
                (b.high, "high"),
                (b.low, "low"),
                (b.close, "close"),
                (b.volume, "volume"),
            ] {
                let w = w[key].as_f64().unwrap();
                // Doubles and float32-exact values round-trip exactly; the
                // decimal goes through one division by 10^scale.
                assert!(
                    (got - w).abs() <= 1e-12 * w.abs().max(1.0),
                    "{symbol} {key}: {got} vs {w}"
                );
            }
        }
    }
}

#[tokio::test]
async fn the_date_range_applies_to_parquet_files() {
    let p = CsvFileProvider { dir: fixtures() };
    let s = p
        .bars(&BarRequest {
            symbol: "ABC".into(),
            from: parse_day("2024-01-03"),
            to: parse_day("2024-01-04"),
        })
        .await
        .unwrap();
    assert_eq!(s.closes(), vec![102.75, 103.5]);
}

#[test]
fn a_string_price_column_is_refused_by_name() {
    let err = read_parquet_file("BAD", &fixtures().join("BAD.parquet"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("column `Close`") && err.contains("BYTE_ARRAY") && err.contains("BAD.parquet"),
        "{err}"
    );
}

#[test]
fn a_file_that_is_not_parquet_is_refused() {
    let err = read_parquet_file("X", &fixtures().join("bars_expected.json"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("not a readable Parquet file"), "{err}");
}

#[tokio::test]
async fn a_symbol_with_both_a_csv_and_a_parquet_file_is_ambiguous() {
    let dir = std::env::temp_dir().join(format!("nt-quant-pq-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(fixtures().join("ABC.parquet"), dir.join("ABC.parquet")).unwrap();
    let p = CsvFileProvider { dir: dir.clone() };
    let req = BarRequest {
        symbol: "ABC".into(),
        ..Default::default()
    };
    assert_eq!(p.bars(&req).await.unwrap().len(), 4);
    std::fs::write(dir.join("ABC.csv"), "Date,Close\n2024-01-02,1\n").unwrap();
    let err = p.bars(&req).await.unwrap_err().to_string();
    assert!(err.contains("keep one"), "{err}");
    std::fs::remove_dir_all(dir).ok();
}
