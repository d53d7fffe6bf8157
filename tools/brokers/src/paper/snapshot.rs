//! One read for everything a new paper order needs to know before it is
//! placed: whether any order is working (then the price path is replayed
//! first), whether its client id is known, the cash and position it trades
//! against, the symbol's pinned price and the audit chain's head. One round
//! trip instead of six, under the chain's lock like the rest of the order's
//! transaction.

use std::sync::LazyLock;

use rust_decimal::Decimal;
use sqlx::Row;

use super::PaperBroker;
use super::book::Book;
use crate::audit::ChainTx;
use crate::error::Result;
use crate::types::dec;

/// What [`PaperBroker::snapshot`] read.
pub(super) struct Snapshot {
    /// Some order of the account is working.
    pub(super) working: bool,
    /// The client id (or an order id equal to it) is already used.
    pub(super) known: bool,
    /// Cash in the symbol's currency and the position in the symbol.
    pub(super) book: Book,
    /// The symbol's pinned price, if any.
    pub(super) mark: Option<Decimal>,
}

static SNAPSHOT_SQL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT \
         (SELECT id FROM broker_paper_orders WHERE account_id = $1 AND status IN ('open', 'partially_filled') LIMIT 1), \
         (SELECT id FROM broker_paper_orders WHERE account_id = $1 AND (id = $2 OR client_order_id = $2) LIMIT 1), \
         (SELECT amount FROM broker_paper_cash WHERE account_id = $1 AND currency = $3), \
         (SELECT qty FROM broker_paper_positions WHERE account_id = $1 AND symbol = $4), \
         (SELECT avg_price FROM broker_paper_positions WHERE account_id = $1 AND symbol = $4), \
         (SELECT realized_pnl FROM broker_paper_positions WHERE account_id = $1 AND symbol = $4), \
         (SELECT price FROM broker_paper_marks WHERE symbol = $4), \
         {}",
        ChainTx::HEAD_COLUMNS
    )
});

impl PaperBroker {
    /// Reads the [`Snapshot`] for an order with client id `cid` on `symbol`
    /// (traded in `currency`) inside `w`, and gives `w` the chain's head.
    pub(super) async fn snapshot(
        &self,
        w: &mut ChainTx,
        cid: &str,
        symbol: &str,
        currency: &str,
    ) -> Result<Snapshot> {
        let args = vec![
            (&self.cfg.account_id).into(),
            cid.into(),
            currency.into(),
            symbol.into(),
        ];
        // The transaction's `BEGIN` goes with this read.
        let row = w.fetch_one(SNAPSHOT_SQL.as_str(), args).await?;
        let text =
            |i: usize| -> Result<Option<String>> { Ok(row.try_get::<Option<String>, _>(i)?) };
        let num = |i: usize| -> Result<Decimal> { text(i)?.map_or(Ok(Decimal::ZERO), |s| dec(&s)) };
        let head_seq: Option<i64> = row.try_get(7)?;
        let head_hash = text(8)?;
        w.set_head(head_seq.zip(head_hash));
        Ok(Snapshot {
            working: text(0)?.is_some(),
            known: text(1)?.is_some(),
            book: Book {
                cash: num(2)?,
                qty: num(3)?,
                avg: num(4)?,
                realized: num(5)?,
            },
            mark: text(6)?.map(|s| dec(&s)).transpose()?,
        })
    }
}
