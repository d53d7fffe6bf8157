//! `polymarket_build_order`: sign a CLOB V2 order without sending it.

use nt_mcp_core::bundle::{ToolCtx, ToolOutput};
use serde_json::json;

use crate::PolymarketBundle;
use crate::error::{PolymarketError, Result};
use crate::inputs::*;
use crate::live::{self as livepath};
use crate::local_view::*;
use crate::signing::{self, OrderRequest, SignatureType};
use crate::types::parse_decimal;

impl PolymarketBundle {
    /// Fills `input.token_id` from `market` and `outcome` when no token id
    /// is given: Gamma on the live venue, the local CLOB otherwise.
    pub(crate) async fn resolve_order_token(
        &self,
        input: &mut OrderInput,
        ctx: &ToolCtx,
    ) -> Result<()> {
        if !input.token_id.trim().is_empty() {
            return Ok(());
        }
        let Some(market) = input.market.as_deref() else {
            return Err(PolymarketError::invalid(
                "token_id",
                "give token_id, or market with outcome",
            ));
        };
        let outcome = input.outcome.ok_or_else(|| {
            PolymarketError::invalid("outcome", "YES or NO: which token of the market to trade")
        })?;
        input.token_id = match &self.live {
            Some(live) => live_token(live, market, outcome).await?,
            None => {
                let guard = self.engine(ctx).await?;
                let engine = guard
                    .as_ref()
                    .ok_or_else(|| PolymarketError::Config("not loaded".into()))?;
                let (spec, _) = find_market(engine, market)?;
                spec.token(outcome).to_string()
            }
        };
        Ok(())
    }

    pub(crate) async fn build_order(
        &self,
        mut input: OrderInput,
        ctx: &ToolCtx,
    ) -> Result<ToolOutput> {
        let by_position = match input.position_id.as_deref().map(str::trim) {
            Some(p) if !p.is_empty() => {
                if !input.token_id.trim().is_empty() || input.market.is_some() {
                    return Err(PolymarketError::invalid(
                        "position_id",
                        "give exactly one of token_id, market + outcome, or position_id",
                    ));
                }
                input.token_id = p.to_string();
                true
            }
            _ => false,
        };
        self.resolve_order_token(&mut input, ctx).await?;
        let wallet = self.wallet.as_ref().ok_or_else(|| {
            PolymarketError::Refused(
                "no signing key: set POLYMARKET_PRIVATE_KEY to build signed orders".into(),
            )
        })?;
        let price = parse_decimal("price", &input.price)?;
        let size = parse_decimal("size", &input.size)?;
        // Tick size and neg-risk when not given: Gamma on the live venue, the
        // local CLOB's market otherwise, else 0.01 / not neg-risk.
        let known: Option<(crate::types::TickSize, bool, &str)> = if (input.tick_size.is_some()
            && input.neg_risk.is_some())
            || (by_position && input.tick_size.is_some())
        {
            None
        } else if let Some(live) = &self.live {
            let m = live.market_of_token(&input.token_id).await?;
            Some((m.tick()?, m.neg_risk, "gamma"))
        } else {
            let guard = self.engine(ctx).await?;
            guard
                .as_ref()
                .and_then(|e| e.token(&input.token_id))
                .map(|(m, _)| (m.tick, m.neg_risk, "local CLOB"))
        };
        let tick = match &input.tick_size {
            Some(t) => crate::types::TickSize::parse(t)?,
            None => known.map_or(crate::types::TickSize::T0_01, |k| k.0),
        };
        let neg_risk = input.neg_risk.unwrap_or_else(|| known.is_some_and(|k| k.1));
        let salt = input.salt.unwrap_or_else(|| {
            input
                .client_order_id
                .as_deref()
                .map(livepath::salt_for)
                .unwrap_or(0)
        });
        let builder = match input.builder_code.as_deref() {
            Some(code) => signing::parse_bytes32("builder_code", code)?,
            None => self.config.builder_code,
        };
        let metadata = match input.metadata.as_deref() {
            Some(m) => signing::parse_bytes32("metadata", m)?,
            None => alloy_primitives::B256::ZERO,
        };
        let neg_risk = neg_risk && !by_position;
        let req = OrderRequest {
            asset_id: input.token_id.clone(),
            by_position,
            side: input.side,
            price,
            size,
            kind: if input.market_order.unwrap_or(false) {
                signing::OrderKind::Market
            } else {
                signing::OrderKind::Limit
            },
            tick,
            neg_risk,
            expiration: input.expiration.unwrap_or(0),
            salt,
            timestamp_ms: input.timestamp_ms.unwrap_or_else(crate::live::now_ms),
            signature_type: SignatureType::from_u8(self.config.signature_type)?,
            funder: self.config.funder.as_deref().and_then(|f| f.parse().ok()),
            builder,
            metadata,
        };
        let signed = signing::sign_order(wallet, &req, self.config.chain_id)?;
        let route = signing::Exchange::route(by_position, neg_risk);
        let exchange = route.address().to_checksum(None);
        Ok(ToolOutput::new(
            format!(
                "signed a CLOB V2 {} {} {} @ {} for {exchange} (EIP-712 domain version {}; not sent)",
                if req.kind == signing::OrderKind::Market {
                    "market"
                } else {
                    "limit"
                },
                input.side,
                input.size,
                input.price,
                route.domain_version()
            ),
            json!({ "venue": "none (signed only, not sent)", "protocol": "CLOB V2", "exchange": exchange,
                    "exchange_kind": route, "domain_version": route.domain_version(), "chain_id": self.config.chain_id,
                    "tick_size": tick.as_str(), "neg_risk": neg_risk, "metadata_from": known.map(|k| k.2), "order": signed }),
        ))
    }
}
