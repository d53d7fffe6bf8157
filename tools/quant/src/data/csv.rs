//! Bars from CSV text or a CSV file the user gives: a header row naming
//! `Date` and `Close` (and optionally `Open`, `High`, `Low`, `Volume`;
//! case-insensitive, Stooq and Yahoo headers both work), comma or semicolon
//! separated, rows in any order (sorted by date).

use std::path::PathBuf;

use async_trait::async_trait;

use crate::bars::{Bar, BarSeries, parse_day};
use crate::data::{BarProvider, BarRequest};
use crate::error::{QuantError, Result};

/// Parses CSV `text` into a series for `symbol`, labelled `source`.
pub fn parse_csv(symbol: &str, source: &str, text: &str) -> Result<BarSeries> {
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let header = lines
        .next()
        .ok_or_else(|| QuantError::Data(format!("{source}: empty CSV")))?;
    let sep = if header.contains(',') { ',' } else { ';' };
    let cols: Vec<String> = header
        .split(sep)
        .map(|c| c.trim().trim_matches('"').to_ascii_lowercase())
        .collect();
    let find = |names: &[&str]| cols.iter().position(|c| names.contains(&c.as_str()));
    let date = find(&["date", "day", "timestamp"]).ok_or_else(|| {
        QuantError::Data(format!(
            "{source}: no `Date` column in header `{header}` (the answer was: {})",
            first_words(text)
        ))
    })?;
    let close = find(&["close", "adj close", "adj_close", "price"]).ok_or_else(|| {
        QuantError::Data(format!("{source}: no `Close` column in header `{header}`"))
    })?;
    let (open, high, low, vol) = (
        find(&["open"]),
        find(&["high"]),
        find(&["low"]),
        find(&["volume", "vol"]),
    );
    let mut bars = Vec::new();
    for (n, line) in lines.enumerate() {
        let f: Vec<&str> = line
            .split(sep)
            .map(|c| c.trim().trim_matches('"'))
            .collect();
        let row = n + 2;
        let num = |i: Option<usize>, name: &str| -> Result<Option<f64>> {
            match i {
                None => Ok(None),
                Some(i) => {
                    let t = f.get(i).copied().unwrap_or("");
                    if t.is_empty() && name == "volume" {
                        return Ok(Some(0.0));
                    }
                    t.parse::<f64>().map(Some).map_err(|_| {
                        QuantError::Data(format!(
                            "{source}: line {row}: `{name}` is `{t}`, not a number"
                        ))
                    })
                }
            }
        };
        let d = f.get(date).copied().unwrap_or("");
        let day = parse_day(d).ok_or_else(|| {
            QuantError::Data(format!(
                "{source}: line {row}: date `{d}` is not YYYY-MM-DD"
            ))
        })?;
        let c = num(Some(close), "close")?.unwrap_or(f64::NAN);
        let o = num(open, "open")?.unwrap_or(c);
        let h = num(high, "high")?.unwrap_or(o.max(c));
        let l = num(low, "low")?.unwrap_or(o.min(c));
        let v = num(vol, "volume")?.unwrap_or(0.0);
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
    BarSeries::new(symbol, source, bars)
}

/// The first words of a body, for errors about answers that are not CSV.
fn first_words(text: &str) -> String {
    text.chars().take(80).collect::<String>().replace('\n', " ")
}

/// Reads `<dir>/<SYMBOL>.csv` or, with the `parquet` feature,
/// `<dir>/<SYMBOL>.parquet` (see [`crate::data::parquet`]); a symbol with
/// both files is refused as ambiguous.
#[derive(Debug, Clone)]
pub struct CsvFileProvider {
    /// Folder of `<SYMBOL>.csv` / `<SYMBOL>.parquet` files.
    pub dir: PathBuf,
}

impl CsvFileProvider {
    /// Reads one CSV file.
    pub fn read_file(symbol: &str, path: &std::path::Path) -> Result<BarSeries> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| QuantError::Data(format!("cannot read {}: {e}", path.display())))?;
        parse_csv(symbol, &format!("csv:{}", path.display()), &text)
    }
}

#[async_trait]
impl BarProvider for CsvFileProvider {
    fn name(&self) -> &str {
        "csv"
    }

    async fn bars(&self, req: &BarRequest) -> Result<BarSeries> {
        if req.symbol.contains('/') || req.symbol.contains('\\') || req.symbol.contains("..") {
            return Err(QuantError::invalid(
                "symbol",
                "a CSV symbol is a file name, not a path",
            ));
        }
        let path = self.dir.join(format!("{}.csv", req.symbol));
        #[cfg(feature = "parquet")]
        let (path, series) = {
            let pq = self.dir.join(format!("{}.parquet", req.symbol));
            match (path.is_file(), pq.is_file()) {
                (true, true) => {
                    return Err(QuantError::Data(format!(
                        "both {} and {} exist; keep one",
                        path.display(),
                        pq.display()
                    )));
                }
                (false, true) => {
                    let s = crate::data::parquet::read_parquet_file(&req.symbol, &pq)?;
                    (pq, s)
                }
                _ => {
                    let s = Self::read_file(&req.symbol, &path)?;
                    (path, s)
                }
            }
        };
        #[cfg(not(feature = "parquet"))]
        let series = Self::read_file(&req.symbol, &path)?;
        let series = series.between(req.from, req.to);
        if series.is_empty() {
            return Err(QuantError::NotEnoughData(format!(
                "{} has no bars in the range",
                path.display()
            )));
        }
        Ok(series)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_stooq_and_yahoo_shapes_and_sorts_rows() {
        let stooq = "Date,Open,High,Low,Close,Volume\n2024-01-03,10,11,9,10.5,100\n2024-01-02,9,10,8.5,9.5,200\n";
        let s = parse_csv("X", "t", stooq).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s.bars[0].close, 9.5);
        let yahoo = "Date,Open,High,Low,Close,Adj Close,Volume\n2024-01-02,1,2,0.5,1.5,1.4,7\n";
        assert_eq!(parse_csv("Y", "t", yahoo).unwrap().bars[0].close, 1.5);
        let close_only = "date;close\n20240102;5\n20240103;6\n";
        assert_eq!(parse_csv("Z", "t", close_only).unwrap().bars[1].high, 6.0);
    }

    #[test]
    fn errors_name_the_line_and_the_problem() {
        let err = parse_csv("X", "f.csv", "Date,Close\n2024-01-02,abc\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 2") && err.contains("abc"), "{err}");
        let err = parse_csv("X", "f.csv", "No data").unwrap_err().to_string();
        assert!(err.contains("No data"), "{err}");
    }

    #[tokio::test]
    async fn the_file_provider_reads_symbol_files_and_refuses_paths() {
        let dir = std::env::temp_dir().join(format!("nt-quant-csv-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("ABC.csv"),
            "Date,Close\n2024-01-02,1\n2024-01-03,2\n2024-01-04,3\n",
        )
        .unwrap();
        let p = CsvFileProvider { dir: dir.clone() };
        let req = BarRequest {
            symbol: "ABC".into(),
            from: parse_day("2024-01-03"),
            to: None,
        };
        let s = p.bars(&req).await.unwrap();
        assert_eq!(s.closes(), vec![2.0, 3.0]);
        assert!(s.source.starts_with("csv:"));
        let bad = BarRequest {
            symbol: "../etc/passwd".into(),
            ..Default::default()
        };
        assert!(p.bars(&bad).await.is_err());
        std::fs::remove_dir_all(dir).ok();
    }
}
