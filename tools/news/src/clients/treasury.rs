//! US Treasury daily par yield curve rates (keyless): the XML (Atom +
//! OData) feed at `/resource-center/data-chart-center/interest-rates/pages/xml?data=daily_treasury_yield_curve&field_tdr_date_value_month=YYYYMM`
//! (or `field_tdr_date_value=YYYY`). Each `<entry>` holds
//! `<m:properties><d:NEW_DATE m:type="Edm.DateTime">2026-01-02T00:00:00</d:NEW_DATE>
//! <d:BC_1MONTH m:type="Edm.Double">3.72</d:BC_1MONTH><d:BC_1_5MONTH>...<d:BC_30YEAR>...`;
//! tenors missing on a day (the 4-month and 1.5-month bills before they
//! were issued) are left out.

use quick_xml::Reader;
use quick_xml::events::Event;

use super::Http;
use crate::error::{NewsError, Result};
use crate::rates::{CurvePoint, YieldCurve};

/// Default base URL.
pub const DEFAULT_BASE: &str = "https://home.treasury.gov";

/// The feed's tenor fields: (field, label, months).
const TENORS: &[(&str, &str, f64)] = &[
    ("BC_1MONTH", "1M", 1.0),
    ("BC_1_5MONTH", "6W", 1.5),
    ("BC_2MONTH", "2M", 2.0),
    ("BC_3MONTH", "3M", 3.0),
    ("BC_4MONTH", "4M", 4.0),
    ("BC_6MONTH", "6M", 6.0),
    ("BC_1YEAR", "1Y", 12.0),
    ("BC_2YEAR", "2Y", 24.0),
    ("BC_3YEAR", "3Y", 36.0),
    ("BC_5YEAR", "5Y", 60.0),
    ("BC_7YEAR", "7Y", 84.0),
    ("BC_10YEAR", "10Y", 120.0),
    ("BC_20YEAR", "20Y", 240.0),
    ("BC_30YEAR", "30Y", 360.0),
];

/// Parses the XML feed into curves, oldest first.
pub fn parse(xml: &[u8]) -> Result<Vec<YieldCurve>> {
    let text =
        std::str::from_utf8(xml).map_err(|e| NewsError::parse("US Treasury", e.to_string()))?;
    let mut reader = Reader::from_str(text);
    let mut out = Vec::new();
    let mut current: Option<YieldCurve> = None;
    let mut field: Option<String> = None;
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                if name == "properties" {
                    current = Some(YieldCurve {
                        date: String::new(),
                        points: Vec::new(),
                    });
                }
                field = Some(name);
            }
            Ok(Event::Text(t)) => {
                if let (Some(c), Some(f)) = (current.as_mut(), field.as_deref()) {
                    let v = t
                        .decode()
                        .map_err(|e| NewsError::parse("US Treasury", e.to_string()))?;
                    let v = v.trim();
                    if f == "NEW_DATE" {
                        c.date = v.get(..10).unwrap_or(v).to_string();
                    } else if let Some((_, label, months)) = TENORS.iter().find(|(n, _, _)| *n == f)
                        && let Ok(rate) = v.parse::<f64>()
                    {
                        c.points.push(CurvePoint {
                            tenor: (*label).to_string(),
                            months: *months,
                            rate,
                        });
                    }
                }
            }
            Ok(Event::End(e)) => {
                if e.local_name().as_ref() == b"properties"
                    && let Some(c) = current.take()
                    && !c.date.is_empty()
                {
                    out.push(c);
                }
                field = None;
            }
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(e) => return Err(NewsError::parse("US Treasury", e.to_string())),
        }
    }
    for c in &mut out {
        c.points.sort_by(|a, b| a.months.total_cmp(&b.months));
    }
    out.sort_by(|a, b| a.date.cmp(&b.date));
    Ok(out)
}

/// The Treasury client.
#[derive(Debug)]
pub struct Treasury {
    http: Http,
}

impl Treasury {
    /// A client at `base`.
    pub fn new(base: &str) -> Result<Self> {
        Ok(Self {
            http: Http::new("US Treasury", base, 2, None)?,
        })
    }

    /// The curves of month `yyyymm` (`202611`).
    pub async fn month(&self, yyyymm: &str) -> Result<Vec<YieldCurve>> {
        if yyyymm.len() != 6 || !yyyymm.chars().all(|c| c.is_ascii_digit()) {
            return Err(NewsError::invalid("month", "YYYYMM, e.g. 202611"));
        }
        let body = self
            .http
            .get(
                "/resource-center/data-chart-center/interest-rates/pages/xml",
                &[
                    ("data", "daily_treasury_yield_curve".to_string()),
                    ("field_tdr_date_value_month", yyyymm.to_string()),
                ],
                &[],
            )
            .await?;
        parse(&body)
    }
}
