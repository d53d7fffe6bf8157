//! A BERT encoder in candle (CPU, f32), with Hugging Face's weight names:
//! embeddings (word + position + token type, LayerNorm), N layers of
//! multi-head self-attention and a GELU feed-forward block, each followed
//! by a residual LayerNorm; and `BertForSequenceClassification`'s head
//! (pooler `tanh(dense([CLS]))`, then a linear classifier).

use std::collections::BTreeMap;
use std::path::Path;

use candle_core::{D, DType, Device, Module, Tensor};
use candle_nn::{Embedding, LayerNorm, Linear, VarBuilder};
use serde::Deserialize;

use crate::error::{NewsError, Result};

pub(crate) fn candle_err(e: candle_core::Error) -> NewsError {
    NewsError::Model(e.to_string())
}

/// The fields of a BERT `config.json` the encoder uses.
#[derive(Debug, Clone, Deserialize)]
pub struct BertConfig {
    /// Vocabulary size.
    pub vocab_size: usize,
    /// Hidden width.
    pub hidden_size: usize,
    /// Encoder layers.
    pub num_hidden_layers: usize,
    /// Attention heads per layer.
    pub num_attention_heads: usize,
    /// Feed-forward width.
    pub intermediate_size: usize,
    /// Longest sequence the position table covers.
    pub max_position_embeddings: usize,
    /// Token types (segments).
    #[serde(default = "two")]
    pub type_vocab_size: usize,
    /// LayerNorm epsilon.
    #[serde(default = "eps")]
    pub layer_norm_eps: f64,
    /// `gelu` (erf) or `gelu_new` / `gelu_pytorch_tanh` (tanh approximation).
    #[serde(default = "gelu")]
    pub hidden_act: String,
    /// Class names by index (classifiers).
    #[serde(default)]
    pub id2label: BTreeMap<String, String>,
    /// Where the weights came from, when recorded.
    #[serde(default, rename = "_name_or_path")]
    pub name_or_path: Option<String>,
}

fn two() -> usize {
    2
}
fn eps() -> f64 {
    1e-12
}
fn gelu() -> String {
    "gelu".into()
}

impl BertConfig {
    /// Reads `config.json` of a model directory.
    pub fn from_dir(dir: &Path) -> Result<Self> {
        let p = dir.join("config.json");
        let t = std::fs::read_to_string(&p)
            .map_err(|e| NewsError::Model(format!("{}: {e}", p.display())))?;
        let c: Self = serde_json::from_str(&t)
            .map_err(|e| NewsError::Model(format!("{}: {e}", p.display())))?;
        if c.num_attention_heads == 0 || !c.hidden_size.is_multiple_of(c.num_attention_heads) {
            return Err(NewsError::Model(
                "hidden_size is not a multiple of num_attention_heads".into(),
            ));
        }
        if !matches!(
            c.hidden_act.as_str(),
            "gelu" | "gelu_new" | "gelu_pytorch_tanh"
        ) {
            return Err(NewsError::Model(format!(
                "hidden_act `{}` is not supported (gelu, gelu_new)",
                c.hidden_act
            )));
        }
        Ok(c)
    }

    /// Labels in index order (`id2label`).
    pub fn labels(&self) -> Vec<String> {
        let mut l: Vec<(usize, &String)> = self
            .id2label
            .iter()
            .filter_map(|(k, v)| k.parse().ok().map(|i| (i, v)))
            .collect();
        l.sort();
        l.into_iter().map(|(_, v)| v.clone()).collect()
    }
}

/// Loads `model.safetensors` of `dir` as f32 tensors on the CPU.
pub fn load_weights(dir: &Path) -> Result<VarBuilder<'static>> {
    let p = dir.join("model.safetensors");
    let map = candle_core::safetensors::load(&p, &Device::Cpu)
        .map_err(|e| NewsError::Model(format!("{}: {e}", p.display())))?;
    let map = map
        .into_iter()
        .map(|(k, t)| t.to_dtype(DType::F32).map(|t| (k, t)))
        .collect::<candle_core::Result<_>>()
        .map_err(candle_err)?;
    Ok(VarBuilder::from_tensors(map, DType::F32, &Device::Cpu))
}

