//! Shared WebSocket plumbing for venue streams: one reconnecting session
//! loop that every venue protocol (Alpaca market data, Questrade L1 and
//! notifications, Tradier market and account events, IB Client Portal)
//! plugs into through [`WsProtocol`].
//!
//! The loop asks the protocol where to connect (a venue may need a REST
//! call first: a Tradier session id, a Questrade stream port, an IB
//! session), sends the protocol's opening messages (auth, subscribe),
//! hands every text or binary frame to the protocol, and sends what it
//! answers. A dropped, refused or stalled connection is reopened with
//! exponential backoff, up to [`WsLimits::max_reconnects`] times; a
//! [`WsFail::Fatal`] answer (refused credentials) ends the stream at once.
//! A quiet connection is probed with a WebSocket ping after
//! [`WsLimits::stall`]; no frame at all for a second `stall` counts as a
//! drop.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue};

use crate::broker::EventStream;
use crate::error::{BrokersError, Result};

/// Bounds for one reconnecting stream.
#[derive(Debug, Clone)]
pub struct WsLimits {
    /// Give up after this many reconnects.
    pub max_reconnects: u32,
    /// First reconnect delay; doubles each time.
    pub backoff: Duration,
    /// Largest reconnect delay.
    pub max_backoff: Duration,
    /// Longest wait for a connection, a REST set-up call, or any frame
    /// before the connection is probed with a ping (and, after a second
    /// such wait, dropped).
    pub stall: Duration,
}

impl Default for WsLimits {
    fn default() -> Self {
        Self {
            max_reconnects: 5,
            backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            stall: Duration::from_secs(60),
        }
    }
}

/// Where to connect for one session.
#[derive(Clone, Default)]
pub struct Target {
    /// `ws://` or `wss://` URL.
    pub url: String,
    /// A TLS configuration to use instead of the default (webpki roots);
    /// the IB gateway's self-signed certificate needs one.
    pub tls: Option<Arc<rustls::ClientConfig>>,
    /// Extra HTTP headers for the upgrade request.
    pub headers: Vec<(String, String)>,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Header values may carry credentials; the URL has none.
        f.debug_struct("Target")
            .field("url", &self.url)
            .field("custom_tls", &self.tls.is_some())
            .finish_non_exhaustive()
    }
}

/// How a step of a session failed.
#[derive(Debug)]
pub enum WsFail {
    /// The venue refused for good (credentials, permissions): end the
    /// stream with this error, no reconnect.
    Fatal(BrokersError),
    /// Something passing (a drop, an expired session, a 5xx): reconnect
    /// with backoff; the text says why.
    Retry(String),
}

/// What the protocol wants done after a message.
#[derive(Debug)]
pub enum WsStep<T> {
    /// Send this text frame.
    Send(String),
    /// Hand this item to the stream's reader.
    Emit(T),
}

/// One venue's stream protocol, driven by [`open`].
#[async_trait]
pub trait WsProtocol: Send + 'static {
    /// What the stream yields.
    type Item: Send + 'static;

    /// Venue name, for errors.
    fn venue(&self) -> &'static str;

    /// What the stream is called in errors and logs (`market-data stream`).
    fn name(&self) -> &'static str;

    /// Where to connect for the next session; may call the venue's REST
    /// API first. Called before every connection attempt.
    async fn target(&mut self) -> std::result::Result<Target, WsFail>;

    /// Text frames to send as soon as the socket is open (auth, and
    /// subscriptions when the venue takes them without waiting).
    fn opening(&mut self) -> Vec<String>;

    /// Handles one received frame (JSON text in every venue here).
    async fn on_text(
        &mut self,
        text: &str,
        out: &mut Vec<WsStep<Self::Item>>,
    ) -> std::result::Result<(), WsFail>;

    /// How often [`WsProtocol::on_tick`] runs while connected (keep-alive
    /// messages, periodic re-subscription); `None` for never.
    fn tick(&self) -> Option<Duration> {
        None
    }

    /// Text frames to send on each tick; may call the venue's REST API
    /// first (a session keep-alive), which holds the receive loop meanwhile.
    async fn on_tick(&mut self) -> Vec<String> {
        Vec::new()
    }
}

/// Counters of one [`run`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunStats {
    /// Connections that opened.
    pub connects: u32,
    /// Reconnects after a drop.
    pub reconnects: u32,
    /// Items handed out.
    pub items: u64,
}

enum SessionEnd {
    Done,
    Dropped(String),
}

