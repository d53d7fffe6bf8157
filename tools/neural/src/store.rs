//! The model store: trained models versioned by name in `neural_models`
//! (architecture, hyper-parameters, data digest, metrics, safetensors
//! weights), saved with an audit row, loaded by name and version (default
//! the latest), listed and deleted.

use candle_core::Device;
use nt_mcp_core::{Migration, Store, ToolCtx};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::data::Scaler;
use crate::device::Precision;
use crate::error::{NeuralError, Result};
use crate::models::{Architecture, Hyper, Model};
use crate::params::Params;
use crate::train::{EpochLoss, Trained};

/// The bundle's migrations.
pub fn migrations() -> Vec<Migration> {
    vec![Migration::portable(
        "neural/0001_neural",
        include_str!("../../../migrations/neural/0001_neural.sql"),
    )]
}

/// Where a model's training data came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DataInfo {
    /// SHA-256 of the series ([`crate::data::digest`]).
    pub digest: String,
    /// `values`, `csv`, `csv:<path>`, `synthetic(...)`.
    pub source: String,
    /// Points in the series.
    pub points: usize,
}

/// A stored model version as listed (everything but the weights).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelRecord {
    /// Model name.
    pub name: String,
    /// Version, from 1 per name.
    pub version: i64,
    /// `nbeats`, `nhits`, `gru`, `momentum`.
    pub architecture: String,
    /// Hyper-parameters.
    pub hyper: Value,
    /// Precision it was trained in.
    pub precision: String,
    /// Device it was trained on.
    pub device: String,
    /// The training data.
    pub data: DataInfo,
    /// Holdout scores.
    pub metrics: Value,
    /// First and last epoch's losses.
    pub loss: Value,
    /// Scalar weights.
    pub params: i64,
    /// Size of the safetensors bytes.
    pub weights_bytes: usize,
    /// SHA-256 of the safetensors bytes.
    pub weights_sha256: String,
    /// Saved, ms since the epoch.
    pub created_ms: i64,
    /// Caller who trained it.
    pub created_by: String,
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.kind() == sqlx::error::ErrorKind::UniqueViolation)
}

fn json_text(v: &impl Serialize) -> Result<String> {
    serde_json::to_string(v).map_err(|e| NeuralError::Corrupt(e.to_string()))
}

/// `xs` as hex of their little-endian bytes (bit-exact, unlike decimal JSON).
fn f64s_hex(xs: &[f64]) -> String {
    hex::encode(xs.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>())
}

/// Undoes [`f64s_hex`].
fn hex_f64s(text: &str, col: &str) -> Result<Vec<f64>> {
    let bytes = hex::decode(text).map_err(|e| NeuralError::Corrupt(format!("{col}: {e}")))?;
    if bytes.len() % 8 != 0 {
        return Err(NeuralError::Corrupt(format!("{col}: not whole f64 values")));
    }
    Ok(bytes
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
        .collect())
}

fn scaler_text(s: &Scaler) -> Result<String> {
    json_text(&serde_json::json!({"mean": f64s_hex(&s.mean), "std": f64s_hex(&s.std)}))
}

fn loss_summary(h: &[EpochLoss]) -> Value {
    serde_json::json!({"epochs": h.len(), "first": h.first(), "last": h.last()})
}