struct Layer {
    q: Linear,
    k: Linear,
    v: Linear,
    att_out: Linear,
    att_ln: LayerNorm,
    inter: Linear,
    out: Linear,
    out_ln: LayerNorm,
}

/// The encoder: token ids to hidden states.
pub struct BertEncoder {
    word: Embedding,
    pos: Embedding,
    types: Embedding,
    ln: LayerNorm,
    layers: Vec<Layer>,
    heads: usize,
    tanh_gelu: bool,
    /// The configuration it was built from.
    pub config: BertConfig,
}

impl std::fmt::Debug for BertEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BertEncoder")
            .field("config", &self.config)
            .finish()
    }
}

impl BertEncoder {
    /// Builds the encoder from weights under `vb` (`embeddings.*`,
    /// `encoder.layer.N.*`).
    pub fn load(vb: VarBuilder, config: &BertConfig) -> Result<Self> {
        let c = config;
        let h = c.hidden_size;
        let ln = |vb: VarBuilder| candle_nn::layer_norm(h, c.layer_norm_eps, vb);
        let e = vb.pp("embeddings");
        let build = || -> candle_core::Result<Self> {
            let mut layers = Vec::with_capacity(c.num_hidden_layers);
            for i in 0..c.num_hidden_layers {
                let l = vb.pp(format!("encoder.layer.{i}"));
                let a = l.pp("attention");
                layers.push(Layer {
                    q: candle_nn::linear(h, h, a.pp("self.query"))?,
                    k: candle_nn::linear(h, h, a.pp("self.key"))?,
                    v: candle_nn::linear(h, h, a.pp("self.value"))?,
                    att_out: candle_nn::linear(h, h, a.pp("output.dense"))?,
                    att_ln: ln(a.pp("output.LayerNorm"))?,
                    inter: candle_nn::linear(h, c.intermediate_size, l.pp("intermediate.dense"))?,
                    out: candle_nn::linear(c.intermediate_size, h, l.pp("output.dense"))?,
                    out_ln: ln(l.pp("output.LayerNorm"))?,
                });
            }
            Ok(Self {
                word: candle_nn::embedding(c.vocab_size, h, e.pp("word_embeddings"))?,
                pos: candle_nn::embedding(
                    c.max_position_embeddings,
                    h,
                    e.pp("position_embeddings"),
                )?,
                types: candle_nn::embedding(c.type_vocab_size, h, e.pp("token_type_embeddings"))?,
                ln: ln(e.pp("LayerNorm"))?,
                layers,
                heads: c.num_attention_heads,
                tanh_gelu: c.hidden_act != "gelu",
                config: c.clone(),
            })
        };
        build().map_err(|e| NewsError::Model(format!("loading the BERT weights: {e}")))
    }

    /// Hidden states `[batch, len, hidden]` of `ids` `[batch, len]` (u32)
    /// with `mask` `[batch, len]` (f32, 1 for tokens, 0 for padding).
    pub fn forward(&self, ids: &Tensor, mask: &Tensor) -> candle_core::Result<Tensor> {
        let (b, n) = ids.dims2()?;
        let dev = ids.device();
        let positions = Tensor::arange(0u32, n as u32, dev)?;
        let x = self
            .word
            .forward(ids)?
            .broadcast_add(&self.pos.forward(&positions)?)?
            .broadcast_add(&self.types.forward(&Tensor::zeros(n, DType::U32, dev)?)?)?;
        let mut x = self.ln.forward(&x)?;
        // 0 where attended, -1e9 on padding: exp() of it is exactly 0.
        let bias = ((mask - 1.0)? * 1e9)?.reshape((b, 1, 1, n))?;
        let h = self.config.hidden_size;
        let d = h / self.heads;
        let scale = 1.0 / (d as f64).sqrt();
        let split = |t: Tensor| {
            t.reshape((b, n, self.heads, d))?
                .transpose(1, 2)?
                .contiguous()
        };
        for l in &self.layers {
            let q = split(l.q.forward(&x)?)?;
            let k = split(l.k.forward(&x)?)?;
            let v = split(l.v.forward(&x)?)?;
            let scores = (q.matmul(&k.t()?.contiguous()?)? * scale)?.broadcast_add(&bias)?;
            let probs = candle_nn::ops::softmax_last_dim(&scores)?;
            let ctx = probs
                .matmul(&v)?
                .transpose(1, 2)?
                .contiguous()?
                .reshape((b, n, h))?;
            x = l.att_ln.forward(&(l.att_out.forward(&ctx)? + &x)?)?;
            let inner = l.inter.forward(&x)?;
            let inner = if self.tanh_gelu {
                inner.gelu()?
            } else {
                inner.gelu_erf()?
            };
            x = l.out_ln.forward(&(l.out.forward(&inner)? + &x)?)?;
        }
        Ok(x)
    }
}

