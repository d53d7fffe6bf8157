//! Duplicate removal: articles with one canonical URL are one page, and
//! articles whose texts are near-duplicates (word 2-shingles, MinHash
//! signatures, LSH banding to find candidates, then the exact Jaccard
//! similarity of the shingle sets checked against a threshold) tell one
//! story. Union-find joins both kinds into clusters, so a story carried by
//! ten outlets comes out as one [`Story`] listing ten sources.
//!
//! Template-written news (the same sentence about Apple and about
//! Microsoft) shares most shingles, so a text link also needs compatible
//! companies: when both articles name companies (tagged tickers, or
//! tickers and aliases in the headline) and the sets are disjoint, they are
//! different stories whatever their similarity.
//!
//! MinHash and banding follow Leskovec, Rajaraman & Ullman, *Mining of
//! Massive Datasets*, ch. 3 (3.3 and 3.4): with `b` bands of `r` rows a pair
//! of Jaccard similarity `s` becomes a candidate with probability
//! `1 - (1 - s^r)^b`; 32 bands of 4 rows put the knee near 0.42, below the
//! 0.5 verification threshold, so few true pairs are missed. Word pairs
//! rather than triples keep one changed word in a short headline from
//! hiding a copy (recall 0.71 with triples, 0.98 with pairs on the
//! headline set in `tests/quality.rs`, same precision).

use std::collections::HashMap;

use serde::Serialize;

use crate::article::Article;
use crate::symbols::{SymbolTable, words};

/// Dedup settings.
#[derive(Debug, Clone, Copy)]
pub struct DedupConfig {
    /// Words per shingle.
    pub shingle: usize,
    /// LSH bands.
    pub bands: usize,
    /// Rows per band (signature length is `bands * rows`).
    pub rows: usize,
    /// Jaccard similarity at or above which two texts are one story.
    pub threshold: f64,
}

impl Default for DedupConfig {
    fn default() -> Self {
        Self {
            shingle: 2,
            bands: 32,
            rows: 4,
            threshold: 0.5,
        }
    }
}

fn symbol_table() -> &'static SymbolTable {
    static T: std::sync::OnceLock<SymbolTable> = std::sync::OnceLock::new();
    T.get_or_init(SymbolTable::new)
}

/// SplitMix64's finaliser: a fast, well-mixed 64-bit hash of `x`.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// FNV-1a over bytes.
fn fnv(bytes: &[u8], mut h: u64) -> u64 {
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The sorted, distinct hashes of the text's word `k`-shingles (a text
/// shorter than `k` words is one shingle).
pub fn shingles(text: &str, k: usize) -> Vec<u64> {
    let w: Vec<u64> = words(text)
        .iter()
        .map(|w| fnv(w.as_bytes(), 0xcbf2_9ce4_8422_2325))
        .collect();
    let k = k.max(1);
    let mut out: Vec<u64> = if w.len() <= k {
        vec![w.iter().fold(0x811c_9dc5, |h, x| mix(h ^ x))]
    } else {
        w.windows(k)
            .map(|win| win.iter().fold(0x811c_9dc5, |h, x| mix(h ^ x)))
            .collect()
    };
    out.sort_unstable();
    out.dedup();
    out
}

/// Jaccard similarity of two sorted, distinct sets.
pub fn jaccard(a: &[u64], b: &[u64]) -> f64 {
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    let (mut i, mut j, mut inter) = (0, 0, 0usize);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                inter += 1;
                i += 1;
                j += 1;
            }
        }
    }
    inter as f64 / (a.len() + b.len() - inter) as f64
}

/// The MinHash signature of a shingle set: for each of `n` hash functions
/// `h_i(x) = mix(x ^ seed_i)`, the smallest value over the set.
pub fn signature(shingles: &[u64], n: usize) -> Vec<u64> {
    let seeds: Vec<u64> = (0..n as u64)
        .map(|i| mix(i.wrapping_mul(0x2545_F491_4F6C_DD1D) ^ 0x5bd1_e995))
        .collect();
    let mut sig = vec![u64::MAX; n];
    for &x in shingles {
        for (s, seed) in sig.iter_mut().zip(&seeds) {
            let h = mix(x ^ seed);
            if h < *s {
                *s = h;
            }
        }
    }
    sig
}

/// Disjoint sets with path halving and union by size.
struct UnionFind {
    parent: Vec<usize>,
    size: Vec<usize>,
}

