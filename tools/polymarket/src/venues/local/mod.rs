//! The embedded local CLOB behind [`super::ClobVenue`].

pub(crate) mod account;
pub(crate) mod markets;
pub(crate) mod orders;
pub(crate) mod strategy;
