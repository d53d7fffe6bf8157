//! The [`Broker`] trait every venue implements, paper included.

use async_trait::async_trait;
use nt_mcp_core::bundle::VenueMode;
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::compliance::CheckResult;
use crate::error::{BrokersError, Result};
use crate::types::{
    Account, Candle, Execution, Order, OrderRequest, OrderStatus, OrderType, Position, Quote,
};

/// A stream of events from a venue; ends when the venue closes it, and
/// yields an error (then ends) when the connection fails for good.
pub type EventStream<T> = futures::stream::BoxStream<'static, Result<T>>;

/// One change to an order, as a venue reports it on its stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct OrderUpdate {
    /// What happened, in the venue's words where it has them (`new`,
    /// `fill`, `partial_fill`, `canceled`, `replaced`, ...); the paper
    /// broker uses `accepted`, `filled`, `cancelled`, `replaced`,
    /// `expired`, `rejected`.
    pub event: String,
    /// The order as it stands after the event.
    pub order: Order,
    /// Price of this fill, for fill events.
    pub fill_price: Option<Decimal>,
    /// Quantity of this fill, for fill events.
    pub fill_qty: Option<Decimal>,
    /// When, ms since the epoch.
    pub at_ms: i64,
}

impl OrderUpdate {
    /// An update whose event name follows the order's status.
    pub fn from_status(order: Order) -> Self {
        let event = match order.status {
            OrderStatus::Open => "accepted",
            OrderStatus::PartiallyFilled => "partially_filled",
            OrderStatus::Filled => "filled",
            OrderStatus::Cancelled => "cancelled",
            OrderStatus::Expired => "expired",
            OrderStatus::Rejected => "rejected",
        };
        let filled = matches!(
            order.status,
            OrderStatus::Filled | OrderStatus::PartiallyFilled
        );
        Self {
            event: event.into(),
            fill_price: if filled { order.avg_fill_price } else { None },
            fill_qty: filled.then_some(order.filled_qty),
            at_ms: order.updated_ms,
            order,
        }
    }
}

/// Bar sizes for candles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub enum Granularity {
    /// One minute.
    #[serde(rename = "1m")]
    M1,
    /// Five minutes.
    #[serde(rename = "5m")]
    M5,
    /// Fifteen minutes.
    #[serde(rename = "15m")]
    M15,
    /// One hour.
    #[serde(rename = "1h")]
    H1,
    /// One day.
    #[default]
    #[serde(rename = "1d")]
    D1,
}

impl Granularity {
    /// Bar length in milliseconds.
    pub fn millis(self) -> i64 {
        match self {
            Granularity::M1 => 60_000,
            Granularity::M5 => 300_000,
            Granularity::M15 => 900_000,
            Granularity::H1 => 3_600_000,
            Granularity::D1 => 86_400_000,
        }
    }
}

/// Changes to a working order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct OrderChange {
    /// New quantity.
    #[serde(default)]
    pub qty: Option<Decimal>,
    /// New limit price.
    #[serde(default)]
    pub limit_price: Option<Decimal>,
    /// New stop price.
    #[serde(default)]
    pub stop_price: Option<Decimal>,
}

impl OrderChange {
    /// Checks that `order` can take this change: it is still working, and a
    /// new limit or stop price only goes to an order type that has one.
    pub fn check_applies_to(&self, order: &Order) -> Result<()> {
        let id = &order.id;
        if !order.status.is_working() {
            return Err(BrokersError::refused(
                "order_state",
                format!(
                    "order {id} is {} and cannot be changed",
                    order.status.as_str()
                ),
            ));
        }
        if self.limit_price.is_some()
            && !matches!(order.order_type, OrderType::Limit | OrderType::StopLimit)
        {
            return Err(BrokersError::invalid(
                "limit_price",
                format!(
                    "order {id} is a {} order without a limit price",
                    order.order_type.as_str()
                ),
            ));
        }
        if self.stop_price.is_some()
            && !matches!(order.order_type, OrderType::Stop | OrderType::StopLimit)
        {
            return Err(BrokersError::invalid(
                "stop_price",
                format!(
                    "order {id} is a {} order without a stop price",
                    order.order_type.as_str()
                ),
            ));
        }
        Ok(())
    }

