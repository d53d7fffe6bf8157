//! The symbol table: tickers with their company names and aliases, so
//! "Apple", "iPhone maker", `$AAPL` and `AAPL` all point at `AAPL`.
//! [`SymbolTable::mentions`] scans a text once (word index keyed by each
//! alias's first word).

use std::collections::HashMap;

use serde::Serialize;

/// One listed company.
#[derive(Debug, Clone, Serialize)]
pub struct Symbol {
    /// Ticker (upper case, no exchange suffix).
    pub ticker: &'static str,
    /// Company name.
    pub name: &'static str,
    /// Other names it goes by (lower case phrases).
    pub aliases: &'static [&'static str],
    /// Listing (`NASDAQ`, `NYSE`, `TSX`).
    pub exchange: &'static str,
}

const fn s(
    ticker: &'static str,
    name: &'static str,
    exchange: &'static str,
    aliases: &'static [&'static str],
) -> Symbol {
    Symbol {
        ticker,
        name,
        aliases,
        exchange,
    }
}

/// The built-in table.
pub const SYMBOLS: &[Symbol] = &[
    s(
        "AAPL",
        "Apple",
        "NASDAQ",
        &["apple", "apple inc", "iphone maker"],
    ),
    s(
        "MSFT",
        "Microsoft",
        "NASDAQ",
        &["microsoft", "microsoft corp"],
    ),
    s("NVDA", "Nvidia", "NASDAQ", &["nvidia", "nvidia corp"]),
    s(
        "AMZN",
        "Amazon",
        "NASDAQ",
        &["amazon", "amazon.com", "aws", "amazon web services"],
    ),
    s(
        "GOOGL",
        "Alphabet",
        "NASDAQ",
        &["alphabet", "google", "youtube"],
    ),
    s(
        "META",
        "Meta Platforms",
        "NASDAQ",
        &["meta platforms", "facebook", "instagram", "whatsapp"],
    ),
    s("TSLA", "Tesla", "NASDAQ", &["tesla", "tesla inc"]),
    s(
        "JPM",
        "JPMorgan Chase",
        "NYSE",
        &["jpmorgan", "jpmorgan chase", "jp morgan", "chase bank"],
    ),
    s(
        "BAC",
        "Bank of America",
        "NYSE",
        &["bank of america", "bofa"],
    ),
    s(
        "XOM",
        "Exxon Mobil",
        "NYSE",
        &["exxon", "exxon mobil", "exxonmobil"],
    ),
    s("CVX", "Chevron", "NYSE", &["chevron"]),
    s("PFE", "Pfizer", "NYSE", &["pfizer"]),
    s(
        "JNJ",
        "Johnson & Johnson",
        "NYSE",
        &["johnson & johnson", "johnson and johnson", "j&j"],
    ),
    s("WMT", "Walmart", "NYSE", &["walmart", "wal-mart"]),
    s(
        "KO",
        "Coca-Cola",
        "NYSE",
        &["coca-cola", "coca cola", "coke"],
    ),
    s("DIS", "Disney", "NYSE", &["disney", "walt disney"]),
    s("NFLX", "Netflix", "NASDAQ", &["netflix"]),
    s("INTC", "Intel", "NASDAQ", &["intel", "intel corp"]),
    s(
        "AMD",
        "Advanced Micro Devices",
        "NASDAQ",
        &["advanced micro devices", "amd"],
    ),
    s("BA", "Boeing", "NYSE", &["boeing"]),
    s("GS", "Goldman Sachs", "NYSE", &["goldman sachs", "goldman"]),
    s("SHOP", "Shopify", "TSX", &["shopify"]),
    s(
        "RY",
        "Royal Bank of Canada",
        "TSX",
        &["royal bank of canada", "rbc"],
    ),
    s(
        "TD",
        "Toronto-Dominion Bank",
        "TSX",
        &["toronto-dominion", "toronto-dominion bank", "td bank"],
    ),
    s("ENB", "Enbridge", "TSX", &["enbridge"]),
    s(
        "CNQ",
        "Canadian Natural Resources",
        "TSX",
        &["canadian natural resources", "canadian natural"],
    ),
];

/// Where a ticker was found in a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MentionKind {
    /// `$AAPL`, `(NASDAQ: AAPL)` or a bare upper-case ticker of 3+ letters.
    Ticker,
    /// The company name or an alias.
    Alias,
}

/// Lower-case words of `text` (letters, digits, `&`, `-`, `.` inside words).
pub fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_alphanumeric() || matches!(c, '&' | '-' | '.' | '\'')))
        .map(|w| w.trim_matches(|c: char| matches!(c, '-' | '.' | '\'')))
        .filter(|w| !w.is_empty())
        .map(|w| {
            let w = w.to_lowercase();
            w.strip_suffix("'s").map_or(w.clone(), str::to_string)
        })
        .collect()
}

