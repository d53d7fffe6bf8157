//! The embedded local CLOB: an in-process matching engine over binary
//! markets with price-time priority, partial fills, cancels, tick-size
//! checks and YES/NO complement matching, plus the cash and share ledger of
//! every account on it.
//!
//! Each binary market keeps one book in YES terms, as Polymarket's CLOB
//! does: a BUY of NO at `p` rests as a SELL of YES at `1 - p`, a SELL of NO
//! at `p` as a BUY of YES at `1 - p`. A match between a YES buyer and a NO
//! buyer mints a complete set (1 USDC of collateral per share pair); one
//! between a YES seller and a NO seller merges a set back into USDC. Cash
//! plus collateral is therefore conserved by every match, and the YES and
//! NO shares outstanding in a market always equal its collateral.
//!
//! Fees follow CLOB V2 ([`crate::fees`]): on every match the taker pays
//! its market's platform fee (`shares × rate × (p(1 − p))^exponent`, rounded
//! down to 5 dp) in paper USDC, on top of a buy's cost or out of a sell's
//! proceeds; the maker pays nothing. Each market has a fee schedule: the
//! engine's default ([`DEFAULT_LOCAL_FEES`] unless set) or one set for that
//! market. Fees go to the venue ([`Engine::fees_collected`]), so cash plus
//! collateral plus fees collected is what every match conserves.
//!
//! The engine is pure (no I/O); [`crate::venue::LocalClob`] persists what
//! each call changed.

use std::collections::{BTreeMap, HashMap, VecDeque};

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::error::{PolymarketError, Result};
use crate::fees::{FeeSchedule, Role};
use crate::types::{OrderType, Outcome, Side, TickSize, check_size};

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

    fn yes_side(&self) -> Side {
        match self.outcome {
            Outcome::Yes => self.side,
            Outcome::No => self.side.opposite(),
        }
    }

    fn yes_price(&self) -> Decimal {
        to_yes(self.outcome, self.price)
    }
}

