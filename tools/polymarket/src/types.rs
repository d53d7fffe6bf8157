//! Domain types shared by the venue, the book and the strategies: sides,
//! outcomes, tick sizes and order types. Prices and sizes are
//! [`Decimal`]s; a price is a probability in (0, 1) quoted in USDC per share.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::PolymarketError;

/// Buy or sell, as the CLOB spells it (`BUY` / `SELL`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum Side {
    /// Buy shares, pay USDC.
    #[serde(alias = "buy")]
    Buy,
    /// Sell shares, receive USDC.
    #[serde(alias = "sell")]
    Sell,
}

impl Side {
    /// The other side.
    pub fn opposite(self) -> Self {
        match self {
            Side::Buy => Side::Sell,
            Side::Sell => Side::Buy,
        }
    }

    /// Parses the stored `BUY` / `SELL`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "BUY" => Some(Side::Buy),
            "SELL" => Some(Side::Sell),
            _ => None,
        }
    }

    /// `BUY` or `SELL`.
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Buy => "BUY",
            Side::Sell => "SELL",
        }
    }
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Side {
    type Err = PolymarketError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_uppercase().as_str() {
            "BUY" => Ok(Side::Buy),
            "SELL" => Ok(Side::Sell),
            _ => Err(PolymarketError::invalid("side", "must be BUY or SELL")),
        }
    }
}

/// The outcome token of a binary market.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum Outcome {
    /// The YES token (pays 1 USDC if the market resolves YES).
    #[serde(alias = "yes", alias = "Yes")]
    Yes,
    /// The NO token (pays 1 USDC if the market resolves NO).
    #[serde(alias = "no", alias = "No")]
    No,
}

impl Outcome {
    /// The complementary token.
    pub fn other(self) -> Self {
        match self {
            Outcome::Yes => Outcome::No,
            Outcome::No => Outcome::Yes,
        }
    }

    /// Parses the stored `YES` / `NO`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "YES" => Some(Outcome::Yes),
            "NO" => Some(Outcome::No),
            _ => None,
        }
    }

    /// `YES` or `NO`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Yes => "YES",
            Outcome::No => "NO",
        }
    }
}

impl FromStr for Outcome {
    type Err = PolymarketError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_uppercase().as_str() {
            "YES" => Ok(Outcome::Yes),
            "NO" => Ok(Outcome::No),
            _ => Err(PolymarketError::invalid("outcome", "must be YES or NO")),
        }
    }
}

/// How long an order lives, as the CLOB names the types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum OrderType {
    /// Good till cancelled: the rest stays on the book.
    #[default]
    Gtc,
    /// Fill or kill: all at once or nothing.
    Fok,
    /// Fill and kill (immediate or cancel): fill what crosses, cancel the rest.
    Fak,
}

impl OrderType {
    /// `GTC`, `FOK` or `FAK`.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderType::Gtc => "GTC",
            OrderType::Fok => "FOK",
            OrderType::Fak => "FAK",
        }
    }
}

/// The minimum price increment of a market. CLOB V2 uses six (the
/// official client's `ROUNDING_CONFIG`): 0.1, 0.01, 0.005, 0.0025, 0.001
/// and 0.0001.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum TickSize {
    /// 0.1
    #[serde(rename = "0.1")]
    T0_1,
    /// 0.01
    #[serde(rename = "0.01")]
    T0_01,
    /// 0.005
    #[serde(rename = "0.005")]
    T0_005,
    /// 0.0025
    #[serde(rename = "0.0025")]
    T0_0025,
    /// 0.001
    #[serde(rename = "0.001")]
    T0_001,
    /// 0.0001
    #[serde(rename = "0.0001")]
    T0_0001,
}

impl TickSize {
    /// Every tick size, coarsest first.
    pub const ALL: [TickSize; 6] = [
        TickSize::T0_1,
        TickSize::T0_01,
        TickSize::T0_005,
        TickSize::T0_0025,
        TickSize::T0_001,
        TickSize::T0_0001,
    ];

