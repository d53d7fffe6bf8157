//! The bundle's resources (glossary, tool guide) and prompt.

use nt_mcp_core::bundle::{PromptArg, PromptSpec, ResourceSpec, ResourceText};
use std::collections::BTreeMap;

use nt_mcp_core::ToolError;

use crate::error::Result;

pub(crate) const GLOSSARY: &str = "# Polymarket glossary\n\n\
- **Event**: a question grouping one or more markets (\"Who wins the league?\").\n\
- **Market**: one binary YES/NO question inside an event, identified by its condition id.\n\
- **Condition id**: the CTF condition (`0x` + 64 hex) a market settles through.\n\
- **Token id**: the ERC-1155 id of one outcome token (YES or NO), a decimal uint256. Orders and books are per token.\n\
- **Price**: pUSD per share, a probability between the tick and 1 - tick. A winning share redeems for 1 pUSD.\n\
- **pUSD**: Polymarket USD, the CLOB V2 collateral (an ERC-20 backed 1:1 by USDC, 6 decimals); wrap USDC.e into it through the CollateralOnramp.\n\
- **CLOB V2**: the protocol since 2026-04-28: orders carry a millisecond timestamp, metadata and a builder code (no nonce, fee rate or taker); fees are set by the operator at match time, taker-only.\n\
- **Tick size**: the price increment (0.1, 0.01, 0.005, 0.0025, 0.001 or 0.0001); it shrinks near 0 and 1.\n\
- **Complement matching**: buying NO at p is selling YES at 1 - p; a YES buyer and a NO buyer whose prices sum to 1 mint a new share pair.\n\
- **Neg-risk**: an event whose outcomes are mutually exclusive (exactly one YES); traded through the Neg-Risk exchange, where YES asks summing below 1 is an arbitrage.\n\
- **Complete set**: one YES and one NO share of a market, always worth 1 pUSD.\n\
- **Client order id**: your idempotency key; the same id twice places one order.\n\
- **Venue**: `simulated` is the embedded local CLOB (paper pUSD, house liquidity); `live` is Polymarket itself.\n";

pub(crate) const TOOL_GUIDE: &str = "# Polymarket tool guide\n\n\
1. `polymarket_markets` lists markets (condition ids, token ids, tick sizes, best prices); `polymarket_market` shows one with both books.\n\
2. `polymarket_orderbook` and `polymarket_price_history` for depth and prints.\n\
3. `polymarket_ensemble_signal` combines your probability forecasts into an edge and a Kelly-sized order; `polymarket_find_arbitrage` scans every market and neg-risk event.\n\
4. `polymarket_place_order` (always pass a `client_order_id`), `polymarket_open_orders`, `polymarket_cancel_order`.\n\
5. `polymarket_positions`, `polymarket_analytics`, `polymarket_wallet`, `polymarket_leaderboard` to review; `polymarket_copy_wallet` mirrors another account.\n\
6. `polymarket_quote_market` computes (and with `place: true` posts) Avellaneda-Stoikov quotes.\n\
7. `polymarket_risk_status` / `polymarket_set_risk_limits` (limits and the kill switch); every refusal names the limit.\n\
8. `polymarket_settle` resolves a market on the local CLOB; live, it reports the account's positions and, once resolved, the V2 adapter's redeem calldata.\n\
9. `polymarket_build_order` signs a CLOB V2 order (EIP-712, V2 or Neg-Risk V2 exchange; Exchange V3 for a `position_id`; limit or market) without sending it (needs POLYMARKET_PRIVATE_KEY).\n\
10. Live venue: `polymarket_stream_books` streams tokens' books over the market WebSocket; `polymarket_orderbook` / `polymarket_market` then say `book_source: stream` (with `age_ms`) or `rest` (with why).\n\
11. `polymarket_holders` lists a market's top holders per outcome; live, `polymarket_stream_orders` follows your own orders and fills over the user WebSocket and keeps their status current.\n\
12. `polymarket_fee_estimate` prices a fill's fees (taker platform fee from the market's schedule, builder fee); `polymarket_collateral` shows pUSD balance and allowances and gives (or, with `send: true` from an EOA, sends) approval, wrap/unwrap and split/merge/redeem transactions.\n\n\
Prices and sizes are decimals, as numbers or strings (`0.57`, `\"100\"`; strings keep every digit as typed). Without credentials every tool runs on the embedded local CLOB and says `venue: simulated`.\n";

// ---------------------------------------------------------------- bundle

/// The resources the bundle publishes.
pub(crate) fn resources() -> Vec<ResourceSpec> {
    vec![
        ResourceSpec {
            uri: "polymarket://glossary".into(),
            name: "Polymarket glossary".into(),
            description: "Event, market, condition id, token id, neg-risk, tick size and more."
                .into(),
            mime_type: "text/markdown".into(),
        },
        ResourceSpec {
            uri: "polymarket://tool-guide".into(),
            name: "Polymarket tool guide".into(),
            description: "Which polymarket_* tool to use for what, in workflow order.".into(),
            mime_type: "text/markdown".into(),
        },
    ]
}

/// Reads one of the resources.
pub(crate) fn read_resource(uri: &str) -> Result<ResourceText, ToolError> {
    let text = match uri {
        "polymarket://glossary" => GLOSSARY,
        "polymarket://tool-guide" => TOOL_GUIDE,
        _ => return Err(ToolError::not_found(format!("no resource {uri}"))),
    };
    Ok(ResourceText {
        mime_type: "text/markdown".into(),
        text: text.into(),
    })
}

/// The prompts the bundle publishes.
pub(crate) fn prompts() -> Vec<PromptSpec> {
    vec![PromptSpec {
        name: "polymarket_research_and_size".into(),
        description: "Research a Polymarket market, form a probability, and size a position with Kelly under the risk limits.".into(),
        arguments: vec![
            PromptArg { name: "market".into(), description: "Condition id, slug or token id.".into(), required: true },
            PromptArg { name: "bankroll".into(), description: "pUSD you are willing to risk (optional).".into(), required: false },
        ],
    }]
}

/// Renders the prompt `name`.
pub(crate) fn render_prompt(
    name: &str,
    args: &BTreeMap<String, String>,
) -> Result<String, ToolError> {
    if name != "polymarket_research_and_size" {
        return Err(ToolError::not_found(format!("no prompt {name}")));
    }
    let market = nt_mcp_core::bundle::prompt_arg(args, "market")?;
    let bankroll = args
        .get("bankroll")
        .map(String::as_str)
        .unwrap_or("the paper account's available pUSD");
    Ok(format!(
        "Research the Polymarket market `{market}` and decide whether to trade it.\n\
         1. Call polymarket_market with market=\"{market}\" to read the question, tokens, tick size and books.\n\
         2. Call polymarket_orderbook for the YES token and polymarket_price_history for recent prints.\n\
         3. Form at least two independent probability estimates of YES with your reasons (base rates, news, the book).\n\
         4. Call polymarket_ensemble_signal with those forecasts to get the edge and a fractional-Kelly size.\n\
         5. Check polymarket_risk_status; size within {bankroll} and the limits.\n\
         6. Only if the edge is positive after fees, call polymarket_place_order with a fresh client_order_id.\n\
         Report the probability, edge, order (or why none) and the venue the tools reported."
    ))
}
