//! [`transport_detail`]: a transport failure in words a user can act on.

/// A transport error as one line: reqwest's own words, then each cause it
/// wraps (`error sending request: client error (Connect): invalid peer
/// certificate: UnknownIssuer`), so a refused certificate or connection is
/// named rather than hidden behind "error sending request". The URL is left
/// out: a query may carry a credential.
pub fn transport_detail(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut out = e.to_string();
    let mut cause = std::error::Error::source(&e);
    while let Some(c) = cause {
        let text = c.to_string();
        if !text.is_empty() && !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        cause = c.source();
    }
    out
}
