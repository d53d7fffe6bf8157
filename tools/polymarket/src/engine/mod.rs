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

mod types;

pub use types::*;

use std::collections::{BTreeMap, HashMap, VecDeque};

use rust_decimal::Decimal;

use crate::error::{PolymarketError, Result};
use crate::fees::{FeeSchedule, Role};
use crate::types::{OrderType, Outcome, Side, check_size};

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
#[path = "tests.rs"]
mod tests;