    /// The tick as a decimal.
    pub fn value(self) -> Decimal {
        match self {
            TickSize::T0_1 => Decimal::new(1, 1),
            TickSize::T0_01 => Decimal::new(1, 2),
            TickSize::T0_005 => Decimal::new(5, 3),
            TickSize::T0_0025 => Decimal::new(25, 4),
            TickSize::T0_001 => Decimal::new(1, 3),
            TickSize::T0_0001 => Decimal::new(1, 4),
        }
    }

    /// Decimal places of a price (1 to 4), the official client's
    /// `RoundConfig.price`.
    pub fn price_decimals(self) -> u32 {
        match self {
            TickSize::T0_1 => 1,
            TickSize::T0_01 => 2,
            TickSize::T0_005 | TickSize::T0_001 => 3,
            TickSize::T0_0025 | TickSize::T0_0001 => 4,
        }
    }

    /// Decimal places of a USDC amount, as the official client rounds them
    /// (price decimals + 2).
    pub fn amount_decimals(self) -> u32 {
        self.price_decimals() + 2
    }

    /// `0.1`, `0.01`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            TickSize::T0_1 => "0.1",
            TickSize::T0_01 => "0.01",
            TickSize::T0_005 => "0.005",
            TickSize::T0_0025 => "0.0025",
            TickSize::T0_001 => "0.001",
            TickSize::T0_0001 => "0.0001",
        }
    }

    /// Parses `0.01`, `.01` and the like.
    pub fn parse(s: &str) -> Result<Self, PolymarketError> {
        let d = Decimal::from_str(s.trim())
            .map_err(|_| PolymarketError::invalid("tick_size", "not a decimal"))?;
        Self::from_decimal(d)
    }

    /// The tick size equal to `d`.
    pub fn from_decimal(d: Decimal) -> Result<Self, PolymarketError> {
        Self::ALL
            .into_iter()
            .find(|t| t.value() == d)
            .ok_or_else(|| {
                PolymarketError::invalid(
                    "tick_size",
                    "must be one of 0.1, 0.01, 0.005, 0.0025, 0.001, 0.0001",
                )
            })
    }

    /// Checks that `price` is a multiple of the tick within [tick, 1 - tick].
    pub fn check_price(self, field: &str, price: Decimal) -> Result<(), PolymarketError> {
        let tick = self.value();
        if price < tick || price > Decimal::ONE - tick {
            return Err(PolymarketError::invalid(
                field,
                format!(
                    "price {price} must be between {tick} and {}",
                    Decimal::ONE - tick
                ),
            ));
        }
        if !(price % tick).is_zero() {
            return Err(PolymarketError::invalid(
                field,
                format!("price {price} is not a multiple of the tick size {tick}"),
            ));
        }
        Ok(())
    }

    /// Rounds a non-negative `price` down to a multiple of the tick.
    pub fn round_down(self, price: Decimal) -> Decimal {
        let tick = self.value();
        ((price / tick).floor() * tick).round_dp(self.price_decimals())
    }

    /// Rounds a non-negative `price` up to a multiple of the tick.
    pub fn round_up(self, price: Decimal) -> Decimal {
        let tick = self.value();
        ((price / tick).ceil() * tick).round_dp(self.price_decimals())
    }

    /// Clamps `price` into [tick, 1 - tick].
    pub fn clamp(self, price: Decimal) -> Decimal {
        let tick = self.value();
        price.max(tick).min(Decimal::ONE - tick)
    }
}

impl fmt::Display for TickSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Shares are traded in hundredths (2 decimals), as the official client rounds sizes.
pub const SIZE_DECIMALS: u32 = 2;