impl UnionFind {
    fn new(n: usize) -> Self {
        Self {
            parent: (0..n).collect(),
            size: vec![1; n],
        }
    }
    fn find(&mut self, mut x: usize) -> usize {
        while self.parent[x] != x {
            self.parent[x] = self.parent[self.parent[x]];
            x = self.parent[x];
        }
        x
    }
    fn union(&mut self, a: usize, b: usize) {
        let (a, b) = (self.find(a), self.find(b));
        if a == b {
            return;
        }
        let (big, small) = if self.size[a] >= self.size[b] {
            (a, b)
        } else {
            (b, a)
        };
        self.parent[small] = big;
        self.size[big] += self.size[small];
    }
}

/// Why two articles were joined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Link {
    /// The same canonical URL.
    Url,
    /// Near-duplicate text.
    Text,
}

/// A joined pair: the two indices, why, and the similarity.
pub type Joined = (usize, usize, Link, f64);

/// The clusters of `articles` (indices into it; each cluster oldest first,
/// clusters in order of their first member) and the joined pairs with
/// their reason and similarity.
pub fn cluster(articles: &[Article], cfg: &DedupConfig) -> (Vec<Vec<usize>>, Vec<Joined>) {
    let n = articles.len();
    let mut uf = UnionFind::new(n);
    let mut links = Vec::new();
    let mut by_url: HashMap<&str, usize> = HashMap::new();
    for (i, a) in articles.iter().enumerate() {
        if let Some(&j) = by_url.get(a.url.as_str()) {
            uf.union(i, j);
            links.push((j, i, Link::Url, 1.0));
        } else {
            by_url.insert(&a.url, i);
        }
    }
    let sh: Vec<Vec<u64>> = articles
        .iter()
        .map(|a| shingles(&a.text(), cfg.shingle))
        .collect();
    let symbols = symbol_table();
    let entities: Vec<Vec<&str>> = articles
        .iter()
        .map(|a| {
            let mut e: Vec<&str> = a.tickers.iter().map(String::as_str).collect();
            e.extend(symbols.mentions(&a.title).into_iter().map(|(t, _)| t));
            e.sort_unstable();
            e.dedup();
            e
        })
        .collect();
    let compatible = |i: usize, j: usize| {
        entities[i].is_empty()
            || entities[j].is_empty()
            || entities[i].iter().any(|t| entities[j].contains(t))
    };
    let sigs: Vec<Vec<u64>> = sh
        .iter()
        .map(|s| signature(s, cfg.bands * cfg.rows))
        .collect();
    let mut checked: std::collections::HashSet<(usize, usize)> = std::collections::HashSet::new();
    for band in 0..cfg.bands {
        let mut buckets: HashMap<u64, Vec<usize>> = HashMap::new();
        for (i, sig) in sigs.iter().enumerate() {
            let rows = &sig[band * cfg.rows..(band + 1) * cfg.rows];
            let key = rows.iter().fold(band as u64, |h, x| mix(h ^ x));
            buckets.entry(key).or_default().push(i);
        }
        for members in buckets.values().filter(|m| m.len() > 1) {
            for (x, &i) in members.iter().enumerate() {
                for &j in &members[x + 1..] {
                    if !checked.insert((i, j)) || uf.find(i) == uf.find(j) || !compatible(i, j) {
                        continue;
                    }
                    let s = jaccard(&sh[i], &sh[j]);
                    if s >= cfg.threshold {
                        uf.union(i, j);
                        links.push((i, j, Link::Text, s));
                    }
                }
            }
        }
    }
    let mut groups: HashMap<usize, Vec<usize>> = HashMap::new();
    for i in 0..n {
        let r = uf.find(i);
        groups.entry(r).or_default().push(i);
    }
    let mut out: Vec<Vec<usize>> = groups.into_values().collect();
    for g in &mut out {
        g.sort_by_key(|&i| (articles[i].published_ms, i));
    }
    out.sort_by_key(|g| (articles[g[0]].published_ms, g[0]));
    (out, links)
}

/// One outlet's copy of a story.
#[derive(Debug, Clone, Serialize)]
pub struct Carrier {
    /// Publisher.
    pub outlet: String,
    /// Source that served it.
    pub source: String,
    /// Its canonical URL.
    pub url: String,
    /// When it published, ms.
    pub published_ms: i64,
    /// Its article id.
    pub id: String,
}

