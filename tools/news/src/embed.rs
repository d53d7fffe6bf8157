//! Sentence embeddings with candle: a BERT encoder from a local model
//! directory (all-MiniLM-L6-v2 by default, fetched by
//! `scripts/fetch-models.sh`), mean pooling over the attention mask and L2
//! normalisation, as sentence-transformers computes them. Checked against
//! reference vectors from an independent numpy forward pass
//! (`fixtures/make_embedding_fixture.py`).

use std::path::Path;

use crate::bert::model::{BertConfig, BertEncoder, load_weights, mean_pool_normalised};
use crate::bert::{WordPiece, dir_name, max_len, run_batches};
use crate::error::Result;

/// At most this many texts per [`Embedder::embed`] call.
pub const MAX_TEXTS: usize = 2_000;

/// A sentence embedder over one model directory.
#[derive(Debug)]
pub struct Embedder {
    name: String,
    tokenizer: WordPiece,
    encoder: BertEncoder,
    max_len: usize,
}

impl Embedder {
    /// Loads `config.json`, `model.safetensors` and `tokenizer.json` (or
    /// `vocab.txt`) from `dir`.
    pub fn load(dir: &Path) -> Result<Self> {
        let config = BertConfig::from_dir(dir)?;
        let encoder = BertEncoder::load(load_weights(dir)?, &config)?;
        Ok(Self {
            name: dir_name(dir),
            tokenizer: WordPiece::from_dir(dir)?,
            max_len: max_len(dir, &config),
            encoder,
        })
    }

    /// The model's name (its directory's name).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Vector length.
    pub fn dim(&self) -> usize {
        self.encoder.config.hidden_size
    }

    /// Longest input in tokens (longer texts are truncated).
    pub fn max_len(&self) -> usize {
        self.max_len
    }

    /// The tokenizer.
    pub fn tokenizer(&self) -> &WordPiece {
        &self.tokenizer
    }

    /// Token ids of `text` as the model sees them.
    pub fn tokenize(&self, text: &str) -> Vec<u32> {
        self.tokenizer.encode(text, self.max_len)
    }

    /// Unit vectors of `texts` (at most [`MAX_TEXTS`]), batched.
    pub fn embed<S: AsRef<str>>(&self, texts: &[S]) -> Result<Vec<Vec<f32>>> {
        if texts.len() > MAX_TEXTS {
            return Err(crate::NewsError::invalid(
                "texts",
                format!("at most {MAX_TEXTS} per call"),
            ));
        }
        let ids: Vec<Vec<u32>> = texts.iter().map(|t| self.tokenize(t.as_ref())).collect();
        self.embed_ids(&ids)
    }

    /// Unit vectors of already tokenized inputs.
    pub fn embed_ids(&self, ids: &[Vec<u32>]) -> Result<Vec<Vec<f32>>> {
        run_batches(ids, |t, m| {
            let h = self.encoder.forward(t, m)?;
            mean_pool_normalised(&h, m)
        })
    }
}

/// Cosine similarity (for unit vectors, the dot product).
pub fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let (mut d, mut na, mut nb) = (0f64, 0f64, 0f64);
    for (x, y) in a.iter().zip(b) {
        let (x, y) = (f64::from(*x), f64::from(*y));
        d += x * y;
        na += x * x;
        nb += y * y;
    }
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        d / (na.sqrt() * nb.sqrt())
    }
}
