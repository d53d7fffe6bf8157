//! Domain types shared by every broker: instruments, orders, fills,
//! positions, balances and quotes. Money and quantities are [`Decimal`].

use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::{BrokersError, Result};

/// Which way an order trades.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// Buy to open or add to a long position.
    Buy,
    /// Sell shares held long.
    Sell,
    /// Sell borrowed shares, opening or adding to a short position.
    SellShort,
    /// Buy back shares sold short.
    BuyToCover,
}

impl Side {
    /// Whether the order buys.
    pub fn is_buy(self) -> bool {
        matches!(self, Side::Buy | Side::BuyToCover)
    }

    /// The wire name (`sell_short`).
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Buy => "buy",
            Side::Sell => "sell",
            Side::SellShort => "sell_short",
            Side::BuyToCover => "buy_to_cover",
        }
    }

    /// Parses the wire name.
    pub fn parse(text: &str) -> Result<Self> {
        Ok(match text {
            "buy" => Side::Buy,
            "sell" => Side::Sell,
            "sell_short" => Side::SellShort,
            "buy_to_cover" => Side::BuyToCover,
            other => return Err(BrokersError::Corrupt(format!("side {other}"))),
        })
    }
}

/// How an order is priced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderType {
    /// At the best available price now.
    Market,
    /// At `limit_price` or better.
    Limit,
    /// Becomes a market order once the price touches `stop_price`.
    Stop,
    /// Becomes a limit order at `limit_price` once the price touches `stop_price`.
    StopLimit,
    /// A stop that follows the price by `trail_amount` or `trail_percent`.
    TrailingStop,
}

impl OrderType {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderType::Market => "market",
            OrderType::Limit => "limit",
            OrderType::Stop => "stop",
            OrderType::StopLimit => "stop_limit",
            OrderType::TrailingStop => "trailing_stop",
        }
    }

    /// Parses the wire name.
    pub fn parse(text: &str) -> Result<Self> {
        Ok(match text {
            "market" => OrderType::Market,
            "limit" => OrderType::Limit,
            "stop" => OrderType::Stop,
            "stop_limit" => OrderType::StopLimit,
            "trailing_stop" => OrderType::TrailingStop,
            other => return Err(BrokersError::Corrupt(format!("order type {other}"))),
        })
    }
}

/// How long an order stays working.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TimeInForce {
    /// Until the end of the trading day: in the paper broker the close of
    /// the symbol's market (16:00 New York for US and Canadian equities,
    /// 13:00 on early-close days; the 17:00 New York roll for currency
    /// pairs), see [`crate::calendar`].
    #[default]
    Day,
    /// Good till cancelled.
    Gtc,
    /// Immediate or cancel: fill what can be filled now, cancel the rest.
    Ioc,
    /// Fill or kill: fill all now or nothing.
    Fok,
}

impl TimeInForce {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            TimeInForce::Day => "day",
            TimeInForce::Gtc => "gtc",
            TimeInForce::Ioc => "ioc",
            TimeInForce::Fok => "fok",
        }
    }

    /// Parses the wire name.
    pub fn parse(text: &str) -> Result<Self> {
        Ok(match text {
            "day" => TimeInForce::Day,
            "gtc" => TimeInForce::Gtc,
            "ioc" => TimeInForce::Ioc,
            "fok" => TimeInForce::Fok,
            other => return Err(BrokersError::Corrupt(format!("time in force {other}"))),
        })
    }
}

/// Where an order is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Accepted and working.
    Open,
    /// Some quantity filled, the rest working.
    PartiallyFilled,
    /// Completely filled.
    Filled,
    /// Cancelled by the user or by its time in force.
    Cancelled,
    /// Refused by the venue.
    Rejected,
    /// Its time in force ran out.
    Expired,
}

impl OrderStatus {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Open => "open",
            OrderStatus::PartiallyFilled => "partially_filled",
            OrderStatus::Filled => "filled",
            OrderStatus::Cancelled => "cancelled",
            OrderStatus::Rejected => "rejected",
            OrderStatus::Expired => "expired",
        }
    }

    /// Parses the wire name.
    pub fn parse(text: &str) -> Result<Self> {
        Ok(match text {
            "open" => OrderStatus::Open,
            "partially_filled" => OrderStatus::PartiallyFilled,
            "filled" => OrderStatus::Filled,
            "cancelled" => OrderStatus::Cancelled,
            "rejected" => OrderStatus::Rejected,
            "expired" => OrderStatus::Expired,
            other => return Err(BrokersError::Corrupt(format!("order status {other}"))),
        })
    }

    /// Whether the order can still trade.
    pub fn is_working(self) -> bool {
        matches!(self, OrderStatus::Open | OrderStatus::PartiallyFilled)
    }
}

/// An instrument as a venue names it, with the currency it trades in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Instrument {
    /// The symbol the user gave (`SHOP.TO`, `AAPL`, `EUR_USD`).
    pub symbol: String,
    /// The venue's own identifier (Questrade symbolId, IB conid, OANDA name).
    pub venue_symbol: String,
    /// ISO currency the instrument is priced in.
    pub currency: String,
}