fn to_yes(outcome: Outcome, price: Decimal) -> Decimal {
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

#[derive(Debug, Clone)]
struct MarketState {
    spec: MarketSpec,
    bids: BTreeMap<Decimal, VecDeque<String>>,
    asks: BTreeMap<Decimal, VecDeque<String>>,
    last_trade_yes: Option<Decimal>,
}

/// The matching engine and ledger.
#[derive(Debug, Clone)]
pub struct Engine {
    default_fees: FeeSchedule,
    market_fees: HashMap<String, FeeSchedule>,
    fees_collected: Decimal,
    markets: BTreeMap<String, MarketState>,
    tokens: HashMap<String, (String, Outcome)>,
    accounts: BTreeMap<String, Account>,
    orders: HashMap<String, OrderRecord>,
    client_ids: HashMap<(String, String), String>,
    seq: u64,
    trade_seq: u64,
}

impl Default for Engine {
    fn default() -> Self {
        Self {
            default_fees: DEFAULT_LOCAL_FEES,
            market_fees: HashMap::new(),
            fees_collected: Decimal::ZERO,
            markets: BTreeMap::new(),
            tokens: HashMap::new(),
            accounts: BTreeMap::new(),
            orders: HashMap::new(),
            client_ids: HashMap::new(),
            seq: 0,
            trade_seq: 0,
        }
    }
}

impl Engine {
    /// An empty engine charging [`DEFAULT_LOCAL_FEES`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the schedule of markets that have none of their own.
    pub fn set_default_fees(&mut self, schedule: FeeSchedule) {
        self.default_fees = schedule;
    }

    /// Sets one market's schedule.
    pub fn set_market_fees(&mut self, market: &str, schedule: FeeSchedule) {
        self.market_fees.insert(market.to_string(), schedule);
    }

    /// The fee schedule `market` charges.
    pub fn fee_schedule(&self, market: &str) -> FeeSchedule {
        self.market_fees
            .get(market)
            .copied()
            .unwrap_or(self.default_fees)
    }

    /// Platform fees takers have paid to the venue.
    pub fn fees_collected(&self) -> Decimal {
        self.fees_collected
    }

    /// Restores the fees collected (from the stored fills).
    pub fn set_fees_collected(&mut self, total: Decimal) {
        self.fees_collected = total;
    }

    /// Adds a market (replacing none: a second add of the same id is ignored).
    pub fn add_market(&mut self, spec: MarketSpec) {
        if self.markets.contains_key(&spec.condition_id) {
            return;
        }
        self.tokens.insert(
            spec.yes_token.clone(),
            (spec.condition_id.clone(), Outcome::Yes),
        );
        self.tokens.insert(
            spec.no_token.clone(),
            (spec.condition_id.clone(), Outcome::No),
        );
        self.markets.insert(
            spec.condition_id.clone(),
            MarketState {
                spec,
                bids: BTreeMap::new(),
                asks: BTreeMap::new(),
                last_trade_yes: None,
            },
        );
    }

    /// Sets an account's state (used when loading from storage and seeding).
    pub fn set_account(&mut self, name: &str, account: Account) {
        self.accounts.insert(name.to_string(), account);
    }

    /// Credits `cash` to an account and `sets` complete sets of `market`
    /// (one YES and one NO share each, backed by `sets` USDC of collateral).
    pub fn fund(&mut self, name: &str, cash: Decimal, market: Option<(&str, Decimal)>) {
        let tokens = market.and_then(|(m, sets)| {
            self.markets
                .get(m)
                .map(|s| (s.spec.yes_token.clone(), s.spec.no_token.clone(), sets))
        });
        let account = self.accounts.entry(name.to_string()).or_default();
        account.cash += cash;
        if let Some((yes, no, sets)) = tokens {
            for token in [yes, no] {
                let pos = account.positions.entry(token).or_default();
                pos.shares += sets;
                // A minted set costs 1: half to each side keeps the basis honest.
                pos.cost += sets / Decimal::TWO;
            }
        }
    }

    /// The markets, in id order.
    pub fn markets(&self) -> impl Iterator<Item = &MarketSpec> {
        self.markets.values().map(|m| &m.spec)
    }

    /// One market by condition id.
    pub fn market(&self, condition_id: &str) -> Option<&MarketSpec> {
        self.markets.get(condition_id).map(|m| &m.spec)
    }

    /// The market and outcome of a token id.
    pub fn token(&self, token_id: &str) -> Option<(&MarketSpec, Outcome)> {
        let (market, outcome) = self.tokens.get(token_id)?;
        Some((&self.markets.get(market)?.spec, *outcome))
    }

    /// An account, if it exists.
    pub fn account(&self, name: &str) -> Option<&Account> {
        self.accounts.get(name)
    }

    /// All accounts.
    pub fn accounts(&self) -> &BTreeMap<String, Account> {
        &self.accounts
    }

    /// An order by id.
    pub fn order(&self, order_id: &str) -> Option<&OrderRecord> {
        self.orders.get(order_id)
    }

    /// The order placed earlier under this client id, if any.
    pub fn order_by_client_id(&self, account: &str, client_id: &str) -> Option<&OrderRecord> {
        let id = self
            .client_ids
            .get(&(account.to_string(), client_id.to_string()))?;
        self.orders.get(id)
    }

    /// Live orders of an account, optionally in one market, oldest first.
    pub fn open_orders(&self, account: &str, market: Option<&str>) -> Vec<&OrderRecord> {
        let mut out: Vec<&OrderRecord> = self
            .orders
            .values()
            .filter(|o| o.account == account && o.status == OrderStatus::Live)
            .filter(|o| market.is_none_or(|m| o.market == m))
            .collect();
        out.sort_by_key(|o| o.seq);
        out
    }

    /// Last traded price of `token_id`, in its own terms.
    pub fn last_trade(&self, token_id: &str) -> Option<Decimal> {
        let (market, outcome) = self.tokens.get(token_id)?;
        let yes = self.markets.get(market)?.last_trade_yes?;
        Some(to_yes(*outcome, yes))
    }

    /// Restores a live or closed order from storage. Live orders go back on
    /// the book in `seq` order; call in ascending `seq`.
    pub fn restore_order(&mut self, order: OrderRecord) {
        self.seq = self.seq.max(order.seq);
        if let Some(cid) = &order.client_order_id {
            self.client_ids
                .insert((order.account.clone(), cid.clone()), order.order_id.clone());
        }
        if order.status == OrderStatus::Live
            && let Some(m) = self.markets.get_mut(&order.market)
        {
            let side = match order.yes_side() {
                Side::Buy => &mut m.bids,
                Side::Sell => &mut m.asks,
            };
            side.entry(order.yes_price())
                .or_default()
                .push_back(order.order_id.clone());
        }
        self.orders.insert(order.order_id.clone(), order);
    }

    /// Sets the trade counter (after loading from storage).
    pub fn set_trade_seq(&mut self, seq: u64) {
        self.trade_seq = self.trade_seq.max(seq);
    }

    /// Sets the last trade price of a market (after loading from storage).
    pub fn set_last_trade_yes(&mut self, market: &str, price: Decimal) {
        if let Some(m) = self.markets.get_mut(market) {
            m.last_trade_yes = Some(price);
        }
    }

    /// The aggregated book of one token, in that token's terms, best first.
    pub fn book(&self, token_id: &str, depth: usize) -> Result<BookSnapshot> {
        let (market, outcome) = self
            .tokens
            .get(token_id)
            .ok_or_else(|| PolymarketError::NotFound(format!("token {token_id}")))?;
        let m = self
            .markets
            .get(market)
            .ok_or_else(|| PolymarketError::NotFound(format!("market {market}")))?;
        let level = |(price, ids): (&Decimal, &VecDeque<String>)| Level {
            price: to_yes(*outcome, *price),
            size: ids
                .iter()
                .filter_map(|id| self.orders.get(id))
                .map(|o| o.remaining())
                .sum(),
        };
        let yes_bids = m.bids.iter().rev().map(level);
        let yes_asks = m.asks.iter().map(level);
        let (bids, asks): (Vec<Level>, Vec<Level>) = match outcome {
            Outcome::Yes => (
                yes_bids.take(depth).collect(),
                yes_asks.take(depth).collect(),
            ),
            // NO bids are YES asks at 1 - p (best YES ask = best NO bid).
            Outcome::No => (
                yes_asks.take(depth).collect(),
                yes_bids.take(depth).collect(),
            ),
        };
        Ok(BookSnapshot {
            token_id: token_id.to_string(),
            bids,
            asks,
        })
    }

    /// Best bid and ask of a market in YES terms.
    pub fn best_yes(&self, market: &str) -> (Option<Decimal>, Option<Decimal>) {
        match self.markets.get(market) {
            Some(m) => (
                m.bids.keys().next_back().copied(),
                m.asks.keys().next().copied(),
            ),
            None => (None, None),
        }
    }

    /// Places an order: validates it, reserves funds, matches it against the
    /// book at the resting orders' prices (best price first, oldest first at
    /// a price) and rests or cancels what is left per its type. A client
    /// order id seen before returns the earlier order unchanged
    /// (`duplicate` is then `true`).
    pub fn place(&mut self, new: NewOrder, now_ms: i64) -> Result<(PlaceOutcome, bool)> {
        if let Some(cid) = &new.client_order_id
            && let Some(existing) = self.order_by_client_id(&new.account, cid)
        {
            return Ok((
                PlaceOutcome {
                    order: existing.clone(),
                    fills: Vec::new(),
                    touched_makers: Vec::new(),
                },
                true,
            ));
        }
        let (market_id, outcome) = self.tokens.get(&new.token_id).cloned().ok_or_else(|| {
            PolymarketError::invalid("token_id", format!("unknown token {}", new.token_id))
        })?;
        let spec = match self.markets.get(&market_id) {
            Some(m) => m.spec.clone(),
            None => return Err(PolymarketError::NotFound(format!("market {market_id}"))),
        };
        if spec.resolved.is_some() {
            return Err(PolymarketError::Refused(format!(
                "market {} is resolved; it takes no orders",
                spec.slug
            )));
        }
        spec.tick.check_price("price", new.price)?;
        check_size("size", new.size, spec.min_size)?;
        let fees = self.fee_schedule(&market_id);
        let account = self.accounts.entry(new.account.clone()).or_default();
        match new.side {
            Side::Buy => {
                // The cost at the limit plus the most a taker fill could pay in fees.
                let need = new.price * new.size + fees.max_buy_fee(new.size, new.price);
                if account.available_cash() < need {
                    return Err(PolymarketError::Refused(format!(
                        "insufficient pUSD: order needs {need} (with the most it could pay \
                         in taker fees), available {}",
                        account.available_cash()
                    )));
                }
            }
            Side::Sell => {
                let have = account.available_shares(&new.token_id);
                if have < new.size {
                    return Err(PolymarketError::Refused(format!(
                        "insufficient shares: selling {} of {} but {have} are available \
                         (to bet against an outcome, buy the other token)",
                        new.size,
                        outcome.as_str()
                    )));
                }
            }
        }
        self.seq += 1;
        let mut order = OrderRecord {
            order_id: format!("loc-{:08}", self.seq),
            client_order_id: new.client_order_id.clone(),
            account: new.account.clone(),
            market: market_id.clone(),
            token_id: new.token_id.clone(),
            outcome,
            side: new.side,
            price: new.price,
            size: new.size,
            filled: Decimal::ZERO,
            status: OrderStatus::Live,
            order_type: new.order_type,
            seq: self.seq,
            created_ms: now_ms,
        };
        let yes_side = order.yes_side();
        let yes_limit = order.yes_price();
        if new.order_type == OrderType::Fok {
            let available = self.crossing_size(&market_id, yes_side, yes_limit);
            if available < new.size {
                self.seq -= 1;
                return Err(PolymarketError::Refused(format!(
                    "FOK order not filled: {available} shares available at or better than {}, {} needed",
                    new.price, new.size
                )));
            }
        }
        self.reserve(&order, order.size);
        let mut fills = Vec::new();
        let mut touched = Vec::new();
        // Bounded: every pass fills or removes one resting order.
        while order.remaining() > Decimal::ZERO {
            let Some((level_price, maker_id)) = self.best_opposite(&market_id, yes_side) else {
                break;
            };
            let crosses = match yes_side {
                Side::Buy => level_price <= yes_limit,
                Side::Sell => level_price >= yes_limit,
            };
            if !crosses {
                break;
            }
            let Some(mut maker) = self.orders.get(&maker_id).cloned() else {
                self.pop_front(&market_id, yes_side.opposite(), level_price);
                continue;
            };
            let qty = order.remaining().min(maker.remaining());
            let taker_price = to_yes(order.outcome, level_price);
            let taker_fee = fees.platform_fee(Role::Taker, qty, taker_price);
            self.trade_seq += 1;
            let fill = Fill {
                trade_id: format!("trd-{:08}", self.trade_seq),
                market: market_id.clone(),
                yes_price: level_price,
                size: qty,
                taker_order_id: order.order_id.clone(),
                taker_account: order.account.clone(),
                taker_outcome: order.outcome,
                taker_side: order.side,
                taker_price,
                maker_order_id: maker.order_id.clone(),
                maker_account: maker.account.clone(),
                maker_outcome: maker.outcome,
                maker_side: maker.side,
                maker_price: maker.price,
                kind: match (order.side, maker.side) {
                    (Side::Buy, Side::Buy) => "mint",
                    (Side::Sell, Side::Sell) => "merge",
                    _ => "trade",
                },
                taker_fee,
                at_ms: now_ms,
            };
            self.settle_leg(&order, fill.taker_price, qty);
            self.charge_fee(&order, taker_fee);
            self.settle_leg(&maker, fill.maker_price, qty);
            order.filled += qty;
            maker.filled += qty;
            if maker.remaining().is_zero() {
                maker.status = OrderStatus::Filled;
                self.pop_front(&market_id, yes_side.opposite(), level_price);
            }
            self.orders.insert(maker.order_id.clone(), maker.clone());
            touched.retain(|o: &OrderRecord| o.order_id != maker.order_id);
            touched.push(maker);
            if let Some(m) = self.markets.get_mut(&market_id) {
                m.last_trade_yes = Some(level_price);
            }
            fills.push(fill);
        }
        if order.remaining().is_zero() {
            order.status = OrderStatus::Filled;
        } else if order.order_type == OrderType::Gtc {
            if let Some(m) = self.markets.get_mut(&market_id) {
                let book = match yes_side {
                    Side::Buy => &mut m.bids,
                    Side::Sell => &mut m.asks,
                };
                book.entry(yes_limit)
                    .or_default()
                    .push_back(order.order_id.clone());
            }
        } else {
            self.release(&order, order.remaining());
            order.status = OrderStatus::Cancelled;
        }
        if let Some(cid) = &order.client_order_id {
            self.client_ids
                .insert((order.account.clone(), cid.clone()), order.order_id.clone());
        }
        self.orders.insert(order.order_id.clone(), order.clone());
        Ok((
            PlaceOutcome {
                order,
                fills,
                touched_makers: touched,
            },
            false,
        ))
    }

    /// Cancels a live order of `account`.
    pub fn cancel(&mut self, account: &str, order_id: &str) -> Result<OrderRecord> {
        let order = self
            .orders
            .get(order_id)
            .filter(|o| o.account == account)
            .cloned()
            .ok_or_else(|| PolymarketError::NotFound(format!("order {order_id}")))?;
        if order.status != OrderStatus::Live {
            return Err(PolymarketError::Refused(format!(
                "order {order_id} is {} and cannot be cancelled",
                order.status.as_str()
            )));
        }
        Ok(self.force_cancel(order))
    }

    fn force_cancel(&mut self, mut order: OrderRecord) -> OrderRecord {
        if let Some(m) = self.markets.get_mut(&order.market) {
            let book = match order.yes_side() {
                Side::Buy => &mut m.bids,
                Side::Sell => &mut m.asks,
            };
            let price = order.yes_price();
            if let Some(queue) = book.get_mut(&price) {
                queue.retain(|id| id != &order.order_id);
                if queue.is_empty() {
                    book.remove(&price);
                }
            }
        }
        self.release(&order, order.remaining());
        order.status = OrderStatus::Cancelled;
        self.orders.insert(order.order_id.clone(), order.clone());
        order
    }

    /// Cancels every live order of `account` (in one market if given).
    pub fn cancel_all(&mut self, account: &str, market: Option<&str>) -> Vec<OrderRecord> {
        let ids: Vec<OrderRecord> = self
            .open_orders(account, market)
            .into_iter()
            .cloned()
            .collect();
        ids.into_iter().map(|o| self.force_cancel(o)).collect()
    }

    /// Resolves a market: cancels its live orders, pays 1 USDC per winning
    /// share, zeroes both tokens' positions (booking realized P&L) and
    /// releases the collateral. Returns the cancelled orders and each
    /// account's payout.
    pub fn resolve(&mut self, market: &str, winner: Outcome) -> Result<Resolution> {
        let spec = self
            .market(market)
            .cloned()
            .ok_or_else(|| PolymarketError::NotFound(format!("market {market}")))?;
        if spec.resolved.is_some() {
            return Err(PolymarketError::Refused(format!(
                "market {} is already resolved",
                spec.slug
            )));
        }
        let live: Vec<OrderRecord> = self
            .orders
            .values()
            .filter(|o| o.market == market && o.status == OrderStatus::Live)
            .cloned()
            .collect();
        let mut cancelled: Vec<OrderRecord> =
            live.into_iter().map(|o| self.force_cancel(o)).collect();
        cancelled.sort_by_key(|o| o.seq);
        let win_token = spec.token(winner).to_string();
        let lose_token = spec.token(winner.other()).to_string();
        let mut payouts = Vec::new();
        for (name, account) in self.accounts.iter_mut() {
            let mut paid = Decimal::ZERO;
            if let Some(pos) = account.positions.get_mut(&win_token) {
                paid = pos.shares;
                pos.realized += pos.shares - pos.cost;
                pos.shares = Decimal::ZERO;
                pos.cost = Decimal::ZERO;
                pos.reserved = Decimal::ZERO;
            }
            if let Some(pos) = account.positions.get_mut(&lose_token) {
                pos.realized -= pos.cost;
                pos.shares = Decimal::ZERO;
                pos.cost = Decimal::ZERO;
                pos.reserved = Decimal::ZERO;
            }
            if !paid.is_zero() {
                account.cash += paid;
                payouts.push((name.clone(), paid));
            }
        }
        if let Some(m) = self.markets.get_mut(market) {
            m.spec.resolved = Some(winner);
        }
        Ok((cancelled, payouts))
    }

    /// USDC locked as collateral in `market`: the YES shares outstanding.
    pub fn collateral(&self, market: &str) -> Decimal {
        let Some(spec) = self.market(market) else {
            return Decimal::ZERO;
        };
        self.accounts
            .values()
            .filter_map(|a| a.positions.get(&spec.yes_token))
            .map(|p| p.shares)
            .sum()
    }

    /// Cash held by every account plus collateral locked in every market
    /// plus the fees takers paid: constant under matching, cancelling and
    /// settlement.
    pub fn total_value(&self) -> Decimal {
        let cash: Decimal = self.accounts.values().map(|a| a.cash).sum();
        let collateral: Decimal = self.markets.keys().map(|m| self.collateral(m)).sum();
        cash + collateral + self.fees_collected
    }

    /// Checks the engine's invariants: no crossed book, YES shares = NO
    /// shares in every market, reservations equal to what live orders hold,
    /// no negative balances. Returns the first violation.
    pub fn check_invariants(&self) -> std::result::Result<(), String> {
        for (id, m) in &self.markets {
            if let (Some(bid), Some(ask)) = (m.bids.keys().next_back(), m.asks.keys().next())
                && bid >= ask
            {
                return Err(format!("book {id} crossed: bid {bid} >= ask {ask}"));
            }
            let shares = |token: &str| -> Decimal {
                self.accounts
                    .values()
                    .filter_map(|a| a.positions.get(token))
                    .map(|p| p.shares)
                    .sum()
            };
            let (yes, no) = (shares(&m.spec.yes_token), shares(&m.spec.no_token));
            if yes != no {
                return Err(format!("market {id}: {yes} YES shares but {no} NO shares"));
            }
        }
        for (name, account) in &self.accounts {
            let live = self
                .orders
                .values()
                .filter(|o| &o.account == name && o.status == OrderStatus::Live);
            let mut cash_res = Decimal::ZERO;
            let mut share_res: HashMap<&str, Decimal> = HashMap::new();
            for o in live {
                match o.side {
                    Side::Buy => cash_res += o.price * o.remaining(),
                    Side::Sell => {
                        *share_res.entry(o.token_id.as_str()).or_default() += o.remaining()
                    }
                }
            }
            if cash_res != account.reserved {
                return Err(format!(
                    "account {name}: reserved {} but live buys hold {cash_res}",
                    account.reserved
                ));
            }
            if account.cash < Decimal::ZERO || account.reserved > account.cash {
                return Err(format!(
                    "account {name}: cash {} reserved {}",
                    account.cash, account.reserved
                ));
            }
            for (token, pos) in &account.positions {
                let want = share_res.get(token.as_str()).copied().unwrap_or_default();
                if pos.reserved != want || pos.shares < pos.reserved || pos.shares < Decimal::ZERO {
                    return Err(format!(
                        "account {name} token {token}: shares {} reserved {} live sells {want}",
                        pos.shares, pos.reserved
                    ));
                }
            }
        }
        Ok(())
    }

    fn crossing_size(&self, market: &str, yes_side: Side, yes_limit: Decimal) -> Decimal {
        let Some(m) = self.markets.get(market) else {
            return Decimal::ZERO;
        };
        let sum_level = |ids: &VecDeque<String>| -> Decimal {
            ids.iter()
                .filter_map(|id| self.orders.get(id))
                .map(|o| o.remaining())
                .sum()
        };
        match yes_side {
            Side::Buy => m
                .asks
                .range(..=yes_limit)
                .map(|(_, ids)| sum_level(ids))
                .sum(),
            Side::Sell => m
                .bids
                .range(yes_limit..)
                .map(|(_, ids)| sum_level(ids))
                .sum(),
        }
    }

    fn best_opposite(&self, market: &str, yes_side: Side) -> Option<(Decimal, String)> {
        let m = self.markets.get(market)?;
        let (price, queue) = match yes_side {
            Side::Buy => m.asks.iter().next()?,
            Side::Sell => m.bids.iter().next_back()?,
        };
        Some((*price, queue.front()?.clone()))
    }

    fn pop_front(&mut self, market: &str, yes_side: Side, price: Decimal) {
        if let Some(m) = self.markets.get_mut(market) {
            let book = match yes_side {
                Side::Buy => &mut m.bids,
                Side::Sell => &mut m.asks,
            };
            if let Some(queue) = book.get_mut(&price) {
                queue.pop_front();
                if queue.is_empty() {
                    book.remove(&price);
                }
            }
        }
    }

    fn reserve(&mut self, order: &OrderRecord, qty: Decimal) {
        let account = self.accounts.entry(order.account.clone()).or_default();
        match order.side {
            Side::Buy => account.reserved += order.price * qty,
            Side::Sell => {
                account
                    .positions
                    .entry(order.token_id.clone())
                    .or_default()
                    .reserved += qty;
            }
        }
    }

    fn release(&mut self, order: &OrderRecord, qty: Decimal) {
        let account = self.accounts.entry(order.account.clone()).or_default();
        match order.side {
            Side::Buy => account.reserved -= order.price * qty,
            Side::Sell => {
                account
                    .positions
                    .entry(order.token_id.clone())
                    .or_default()
                    .reserved -= qty;
            }
        }
    }

    /// Takes a taker's fee from its cash (a taker position's cost basis
    /// includes it on a buy; realized P&L bears it on a sell).
    fn charge_fee(&mut self, order: &OrderRecord, fee: Decimal) {
        if fee.is_zero() {
            return;
        }
        let account = self.accounts.entry(order.account.clone()).or_default();
        account.cash -= fee;
        let pos = account.positions.entry(order.token_id.clone()).or_default();
        match order.side {
            Side::Buy => pos.cost += fee,
            Side::Sell => pos.realized -= fee,
        }
        self.fees_collected += fee;
    }

    /// Moves cash and shares for one side of a match at `price` (that
    /// side's own terms) and releases its reservation.
    fn settle_leg(&mut self, order: &OrderRecord, price: Decimal, qty: Decimal) {
        self.release(order, qty);
        let account = self.accounts.entry(order.account.clone()).or_default();
        let pos = account.positions.entry(order.token_id.clone()).or_default();
        match order.side {
            Side::Buy => {
                account.cash -= price * qty;
                pos.shares += qty;
                pos.cost += price * qty;
            }
            Side::Sell => {
                let avg = if pos.shares.is_zero() {
                    Decimal::ZERO
                } else {
                    pos.cost / pos.shares
                };
                let basis = if qty == pos.shares {
                    pos.cost
                } else {
                    avg * qty
                };
                pos.realized += price * qty - basis;
                pos.cost -= basis;
                pos.shares -= qty;
                account.cash += price * qty;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn market() -> MarketSpec {
        MarketSpec {
            condition_id: "0xm".into(),
            question: "Will it rain?".into(),
            slug: "rain".into(),
            event_slug: "rain".into(),
            group_label: String::new(),
            yes_token: "1".into(),
            no_token: "2".into(),
            tick: TickSize::T0_01,
            min_size: dec!(1),
            neg_risk: false,
            end_ms: 0,
            resolved: None,
        }
    }

    /// A fee-free engine: the matching tests count cash without fees
    /// (fees are checked in `taker_pays_the_fee_and_the_maker_does_not`).
    fn engine() -> Engine {
        let mut e = Engine::new();
        e.set_default_fees(FeeSchedule::ZERO);
        e.add_market(market());
        e.fund("a", dec!(1000), Some(("0xm", dec!(100))));
        e.fund("b", dec!(1000), None);
        e
    }

    fn order(account: &str, token: &str, side: Side, price: Decimal, size: Decimal) -> NewOrder {
        NewOrder {
            account: account.into(),
            token_id: token.into(),
            side,
            price,
            size,
            order_type: OrderType::Gtc,
            client_order_id: None,
        }
    }

    #[test]
    fn price_time_priority_and_partial_fills() {
        let mut e = engine();
        let (first, _) = e
            .place(order("a", "1", Side::Sell, dec!(0.60), dec!(10)), 1)
            .expect("a1");
        let (second, _) = e
            .place(order("a", "1", Side::Sell, dec!(0.60), dec!(10)), 2)
            .expect("a2");
        e.place(order("a", "1", Side::Sell, dec!(0.55), dec!(5)), 3)
            .expect("a3");
        let (taker, _) = e
            .place(order("b", "1", Side::Buy, dec!(0.60), dec!(12)), 4)
            .expect("b");
        assert_eq!(taker.fills.len(), 2);
        assert_eq!(taker.fills[0].yes_price, dec!(0.55), "better price first");
        assert_eq!(
            taker.fills[1].maker_order_id, first.order.order_id,
            "older first at a price"
        );
        assert_eq!(taker.fills[1].size, dec!(7));
        assert_eq!(taker.order.status, OrderStatus::Filled);
        assert_eq!(
            e.order(&first.order.order_id).map(|o| o.filled),
            Some(dec!(7))
        );
        assert_eq!(
            e.order(&second.order.order_id).map(|o| o.filled),
            Some(dec!(0))
        );
        // b paid 5*0.55 + 7*0.60
        assert_eq!(
            e.account("b").map(|a| a.cash),
            Some(dec!(1000) - dec!(2.75) - dec!(4.2))
        );
        e.check_invariants().expect("invariants");
    }

    #[test]
    fn taker_pays_the_fee_and_the_maker_does_not() {
        let mut e = engine();
        e.set_default_fees(DEFAULT_LOCAL_FEES); // rate 0.04, exponent 1
        let before = e.total_value();
        e.place(order("a", "1", Side::Sell, dec!(0.60), dec!(10)), 1)
            .expect("maker");
        let (taker, _) = e
            .place(order("b", "1", Side::Buy, dec!(0.60), dec!(10)), 2)
            .expect("taker");
        // Taker fee: 10 x 0.04 x (0.60 x 0.40) = 10 x 0.04 x 0.24 = 0.096.
        assert_eq!(taker.fills[0].taker_fee, dec!(0.096));
        assert_eq!(e.account("b").map(|a| a.cash), Some(dec!(993.904))); // 1000 - 6 - 0.096
        assert_eq!(e.account("a").map(|a| a.cash), Some(dec!(1006))); // maker: 1000 + 6, no fee
        assert_eq!(
            e.account("b")
                .and_then(|a| a.positions.get("1"))
                .map(|p| p.cost),
            Some(dec!(6.096))
        );
        // b now takes a's bid: sells 10 at 0.50, fee 10 x 0.04 x 0.25 = 0.1 out of the proceeds.
        e.place(order("a", "1", Side::Buy, dec!(0.50), dec!(10)), 3)
            .expect("maker bid");
        e.place(order("b", "1", Side::Sell, dec!(0.50), dec!(10)), 4)
            .expect("taker sell");
        assert_eq!(e.account("b").map(|a| a.cash), Some(dec!(998.804))); // 993.904 + 5 - 0.1
        assert_eq!(
            e.account("b")
                .and_then(|a| a.positions.get("1"))
                .map(|p| p.realized),
            Some(dec!(-1.196)) // 5 - 6.096 - 0.1
        );
        assert_eq!(e.fees_collected(), dec!(0.196));
        assert_eq!(
            e.total_value(),
            before,
            "cash + collateral + fees is conserved"
        );
        e.check_invariants().expect("invariants");
        // A buy must afford its worst-case fee: limited at 0.60 it may fill as
        // low as 0.50, where the curve peaks: 6 + 10 x 0.04 x 0.25 = 6.10.
        e.fund("c", dec!(6.05), None);
        e.place(order("a", "1", Side::Sell, dec!(0.60), dec!(10)), 5)
            .expect("ask");
        let err = e
            .place(order("c", "1", Side::Buy, dec!(0.60), dec!(10)), 6)
            .expect_err("fee not covered");
        assert!(err.to_string().contains("6.10"), "{err}");
    }

    #[test]
    fn complement_buy_no_matches_buy_yes_and_mints() {
        let mut e = engine();
        let before = e.total_value();
        e.place(order("b", "1", Side::Buy, dec!(0.40), dec!(10)), 1)
            .expect("yes bid");
        let (no_buy, _) = e
            .place(order("b", "2", Side::Buy, dec!(0.60), dec!(10)), 2)
            .expect("no buy");
        assert_eq!(no_buy.fills.len(), 1);
        assert_eq!(no_buy.fills[0].kind, "mint");
        assert_eq!(no_buy.fills[0].taker_price, dec!(0.60));
        assert_eq!(e.collateral("0xm"), dec!(110));
        assert_eq!(e.total_value(), before);
        e.check_invariants().expect("invariants");
    }

    #[test]
    fn complement_sells_merge() {
        let mut e = engine();
        e.place(order("a", "1", Side::Sell, dec!(0.50), dec!(10)), 1)
            .expect("yes ask");
        let (no_sell, _) = e
            .place(order("a", "2", Side::Sell, dec!(0.45), dec!(4)), 2)
            .expect("no sell");
        assert_eq!(no_sell.fills[0].kind, "merge");
        assert_eq!(no_sell.fills[0].taker_price, dec!(0.50));
        assert_eq!(e.collateral("0xm"), dec!(96));
        e.check_invariants().expect("invariants");
    }

    #[test]
    fn tick_and_size_and_funds_are_checked() {
        let mut e = engine();
        let err = e
            .place(order("b", "1", Side::Buy, dec!(0.555), dec!(1)), 1)
            .expect_err("tick");
        assert!(matches!(err, PolymarketError::Invalid { ref field, .. } if field == "price"));
        let err = e
            .place(order("b", "1", Side::Sell, dec!(0.5), dec!(1)), 1)
            .expect_err("no shares");
        assert!(matches!(err, PolymarketError::Refused(_)));
        let err = e
            .place(order("b", "1", Side::Buy, dec!(0.5), dec!(5000)), 1)
            .expect_err("cash");
        assert!(err.to_string().contains("insufficient pUSD"));
    }

    #[test]
    fn cancel_releases_and_fok_fak_behave() {
        let mut e = engine();
        let (bid, _) = e
            .place(order("b", "1", Side::Buy, dec!(0.40), dec!(10)), 1)
            .expect("bid");
        assert_eq!(e.account("b").map(|a| a.reserved), Some(dec!(4)));
        e.cancel("b", &bid.order.order_id).expect("cancel");
        assert_eq!(e.account("b").map(|a| a.reserved), Some(dec!(0)));
        assert!(e.cancel("b", &bid.order.order_id).is_err());
        e.place(order("a", "1", Side::Sell, dec!(0.50), dec!(3)), 2)
            .expect("ask");
        let mut fok = order("b", "1", Side::Buy, dec!(0.50), dec!(5));
        fok.order_type = OrderType::Fok;
        assert!(e.place(fok, 3).is_err());
        let mut fak = order("b", "1", Side::Buy, dec!(0.50), dec!(5));
        fak.order_type = OrderType::Fak;
        let (out, _) = e.place(fak, 4).expect("fak");
        assert_eq!(out.order.filled, dec!(3));
        assert_eq!(out.order.status, OrderStatus::Cancelled);
        e.check_invariants().expect("invariants");
    }

    #[test]
    fn client_order_id_places_once() {
        let mut e = engine();
        let mut o = order("b", "1", Side::Buy, dec!(0.40), dec!(10));
        o.client_order_id = Some("c1".into());
        let (first, dup1) = e.place(o.clone(), 1).expect("first");
        let (second, dup2) = e.place(o, 2).expect("second");
        assert!(!dup1 && dup2);
        assert_eq!(first.order.order_id, second.order.order_id);
        assert_eq!(e.open_orders("b", None).len(), 1);
    }

    #[test]
    fn resolution_pays_winners_and_conserves_value() {
        let mut e = engine();
        e.place(order("a", "1", Side::Sell, dec!(0.50), dec!(10)), 1)
            .expect("ask");
        e.place(order("b", "1", Side::Buy, dec!(0.50), dec!(10)), 2)
            .expect("buy");
        let before = e.total_value();
        let (_, payouts) = e.resolve("0xm", Outcome::Yes).expect("resolve");
        assert!(payouts.contains(&("b".to_string(), dec!(10))));
        assert_eq!(e.total_value(), before);
        assert_eq!(e.collateral("0xm"), dec!(0));
        let pos = e
            .account("b")
            .and_then(|a| a.positions.get("1"))
            .cloned()
            .unwrap_or_default();
        assert_eq!(pos.realized, dec!(5));
        e.check_invariants().expect("invariants");
    }

    #[test]
    fn book_of_no_mirrors_yes() {
        let mut e = engine();
        e.place(order("a", "1", Side::Sell, dec!(0.60), dec!(10)), 1)
            .expect("ask");
        e.place(order("b", "1", Side::Buy, dec!(0.40), dec!(5)), 2)
            .expect("bid");
        let no = e.book("2", 10).expect("book");
        assert_eq!(
            no.bids,
            vec![Level {
                price: dec!(0.40),
                size: dec!(10)
            }]
        );
        assert_eq!(
            no.asks,
            vec![Level {
                price: dec!(0.60),
                size: dec!(5)
            }]
        );
    }
}
