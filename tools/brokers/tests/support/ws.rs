//! A local WebSocket fake for the venue stream tests: a tokio-tungstenite
//! server on 127.0.0.1 that hands each accepted connection (with the
//! request path and its connection number) to a per-test handler, and
//! bounded helpers to read and write JSON frames.

#![allow(dead_code)]

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};

/// One accepted connection.
pub struct Conn {
    /// The socket.
    pub ws: WebSocketStream<TcpStream>,
    /// Request path with query (`/v2/iex`, `/v1/markets/quotes?ids=1`).
    pub path: String,
    /// 0 for the first connection, 1 for the next, ...
    pub n: usize,
}

/// A running fake: its address and how many connections it accepted.
#[derive(Clone)]
pub struct Fake {
    /// `127.0.0.1:port`.
    pub addr: String,
    /// Port alone.
    pub port: u16,
    /// Connections accepted so far.
    pub conns: Arc<AtomicUsize>,
}

impl Fake {
    /// Connections accepted so far.
    pub fn count(&self) -> usize {
        self.conns.load(Ordering::SeqCst)
    }
}

/// Starts a fake whose connections are handled by `handler`.
// The handshake callback's error type is tungstenite's own.
#[allow(clippy::result_large_err)]
pub async fn serve<F, Fut>(handler: F) -> Fake
where
    F: Fn(Conn) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let local = listener.local_addr().expect("addr");
    let conns = Arc::new(AtomicUsize::new(0));
    let counter = conns.clone();
    let handler = Arc::new(handler);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            let handler = handler.clone();
            tokio::spawn(async move {
                let path = Arc::new(std::sync::Mutex::new(String::new()));
                let seen = path.clone();
                let accepted = tokio_tungstenite::accept_hdr_async(
                    tcp,
                    move |req: &Request, resp: Response| {
                        if let Ok(mut p) = seen.lock() {
                            *p = req
                                .uri()
                                .path_and_query()
                                .map(|pq| pq.as_str().to_string())
                                .unwrap_or_default();
                        }
                        Ok(resp)
                    },
                )
                .await;
                let Ok(ws) = accepted else {
                    return;
                };
                let path = path.lock().map(|p| p.clone()).unwrap_or_default();
                // Every handler is bounded: a stuck one cannot hang a test.
                let _ =
                    tokio::time::timeout(Duration::from_secs(20), handler(Conn { ws, path, n }))
                        .await;
            });
        }
    });
    Fake {
        addr: local.to_string(),
        port: local.port(),
        conns,
    }
}

/// The next text (or binary) frame as text, skipping pings; `None` on
/// close, error or after 5 s.
pub async fn recv_text(ws: &mut WebSocketStream<TcpStream>) -> Option<String> {
    loop {
        match tokio::time::timeout(Duration::from_secs(5), ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => return Some(t.as_str().to_string()),
            Ok(Some(Ok(Message::Binary(b)))) => {
                return Some(String::from_utf8_lossy(&b).into_owned());
            }
            Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => continue,
            _ => return None,
        }
    }
}

/// The next frame parsed as JSON (`Value::Null` when it is not JSON).
pub async fn recv_json(ws: &mut WebSocketStream<TcpStream>) -> Option<Value> {
    let text = recv_text(ws).await?;
    Some(serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Sends `v` as a text frame.
pub async fn send_json(ws: &mut WebSocketStream<TcpStream>, v: &Value) {
    let _ = ws.send(Message::Text(v.to_string().into())).await;
}

/// Keeps the connection open until the client closes it (at most 5 s),
/// answering what it sends with nothing.
pub async fn hold(ws: &mut WebSocketStream<TcpStream>) {
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(Ok(m)) = ws.next().await {
            if matches!(m, Message::Close(_)) {
                break;
            }
        }
    })
    .await;
}

/// Stream limits for the fakes: 3 reconnects, 20 ms backoff doubling to
/// 100 ms, a 5 s stall.
pub fn fast_limits() -> nt_brokers::ws::WsLimits {
    nt_brokers::ws::WsLimits {
        max_reconnects: 3,
        backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(100),
        stall: Duration::from_secs(5),
    }
}
