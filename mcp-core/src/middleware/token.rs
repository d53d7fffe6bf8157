//! Minting tokens for swarm operators: `neural-trader-mcp token issue --sub
//! NAME --scope "read trade" --ttl 1h` signs a JWT this server's verifier
//! accepts: HS* with the secret from `NT_JWT_SECRET` (or the manifest's
//! `secret_env`), RS*/ES* with a PEM private key file.

use std::time::Duration;

use jsonwebtoken::{EncodingKey, Header};
use serde::Serialize;

use crate::error::CoreError;
use crate::middleware::auth::parse_algorithm;

/// What to put in a token and how to sign it.
#[derive(Debug, Clone)]
pub struct TokenRequest {
    /// The caller's name (`sub`): its jobs, rate limit, sessions and, with
    /// per-caller accounts, its own accounts.
    pub subject: String,
    /// Space-separated scopes: `read`, `trade`, `admin`.
    pub scope: String,
    /// How long it is valid.
    pub ttl: Duration,
    /// Algorithm (HS256/384/512, RS256/384/512, ES256/384).
    pub algorithm: String,
    /// HMAC secret (HS*).
    pub secret: Option<Vec<u8>>,
    /// PEM private key (RS*/ES*).
    pub private_key_pem: Option<Vec<u8>>,
    /// `iss` claim, when the server requires one.
    pub issuer: Option<String>,
    /// `aud` claim, when the server requires one.
    pub audience: Option<String>,
    /// Issue time, seconds since the epoch.
    pub now_secs: u64,
}

#[derive(Serialize)]
struct Claims<'a> {
    sub: &'a str,
    scope: &'a str,
    iat: u64,
    nbf: u64,
    exp: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    iss: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    aud: Option<&'a str>,
}

/// Signs the token `request` describes.
pub fn issue(request: &TokenRequest) -> Result<String, CoreError> {
    if request.subject.trim().is_empty() {
        return Err(CoreError::Config("token: --sub must not be empty".into()));
    }
    for scope in request.scope.split_whitespace() {
        if !matches!(scope, "read" | "trade" | "admin") {
            return Err(CoreError::Config(format!(
                "token: unknown scope `{scope}` (use read, trade, admin)"
            )));
        }
    }
    if request.ttl.is_zero() {
        return Err(CoreError::Config("token: --ttl must be positive".into()));
    }
    let alg = parse_algorithm(&request.algorithm)?;
    let name = request.algorithm.to_ascii_uppercase();
    let key = if name.starts_with("HS") {
        let secret = request.secret.as_deref().ok_or_else(|| {
            CoreError::Config(format!("token: {name} needs the secret (NT_JWT_SECRET)"))
        })?;
        if secret.len() < 32 {
            return Err(CoreError::Config(
                "token: the HMAC secret must be at least 32 bytes".into(),
            ));
        }
        EncodingKey::from_secret(secret)
    } else {
        let pem = request.private_key_pem.as_deref().ok_or_else(|| {
            CoreError::Config(format!(
                "token: {name} needs a private key (--private-key-file or NT_JWT_PRIVATE_KEY_FILE)"
            ))
        })?;
        let key = if name.starts_with("ES") {
            EncodingKey::from_ec_pem(pem)
        } else {
            EncodingKey::from_rsa_pem(pem)
        };
        key.map_err(|e| CoreError::Config(format!("token: private key for {name}: {e}")))?
    };
    let claims = Claims {
        sub: request.subject.trim(),
        scope: request.scope.trim(),
        iat: request.now_secs,
        nbf: request.now_secs,
        exp: request.now_secs + request.ttl.as_secs().max(1),
        iss: request.issuer.as_deref(),
        aud: request.audience.as_deref(),
    };
    jsonwebtoken::encode(&Header::new(alg), &claims, &key)
        .map_err(|e| CoreError::Config(format!("token: signing failed: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::Scope;
    use crate::manifest::{AuthMode, AuthSection};
    use crate::middleware::auth::JwtVerifier;

    fn now() -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("time")
            .as_secs()
    }

    #[test]
    fn an_issued_es256_token_is_accepted_by_the_verifier() {
        let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures");
        let private = std::fs::read(format!("{fixtures}/es256-private-pkcs8.pem")).expect("key");
        let token = issue(&TokenRequest {
            subject: "agent-3".into(),
            scope: "read trade".into(),
            ttl: Duration::from_secs(3600),
            algorithm: "ES256".into(),
            secret: None,
            private_key_pem: Some(private),
            issuer: Some("nt-test".into()),
            audience: None,
            now_secs: now(),
        })
        .expect("issue");
        let verifier = JwtVerifier::from_manifest(&AuthSection {
            mode: AuthMode::Jwt,
            algorithms: vec!["ES256".into()],
            public_key_file: Some(format!("{fixtures}/es256-public.pem")),
            issuer: Some("nt-test".into()),
            ..AuthSection::default()
        })
        .expect("verifier")
        .expect("jwt on");
        let caller = verifier.verify(&token).expect("accepted");
        assert_eq!(caller.id, "agent-3");
        assert_eq!(caller.scopes, vec![Scope::Read, Scope::Trade]);
    }

    #[test]
    fn bad_requests_are_refused_with_the_reason() {
        let base = TokenRequest {
            subject: "a".into(),
            scope: "read".into(),
            ttl: Duration::from_secs(60),
            algorithm: "HS256".into(),
            secret: Some(b"short".to_vec()),
            private_key_pem: None,
            issuer: None,
            audience: None,
            now_secs: now(),
        };
        assert!(issue(&base).unwrap_err().to_string().contains("32 bytes"));
        let bad_scope = TokenRequest {
            scope: "read root".into(),
            ..base.clone()
        };
        assert!(
            issue(&bad_scope)
                .unwrap_err()
                .to_string()
                .contains("`root`")
        );
        let no_key = TokenRequest {
            algorithm: "RS256".into(),
            ..base
        };
        assert!(
            issue(&no_key)
                .unwrap_err()
                .to_string()
                .contains("private key")
        );
    }
}
