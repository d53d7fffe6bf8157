//! Compliance and audit tools: pre-trade checks without placing, the
//! account's rules and CIRO coverage, the audit chain's verification and
//! export.

use std::sync::Arc;

use nt_mcp_core::bundle::NoArgs;
use nt_mcp_core::{Route, ToolCtx, ToolError, ToolOutput, route};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use super::orders::OrderInput;
use super::out;
use crate::BrokersBundle;
use crate::compliance::{self, ComplianceRules};
use crate::{audit, desk};

/// The rules to read or store.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RulesInput {
    /// Broker whose account rules to read or set (default `paper`).
    #[serde(default)]
    broker: Option<String>,
    /// New rules to store; omit to read the current ones.
    #[serde(default)]
    set: Option<ComplianceRules>,
}

/// Which audit rows to export.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExportInput {
    /// First sequence number (default 1).
    #[serde(default)]
    from_seq: Option<i64>,
    /// Most rows, 1 to 5000 (default 500).
    #[serde(default)]
    limit: Option<i64>,
    /// `json` (default) or `csv`.
    #[serde(default)]
    format: Option<String>,
}

/// The compliance and audit routes.
pub(crate) fn routes() -> Vec<Route<BrokersBundle>> {
    vec![
        route(
            "compliance_check_order",
            "Runs the pre-trade checks (max order value in the account's currency, price band, short sale including sells beyond the position, restricted symbols, wash trade, and on the paper account the emergency kill rule when kill_* / NT_KILL_* is configured) on an order without placing it, with its UMIR 6.2 marking and best-execution record.",
            check_order,
        ),
        route(
            "compliance_rules",
            "Reads, or with `set` stores, the compliance rules of a broker account, and lists which CIRO rules (UMIR / IDPC) the checks implement and which they do not cover.",
            rules,
        )
        .writes(),
        route(
            "audit_verify",
            "Recomputes the hash chain of the order audit trail and reports the first edited or missing row.",
            verify,
        ),
        route(
            "audit_export",
            "Exports audit rows (order events, fills, check results with their hashes) as JSON or CSV.",
            export,
        ),
    ]
}

async fn check_order(
    bundle: Arc<BrokersBundle>,
    a: OrderInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    let b = bundle.pick(&ctx, a.broker.as_deref()).await?;
    let review = desk::check(&ctx.store, b.as_ref(), &a.request(), ctx.clock.now_ms()).await?;
    let checks = &review.checks;
    let failed: Vec<&str> = checks
        .iter()
        .filter(|c| !c.passed)
        .map(|c| c.rule.as_str())
        .collect();
    let mut text = if failed.is_empty() {
        "all checks pass".to_string()
    } else {
        let details: Vec<String> = checks
            .iter()
            .filter(|c| !c.passed)
            .map(|c| format!("{}: {}", c.rule, c.detail))
            .collect();
        format!(
            "would be refused by: {}\n- {}",
            failed.join(", "),
            details.join("\n- ")
        )
    };
    if let Some(asked) = review.reduced_from {
        text.push_str(&format!(
            "; the sell would be reduced from {asked} to {} to stay within the position",
            review.order.qty
        ));
    }
    if let Some(m) = checks.iter().find(|c| c.rule == "order_marking") {
        text.push_str(&format!("\nmarking: {}", m.detail));
    }
    Ok(out(
        b.as_ref(),
        text,
        json!({"allowed": failed.is_empty(), "checks": checks, "order": review.order, "reduced_from": review.reduced_from}),
    ))
}

async fn rules(
    bundle: Arc<BrokersBundle>,
    a: RulesInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    let b = bundle.pick(&ctx, a.broker.as_deref()).await?;
    if let Some(rules) = &a.set {
        for (i, s) in rules.restricted_symbols.iter().enumerate() {
            if s.trim().is_empty() {
                return Err(ToolError::invalid(
                    format!("set.restricted_symbols[{i}]"),
                    "must not be empty",
                ));
            }
        }
        bundle
            .rules()
            .save(ctx.store.pool(), b.venue(), rules, ctx.clock.now_ms())
            .await?;
    }
    let rules = compliance::load_rules(ctx.store.pool(), b.venue()).await?;
    // The limit's currency: the account's base currency, when
    // the venue answers.
    let currency = b.account().await.ok().map(|a| a.currency);
    let ciro = &compliance::CIRO_COVERAGE;
    let list = |c: compliance::Coverage| -> Vec<String> {
        ciro.iter()
            .filter(|r| r.coverage == c)
            .map(|r| format!("{} ({})", r.rule, r.title))
            .collect()
    };
    Ok(out(
        b.as_ref(),
        format!(
            "{} rules for account {}: {}\nCIRO rules implemented: {}\npartly (the rest is the dealer's): {}\nnot covered: {}",
            if a.set.is_some() { "stored" } else { "current" },
            b.venue(),
            rules.summary_in(currency.as_deref()),
            list(compliance::Coverage::Implemented).join("; "),
            list(compliance::Coverage::Partial).join("; "),
            list(compliance::Coverage::NotCovered).join("; "),
        ),
        json!({"account": b.venue(), "rules": rules, "max_order_value_currency": currency, "ciro": ciro}),
    ))
}

async fn verify(
    _bundle: Arc<BrokersBundle>,
    _a: NoArgs,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    let r = audit::verify(ctx.store.pool()).await?;
    let text = if r.intact {
        format!("audit chain intact: {} rows, head {}", r.rows, r.head_hash)
    } else {
        format!(
            "audit chain BROKEN at row {}: {}",
            r.first_bad_seq.unwrap_or_default(),
            r.problem.clone().unwrap_or_default()
        )
    };
    Ok(ToolOutput::new(
        format!("venue: all — {text}"),
        json!({"report": r}),
    ))
}

async fn export(
    bundle: Arc<BrokersBundle>,
    a: ExportInput,
    ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    let limit = a.limit.unwrap_or(500);
    if !(1..=5000).contains(&limit) {
        return Err(ToolError::invalid("limit", "must be 1 to 5000"));
    }
    // A per-caller account exports its own rows only; the shared account
    // (no per-caller switch) exports the whole trail.
    let own = ctx
        .account
        .as_deref()
        .map(|name| bundle.caller_account_id(name));
    let rows = audit::export(
        ctx.store.pool(),
        a.from_seq.unwrap_or(1).max(1),
        limit,
        own.as_deref(),
    )
    .await?;
    let scope = own
        .as_deref()
        .map_or("all".to_string(), |a| format!("paper, account {a}"));
    match a.format.as_deref().unwrap_or("json") {
        "json" => Ok(ToolOutput::new(
            format!("venue: {scope} — {} audit rows", rows.len()),
            json!({"rows": rows}),
        )),
        "csv" => Ok(ToolOutput::new(
            format!("venue: {scope} — {} audit rows as CSV", rows.len()),
            json!({"csv": audit::to_csv(&rows), "rows": rows.len()}),
        )),
        _ => Err(ToolError::invalid("format", "must be `json` or `csv`")),
    }
}
