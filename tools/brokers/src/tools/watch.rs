//! `broker_watch`: listens to a broker's order-update or quote stream for a
//! bounded time, reporting progress per event.

use std::sync::Arc;

use futures::StreamExt;
use nt_mcp_core::{Route, ToolCtx, ToolError, ToolOutput, route};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use super::out;
use crate::BrokersBundle;
use crate::error::BrokersError;

/// What `broker_watch` listens to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum WatchKind {
    /// Order updates of the account.
    Orders,
    /// Quotes for `symbols`.
    Quotes,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
/// What to listen to and for how long.
pub(crate) struct WatchInput {
    /// `orders` (order updates) or `quotes` (needs `symbols`).
    kind: WatchKind,
    /// Symbols: the quotes to stream, or for orders only updates of these.
    #[serde(default)]
    symbols: Option<Vec<String>>,
    /// Listen at most this many seconds, 1 to 60 (default 10).
    #[serde(default)]
    seconds: Option<u64>,
    /// Stop after this many events, 1 to 1000 (default 100).
    #[serde(default)]
    max_events: Option<usize>,
    /// Broker name (default `paper`).
    #[serde(default)]
    broker: Option<String>,
}

/// The watch route.
pub(crate) fn routes() -> Vec<Route<BrokersBundle>> {
    vec![
        route(
            "broker_watch",
            "Listens to a broker's live stream of order updates (kind `orders`) or quotes (kind `quotes`, with `symbols`) for at most `seconds` (1-60) or `max_events` (1-1000), reporting progress per event, and answers with the events. Brokers without a stream say so.",
            watch,
        )
        .deadline(std::time::Duration::from_secs(70)),
    ]
}

async fn watch(
    bundle: Arc<BrokersBundle>,
    a: WatchInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    let seconds = a.seconds.unwrap_or(10);
    if !(1..=60).contains(&seconds) {
        return Err(ToolError::invalid("seconds", "must be 1 to 60"));
    }
    let max_events = a.max_events.unwrap_or(100);
    if !(1..=1000).contains(&max_events) {
        return Err(ToolError::invalid("max_events", "must be 1 to 1000"));
    }
    let symbols: Vec<String> = a
        .symbols
        .unwrap_or_default()
        .iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    if symbols.len() > 50 {
        return Err(ToolError::invalid("symbols", "give at most 50 symbols"));
    }
    if a.kind == WatchKind::Quotes && symbols.is_empty() {
        return Err(ToolError::invalid(
            "symbols",
            "give the symbols to stream quotes for",
        ));
    }
    let b = bundle.pick(&ctx, a.broker.as_deref()).await?;
    ctx.check_cancelled()?;
    let mut stream: futures::stream::BoxStream<'static, crate::error::Result<Value>> = match a.kind
    {
        WatchKind::Orders => {
            let wanted: Vec<String> = symbols.iter().map(|s| s.to_ascii_uppercase()).collect();
            let s = b.order_updates().await?;
            Box::pin(s.filter_map(move |item| {
                let keep = match &item {
                    Ok(u) => {
                        wanted.is_empty() || wanted.contains(&u.order.symbol.to_ascii_uppercase())
                    }
                    Err(_) => true,
                };
                let item = item.and_then(|u| {
                    serde_json::to_value(u).map_err(|e| BrokersError::Corrupt(e.to_string()))
                });
                async move { keep.then_some(item) }
            }))
        }
        WatchKind::Quotes => {
            let s = b.quote_stream(&symbols).await?;
            Box::pin(s.map(|item| {
                item.and_then(|q| {
                    serde_json::to_value(q).map_err(|e| BrokersError::Corrupt(e.to_string()))
                })
            }))
        }
    };
    let kind = match a.kind {
        WatchKind::Orders => "orders",
        WatchKind::Quotes => "quotes",
    };
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(seconds);
    let mut events: Vec<Value> = Vec::new();
    let mut error: Option<String> = None;
    let stopped = loop {
        if events.len() >= max_events {
            break "max_events";
        }
        let next = tokio::select! {
            biased;
            () = ctx.cancel.cancelled() => {
                return Err(ToolError::cancelled());
            }
            () = tokio::time::sleep_until(deadline) => break "time",
            next = stream.next() => next,
        };
        match next {
            Some(Ok(ev)) => {
                events.push(ev);
                ctx.progress
                    .report(
                        events.len() as f64,
                        Some(max_events as f64),
                        format!("{} {kind} event(s) from {}", events.len(), b.venue()),
                    )
                    .await;
            }
            Some(Err(e)) => {
                if events.is_empty() {
                    return Err(e.into());
                }
                error = Some(e.to_string());
                break "error";
            }
            None => break "stream_ended",
        }
    };
    drop(stream);
    let why = match stopped {
        "max_events" => "reached max_events".to_string(),
        "time" => format!("{seconds} s passed"),
        "stream_ended" => "the venue closed the stream".to_string(),
        _ => format!("the stream failed: {}", error.clone().unwrap_or_default()),
    };
    let mut lines: Vec<String> = events
        .iter()
        .rev()
        .take(10)
        .rev()
        .map(|e| match a.kind {
            WatchKind::Orders => format!(
                "{} {} {} {} {}: {}",
                e["event"].as_str().unwrap_or(""),
                e["order"]["id"].as_str().unwrap_or(""),
                e["order"]["side"].as_str().unwrap_or(""),
                e["order"]["qty"].as_str().unwrap_or(""),
                e["order"]["symbol"].as_str().unwrap_or(""),
                e["order"]["status"].as_str().unwrap_or("")
            ),
            WatchKind::Quotes => format!(
                "{} bid {} ask {}",
                e["symbol"].as_str().unwrap_or(""),
                e["bid"].as_str().unwrap_or(""),
                e["ask"].as_str().unwrap_or("")
            ),
        })
        .collect();
    if events.len() > 10 {
        lines.insert(0, format!("(last 10 of {})", events.len()));
    }
    let text = format!(
        "{} {kind} event(s); stopped: {why}{}{}",
        events.len(),
        if lines.is_empty() { "" } else { "\n" },
        lines.join("\n")
    );
    Ok(out(
        b.as_ref(),
        text,
        json!({"kind": kind, "events": events, "count": events.len(), "stopped": stopped, "error": error}),
    ))
}
