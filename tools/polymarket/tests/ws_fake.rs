//! The market-channel client against a local tokio-tungstenite server on
//! 127.0.0.1 that sends the documented `book` / `price_change` shapes,
//! answers `PING` with `PONG`, drops the first connection, and sends a
//! gapped delta on the second: the client must reconnect, resubscribe and
//! recover the book from a fresh snapshot.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use nt_polymarket::ws::{StreamConfig, StreamState, run};
use rust_decimal_macros::dec;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

const ASSET: &str = "71321045679252212594626385532706912750332728571942532289631379312455583992563";
const MARKET: &str = "0xbd31dc8a20211944f6b70f31557f1001557b59905b7738480ca09bd4532f84af";

fn book(bid: &str, hash: &str, ts: &str) -> String {
    json!({"event_type": "book", "asset_id": ASSET, "market": MARKET,
           "bids": [{"price": bid, "size": "30"}], "asks": [{"price": "0.60", "size": "25"}],
           "timestamp": ts, "hash": hash})
    .to_string()
}

fn delta(price: &str, size: &str, best_bid: &str, ts: &str) -> String {
    json!({"event_type": "price_change", "market": MARKET, "timestamp": ts,
           "price_changes": [{"asset_id": ASSET, "price": price, "size": size, "side": "BUY",
                              "hash": "0xd", "best_bid": best_bid, "best_ask": "0.60"}]})
    .to_string()
}

async fn serve(subs: Arc<Mutex<Vec<Value>>>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("ws://{}/ws/market", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        for n in 1..=6u32 {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let subs = subs.clone();
            tokio::spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
                    return;
                };
                let Ok(Some(Ok(Message::Text(first)))) =
                    tokio::time::timeout(Duration::from_secs(2), ws.next()).await
                else {
                    return;
                };
                subs.lock()
                    .expect("lock")
                    .push(serde_json::from_str(first.as_str()).unwrap_or_default());
                let frames = match n {
                    1 => vec![
                        book("0.48", "0xa", "1000"),
                        delta("0.49", "10", "0.49", "1001"),
                    ],
                    2 => vec![
                        book("0.48", "0xb", "2000"),
                        // A level the client never saw a snapshot of: the venue's best bid
                        // after the change (0.50) disagrees with the local book (0.48).
                        delta("0.30", "5", "0.50", "2001"),
                    ],
                    _ => vec![book("0.50", "0xc", "3000")],
                };
                for f in frames {
                    if ws.send(Message::Text(f.into())).await.is_err() {
                        return;
                    }
                }
                // Answer heartbeats; the first connection drops after its first PONG.
                let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
                while let Ok(Some(Ok(msg))) = tokio::time::timeout_at(deadline, ws.next()).await {
                    if matches!(&msg, Message::Text(t) if t.as_str() == "PING") {
                        if ws.send(Message::Text("PONG".into())).await.is_err() {
                            return;
                        }
                        if n == 1 {
                            return; // drop the connection without a close frame
                        }
                    }
                }
            });
        }
    });
    url
}

#[tokio::test]
async fn reconnects_resubscribes_and_recovers_from_a_gap() {
    let subs = Arc::new(Mutex::new(Vec::new()));
    let url = serve(subs.clone()).await;
    let mut cfg = StreamConfig::new(&url, vec![ASSET.to_string()]);
    cfg.ping_every = Duration::from_millis(40);
    cfg.backoff = Duration::from_millis(20);
    cfg.max_reconnects = 5;
    let state = StreamState::default();
    let cancel = CancellationToken::new();
    let task = tokio::spawn(run(cfg, state.clone(), None, cancel.clone()));

    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let s = state.stats();
        if s.recoveries >= 1 && s.connects >= 3 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no recovery in time: {s:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    cancel.cancel();
    let res = tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("stops on cancel")
        .expect("join");
    assert!(res.is_ok(), "{res:?}");

    let s = state.stats();
    assert_eq!(s.gaps, 1, "{s:?}");
    assert_eq!(s.recoveries, 1, "{s:?}");
    assert!(s.deltas >= 1 && s.pings >= 1 && s.pongs >= 1, "{s:?}");
    assert!(s.subscriptions >= 3 && s.reconnects >= 2, "{s:?}");
    let subs = subs.lock().expect("lock").clone();
    assert!(subs.len() >= 3);
    for sub in &subs {
        assert_eq!(sub["type"], "market");
        assert_eq!(sub["assets_ids"][0], ASSET);
    }
    let books = state.books.lock().expect("lock");
    let b = books.get(ASSET).expect("book");
    assert!(b.synced);
    assert_eq!(b.hash, "0xc");
    assert_eq!(b.best_bid().map(|l| l.price), Some(dec!(0.50)));
    assert!(!b.bids.contains_key(&dec!(0.30)));
}

#[tokio::test]
async fn gives_up_after_the_reconnect_budget() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("ws://{}/ws/market", listener.local_addr().expect("addr"));
    drop(listener);
    let mut cfg = StreamConfig::new(&url, vec![ASSET.to_string()]);
    cfg.backoff = Duration::from_millis(5);
    cfg.max_reconnects = 2;
    let state = StreamState::default();
    let res = tokio::time::timeout(
        Duration::from_secs(5),
        run(cfg, state.clone(), None, CancellationToken::new()),
    )
    .await
    .expect("bounded");
    assert!(res.is_err());
    assert_eq!(state.stats().reconnects, 2);
    assert_eq!(state.stats().connects, 0);
    let empty = run(
        StreamConfig::new(&url, Vec::new()),
        StreamState::default(),
        None,
        CancellationToken::new(),
    )
    .await;
    assert!(empty.is_err());
}