/// Saves `tr` as the next version of `name` (with an audit row in the same
/// transaction); returns the record.
pub async fn save(
    ctx: &ToolCtx,
    name: &str,
    tr: &Trained,
    device: &str,
    data: &DataInfo,
) -> Result<ModelRecord> {
    let weights = tr.model.params.to_safetensors()?;
    let wsha = sha256_hex(&weights);
    let whex = hex::encode(&weights);
    let now = ctx.clock.now_ms();
    for _attempt in 0..5 {
        let mut tx = ctx.store.pool().begin().await?;
        let max: Option<i64> =
            sqlx::query_scalar("SELECT MAX(version) FROM neural_models WHERE name = $1")
                .bind(name)
                .fetch_one(&mut *tx)
                .await?;
        let version = max.unwrap_or(0) + 1;
        let rec = ModelRecord {
            name: name.to_string(),
            version,
            architecture: tr.model.arch.as_str().to_string(),
            hyper: serde_json::to_value(&tr.model.hyper)
                .map_err(|e| NeuralError::Corrupt(e.to_string()))?,
            precision: tr.precision.as_str().into(),
            device: device.to_string(),
            data: data.clone(),
            metrics: tr.metrics.clone(),
            loss: loss_summary(&tr.history),
            params: tr.model.params.count() as i64,
            weights_bytes: weights.len(),
            weights_sha256: wsha.clone(),
            created_ms: now,
            created_by: ctx.caller.id.clone(),
        };
        let inserted = sqlx::query(
            "INSERT INTO neural_models (id, name, version, architecture, hyper, precision, device, input_width, scaler, residuals, context, data_digest, data_source, data_points, metrics, history, params, weights, weights_sha256, created_ms, created_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)",
        )
        .bind(format!("nm_{}", uuid::Uuid::new_v4().simple()))
        .bind(name)
        .bind(version)
        .bind(&rec.architecture)
        .bind(json_text(&tr.model.hyper)?)
        .bind(&rec.precision)
        .bind(device)
        .bind(tr.model.input_width as i64)
        .bind(scaler_text(&tr.scaler)?)
        .bind(json_text(&tr.residuals.iter().map(|r| f64s_hex(r)).collect::<Vec<_>>())?)
        .bind(f64s_hex(&tr.context))
        .bind(&data.digest)
        .bind(&data.source)
        .bind(data.points as i64)
        .bind(json_text(&tr.metrics)?)
        .bind(json_text(&tr.history)?)
        .bind(rec.params)
        .bind(&whex)
        .bind(&wsha)
        .bind(now)
        .bind(&ctx.caller.id)
        .execute(&mut *tx)
        .await;
        match inserted {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => continue,
            Err(e) => return Err(e.into()),
        }
        let detail = serde_json::json!({
            "name": name, "version": version, "architecture": rec.architecture,
            "data_digest": data.digest, "weights_sha256": wsha,
        });
        ctx.audit(&mut *tx, "neural_model_saved", &detail).await?;
        tx.commit().await?;
        return Ok(rec);
    }
    Err(NeuralError::Corrupt(format!(
        "could not allocate a version of `{name}` after 5 tries (concurrent saves)"
    )))
}

const SUMMARY_COLS: &str = "name, version, architecture, hyper, precision, device, data_digest, data_source, data_points, metrics, history, params, weights_sha256, created_ms, created_by, LENGTH(weights) AS weights_len";

fn parse_json<T: serde::de::DeserializeOwned>(row: &AnyRow, col: &str) -> Result<T> {
    let text: String = row.try_get(col)?;
    serde_json::from_str(&text).map_err(|e| NeuralError::Corrupt(format!("{col}: {e}")))
}

fn record(row: &AnyRow) -> Result<ModelRecord> {
    let history: Vec<Value> = parse_json(row, "history")?;
    let weights_len: i64 = row.try_get("weights_len")?;
    Ok(ModelRecord {
        name: row.try_get("name")?,
        version: row.try_get("version")?,
        architecture: row.try_get("architecture")?,
        hyper: parse_json(row, "hyper")?,
        precision: row.try_get("precision")?,
        device: row.try_get("device")?,
        data: DataInfo {
            digest: row.try_get("data_digest")?,
            source: row.try_get("data_source")?,
            points: row.try_get::<i64, _>("data_points")? as usize,
        },
        metrics: parse_json(row, "metrics")?,
        loss: serde_json::json!({"epochs": history.len(), "first": history.first(), "last": history.last()}),
        params: row.try_get("params")?,
        weights_bytes: (weights_len / 2) as usize,
        weights_sha256: row.try_get("weights_sha256")?,
        created_ms: row.try_get("created_ms")?,
        created_by: row.try_get("created_by")?,
    })
}

/// Stored versions, newest first: of `name`, or of every model.
pub async fn list(store: &Store, name: Option<&str>, limit: i64) -> Result<Vec<ModelRecord>> {
    let rows = match name {
        Some(n) => {
            sqlx::query(&format!(
                "SELECT {SUMMARY_COLS} FROM neural_models WHERE name = $1 ORDER BY version DESC LIMIT $2"
            ))
            .bind(n)
            .bind(limit)
            .fetch_all(store.pool())
            .await?
        }
        None => {
            sqlx::query(&format!(
                "SELECT {SUMMARY_COLS} FROM neural_models ORDER BY name, version DESC LIMIT $1"
            ))
            .bind(limit)
            .fetch_all(store.pool())
            .await?
        }
    };
    rows.iter().map(record).collect()
}