/// Mean of the hidden states over the attended tokens, L2-normalised
/// (sentence-transformers' mean pooling + Normalize): `[batch, hidden]`.
pub fn mean_pool_normalised(hidden: &Tensor, mask: &Tensor) -> candle_core::Result<Tensor> {
    let m = mask.unsqueeze(2)?;
    let sum = hidden.broadcast_mul(&m)?.sum(1)?;
    let count = m.sum(1)?.clamp(1e-9, f64::MAX)?;
    let mean = sum.broadcast_div(&count)?;
    let norm = mean
        .sqr()?
        .sum_keepdim(D::Minus1)?
        .sqrt()?
        .clamp(1e-12, f64::MAX)?;
    mean.broadcast_div(&norm)
}

/// `BertForSequenceClassification`: the encoder (`bert.*`), the pooler and
/// the classifier.
#[derive(Debug)]
pub struct BertClassifier {
    /// The encoder.
    pub encoder: BertEncoder,
    pooler: Linear,
    classifier: Linear,
    /// Class names in logit order.
    pub labels: Vec<String>,
}

impl BertClassifier {
    /// Loads `config.json` + `model.safetensors` of `dir`; the encoder's
    /// weights may carry the `bert.` prefix or none.
    pub fn load(dir: &Path) -> Result<Self> {
        let config = BertConfig::from_dir(dir)?;
        let vb = load_weights(dir)?;
        let base = if vb.contains_tensor("bert.embeddings.word_embeddings.weight") {
            vb.pp("bert")
        } else {
            vb.clone()
        };
        let encoder = BertEncoder::load(base.clone(), &config)?;
        let h = config.hidden_size;
        let n = config.labels().len();
        if n < 2 {
            return Err(NewsError::Model(
                "config.json has no id2label with two or more classes".into(),
            ));
        }
        let pooler = candle_nn::linear(h, h, base.pp("pooler.dense")).map_err(candle_err)?;
        let classifier = candle_nn::linear(h, n, vb.pp("classifier")).map_err(candle_err)?;
        Ok(Self {
            labels: config.labels(),
            encoder,
            pooler,
            classifier,
        })
    }

    /// Logits `[batch, classes]`.
    pub fn forward(&self, ids: &Tensor, mask: &Tensor) -> candle_core::Result<Tensor> {
        let h = self.encoder.forward(ids, mask)?;
        let cls = h.narrow(1, 0, 1)?.squeeze(1)?;
        let pooled = self.pooler.forward(&cls)?.tanh()?;
        self.classifier.forward(&pooled)
    }
}

/// Pads `batch` of id lists to one length: ids `[b, n]` (u32, pad 0) and
/// mask `[b, n]` (f32).
pub fn pad_batch(batch: &[&[u32]]) -> candle_core::Result<(Tensor, Tensor)> {
    let n = batch.iter().map(|s| s.len()).max().unwrap_or(0).max(1);
    let mut ids = Vec::with_capacity(batch.len() * n);
    let mut mask = Vec::with_capacity(batch.len() * n);
    for s in batch {
        ids.extend_from_slice(s);
        ids.extend(std::iter::repeat_n(0u32, n - s.len()));
        mask.extend(std::iter::repeat_n(1f32, s.len()));
        mask.extend(std::iter::repeat_n(0f32, n - s.len()));
    }
    let b = batch.len();
    Ok((
        Tensor::from_vec(ids, (b, n), &Device::Cpu)?,
        Tensor::from_vec(mask, (b, n), &Device::Cpu)?,
    ))
}
