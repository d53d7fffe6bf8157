//! Performance tracking over any equity series: rolling Sharpe, drawdown,
//! hit rate, and the full figures; and an SVG chart of equity over drawdown.

use std::fmt::Write as _;

use serde::Serialize;

use crate::backtest::BacktestConfig;
use crate::backtest::metrics::{Metrics, compute_metrics, drawdown_series, ratios};
use crate::bars::{format_day, simple_returns};
use crate::error::{QuantError, Result};

/// A performance report.
#[derive(Debug, Clone, Serialize)]
pub struct PerformanceReport {
    /// Whole-period figures (trade statistics are empty: no fills given).
    pub metrics: Metrics,
    /// Share of periods with a positive return.
    pub hit_rate: f64,
    /// Rolling annualised Sharpe over `window` periods (one per period from `window` on).
    pub rolling_sharpe: Vec<f64>,
    /// Drawdown at each point.
    pub drawdown: Vec<f64>,
    /// Current drawdown.
    pub current_drawdown: f64,
    /// Rolling window used.
    pub window: usize,
}

/// Tracks `equity` (oldest first; the first value is the start).
pub fn report(
    equity: &[f64],
    window: usize,
    periods_per_year: f64,
    risk_free_rate: f64,
) -> Result<PerformanceReport> {
    if equity.len() < 3 || equity.iter().any(|e| !(e.is_finite() && *e > 0.0)) {
        return Err(QuantError::invalid(
            "equity",
            "give at least 3 positive equity values, oldest first",
        ));
    }
    if !(2..=equity.len() - 1).contains(&window) {
        return Err(QuantError::invalid(
            "window",
            format!("must be 2-{}", equity.len() - 1),
        ));
    }
    let rets = simple_returns(equity);
    let cfg = BacktestConfig {
        initial_capital: equity[0],
        periods_per_year,
        risk_free_rate,
        ..Default::default()
    };
    let metrics = compute_metrics(&cfg, &equity[1..], &vec![1.0; equity.len() - 1], 0.0, &[]);
    let rolling_sharpe = (window..=rets.len())
        .map(|t| ratios(&rets[t - window..t], periods_per_year, risk_free_rate).0)
        .collect();
    let drawdown = drawdown_series(equity);
    Ok(PerformanceReport {
        metrics,
        hit_rate: rets.iter().filter(|r| **r > 0.0).count() as f64 / rets.len() as f64,
        rolling_sharpe,
        current_drawdown: *drawdown.last().unwrap_or(&0.0),
        drawdown,
        window,
    })
}

