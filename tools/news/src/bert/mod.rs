//! BERT in candle for the news bundle: the [`wordpiece`] tokenizer, the
//! [`model`] (encoder, mean pooling, sequence classifier) and batched
//! inference over many texts ([`run_batches`]).

pub mod model;
pub mod wordpiece;

use std::path::Path;

use candle_core::Tensor;

pub use model::{BertClassifier, BertConfig, BertEncoder};
pub use wordpiece::WordPiece;

use crate::error::Result;
use model::{candle_err, pad_batch};

/// Texts per forward pass, at most.
pub const BATCH: usize = 32;

/// Padded tokens per forward pass, at most (a long text goes alone).
pub const BATCH_TOKENS: usize = 2_048;

/// Runs `f` over `ids` in batches of at most [`BATCH`] sequences and
/// [`BATCH_TOKENS`] padded tokens, sorted by length so padding stays short,
/// and returns one output row per input, in input order. `f` maps ids
/// `[b, n]` and mask `[b, n]` to `[b, k]`.
pub fn run_batches(
    ids: &[Vec<u32>],
    f: impl Fn(&Tensor, &Tensor) -> candle_core::Result<Tensor>,
) -> Result<Vec<Vec<f32>>> {
    let mut order: Vec<usize> = (0..ids.len()).collect();
    order.sort_by_key(|&i| ids[i].len());
    let mut out: Vec<Vec<f32>> = vec![Vec::new(); ids.len()];
    let mut chunks: Vec<&[usize]> = Vec::new();
    let mut start = 0;
    for end in 1..=order.len() {
        // Sorted: the newest member is the longest, so the padded size is
        // its length times the count.
        let full = end - start > BATCH || (end - start) * ids[order[end - 1]].len() > BATCH_TOKENS;
        if full && end - 1 > start {
            chunks.push(&order[start..end - 1]);
            start = end - 1;
        }
    }
    if start < order.len() {
        chunks.push(&order[start..]);
    }
    for chunk in chunks {
        let batch: Vec<&[u32]> = chunk.iter().map(|&i| ids[i].as_slice()).collect();
        let (t, m) = pad_batch(&batch).map_err(candle_err)?;
        let rows: Vec<Vec<f32>> = f(&t, &m)
            .and_then(|r| r.to_vec2::<f32>())
            .map_err(candle_err)?;
        for (&i, r) in chunk.iter().zip(rows) {
            out[i] = r;
        }
    }
    Ok(out)
}

/// The longest input of a model directory: sentence-transformers'
/// `max_seq_length` (`sentence_bert_config.json`) or 256, within the
/// position table.
pub fn max_len(dir: &Path, config: &BertConfig) -> usize {
    let st = std::fs::read_to_string(dir.join("sentence_bert_config.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| v["max_seq_length"].as_u64())
        .map_or(256, |m| m as usize);
    st.min(config.max_position_embeddings).max(2)
}

/// A short name for a model directory (its folder name).
pub fn dir_name(dir: &Path) -> String {
    dir.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| dir.display().to_string())
}
