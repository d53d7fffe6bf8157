//! User-channel events: the `order` and `trade` messages as typed values,
//! and the parser of one text frame (an event object or an array of them).
// Doc: https://docs.polymarket.com/market-data/websocket/user-channel and
// asyncapi-user.json v1.0.0 (https://docs.polymarket.com/api-reference/wss/user).

use std::str::FromStr;

use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::Value;

use crate::error::{PolymarketError, Result};

/// What an `order` event reports (its `type`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum OrderEventKind {
    /// The order was placed.
    Placement,
    /// Some of it matched.
    Update,
    /// It was cancelled.
    Cancellation,
    /// A type this client does not know (kept as sent).
    Other(String),
}

impl OrderEventKind {
    fn parse(s: &str) -> Self {
        match s.to_ascii_uppercase().as_str() {
            "PLACEMENT" => Self::Placement,
            "UPDATE" => Self::Update,
            "CANCELLATION" => Self::Cancellation,
            _ => Self::Other(s.to_string()),
        }
    }

    /// The venue's spelling.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Placement => "PLACEMENT",
            Self::Update => "UPDATE",
            Self::Cancellation => "CANCELLATION",
            Self::Other(s) => s,
        }
    }
}

/// An `order` event: one of this API key's orders changed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OrderEvent {
    /// Venue order id.
    pub id: String,
    /// PLACEMENT, UPDATE or CANCELLATION.
    pub kind: OrderEventKind,
    /// Token id.
    pub asset_id: String,
    /// Condition id.
    pub market: String,
    /// BUY or SELL.
    pub side: String,
    /// Limit price.
    pub price: Decimal,
    /// Size when placed.
    pub original_size: Decimal,
    /// Shares matched so far.
    pub size_matched: Decimal,
    /// Outcome name.
    pub outcome: String,
    /// The order's status when the event carries one.
    pub status: Option<String>,
    /// Ids of the trades the order took part in.
    pub associate_trades: Vec<String>,
    /// API key of the order's owner.
    pub owner: String,
    /// Event time as sent.
    pub timestamp: String,
}

/// A trade's status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum TradeStatus {
    /// Matched and sent to the exchange contract.
    Matched,
    /// Mined into the chain.
    Mined,
    /// Final.
    Confirmed,
    /// The transaction failed and is being retried.
    Retrying,
    /// Failed for good.
    Failed,
    /// A status this client does not know (kept as sent).
    Other(String),
}

impl TradeStatus {
    /// Parses the venue's spelling.
    pub fn parse(s: &str) -> Self {
        match s.to_ascii_uppercase().as_str() {
            "MATCHED" => Self::Matched,
            "MINED" => Self::Mined,
            "CONFIRMED" => Self::Confirmed,
            "RETRYING" => Self::Retrying,
            "FAILED" => Self::Failed,
            _ => Self::Other(s.to_ascii_uppercase()),
        }
    }

    /// The venue's spelling.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Matched => "MATCHED",
            Self::Mined => "MINED",
            Self::Confirmed => "CONFIRMED",
            Self::Retrying => "RETRYING",
            Self::Failed => "FAILED",
            Self::Other(s) => s,
        }
    }

    /// CONFIRMED and FAILED never change again.
    pub fn is_terminal(&self) -> bool {
        matches!(self, Self::Confirmed | Self::Failed)
    }

    /// Position on the documented path MATCHED -> (RETRYING ->) MINED ->
    /// CONFIRMED | FAILED, for frames with equal or no `last_update`.
    fn rank(&self) -> u8 {
        match self {
            Self::Matched => 0,
            Self::Retrying | Self::Other(_) => 1,
            Self::Mined => 2,
            Self::Confirmed | Self::Failed => 3,
        }
    }

    /// Whether a frame with `self` at `new_update` replaces the stored
    /// `old` status at `old_update`: never after a terminal status; else a
    /// later `last_update` wins, and on a tie (or without one) the status
    /// further along the path.
    pub fn supersedes(&self, new_update: Option<i64>, old: &Self, old_update: Option<i64>) -> bool {
        if self == old || old.is_terminal() {
            return false;
        }
        match (new_update, old_update) {
            (Some(n), Some(o)) if n != o => n > o,
            _ => self.rank() > old.rank(),
        }
    }
}

/// One maker order filled by a trade.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MakerOrder {
    /// Venue order id.
    pub order_id: String,
    /// Token id.
    pub asset_id: String,
    /// Shares of this maker order matched in the trade.
    pub matched_amount: Decimal,
    /// The maker order's price.
    pub price: Decimal,
    /// Outcome name.
    pub outcome: String,
    /// API key of the maker order's owner.
    pub owner: String,
}

/// A `trade` event: a match involving one of this API key's orders.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TradeEvent {
    /// Trade id.
    pub id: String,
    /// Status.
    pub status: TradeStatus,
    /// Token id (the taker's).
    pub asset_id: String,
    /// Condition id.
    pub market: String,
    /// Taker side, BUY or SELL.
    pub side: String,
    /// Price.
    pub price: Decimal,
    /// Size.
    pub size: Decimal,
    /// Outcome name.
    pub outcome: String,
    /// The taker order's id.
    pub taker_order_id: String,
    /// The maker orders it filled.
    pub maker_orders: Vec<MakerOrder>,
    /// API key of the event's owner.
    pub owner: String,
    /// API key of the trade's (taker's) owner.
    pub trade_owner: String,
    /// Match time as sent.
    pub matchtime: String,
    /// Last update of the trade as sent (unix seconds).
    pub last_update: String,
}