impl Instrument {
    /// The paper venue's view of a symbol: `.TO`/`.V`/`.NE`/`.CN` listings
    /// trade in CAD, `AAA_BBB` currency pairs in the quote currency, the
    /// rest in USD.
    pub fn paper(symbol: &str) -> Self {
        let upper = symbol.to_ascii_uppercase();
        let currency = if [".TO", ".V", ".NE", ".CN"]
            .iter()
            .any(|s| upper.ends_with(s))
        {
            "CAD".to_string()
        } else if let Some((_, quote)) = upper.split_once('_') {
            quote.to_string()
        } else {
            "USD".to_string()
        };
        Self {
            symbol: upper.clone(),
            venue_symbol: upper,
            currency,
        }
    }
}

/// What a caller asks a broker to do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct OrderRequest {
    /// Caller-chosen id; the same id twice places one order.
    pub client_order_id: String,
    /// Symbol as the venue knows it.
    pub symbol: String,
    /// Buy, sell, sell short or buy to cover.
    pub side: Side,
    /// Quantity (shares, units), positive.
    pub qty: Decimal,
    /// Market, limit, stop, stop-limit or trailing stop.
    #[serde(default = "default_order_type")]
    pub order_type: OrderType,
    /// Limit price, for limit and stop-limit orders.
    #[serde(default)]
    pub limit_price: Option<Decimal>,
    /// Stop (trigger) price, for stop and stop-limit orders.
    #[serde(default)]
    pub stop_price: Option<Decimal>,
    /// Trailing distance in price units, for trailing stops.
    #[serde(default)]
    pub trail_amount: Option<Decimal>,
    /// Trailing distance in percent of the price, for trailing stops.
    #[serde(default)]
    pub trail_percent: Option<Decimal>,
    /// Day, GTC, IOC or FOK.
    #[serde(default)]
    pub time_in_force: TimeInForce,
    /// For a sell larger than the position available (held long, less the
    /// working sell orders) on an account that does not allow short sales:
    /// sell only what is available instead of refusing the order.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reduce_to_position: bool,
}

fn default_order_type() -> OrderType {
    OrderType::Market
}

impl OrderRequest {
    /// A market order for `qty` of `symbol`, good for the day: the
    /// simplest request (tests, benches, examples).
    pub fn market(client_order_id: &str, symbol: &str, side: Side, qty: Decimal) -> Self {
        Self {
            client_order_id: client_order_id.to_string(),
            symbol: symbol.to_string(),
            side,
            qty,
            order_type: OrderType::Market,
            limit_price: None,
            stop_price: None,
            trail_amount: None,
            trail_percent: None,
            time_in_force: TimeInForce::Day,
            reduce_to_position: false,
        }
    }

    /// Checks the fields agree with the order type; names the field at fault.
    pub fn validate(&self) -> Result<()> {
        let id = self.client_order_id.trim();
        if id.is_empty() || id.len() > 64 {
            return Err(BrokersError::invalid(
                "client_order_id",
                "must be 1 to 64 characters",
            ));
        }
        if !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))
        {
            return Err(BrokersError::invalid(
                "client_order_id",
                "may hold only letters, digits and - _ . :",
            ));
        }
        let symbol = self.symbol.trim();
        if symbol.is_empty() || symbol.len() > 32 {
            return Err(BrokersError::invalid(
                "symbol",
                "must be 1 to 32 characters",
            ));
        }
        if self.qty <= Decimal::ZERO {
            return Err(BrokersError::invalid("qty", "must be greater than zero"));
        }
        let positive = |field: &str, value: Option<Decimal>| -> Result<()> {
            match value {
                Some(v) if v <= Decimal::ZERO => {
                    Err(BrokersError::invalid(field, "must be greater than zero"))
                }
                _ => Ok(()),
            }
        };
        positive("limit_price", self.limit_price)?;
        positive("stop_price", self.stop_price)?;
        positive("trail_amount", self.trail_amount)?;
        positive("trail_percent", self.trail_percent)?;
        let need = |field: &str, value: Option<Decimal>| -> Result<()> {
            if value.is_none() {
                Err(BrokersError::invalid(
                    field,
                    format!("is required for {} orders", self.order_type.as_str()),
                ))
            } else {
                Ok(())
            }
        };
        let forbid = |field: &str, value: Option<Decimal>| -> Result<()> {
            if value.is_some() {
                Err(BrokersError::invalid(
                    field,
                    format!("does not apply to {} orders", self.order_type.as_str()),
                ))
            } else {
                Ok(())
            }
        };
        match self.order_type {
            OrderType::Market => {
                forbid("limit_price", self.limit_price)?;
                forbid("stop_price", self.stop_price)?;
            }
            OrderType::Limit => {
                need("limit_price", self.limit_price)?;
                forbid("stop_price", self.stop_price)?;
            }
            OrderType::Stop => {
                need("stop_price", self.stop_price)?;
                forbid("limit_price", self.limit_price)?;
            }
            OrderType::StopLimit => {
                need("stop_price", self.stop_price)?;
                need("limit_price", self.limit_price)?;
            }
            OrderType::TrailingStop => {
                if self.trail_amount.is_some() == self.trail_percent.is_some() {
                    return Err(BrokersError::invalid(
                        "trail_amount",
                        "trailing stops take exactly one of trail_amount or trail_percent",
                    ));
                }
                if let Some(p) = self.trail_percent
                    && p >= Decimal::ONE_HUNDRED
                {
                    return Err(BrokersError::invalid("trail_percent", "must be below 100"));
                }
            }
        }
        if !matches!(self.order_type, OrderType::TrailingStop) {
            forbid("trail_amount", self.trail_amount)?;
            forbid("trail_percent", self.trail_percent)?;
        }
        Ok(())
    }

    /// The price the order would trade at if filled now at `reference`
    /// (its limit when it has one), for value checks.
    pub fn indicative_price(&self, reference: Decimal) -> Decimal {
        self.limit_price.unwrap_or(reference)
    }
}

