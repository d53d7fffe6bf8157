//! The Questrade OAuth refresh-token flow: the single-use refresh token
//! rotates, and each new one is written to `broker_oauth_tokens` before the
//! access token is used (under a row lock on PostgreSQL).

use std::time::Duration;

use nt_mcp_core::Store;
use nt_mcp_core::store::Backend;
use serde_json::Value;
use sqlx::Row;

use super::VENUE;
use super::http::QuestradeCore;
use super::types::now_ms;
use crate::error::{BrokersError, Result};

/// Refresh this long before the access token expires.
const EXPIRY_MARGIN_MS: i64 = 60_000;

#[derive(Debug, Clone)]
pub(super) struct Session {
    pub(super) access_token: String,
    pub(super) api_server: String,
    pub(super) expires_ms: i64,
}

/// How long a refused refresh waits for another process's rotation to
/// appear in a shared SQLite file before the refusal stands.
const ROTATION_WAIT: Duration = Duration::from_secs(2);

/// The `broker_oauth_tokens` row of Questrade.
struct StoredToken {
    refresh: String,
    access: Option<String>,
    server: Option<String>,
    pub(super) expires_ms: i64,
}

async fn read_token<'e, E>(exec: E, lock: &str) -> Result<Option<StoredToken>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let row = sqlx::query(&format!(
        "SELECT refresh_token, access_token, api_server, expires_ms FROM broker_oauth_tokens WHERE venue = $1{lock}"
    ))
    .bind(VENUE)
    .fetch_optional(exec)
    .await?;
    row.map(|row| {
        Ok(StoredToken {
            refresh: row.try_get(0)?,
            access: row.try_get(1)?,
            server: row.try_get(2)?,
            expires_ms: row.try_get(3)?,
        })
    })
    .transpose()
}

async fn write_token<'e, E>(exec: E, t: &StoredToken) -> Result<()>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query(
        "INSERT INTO broker_oauth_tokens (venue, refresh_token, access_token, api_server, expires_ms, updated_ms) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (venue) DO UPDATE SET refresh_token = excluded.refresh_token, \
         access_token = excluded.access_token, api_server = excluded.api_server, expires_ms = excluded.expires_ms, \
         updated_ms = excluded.updated_ms",
    )
    .bind(VENUE)
    .bind(&t.refresh)
    .bind(&t.access)
    .bind(&t.server)
    .bind(t.expires_ms)
    .bind(now_ms())
    .execute(exec)
    .await?;
    Ok(())
}

impl QuestradeCore {
    fn store(&self) -> Result<&Store> {
        self.store.get().ok_or_else(|| {
            BrokersError::Config("the Questrade client has no database for its tokens".into())
        })
    }

    /// A usable session: the cached one, the stored one, or a fresh one
    /// from the refresh-token flow. `force` skips cached and stored access
    /// tokens (after a 401).
    pub(super) async fn session(&self, force: bool) -> Result<Session> {
        let mut guard = self.session.lock().await;
        if !force
            && let Some(sess) = guard.as_ref()
            && sess.expires_ms - EXPIRY_MARGIN_MS > now_ms()
        {
            return Ok(sess.clone());
        }
        let sess = self.refresh(force).await?;
        *guard = Some(sess.clone());
        Ok(sess)
    }

    /// The stored access token as a session when it is still good (and
    /// `force` does not skip it).
    fn usable(&self, row: &StoredToken, force: bool) -> Option<Session> {
        if force || row.expires_ms - EXPIRY_MARGIN_MS <= now_ms() {
            return None;
        }
        let (Some(access), Some(server)) = (&row.access, &row.server) else {
            return None;
        };
        Some(Session {
            access_token: access.clone(),
            api_server: self.cfg.api_url.clone().unwrap_or_else(|| server.clone()),
            expires_ms: row.expires_ms,
        })
    }

    /// The refresh tokens to try: the stored one, then the configured one
    /// (a user who pasted a new token from the API Centre).
    fn candidates(&self, row: Option<&StoredToken>) -> Vec<String> {
        let mut out: Vec<String> = row.map(|r| r.refresh.clone()).into_iter().collect();
        if !out.contains(&self.cfg.refresh_token) {
            out.push(self.cfg.refresh_token.clone());
        }
        out
    }

