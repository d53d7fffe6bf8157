//! The live venue's user channel behind `polymarket_stream_orders`: start,
//! stop and report the authenticated stream of own orders and fills.

use serde_json::{Value, json};
use sqlx::Row;

use crate::auth::ApiCreds;
use crate::error::{PolymarketError, Result};
use crate::live::Live;
use crate::rest::ClobClient;
use crate::tools::stream::{StreamOrdersAction, StreamOrdersInput};
use crate::user_ws::{Recorder, Started, UserStreamConfig, UserStreamStatus, user_url};
use crate::venue::AuditInfo;
use crate::venues::LiveVenue;
use nt_mcp_core::bundle::{ToolCtx, ToolOutput};

/// Why the local CLOB refuses the tool.
pub(crate) const LOCAL_REFUSAL: &str = "the user channel (own orders and fills over the CLOB's authenticated WebSocket) needs the live venue (POLYMARKET_PRIVATE_KEY with API credentials); the local CLOB's orders and fills are always current (polymarket_open_orders, polymarket_positions)";

fn is_condition_id(s: &str) -> bool {
    s.len() == 66 && s.starts_with("0x") && s[2..].chars().all(|c| c.is_ascii_hexdigit())
}

impl LiveVenue<'_> {
    /// The API credentials the subscription sends: the configured ones, or
    /// those L1 auth derives for the wallet (as the live client does).
    async fn user_channel_creds(&self) -> Result<ApiCreds> {
        if let Some(c) = &self.config.api_creds {
            return Ok(c.clone());
        }
        let wallet = self.wallet.as_ref().ok_or_else(|| {
            PolymarketError::Config(
                "the user channel needs API credentials or a private key".into(),
            )
        })?;
        ClobClient::new(&self.config.clob_url, None, None)?
            .create_or_derive_api_key(wallet, self.config.chain_id, 0)
            .await
    }

    /// Condition ids to subscribe: `markets` resolved, or the markets of
    /// open live orders.
    async fn user_channel_markets(
        &self,
        live: &Live,
        markets: &[String],
        ctx: &ToolCtx,
    ) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for m in markets {
            let m = m.trim();
            if m.is_empty() {
                return Err(PolymarketError::invalid("markets", "an entry is empty"));
            }
            if is_condition_id(m) {
                out.push(m.to_ascii_lowercase());
                continue;
            }
            let gm = live.gamma.market(m).await.map_err(|e| match e {
                PolymarketError::NotFound(msg) => PolymarketError::invalid("markets", msg),
                other => other,
            })?;
            out.push(gm.condition_id);
        }
        if out.is_empty() {
            let rows = sqlx::query(
                "SELECT DISTINCT market FROM pm_live_orders \
                 WHERE status NOT IN ('rejected', 'cancelled', 'matched')",
            )
            .fetch_all(ctx.store.pool())
            .await?;
            for r in rows {
                out.push(r.try_get::<String, _>("market")?);
            }
        }
        Ok(out)
    }

    /// The latest live orders and fills as recorded.
    async fn recorded(&self, ctx: &ToolCtx, limit: i64) -> Result<(Vec<Value>, Vec<Value>)> {
        let pool = ctx.store.pool();
        let orders = sqlx::query(
            "SELECT client_order_id, venue_order_id, market, side, price, size, size_matched, status, \
             updated_ms FROM pm_live_orders ORDER BY updated_ms DESC, client_order_id LIMIT $1",
        )
        .bind(limit)
        .fetch_all(pool)
        .await?
        .iter()
        .map(|r| {
            Ok(json!({
                "client_order_id": r.try_get::<String, _>("client_order_id")?,
                "order_id": r.try_get::<Option<String>, _>("venue_order_id")?,
                "market": r.try_get::<String, _>("market")?,
                "side": r.try_get::<String, _>("side")?,
                "price": r.try_get::<String, _>("price")?,
                "size": r.try_get::<String, _>("size")?,
                "size_matched": r.try_get::<Option<String>, _>("size_matched")?,
                "status": r.try_get::<String, _>("status")?,
                "updated_ms": r.try_get::<i64, _>("updated_ms")?,
            }))
        })
        .collect::<Result<Vec<_>>>()?;
        let fills = sqlx::query(
            "SELECT trade_id, status, role, venue_order_id, client_order_id, placed_here, own_size, \
             own_price, side, market, asset_id, outcome, updated_ms FROM pm_live_fills \
             ORDER BY updated_ms DESC, trade_id LIMIT $1",
        )
        .bind(limit)
        .fetch_all(pool)
        .await?
        .iter()
        .map(|r| {
            Ok(json!({
                "trade_id": r.try_get::<String, _>("trade_id")?,
                "status": r.try_get::<String, _>("status")?,
                "role": r.try_get::<String, _>("role")?,
                "order_id": r.try_get::<Option<String>, _>("venue_order_id")?,
                "client_order_id": r.try_get::<Option<String>, _>("client_order_id")?,
                "placed_here": r.try_get::<i64, _>("placed_here")? != 0,
                "size": r.try_get::<String, _>("own_size")?,
                "price": r.try_get::<String, _>("own_price")?,
                "taker_side": r.try_get::<String, _>("side")?,
                "market": r.try_get::<String, _>("market")?,
                "asset_id": r.try_get::<String, _>("asset_id")?,
                "outcome": r.try_get::<Option<String>, _>("outcome")?,
                "updated_ms": r.try_get::<i64, _>("updated_ms")?,
            }))
        })
        .collect::<Result<Vec<_>>>()?;
        Ok((orders, fills))
    }

    /// `polymarket_stream_orders` on the live venue.
    pub(crate) async fn live_stream_orders(
        &self,
        live: &Live,
        input: StreamOrdersInput,
        ctx: &ToolCtx,
    ) -> Result<ToolOutput> {
        let limit = i64::from(input.limit.unwrap_or(20).clamp(1, 200));
        let (action, status): (&str, Option<UserStreamStatus>) = match input.action {
            StreamOrdersAction::Start => {
                let markets = self.user_channel_markets(live, &input.markets, ctx).await?;
                let creds = self.user_channel_creds().await?;
                let recorder = Recorder::new(
                    ctx.store.pool().clone(),
                    ctx.clock.clone(),
                    AuditInfo::from_ctx(ctx),
                    &creds.key,
                );
                let cfg = UserStreamConfig::new(&user_url(&self.config.ws_url), creds, markets);
                let started = self.user_stream.start(cfg, recorder);
                let said = match started {
                    Started::Started => "started",
                    Started::AlreadyRunning => "already running",
                    Started::Restarted => "restarted for the new markets",
                };
                (said, self.user_stream.status())
            }
            StreamOrdersAction::Stop => ("stopped", self.user_stream.stop()),
            StreamOrdersAction::Status => ("status", self.user_stream.status()),
        };
        let (orders, fills) = self.recorded(ctx, limit).await?;
        let head = match &status {
            None => "user channel: not started".to_string(),
            Some(s) => format!(
                "user channel {action}: {} ({}), {}; {} order event(s), {} trade event(s); \
                 {} order update(s), {} fill(s) recorded ({} of orders this server did not place), \
                 {} fill status change(s), {} reconnect(s)",
                if s.running { "running" } else { "not running" },
                if s.stats.connected {
                    "connected"
                } else {
                    "not connected"
                },
                if s.markets.is_empty() {
                    "every market of this API key".to_string()
                } else {
                    format!("{} market(s)", s.markets.len())
                },
                s.stats.order_events,
                s.stats.trade_events,
                s.stats.orders_updated,
                s.stats.fills_recorded,
                s.stats.fills_not_placed_here,
                s.stats.fills_updated,
                s.stats.reconnects,
            ),
        };
        let mut lines = vec![head];
        if let Some(err) = status.as_ref().and_then(|s| s.stats.last_error.as_ref()) {
            lines.push(format!("stopped on: {err}"));
        }
        if let Some(n) = status.as_ref().and_then(|s| s.stats.notice.as_ref()) {
            lines.push(format!("the venue said: {n}"));
        }
        lines.extend(orders.iter().map(|o| {
            format!(
                "- order {} {}: {} matched of {}",
                o["client_order_id"].as_str().unwrap_or(""),
                o["status"].as_str().unwrap_or(""),
                o["size_matched"].as_str().unwrap_or("?"),
                o["size"].as_str().unwrap_or("")
            )
        }));
        lines.extend(fills.iter().map(|f| {
            format!(
                "- fill {} {} {} {} @ {} ({})",
                f["trade_id"].as_str().unwrap_or(""),
                f["status"].as_str().unwrap_or(""),
                f["role"].as_str().unwrap_or(""),
                f["size"].as_str().unwrap_or(""),
                f["price"].as_str().unwrap_or(""),
                f["client_order_id"]
                    .as_str()
                    .map_or("not placed by this server".to_string(), |c| format!(
                        "order {c}"
                    ))
            )
        }));
        Ok(ToolOutput::from_venue(
            crate::live::LIVE_VENUE,
            lines.join("\n"),
            json!({ "action": action, "stream": status, "orders": orders, "fills": fills }),
        ))
    }
}
