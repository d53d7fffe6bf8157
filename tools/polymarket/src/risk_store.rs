//! Risk state persistence (`pm_risk`) and the pre-trade check on the local CLOB.

use rust_decimal::Decimal;
use sqlx::Row;

use crate::engine::Engine;
use crate::error::{PolymarketError, Result};
use crate::local_view::*;
use crate::risk::{OrderExposure, RiskLimits, RiskState};
use crate::types::Side;

pub(crate) async fn load_risk(
    pool: &sqlx::AnyPool,
    id: &str,
    now_ms: i64,
    equity_now: Decimal,
) -> Result<RiskState> {
    let row = sqlx::query("SELECT limits, kill_switch FROM pm_risk WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await?;
    let row_missing = row.is_none();
    let mut state = match row {
        Some(row) => {
            let text: String = row.try_get("limits")?;
            let mut s: RiskState = serde_json::from_str(&text)
                .map_err(|e| PolymarketError::Config(format!("stored risk state: {e}")))?;
            s.kill_switch = row.try_get::<i64, _>("kill_switch")? != 0;
            s
        }
        None => RiskState::new(RiskLimits::default(), now_ms, equity_now),
    };
    if state.roll_day(now_ms, equity_now) || row_missing {
        save_risk(pool, id, &state, now_ms).await?;
    }
    Ok(state)
}

pub(crate) async fn save_risk(
    pool: &sqlx::AnyPool,
    id: &str,
    state: &RiskState,
    now_ms: i64,
) -> Result<()> {
    let text = serde_json::to_string(state).map_err(|e| PolymarketError::Config(e.to_string()))?;
    sqlx::query(
        "INSERT INTO pm_risk (id, limits, kill_switch, updated_ms) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (id) DO UPDATE SET limits = excluded.limits, kill_switch = excluded.kill_switch, \
         updated_ms = excluded.updated_ms",
    )
    .bind(id)
    .bind(text)
    .bind(i64::from(state.kill_switch))
    .bind(now_ms)
    .execute(pool)
    .await?;
    Ok(())
}

pub(crate) fn risk_check(
    risk: &RiskState,
    account: &str,
    engine: &Engine,
    token: &str,
    side: Side,
    price: Decimal,
    size: Decimal,
) -> Result<()> {
    let market = engine
        .token(token)
        .map(|(m, _)| m.condition_id.clone())
        .unwrap_or_default();
    let (market_exposure, total_exposure) = exposures(engine, account, &market);
    risk.check(&OrderExposure {
        market,
        notional: if side == Side::Buy {
            price * size
        } else {
            Decimal::ZERO
        },
        market_exposure,
        total_exposure,
        equity: equity(engine, account),
    })
}