/// A deduplicated story: the first report and everyone who carried it.
#[derive(Debug, Clone, Serialize)]
pub struct Story {
    /// The first report.
    pub article: Article,
    /// Every copy, oldest first (the first report included).
    pub carriers: Vec<Carrier>,
    /// Distinct outlets.
    pub outlets: usize,
    /// The union of the copies' tickers.
    pub tickers: Vec<String>,
}

/// Clusters `articles` into stories (see [`cluster`]).
pub fn dedup(articles: Vec<Article>, cfg: &DedupConfig) -> Vec<Story> {
    let (groups, _) = cluster(&articles, cfg);
    groups
        .into_iter()
        .map(|g| {
            let carriers: Vec<Carrier> = g
                .iter()
                .map(|&i| {
                    let a = &articles[i];
                    Carrier {
                        outlet: a.outlet.clone(),
                        source: a.source.clone(),
                        url: a.url.clone(),
                        published_ms: a.published_ms,
                        id: a.id.clone(),
                    }
                })
                .collect();
            let mut outlets: Vec<&str> = carriers.iter().map(|c| c.outlet.as_str()).collect();
            outlets.sort_unstable();
            outlets.dedup();
            let mut tickers: Vec<String> = g
                .iter()
                .flat_map(|&i| articles[i].tickers.clone())
                .collect();
            tickers.sort();
            tickers.dedup();
            let mut article = articles[g[0]].clone();
            // A copy's body or provider score fills what the first report lacks.
            if article.body.is_none() {
                article.body = g.iter().find_map(|&i| articles[i].body.clone());
            }
            if article.provider_sentiment.is_none() {
                article.provider_sentiment = g.iter().find_map(|&i| articles[i].provider_sentiment);
            }
            article.tickers = tickers.clone();
            Story {
                outlets: outlets.len(),
                article,
                carriers,
                tickers,
            }
        })
        .collect()
}

/// Precision and recall of predicted clusters against true labels, over
/// pairs: a pair is positive when both articles are in one cluster.
/// Returns `(precision, recall, true_pairs, predicted_pairs)`.
pub fn pair_scores(clusters: &[Vec<usize>], labels: &[&str]) -> (f64, f64, usize, usize) {
    let mut pred = vec![0usize; labels.len()];
    for (c, g) in clusters.iter().enumerate() {
        for &i in g {
            pred[i] = c;
        }
    }
    let (mut tp, mut fp, mut fneg) = (0usize, 0usize, 0usize);
    for i in 0..labels.len() {
        for j in i + 1..labels.len() {
            match (pred[i] == pred[j], labels[i] == labels[j]) {
                (true, true) => tp += 1,
                (true, false) => fp += 1,
                (false, true) => fneg += 1,
                (false, false) => {}
            }
        }
    }
    let precision = if tp + fp == 0 {
        1.0
    } else {
        tp as f64 / (tp + fp) as f64
    };
    let recall = if tp + fneg == 0 {
        1.0
    } else {
        tp as f64 / (tp + fneg) as f64
    };
    (precision, recall, tp + fneg, tp + fp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jaccard_and_minhash_agree_on_a_worked_example() {
        // {1,2,3,4} vs {3,4,5}: 2 shared of 5 distinct.
        assert!((jaccard(&[1, 2, 3, 4], &[3, 4, 5]) - 0.4).abs() < 1e-12);
        let a = shingles(
            "the quick brown fox jumps over the lazy dog near the river bank today",
            3,
        );
        let b = shingles(
            "the quick brown fox jumps over the lazy cat near the river bank today",
            3,
        );
        let exact = jaccard(&a, &b);
        let (sa, sb) = (signature(&a, 512), signature(&b, 512));
        let est = sa.iter().zip(&sb).filter(|(x, y)| x == y).count() as f64 / 512.0;
        assert!((exact - est).abs() < 0.1, "exact {exact} est {est}");
    }

    #[test]
    fn pair_scores_count_pairs() {
        // truth: {0,1,2} {3}; predicted {0,1} {2,3}
        let (p, r, t, pr) = pair_scores(&[vec![0, 1], vec![2, 3]], &["a", "a", "a", "b"]);
        assert_eq!((t, pr), (3, 2));
        assert!((p - 0.5).abs() < 1e-12 && (r - 1.0 / 3.0).abs() < 1e-12);
    }
}
