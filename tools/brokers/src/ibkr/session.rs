//! The gateway session keep-alive: a background `POST /tickle` task tied to
//! the client's lifetime.

use serde_json::Value;

use super::VENUE;
use super::http::IbkrClient;

/// The background keep-alive task; aborted when the client is dropped.
#[derive(Debug)]
pub(super) struct KeepAlive(tokio::task::JoinHandle<()>);

impl Drop for KeepAlive {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl IbkrClient {
    /// Starts the keep-alive task once, when configured and a tokio runtime
    /// is there to run it (built outside a runtime, it starts on the first
    /// call). The task holds only the HTTP client and the URL, never the
    /// client itself, so dropping the client ends it.
    /// <https://www.interactivebrokers.com/campus/ibkr-api-page/cpapi-v1/#tickle>
    pub(super) fn ensure_keepalive(&self) {
        let Some(period) = self.cfg.keepalive.filter(|p| !p.is_zero()) else {
            return;
        };
        if self.keepalive.get().is_some() {
            return;
        }
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let Ok(http) = self.http.client() else {
            return;
        };
        let http = http.clone();
        let url = format!("{}/tickle", self.cfg.base_url.trim_end_matches('/'));
        let _ = self.keepalive.get_or_init(|| {
            KeepAlive(rt.spawn(async move {
                let start = tokio::time::Instant::now() + period;
                let mut ticker = tokio::time::interval_at(start, period);
                ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    ticker.tick().await;
                    let sent = http
                        .post(&url)
                        .header("Accept", "application/json")
                        .header("User-Agent", "neural-trader-mcp")
                        .send()
                        .await;
                    match sent {
                        Ok(r) if r.status().is_success() => {
                            let body = r.bytes().await.unwrap_or_default();
                            let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                            if v["iserver"]["authStatus"]["authenticated"].as_bool() == Some(false)
                            {
                                tracing::warn!(
                                    venue = VENUE,
                                    "IB gateway session is not authenticated; log in at the gateway"
                                );
                            }
                        }
                        Ok(r) => tracing::warn!(
                            venue = VENUE,
                            status = r.status().as_u16(),
                            "IB keep-alive tickle refused"
                        ),
                        Err(e) => tracing::warn!(
                            venue = VENUE,
                            error = %nt_venue_http::transport_detail(e),
                            "IB keep-alive tickle failed"
                        ),
                    }
                }
            }))
        });
    }
}
