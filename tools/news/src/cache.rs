//! The database cache of source answers (`news_cache`, migrations/news):
//! one row per source and query key with the articles as JSON and when
//! they were fetched. A query repeated inside the TTL is answered from the
//! row and touches no source; replicas on one database share the rows.

use nt_mcp_core::Store;
use sqlx::Row;

use crate::article::Article;
use crate::error::Result;

/// The cached articles of `source` for `key` if fetched less than `ttl_ms`
/// before `now_ms`, with their fetch time.
pub async fn get(
    store: &Store,
    source: &str,
    key: &str,
    now_ms: i64,
    ttl_ms: i64,
) -> Result<Option<(Vec<Article>, i64)>> {
    let row =
        sqlx::query("SELECT body, fetched_ms FROM news_cache WHERE source = $1 AND query_key = $2")
            .bind(source)
            .bind(key)
            .fetch_optional(store.pool())
            .await?;
    let Some(row) = row else { return Ok(None) };
    let fetched: i64 = row.try_get("fetched_ms")?;
    if fetched > now_ms || now_ms - fetched >= ttl_ms {
        return Ok(None);
    }
    let body: String = row.try_get("body")?;
    Ok(serde_json::from_str(&body).ok().map(|a| (a, fetched)))
}

/// Stores `articles` as the answer of `source` for `key` at `now_ms`.
pub async fn put(
    store: &Store,
    source: &str,
    key: &str,
    articles: &[Article],
    now_ms: i64,
) -> Result<()> {
    let body = serde_json::to_string(articles).unwrap_or_else(|_| "[]".into());
    put_raw(store, source, key, &body, now_ms).await
}

/// Deletes rows older than `ttl_ms` at `now_ms`; returns how many.
pub async fn prune(store: &Store, now_ms: i64, ttl_ms: i64) -> Result<u64> {
    let r = sqlx::query("DELETE FROM news_cache WHERE fetched_ms < $1")
        .bind(now_ms.saturating_sub(ttl_ms))
        .execute(store.pool())
        .await?;
    Ok(r.rows_affected())
}

/// A cached body of `source` for `key` (any JSON text) while younger than
/// `ttl_ms`.
pub async fn get_raw(
    store: &Store,
    source: &str,
    key: &str,
    now_ms: i64,
    ttl_ms: i64,
) -> Result<Option<String>> {
    let row =
        sqlx::query("SELECT body, fetched_ms FROM news_cache WHERE source = $1 AND query_key = $2")
            .bind(source)
            .bind(key)
            .fetch_optional(store.pool())
            .await?;
    let Some(row) = row else { return Ok(None) };
    let fetched: i64 = row.try_get("fetched_ms")?;
    if fetched > now_ms || now_ms - fetched >= ttl_ms {
        return Ok(None);
    }
    Ok(Some(row.try_get("body")?))
}

/// Stores a body of `source` for `key` at `now_ms`.
pub async fn put_raw(
    store: &Store,
    source: &str,
    key: &str,
    body: &str,
    now_ms: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO news_cache (source, query_key, body, fetched_ms) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (source, query_key) DO UPDATE SET body = excluded.body, fetched_ms = excluded.fetched_ms",
    )
    .bind(source)
    .bind(key)
    .bind(body)
    .bind(now_ms)
    .execute(store.pool())
    .await?;
    Ok(())
}
