//! Orders per second through the order desk and the paper broker with
//! compliance checks and the hash-chained audit trail on, against a SQLite
//! file, the account's rules cached as the bundle caches them. `cargo bench -p nt-brokers --bench paper_orders [-- N]`.

use std::sync::Arc;
use std::time::Instant;

use nt_brokers::broker::Broker;
use nt_brokers::compliance::RulesCache;
use nt_brokers::desk;
use nt_brokers::paper::{PaperBroker, PaperConfig};
use nt_brokers::types::{OrderRequest, Side};
use nt_mcp_core::Store;
use nt_mcp_core::clock::SystemClock;
use nt_mcp_core::store::core_migrations;
use rust_decimal::Decimal;

fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(2000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let dir = tempfile::tempdir().expect("tmp");
        let url = format!("sqlite://{}", dir.path().join("bench.db").display());
        let store = Store::open(&url).await.expect("open");
        let mut m = core_migrations();
        m.extend(nt_brokers::migrations());
        store.migrate(&m).await.expect("migrate");
        let paper: Arc<dyn Broker> = Arc::new(PaperBroker::new(store.clone(), Arc::new(SystemClock), PaperConfig::default()));
        // The account's rules cached across orders, as the bundle keeps them.
        let rules = RulesCache::default();
        let start = Instant::now();
        for i in 0..n {
            let side = if i % 2 == 0 { Side::Buy } else { Side::Sell };
            let req = OrderRequest::market(&format!("bench-{i}"), "SHOP.TO", side, Decimal::from(10));
            desk::place_with(&store, &paper, &req, i as i64, &rules)
                .await
                .expect("place");
        }
        let secs = start.elapsed().as_secs_f64();
        let report = nt_brokers::audit::verify(store.pool()).await.expect("verify");
        println!(
            "paper broker: {n} market orders (compliance + fill + audit, SQLite file) in {secs:.2} s = {:.0} orders/s; audit rows {} intact {}",
            n as f64 / secs,
            report.rows,
            report.intact
        );
    });
}
