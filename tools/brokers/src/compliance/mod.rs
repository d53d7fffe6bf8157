//! Pre-trade compliance checks, configurable per account: maximum order
//! value (in the account's base currency), price band against the last
//! quote, short sales (a `sell_short`, and a plain `sell` of more than the
//! position held), restricted symbols and wash-trade prevention against the
//! account's own resting orders. Every check reports a named result; a
//! refusal names the rule. Two records ride along with the checks and never
//! refuse: the order's marking (UMIR 6.2) and the market it was decided on
//! (the best-execution record); [`CIRO_COVERAGE`] says which CIRO rules
//! the tools implement and which they do not cover. The emergency kill
//! rule ([`kill_check`], the risk bundle's rule read from the same
//! settings) refuses orders that add risk once the account's losses reach
//! a limit (the paper account; see [`AccountRisk`] for its figures).

mod checks;
mod kill;
mod rules;
#[cfg(test)]
mod tests;

pub use checks::*;
pub use kill::*;
pub use rules::*;
