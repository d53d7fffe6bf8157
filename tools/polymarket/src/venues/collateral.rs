//! `polymarket_collateral` on either venue: balances and allowances, and
//! the calldata (or, when asked, the sent transactions) for approvals,
//! wrap/unwrap and split/merge/redeem.

use std::collections::BTreeMap;

use alloy_primitives::Address;
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::PolymarketBundle;
use crate::chain::{ChainClient, SentTx};
use crate::collateral::{self, Call};
use crate::error::{PolymarketError, Result};
use crate::live::{self as livepath, Live};
use crate::local_view::acct_of;
use crate::local_view::{VENUE, find_market};
use crate::rest::AssetType;
use crate::signing::{EXCHANGE_V2, EXCHANGE_V3, NEG_RISK_EXCHANGE_V2};
use crate::tools::collateral::{CollateralAction, CollateralInput};
use crate::types::parse_decimal;
use nt_mcp_core::bundle::{ToolCtx, ToolOutput};

const SIX: u32 = 6;

fn pusd(units: &str) -> Option<Decimal> {
    units.trim().parse::<Decimal>().ok().map(|u| {
        let mut d = u;
        d.set_scale(d.scale() + SIX).ok();
        d.normalize()
    })
}

fn spender_name(addr: &str) -> &'static str {
    let known = [
        (EXCHANGE_V2, "CTF Exchange V2"),
        (NEG_RISK_EXCHANGE_V2, "Neg-Risk CTF Exchange V2"),
        (EXCHANGE_V3, "Exchange V3"),
        (collateral::NEG_RISK_ADAPTER, "Neg-Risk Adapter"),
    ];
    known
        .iter()
        .find(|(a, _)| a.eq_ignore_ascii_case(addr))
        .map_or("other", |(_, n)| *n)
}

/// The venue's `{balance, allowances}` answer in pUSD, with each spender named.
fn balance_view(raw: &Value) -> Value {
    let balance = raw["balance"].as_str().and_then(pusd);
    let mut allowances = BTreeMap::new();
    if let Some(map) = raw["allowances"].as_object() {
        for (addr, v) in map {
            let units = v
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| v.to_string());
            allowances.insert(
                addr.clone(),
                json!({ "spender": spender_name(addr),
                        "allowance": pusd(&units).map_or(json!("unlimited"), |d| json!(d)),
                        "approved": units.trim() != "0" }),
            );
        }
    } else if let Some(a) = raw["allowance"].as_str() {
        allowances.insert(
            "exchange".into(),
            json!({ "allowance": pusd(a), "approved": a.trim() != "0" }),
        );
    }
    json!({ "balance": balance, "allowances": allowances })
}

fn amount(input: &CollateralInput) -> Result<Decimal> {
    let text = input
        .amount
        .as_ref()
        .ok_or_else(|| PolymarketError::invalid("amount", "required for this action"))?;
    parse_decimal("amount", text)
}

fn calls_json(calls: &[Call]) -> Value {
    json!(calls)
}

impl PolymarketBundle {
    fn recipient(&self, input: &CollateralInput) -> Result<Address> {
        if let Some(to) = &input.to {
            return to
                .trim()
                .parse()
                .map_err(|_| PolymarketError::invalid("to", "not an address"));
        }
        if let Some(f) = &self.config.funder {
            return f
                .parse()
                .map_err(|_| PolymarketError::Config("funder is not an address".into()));
        }
        self.wallet.as_ref().map(|w| w.address()).ok_or_else(|| {
            PolymarketError::invalid(
                "to",
                "give the receiving address (no POLYMARKET_PRIVATE_KEY or funder is configured)",
            )
        })
    }

    /// Condition id and neg-risk flag of `market` (Gamma live, else the local CLOB).
    async fn market_kind(&self, input: &CollateralInput, ctx: &ToolCtx) -> Result<(String, bool)> {
        let key = input
            .market
            .as_deref()
            .ok_or_else(|| PolymarketError::invalid("market", "required for this action"))?;
        if let Some(live) = &self.live {
            let m = live.gamma.market(key).await?;
            return Ok((m.condition_id, m.neg_risk));
        }
        let guard = self.engine(ctx).await?;
        let engine = guard
            .as_ref()
            .ok_or_else(|| PolymarketError::Config("not loaded".into()))?;
        let (m, _) = find_market(engine, key)?;
        Ok((m.condition_id.clone(), m.neg_risk))
    }

