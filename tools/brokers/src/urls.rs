//! Host checks on configured venue URLs (paper vs live hosts, loopback
//! gateways, the WebSocket host of a REST server), parsed by the `url`
//! crate reqwest itself uses, so a check and the request agree on the host.

use std::net::IpAddr;

use reqwest::Url;

/// The host of `url` in lower case, without port, credentials or IPv6
/// brackets; `None` when `url` is not an absolute URL with a host.
pub fn host(url: &str) -> Option<String> {
    let parsed = Url::parse(url.trim()).ok()?;
    let host = parsed.host_str()?;
    Some(
        host.trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase(),
    )
}

/// Whether `url`'s host is `want` (case-insensitive); a look-alike such as
/// `want.example.org` is not.
pub fn host_is(url: &str, want: &str) -> bool {
    host(url).is_some_and(|h| h.eq_ignore_ascii_case(want))
}

/// Whether `url`'s host is loopback (`localhost`, `127.x.x.x`, `::1`).
pub fn is_loopback(url: &str) -> bool {
    host(url)
        .is_some_and(|h| h == "localhost" || h.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback()))
}

/// The WebSocket scheme and host for a REST server URL: `http` becomes
/// `ws`, anything else `wss`; an IPv6 host keeps its brackets so it can be
/// put back in a URL. `None` when `url` has no host.
pub fn ws_scheme_and_host(url: &str) -> Option<(&'static str, String)> {
    let parsed = Url::parse(url.trim()).ok()?;
    let host = parsed.host_str()?.to_string();
    let scheme = if parsed.scheme() == "http" {
        "ws"
    } else {
        "wss"
    };
    Some((scheme, host))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_read_as_the_request_would_read_them() {
        assert_eq!(
            host("https://user:pw@API.Tradier.com:443/v1?x=1").as_deref(),
            Some("api.tradier.com")
        );
        assert_eq!(host("https://[::1]:5000/v1/api").as_deref(), Some("::1"));
        assert_eq!(host("not a url"), None);
        assert!(host_is(
            "https://sandbox.tradier.com/",
            "sandbox.tradier.com"
        ));
        assert!(!host_is(
            "https://sandbox.tradier.com.example.org",
            "sandbox.tradier.com"
        ));
        for yes in [
            "https://localhost:5000/v1/api",
            "https://127.0.0.1:5000",
            "wss://127.8.9.10/ws",
            "https://[::1]:5000/v1/api",
        ] {
            assert!(is_loopback(yes), "{yes}");
        }
        for no in [
            "https://localhost.example.com/v1/api",
            "https://10.0.0.5:5000",
            "https://[::2]/",
            "localhost:5000",
        ] {
            assert!(!is_loopback(no), "{no}");
        }
        assert_eq!(
            ws_scheme_and_host("https://api01.iq.questrade.com/"),
            Some(("wss", "api01.iq.questrade.com".to_string()))
        );
        assert_eq!(
            ws_scheme_and_host("http://[::1]:8080/"),
            Some(("ws", "[::1]".to_string()))
        );
    }
}
