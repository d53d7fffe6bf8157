//! Group commit for paper orders on SQLite. The store has one connection,
//! so orders are written one after another whatever the number of callers;
//! what each costs is mostly the hand-overs to the connection's worker
//! thread and the commit. Orders placed while another is being written
//! wait in a queue; the caller that takes the lead places every queued
//! order in one transaction and commits them together. Each order still
//! answers only once committed, and the served call's audit row goes into
//! the same transaction as its order.

use std::sync::Mutex;

use nt_mcp_core::middleware::audit::{TakenRow, take_call_row};
use tokio::sync::oneshot;

use super::PaperBroker;
use super::place::Step;
use crate::audit::ChainTx;
use crate::compliance::ComplianceRules;
use crate::desk::Placed;
use crate::error::{BrokersError, Result};
use crate::types::OrderRequest;

/// Most orders committed in one transaction.
const MAX_GROUP: usize = 64;

/// The orders waiting for a lead, and the lead itself (fair: callers take
/// it in the order they asked).
#[derive(Default)]
pub(super) struct OrderGroup {
    queue: Mutex<Vec<Pending>>,
    lead: tokio::sync::Mutex<()>,
}

/// One queued order and where its answer goes.
struct Pending {
    req: OrderRequest,
    rules: ComplianceRules,
    row: Option<TakenRow>,
    done: oneshot::Sender<Result<Placed>>,
}

impl OrderGroup {
    fn push(&self, p: Pending) {
        self.queue.lock().unwrap_or_else(|e| e.into_inner()).push(p);
    }

    /// The oldest queued orders, at most [`MAX_GROUP`].
    fn take(&self) -> Vec<Pending> {
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        let n = q.len().min(MAX_GROUP);
        q.drain(..n).collect()
    }
}

impl PaperBroker {
    /// Places `req` in the next group commit: queued, then either answered
    /// by the caller leading that group or, once this caller has the lead,
    /// placed with every order queued before it.
    pub(super) async fn place_grouped(
        &self,
        req: &OrderRequest,
        rules: &ComplianceRules,
    ) -> Result<Placed> {
        loop {
            let (done, mut answer) = oneshot::channel();
            self.group.push(Pending {
                req: req.clone(),
                rules: rules.clone(),
                row: take_call_row(),
                done,
            });
            let _lead = self.group.lead.lock().await;
            loop {
                match answer.try_recv() {
                    Ok(result) => return result,
                    // The lead that took it was cancelled before committing
                    // (its transaction rolled back): queue it again.
                    Err(oneshot::error::TryRecvError::Closed) => break,
                    Err(oneshot::error::TryRecvError::Empty) => {}
                }
                let batch = self.group.take();
                if batch.is_empty() {
                    break;
                }
                self.commit_group(batch).await;
            }
        }
    }

    /// Places `batch` in one transaction, commits, then answers each
    /// caller and publishes the updates. A refusal is an answer like any
    /// other (its audit row is kept); a storage failure while placing or
    /// committing rolls the whole group back, and every caller is told its
    /// order was not stored.
    async fn commit_group(&self, batch: Vec<Pending>) {
        let mut w = match ChainTx::begin(self.store.pool()).await {
            Ok(w) => w,
            Err(err) => return fail_all(batch, &err),
        };
        let mut placed: Vec<(Pending, Step)> = Vec::with_capacity(batch.len());
        let mut rest = batch.into_iter();
        while let Some(mut p) = rest.next() {
            if p.done.is_closed() {
                // The caller went away (its call was cancelled) before the
                // order was placed: it is not placed.
                continue;
            }
            match self.review_in(&mut w, &p.req, &p.rules).await {
                Ok(step) => {
                    if step.answer.is_ok()
                        && let Some(row) = p.row.take()
                    {
                        w.record_row(row);
                    }
                    placed.push((p, step));
                }
                Err(err) => {
                    // A queued write of an earlier order fails at the next
                    // read, so the failure cannot be pinned on one order:
                    // nothing of the group is kept.
                    drop(w);
                    let msg = err.to_string();
                    let _ = p.done.send(Err(err));
                    return fail_all(placed.into_iter().map(|(p, _)| p).chain(rest), &msg);
                }
            }
        }
        let orders = placed.len();
        match w.commit().await {
            Ok(()) => {
                tracing::debug!(orders, "paper orders committed together");
                for (p, step) in placed {
                    self.publish(step.updates);
                    let _ = p.done.send(step.answer);
                }
            }
            Err(err) => fail_all(placed.into_iter().map(|(p, _)| p), &err),
        }
    }
}

/// Answers every order of a group whose transaction failed: none of them
/// was stored, so each may be placed again with the same client id.
fn fail_all(batch: impl IntoIterator<Item = Pending>, err: &dyn std::fmt::Display) {
    for p in batch {
        let _ = p.done.send(Err(BrokersError::CommitFailed(format!(
            "the order was not stored: the transaction it shared with other orders failed ({err}); \
             placing it again with the same client_order_id is safe"
        ))));
    }
}
