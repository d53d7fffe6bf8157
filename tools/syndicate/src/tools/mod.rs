//! The route table, one family per file, and what the handlers share.

mod bets;
mod capital;

use nt_mcp_core::{Route, ToolCtx, ToolError};

use crate::SyndicateBundle;

/// Every route of the bundle, in listing order.
pub(crate) fn routes() -> Vec<Route<SyndicateBundle>> {
    let mut r = capital::routes();
    r.extend(bets::routes());
    r
}

/// The member a call acts as: `as_member` as given; with per-caller
/// accounts it must be the caller's own account.
pub(crate) fn acting(ctx: &ToolCtx, field: &str, member: &str) -> Result<String, ToolError> {
    let member = member.trim();
    if member.is_empty() {
        return Err(ToolError::invalid(field, "name the member acting"));
    }
    if let Some(acc) = ctx.account.as_deref()
        && acc != member
    {
        return Err(ToolError::refused(format!(
            "you act as `{acc}` on this server, not `{member}`"
        ))
        .with_hint(format!("set {field} to `{acc}`")));
    }
    Ok(member.to_string())
}
