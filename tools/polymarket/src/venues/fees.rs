//! `polymarket_fee_estimate` on either venue: the market's fee schedule
//! (local, or the venue's cached) and the builder rates, priced by
//! [`crate::fees`].

use rust_decimal::Decimal;
use serde_json::json;

use crate::PolymarketBundle;
use crate::error::{PolymarketError, Result};
use crate::fees::{self, BuilderRates, FeeEstimate, FeeSource, Role};
use crate::live::Live;
use crate::local_view::{VENUE, find_market, live_token};
use crate::tools::fees::FeeEstimateInput;
use crate::types::{Outcome, parse_decimal};
use nt_mcp_core::bundle::{ToolCtx, ToolOutput};

struct Parsed {
    price: Decimal,
    shares: Decimal,
    role: Role,
    builder: Option<BuilderRates>,
}

fn parse(input: &FeeEstimateInput) -> Result<Parsed> {
    let price = parse_decimal("price", &input.price)?;
    let shares = parse_decimal("size", &input.size)?;
    if price <= Decimal::ZERO || price >= Decimal::ONE {
        return Err(PolymarketError::invalid("price", "must be between 0 and 1"));
    }
    if shares <= Decimal::ZERO {
        return Err(PolymarketError::invalid("size", "must be positive"));
    }
    let builder = match (&input.builder_taker_bps, &input.builder_maker_bps) {
        (None, None) => None,
        (t, m) => {
            let t = t
                .as_ref()
                .map(|v| parse_decimal("builder_taker_bps", v))
                .transpose()?;
            let m = m
                .as_ref()
                .map(|v| parse_decimal("builder_maker_bps", v))
                .transpose()?;
            Some(BuilderRates::new(
                t.unwrap_or_default(),
                m.unwrap_or_default(),
            )?)
        }
    };
    Ok(Parsed {
        price,
        shares,
        role: input.role.unwrap_or(Role::Taker),
        builder,
    })
}

fn text(head: &str, e: &FeeEstimate) -> String {
    format!(
        "{head}\n{} {} {} shares at {}: notional {} pUSD\nplatform fee {} (rate {}, exponent {}, {}), builder fee {}, total {} pUSD, effective rate {}\nschedule from {}",
        e.role.as_str(),
        e.side.as_str(),
        e.shares,
        e.price,
        e.notional,
        e.platform_fee,
        e.schedule.rate,
        e.schedule.exponent,
        if e.schedule.taker_only {
            "takers only"
        } else {
            "takers and makers"
        },
        e.builder_fee,
        e.total_fee,
        e.effective_rate,
        e.schedule_source.describe()
    )
}

impl PolymarketBundle {
    pub(crate) async fn fee_estimate(
        &self,
        input: FeeEstimateInput,
        ctx: &ToolCtx,
    ) -> Result<ToolOutput> {
        let p = parse(&input)?;
        let key = input
            .token_id
            .as_deref()
            .or(input.market.as_deref())
            .ok_or_else(|| {
                PolymarketError::invalid("token_id", "give token_id, or market with outcome")
            })?;
        let (market, token, schedule) = {
            let guard = self.engine(ctx).await?;
            let engine = guard
                .as_ref()
                .ok_or_else(|| PolymarketError::Config("not loaded".into()))?;
            let (m, o) = find_market(engine, key)?;
            let outcome = o.or(input.outcome).unwrap_or(Outcome::Yes);
            (
                m.condition_id.clone(),
                m.token(outcome).to_string(),
                engine.fee_schedule(&m.condition_id),
            )
        };
        let est = fees::estimate(
            schedule,
            FeeSource::LocalClob,
            p.builder,
            p.role,
            input.side,
            p.price,
            p.shares,
        )?;
        Ok(ToolOutput::from_venue(
            VENUE,
            text(&format!("fee estimate for token {token}"), &est),
            json!({ "market": market, "token_id": token, "estimate": est }),
        ))
    }

    pub(crate) async fn live_fee_estimate(
        &self,
        live: &Live,
        input: FeeEstimateInput,
        ctx: &ToolCtx,
    ) -> Result<ToolOutput> {
        let p = parse(&input)?;
        let clob = live.clob().await?;
        let (token, condition) = match (&input.token_id, &input.market) {
            (Some(t), _) => {
                let t = t.trim().to_string();
                let c = fees::venue_condition_of(&clob, &t).await?;
                (t, c)
            }
            (None, Some(m)) => {
                let outcome = input.outcome.unwrap_or(Outcome::Yes);
                let token = live_token(live, m, outcome).await?;
                let c = fees::venue_condition_of(&clob, &token).await?;
                (token, c)
            }
            (None, None) => {
                return Err(PolymarketError::invalid(
                    "token_id",
                    "give token_id, or market with outcome",
                ));
            }
        };
        let now = ctx.clock.now_ms();
        let (schedule, source) =
            fees::venue_schedule(&clob, &self.fee_cache, &condition, now).await?;
        let builder = match p.builder {
            Some(b) => Some(b),
            None => {
                let code = self.config.builder_code.to_string();
                fees::venue_builder_rates(&clob, &code).await?
            }
        };
        let est = fees::estimate(
            schedule, source, builder, p.role, input.side, p.price, p.shares,
        )?;
        Ok(ToolOutput::from_venue(
            crate::live::LIVE_VENUE,
            text(&format!("fee estimate for token {token}"), &est),
            json!({ "market": condition, "token_id": token, "estimate": est }),
        ))
    }
}
