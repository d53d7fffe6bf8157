//! `nt-venue-http`: the HTTP plumbing every venue client shares (Polymarket,
//! brokers, stats providers). One [`VenueClient`] per outside service paces
//! requests under the venue's rate limit, retries 429, 5xx and transport
//! failures with exponential backoff (honouring `Retry-After`), opens a
//! circuit breaker after repeated failures, and hands back the venue's
//! answer; [`venue_message`] pulls the venue's own words out of an error
//! body. Bundles re-use the [`reqwest`] re-exported here, so the workspace
//! builds one HTTP stack.

pub mod answer;
pub mod client;
pub mod error;
pub mod guard;
pub mod message;
pub mod policy;
pub mod tls;
pub mod transport;

pub use answer::Answer;
pub use client::VenueClient;
pub use error::HttpError;
pub use message::venue_message;
pub use policy::Policy;
pub use reqwest;
pub use tls::{client_builder, install_crypto_provider};
pub use transport::transport_detail;