    async fn live_status(&self, live: &Live, input: &CollateralInput) -> Result<ToolOutput> {
        let clob = live.clob().await?;
        let sig = live.signature_type() as u8;
        let raw = clob
            .balance_allowance(AssetType::Collateral, None, sig, input.refresh)
            .await?;
        let view = balance_view(&raw);
        let missing: Vec<&str> = view["allowances"]
            .as_object()
            .map(|m| {
                m.values()
                    .filter(|a| a["approved"] == false)
                    .filter_map(|a| a["spender"].as_str())
                    .collect()
            })
            .unwrap_or_default();
        let token = match &input.token_id {
            Some(t) => Some(balance_view(
                &clob
                    .balance_allowance(AssetType::Conditional, Some(t), sig, input.refresh)
                    .await?,
            )),
            None => None,
        };
        let mut text = format!(
            "pUSD balance {} (account {}, signature type {sig})",
            view["balance"].as_str().unwrap_or("unknown"),
            live.address
        );
        if missing.is_empty() {
            text.push_str("; every exchange allowance is set");
        } else {
            text.push_str(&format!(
                "; not approved for: {} (polymarket_collateral with action approvals gives the calldata)",
                missing.join(", ")
            ));
        }
        if let (Some(t), Some(v)) = (&input.token_id, &token) {
            text.push_str(&format!(
                "\ntoken {t}: {} shares",
                v["balance"].as_str().unwrap_or("unknown")
            ));
        }
        Ok(ToolOutput::from_venue(
            crate::live::LIVE_VENUE,
            text,
            json!({ "collateral": "pUSD", "account": live.address, "signature_type": sig,
                    "pusd": view, "missing_approvals": missing, "token": token, "refreshed": input.refresh }),
        ))
    }

    /// Sends `calls` from the configured EOA through the Polygon RPC, with
    /// an audit row before (what will be sent) and after (the hashes).
    async fn send_calls(&self, calls: &[Call], ctx: &ToolCtx) -> Result<Vec<SentTx>> {
        if !ctx.live_trading {
            return Err(PolymarketError::Refused(
                "sending transactions needs live trading on (--live-trading / NT_LIVE_TRADING); without send=true the calldata is returned for review".into(),
            ));
        }
        let wallet = self.wallet.as_ref().ok_or_else(|| {
            PolymarketError::Refused("sending needs POLYMARKET_PRIVATE_KEY".into())
        })?;
        if self.config.signature_type != 0 {
            return Err(PolymarketError::Refused(
                "only an EOA wallet (signature type 0) sends its own transactions; a proxy, safe or deposit wallet acts through its contract and Polymarket's relayer: use the calldata from that wallet".into(),
            ));
        }
        let url = self.config.rpc_url.as_deref().ok_or_else(|| {
            PolymarketError::Refused(
                "sending needs a Polygon JSON-RPC endpoint: set POLYGON_RPC_URL (or rpc_url in the manifest)".into(),
            )
        })?;
        let pool = ctx.store.pool();
        let mut tx = pool.begin().await?;
        ctx.audit(&mut *tx, "onchain_tx_pending", &json!({ "calls": calls }))
            .await?;
        tx.commit().await?;
        let sent = ChainClient::new(url, self.config.chain_id)?
            .send(wallet, calls)
            .await?;
        let mut tx = pool.begin().await?;
        ctx.audit(&mut *tx, "onchain_tx_sent", &json!({ "sent": sent }))
            .await?;
        tx.commit().await?;
        Ok(sent)
    }

