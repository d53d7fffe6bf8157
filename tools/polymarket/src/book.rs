//! A local L2 order book fed by Polymarket's market WebSocket channel:
//! `book` snapshots replace a token's book, `price_change` deltas set the
//! new aggregate size at a price (0 removes the level), `tick_size_change`
//! and `last_trade_price` update the book's metadata.
//!
//! The channel carries no sequence numbers, so gaps are found the way its
//! messages allow: every `price_change` entry carries the venue's best bid
//! and ask after the change; when the local book disagrees after applying
//! it, or a delta arrives for a token without a snapshot, the book is
//! marked out of sync and the caller fetches a fresh snapshot (REST `/book`
//! or a resubscribe). Deltas older than the snapshot are dropped.

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::engine::Level;
use crate::error::{PolymarketError, Result};
use crate::types::{Side, TickSize};

/// `{price, size}` as the CLOB writes book levels (strings).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OrderSummary {
    /// Price (text, may start with `.`).
    pub price: String,
    /// Aggregate size (text).
    pub size: String,
}

/// A `book` message: a full snapshot of one token's book.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BookMsg {
    /// Token id.
    pub asset_id: String,
    /// Condition id.
    #[serde(default)]
    pub market: String,
    /// Bid levels (`bids`, formerly `buys`).
    #[serde(alias = "buys", default)]
    pub bids: Vec<OrderSummary>,
    /// Ask levels (`asks`, formerly `sells`).
    #[serde(alias = "sells", default)]
    pub asks: Vec<OrderSummary>,
    /// Book generation time, ms, as text.
    #[serde(default)]
    pub timestamp: String,
    /// Hash of the book content.
    #[serde(default)]
    pub hash: String,
}

/// One entry of a `price_change` message.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PriceChange {
    /// Token id.
    pub asset_id: String,
    /// Price level affected.
    pub price: String,
    /// New aggregate size at that level (`0` removes it).
    pub size: String,
    /// `BUY` (bid level) or `SELL` (ask level).
    pub side: Side,
    /// Hash of the order.
    #[serde(default)]
    pub hash: String,
    /// Best bid after the change.
    #[serde(default)]
    pub best_bid: Option<String>,
    /// Best ask after the change.
    #[serde(default)]
    pub best_ask: Option<String>,
}

/// A `price_change` message.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PriceChangeMsg {
    /// Condition id.
    #[serde(default)]
    pub market: String,
    /// The changes.
    pub price_changes: Vec<PriceChange>,
    /// Time, ms, as text.
    #[serde(default)]
    pub timestamp: String,
}

/// A `tick_size_change` message.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TickSizeChangeMsg {
    /// Token id.
    pub asset_id: String,
    /// Condition id.
    #[serde(default)]
    pub market: String,
    /// Previous tick size.
    #[serde(default)]
    pub old_tick_size: String,
    /// New tick size.
    pub new_tick_size: String,
    /// Time, ms, as text.
    #[serde(default)]
    pub timestamp: String,
}

/// A `last_trade_price` message.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LastTradeMsg {
    /// Token id.
    pub asset_id: String,
    /// Condition id.
    #[serde(default)]
    pub market: String,
    /// Trade price.
    pub price: String,
    /// Trade size.
    #[serde(default)]
    pub size: String,
    /// Taker side.
    #[serde(default)]
    pub side: Option<Side>,
    /// Fee rate of the trade.
    #[serde(default)]
    pub fee_rate_bps: Option<String>,
    /// Time, ms, as text.
    #[serde(default)]
    pub timestamp: String,
}

/// A market-channel message, by its `event_type`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "event_type", rename_all = "snake_case")]
pub enum MarketEvent {
    /// Full snapshot.
    Book(BookMsg),
    /// Level deltas.
    PriceChange(PriceChangeMsg),
    /// Tick size changed.
    TickSizeChange(TickSizeChangeMsg),
    /// A trade printed.
    LastTradePrice(LastTradeMsg),
    /// Any other event (best_bid_ask, new_market, market_resolved, ...).
    #[serde(other)]
    Other,
}

/// Parses one WebSocket text frame: a single event or an array of events.
/// `PONG` and other non-JSON keepalives give no events.
pub fn parse_frame(text: &str) -> Result<Vec<MarketEvent>> {
    let trimmed = text.trim();
    if !trimmed.starts_with('{') && !trimmed.starts_with('[') {
        return Ok(Vec::new());
    }
    if trimmed.starts_with('[') {
        serde_json::from_str(trimmed)
    } else {
        serde_json::from_str(trimmed).map(|e| vec![e])
    }
    .map_err(|e| PolymarketError::Upstream(format!("bad market-channel message: {e}")))
}

