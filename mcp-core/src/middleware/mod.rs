//! What wraps every call: the audit log, JWT auth with scopes, rate limits.

pub mod audit;
pub mod auth;
pub mod rate_limit;
