//! What wraps every call: the audit log, JWT auth with scopes, sessions
//! bound to their caller, rate limits; and minting tokens for operators.

pub mod audit;
pub mod auth;
pub mod rate_limit;
pub mod session;
pub mod token;