fn price(text: &str) -> Result<Decimal> {
    Decimal::from_str(text.trim())
        .map_err(|_| PolymarketError::Upstream(format!("bad price `{text}` in market data")))
}

fn millis(text: &str) -> i64 {
    text.trim().parse().unwrap_or(0)
}

/// One token's L2 book.
#[derive(Debug, Clone, Default)]
pub struct L2Book {
    /// Token id.
    pub asset_id: String,
    /// Condition id.
    pub market: String,
    /// Bid sizes by price.
    pub bids: BTreeMap<Decimal, Decimal>,
    /// Ask sizes by price.
    pub asks: BTreeMap<Decimal, Decimal>,
    /// Time of the last applied message (ms).
    pub timestamp_ms: i64,
    /// Hash of the last snapshot.
    pub hash: String,
    /// Tick size, once known.
    pub tick: Option<TickSize>,
    /// Last trade price.
    pub last_trade: Option<Decimal>,
    /// False after a detected gap, until the next snapshot.
    pub synced: bool,
    /// When this process last applied a message to the book (set by the
    /// stream with [`BookSet::touch`]; staleness is measured from it).
    pub received_at: Option<std::time::Instant>,
}

impl L2Book {
    /// Best bid level.
    pub fn best_bid(&self) -> Option<Level> {
        self.bids.iter().next_back().map(|(p, s)| Level {
            price: *p,
            size: *s,
        })
    }

    /// Best ask level.
    pub fn best_ask(&self) -> Option<Level> {
        self.asks.iter().next().map(|(p, s)| Level {
            price: *p,
            size: *s,
        })
    }

    /// Midpoint of the best bid and ask.
    pub fn mid(&self) -> Option<Decimal> {
        Some((self.best_bid()?.price + self.best_ask()?.price) / Decimal::TWO)
    }

    /// Levels best first: (bids, asks).
    pub fn levels(&self, depth: usize) -> (Vec<Level>, Vec<Level>) {
        let bids = self
            .bids
            .iter()
            .rev()
            .take(depth)
            .map(|(p, s)| Level {
                price: *p,
                size: *s,
            })
            .collect();
        let asks = self
            .asks
            .iter()
            .take(depth)
            .map(|(p, s)| Level {
                price: *p,
                size: *s,
            })
            .collect();
        (bids, asks)
    }

    fn set_level(&mut self, side: Side, price: Decimal, size: Decimal) {
        let book = match side {
            Side::Buy => &mut self.bids,
            Side::Sell => &mut self.asks,
        };
        if size.is_zero() {
            book.remove(&price);
        } else {
            book.insert(price, size);
        }
    }
}

/// What applying a message did to one token's book.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Applied {
    /// A snapshot replaced the book.
    Snapshot {
        /// Token id.
        asset_id: String,
    },
    /// Deltas were applied and agree with the venue's best prices.
    Delta {
        /// Token id.
        asset_id: String,
    },
    /// A gap: the book is out of sync and needs a fresh snapshot.
    Gap {
        /// Token id.
        asset_id: String,
        /// Why.
        reason: String,
    },
    /// Older than the book; dropped.
    Stale {
        /// Token id.
        asset_id: String,
    },
    /// Metadata (tick size, last trade) updated.
    Meta {
        /// Token id.
        asset_id: String,
    },
}

/// The books of every subscribed token.
#[derive(Debug, Clone, Default)]
pub struct BookSet {
    books: HashMap<String, L2Book>,
}

fn matches_best(local: Option<Level>, remote: Option<&String>, empty: Decimal) -> bool {
    let Some(remote) = remote else {
        return true;
    };
    let Ok(remote) = Decimal::from_str(remote.trim()) else {
        return false;
    };
    match local {
        Some(level) => level.price == remote,
        None => remote == empty || remote.is_zero(),
    }
}

impl BookSet {
    /// No books.
    pub fn new() -> Self {
        Self::default()
    }

    /// One token's book.
    pub fn get(&self, asset_id: &str) -> Option<&L2Book> {
        self.books.get(asset_id)
    }

    /// Tokens whose books are out of sync (need a snapshot).
    pub fn out_of_sync(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .books
            .values()
            .filter(|b| !b.synced)
            .map(|b| b.asset_id.clone())
            .collect();
        ids.sort();
        ids
    }

    /// Records that a message for `asset_id` was applied at `at`.
    pub fn touch(&mut self, asset_id: &str, at: std::time::Instant) {
        if let Some(b) = self.books.get_mut(asset_id) {
            b.received_at = Some(at);
        }
    }

    /// Drops a token's book (after a gap, until a fresh snapshot arrives).
    pub fn discard(&mut self, asset_id: &str) -> bool {
        self.books.remove(asset_id).is_some()
    }

