//! The engine's records: markets, orders, fills, positions, accounts and
//! book snapshots.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::fees::FeeSchedule;
use crate::types::{OrderType, Outcome, Side, TickSize};

/// The local CLOB's fee schedule for a market none was set for: rate 0.04,
/// exponent 1, taker-only (Polymarket's published taker rate for its
/// politics and finance categories; configurable with `local_fee_rate` and
/// `local_fee_exponent`).
pub const DEFAULT_LOCAL_FEES: FeeSchedule = FeeSchedule {
    rate: Decimal::from_parts(4, 0, 0, false, 2),
    exponent: 1,
    taker_only: true,
};

/// One binary market on the local CLOB.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MarketSpec {
    /// Condition id (`0x` + 64 hex).
    pub condition_id: String,
    /// The question.
    pub question: String,
    /// URL slug.
    pub slug: String,
    /// Event this market belongs to (several for a neg-risk event).
    pub event_slug: String,
    /// Label of this outcome within its event (the candidate, the range...).
    pub group_label: String,
    /// Token id of YES (decimal string, as the CLOB writes uint256 ids).
    pub yes_token: String,
    /// Token id of NO.
    pub no_token: String,
    /// Tick size.
    pub tick: TickSize,
    /// Minimum order size in shares.
    pub min_size: Decimal,
    /// Part of a neg-risk (mutually exclusive outcomes) event.
    pub neg_risk: bool,
    /// End date (ms since epoch).
    pub end_ms: i64,
    /// Resolution, once resolved.
    pub resolved: Option<Outcome>,
}

impl MarketSpec {
    /// The token id of `outcome`.
    pub fn token(&self, outcome: Outcome) -> &str {
        match outcome {
            Outcome::Yes => &self.yes_token,
            Outcome::No => &self.no_token,
        }
    }
}

/// Where an order stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OrderStatus {
    /// On the book (possibly partly filled).
    Live,
    /// Filled in full.
    Filled,
    /// Cancelled (by the owner, by FAK, by the kill switch or by settlement).
    Cancelled,
}

impl OrderStatus {
    /// `live`, `filled` or `cancelled`.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Live => "live",
            OrderStatus::Filled => "filled",
            OrderStatus::Cancelled => "cancelled",
        }
    }

    /// Parses the stored text.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "live" => Some(OrderStatus::Live),
            "filled" => Some(OrderStatus::Filled),
            "cancelled" => Some(OrderStatus::Cancelled),
            _ => None,
        }
    }
}

/// An order as the engine keeps it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OrderRecord {
    /// Engine order id.
    pub order_id: String,
    /// The caller's id for it (idempotency key), if given.
    pub client_order_id: Option<String>,
    /// Owning account.
    pub account: String,
    /// Market condition id.
    pub market: String,
    /// Token traded.
    pub token_id: String,
    /// Outcome traded.
    pub outcome: Outcome,
    /// Side in that outcome.
    pub side: Side,
    /// Limit price in that outcome's terms.
    pub price: Decimal,
    /// Original size in shares.
    pub size: Decimal,
    /// Filled so far.
    pub filled: Decimal,
    /// Status.
    pub status: OrderStatus,
    /// Order type.
    pub order_type: OrderType,
    /// Arrival sequence (time priority).
    pub seq: u64,
    /// Creation time (ms).
    pub created_ms: i64,
}

impl OrderRecord {
    /// Shares not yet filled.
    pub fn remaining(&self) -> Decimal {
        self.size - self.filled
    }

    pub(crate) fn yes_side(&self) -> Side {
        match self.outcome {
            Outcome::Yes => self.side,
            Outcome::No => self.side.opposite(),
        }
    }

    pub(crate) fn yes_price(&self) -> Decimal {
        to_yes(self.outcome, self.price)
    }
}

pub(crate) fn to_yes(outcome: Outcome, price: Decimal) -> Decimal {
    match outcome {
        Outcome::Yes => price,
        Outcome::No => Decimal::ONE - price,
    }
}

/// One match between a taker and a resting maker.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Fill {
    /// Trade id.
    pub trade_id: String,
    /// Market condition id.
    pub market: String,
    /// YES-terms price of the match (the maker's price).
    pub yes_price: Decimal,
    /// Shares matched.
    pub size: Decimal,
    /// Taker order.
    pub taker_order_id: String,
    /// Taker account.
    pub taker_account: String,
    /// Taker outcome, side and price in its own terms.
    pub taker_outcome: Outcome,
    /// Taker side.
    pub taker_side: Side,
    /// Taker price in its outcome's terms.
    pub taker_price: Decimal,
    /// Maker order.
    pub maker_order_id: String,
    /// Maker account.
    pub maker_account: String,
    /// Maker outcome.
    pub maker_outcome: Outcome,
    /// Maker side.
    pub maker_side: Side,
    /// Maker price in its outcome's terms.
    pub maker_price: Decimal,
    /// What the match did to collateral: `trade`, `mint` or `merge`.
    pub kind: &'static str,
    /// Platform fee the taker paid on this match (USDC); the maker pays none.
    #[serde(default)]
    pub taker_fee: Decimal,
    /// When (ms).
    pub at_ms: i64,
}

/// An account's holding of one token.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Position {
    /// Shares held (including those reserved by open sells).
    pub shares: Decimal,
    /// Shares reserved by open sell orders.
    pub reserved: Decimal,
    /// Cost basis of the shares held (USDC).
    pub cost: Decimal,
    /// Realized P&L on this token (USDC).
    pub realized: Decimal,
}

/// An account's cash and positions.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Account {
    /// USDC held (including what open buys reserve).
    pub cash: Decimal,
    /// USDC reserved by open buy orders.
    pub reserved: Decimal,
    /// Positions by token id.
    pub positions: BTreeMap<String, Position>,
}

impl Account {
    /// Cash not reserved by open orders.
    pub fn available_cash(&self) -> Decimal {
        self.cash - self.reserved
    }

    /// Shares of `token` not reserved by open sells.
    pub fn available_shares(&self, token: &str) -> Decimal {
        self.positions
            .get(token)
            .map(|p| p.shares - p.reserved)
            .unwrap_or_default()
    }
}

/// A new order for the engine.
#[derive(Debug, Clone)]
pub struct NewOrder {
    /// Owning account.
    pub account: String,
    /// Token id to trade (YES or NO token of a market).
    pub token_id: String,
    /// Buy or sell.
    pub side: Side,
    /// Limit price in the token's terms.
    pub price: Decimal,
    /// Size in shares.
    pub size: Decimal,
    /// GTC, FOK or FAK.
    pub order_type: OrderType,
    /// Idempotency key.
    pub client_order_id: Option<String>,
}

/// What placing an order did.
#[derive(Debug, Clone, Serialize)]
pub struct PlaceOutcome {
    /// The order after matching.
    pub order: OrderRecord,
    /// Matches it made, in order.
    pub fills: Vec<Fill>,
    /// Resting orders whose fill state changed.
    pub touched_makers: Vec<OrderRecord>,
}

/// What resolving a market did: the orders it cancelled and each account's payout.
pub type Resolution = (Vec<OrderRecord>, Vec<(String, Decimal)>);

/// One price level of a book snapshot.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Level {
    /// Price.
    pub price: Decimal,
    /// Aggregate size.
    pub size: Decimal,
}

/// A book snapshot for one token, best first on each side.
#[derive(Debug, Clone, Serialize)]
pub struct BookSnapshot {
    /// Token id.
    pub token_id: String,
    /// Bids, highest first.
    pub bids: Vec<Level>,
    /// Asks, lowest first.
    pub asks: Vec<Level>,
}
