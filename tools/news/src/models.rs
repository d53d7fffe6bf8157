//! The bundle's optional models and their database cache.
//!
//! [`Models`] holds the configured model directories (embeddings,
//! transformer sentiment) and loads each on first use, once per process.
//! Model outputs are kept in `news_vectors` (migrations/news/0002) keyed by
//! the model and a hash of the text, so an article is run through a model
//! once per database: replicas share the rows and a restart re-embeds
//! nothing. Rows older than [`VECTOR_TTL_MS`] are pruned on insert.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use nt_mcp_core::Store;
use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::classify::TransformerSentiment;
use crate::embed::Embedder;
use crate::error::{NewsError, Result};

/// How long a stored vector is kept (30 days).
pub const VECTOR_TTL_MS: i64 = 30 * 86_400_000;

type Slot<T> = OnceLock<std::result::Result<Arc<T>, String>>;

/// The configured model directories, loaded lazily.
#[derive(Default)]
pub struct Models {
    embed_dir: Option<PathBuf>,
    embed_key: String,
    sentiment_dir: Option<PathBuf>,
    sentiment_key: String,
    embed: Slot<Embedder>,
    sentiment: Slot<TransformerSentiment>,
}

impl std::fmt::Debug for Models {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Models")
            .field("embed_dir", &self.embed_dir)
            .field("sentiment_dir", &self.sentiment_dir)
            .finish()
    }
}

/// A model directory's cache key: its name and weight file size.
fn key(kind: &str, dir: &Path) -> String {
    let size = std::fs::metadata(dir.join("model.safetensors")).map_or(0, |m| m.len());
    format!("{kind}:{}:{size}", crate::bert::dir_name(dir))
}

/// Checks a configured model directory holds a model.
fn check(field: &str, dir: &Path) -> Result<()> {
    for f in ["config.json", "model.safetensors"] {
        if !dir.join(f).is_file() {
            return Err(NewsError::Config(format!(
                "{field} {} has no {f} (scripts/fetch-models.sh fetches all-MiniLM-L6-v2)",
                dir.display()
            )));
        }
    }
    Ok(())
}

impl Models {
    /// Models from directories (checked to hold `config.json` and
    /// `model.safetensors`; loaded on first use).
    pub fn new(embed_dir: Option<PathBuf>, sentiment_dir: Option<PathBuf>) -> Result<Self> {
        if let Some(d) = &embed_dir {
            check("embed_model_dir", d)?;
        }
        if let Some(d) = &sentiment_dir {
            check("sentiment_model_dir", d)?;
        }
        Ok(Self {
            embed_key: embed_dir
                .as_deref()
                .map_or(String::new(), |d| key("embed", d)),
            sentiment_key: sentiment_dir
                .as_deref()
                .map_or(String::new(), |d| key("sentiment", d)),
            embed_dir,
            sentiment_dir,
            ..Self::default()
        })
    }

    /// Whether an embedding model is configured.
    pub fn has_embedder(&self) -> bool {
        self.embed_dir.is_some()
    }

    /// Whether a sentiment classifier is configured.
    pub fn has_sentiment(&self) -> bool {
        self.sentiment_dir.is_some()
    }

    /// The embedding model's name, when configured.
    pub fn embed_name(&self) -> Option<String> {
        self.embed_dir.as_deref().map(crate::bert::dir_name)
    }

    /// The sentiment model's name, when configured.
    pub fn sentiment_name(&self) -> Option<String> {
        self.sentiment_dir.as_deref().map(crate::bert::dir_name)
    }

    /// The embedder, loaded on first call (blocking: reads the weights).
    pub fn embedder(&self) -> Result<Option<Arc<Embedder>>> {
        let Some(dir) = &self.embed_dir else {
            return Ok(None);
        };
        self.embed
            .get_or_init(|| Embedder::load(dir).map(Arc::new).map_err(|e| e.to_string()))
            .clone()
            .map(Some)
            .map_err(NewsError::Model)
    }

    /// The sentiment classifier, loaded on first call (blocking).
    pub fn sentiment(&self) -> Result<Option<Arc<TransformerSentiment>>> {
        let Some(dir) = &self.sentiment_dir else {
            return Ok(None);
        };
        self.sentiment
            .get_or_init(|| {
                TransformerSentiment::load(dir)
                    .map(Arc::new)
                    .map_err(|e| e.to_string())
            })
            .clone()
            .map(Some)
            .map_err(NewsError::Model)
    }

    /// Unit embeddings of `texts` through the database cache; `None` when
    /// no embedding model is configured. Inference runs on a blocking
    /// thread, in batches.
    pub async fn embed(
        self: &Arc<Self>,
        store: &Store,
        texts: &[String],
        now_ms: i64,
    ) -> Result<Option<Vec<Vec<f32>>>> {
        if !self.has_embedder() {
            return Ok(None);
        }
        let me = self.clone();
        let run = move |t: Vec<String>| -> Result<Vec<Vec<f32>>> {
            let Some(e) = me.embedder()? else {
                return Ok(Vec::new());
            };
            let mut out = Vec::with_capacity(t.len());
            for c in t.chunks(crate::embed::MAX_TEXTS) {
                out.extend(e.embed(c)?);
            }
            Ok(out)
        };
        cached(store, &self.embed_key, texts, now_ms, run)
            .await
            .map(Some)
    }

