//! The brokers bundle's tools, one file per family: each exposes
//! `routes()`, thin handlers that parse nothing themselves (the runtime
//! parses the typed input) and call the domain modules.

use nt_mcp_core::ToolOutput;
use nt_mcp_core::bundle::VenueMode;
use serde_json::{Value, json};

use crate::broker::Broker;
use crate::types::{Candle, Order};

pub(crate) mod account;
pub(crate) mod compliance;
pub(crate) mod market_data;
pub(crate) mod orders;
pub(crate) mod tax;
pub(crate) mod watch;

/// `live`, `paper` or `simulated`.
pub(crate) fn mode_str(mode: VenueMode) -> &'static str {
    match mode {
        VenueMode::Live => "live",
        VenueMode::Paper => "paper",
        VenueMode::Simulated => "simulated",
    }
}

/// An answer from `broker`: the body gains `venue` (through
/// [`ToolOutput::from_venue`]) and `mode`; the text reads
/// `venue: NAME (MODE) — text`, as the bundle has always answered.
pub(crate) fn out(broker: &dyn Broker, text: impl AsRef<str>, mut body: Value) -> ToolOutput {
    let mode = mode_str(broker.mode());
    if let Value::Object(map) = &mut body {
        map.insert("mode".into(), json!(mode));
    }
    let mut answer = ToolOutput::from_venue(broker.venue(), "", body);
    answer.text = format!("venue: {} ({mode}) — {}", broker.venue(), text.as_ref());
    answer
}

/// One order in a line: `P-1 (my-id) buy 10 SHOP.TO limit 100 gtc: open`,
/// with the fill and the reason when there are.
pub(crate) fn order_line(o: &Order) -> String {
    let mut out = format!(
        "{} ({}) {} {} {} {}",
        o.id,
        o.client_order_id,
        o.side.as_str(),
        o.qty,
        o.symbol,
        o.order_type.as_str()
    );
    if let Some(p) = o.limit_price {
        out.push_str(&format!(" limit {p}"));
    }
    if let Some(p) = o.stop_price {
        out.push_str(&format!(" stop {p}"));
    }
    out.push_str(&format!(
        " {}: {}",
        o.time_in_force.as_str(),
        o.status.as_str()
    ));
    if let Some(p) = o.avg_fill_price
        && !o.filled_qty.is_zero()
    {
        out.push_str(&format!(" {} at {p} {}", o.filled_qty, o.currency));
    }
    if let Some(r) = &o.reason {
        out.push_str(&format!(" ({r})"));
    }
    out
}

/// `head`, then one line per item, at most 20 (and how many more).
pub(crate) fn list_text(head: String, lines: impl IntoIterator<Item = String>) -> String {
    let lines: Vec<String> = lines.into_iter().collect();
    let mut out = head;
    for l in lines.iter().take(20) {
        out.push_str("\n- ");
        out.push_str(l);
    }
    if lines.len() > 20 {
        out.push_str(&format!("\n... and {} more", lines.len() - 20));
    }
    out
}

/// Bars as text: the count and range, then the last bars (at most 10),
/// oldest first, one a line.
pub(crate) fn candles_text(symbol: &str, candles: &[Candle]) -> String {
    let (Some(first), Some(last)) = (candles.first(), candles.last()) else {
        return format!("no bars of {symbol}");
    };
    let mut out = format!(
        "{} bars of {symbol}, {} to {}; high {} low {}",
        candles.len(),
        crate::dates::format_iso_ms(first.start_ms),
        crate::dates::format_iso_ms(last.start_ms),
        candles.iter().map(|c| c.high).max().unwrap_or_default(),
        candles.iter().map(|c| c.low).min().unwrap_or_default(),
    );
    for c in &candles[candles.len().saturating_sub(10)..] {
        out.push_str(&format!(
            "\n{} O {} H {} L {} C {}{}",
            crate::dates::format_iso_ms(c.start_ms),
            c.open,
            c.high,
            c.low,
            c.close,
            c.volume.map(|v| format!(" V {v}")).unwrap_or_default()
        ));
    }
    out
}
