//! Bearer JWT auth for the HTTP transport. Tokens carry scopes (`scope`
//! space-separated, or a `scopes` array); tools declare the scope they need.
//! Only the algorithms the manifest lists are accepted, each with a key of
//! its own family, so `none` and algorithm-confusion tokens are refused.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use crate::bundle::{Caller, Scope};
use crate::clock::Clock;
use crate::error::CoreError;
use crate::manifest::{AuthMode, AuthSection};
use crate::middleware::audit::{AuditLog, OwnedAuditEntry};
use crate::middleware::session::{SESSION_HEADER, SessionCheck, SessionOwners};

/// Why a token was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuthError {
    /// No `Authorization: Bearer` header.
    #[error("missing bearer token")]
    Missing,
    /// The token's algorithm is not one this server accepts.
    #[error("token algorithm not accepted")]
    Algorithm,
    /// Signature, expiry, issuer or audience check failed.
    #[error("invalid token: {0}")]
    Invalid(String),
}

/// Clock skew tolerated on `exp` and `nbf`, in seconds: a token is accepted
/// up to this long after it expired and this long before its `nbf`.
pub const LEEWAY_SECS: u64 = 5;

/// Verifies bearer tokens against the configured keys.
#[derive(Clone)]
pub struct JwtVerifier {
    keys: Arc<Vec<(Algorithm, DecodingKey)>>,
    issuer: Option<String>,
    audience: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Claims {
    sub: Option<String>,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    scopes: Option<Vec<String>>,
}

/// The algorithm named `name` (HS256 ... ES384), or a configuration error.
pub fn parse_algorithm(name: &str) -> Result<Algorithm, CoreError> {
    let alg = match name.to_ascii_uppercase().as_str() {
        "HS256" => Algorithm::HS256,
        "HS384" => Algorithm::HS384,
        "HS512" => Algorithm::HS512,
        "RS256" => Algorithm::RS256,
        "RS384" => Algorithm::RS384,
        "RS512" => Algorithm::RS512,
        "ES256" => Algorithm::ES256,
        "ES384" => Algorithm::ES384,
        other => {
            return Err(CoreError::Config(format!(
                "auth.algorithms: `{other}` is not supported (use HS256/384/512, RS256/384/512, ES256/384)"
            )));
        }
    };
    Ok(alg)
}

impl JwtVerifier {
    /// Builds the verifier the manifest asks for; `None` when auth is off.
    /// The HMAC secret comes from the environment variable the manifest names
    /// (default `NT_JWT_SECRET`), the public key from a PEM file
    /// (`NT_JWT_PUBLIC_KEY_FILE` overrides the manifest).
    pub fn from_manifest(auth: &AuthSection) -> Result<Option<Self>, CoreError> {
        if auth.mode == AuthMode::None {
            return Ok(None);
        }
        let names = if auth.algorithms.is_empty() {
            vec!["HS256".to_string()]
        } else {
            auth.algorithms.clone()
        };
        let mut keys = Vec::new();
        for name in &names {
            let alg = parse_algorithm(name)?;
            let key = match alg {
                Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => {
                    let var = auth.secret_env.as_deref().unwrap_or("NT_JWT_SECRET");
                    let secret = std::env::var(var).map_err(|_| {
                        CoreError::Config(format!("auth: {name} needs the secret in ${var}"))
                    })?;
                    if secret.len() < 32 {
                        return Err(CoreError::Config(format!(
                            "auth: the secret in ${var} must be at least 32 bytes"
                        )));
                    }
                    DecodingKey::from_secret(secret.as_bytes())
                }
                _ => {
                    let path = std::env::var("NT_JWT_PUBLIC_KEY_FILE")
                        .ok()
                        .or_else(|| auth.public_key_file.clone())
                        .ok_or_else(|| {
                            CoreError::Config(format!(
                                "auth: {name} needs auth.public_key_file or $NT_JWT_PUBLIC_KEY_FILE"
                            ))
                        })?;
                    let pem = std::fs::read(&path).map_err(|err| {
                        CoreError::Config(format!("auth: cannot read public key {path}: {err}"))
                    })?;
                    let key = if matches!(alg, Algorithm::ES256 | Algorithm::ES384) {
                        DecodingKey::from_ec_pem(&pem)
                    } else {
                        DecodingKey::from_rsa_pem(&pem)
                    };
                    key.map_err(|err| {
                        CoreError::Config(format!("auth: public key {path} for {name}: {err}"))
                    })?
                }
            };
            keys.push((alg, key));
        }
        Ok(Some(Self {
            keys: Arc::new(keys),
            issuer: auth.issuer.clone(),
            audience: auth.audience.clone(),
        }))
    }