    /// Checks that something changes and every new value is positive.
    pub fn validate(&self) -> Result<()> {
        if self.qty.is_none() && self.limit_price.is_none() && self.stop_price.is_none() {
            return Err(BrokersError::invalid(
                "qty",
                "give at least one of qty, limit_price, stop_price to change",
            ));
        }
        for (field, v) in [
            ("qty", self.qty),
            ("limit_price", self.limit_price),
            ("stop_price", self.stop_price),
        ] {
            if v.is_some_and(|v| v <= Decimal::ZERO) {
                return Err(BrokersError::invalid(field, "must be greater than zero"));
            }
        }
        Ok(())
    }
}

/// One venue: an account with balances, positions, quotes, candles and
/// orders. Implemented by the paper broker and each real client.
#[async_trait]
pub trait Broker: Send + Sync {
    /// Venue name (`paper`, `oanda`, `questrade`, ...).
    fn venue(&self) -> &str;

    /// Whether the venue moves real money.
    fn mode(&self) -> VenueMode;

    /// Whether the broker writes its own audit rows in the transaction of
    /// each state change (the paper broker does; for real venues the router
    /// records what the venue answered).
    fn records_own_audit(&self) -> bool {
        false
    }

    /// The paper broker behind this trait object, so the order desk can
    /// place a paper order whole in one transaction.
    fn as_paper(&self) -> Option<&crate::paper::PaperBroker> {
        None
    }

    /// Hands the broker the bundle's database, for venues that keep state
    /// there (Questrade's rotating OAuth refresh token). Called before each
    /// use; the first store given is kept.
    fn attach_store(&self, store: &nt_mcp_core::Store) {
        let _ = store;
    }

    /// The account and its balances.
    async fn account(&self) -> Result<Account>;

    /// Open positions.
    async fn positions(&self) -> Result<Vec<Position>>;

    /// The current quote for a symbol.
    async fn quote(&self, symbol: &str) -> Result<Quote>;

    /// Recent bars, oldest first.
    async fn candles(
        &self,
        symbol: &str,
        granularity: Granularity,
        count: u32,
    ) -> Result<Vec<Candle>>;

    /// Places an order. `checks` are the pre-trade check results that
    /// allowed it, for brokers that record their own audit.
    async fn place_order(&self, req: &OrderRequest, checks: &[CheckResult]) -> Result<Order>;

    /// Changes quantity or prices of a working order.
    async fn replace_order(&self, order_id: &str, change: &OrderChange) -> Result<Order> {
        let _ = change;
        Err(BrokersError::refused(
            "replace_unsupported",
            format!(
                "{} does not support replacing order {order_id}; cancel and place a new one",
                self.venue()
            ),
        ))
    }

    /// Cancels a working order.
    async fn cancel_order(&self, order_id: &str) -> Result<Order>;

    /// Orders, newest first; only working ones when `open_only`.
    async fn orders(&self, open_only: bool) -> Result<Vec<Order>>;

    /// Executions, newest first.
    async fn executions(&self) -> Result<Vec<Execution>>;

    /// A live stream of this account's order updates (acceptances, fills,
    /// cancels), for venues that have one. The default says the venue has
    /// none.
    async fn order_updates(&self) -> Result<EventStream<OrderUpdate>> {
        Err(BrokersError::refused(
            "stream_unsupported",
            format!(
                "{} has no order-update stream in this bundle; poll broker_orders instead",
                self.venue()
            ),
        ))
    }

    /// A live stream of quotes for `symbols`, for venues that have one.
    /// The default says the venue has none.
    async fn quote_stream(&self, symbols: &[String]) -> Result<EventStream<Quote>> {
        let _ = symbols;
        Err(BrokersError::refused(
            "stream_unsupported",
            format!(
                "{} has no quote stream in this bundle; poll broker_quote instead",
                self.venue()
            ),
        ))
    }

    /// The order placed with `client_order_id`, if any.
    async fn find_by_client_id(&self, client_order_id: &str) -> Result<Option<Order>> {
        Ok(self
            .orders(false)
            .await?
            .into_iter()
            .find(|o| o.client_order_id == client_order_id))
    }
}
