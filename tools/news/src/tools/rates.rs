//! `rates_yield_curve` and `rates_series`, cached in the database for the
//! bundle's TTL.

use std::sync::Arc;

use nt_mcp_core::bundle::{ToolCtx, ToolOutput};
use nt_mcp_core::dates::{civil_from_days, day_of_ms, parse_date};
use nt_mcp_core::{Route, ToolError, route};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use super::inputs::*;
use crate::NewsBundle;
use crate::cache;
use crate::rates::{Series, YieldCurve};

pub(crate) fn routes() -> Vec<Route<NewsBundle>> {
    vec![
        route(
            "rates_yield_curve",
            "The US Treasury daily par yield curve for a day (default: the latest published), with the 10y-2y and \
             10y-3m spreads and whether the curve is inverted.",
            yield_curve,
        ),
        route(
            "rates_series",
            "A rates or FX series: FRED (`provider: fred`, needs FRED_API_KEY) or the Bank of Canada Valet \
             (`provider: boc`, e.g. FXUSDCAD for the USD/CAD rate).",
            series,
        ),
    ]
}

/// Through the database cache: a row younger than the TTL, else `fetch`.
async fn cached<
    T: Serialize + DeserializeOwned,
    F: Future<Output = Result<T, crate::NewsError>>,
>(
    b: &NewsBundle,
    ctx: &ToolCtx,
    source: &str,
    key: &str,
    fetch: F,
) -> Result<(T, &'static str), ToolError> {
    let now = ctx.clock.now_ms();
    if let Some(v) = cache::get_raw(&ctx.store, source, key, now, b.aggregator.ttl_ms)
        .await
        .map_err(ToolError::from)?
        && let Ok(t) = serde_json::from_str(&v)
    {
        return Ok((t, "cache"));
    }
    let t = fetch.await.map_err(ToolError::from)?;
    let body = serde_json::to_string(&t).unwrap_or_default();
    cache::put_raw(&ctx.store, source, key, &body, now)
        .await
        .map_err(ToolError::from)?;
    Ok((t, "live"))
}

fn yyyymm(day: i64) -> String {
    let (y, m, _) = civil_from_days(day);
    format!("{y:04}{m:02}")
}

async fn yield_curve(
    b: Arc<NewsBundle>,
    input: YieldCurveInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    let Some(t) = &b.treasury else {
        return Err(ToolError::refused("the Treasury source is off")
            .with_hint("set NEWS_LIVE_FEEDS=true (keyless) or news treasury_url"));
    };
    let day = match input
        .date
        .as_deref()
        .map(str::trim)
        .filter(|d| !d.is_empty())
    {
        Some(d) => Some(parse_date(d).ok_or_else(|| ToolError::invalid("date", "YYYY-MM-DD"))?),
        None => None,
    };
    let month_day = day.unwrap_or_else(|| day_of_ms(ctx.clock.now_ms()));
    let mut months = vec![yyyymm(month_day)];
    if day.is_none() {
        // Early in a month nothing may be published yet: fall back a month.
        months.push(yyyymm(month_day - 28));
    }
    let mut found: Option<(YieldCurve, &'static str)> = None;
    for m in months {
        let (curves, how): (Vec<YieldCurve>, _) =
            cached(&b, &ctx, "treasury", &m, t.month(&m)).await?;
        let pick = match &input.date {
            Some(d) if day.is_some() => curves.into_iter().find(|c| c.date == d.trim()),
            _ => curves.into_iter().next_back(),
        };
        if let Some(c) = pick {
            found = Some((c, how));
            break;
        }
    }
    let Some((c, how)) = found else {
        return Err(ToolError::not_found("no curve published for that day").with_field("date"));
    };
    let s2 = c.spread_10y_2y();
    let s3 = c.spread_10y_3m();
    let mut text = format!(
        "US Treasury par yield curve {} (source: treasury, {how}):\n",
        c.date
    );
    for p in &c.points {
        text.push_str(&format!("  {:>4} {:.2}%\n", p.tenor, p.rate));
    }
    if let Some(s) = s2 {
        text.push_str(&format!(
            "10y-2y {:+.2} pp{}\n",
            s,
            if s < 0.0 { " (inverted)" } else { "" }
        ));
    }
    Ok(ToolOutput::new(
        text,
        json!({
            "source": "treasury",
            "served_from": how,
            "curve": c,
            "spread_10y_2y": s2,
            "spread_10y_3m": s3,
            "inverted_10y_2y": s2.map(|s| s < 0.0),
        }),
    ))
}

fn check_date(field: &str, v: &Option<String>) -> Result<Option<String>, ToolError> {
    match v.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
        Some(d) => {
            parse_date(d).ok_or_else(|| ToolError::invalid(field, "YYYY-MM-DD"))?;
            Ok(Some(d.to_string()))
        }
        None => Ok(None),
    }
}

async fn series(
    b: Arc<NewsBundle>,
    input: SeriesInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    let id = input.series.trim().to_string();
    if id.is_empty()
        || id.len() > 40
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return Err(ToolError::invalid(
            "series",
            "a series id such as DGS10 or FXUSDCAD",
        ));
    }
    let start = check_date("start", &input.start)?;
    let end = check_date("end", &input.end)?;
    let recent = input.recent.unwrap_or(10).clamp(1, 1000);
    let key = format!(
        "{id}|{}|{}|{recent}",
        start.as_deref().unwrap_or("-"),
        end.as_deref().unwrap_or("-")
    );
    let (s, how): (Series, _) = match input.provider.trim() {
        "fred" => {
            let Some(f) = &b.fred else {
                return Err(
                    ToolError::refused("FRED is not configured").with_hint("set FRED_API_KEY")
                );
            };
            cached(
                &b,
                &ctx,
                "fred",
                &key,
                f.series(&id, start.as_deref(), end.as_deref()),
            )
            .await?
        }
        "boc" => {
            let Some(v) = &b.boc else {
                return Err(ToolError::refused("the Bank of Canada source is off")
                    .with_hint("set NEWS_LIVE_FEEDS=true (keyless) or news boc_url"));
            };
            cached(
                &b,
                &ctx,
                "boc",
                &key,
                v.series(&id, start.as_deref(), end.as_deref(), Some(recent)),
            )
            .await?
        }
        _ => return Err(ToolError::invalid("provider", "`fred` or `boc`")),
    };
    let vals: Vec<(String, f64)> = s
        .observations
        .iter()
        .filter_map(|o| o.value.map(|v| (o.date.clone(), v)))
        .collect();
    let last = vals.last().cloned();
    let change = match (vals.first(), vals.last()) {
        (Some(a), Some(z)) if vals.len() > 1 => Some(z.1 - a.1),
        _ => None,
    };
    let text = format!(
        "{} {} ({}): {} observations{}{} (source: {}, {how})",
        s.provider,
        s.id,
        s.label.as_deref().unwrap_or(""),
        s.observations.len(),
        last.as_ref()
            .map(|(d, v)| format!(", last {v} on {d}"))
            .unwrap_or_default(),
        change
            .map(|c| format!(", change {c:+.4}"))
            .unwrap_or_default(),
        s.provider
    );
    Ok(ToolOutput::new(
        text,
        json!({"source": s.provider, "served_from": how, "series": s, "last": last.map(|(d, v)| json!({"date": d, "value": v})), "change": change}),
    ))
}