    /// Transformer sentiment probabilities of `texts` through the database
    /// cache, with the classifier; `None` when none is configured.
    pub async fn sentiment_probs(
        self: &Arc<Self>,
        store: &Store,
        texts: &[String],
        now_ms: i64,
    ) -> Result<Option<(Arc<TransformerSentiment>, Vec<Vec<f32>>)>> {
        if !self.has_sentiment() {
            return Ok(None);
        }
        let me = self.clone();
        let model = tokio::task::spawn_blocking(move || me.sentiment())
            .await
            .map_err(|e| NewsError::Model(e.to_string()))??;
        let Some(model) = model else { return Ok(None) };
        let m = model.clone();
        let run = move |t: Vec<String>| m.probabilities(&t);
        let p = cached(store, &self.sentiment_key, texts, now_ms, run).await?;
        Ok(Some((model, p)))
    }
}

/// The cache key of a text.
pub fn text_key(text: &str) -> String {
    hex::encode(&Sha256::digest(text.as_bytes())[..16])
}

fn encode(v: &[f32]) -> String {
    let mut b = Vec::with_capacity(v.len() * 4);
    for x in v {
        b.extend_from_slice(&x.to_le_bytes());
    }
    hex::encode(b)
}

fn decode(s: &str) -> Option<Vec<f32>> {
    let b = hex::decode(s).ok()?;
    b.len().is_multiple_of(4).then(|| {
        b.chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()
    })
}

/// Rows read or written per statement.
const CHUNK: usize = 200;

/// Outputs of `model` for `texts`: stored rows where present, the rest
/// computed by `run` on a blocking thread and stored.
async fn cached<F>(
    store: &Store,
    model: &str,
    texts: &[String],
    now_ms: i64,
    run: F,
) -> Result<Vec<Vec<f32>>>
where
    F: FnOnce(Vec<String>) -> Result<Vec<Vec<f32>>> + Send + 'static,
{
    let keys: Vec<String> = texts.iter().map(|t| text_key(t)).collect();
    let mut have: HashMap<String, Vec<f32>> = HashMap::new();
    for chunk in keys.chunks(CHUNK) {
        let marks: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
        let sql = format!(
            "SELECT text_key, vec FROM news_vectors WHERE model = $1 AND text_key IN ({})",
            marks.join(", ")
        );
        let mut q = sqlx::query(&sql).bind(model);
        for k in chunk {
            q = q.bind(k);
        }
        for row in q.fetch_all(store.pool()).await? {
            let k: String = row.try_get("text_key")?;
            let v: String = row.try_get("vec")?;
            if let Some(v) = decode(&v) {
                have.insert(k, v);
            }
        }
    }
    let mut missing: Vec<usize> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (i, k) in keys.iter().enumerate() {
        if !have.contains_key(k) && seen.insert(k) {
            missing.push(i);
        }
    }
    if !missing.is_empty() {
        let todo: Vec<String> = missing.iter().map(|&i| texts[i].clone()).collect();
        let computed = tokio::task::spawn_blocking(move || run(todo))
            .await
            .map_err(|e| NewsError::Model(e.to_string()))??;
        if computed.len() != missing.len() {
            return Err(NewsError::Model("the model returned too few rows".into()));
        }
        for rows in missing.chunks(CHUNK).zip(computed.chunks(CHUNK)) {
            let mut sql =
                String::from("INSERT INTO news_vectors (model, text_key, vec, created_ms) VALUES ");
            for j in 0..rows.0.len() {
                let b = 4 * j + 1;
                sql.push_str(&format!(
                    "{}(${b}, ${}, ${}, ${})",
                    if j == 0 { "" } else { ", " },
                    b + 1,
                    b + 2,
                    b + 3
                ));
            }
            sql.push_str(" ON CONFLICT (model, text_key) DO NOTHING");
            let mut q = sqlx::query(&sql);
            for (&i, v) in rows.0.iter().zip(rows.1) {
                q = q.bind(model).bind(&keys[i]).bind(encode(v)).bind(now_ms);
            }
            q.execute(store.pool()).await?;
        }
        for (&i, v) in missing.iter().zip(computed) {
            have.insert(keys[i].clone(), v);
        }
        sqlx::query("DELETE FROM news_vectors WHERE created_ms < $1")
            .bind(now_ms.saturating_sub(VECTOR_TTL_MS))
            .execute(store.pool())
            .await?;
    }
    Ok(keys
        .iter()
        .map(|k| have.get(k).cloned().unwrap_or_default())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_round_trip_through_hex() {
        let v = vec![0.0f32, -1.5, 3.25e-7, f32::MAX];
        assert_eq!(decode(&encode(&v)), Some(v));
        assert_eq!(decode("abc"), None);
    }
}
