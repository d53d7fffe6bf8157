//! The real Polymarket CLOB behind [`super::ClobVenue`].

pub(crate) mod markets;
pub(crate) mod orders;
pub(crate) mod parity;
pub(crate) mod user_stream;