    /// `polymarket_collateral`.
    pub(crate) async fn collateral(
        &self,
        input: CollateralInput,
        ctx: &ToolCtx,
    ) -> Result<ToolOutput> {
        let venue = if self.live.is_some() {
            livepath::LIVE_VENUE
        } else {
            VENUE
        };
        let review = if input.send {
            "sending"
        } else {
            "calldata for review: send=true sends it from an EOA wallet, or sign it in your wallet (nothing was sent)"
        };
        let (text, body) = match input.action {
            CollateralAction::Status => {
                if let Some(live) = &self.live {
                    return self.live_status(live, &input).await;
                }
                let guard = self.engine(ctx).await?;
                let engine = guard
                    .as_ref()
                    .ok_or_else(|| PolymarketError::Config("not loaded".into()))?;
                let acct = engine.account(acct_of(ctx));
                let (cash, available) = acct
                    .map(|a| (a.cash, a.available_cash()))
                    .unwrap_or_default();
                (
                    format!(
                        "paper pUSD {cash} (available {available}); the local CLOB needs no approvals"
                    ),
                    json!({ "collateral": "pUSD", "account": acct_of(ctx), "pusd": { "balance": cash, "available": available } }),
                )
            }
            CollateralAction::Approvals => {
                let calls = collateral::approvals();
                (
                    format!(
                        "{} approvals a V2 trading wallet needs (pUSD and CTF for each exchange and adapter); {review}",
                        calls.len()
                    ),
                    json!({ "calls": calls_json(&calls) }),
                )
            }
            CollateralAction::Wrap | CollateralAction::Unwrap => {
                let amt = amount(&input)?;
                let to = self.recipient(&input)?;
                let calls = if input.action == CollateralAction::Wrap {
                    collateral::wrap(to, amt)?
                } else {
                    collateral::unwrap(to, amt)?
                };
                (
                    format!(
                        "{}; then polymarket_collateral status with refresh=true syncs the CLOB; {review}",
                        calls
                            .iter()
                            .map(|c| c.purpose.as_str())
                            .collect::<Vec<_>>()
                            .join(", then ")
                    ),
                    json!({ "to": to.to_checksum(None), "amount": amt, "calls": calls_json(&calls) }),
                )
            }
            CollateralAction::Split | CollateralAction::Merge | CollateralAction::Redeem => {
                let (cond, neg_risk) = self.market_kind(&input, ctx).await?;
                let call = match input.action {
                    CollateralAction::Split => collateral::split(&cond, neg_risk, amount(&input)?)?,
                    CollateralAction::Merge => collateral::merge(&cond, neg_risk, amount(&input)?)?,
                    _ => collateral::redeem(&cond, neg_risk)?,
                };
                (
                    format!("{}; {review}", call.purpose),
                    json!({ "market": cond, "neg_risk": neg_risk, "calls": calls_json(std::slice::from_ref(&call)) }),
                )
            }
        };
        let mut body = body;
        let mut text = text;
        body["sent"] = json!(false);
        if input.send {
            let calls: Vec<Call> = serde_json::from_value(body["calls"].clone()).map_err(|_| {
                PolymarketError::invalid("send", "this action has no transaction to send")
            })?;
            let sent = self.send_calls(&calls, ctx).await?;
            text = format!(
                "sent {} transaction(s): {}",
                sent.len(),
                sent.iter()
                    .map(|t| format!("{} ({})", t.hash, t.purpose))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            body["sent"] = json!(true);
            body["transactions"] = json!(sent);
        }
        Ok(ToolOutput::from_venue(venue, text, body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn venue_units_become_pusd_and_spenders_are_named() {
        let v = balance_view(&json!({"balance": "1250500000", "allowances": {
            EXCHANGE_V2: "115792089237316195423570985008687907853269984665640564039457584007913129639935",
            NEG_RISK_EXCHANGE_V2: "0"}}));
        assert_eq!(v["balance"], "1250.5");
        assert_eq!(v["allowances"][EXCHANGE_V2]["spender"], "CTF Exchange V2");
        assert_eq!(v["allowances"][EXCHANGE_V2]["approved"], true);
        assert_eq!(v["allowances"][NEG_RISK_EXCHANGE_V2]["approved"], false);
    }
}
