//! TLS set-up. reqwest is built without a bundled crypto provider (the
//! default one compiles aws-lc's C code on every build); rustls needs one
//! installed process-wide before the first client is made, and this is
//! the one place that does it.

use std::sync::Once;

/// Installs rustls' ring provider for the process, once. Harmless when
/// another part of the process installed one first.
pub fn install_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// A reqwest client builder with the crypto provider installed and the
/// project's user agent set.
pub fn client_builder() -> reqwest::ClientBuilder {
    install_crypto_provider();
    reqwest::Client::builder().user_agent(concat!("neural-trader-mcp/", env!("CARGO_PKG_VERSION")))
}
