//! Polymarket CLOB L2 authentication: HMAC-SHA256 over
//! `timestamp + method + requestPath + body` keyed with the url-safe
//! base64 API secret, sent with the API key, passphrase and address as the
//! five `POLY_*` headers. L1: the EIP-712 `ClobAuth` signature sent as
//! `POLY_ADDRESS`, `POLY_SIGNATURE`, `POLY_TIMESTAMP`, `POLY_NONCE` to create
//! or derive those credentials.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::{PolymarketError, Result};
use crate::signing::{Wallet, sign_clob_auth};

/// API credentials (from `POLYMARKET_API_KEY`, `_SECRET`, `_PASSPHRASE`).
#[derive(Clone)]
pub struct ApiCreds {
    /// API key (a UUID).
    pub key: String,
    /// Url-safe base64 secret.
    pub secret: String,
    /// Passphrase.
    pub passphrase: String,
}

impl std::fmt::Debug for ApiCreds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiCreds")
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

/// The L2 HMAC signature, url-safe base64, as py-clob-client's
/// `build_hmac_signature` computes it (single quotes in the body become
/// double quotes).
pub fn hmac_signature(
    secret: &str,
    timestamp: u64,
    method: &str,
    request_path: &str,
    body: Option<&str>,
) -> Result<String> {
    let key = URL_SAFE.decode(secret.trim()).map_err(|_| {
        PolymarketError::Config("POLYMARKET_API_SECRET is not url-safe base64".into())
    })?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key)
        .map_err(|_| PolymarketError::Config("bad HMAC key".into()))?;
    mac.update(timestamp.to_string().as_bytes());
    mac.update(method.as_bytes());
    mac.update(request_path.as_bytes());
    if let Some(body) = body.filter(|b| !b.is_empty()) {
        mac.update(body.replace('\'', "\"").as_bytes());
    }
    Ok(URL_SAFE.encode(mac.finalize().into_bytes()))
}

/// The five L2 headers for one request.
pub fn l2_headers(
    creds: &ApiCreds,
    address: &str,
    timestamp: u64,
    method: &str,
    request_path: &str,
    body: Option<&str>,
) -> Result<Vec<(&'static str, String)>> {
    Ok(vec![
        ("POLY_ADDRESS", address.to_string()),
        (
            "POLY_SIGNATURE",
            hmac_signature(&creds.secret, timestamp, method, request_path, body)?,
        ),
        ("POLY_TIMESTAMP", timestamp.to_string()),
        ("POLY_API_KEY", creds.key.clone()),
        ("POLY_PASSPHRASE", creds.passphrase.clone()),
    ])
}

/// The four L1 headers (`POLY_ADDRESS`, `POLY_SIGNATURE`, `POLY_TIMESTAMP`,
/// `POLY_NONCE`) as py-clob-client's `create_level_1_headers` builds them.
// Doc: https://docs.polymarket.com/developers/CLOB/authentication (L1 Header Structure)
pub fn l1_headers(
    wallet: &Wallet,
    chain_id: u64,
    timestamp: u64,
    nonce: u64,
) -> Result<Vec<(&'static str, String)>> {
    Ok(vec![
        ("POLY_ADDRESS", wallet.address().to_checksum(None)),
        (
            "POLY_SIGNATURE",
            sign_clob_auth(wallet, chain_id, timestamp, nonce)?,
        ),
        ("POLY_TIMESTAMP", timestamp.to_string()),
        ("POLY_NONCE", nonce.to_string()),
    ])
}

/// Reads `{"apiKey", "secret", "passphrase"}` (the create/derive answer).
pub fn api_creds_from(v: &serde_json::Value) -> Result<ApiCreds> {
    let field = |k: &str| {
        v.get(k)
            .and_then(serde_json::Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .ok_or_else(|| PolymarketError::Upstream(format!("API key answer has no `{k}`")))
    };
    Ok(ApiCreds {
        key: field("apiKey")?,
        secret: field("secret")?,
        passphrase: field("passphrase")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_changes_the_signature_and_bad_secrets_fail() {
        let secret = URL_SAFE.encode(b"0123456789abcdef");
        let a = hmac_signature(&secret, 1, "GET", "/x", None).expect("a");
        let b = hmac_signature(&secret, 1, "GET", "/x", Some("{}")).expect("b");
        assert_ne!(a, b);
        assert!(hmac_signature("***", 1, "GET", "/x", None).is_err());
        let creds = ApiCreds {
            key: "k".into(),
            secret: secret.clone(),
            passphrase: "p".into(),
        };
        let h = l2_headers(&creds, "0xabc", 5, "DELETE", "/order", Some("{}")).expect("h");
        assert_eq!(h.len(), 5);
        assert!(!format!("{creds:?}").contains(&secret));
    }
}