    /// Applies one snapshot.
    pub fn apply_book(&mut self, msg: &BookMsg) -> Result<Applied> {
        let mut book = L2Book {
            asset_id: msg.asset_id.clone(),
            market: msg.market.clone(),
            timestamp_ms: millis(&msg.timestamp),
            hash: msg.hash.clone(),
            synced: true,
            ..L2Book::default()
        };
        if let Some(old) = self.books.get(&msg.asset_id) {
            book.tick = old.tick;
            book.last_trade = old.last_trade;
        }
        for level in &msg.bids {
            book.set_level(Side::Buy, price(&level.price)?, price(&level.size)?);
        }
        for level in &msg.asks {
            book.set_level(Side::Sell, price(&level.price)?, price(&level.size)?);
        }
        self.books.insert(msg.asset_id.clone(), book);
        Ok(Applied::Snapshot {
            asset_id: msg.asset_id.clone(),
        })
    }

    /// Applies one message, returning what it did to each token.
    pub fn apply(&mut self, event: &MarketEvent) -> Result<Vec<Applied>> {
        match event {
            MarketEvent::Book(msg) => Ok(vec![self.apply_book(msg)?]),
            MarketEvent::PriceChange(msg) => self.apply_price_change(msg),
            MarketEvent::TickSizeChange(msg) => {
                let tick = TickSize::parse(&msg.new_tick_size)
                    .map_err(|e| PolymarketError::Upstream(e.to_string()))?;
                let book = self.books.entry(msg.asset_id.clone()).or_default();
                book.asset_id.clone_from(&msg.asset_id);
                book.tick = Some(tick);
                Ok(vec![Applied::Meta {
                    asset_id: msg.asset_id.clone(),
                }])
            }
            MarketEvent::LastTradePrice(msg) => {
                let p = price(&msg.price)?;
                let book = self.books.entry(msg.asset_id.clone()).or_default();
                book.asset_id.clone_from(&msg.asset_id);
                book.last_trade = Some(p);
                Ok(vec![Applied::Meta {
                    asset_id: msg.asset_id.clone(),
                }])
            }
            MarketEvent::Other => Ok(Vec::new()),
        }
    }

