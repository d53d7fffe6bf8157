//! An IB Client Portal client for the gateway fakes: fast retries, no
//! background keep-alive, the account from the gateway.

#![allow(dead_code)]

use std::time::Duration;

use nt_brokers::http::HttpPolicy;
use nt_brokers::ibkr::{IbkrClient, IbkrConfig};

/// A client of the gateway at `base` whose WebSocket is `ws_url`.
pub fn client(base: String, ws_url: String, allow_invalid_certs: bool) -> IbkrClient {
    IbkrClient::new(IbkrConfig {
        base_url: base,
        account_id: None,
        allow_invalid_certs,
        ws_url: Some(ws_url),
        policy: HttpPolicy {
            base_backoff: Duration::from_millis(5),
            max_retries: 1,
            ..HttpPolicy::default()
        },
        keepalive: None,
    })
    .expect("client")
}
