//! [`Article`]: the one article type every source maps to, and
//! [`canonical_url`], the URL form two copies of one page share.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// One news item as any source gives it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Article {
    /// Stable id: the source's own id when it has one, else a digest of the
    /// canonical URL.
    pub id: String,
    /// The source that served it (`corpus`, `newsapi`, `finnhub`, ...).
    pub source: String,
    /// The publisher (Reuters, SEC, a feed's title).
    pub outlet: String,
    /// The canonical URL (see [`canonical_url`]).
    pub url: String,
    /// Headline.
    pub title: String,
    /// Summary or description (may be empty).
    pub summary: String,
    /// Body text when the source gives it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Published time, ms since the Unix epoch, UTC.
    pub published_ms: i64,
    /// Tickers the source tagged (upper case).
    #[serde(default)]
    pub tickers: Vec<String>,
    /// ISO 639-1 language code (`en`).
    pub language: String,
    /// The provider's own sentiment score in [-1, 1], when it gives one
    /// (Alpha Vantage).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_sentiment: Option<f64>,
}

impl Article {
    /// Title, summary and body joined: the text scored and compared.
    pub fn text(&self) -> String {
        let mut t = String::with_capacity(
            self.title.len() + self.summary.len() + self.body.as_ref().map_or(0, String::len) + 2,
        );
        t.push_str(&self.title);
        t.push_str(". ");
        t.push_str(&self.summary);
        if let Some(b) = &self.body {
            t.push(' ');
            t.push_str(b);
        }
        t
    }

    /// An id derived from the canonical URL (`u-` and 16 hex digits).
    pub fn id_for_url(canonical: &str) -> String {
        let d = Sha256::digest(canonical.as_bytes());
        format!("u-{}", hex::encode(&d[..8]))
    }
}

/// Query parameters that only track the reader and never change the page.
const TRACKING: &[&str] = &[
    "fbclid",
    "gclid",
    "dclid",
    "msclkid",
    "mc_cid",
    "mc_eid",
    "cmpid",
    "ncid",
    "mod",
    "ref",
    "ref_src",
    "src",
    "guccounter",
    "guce_referrer",
    "guce_referrer_sig",
    "yptr",
    "soc_src",
    "soc_trk",
    "smid",
    "sref",
    "feedtype",
    "rss",
    "taid",
    "cid",
    "ito",
    "_ga",
    "igshid",
];

/// The URL two copies of one page share: scheme `https`, host lower case
/// without `www.`/`m.`/`amp.`, no default port, no fragment, no `utm_*` or
/// other tracking parameter, remaining parameters sorted, no trailing `/`
/// or `/amp`. A string that is not an absolute URL is returned trimmed.
pub fn canonical_url(raw: &str) -> String {
    let raw = raw.trim();
    let Ok(mut u) = url::Url::parse(raw) else {
        return raw.to_string();
    };
    if !matches!(u.scheme(), "http" | "https") {
        return raw.to_string();
    }
    let host = u.host_str().unwrap_or("").to_ascii_lowercase();
    let host = ["www.", "m.", "amp.", "mobile."]
        .iter()
        .find_map(|p| host.strip_prefix(p))
        .map_or(host.clone(), str::to_string);
    let mut pairs: Vec<(String, String)> = u
        .query_pairs()
        .filter(|(k, _)| {
            let k = k.to_ascii_lowercase();
            !k.starts_with("utm_") && !TRACKING.contains(&k.as_str())
        })
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    pairs.sort();
    let mut path = u.path().trim_end_matches('/').to_string();
    for suffix in ["/amp", ".amp"] {
        if let Some(p) = path.strip_suffix(suffix) {
            path = p.to_string();
        }
    }
    let mut out = format!("https://{host}{path}");
    if !pairs.is_empty() {
        u.set_query(None);
        let q: Vec<String> = pairs
            .iter()
            .map(|(k, v)| {
                if v.is_empty() {
                    k.clone()
                } else {
                    format!("{k}={v}")
                }
            })
            .collect();
        out.push('?');
        out.push_str(&q.join("&"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracking_scheme_host_and_fragment_are_dropped() {
        let a = canonical_url(
            "http://WWW.Reuters.com/business/apple-beats/?utm_source=x&utm_medium=y#c",
        );
        let b = canonical_url("https://reuters.com/business/apple-beats");
        assert_eq!(a, b);
        assert_eq!(a, "https://reuters.com/business/apple-beats");
        assert_eq!(
            canonical_url("https://m.cnbc.com/2026/a/amp?b=2&fbclid=z&a=1"),
            "https://cnbc.com/2026/a?a=1&b=2"
        );
        assert_ne!(
            canonical_url("https://x.com/story?id=1"),
            canonical_url("https://x.com/story?id=2"),
            "a meaningful parameter stays"
        );
        assert_eq!(canonical_url(" not a url "), "not a url");
    }
}
