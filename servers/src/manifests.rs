//! The variant manifests embedded in the binary (`servers/manifests/*.toml`).

const EMBEDDED: &[(&str, &str)] = &[
    (
        "claude-optimized",
        include_str!("../manifests/claude-optimized.toml"),
    ),
    ("defi", include_str!("../manifests/defi.toml")),
    ("diagnostics", include_str!("../manifests/diagnostics.toml")),
    ("e2b", include_str!("../manifests/e2b.toml")),
    ("enhanced", include_str!("../manifests/enhanced.toml")),
    ("fantasy", include_str!("../manifests/fantasy.toml")),
    ("gpu", include_str!("../manifests/gpu.toml")),
    ("integrated", include_str!("../manifests/integrated.toml")),
    ("news", include_str!("../manifests/news.toml")),
    ("official", include_str!("../manifests/official.toml")),
    ("polymarket", include_str!("../manifests/polymarket.toml")),
    ("sports", include_str!("../manifests/sports.toml")),
    ("quant", include_str!("../manifests/quant.toml")),
    (
        "timeout-tolerant",
        include_str!("../manifests/timeout-tolerant.toml"),
    ),
];

/// The manifest text of an embedded variant.
pub fn embedded(name: &str) -> Option<&'static str> {
    EMBEDDED.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

/// Names of the embedded variants.
pub fn names() -> Vec<&'static str> {
    EMBEDDED.iter().map(|(n, _)| *n).collect()
}
