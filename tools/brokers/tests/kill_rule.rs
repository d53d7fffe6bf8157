//! The emergency kill rule at the paper broker's pre-trade compliance:
//! losing closed trades in a row, a realized loss today (a new day on the
//! fake clock clears it) and a drawdown from the starting cash each refuse
//! orders that add risk, audited as a failed check naming `kill_rule` and
//! its figures, while a closing sell still goes through; the dry-run check
//! (`compliance_check_order`'s path) shows the same check.

use std::sync::Arc;

use nt_brokers::BrokersError;
use nt_brokers::broker::Broker;
use nt_brokers::desk;
use nt_brokers::paper::{PaperBroker, PaperConfig};
use nt_brokers::types::{OrderRequest, OrderStatus, Side};
use nt_mcp_core::Store;
use nt_mcp_core::clock::{Clock, ManualClock};
use nt_mcp_core::store::core_migrations;
use nt_quant::risk::adaptive::KillRule;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use sqlx::Row;

mod support;
use support::pg;

/// Runs `$body` on a fresh SQLite file (`$sqlite`) and on a private
/// PostgreSQL schema (`$pg`; skipped when the server is unreachable).
macro_rules! on_both {
    ($body:ident: $sqlite:ident, $pg:ident) => {
        #[tokio::test]
        async fn $sqlite() {
            let dir = tempfile::tempdir().expect("tmp");
            $body(format!("sqlite://{}", dir.path().join("a.db").display())).await;
        }

        #[tokio::test]
        async fn $pg() {
            let Some(a) = pg::schema(stringify!($pg)).await else {
                return;
            };
            $body(a.url.clone()).await;
            a.drop_schema().await;
        }
    };
}

const T0: i64 = 1_750_000_000_000;
const DAY_MS: i64 = 86_400_000;

struct Desk {
    store: Store,
    clock: Arc<ManualClock>,
    paper: Arc<PaperBroker>,
    broker: Arc<dyn Broker>,
}

async fn desk_with(url: &str, rule: KillRule, cad: Decimal) -> Desk {
    let store = Store::open(url).await.expect("open");
    let mut m = core_migrations();
    m.extend(nt_brokers::migrations());
    store.migrate(&m).await.expect("migrate");
    let clock = Arc::new(ManualClock::new(T0));
    let mut cfg = PaperConfig {
        kill_rule: Some(rule),
        ..PaperConfig::default()
    };
    cfg.starting_cash.insert("CAD".into(), cad);
    let paper = Arc::new(PaperBroker::new(store.clone(), clock.clone(), cfg));
    let broker: Arc<dyn Broker> = paper.clone();
    Desk {
        store,
        clock,
        paper,
        broker,
    }
}

fn req(id: &str, side: Side, qty: Decimal) -> OrderRequest {
    OrderRequest::market(id, "SHOP.TO", side, qty)
}

impl Desk {
    async fn mark(&self, price: Decimal) {
        self.paper
            .set_mark("SHOP.TO", Some(price))
            .await
            .expect("mark");
    }

    async fn place(
        &self,
        id: &str,
        side: Side,
        qty: Decimal,
    ) -> Result<desk::Placed, BrokersError> {
        desk::place(
            &self.store,
            &self.broker,
            &req(id, side, qty),
            self.clock.now_ms(),
        )
        .await
    }

    async fn filled(&self, id: &str, side: Side, qty: Decimal) -> desk::Placed {
        let p = self.place(id, side, qty).await.expect(id);
        assert_eq!(p.order.status, OrderStatus::Filled, "{id}");
        p
    }

    /// The kill rule's refusal of `id`: its message.
    async fn refused(&self, id: &str, side: Side, qty: Decimal) -> String {
        match self.place(id, side, qty).await {
            Err(BrokersError::Refused { rule, message }) => {
                assert_eq!(rule, "kill_rule", "{message}");
                message
            }
            other => panic!("{id}: expected a kill_rule refusal, got {other:?}"),
        }
    }

    /// The payload of the `check_failed` audit row of `id`.
    async fn audited(&self, id: &str) -> String {
        let row = sqlx::query(
            "SELECT payload FROM broker_audit WHERE kind = 'check_failed' AND client_order_id = $1",
        )
        .bind(id)
        .fetch_one(self.store.pool())
        .await
        .expect("audited refusal");
        row.try_get(0).expect("payload")
    }
}

fn kill_detail(checks: &[nt_brokers::compliance::CheckResult]) -> (bool, String) {
    let c = checks
        .iter()
        .find(|c| c.rule == "kill_rule")
        .expect("a kill_rule check");
    (c.passed, c.detail.clone())
}

