//! Throughput figures: L2 book updates applied per second (one core), a full
//! arbitrage scan over 10,000 markets, and EIP-712 order signatures per
//! second. Run: `cargo bench -p nt-polymarket --bench polymarket_bench`.

use std::hint::black_box;
use std::time::Instant;

use nt_polymarket::arb::{self, ArbParams, BinaryQuote, NegRiskEvent};
use nt_polymarket::book::{
    BookMsg, BookSet, MarketEvent, OrderSummary, PriceChange, PriceChangeMsg,
};
use nt_polymarket::engine::Level;
use nt_polymarket::signing::{self, OrderRequest, SignatureType, Wallet};
use nt_polymarket::types::{Side, TickSize};
use rust_decimal::Decimal;

fn lcg(state: &mut u64) -> u64 {
    *state = state
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    *state >> 33
}

fn bench_l2() {
    let mut set = BookSet::new();
    let level = |c: i64| OrderSummary {
        price: Decimal::new(c, 2).to_string(),
        size: "100".into(),
    };
    set.apply_book(&BookMsg {
        asset_id: "tok".into(),
        market: "0xm".into(),
        bids: (30..50).map(level).collect(),
        asks: (51..71).map(level).collect(),
        timestamp: "1".into(),
        hash: String::new(),
    })
    .expect("snapshot");
    let mut rng = 7u64;
    let n = 200_000usize;
    let events: Vec<MarketEvent> = (0..n)
        .map(|i| {
            let buy = lcg(&mut rng).is_multiple_of(2);
            let cents = if buy {
                30 + (lcg(&mut rng) % 19) as i64
            } else {
                52 + (lcg(&mut rng) % 19) as i64
            };
            MarketEvent::PriceChange(PriceChangeMsg {
                market: "0xm".into(),
                timestamp: (2 + i).to_string(),
                price_changes: vec![PriceChange {
                    asset_id: "tok".into(),
                    price: Decimal::new(cents, 2).to_string(),
                    size: (1 + lcg(&mut rng) % 500).to_string(),
                    side: if buy { Side::Buy } else { Side::Sell },
                    hash: String::new(),
                    best_bid: Some("0.49".into()),
                    best_ask: Some("0.51".into()),
                }],
            })
        })
        .collect();
    let frames: Vec<String> = events
        .iter()
        .take(50_000)
        .map(|e| serde_json::to_string(e).expect("json"))
        .collect();
    let start = Instant::now();
    for e in &events {
        black_box(set.apply(e).expect("apply"));
    }
    let secs = start.elapsed().as_secs_f64();
    assert!(set.out_of_sync().is_empty());
    println!(
        "l2_apply: {n} price_change deltas in {secs:.3}s = {:.0} updates/s (pre-parsed)",
        n as f64 / secs
    );
    let start = Instant::now();
    for f in &frames {
        for e in nt_polymarket::book::parse_frame(f).expect("parse") {
            black_box(set.apply(&e).expect("apply"));
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "l2_parse_apply: {} JSON frames in {secs:.3}s = {:.0} updates/s (parse + apply)",
        frames.len(),
        frames.len() as f64 / secs
    );
}

fn bench_arb() {
    let mut rng = 11u64;
    let lv = |c: i64, rng: &mut u64| {
        Some(Level {
            price: Decimal::new(c, 3),
            size: Decimal::from(10 + lcg(rng) % 1000),
        })
    };
    let binaries: Vec<BinaryQuote> = (0..8_000)
        .map(|i| {
            let mid = 100 + (lcg(&mut rng) % 800) as i64;
            let skew = (lcg(&mut rng) % 25) as i64;
            BinaryQuote {
                market: format!("m{i}"),
                label: String::new(),
                yes_bid: lv(mid - 10, &mut rng),
                yes_ask: lv(mid + 10 - skew, &mut rng),
                no_bid: lv(1000 - mid - 10, &mut rng),
                no_ask: lv(1000 - mid + 10 - skew, &mut rng),
            }
        })
        .collect();
    let events: Vec<NegRiskEvent> = (0..500)
        .map(|e| NegRiskEvent {
            event: format!("e{e}"),
            augmented: Some(false),
            outcomes: (0..4)
                .map(|o| {
                    let p = 230 + (lcg(&mut rng) % 50) as i64;
                    BinaryQuote {
                        market: format!("e{e}o{o}"),
                        label: String::new(),
                        yes_bid: lv(p - 10, &mut rng),
                        yes_ask: lv(p + 10, &mut rng),
                        no_bid: None,
                        no_ask: None,
                    }
                })
                .collect(),
        })
        .collect();
    let params = ArbParams::default();
    let runs = 20;
    let start = Instant::now();
    let mut found = 0;
    for _ in 0..runs {
        found = black_box(arb::scan(&binaries, &events, &params)).len();
    }
    let per = start.elapsed().as_secs_f64() / f64::from(runs);
    println!(
        "arb_scan: 10,000 markets (8,000 binary + 500 neg-risk events x 4) in {:.2} ms per full scan, {found} opportunities",
        per * 1000.0
    );
}

fn bench_sign() {
    let wallet =
        Wallet::from_hex("0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")
            .expect("key");
    let n = 2_000u64;
    let start = Instant::now();
    for salt in 0..n {
        let req = OrderRequest {
            asset_id:
                "71321045679252212594626385532706912750332728571942532289631379312455583992563"
                    .into(),
            by_position: false,
            side: Side::Buy,
            price: Decimal::new(57, 2),
            size: Decimal::from(100),
            kind: signing::OrderKind::Limit,
            tick: TickSize::T0_01,
            neg_risk: false,
            expiration: 0,
            salt,
            timestamp_ms: 1_750_000_000_000,
            signature_type: SignatureType::Eoa,
            funder: None,
            builder: alloy_primitives::B256::ZERO,
            metadata: alloy_primitives::B256::ZERO,
        };
        black_box(signing::sign_order(&wallet, &req, 137).expect("sign"));
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "sign_order: {n} EIP-712 CLOB V2 orders in {secs:.3}s = {:.0} signatures/s",
        n as f64 / secs
    );
}

fn main() {
    bench_l2();
    bench_arb();
    bench_sign();
}
