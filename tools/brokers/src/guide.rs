//! What the brokers bundle tells an agent besides its tools: a tool guide
//! and the Canadian tax rules as resources, and two workflow prompts
//! (place an order safely; review a tax year).

use std::collections::BTreeMap;

use nt_mcp_core::ToolError;
use nt_mcp_core::bundle::{PromptArg, PromptSpec, ResourceSpec, ResourceText, prompt_arg};

/// Which tool for what, in workflow order.
pub const TOOL_GUIDE: &str = include_str!("../docs/tool-guide.md");
/// The ACB, superficial-loss, currency and reporting rules the tax tools apply.
pub const CANADIAN_TAX: &str = include_str!("../docs/canadian-tax.md");

/// The bundle's resources.
pub fn resources() -> Vec<ResourceSpec> {
    vec![
        ResourceSpec {
            uri: "brokers://tool-guide".into(),
            name: "Brokers tool guide".into(),
            description:
                "Which broker_*, compliance_*, audit_* and tax_* tool to use for what, in workflow order."
                    .into(),
            mime_type: "text/markdown".into(),
        },
        ResourceSpec {
            uri: "brokers://canadian-tax".into(),
            name: "Canadian capital gains rules".into(),
            description: "Average-cost ACB, the superficial-loss rule (denied losses go to the substituted shares), CAD conversion, trade dates in exchange time and tax years by settlement date, cent rounding half away from zero, T5008 boxes and Schedule 3, as the tax tools apply them.".into(),
            mime_type: "text/markdown".into(),
        },
    ]
}

/// Reads one of the bundle's resources.
pub fn read(uri: &str) -> Result<ResourceText, ToolError> {
    let text = match uri {
        "brokers://tool-guide" => TOOL_GUIDE,
        "brokers://canadian-tax" => CANADIAN_TAX,
        _ => return Err(ToolError::not_found(format!("no resource {uri}"))),
    };
    Ok(ResourceText {
        mime_type: "text/markdown".into(),
        text: text.into(),
    })
}

fn arg(name: &str, description: &str, required: bool) -> PromptArg {
    PromptArg {
        name: name.into(),
        description: description.into(),
        required,
    }
}

/// The bundle's prompts.
pub fn prompts() -> Vec<PromptSpec> {
    vec![
        PromptSpec {
            name: "brokers_place_order_safely".into(),
            description: "Quote, run the compliance checks, place one order with a client order id, and confirm what happened.".into(),
            arguments: vec![
                arg("symbol", "Symbol, e.g. SHOP.TO or AAPL.", true),
                arg("side", "buy, sell, sell_short or buy_to_cover.", true),
                arg("qty", "Quantity.", true),
                arg("broker", "Broker name (default paper).", false),
            ],
        },
        PromptSpec {
            name: "brokers_tax_year_review".into(),
            description: "Review a tax year's dispositions: FX rates, ACB with superficial losses, the T5008-style report and Schedule 3.".into(),
            arguments: vec![arg("year", "Tax year, e.g. 2026.", true)],
        },
    ]
}

/// Renders one of the bundle's prompts.
pub fn render(name: &str, args: &BTreeMap<String, String>) -> Result<String, ToolError> {
    match name {
        "brokers_place_order_safely" => {
            let symbol = prompt_arg(args, "symbol")?;
            let side = prompt_arg(args, "side")?;
            let qty = prompt_arg(args, "qty")?;
            let broker = args
                .get("broker")
                .map(|b| b.trim())
                .filter(|b| !b.is_empty())
                .unwrap_or("paper");
            Ok(format!(
                "Place one order to {side} {qty} {symbol} at the `{broker}` broker, safely.\n\
                 1. Call broker_quote for {symbol} (broker \"{broker}\") and note bid, ask and currency.\n\
                 2. Call broker_account and broker_positions: is there cash or a position for this order?\n\
                 3. Pick the order type: a limit order near the quote unless the user asked for market.\n\
                 4. Call compliance_check_order with the exact order. If a rule refuses it, stop and report the rule.\n\
                 5. Call broker_place_order with the same fields and a new client_order_id you write down. If the call fails or times out, call it again with the same client_order_id: it will not place a second order.\n\
                 6. Call broker_orders (and broker_executions if it filled) to confirm the status.\n\
                 Report the order id, status, fill price if any, and the venue the tools reported (paper or live)."
            ))
        }
        "brokers_tax_year_review" => {
            let year = prompt_arg(args, "year")?;
            if year
                .parse::<i32>()
                .map_or(true, |y| !(1972..=2100).contains(&y))
            {
                return Err(ToolError::invalid("year", "a year such as 2026"));
            }
            Ok(format!(
                "Review the {year} tax year of this account's trades (Canadian capital gains).\n\
                 1. Read the resource brokers://canadian-tax for the rules applied.\n\
                 2. If any trade was in a foreign currency, make sure daily CAD rates for its trade dates are loaded with tax_load_fx_rates (`bank_of_canada` fetches the Bank of Canada's published daily rates for the year).\n\
                 3. Call tax_acb and check each security's ACB and any superficial loss denied (added to the ACB of the substituted shares listed with it).\n\
                 4. Call tax_report_t5008 for {year} (with a PDF if the user wants a document).\n\
                 Report the net gain or loss, the taxable capital gain, each superficial loss and why, and anything that needs the user's own records (transferred shares, trades at other brokers, affiliated persons)."
            ))
        }
        _ => Err(ToolError::not_found(format!("no prompt {name}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_read_and_prompts_render_or_name_the_missing_argument() {
        for r in resources() {
            let text = read(&r.uri).expect("readable").text;
            assert!(text.starts_with("# "), "{}", r.uri);
        }
        assert!(read("brokers://nope").is_err());
        let mut args = BTreeMap::new();
        args.insert("symbol".to_string(), "SHOP.TO".to_string());
        args.insert("side".to_string(), "buy".to_string());
        let err = render("brokers_place_order_safely", &args).expect_err("qty");
        assert_eq!(err.field.as_deref(), Some("qty"));
        args.insert("qty".to_string(), "10".to_string());
        let text = render("brokers_place_order_safely", &args).expect("rendered");
        assert!(
            text.contains("buy 10 SHOP.TO at the `paper` broker"),
            "{text}"
        );
        let mut year = BTreeMap::new();
        year.insert("year".to_string(), "next year".to_string());
        let err = render("brokers_tax_year_review", &year).expect_err("year");
        assert_eq!(err.field.as_deref(), Some("year"));
        year.insert("year".to_string(), "2026".to_string());
        assert!(
            render("brokers_tax_year_review", &year)
                .expect("rendered")
                .contains("tax_report_t5008 for 2026")
        );
        assert!(render("nope", &year).is_err());
    }
}
