//! On-chain access: the contract ABI ([`abi`]), a JSON-RPC client per chain
//! with Multicall3 batching ([`rpc`]), vault and wallet reads ([`reads`]) and
//! vault transactions ([`tx`]).

pub mod abi;
pub mod reads;
pub mod rpc;
pub mod tx;

use alloy_primitives::{Address, U256};
use rust_decimal::Decimal;

use crate::error::{DefiError, Result};

/// Parses an address argument, naming `field` when it is not one.
pub fn parse_address(field: &str, text: &str) -> Result<Address> {
    text.trim()
        .parse()
        .map_err(|_| DefiError::invalid(field, "must be a 0x-prefixed 20-byte hex address"))
}

/// `amount` whole tokens as raw units with `decimals` (refuses more
/// precision than the token has, and negatives).
pub fn to_raw(field: &str, amount: Decimal, decimals: u32) -> Result<U256> {
    if amount <= Decimal::ZERO {
        return Err(DefiError::invalid(field, "must be positive"));
    }
    let normal = amount.normalize();
    if normal.scale() > decimals {
        return Err(DefiError::invalid(
            field,
            format!("has more than {decimals} decimal places (the token's precision)"),
        ));
    }
    let digits = normal.mantissa().to_string();
    let zeros = decimals - normal.scale();
    U256::from_str_radix(&format!("{digits}{}", "0".repeat(zeros as usize)), 10)
        .map_err(|_| DefiError::invalid(field, "is too large"))
}

/// Raw units with `decimals` as a decimal number of whole tokens (exact
/// while it fits 28 digits, else the fraction is cut to fit; an integer part
/// beyond `Decimal`'s range, such as an unlimited allowance, saturates at
/// `Decimal::MAX`).
pub fn from_raw(raw: U256, decimals: u32) -> Decimal {
    let text = raw.to_string();
    let d = decimals as usize;
    let (int, frac) = if text.len() > d {
        (
            text[..text.len() - d].to_string(),
            text[text.len() - d..].to_string(),
        )
    } else {
        (
            "0".to_string(),
            format!("{}{}", "0".repeat(d - text.len()), text),
        )
    };
    let mut frac = frac.trim_end_matches('0').to_string();
    // Decimal holds 28 significant digits.
    let room = 28usize.saturating_sub(int.trim_start_matches('0').len());
    frac.truncate(room);
    if int.trim_start_matches('0').len() > 28 {
        return Decimal::MAX;
    }
    let s = if frac.is_empty() {
        int
    } else {
        format!("{int}.{frac}")
    };
    s.parse().unwrap_or(Decimal::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn raw_units_round_trip() {
        assert_eq!(
            to_raw("amount", dec!(1.5), 18).expect("raw"),
            U256::from(1_500_000_000_000_000_000u128)
        );
        assert_eq!(
            to_raw("amount", dec!(25), 6).expect("raw"),
            U256::from(25_000_000u64)
        );
        assert!(to_raw("amount", dec!(0.0000001), 6).is_err());
        assert!(to_raw("amount", dec!(-1), 6).is_err());
        assert_eq!(from_raw(U256::from(1_500_000u64), 6), dec!(1.5));
        assert_eq!(from_raw(U256::from(5u64), 18), dec!(0.000000000000000005));
        assert_eq!(
            from_raw(U256::from(1_061_200_000_000_000_000u128), 18),
            dec!(1.0612)
        );
        assert!(parse_address("wallet", "0x12").is_err());
        // An unlimited allowance saturates instead of reading as zero.
        assert_eq!(from_raw(U256::MAX, 18), Decimal::MAX);
    }
}
