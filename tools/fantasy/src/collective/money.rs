//! Collective money in whole cents: the ledger scale, the whole-cent check
//! and the largest-remainder split of a payout by stake.

use rust_decimal::Decimal;

use crate::error::{FantasyError, Result};

/// Decimal places the collective ledger keeps: amounts are whole cents.
pub const LEDGER_SCALE: u32 = 2;

/// Refuses (naming `field`) an amount finer than the ledger keeps: every
/// money movement of a collective is whole cents, so a payout always splits
/// into whole-cent shares that add up to what leaves the pool. Trailing
/// zeros are fine (`10.500`).
pub fn whole_cents(field: &str, amount: Decimal) -> Result<()> {
    if amount.normalize().scale() > LEDGER_SCALE {
        return Err(FantasyError::invalid(
            field,
            format!(
                "{amount} is finer than a cent; collective money is kept in whole cents (at most {LEDGER_SCALE} decimal places)"
            ),
        ));
    }
    Ok(())
}

/// The split of a payout by stake (largest remainder, exact to the cent),
/// shared with the betting syndicates through `nt-pool`.
pub use nt_pool::split_by_stake;
