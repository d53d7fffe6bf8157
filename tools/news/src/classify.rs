//! Transformer sentiment: a BERT sequence classifier (Hugging Face
//! `BertForSequenceClassification` weights in `model.safetensors`, labels
//! from `config.json`'s `id2label`, e.g. FinBERT's positive / negative /
//! neutral) scoring a text as P(positive) - P(negative).

use std::path::Path;

use serde::Serialize;

use crate::bert::{BertClassifier, BertConfig, WordPiece, dir_name, max_len, run_batches};
use crate::error::{NewsError, Result};

/// A loaded sentiment classifier.
#[derive(Debug)]
pub struct TransformerSentiment {
    name: String,
    tokenizer: WordPiece,
    model: BertClassifier,
    max_len: usize,
    pos: usize,
    neg: usize,
}

/// One text's transformer sentiment.
#[derive(Debug, Clone, Serialize)]
pub struct Scored {
    /// P(positive) - P(negative), -1 to 1.
    pub score: f64,
    /// `positive` (> 0.05), `negative` (< -0.05) or `neutral`.
    pub label: &'static str,
    /// Class probabilities in the model's label order.
    pub probabilities: Vec<(String, f64)>,
}

impl TransformerSentiment {
    /// Loads a classifier directory (`config.json` with `id2label`,
    /// `model.safetensors`, `tokenizer.json` or `vocab.txt`).
    pub fn load(dir: &Path) -> Result<Self> {
        let model = BertClassifier::load(dir)?;
        let find = |w: &str| {
            model
                .labels
                .iter()
                .position(|l| l.to_ascii_lowercase().starts_with(w))
                .ok_or_else(|| {
                    NewsError::Model(format!("id2label {:?} has no `{w}...` class", model.labels))
                })
        };
        let (pos, neg) = (find("pos")?, find("neg")?);
        let config = BertConfig::from_dir(dir)?;
        Ok(Self {
            name: dir_name(dir),
            tokenizer: WordPiece::from_dir(dir)?,
            max_len: max_len(dir, &config),
            pos,
            neg,
            model,
        })
    }

    /// The model's name (its directory's name).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Class names in logit order.
    pub fn labels(&self) -> &[String] {
        &self.model.labels
    }

    /// Token ids of `text` as the model sees them.
    pub fn tokenize(&self, text: &str) -> Vec<u32> {
        self.tokenizer.encode(text, self.max_len)
    }

    /// Raw logits of each text, batched.
    pub fn logits<S: AsRef<str>>(&self, texts: &[S]) -> Result<Vec<Vec<f32>>> {
        let ids: Vec<Vec<u32>> = texts.iter().map(|t| self.tokenize(t.as_ref())).collect();
        run_batches(&ids, |t, m| self.model.forward(t, m))
    }

    /// Class probabilities (softmax of the logits) of each text.
    pub fn probabilities<S: AsRef<str>>(&self, texts: &[S]) -> Result<Vec<Vec<f32>>> {
        Ok(self.logits(texts)?.iter().map(|l| softmax(l)).collect())
    }

    /// The score and label of one probability row.
    pub fn scored(&self, probs: &[f32]) -> Scored {
        let p = |i: usize| f64::from(probs.get(i).copied().unwrap_or(0.0));
        let score = p(self.pos) - p(self.neg);
        Scored {
            score,
            label: if score > 0.05 {
                "positive"
            } else if score < -0.05 {
                "negative"
            } else {
                "neutral"
            },
            probabilities: self
                .model
                .labels
                .iter()
                .enumerate()
                .map(|(i, l)| (l.clone(), p(i)))
                .collect(),
        }
    }
}

/// Softmax of one row (max-subtracted).
pub fn softmax(l: &[f32]) -> Vec<f32> {
    let m = l.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let e: Vec<f32> = l.iter().map(|x| (x - m).exp()).collect();
    let s: f32 = e.iter().sum();
    e.iter().map(|x| x / s).collect()
}