    fn apply_price_change(&mut self, msg: &PriceChangeMsg) -> Result<Vec<Applied>> {
        let ts = millis(&msg.timestamp);
        let mut out: Vec<Applied> = Vec::new();
        // The last entry per token carries the best prices after all of its changes.
        let mut last_for: HashMap<&str, usize> = HashMap::new();
        for (i, change) in msg.price_changes.iter().enumerate() {
            last_for.insert(change.asset_id.as_str(), i);
        }
        let mut status: HashMap<String, Applied> = HashMap::new();
        for (i, change) in msg.price_changes.iter().enumerate() {
            let id = change.asset_id.clone();
            if matches!(
                status.get(&id),
                Some(Applied::Gap { .. } | Applied::Stale { .. })
            ) {
                continue;
            }
            let Some(book) = self.books.get_mut(&id).filter(|b| b.synced) else {
                if let Some(book) = self.books.get_mut(&id) {
                    book.synced = false;
                }
                status.insert(
                    id.clone(),
                    Applied::Gap {
                        asset_id: id,
                        reason: "delta for a token without a synced snapshot".into(),
                    },
                );
                continue;
            };
            if ts > 0 && ts < book.timestamp_ms {
                status.insert(id.clone(), Applied::Stale { asset_id: id });
                continue;
            }
            book.set_level(change.side, price(&change.price)?, price(&change.size)?);
            if ts > 0 {
                book.timestamp_ms = ts;
            }
            if last_for.get(id.as_str()) == Some(&i) {
                let bid_ok = matches_best(book.best_bid(), change.best_bid.as_ref(), Decimal::ZERO);
                let ask_ok = matches_best(book.best_ask(), change.best_ask.as_ref(), Decimal::ONE);
                if !(bid_ok && ask_ok) {
                    book.synced = false;
                    let reason = format!(
                        "after the delta the local best bid/ask is {:?}/{:?} but the venue says {:?}/{:?}",
                        book.best_bid().map(|l| l.price),
                        book.best_ask().map(|l| l.price),
                        change.best_bid,
                        change.best_ask
                    );
                    status.insert(
                        id.clone(),
                        Applied::Gap {
                            asset_id: id,
                            reason,
                        },
                    );
                    continue;
                }
            }
            status.insert(id.clone(), Applied::Delta { asset_id: id });
        }
        let mut ids: Vec<&String> = status.keys().collect();
        ids.sort();
        for id in ids {
            if let Some(a) = status.get(id) {
                out.push(a.clone());
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    const SNAPSHOT: &str = r#"{
      "event_type": "book",
      "asset_id": "6581861",
      "market": "0xbd31dc8a",
      "bids": [{ "price": ".48", "size": "30" }, { "price": ".49", "size": "20" }, { "price": ".50", "size": "15" }],
      "asks": [{ "price": ".52", "size": "25" }, { "price": ".53", "size": "60" }, { "price": ".54", "size": "10" }],
      "timestamp": "123456789000",
      "hash": "0x0"
    }"#;

    fn delta(price: &str, size: &str, side: &str, bid: &str, ask: &str, ts: &str) -> String {
        format!(
            r#"{{"event_type":"price_change","market":"0xbd31dc8a","timestamp":"{ts}","price_changes":[
            {{"asset_id":"6581861","price":"{price}","size":"{size}","side":"{side}","hash":"h","best_bid":"{bid}","best_ask":"{ask}"}}]}}"#
        )
    }

    fn apply(set: &mut BookSet, frame: &str) -> Vec<Applied> {
        let mut out = Vec::new();
        for e in parse_frame(frame).expect("parse") {
            out.extend(set.apply(&e).expect("apply"));
        }
        out
    }

    #[test]
    fn snapshot_then_deltas() {
        let mut set = BookSet::new();
        apply(&mut set, SNAPSHOT);
        let book = set.get("6581861").expect("book");
        assert_eq!(book.best_bid().map(|l| l.price), Some(dec!(0.50)));
        assert_eq!(book.best_ask().map(|l| l.price), Some(dec!(0.52)));
        // New better bid.
        let out = apply(
            &mut set,
            &delta("0.51", "40", "BUY", "0.51", "0.52", "123456789001"),
        );
        assert!(matches!(out[0], Applied::Delta { .. }), "{out:?}");
        // Remove the best ask.
        let out = apply(
            &mut set,
            &delta("0.52", "0", "SELL", "0.51", "0.53", "123456789002"),
        );
        assert!(matches!(out[0], Applied::Delta { .. }), "{out:?}");
        let book = set.get("6581861").expect("book");
        assert_eq!(book.mid(), Some(dec!(0.52)));
        assert_eq!(book.levels(10).1.len(), 2);
    }

    #[test]
    fn disagreement_with_venue_best_is_a_gap() {
        let mut set = BookSet::new();
        apply(&mut set, SNAPSHOT);
        // We missed a message that put a bid at 0.515: the venue says best bid 0.515.
        let out = apply(
            &mut set,
            &delta("0.48", "10", "BUY", "0.515", "0.52", "123456789003"),
        );
        assert!(matches!(out[0], Applied::Gap { .. }), "{out:?}");
        assert_eq!(set.out_of_sync(), vec!["6581861".to_string()]);
        // Further deltas are not applied until a snapshot arrives.
        let out = apply(
            &mut set,
            &delta("0.40", "10", "BUY", "0.515", "0.52", "123456789004"),
        );
        assert!(matches!(out[0], Applied::Gap { .. }));
        apply(&mut set, SNAPSHOT);
        assert!(set.out_of_sync().is_empty());
    }

    #[test]
    fn delta_without_snapshot_is_a_gap_and_old_deltas_are_stale() {
        let mut set = BookSet::new();
        let out = apply(&mut set, &delta("0.5", "1", "BUY", "0.5", "0.52", "5"));
        assert!(matches!(out[0], Applied::Gap { .. }));
        apply(&mut set, SNAPSHOT);
        let out = apply(&mut set, &delta("0.5", "1", "BUY", "0.5", "0.52", "100"));
        assert!(matches!(out[0], Applied::Stale { .. }));
    }

    #[test]
    fn arrays_keepalives_and_meta() {
        let mut set = BookSet::new();
        assert!(parse_frame("PONG").expect("pong").is_empty());
        let frame = format!("[{SNAPSHOT}]");
        assert_eq!(apply(&mut set, &frame).len(), 1);
        apply(
            &mut set,
            r#"{"event_type":"tick_size_change","asset_id":"6581861","market":"0x","old_tick_size":"0.01","new_tick_size":"0.001","timestamp":"1"}"#,
        );
        apply(
            &mut set,
            r#"{"event_type":"last_trade_price","asset_id":"6581861","market":"0x","price":"0.456","side":"BUY","size":"219.217767","fee_rate_bps":"0","timestamp":"1"}"#,
        );
        apply(
            &mut set,
            r#"{"event_type":"best_bid_ask","asset_id":"6581861"}"#,
        );
        let book = set.get("6581861").expect("book");
        assert_eq!(book.tick, Some(TickSize::T0_001));
        assert_eq!(book.last_trade, Some(dec!(0.456)));
    }
}