/// Opens a reconnecting stream: asks the protocol for its first target at
/// once (so refused credentials or an unreachable venue answer here, as
/// an error), then runs the session loop in a background task until the
/// returned stream is dropped, the venue refuses for good, or reconnects
/// run out (the error is yielded, then the stream ends).
pub async fn open<P: WsProtocol>(mut proto: P, limits: WsLimits) -> Result<EventStream<P::Item>> {
    let first = match tokio::time::timeout(limits.stall, proto.target()).await {
        Ok(Ok(t)) => t,
        Ok(Err(WsFail::Fatal(e))) => return Err(e),
        Ok(Err(WsFail::Retry(why))) => {
            return Err(BrokersError::upstream(
                proto.venue(),
                None,
                format!("{}: {why}", proto.name()),
            ));
        }
        Err(_) => {
            return Err(BrokersError::upstream(
                proto.venue(),
                None,
                format!("{}: setting up the stream timed out", proto.name()),
            ));
        }
    };
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<Result<P::Item>>();
    tokio::spawn(async move {
        let closer = tx.clone();
        let sink = tx.clone();
        let work = async move {
            let mut stats = RunStats::default();
            run_from(&mut proto, &limits, Some(first), &mut stats, &mut |item| {
                sink.send(Ok(item)).is_ok()
            })
            .await
        };
        tokio::select! {
            // The reader went away: stop at once.
            () = closer.closed() => {}
            r = work => {
                if let Err(e) = r {
                    let _ = tx.send(Err(e));
                }
            }
        }
    });
    Ok(Box::pin(futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    })))
}

/// Runs the session loop in the caller's task, handing each item to
/// `on_item` until it answers `false` (then `Ok`), the venue refuses for
/// good, or reconnects run out (both errors).
pub async fn run<P: WsProtocol>(
    proto: &mut P,
    limits: &WsLimits,
    stats: &mut RunStats,
    on_item: &mut (dyn FnMut(P::Item) -> bool + Send),
) -> Result<()> {
    run_from(proto, limits, None, stats, on_item).await
}