    /// Checks a token and returns the caller it names.
    pub fn verify(&self, token: &str) -> Result<Caller, AuthError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| AuthError::Algorithm)?;
        let (alg, key) = self
            .keys
            .iter()
            .find(|(alg, _)| *alg == header.alg)
            .ok_or(AuthError::Algorithm)?;
        let mut validation = Validation::new(*alg);
        validation.leeway = LEEWAY_SECS;
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp"]);
        match &self.issuer {
            Some(iss) => validation.set_issuer(&[iss]),
            None => validation.iss = None,
        }
        match &self.audience {
            Some(aud) => validation.set_audience(&[aud]),
            None => validation.validate_aud = false,
        }
        let data = jsonwebtoken::decode::<Claims>(token, key, &validation)
            .map_err(|err| AuthError::Invalid(err.to_string()))?;
        let claims = data.claims;
        let mut names: Vec<String> = claims
            .scope
            .map(|s| s.split_whitespace().map(str::to_string).collect())
            .unwrap_or_default();
        names.extend(claims.scopes.unwrap_or_default());
        let mut scopes: Vec<Scope> = names
            .iter()
            .filter_map(|s| match s.as_str() {
                "read" => Some(Scope::Read),
                "trade" => Some(Scope::Trade),
                "admin" => Some(Scope::Admin),
                _ => None,
            })
            .collect();
        scopes.sort();
        scopes.dedup();
        Ok(Caller {
            id: claims.sub.unwrap_or_else(|| "jwt".into()),
            scopes,
        })
    }
}

/// What the auth middleware needs: the verifier (none when auth is off),
/// the owners of live sessions, and the audit log for refused hijacks.
#[derive(Clone)]
pub struct AuthState {
    /// Token verifier; `None` serves loopback without auth.
    pub verifier: Option<JwtVerifier>,
    /// Which caller created each session.
    pub sessions: Arc<SessionOwners>,
    /// Where a refused session hijack is recorded.
    pub audit: AuditLog,
    /// The variant, for audit rows.
    pub variant: Arc<str>,
    /// Time source, for audit rows.
    pub clock: Arc<dyn Clock>,
}