    /// Reads the stored token row, locking it on PostgreSQL (`FOR UPDATE`
    /// inside the caller's transaction) so other processes wait for the
    /// rotation instead of spending the same single-use token.
    /// On SQLite, where the whole process shares one connection, the
    /// connection is never held across the HTTP exchange: the row is read,
    /// the token exchanged, and the rotated one written straight after, before
    /// the access token is used. Another process sharing the file that
    /// spent the same token first is caught by the refusal: the stored row
    /// is read again for a short while for its rotation.
    // https://www.questrade.com/api/documentation/authorization
    async fn refresh(&self, force: bool) -> Result<Session> {
        let store = self.store()?;
        if store.backend() == Backend::Postgres {
            let mut tx = store.pool().begin().await?;
            let row = read_token(&mut *tx, " FOR UPDATE").await?;
            if let Some(sess) = row.as_ref().and_then(|r| self.usable(r, force)) {
                tx.commit().await?;
                return Ok(sess);
            }
            let fresh = self.exchange(self.candidates(row.as_ref())).await?;
            write_token(&mut *tx, &fresh).await?;
            tx.commit().await?;
            return Ok(self.stored(fresh));
        }
        let row = read_token(store.pool(), "").await?;
        if let Some(sess) = row.as_ref().and_then(|r| self.usable(r, force)) {
            return Ok(sess);
        }
        match self.exchange(self.candidates(row.as_ref())).await {
            Ok(fresh) => {
                write_token(store.pool(), &fresh).await?;
                Ok(self.stored(fresh))
            }
            Err(
                refused @ BrokersError::Upstream {
                    status: Some(400..=499),
                    ..
                },
            ) => {
                let seen = row.map(|r| r.refresh);
                let until = tokio::time::Instant::now() + ROTATION_WAIT;
                loop {
                    if let Some(r) = read_token(store.pool(), "").await?
                        && Some(&r.refresh) != seen.as_ref()
                        && let Some(sess) = self.usable(&r, false)
                    {
                        tracing::info!(
                            venue = VENUE,
                            "another process rotated the refresh token; using its access token"
                        );
                        return Ok(sess);
                    }
                    if tokio::time::Instant::now() >= until {
                        return Err(refused);
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
            Err(e) => Err(e),
        }
    }

    /// Logs the rotation and turns a fresh token answer into a session.
    fn stored(&self, fresh: StoredToken) -> Session {
        tracing::info!(
            venue = VENUE,
            "refreshed the access token; rotated refresh token stored"
        );
        Session {
            access_token: fresh.access.unwrap_or_default(),
            api_server: self
                .cfg
                .api_url
                .clone()
                .unwrap_or_else(|| fresh.server.unwrap_or_default()),
            expires_ms: fresh.expires_ms,
        }
    }

    // GET {login}/oauth2/token?grant_type=refresh_token&refresh_token=...
    // answers access_token, token_type, expires_in (s), refresh_token, api_server.
    /// Trades the first accepted refresh token of `candidates` for a new
    /// pair; nothing is stored here.
    async fn exchange(&self, candidates: Vec<String>) -> Result<StoredToken> {
        let url = format!("{}/oauth2/token", self.cfg.login_url.trim_end_matches('/'));
        let mut last = None;
        for token in candidates {
            let answer = self
                .http
                .send(|c| {
                    c.get(&url).query(&[
                        ("grant_type", "refresh_token"),
                        ("refresh_token", token.as_str()),
                    ])
                })
                .await?;
            if !(200..300).contains(&answer.status) {
                last = Some(BrokersError::upstream(
                    VENUE,
                    Some(answer.status),
                    "the refresh token was refused; generate a new one in the Questrade API Centre and set QUESTRADE_REFRESH_TOKEN",
                ));
                continue;
            }
            let v: Value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
            let (Some(access), Some(server), Some(refresh)) = (
                v["access_token"].as_str(),
                v["api_server"].as_str(),
                v["refresh_token"].as_str(),
            ) else {
                return Err(BrokersError::upstream(
                    VENUE,
                    Some(answer.status),
                    "token answer lacks access_token, api_server or refresh_token",
                ));
            };
            return Ok(StoredToken {
                refresh: refresh.to_string(),
                access: Some(access.to_string()),
                server: Some(server.to_string()),
                expires_ms: now_ms() + v["expires_in"].as_i64().unwrap_or(1800) * 1000,
            });
        }
        Err(last.unwrap_or_else(|| BrokersError::Config("no Questrade refresh token".into())))
    }
}