impl TradeEvent {
    /// `last_update` as unix seconds, when it reads as a number.
    pub fn last_update_secs(&self) -> Option<i64> {
        self.last_update.trim().parse().ok()
    }
}

/// A user-channel event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum UserEvent {
    /// An `order` event.
    Order(OrderEvent),
    /// A `trade` event.
    Trade(TradeEvent),
}

fn text(v: &Value, key: &str) -> String {
    match v.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

fn decimal(v: &Value, key: &str) -> Result<Decimal> {
    let t = text(v, key);
    if t.trim().is_empty() {
        return Ok(Decimal::ZERO);
    }
    Decimal::from_str(t.trim())
        .map(|d| d.normalize())
        .map_err(|_| {
            PolymarketError::Upstream(format!("user channel: `{key}` = `{t}` is not a decimal"))
        })
}

fn required(v: &Value, key: &str) -> Result<String> {
    let t = text(v, key);
    if t.is_empty() {
        return Err(PolymarketError::Upstream(format!(
            "user channel: event without `{key}`"
        )));
    }
    Ok(t)
}

/// Parses one event object; `Ok(None)` for event types this client does
/// not use.
pub fn parse_event(v: &Value) -> Result<Option<UserEvent>> {
    let kind = text(v, "event_type").to_ascii_lowercase();
    match kind.as_str() {
        "order" => Ok(Some(UserEvent::Order(OrderEvent {
            id: required(v, "id")?,
            kind: OrderEventKind::parse(&text(v, "type")),
            asset_id: text(v, "asset_id"),
            market: text(v, "market"),
            side: text(v, "side").to_ascii_uppercase(),
            price: decimal(v, "price")?,
            original_size: decimal(v, "original_size")?,
            size_matched: decimal(v, "size_matched")?,
            outcome: text(v, "outcome"),
            status: Some(text(v, "status")).filter(|s| !s.is_empty()),
            associate_trades: v
                .get("associate_trades")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|t| t.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
            owner: Some(text(v, "order_owner"))
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| text(v, "owner")),
            timestamp: text(v, "timestamp"),
        }))),
        "trade" => {
            let mut makers = Vec::new();
            for m in v
                .get("maker_orders")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                makers.push(MakerOrder {
                    order_id: required(m, "order_id")?,
                    asset_id: text(m, "asset_id"),
                    matched_amount: decimal(m, "matched_amount")?,
                    price: decimal(m, "price")?,
                    outcome: text(m, "outcome"),
                    owner: text(m, "owner"),
                });
            }
            Ok(Some(UserEvent::Trade(TradeEvent {
                id: required(v, "id")?,
                status: TradeStatus::parse(&required(v, "status")?),
                asset_id: text(v, "asset_id"),
                market: text(v, "market"),
                side: text(v, "side").to_ascii_uppercase(),
                price: decimal(v, "price")?,
                size: decimal(v, "size")?,
                outcome: text(v, "outcome"),
                taker_order_id: text(v, "taker_order_id"),
                maker_orders: makers,
                owner: text(v, "owner"),
                trade_owner: text(v, "trade_owner"),
                matchtime: text(v, "matchtime"),
                last_update: text(v, "last_update"),
            })))
        }
        _ => Ok(None),
    }
}

/// Parses one text frame (one event or an array of them). Returns the
/// events read and how many entries were unreadable; `PONG` and other
/// non-JSON keepalives give neither.
pub fn parse_frame(frame: &str) -> (Vec<UserEvent>, u32) {
    let t = frame.trim();
    if !t.starts_with('{') && !t.starts_with('[') {
        return (Vec::new(), 0);
    }
    let Ok(v) = serde_json::from_str::<Value>(t) else {
        return (Vec::new(), 1);
    };
    let items = match v {
        Value::Array(items) => items,
        other => vec![other],
    };
    let mut events = Vec::new();
    let mut bad = 0;
    for item in &items {
        match parse_event(item) {
            Ok(Some(e)) => events.push(e),
            Ok(None) => {}
            Err(err) => {
                tracing::warn!(error = %err, "user channel: unreadable event");
                bad += 1;
            }
        }
    }
    (events, bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trade_status_moves_forward_only() {
        use TradeStatus::*;
        // Same last_update: the status further along the documented path wins.
        assert!(Mined.supersedes(Some(5), &Matched, Some(5)));
        assert!(Confirmed.supersedes(None, &Mined, None));
        assert!(!Matched.supersedes(None, &Mined, None));
        // A later last_update wins even against the path (MINED -> RETRYING).
        assert!(Retrying.supersedes(Some(6), &Mined, Some(5)));
        // An older frame never replaces a newer one.
        assert!(!Confirmed.supersedes(Some(4), &Mined, Some(5)));
        // Nothing moves a terminal status; a repeat is no change.
        assert!(!Retrying.supersedes(Some(9), &Confirmed, Some(5)));
        assert!(!Matched.supersedes(Some(9), &Matched, Some(5)));
    }
}
