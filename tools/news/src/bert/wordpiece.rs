//! BERT's WordPiece tokenizer, as Hugging Face `tokenizers` runs it for a
//! `BertNormalizer` + `BertPreTokenizer` + `WordPiece` + `[CLS] A [SEP]`
//! tokenizer.json (checked against its ids in the tests):
//!
//! 1. clean: drop NUL, U+FFFD and control/format/private/unassigned
//!    characters (tab, CR and LF excepted), turn whitespace into spaces;
//! 2. put spaces around CJK ideographs;
//! 3. strip accents (NFD, drop non-spacing marks) and lowercase, for uncased
//!    models (`strip_accents` defaults to `lowercase`, as in `tokenizers`);
//! 4. split on whitespace and make every punctuation character (ASCII
//!    punctuation or Unicode P*) a word of its own;
//! 5. greedy longest-match WordPiece with `##` continuations; a word over
//!    100 characters, or one with a piece not in the vocabulary, is `[UNK]`;
//! 6. `[CLS]` ids `[SEP]`, truncated to the maximum length.

use std::collections::HashMap;
use std::path::Path;

use unicode_general_category::{GeneralCategory as G, get_general_category};
use unicode_normalization::UnicodeNormalization;

use crate::error::{NewsError, Result};

/// A WordPiece tokenizer over one vocabulary.
#[derive(Debug, Clone)]
pub struct WordPiece {
    vocab: HashMap<String, u32>,
    unk: u32,
    cls: u32,
    sep: u32,
    lowercase: bool,
    strip_accents: bool,
    prefix: String,
    max_chars: usize,
}

fn model_err(m: impl Into<String>) -> NewsError {
    NewsError::Model(m.into())
}

impl WordPiece {
    /// A tokenizer over `vocab` (token -> id) with BERT's special tokens.
    pub fn new(vocab: HashMap<String, u32>, lowercase: bool, strip_accents: bool) -> Result<Self> {
        let id = |t: &str| {
            vocab
                .get(t)
                .copied()
                .ok_or_else(|| model_err(format!("the vocabulary has no {t}")))
        };
        Ok(Self {
            unk: id("[UNK]")?,
            cls: id("[CLS]")?,
            sep: id("[SEP]")?,
            vocab,
            lowercase,
            strip_accents,
            prefix: "##".into(),
            max_chars: 100,
        })
    }

    /// From a `vocab.txt` text (one token a line, the id is the line number).
    pub fn from_vocab_txt(text: &str, lowercase: bool) -> Result<Self> {
        let vocab = text
            .lines()
            .enumerate()
            .map(|(i, t)| (t.trim_end_matches('\r').to_string(), i as u32))
            .collect();
        Self::new(vocab, lowercase, lowercase)
    }

    /// From a Hugging Face `tokenizer.json` of a WordPiece model.
    pub fn from_tokenizer_json(text: &str) -> Result<Self> {
        let v: serde_json::Value =
            serde_json::from_str(text).map_err(|e| model_err(format!("tokenizer.json: {e}")))?;
        let model = &v["model"];
        if model["type"].as_str() != Some("WordPiece") {
            return Err(model_err("tokenizer.json is not a WordPiece tokenizer"));
        }
        let vocab = model["vocab"]
            .as_object()
            .ok_or_else(|| model_err("tokenizer.json has no model.vocab"))?
            .iter()
            .filter_map(|(k, id)| id.as_u64().map(|i| (k.clone(), i as u32)))
            .collect();
        let norm = &v["normalizer"];
        let lowercase = norm["lowercase"].as_bool().unwrap_or(true);
        let strip = norm["strip_accents"].as_bool().unwrap_or(lowercase);
        let mut t = Self::new(vocab, lowercase, strip)?;
        if let Some(p) = model["continuing_subword_prefix"].as_str() {
            t.prefix = p.to_string();
        }
        if let Some(m) = model["max_input_chars_per_word"].as_u64() {
            t.max_chars = m as usize;
        }
        if let Some(u) = model["unk_token"].as_str() {
            t.unk = t.token_id(u).unwrap_or(t.unk);
        }
        Ok(t)
    }

    /// From a model directory: `tokenizer.json` when present, else
    /// `vocab.txt` with `do_lower_case` from `tokenizer_config.json`
    /// (default true).
    pub fn from_dir(dir: &Path) -> Result<Self> {
        let read = |f: &str| std::fs::read_to_string(dir.join(f));
        if let Ok(t) = read("tokenizer.json") {
            return Self::from_tokenizer_json(&t);
        }
        let vocab = read("vocab.txt").map_err(|e| {
            model_err(format!(
                "{}: neither tokenizer.json nor vocab.txt ({e})",
                dir.display()
            ))
        })?;
        let lower = read("tokenizer_config.json")
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .and_then(|v| v["do_lower_case"].as_bool())
            .unwrap_or(true);
        Self::from_vocab_txt(&vocab, lower)
    }

    /// The id of a token.
    pub fn token_id(&self, token: &str) -> Option<u32> {
        self.vocab.get(token).copied()
    }

    /// The vocabulary size.
    pub fn vocab_size(&self) -> usize {
        self.vocab.len()
    }