/// Checks a share size: positive, at most 2 decimals, at least `min_size`.
pub fn check_size(field: &str, size: Decimal, min_size: Decimal) -> Result<(), PolymarketError> {
    if size <= Decimal::ZERO {
        return Err(PolymarketError::invalid(field, "size must be positive"));
    }
    if size.normalize().scale() > SIZE_DECIMALS {
        return Err(PolymarketError::invalid(
            field,
            "size may have at most 2 decimal places",
        ));
    }
    if size < min_size {
        return Err(PolymarketError::invalid(
            field,
            format!("size {size} is below the market's minimum order size {min_size}"),
        ));
    }
    Ok(())
}

/// Parses a decimal from text, naming the field on failure.
pub fn parse_decimal(field: &str, text: &str) -> Result<Decimal, PolymarketError> {
    Decimal::from_str(text.trim())
        .or_else(|_| Decimal::from_scientific(text.trim()))
        .map_err(|_| PolymarketError::invalid(field, format!("`{text}` is not a decimal number")))
}

/// A decimal argument as the agent wrote it: a JSON string (`"0.55"`, kept
/// exactly as typed) or a JSON number (`0.55`, written back in its shortest
/// exact form). It is parsed later with [`parse_decimal`], so a bad value is
/// refused naming its field. The schema is the same as a `Decimal`'s:
/// string or number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct NumText(pub String);

impl std::ops::Deref for NumText {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for NumText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for NumText {
    fn from(s: &str) -> Self {
        NumText(s.to_string())
    }
}

impl<'de> Deserialize<'de> for NumText {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = NumText;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a decimal number or a string holding one")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<NumText, E> {
                Ok(NumText(v.to_string()))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<NumText, E> {
                Ok(NumText(v.to_string()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<NumText, E> {
                Ok(NumText(v.to_string()))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<NumText, E> {
                if v.is_finite() {
                    // Display gives the shortest text that reads back as
                    // the same f64: 0.19 stays "0.19".
                    Ok(NumText(v.to_string()))
                } else {
                    Err(E::custom("not a finite number"))
                }
            }
        }
        d.deserialize_any(V)
    }
}

impl JsonSchema for NumText {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        <Decimal as JsonSchema>::schema_name()
    }
    fn inline_schema() -> bool {
        true
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        <Decimal as JsonSchema>::json_schema(generator)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn num_text_takes_strings_and_numbers_exactly() {
        let read = |j: &str| serde_json::from_str::<NumText>(j).map(|n| n.0);
        assert_eq!(read(r#""0.190""#).expect("string"), "0.190");
        assert_eq!(read("0.19").expect("float"), "0.19");
        assert_eq!(read("50").expect("int"), "50");
        assert_eq!(read("-3").expect("negative"), "-3");
        assert_eq!(read("1e-7").expect("tiny"), "0.0000001");
        assert!(read("true").is_err());
        assert!(read("null").is_err());
        let p = read("0.1").expect("float");
        assert_eq!(
            parse_decimal("price", &p).expect("decimal").to_string(),
            "0.1"
        );
    }
    use rust_decimal_macros::dec;

    #[test]
    fn tick_checks_range_and_multiple() {
        let t = TickSize::T0_01;
        assert!(t.check_price("price", dec!(0.55)).is_ok());
        assert!(t.check_price("price", dec!(0.555)).is_err());
        assert!(t.check_price("price", dec!(0)).is_err());
        assert!(t.check_price("price", dec!(1)).is_err());
        assert!(t.check_price("price", dec!(0.99)).is_ok());
        assert_eq!(TickSize::parse(".001").ok(), Some(TickSize::T0_001));
        assert!(TickSize::parse("0.05").is_err());
    }

    #[test]
    fn sizes_need_two_decimals_and_the_minimum() {
        assert!(check_size("size", dec!(5.25), dec!(5)).is_ok());
        assert!(check_size("size", dec!(5.255), dec!(5)).is_err());
        assert!(check_size("size", dec!(4.99), dec!(5)).is_err());
        assert!(check_size("size", dec!(-1), dec!(0)).is_err());
        assert!(check_size("size", dec!(10.500), dec!(1)).is_ok());
    }
}