async fn run_from<P: WsProtocol>(
    proto: &mut P,
    limits: &WsLimits,
    mut first: Option<Target>,
    stats: &mut RunStats,
    on_item: &mut (dyn FnMut(P::Item) -> bool + Send),
) -> Result<()> {
    nt_venue_http::install_crypto_provider();
    let mut backoff = limits.backoff;
    loop {
        let target = match first.take() {
            Some(t) => Ok(t),
            None => match tokio::time::timeout(limits.stall, proto.target()).await {
                Ok(r) => r,
                Err(_) => Err(WsFail::Retry("setting up the stream timed out".into())),
            },
        };
        let items_before = stats.items;
        let end = match target {
            Err(WsFail::Fatal(e)) => return Err(e),
            Err(WsFail::Retry(why)) => SessionEnd::Dropped(why),
            Ok(target) => match connect(&target, limits.stall).await {
                Ok(ws) => {
                    stats.connects += 1;
                    session(proto, ws, limits, stats, on_item).await?
                }
                Err(why) => SessionEnd::Dropped(why),
            },
        };
        let why = match end {
            SessionEnd::Done => return Ok(()),
            SessionEnd::Dropped(why) => why,
        };
        if stats.reconnects >= limits.max_reconnects {
            return Err(BrokersError::upstream(
                proto.venue(),
                None,
                format!(
                    "{}: gave up after {} reconnects ({} events received); last: {why}",
                    proto.name(),
                    stats.reconnects,
                    stats.items
                ),
            ));
        }
        tracing::warn!(venue = proto.venue(), stream = proto.name(), reason = %why, "stream dropped; reconnecting");
        // A session that delivered events was healthy: start the backoff over.
        if stats.items > items_before {
            backoff = limits.backoff;
        }
        stats.reconnects += 1;
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(limits.max_backoff);
    }
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(target: &Target, wait: Duration) -> std::result::Result<Socket, String> {
    let mut request = target
        .url
        .as_str()
        .into_client_request()
        .map_err(|e| format!("bad stream URL: {e}"))?;
    for (k, v) in &target.headers {
        let name = HeaderName::from_bytes(k.as_bytes()).map_err(|e| format!("header {k}: {e}"))?;
        let value = HeaderValue::from_str(v).map_err(|_| format!("header {k}: bad value"))?;
        request.headers_mut().insert(name, value);
    }
    let connector = target.tls.clone().map(tokio_tungstenite::Connector::Rustls);
    match tokio::time::timeout(
        wait,
        tokio_tungstenite::connect_async_tls_with_config(request, None, true, connector),
    )
    .await
    {
        Ok(Ok((ws, _))) => Ok(ws),
        Ok(Err(e)) => Err(format!("connect failed: {e}")),
        Err(_) => Err("connect timed out".into()),
    }
}

async fn session<P: WsProtocol>(
    proto: &mut P,
    ws: Socket,
    limits: &WsLimits,
    stats: &mut RunStats,
    on_item: &mut (dyn FnMut(P::Item) -> bool + Send),
) -> Result<SessionEnd> {
    let (mut tx, mut rx) = ws.split();
    for text in proto.opening() {
        if let Err(e) = tx.send(Message::Text(text.into())).await {
            return Ok(SessionEnd::Dropped(format!(
                "sending the opening messages: {e}"
            )));
        }
    }
    let period = proto.tick().filter(|p| !p.is_zero());
    let every = period.unwrap_or(Duration::from_secs(3600));
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut probed = false;
    let mut steps = Vec::new();
    loop {
        let next = tokio::select! {
            _ = ticker.tick(), if period.is_some() => {
                for text in proto.on_tick().await {
                    if let Err(e) = tx.send(Message::Text(text.into())).await {
                        return Ok(SessionEnd::Dropped(format!("sending a keep-alive: {e}")));
                    }
                }
                continue;
            }
            next = tokio::time::timeout(limits.stall, rx.next()) => next,
        };
        let msg = match next {
            Err(_) if !probed => {
                probed = true;
                if let Err(e) = tx.send(Message::Ping(Vec::new().into())).await {
                    return Ok(SessionEnd::Dropped(format!("sending a ping: {e}")));
                }
                continue;
            }
            Err(_) => {
                return Ok(SessionEnd::Dropped(format!(
                    "no message for {} ms, not even a pong",
                    2 * limits.stall.as_millis()
                )));
            }
            Ok(None) => return Ok(SessionEnd::Dropped("connection closed".into())),
            Ok(Some(Err(e))) => return Ok(SessionEnd::Dropped(e.to_string())),
            Ok(Some(Ok(m))) => m,
        };
        probed = false;
        let text = match msg {
            Message::Text(t) => t.as_str().to_string(),
            Message::Binary(b) => String::from_utf8_lossy(&b).into_owned(),
            Message::Ping(p) => {
                let _ = tx.send(Message::Pong(p)).await;
                continue;
            }
            Message::Close(frame) => {
                let why = frame
                    .map(|f| format!("closed by the server ({} {})", u16::from(f.code), f.reason))
                    .unwrap_or_else(|| "closed by the server".into());
                return Ok(SessionEnd::Dropped(why));
            }
            _ => continue,
        };
        steps.clear();
        match proto.on_text(&text, &mut steps).await {
            Ok(()) => {}
            Err(WsFail::Fatal(e)) => {
                let _ = tx.send(Message::Close(None)).await;
                return Err(e);
            }
            Err(WsFail::Retry(why)) => {
                let _ = tx.send(Message::Close(None)).await;
                return Ok(SessionEnd::Dropped(why));
            }
        }
        for step in steps.drain(..) {
            match step {
                WsStep::Send(text) => {
                    if let Err(e) = tx.send(Message::Text(text.into())).await {
                        return Ok(SessionEnd::Dropped(format!("sending: {e}")));
                    }
                }
                WsStep::Emit(item) => {
                    stats.items += 1;
                    if !on_item(item) {
                        let _ = tx.send(Message::Close(None)).await;
                        return Ok(SessionEnd::Done);
                    }
                }
            }
        }
    }
}

/// `http(s)://host...` as `ws(s)://host...`; other schemes unchanged.
pub fn ws_scheme(url: &str) -> String {
    if let Some(rest) = url.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if let Some(rest) = url.strip_prefix("http://") {
        format!("ws://{rest}")
    } else {
        url.to_string()
    }
}

/// A rustls client configuration that accepts any server certificate
/// (signatures are still checked). Only for a gateway on loopback with a
/// self-signed certificate (the IB Client Portal gateway); callers check
/// the host first.
pub fn insecure_tls_config() -> Arc<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map(|b| {
            b.dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyCert(provider.clone())))
                .with_no_client_auth()
        });
    match config {
        Ok(c) => Arc::new(c),
        // The ring provider supports the default versions; this does not happen.
        Err(_) => Arc::new(
            rustls::ClientConfig::builder()
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyCert(provider)))
                .with_no_client_auth(),
        ),
    }
}

#[derive(Debug)]
struct AnyCert(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AnyCert {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> std::result::Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> std::result::Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> std::result::Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes_and_tls_config() {
        assert_eq!(ws_scheme("https://a.example/x"), "wss://a.example/x");
        assert_eq!(ws_scheme("http://127.0.0.1:5/x"), "ws://127.0.0.1:5/x");
        assert_eq!(ws_scheme("wss://a.example"), "wss://a.example");
        let cfg = insecure_tls_config();
        assert!(!cfg.alpn_protocols.contains(&b"h2".to_vec()));
        let t = Target {
            url: "wss://x".into(),
            tls: Some(cfg),
            headers: vec![("Cookie".into(), "secret".into())],
        };
        assert!(!format!("{t:?}").contains("secret"));
    }
}
