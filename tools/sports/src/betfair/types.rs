//! Betfair Exchange API-NG JSON shapes (Betting API v1.0 and the identity
//! SSO login / keepAlive answers), from the Betfair Exchange API
//! documentation (developer.betfair.com, "Betting Type Definitions").

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Serialize, Serializer};

/// Betfair's `Double` fields are JSON numbers: a [`Decimal`] written as one.
fn number<S: Serializer>(d: &Decimal, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.to_f64().unwrap_or(0.0))
}

/// Login and keepAlive answer (`identitysso.betfair.com/api/login`, `/api/keepAlive`).
#[derive(Debug, Clone, Deserialize)]
pub struct SsoAnswer {
    /// Session token (empty on failure).
    #[serde(default)]
    pub token: String,
    /// `SUCCESS`, `FAIL` or `LIMITED_ACCESS`.
    pub status: String,
    /// Error code on failure (`INVALID_USERNAME_OR_PASSWORD`, `NO_SESSION`).
    #[serde(default)]
    pub error: String,
}

/// `EventType`.
#[derive(Debug, Clone, Deserialize)]
pub struct EventType {
    /// Id (`1` = Soccer).
    pub id: String,
    /// Name.
    pub name: String,
}

/// `EventTypeResult`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventTypeResult {
    /// The event type.
    pub event_type: EventType,
    /// Markets open in it.
    #[serde(default)]
    pub market_count: i64,
}

/// `Event` in a catalogue.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BfEvent {
    /// Event id.
    pub id: String,
    /// Name (`Arsenal v Chelsea`).
    pub name: String,
    /// ISO 8601 open date.
    #[serde(default)]
    pub open_date: Option<String>,
}

/// `RunnerCatalog`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunnerCatalog {
    /// Selection id.
    pub selection_id: i64,
    /// Runner name.
    pub runner_name: String,
    /// Handicap.
    #[serde(default)]
    pub handicap: Decimal,
}

/// `MarketCatalogue`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MarketCatalogue {
    /// Market id (`1.23456789`).
    pub market_id: String,
    /// Market name (`Match Odds`).
    pub market_name: String,
    /// ISO 8601 start.
    #[serde(default)]
    pub market_start_time: Option<String>,
    /// Runners.
    #[serde(default)]
    pub runners: Vec<RunnerCatalog>,
    /// The event.
    #[serde(default)]
    pub event: Option<BfEvent>,
}

/// `PriceSize`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PriceSize {
    /// Price.
    pub price: Decimal,
    /// Size.
    pub size: Decimal,
}

/// `ExchangePrices`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExchangePrices {
    /// Best back prices.
    #[serde(default)]
    pub available_to_back: Vec<PriceSize>,
    /// Best lay prices.
    #[serde(default)]
    pub available_to_lay: Vec<PriceSize>,
}

/// `Runner` in a market book.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BookRunner {
    /// Selection id.
    pub selection_id: i64,
    /// `ACTIVE`, `WINNER`, `LOSER`, ...
    pub status: String,
    /// Last traded price.
    #[serde(default)]
    pub last_price_traded: Option<Decimal>,
    /// Prices.
    #[serde(default)]
    pub ex: ExchangePrices,
}

/// `MarketBook`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MarketBook {
    /// Market id.
    pub market_id: String,
    /// `OPEN`, `SUSPENDED`, `CLOSED`.
    pub status: String,
    /// Delayed data (delayed application keys).
    #[serde(default)]
    pub is_market_data_delayed: bool,
    /// Runners.
    #[serde(default)]
    pub runners: Vec<BookRunner>,
}

/// `LimitOrder`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LimitOrder {
    /// Stake.
    #[serde(serialize_with = "number")]
    pub size: Decimal,
    /// Price.
    #[serde(serialize_with = "number")]
    pub price: Decimal,
    /// `LAPSE`, `PERSIST`, `MARKET_ON_CLOSE`.
    pub persistence_type: String,
}

/// `PlaceInstruction`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlaceInstruction {
    /// Selection id.
    pub selection_id: i64,
    /// Handicap (0 for non-handicap markets).
    #[serde(serialize_with = "number")]
    pub handicap: Decimal,
    /// `BACK` or `LAY`.
    pub side: String,
    /// `LIMIT`.
    pub order_type: String,
    /// The limit order.
    pub limit_order: LimitOrder,
    /// Our reference for the order (idempotency on the exchange side).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_order_ref: Option<String>,
}

/// `PlaceInstructionReport`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlaceInstructionReport {
    /// `SUCCESS`, `FAILURE`, `TIMEOUT`.
    pub status: String,
    /// Why it failed.
    #[serde(default)]
    pub error_code: Option<String>,
    /// Bet id.
    #[serde(default)]
    pub bet_id: Option<String>,
    /// Average matched price.
    #[serde(default)]
    pub average_price_matched: Option<Decimal>,
    /// Size matched.
    #[serde(default)]
    pub size_matched: Option<Decimal>,
    /// `EXECUTION_COMPLETE`, `EXECUTABLE`.
    #[serde(default)]
    pub order_status: Option<String>,
}

/// `PlaceExecutionReport`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlaceExecutionReport {
    /// `SUCCESS`, `FAILURE`, `PROCESSED_WITH_ERRORS`, `TIMEOUT`.
    pub status: String,
    /// Why it failed (`INSUFFICIENT_FUNDS`, `MARKET_SUSPENDED`, ...).
    #[serde(default)]
    pub error_code: Option<String>,
    /// Market id.
    #[serde(default)]
    pub market_id: Option<String>,
    /// Per-instruction reports.
    #[serde(default)]
    pub instruction_reports: Vec<PlaceInstructionReport>,
}

/// `CancelInstructionReport`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CancelInstructionReport {
    /// `SUCCESS` or `FAILURE`.
    pub status: String,
    /// Why it failed.
    #[serde(default)]
    pub error_code: Option<String>,
    /// Size cancelled.
    #[serde(default)]
    pub size_cancelled: Option<Decimal>,
}

/// `CancelExecutionReport`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CancelExecutionReport {
    /// `SUCCESS`, `FAILURE`, `PROCESSED_WITH_ERRORS`.
    pub status: String,
    /// Why it failed.
    #[serde(default)]
    pub error_code: Option<String>,
    /// Per-instruction reports.
    #[serde(default)]
    pub instruction_reports: Vec<CancelInstructionReport>,
}

/// `CurrentOrderSummary`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CurrentOrderSummary {
    /// Bet id.
    pub bet_id: String,
    /// Market id.
    pub market_id: String,
    /// Selection id.
    pub selection_id: i64,
    /// Requested price and size.
    pub price_size: PriceSize,
    /// `BACK` or `LAY`.
    pub side: String,
    /// `EXECUTABLE` or `EXECUTION_COMPLETE`.
    pub status: String,
    /// Size matched.
    #[serde(default)]
    pub size_matched: Option<Decimal>,
    /// Size remaining.
    #[serde(default)]
    pub size_remaining: Option<Decimal>,
}

/// `CurrentOrderSummaryReport`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CurrentOrderSummaryReport {
    /// Orders.
    pub current_orders: Vec<CurrentOrderSummary>,
    /// More pages.
    #[serde(default)]
    pub more_available: bool,
}