/// Axum middleware: with a verifier, every request needs a valid bearer token
/// (else 401); the caller is put in the request's extensions for the tools,
/// and a session id may only be used by the subject that created it (else
/// 404 and an audit row). Without a verifier, the caller is `http` with every
/// scope (loopback use).
pub async fn require_bearer(
    State(state): State<AuthState>,
    mut request: Request,
    next: Next,
) -> Response {
    let verifier = &state.verifier;
    let caller = match verifier {
        None => Caller {
            id: "http".into(),
            ..Caller::local()
        },
        Some(verifier) => {
            let token = request
                .headers()
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| {
                    v.strip_prefix("Bearer ")
                        .or_else(|| v.strip_prefix("bearer "))
                })
                .map(str::trim);
            let result = match token {
                None => Err(AuthError::Missing),
                Some(token) => verifier.verify(token),
            };
            match result {
                Ok(caller) => caller,
                Err(err) => return unauthorized(&err),
            }
        }
    };
    if verifier.is_none() {
        request.extensions_mut().insert(caller);
        return next.run(request).await;
    }
    let session = request
        .headers()
        .get(SESSION_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    if let Some(id) = &session
        && let SessionCheck::OwnedBy(owner) = state.sessions.check(id, &caller.id)
    {
        tracing::warn!(caller = %caller.id, "refused a request for another caller's session");
        let detail = serde_json::json!({ "session_owner": owner }).to_string();
        let entry = OwnedAuditEntry {
            at_ms: state.clock.now_ms(),
            variant: state.variant.to_string(),
            tool: "http.session".into(),
            caller: caller.id.clone(),
            args_digest: crate::middleware::audit::args_digest(
                &serde_json::json!({ "session": id }),
            ),
            outcome: "refused:session_owner".into(),
            detail: Some(detail),
        };
        if let Err(err) = state.audit.record(entry).await {
            tracing::error!(error = %err, "could not audit a refused session");
        }
        return (
            StatusCode::NOT_FOUND,
            axum::Json(serde_json::json!({
                "error": "session not found",
                "reason": "this session was created by another caller"
            })),
        )
            .into_response();
    }
    let is_delete = request.method() == axum::http::Method::DELETE;
    let owner = caller.id.clone();
    request.extensions_mut().insert(caller);
    let response = next.run(request).await;
    match (&session, response.headers().get(SESSION_HEADER)) {
        (None, Some(created)) => {
            if let Ok(id) = created.to_str() {
                state.sessions.bind(id, &owner);
            }
        }
        (Some(id), _) if is_delete && response.status().is_success() => {
            state.sessions.forget(id);
        }
        _ => {}
    }
    response
}

fn unauthorized(err: &AuthError) -> Response {
    tracing::info!(reason = %err, "refused HTTP request");
    let challenge = match err {
        AuthError::Missing => "Bearer".to_string(),
        _ => "Bearer error=\"invalid_token\"".to_string(),
    };
    let mut response = (
        StatusCode::UNAUTHORIZED,
        axum::Json(serde_json::json!({ "error": "unauthorized", "reason": err.to_string() })),
    )
        .into_response();
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{EncodingKey, Header};

    const SECRET: &str = "0123456789abcdef0123456789abcdef-test";

    fn verifier() -> JwtVerifier {
        JwtVerifier {
            keys: Arc::new(vec![(
                Algorithm::HS256,
                DecodingKey::from_secret(SECRET.as_bytes()),
            )]),
            issuer: None,
            audience: None,
        }
    }

    fn token(alg: Algorithm, exp_offset: i64, scope: &str) -> String {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("time")
            .as_secs() as i64;
        let claims = serde_json::json!({"sub": "agent-7", "exp": now + exp_offset, "scope": scope});
        jsonwebtoken::encode(
            &Header::new(alg),
            &claims,
            &EncodingKey::from_secret(SECRET.as_bytes()),
        )
        .expect("encode")
    }

    #[test]
    fn accepts_a_good_token_and_reads_scopes() {
        let caller = verifier()
            .verify(&token(Algorithm::HS256, 600, "read trade bogus"))
            .expect("valid");
        assert_eq!(caller.id, "agent-7");
        assert_eq!(caller.scopes, vec![Scope::Read, Scope::Trade]);
    }

    #[test]
    fn refuses_expired_wrong_alg_none_and_garbage() {
        let v = verifier();
        assert!(matches!(
            v.verify(&token(Algorithm::HS256, -600, "read")),
            Err(AuthError::Invalid(_))
        ));
        assert_eq!(
            v.verify(&token(Algorithm::HS512, 600, "read")).err(),
            Some(AuthError::Algorithm)
        );
        // alg "none": header {"alg":"none","typ":"JWT"}, no signature.
        let none = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJ4IiwiZXhwIjo0MTAyNDQ0ODAwfQ.";
        assert_eq!(v.verify(none).err(), Some(AuthError::Algorithm));
        assert!(v.verify("not.a.token").is_err());
        // A token signed with another secret.
        let other = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &serde_json::json!({"sub": "x", "exp": 4102444800u64}),
            &EncodingKey::from_secret(b"another-secret-another-secret-xx"),
        )
        .expect("encode");
        assert!(matches!(v.verify(&other), Err(AuthError::Invalid(_))));
    }
}