async fn losing_streak_stops_buys_but_not_closing_sells(url: String) {
    let d = desk_with(
        &url,
        KillRule {
            max_drawdown: 0.0,
            max_period_loss: 0.0,
            max_consecutive_losses: 2,
        },
        dec!(100000),
    )
    .await;
    d.mark(dec!(100)).await;
    let first = d.filled("b-1", Side::Buy, dec!(20)).await;
    let (passed, detail) = kill_detail(&first.checks);
    assert!(
        passed && detail.contains("0 losing closed trades in a row"),
        "{detail}"
    );
    d.mark(dec!(90)).await;
    d.filled("s-1", Side::Sell, dec!(5)).await;
    // One losing trade: still below the limit of two.
    let (passed, detail) = kill_detail(&d.filled("s-2", Side::Sell, dec!(5)).await.checks);
    assert!(
        passed && detail.contains("1 losing closed trades in a row"),
        "{detail}"
    );

    // Two losing closing fills in a row: a buy adds risk and is refused.
    let msg = d.refused("b-2", Side::Buy, dec!(1)).await;
    assert!(
        msg.contains("2 losing periods in a row (limit 2)")
            && msg.contains("2 losing closed trades in a row")
            && msg.contains("starting cash 100000"),
        "{msg}"
    );
    let payload = d.audited("b-2").await;
    assert!(
        payload.contains("kill_rule") && payload.contains("losing periods"),
        "{payload}"
    );
    // The dry run shows the same check.
    let review = desk::check(
        &d.store,
        d.broker.as_ref(),
        &req("b-3", Side::Buy, dec!(1)),
        d.clock.now_ms(),
    )
    .await
    .expect("check");
    assert!(!kill_detail(&review.checks).0);

    // A sell of what is held closes risk: allowed, its check says why.
    let sold = d.filled("s-3", Side::Sell, dec!(5)).await;
    let (passed, detail) = kill_detail(&sold.checks);
    assert!(passed && detail.contains("reduces risk"), "{detail}");
    // The position is 5 now (20 - 5 - 5 - 5), as the replay assumed.
    let held: Decimal = d
        .paper
        .positions()
        .await
        .expect("positions")
        .iter()
        .map(|p| p.qty)
        .sum();
    assert_eq!(held, dec!(5));
}

on_both!(losing_streak_stops_buys_but_not_closing_sells: losing_streak_sqlite, losing_streak_pg);

async fn todays_loss_stops_buys_until_the_next_day(url: String) {
    let d = desk_with(
        &url,
        KillRule {
            max_drawdown: 0.0,
            max_period_loss: 0.001,
            max_consecutive_losses: 0,
        },
        dec!(100000),
    )
    .await;
    d.mark(dec!(100)).await;
    d.filled("b-1", Side::Buy, dec!(100)).await;
    d.mark(dec!(98)).await;
    let sold = d.filled("s-1", Side::Sell, dec!(100)).await;
    // Bought at the ask with slippage, sold at the bid with slippage: the
    // realized loss of the closing fill is the price difference plus its
    // own commission (1); the opening commission is a cost of the position
    // (it shows in the drawdown, cash plus marks against starting cash).
    let bought = 100.07; // 100.02 * 1.0005 rounded to cents (see tests/paper.rs)
    let sell_px = sold
        .order
        .avg_fill_price
        .expect("price")
        .to_string()
        .parse::<f64>()
        .unwrap();
    let realized_loss = (bought - sell_px) * 100.0 + 1.0;
    let drawdown = realized_loss + 1.0;
    let msg = d.refused("b-2", Side::Buy, dec!(1)).await;
    let want = format!(
        "realized loss today {:.2}%",
        realized_loss / 100_000.0 * 100.0
    );
    let want_dd = format!(
        "drawdown from starting cash {:.2}%",
        drawdown / 100_000.0 * 100.0
    );
    assert!(
        msg.contains(&want) && msg.contains(&want_dd) && msg.contains("one-period loss"),
        "{want} / {want_dd} in {msg}"
    );
    assert!(
        msg.contains(&format!("realized today -{realized_loss:.2}")),
        "{msg}"
    );
    d.audited("b-2").await;
    // The next (UTC) day starts a new period: buying is allowed again.
    d.clock.advance(DAY_MS);
    let p = d.filled("b-3", Side::Buy, dec!(1)).await;
    let (passed, detail) = kill_detail(&p.checks);
    assert!(
        passed && detail.contains("realized loss today 0.00%"),
        "{detail}"
    );
}

on_both!(todays_loss_stops_buys_until_the_next_day: todays_loss_sqlite, todays_loss_pg);

async fn a_drawdown_from_the_starting_cash_stops_buys(url: String) {
    let d = desk_with(
        &url,
        KillRule {
            max_drawdown: 0.25,
            max_period_loss: 0.0,
            max_consecutive_losses: 0,
        },
        dec!(10000),
    )
    .await;
    d.mark(dec!(100)).await;
    d.filled("b-1", Side::Buy, dec!(90)).await;
    // Marked at 40 the position lost 60%: equity about 10000 - 9007 + 3600.
    d.mark(dec!(40)).await;
    let msg = d.refused("b-2", Side::Buy, dec!(1)).await;
    assert!(
        msg.contains("drawdown") && msg.contains("CAD: equity"),
        "{msg}"
    );
    // Selling what is held is allowed, and a short sale is refused (by the
    // short-sale rule first, or the kill rule).
    d.filled("s-1", Side::Sell, dec!(90)).await;
    assert!(d.place("s-2", Side::SellShort, dec!(1)).await.is_err());
}

on_both!(a_drawdown_from_the_starting_cash_stops_buys: drawdown_sqlite, drawdown_pg);