/// At most `max` evenly spaced indices of `0..n` (first and last kept).
fn thin(n: usize, max: usize) -> Vec<usize> {
    if n <= max {
        return (0..n).collect();
    }
    (0..max).map(|k| k * (n - 1) / (max - 1)).collect()
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// An SVG (800×420) of `equity` (top panel, line) over its drawdown
/// (bottom panel, filled), with `days` (day numbers) as the time axis when
/// given. At most 1000 points are drawn.
pub fn equity_chart_svg(title: &str, equity: &[f64], days: Option<&[i64]>) -> Result<String> {
    if equity.len() < 2 || equity.iter().any(|e| !e.is_finite()) {
        return Err(QuantError::invalid(
            "equity",
            "need at least 2 finite values to draw",
        ));
    }
    let (w, h, left, right) = (800.0, 420.0, 70.0, 20.0);
    let (top_y0, top_y1, dd_y0, dd_y1) = (40.0, 270.0, 300.0, 390.0);
    let idx = thin(equity.len(), 1000);
    let lo = equity.iter().copied().fold(f64::MAX, f64::min);
    let hi = equity.iter().copied().fold(f64::MIN, f64::max);
    let span = if hi > lo { hi - lo } else { 1.0 };
    let dd = drawdown_series(equity);
    let max_dd = dd.iter().copied().fold(0.0, f64::max).max(1e-9);
    let x = |i: usize| left + (w - left - right) * i as f64 / (equity.len() - 1) as f64;
    let ye = |v: f64| top_y1 - (top_y1 - top_y0) * (v - lo) / span;
    let yd = |v: f64| dd_y0 + (dd_y1 - dd_y0) * v / max_dd;
    let mut s = String::new();
    let _ = write!(
        s,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="12"><rect width="100%" height="100%" fill="#ffffff"/><text x="{left}" y="22" font-size="15" font-weight="bold">{}</text>"##,
        esc(title)
    );
    for (v, label) in [(hi, hi), (lo, lo), ((hi + lo) / 2.0, (hi + lo) / 2.0)] {
        let _ = write!(
            s,
            r##"<line x1="{left}" x2="{}" y1="{y:.1}" y2="{y:.1}" stroke="#e5e7eb"/><text x="{}" y="{:.1}" text-anchor="end">{label:.2}</text>"##,
            w - right,
            left - 6.0,
            ye(v) + 4.0,
            y = ye(v)
        );
    }
    let pts: Vec<String> = idx
        .iter()
        .map(|i| format!("{:.1},{:.1}", x(*i), ye(equity[*i])))
        .collect();
    let _ = write!(
        s,
        r##"<polyline fill="none" stroke="#2563eb" stroke-width="1.5" points="{}"/>"##,
        pts.join(" ")
    );
    let mut area: Vec<String> = vec![format!("{:.1},{dd_y0:.1}", x(0))];
    area.extend(
        idx.iter()
            .map(|i| format!("{:.1},{:.1}", x(*i), yd(dd[*i]))),
    );
    area.push(format!("{:.1},{dd_y0:.1}", x(equity.len() - 1)));
    let _ = write!(
        s,
        r##"<line x1="{left}" x2="{}" y1="{dd_y0}" y2="{dd_y0}" stroke="#9ca3af"/><polygon fill="#dc2626" fill-opacity="0.35" stroke="#dc2626" points="{}"/><text x="{}" y="{:.1}" text-anchor="end">0%</text><text x="{}" y="{:.1}" text-anchor="end">-{:.1}%</text><text x="{left}" y="{}" fill="#6b7280">drawdown</text>"##,
        w - right,
        area.join(" "),
        left - 6.0,
        dd_y0 + 4.0,
        left - 6.0,
        dd_y1 + 4.0,
        max_dd * 100.0,
        dd_y0 - 6.0
    );
    if let Some(d) = days.filter(|d| d.len() == equity.len()) {
        for (i, anchor) in [(0, "start"), (equity.len() - 1, "end")] {
            let _ = write!(
                s,
                r##"<text x="{:.1}" y="{}" text-anchor="{anchor}" fill="#374151">{}</text>"##,
                x(i),
                h - 8.0,
                format_day(d[i])
            );
        }
    }
    s.push_str("</svg>");
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_tracks_hit_rate_drawdown_and_rolling_sharpe() {
        let eq = [100.0, 110.0, 99.0, 108.9, 119.79];
        let r = report(&eq, 2, 252.0, 0.0).unwrap();
        assert_eq!(r.hit_rate, 0.75);
        assert!((r.drawdown[2] - 0.1).abs() < 1e-12);
        assert_eq!(r.rolling_sharpe.len(), 3);
        assert!((r.metrics.total_return - 0.1979).abs() < 1e-12);
        assert!(report(&eq, 9, 252.0, 0.0).is_err());
    }

    #[test]
    fn the_chart_is_well_formed_svg_with_both_panels() {
        let eq: Vec<f64> = (0..3000)
            .map(|i| 100.0 + (i as f64 / 50.0).sin() * 10.0 + i as f64 / 100.0)
            .collect();
        let days: Vec<i64> = (0..3000).map(|i| 19_000 + i).collect();
        let svg = equity_chart_svg("Momentum <SYN>", &eq, Some(&days)).unwrap();
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("<polyline") && svg.contains("<polygon"));
        assert!(svg.contains("Momentum &lt;SYN&gt;"));
        let points = svg
            .split("points=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        assert_eq!(points.split(' ').count(), 1000);
        assert_eq!(svg.matches("<svg").count(), svg.matches("</svg>").count());
    }
}
