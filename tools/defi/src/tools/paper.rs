//! `defi_paper_deposit`, `defi_paper_withdraw`: the paper DeFi ledger.

use std::sync::Arc;

use nt_mcp_core::{ToolCtx, ToolError, ToolOutput};
use rust_decimal::Decimal;
use rust_decimal::prelude::FromPrimitive;
use serde_json::json;

use super::answer;
use super::inputs::{PaperDepositInput, PaperWithdrawInput};
use crate::DefiBundle;
use crate::error::DefiError;
use crate::paper::{self, WithdrawAmount};

pub(crate) async fn deposit(
    b: Arc<DefiBundle>,
    input: PaperDepositInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    let data = b.data(&ctx).await?;
    let v = data.vault(&input.vault_id)?;
    let amount = match (input.amount, input.amount_usd) {
        (Some(a), None) => a,
        (None, Some(usd)) => {
            if usd <= Decimal::ZERO {
                return Err(DefiError::invalid("amount_usd", "must be positive").into());
            }
            let price = data
                .want_price(v)
                .and_then(Decimal::from_f64)
                .filter(|p| *p > Decimal::ZERO)
                .ok_or_else(|| {
                    DefiError::NotFound(format!("no price for {}'s want token", v.id))
                })?;
            (usd / price).round_dp(18)
        }
        _ => {
            return Err(DefiError::invalid(
                "amount",
                "give exactly one of `amount` (want tokens) or `amount_usd`",
            )
            .into());
        }
    };
    let fill = paper::book(&ctx, &data, v, &input.client_id, Some(amount), None).await?;
    let text = format!(
        "{}paper deposit {} {} into {} at price per share {} -> {} shares (${}); accrues at {} APY",
        if fill.replayed {
            "(already booked) "
        } else {
            ""
        },
        fill.want_amount.round_dp(10),
        v.token,
        v.id,
        fill.ppfs.round_dp(10),
        fill.shares.round_dp(10),
        fill.usd_value,
        super::pct(data.total_apy(&v.id))
    );
    Ok(answer(
        &data,
        text,
        json!({ "fill": fill, "apy": data.total_apy(&v.id) }),
    ))
}

pub(crate) async fn withdraw(
    b: Arc<DefiBundle>,
    input: PaperWithdrawInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    let data = b.data(&ctx).await?;
    let v = data.vault(&input.vault_id)?;
    let how = match (input.shares, input.amount, input.all) {
        (Some(s), None, false) => WithdrawAmount::Shares(s),
        (None, Some(a), false) => WithdrawAmount::Want(a),
        (None, None, _) => WithdrawAmount::All,
        _ => {
            return Err(DefiError::invalid(
                "shares",
                "give at most one of `shares`, `amount` or `all`",
            )
            .into());
        }
    };
    let fill = paper::book(&ctx, &data, v, &input.client_id, None, Some(how)).await?;
    let text = format!(
        "{}paper withdraw {} shares of {} at price per share {} -> {} {} (${}) after a {} {} fee",
        if fill.replayed {
            "(already booked) "
        } else {
            ""
        },
        fill.shares.round_dp(10),
        v.id,
        fill.ppfs.round_dp(10),
        fill.want_amount.round_dp(10),
        v.token,
        fill.usd_value,
        fill.fee_want.round_dp(10),
        v.token
    );
    Ok(answer(&data, text, json!({ "fill": fill })))
}