/// An order as the venue holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Order {
    /// The venue's order id.
    pub id: String,
    /// The caller's id.
    pub client_order_id: String,
    /// Account it belongs to.
    pub account_id: String,
    /// Symbol.
    pub symbol: String,
    /// Currency it trades in.
    pub currency: String,
    /// Side.
    pub side: Side,
    /// Type.
    pub order_type: OrderType,
    /// Time in force.
    pub time_in_force: TimeInForce,
    /// Quantity ordered.
    pub qty: Decimal,
    /// Limit price.
    pub limit_price: Option<Decimal>,
    /// Stop price (for trailing stops: the current trigger).
    pub stop_price: Option<Decimal>,
    /// Trailing amount.
    pub trail_amount: Option<Decimal>,
    /// Trailing percent.
    pub trail_percent: Option<Decimal>,
    /// Status.
    pub status: OrderStatus,
    /// Quantity filled so far.
    pub filled_qty: Decimal,
    /// Average fill price.
    pub avg_fill_price: Option<Decimal>,
    /// Commission charged so far.
    pub commission: Decimal,
    /// Why it was rejected, cancelled or expired, when known.
    pub reason: Option<String>,
    /// Created, ms since the epoch.
    pub created_ms: i64,
    /// Last changed, ms since the epoch.
    pub updated_ms: i64,
}

/// One execution (fill).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Execution {
    /// Venue's execution id.
    pub id: String,
    /// Order it filled.
    pub order_id: String,
    /// Account.
    pub account_id: String,
    /// Symbol.
    pub symbol: String,
    /// Currency of price and commission.
    pub currency: String,
    /// Side.
    pub side: Side,
    /// Quantity.
    pub qty: Decimal,
    /// Price.
    pub price: Decimal,
    /// Commission.
    pub commission: Decimal,
    /// When, ms since the epoch.
    pub at_ms: i64,
}

/// A position.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Position {
    /// Symbol.
    pub symbol: String,
    /// Currency.
    pub currency: String,
    /// Signed quantity: negative when short.
    pub qty: Decimal,
    /// Average entry price.
    pub avg_price: Decimal,
    /// Current price, when known.
    pub market_price: Option<Decimal>,
    /// Unrealized profit and loss at `market_price`, when known.
    pub unrealized_pnl: Option<Decimal>,
}

/// Cash in one currency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Balance {
    /// Currency.
    pub currency: String,
    /// Cash.
    pub cash: Decimal,
    /// Equity (cash plus positions at market), when known.
    pub equity: Option<Decimal>,
    /// Buying power, when the venue reports it.
    pub buying_power: Option<Decimal>,
}

/// An account and its balances.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Account {
    /// Account id.
    pub id: String,
    /// Venue.
    pub venue: String,
    /// Base currency.
    pub currency: String,
    /// Balances per currency.
    pub balances: Vec<Balance>,
}

/// A quote.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Quote {
    /// Symbol.
    pub symbol: String,
    /// Currency.
    pub currency: String,
    /// Best bid.
    pub bid: Decimal,
    /// Best ask.
    pub ask: Decimal,
    /// Last trade (or mid).
    pub last: Decimal,
    /// When, ms since the epoch.
    pub at_ms: i64,
}

/// One bar.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Candle {
    /// Bar start, ms since the epoch.
    pub start_ms: i64,
    /// Open.
    pub open: Decimal,
    /// High.
    pub high: Decimal,
    /// Low.
    pub low: Decimal,
    /// Close.
    pub close: Decimal,
    /// Volume, when the venue reports it.
    pub volume: Option<Decimal>,
}

/// Parses a stored decimal.
pub fn dec(text: &str) -> Result<Decimal> {
    text.parse::<Decimal>()
        .map_err(|_| BrokersError::Corrupt(format!("decimal {text}")))
}

/// Parses an optional stored decimal.
pub fn opt_dec(text: Option<String>) -> Result<Option<Decimal>> {
    text.as_deref().map(dec).transpose()
}