/// The table with an index from each alias's first word.
#[derive(Debug)]
pub struct SymbolTable {
    by_first: HashMap<String, Vec<(Vec<String>, &'static str)>>,
}

impl Default for SymbolTable {
    fn default() -> Self {
        Self::new()
    }
}

impl SymbolTable {
    /// The built-in table, indexed.
    pub fn new() -> Self {
        let mut by_first: HashMap<String, Vec<(Vec<String>, &'static str)>> = HashMap::new();
        for sym in SYMBOLS {
            let mut names: Vec<String> = sym.aliases.iter().map(|a| (*a).to_string()).collect();
            names.push(sym.name.to_lowercase());
            for name in names {
                let w = words(&name);
                if let Some(first) = w.first().cloned() {
                    let list = by_first.entry(first).or_default();
                    if !list.iter().any(|(x, t)| *x == w && *t == sym.ticker) {
                        list.push((w, sym.ticker));
                    }
                }
            }
        }
        for list in by_first.values_mut() {
            list.sort_by_key(|(w, _)| std::cmp::Reverse(w.len()));
        }
        Self { by_first }
    }

    /// The symbol of `ticker`.
    pub fn get(&self, ticker: &str) -> Option<&'static Symbol> {
        let t = ticker.trim().to_ascii_uppercase();
        let t = t.split_once('.').map_or(t.as_str(), |(a, _)| a);
        SYMBOLS.iter().find(|s| s.ticker == t)
    }

    /// Resolves a ticker (`AAPL`, `SHOP.TO`, `$aapl`) or a company name or
    /// alias (`Apple`, `iphone maker`) to a ticker.
    pub fn resolve(&self, text: &str) -> Option<&'static str> {
        let t = text.trim().trim_start_matches('$');
        if let Some(sym) = self.get(t) {
            return Some(sym.ticker);
        }
        let w = words(t);
        let first = w.first()?;
        self.by_first
            .get(first)?
            .iter()
            .find(|(a, _)| *a == w)
            .map(|(_, t)| *t)
    }

    /// Every ticker `text` mentions, with the strongest way it was found.
    pub fn mentions(&self, text: &str) -> Vec<(&'static str, MentionKind)> {
        let mut out: Vec<(&'static str, MentionKind)> = Vec::new();
        let mut add = |t: &'static str, k: MentionKind| match out.iter_mut().find(|(x, _)| *x == t)
        {
            Some(e) => e.1 = e.1.min(k),
            None => out.push((t, k)),
        };
        // Tickers: cashtags, exchange tags, bare upper-case tokens of 3+ letters.
        let raw: Vec<&str> = text
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '$' || c == ':'))
            .filter(|w| !w.is_empty())
            .collect();
        for (i, tok) in raw.iter().enumerate() {
            let after_exchange = i > 0
                && matches!(
                    raw[i - 1].trim_end_matches(':'),
                    "NASDAQ" | "NYSE" | "TSX" | "Nasdaq"
                );
            let cashtag = tok.strip_prefix('$');
            let bare = cashtag.unwrap_or(tok);
            if bare.len() < 2 || !bare.chars().all(|c| c.is_ascii_uppercase()) {
                continue;
            }
            if (cashtag.is_some() || after_exchange || bare.len() >= 3)
                && let Some(sym) = SYMBOLS.iter().find(|s| s.ticker == bare)
            {
                add(sym.ticker, MentionKind::Ticker);
            }
        }
        let w = words(text);
        let mut i = 0;
        while i < w.len() {
            let mut step = 1;
            if let Some(list) = self.by_first.get(&w[i]) {
                for (alias, t) in list {
                    if w.len() - i >= alias.len() && w[i..i + alias.len()] == alias[..] {
                        add(t, MentionKind::Alias);
                        step = alias.len();
                        break;
                    }
                }
            }
            i += step;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_cashtags_and_suffixes_resolve() {
        let t = SymbolTable::new();
        assert_eq!(t.resolve("SHOP.TO"), Some("SHOP"));
        assert_eq!(t.resolve("$aapl"), Some("AAPL"));
        assert_eq!(t.resolve("iPhone maker"), Some("AAPL"));
        assert_eq!(t.resolve("Bank of America"), Some("BAC"));
        assert_eq!(t.resolve("Acme"), None);
        let m = t.mentions(
            "Facebook owner beats; $NVDA and (NYSE: BA) rise, Bank of America's CEO said. RY up.",
        );
        assert!(m.contains(&("META", MentionKind::Alias)), "{m:?}");
        assert!(m.contains(&("NVDA", MentionKind::Ticker)), "{m:?}");
        assert!(m.contains(&("BA", MentionKind::Ticker)), "{m:?}");
        assert!(m.contains(&("BAC", MentionKind::Alias)), "{m:?}");
        assert!(
            !m.iter().any(|(t, _)| *t == "RY"),
            "a bare two-letter token is not a ticker: {m:?}"
        );
        assert!(
            t.mentions("an apple a day")
                .contains(&("AAPL", MentionKind::Alias))
        );
    }
}
