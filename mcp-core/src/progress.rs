//! Progress reporting for long tools: sent to the client as MCP progress
//! notifications while the call is open, and kept for `job_status` once the
//! call has turned into a background job.

use std::sync::{Arc, Mutex};

use rmcp::model::{ProgressNotificationParam, ProgressToken};
use rmcp::{Peer, RoleServer};
use serde::Serialize;

/// The latest progress a tool reported.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct ProgressSnapshot {
    /// Work done so far, in the tool's units.
    pub progress: f64,
    /// Total work, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<f64>,
    /// What the tool is doing now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(Default)]
struct State {
    client: Option<(Peer<RoleServer>, ProgressToken)>,
    latest: ProgressSnapshot,
}

/// A handle a tool uses to report progress; cheap to clone.
#[derive(Clone, Default)]
pub struct Progress {
    state: Arc<Mutex<State>>,
}

impl Progress {
    /// A reporter that only records (no client to notify).
    pub fn recording() -> Self {
        Self::default()
    }

    /// A reporter that also notifies the client under `token`.
    pub fn to_client(peer: Peer<RoleServer>, token: ProgressToken) -> Self {
        Self {
            state: Arc::new(Mutex::new(State {
                client: Some((peer, token)),
                latest: ProgressSnapshot::default(),
            })),
        }
    }

    /// Reports progress. Never fails: a client that went away only stops
    /// getting notifications.
    pub async fn report(&self, progress: f64, total: Option<f64>, message: impl Into<String>) {
        let message = message.into();
        let client = {
            let mut state = match self.state.lock() {
                Ok(guard) => guard,
                Err(poisoned) => poisoned.into_inner(),
            };
            state.latest = ProgressSnapshot {
                progress,
                total,
                message: Some(message.clone()),
            };
            state.client.clone()
        };
        if let Some((peer, token)) = client {
            let mut param = ProgressNotificationParam::new(token, progress).with_message(message);
            if let Some(total) = total {
                param = param.with_total(total);
            }
            if let Err(err) = peer.notify_progress(param).await {
                tracing::debug!(error = %err, "progress notification not delivered");
            }
        }
    }

    /// Stops notifying the client (the call has answered; the work goes on as a job).
    pub fn detach_client(&self) {
        if let Ok(mut state) = self.state.lock() {
            state.client = None;
        }
    }

    /// The latest reported progress.
    pub fn snapshot(&self) -> ProgressSnapshot {
        match self.state.lock() {
            Ok(state) => state.latest.clone(),
            Err(poisoned) => poisoned.into_inner().latest.clone(),
        }
    }
}