/// A model loaded for use, with its record and raw weights bytes.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The listed facts.
    pub record: ModelRecord,
    /// The model, ready to predict.
    pub trained: Trained,
    /// The stored safetensors bytes.
    pub weights: Vec<u8>,
}

/// Loads `name` at `version` (default the latest) onto `device`.
pub async fn load(
    store: &Store,
    name: &str,
    version: Option<i64>,
    device: &Device,
) -> Result<Loaded> {
    let row = match version {
        Some(v) => sqlx::query(&format!(
            "SELECT {SUMMARY_COLS}, input_width, scaler, residuals, context, weights FROM neural_models WHERE name = $1 AND version = $2"
        ))
        .bind(name)
        .bind(v)
        .fetch_optional(store.pool())
        .await?,
        None => sqlx::query(&format!(
            "SELECT {SUMMARY_COLS}, input_width, scaler, residuals, context, weights FROM neural_models WHERE name = $1 ORDER BY version DESC LIMIT 1"
        ))
        .bind(name)
        .fetch_optional(store.pool())
        .await?,
    };
    let row = row.ok_or_else(|| match version {
        Some(v) => NeuralError::NotFound(format!("no model `{name}` version {v}")),
        None => NeuralError::NotFound(format!("no model `{name}`")),
    })?;
    let record = record(&row)?;
    let whex: String = row.try_get("weights")?;
    let weights = hex::decode(&whex).map_err(|e| NeuralError::Corrupt(format!("weights: {e}")))?;
    if sha256_hex(&weights) != record.weights_sha256 {
        return Err(NeuralError::Corrupt(format!(
            "`{name}` v{}: the weights do not match their SHA-256",
            record.version
        )));
    }
    let arch = Architecture::parse(&record.architecture)
        .ok_or_else(|| NeuralError::Corrupt(format!("architecture `{}`", record.architecture)))?;
    let hyper: Hyper = parse_json(&row, "hyper")?;
    let precision = match record.precision.as_str() {
        "bf16" => Precision::Bf16,
        _ => Precision::F32,
    };
    let input_width = row.try_get::<i64, _>("input_width")? as usize;
    // Build the architecture's shapes, then put the stored weights in place,
    // checking that every name and shape matches.
    let fresh = Model::init(arch, &hyper, input_width, device)?;
    let scaler: Value = parse_json(&row, "scaler")?;
    let residuals: Vec<String> = parse_json(&row, "residuals")?;
    let params = Params::from_safetensors(&weights, device)?;
    params.check_like(&fresh.params)?;
    let trained = Trained {
        model: Model { params, ..fresh },
        scaler: Scaler {
            mean: hex_f64s(scaler["mean"].as_str().unwrap_or_default(), "scaler.mean")?,
            std: hex_f64s(scaler["std"].as_str().unwrap_or_default(), "scaler.std")?,
        },
        precision,
        residuals: residuals
            .iter()
            .map(|r| hex_f64s(r, "residuals"))
            .collect::<Result<_>>()?,
        context: hex_f64s(&row.try_get::<String, _>("context")?, "context")?,
        history: Vec::new(),
        metrics: record.metrics.clone(),
    };
    Ok(Loaded {
        record,
        trained,
        weights,
    })
}

/// Deletes `name` at `version`, or every version of it (with an audit row);
/// returns how many rows went.
pub async fn delete(ctx: &ToolCtx, name: &str, version: Option<i64>) -> Result<u64> {
    let mut tx = ctx.store.pool().begin().await?;
    let done = match version {
        Some(v) => {
            sqlx::query("DELETE FROM neural_models WHERE name = $1 AND version = $2")
                .bind(name)
                .bind(v)
                .execute(&mut *tx)
                .await?
        }
        None => {
            sqlx::query("DELETE FROM neural_models WHERE name = $1")
                .bind(name)
                .execute(&mut *tx)
                .await?
        }
    }
    .rows_affected();
    if done == 0 {
        return Err(match version {
            Some(v) => NeuralError::NotFound(format!("no model `{name}` version {v}")),
            None => NeuralError::NotFound(format!("no model `{name}`")),
        });
    }
    ctx.audit(
        &mut *tx,
        "neural_model_deleted",
        &serde_json::json!({"name": name, "version": version, "rows": done}),
    )
    .await?;
    tx.commit().await?;
    Ok(done)
}
