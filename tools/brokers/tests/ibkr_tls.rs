//! The IB Client Portal gateway serves HTTPS and WSS on localhost with a
//! self-signed certificate. With `allow_invalid_certs` (accepted for
//! loopback gateways only) the client reaches it over both; without it the
//! certificate is refused, and the error says so. The gateway here is a
//! rustls server on 127.0.0.1 with `fixtures/gateway-self-signed.crt`
//! (how it was made: `fixtures/README.md`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use futures::{SinkExt, StreamExt};
use nt_brokers::types::OrderStatus;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::json;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_tungstenite::tungstenite::Message;

mod support;

use support::ibkr::client;

fn acceptor() -> TlsAcceptor {
    nt_venue_http::install_crypto_provider();
    let certs = CertificateDer::pem_slice_iter(include_bytes!("fixtures/gateway-self-signed.crt"))
        .collect::<Result<Vec<_>, _>>()
        .expect("certificate");
    let key = PrivateKeyDer::from_pem_slice(include_bytes!("fixtures/gateway-self-signed.key"))
        .expect("key");
    let cfg = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("server config");
    TlsAcceptor::from(Arc::new(cfg))
}

/// TLS over a loopback listener, counting handshakes the client broke off
/// (a refused certificate).
struct TlsListener {
    tcp: TcpListener,
    tls: TlsAcceptor,
    refused: Arc<AtomicUsize>,
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((tcp, addr)) = self.tcp.accept().await else {
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            };
            match self.tls.accept(tcp).await {
                Ok(s) => return (s, addr),
                Err(_) => {
                    self.refused.fetch_add(1, Ordering::SeqCst);
                }
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

fn gateway_app() -> Router {
    Router::new()
        .route("/v1/api/tickle", post(|| async { axum::Json(json!({"session": "abc", "iserver": {"authStatus": {"authenticated": true, "competing": false, "connected": true}}})) }))
        .route("/v1/api/iserver/accounts", get(|| async { axum::Json(json!({"accounts": ["DU1234567"], "selectedAccount": "DU1234567"})) }))
}

/// The REST side over HTTPS: `https://127.0.0.1:P/v1/api` and its count
/// of refused handshakes.
async fn https_gateway() -> (String, Arc<AtomicUsize>) {
    let tcp = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("https://{}/v1/api", tcp.local_addr().expect("addr"));
    let refused = Arc::new(AtomicUsize::new(0));
    let listener = TlsListener {
        tcp,
        tls: acceptor(),
        refused: refused.clone(),
    };
    tokio::spawn(async move {
        let _ = axum::serve(listener, gateway_app()).await;
    });
    (base, refused)
}

/// The REST side over plain HTTP, for the WSS-only refusal.
async fn http_gateway() -> String {
    let tcp = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}/v1/api", tcp.local_addr().expect("addr"));
    tokio::spawn(async move {
        let _ = axum::serve(tcp, gateway_app()).await;
    });
    base
}

/// The WebSocket side over WSS: waits for `sor+{}`, answers one live
/// order, then holds the socket (bounded). Returns the URL and the count of
/// refused handshakes.
async fn wss_gateway() -> (String, Arc<AtomicUsize>) {
    let tcp = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("wss://{}/v1/api/ws", tcp.local_addr().expect("addr"));
    let refused = Arc::new(AtomicUsize::new(0));
    let (tls, r) = (acceptor(), refused.clone());
    tokio::spawn(async move {
        while let Ok((stream, _)) = tcp.accept().await {
            let (tls, r) = (tls.clone(), r.clone());
            tokio::spawn(async move {
                let Ok(stream) = tls.accept(stream).await else {
                    r.fetch_add(1, Ordering::SeqCst);
                    return;
                };
                let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
                    return;
                };
                let _ = tokio::time::timeout(Duration::from_secs(20), async {
                    while let Some(Ok(msg)) = ws.next().await {
                        if msg.to_text().ok() == Some("sor+{}") {
                            let order = json!({"topic": "sor", "args": [{"acct": "DU1234567", "conid": 265598,
                                "orderId": 1001, "ticker": "AAPL", "side": "BUY", "orderType": "Limit",
                                "price": "189.50", "timeInForce": "CLOSE", "totalSize": 10.0, "filledQuantity": 0.0,
                                "remainingQuantity": 10.0, "status": "Submitted", "cashCcy": "USD",
                                "lastExecutionTime_r": 1_717_339_800_000_i64, "order_ref": "ib-1"}]});
                            let _ = ws.send(Message::Text(order.to_string().into())).await;
                        }
                    }
                })
                .await;
            });
        }
    });
    (url, refused)
}

/// One reconnect, so a refused certificate ends the stream quickly.
fn limits() -> nt_brokers::ws::WsLimits {
    nt_brokers::ws::WsLimits {
        max_reconnects: 1,
        max_backoff: Duration::from_millis(50),
        ..support::ws::fast_limits()
    }
}

#[tokio::test]
async fn a_self_signed_loopback_gateway_is_reached_over_https_and_wss_when_allowed() {
    let (base, https_refused) = https_gateway().await;
    let (ws_url, wss_refused) = wss_gateway().await;
    let ib = client(base, ws_url, true);
    assert!(ib.tickle().await.expect("tickle over HTTPS"));
    assert_eq!(ib.account_id().await.expect("account"), "DU1234567");
    let mut stream = ib
        .order_stream_with(limits(), Duration::from_secs(60))
        .await
        .expect("stream");
    let update = tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .expect("bounded")
        .expect("an item")
        .expect("an order update over WSS");
    drop(stream);
    assert_eq!(
        (update.order.id.as_str(), update.order.status),
        ("1001", OrderStatus::Open)
    );
    assert_eq!(https_refused.load(Ordering::SeqCst), 0);
    assert_eq!(wss_refused.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn without_the_exception_the_self_signed_certificate_is_refused_by_name() {
    // HTTPS: the REST call fails on the certificate, and says so.
    let (base, https_refused) = https_gateway().await;
    let (ws_url, wss_refused) = wss_gateway().await;
    let ib = client(base, ws_url.clone(), false);
    let err = ib.tickle().await.expect_err("refused").to_string();
    assert!(err.contains("certificate"), "{err}");
    assert!(https_refused.load(Ordering::SeqCst) >= 1);

    // WSS: a plain-HTTP gateway hands out the session, and the socket is
    // refused on the certificate until reconnects run out.
    let ib = client(http_gateway().await, ws_url, false);
    let mut stream = ib
        .order_stream_with(limits(), Duration::from_secs(60))
        .await
        .expect("the REST side answers");
    let err = tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .expect("bounded")
        .expect("an item")
        .expect_err("the socket is refused")
        .to_string();
    assert!(err.contains("certificate"), "{err}");
    assert!(wss_refused.load(Ordering::SeqCst) >= 1);
}