    /// Steps 1-3: the normalised text.
    pub fn normalize(&self, text: &str) -> String {
        let mut s = String::with_capacity(text.len());
        for c in text.chars() {
            if c == '\0' || c == '\u{fffd}' || is_other(c) {
                continue;
            }
            if is_whitespace(c) {
                s.push(' ');
            } else if is_cjk(c) {
                s.push(' ');
                s.push(c);
                s.push(' ');
            } else {
                s.push(c);
            }
        }
        if self.strip_accents {
            s = s
                .nfd()
                .filter(|c| get_general_category(*c) != G::NonspacingMark)
                .collect();
        }
        if self.lowercase {
            s = s.chars().flat_map(char::to_lowercase).collect();
        }
        s
    }

    /// Token ids of `text`: `[CLS]` pieces `[SEP]`, at most `max_len`
    /// ids (at least 2). Stops reading once full.
    pub fn encode(&self, text: &str, max_len: usize) -> Vec<u32> {
        let room = max_len.max(2) - 2;
        let mut ids = Vec::with_capacity(room.min(512) + 2);
        ids.push(self.cls);
        let norm = self.normalize(text);
        'words: for chunk in norm.split(is_whitespace) {
            let mut start = 0;
            for (i, c) in chunk.char_indices() {
                if is_punct(c) {
                    for w in [&chunk[start..i], &chunk[i..i + c.len_utf8()]] {
                        if !w.is_empty() && !self.word(w, &mut ids, room + 1) {
                            break 'words;
                        }
                    }
                    start = i + c.len_utf8();
                }
            }
            if start < chunk.len() && !self.word(&chunk[start..], &mut ids, room + 1) {
                break;
            }
        }
        ids.truncate(room + 1);
        ids.push(self.sep);
        ids
    }

    /// WordPiece of one word onto `ids`; false when `ids` is full (`cap`).
    fn word(&self, w: &str, ids: &mut Vec<u32>, cap: usize) -> bool {
        if ids.len() >= cap {
            return false;
        }
        if w.chars().count() > self.max_chars {
            ids.push(self.unk);
            return ids.len() < cap;
        }
        let mark = ids.len();
        let mut start = 0;
        let mut piece = String::new();
        while start < w.len() {
            let mut end = w.len();
            let mut found = None;
            while end > start {
                piece.clear();
                if start > 0 {
                    piece.push_str(&self.prefix);
                }
                piece.push_str(&w[start..end]);
                if let Some(id) = self.vocab.get(&piece) {
                    found = Some(*id);
                    break;
                }
                end = w[..end]
                    .char_indices()
                    .next_back()
                    .map_or(start, |(i, _)| i);
            }
            match found {
                Some(id) => ids.push(id),
                None => {
                    ids.truncate(mark);
                    ids.push(self.unk);
                    break;
                }
            }
            start = end;
        }
        ids.len() < cap
    }
}

/// Whitespace as `tokenizers`' BERT normaliser sees it.
fn is_whitespace(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r') || c.is_whitespace()
}

/// Control, format, private-use, surrogate or unassigned (tab, LF and CR
/// count as whitespace instead).
fn is_other(c: char) -> bool {
    if matches!(c, '\t' | '\n' | '\r') {
        return false;
    }
    matches!(
        get_general_category(c),
        G::Control | G::Format | G::PrivateUse | G::Surrogate | G::Unassigned
    )
}

/// ASCII punctuation (including `$`, `+`, `^` ...) or Unicode P*.
fn is_punct(c: char) -> bool {
    c.is_ascii_punctuation()
        || matches!(
            get_general_category(c),
            G::ConnectorPunctuation
                | G::DashPunctuation
                | G::OpenPunctuation
                | G::ClosePunctuation
                | G::InitialPunctuation
                | G::FinalPunctuation
                | G::OtherPunctuation
        )
}

/// The CJK ideograph blocks BERT splits character by character.
fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x4E00..=0x9FFF
        | 0x3400..=0x4DBF
        | 0x20000..=0x2A6DF
        | 0x2A700..=0x2B73F
        | 0x2B740..=0x2B81F
        | 0x2B920..=0x2CEAF
        | 0xF900..=0xFAFF
        | 0x2F800..=0x2FA1F)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> WordPiece {
        let v = "[PAD]\n[UNK]\n[CLS]\n[SEP]\nun\n##aff\n##able\naff\n,\n!\ncafe\n腾\n";
        WordPiece::from_vocab_txt(v, true).expect("vocab")
    }

    #[test]
    fn greedy_longest_match_punctuation_accents_cjk_and_truncation() {
        let t = tiny();
        // un ##aff ##able , cafe ! [UNK](讯 not in vocab) 腾
        assert_eq!(
            t.encode("Unaffable,CAFÉ! 讯腾", 64),
            vec![2, 4, 5, 6, 8, 10, 9, 1, 11, 3]
        );
        // A word with an unknown piece is one [UNK].
        assert_eq!(t.encode("unaffz", 64), vec![2, 1, 3]);
        // Truncation keeps [CLS] ... [SEP] within max_len.
        assert_eq!(t.encode("aff aff aff aff", 4), vec![2, 7, 7, 3]);
        assert_eq!(t.encode("", 8), vec![2, 3]);
        // Over 100 characters: [UNK]; control characters vanish.
        let long = "a".repeat(101);
        assert_eq!(t.encode(&format!("{long}\u{0}\u{200b}"), 8), vec![2, 1, 3]);
    }
}
