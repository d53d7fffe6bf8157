//! What the bundle tells an agent besides its tools: the indicator
//! conventions as a resource, and a screening prompt.

use std::collections::BTreeMap;

use nt_mcp_core::ToolError;
use nt_mcp_core::bundle::{PromptArg, PromptSpec, ResourceSpec, ResourceText, prompt_arg};

/// Indicator names, warm-up conventions, inputs, backends and signals.
pub const CONVENTIONS: &str = include_str!("../docs/conventions.md");

/// The conventions resource's URI.
pub const CONVENTIONS_URI: &str = "gpu-signals://conventions";

/// The bundle's resources.
pub fn resources() -> Vec<ResourceSpec> {
    vec![ResourceSpec {
        uri: CONVENTIONS_URI.into(),
        name: "Indicator conventions".into(),
        description: "Indicator names and parameters, warm-up (TA-Lib's conventions), inputs each needs, precision, backends and how each signal and rule is defined.".into(),
        mime_type: "text/markdown".into(),
    }]
}

/// Reads one of the bundle's resources.
pub fn read(uri: &str) -> Result<ResourceText, ToolError> {
    if uri != CONVENTIONS_URI {
        return Err(ToolError::not_found(format!("no resource {uri}")));
    }
    Ok(ResourceText {
        mime_type: "text/markdown".into(),
        text: CONVENTIONS.into(),
    })
}

/// The bundle's prompts.
pub fn prompts() -> Vec<PromptSpec> {
    vec![PromptSpec {
        name: "signals_screen".into(),
        description:
            "Screen a set of symbols: indicators, a rule, a composite ranking and the backend used."
                .into(),
        arguments: vec![
            PromptArg {
                name: "symbols".into(),
                description: "Comma-separated symbols (synthetic bars unless you pass series)."
                    .into(),
                required: true,
            },
            PromptArg {
                name: "style".into(),
                description: "momentum or mean_reversion (default momentum).".into(),
                required: false,
            },
        ],
    }]
}

/// Renders one of the bundle's prompts.
pub fn render(name: &str, args: &BTreeMap<String, String>) -> Result<String, ToolError> {
    if name != "signals_screen" {
        return Err(ToolError::not_found(format!("no prompt {name}")));
    }
    let symbols = prompt_arg(args, "symbols")?;
    let style = args
        .get("style")
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .unwrap_or("momentum");
    let (rule, score) = match style {
        "momentum" => (
            r#"{"all": [{"left": "ema_12", "op": "crosses_above", "right": "ema_26"}, {"left": "rsi_14", "op": "<", "right": 70}]}"#,
            r#"[{"series": "rsi_14", "weight": 1}, {"series": "macd_12_26_9.hist", "weight": 1}]"#,
        ),
        "mean_reversion" => (
            r#"{"left": "zscore_20", "op": "<=", "right": -2}"#,
            r#"[{"series": "zscore_20", "weight": -1}, {"series": "rsi_14", "weight": -0.5}]"#,
        ),
        other => {
            return Err(ToolError::invalid(
                "style",
                format!("`{other}`: momentum or mean_reversion"),
            ));
        }
    };
    Ok(format!(
        "Screen {symbols} ({style}).\n\
         1. Read gpu-signals://conventions for indicator names and warm-up.\n\
         2. Call signals_backend to see whether CUDA is available (backend \"auto\" uses it).\n\
         3. Call signals_indicators with synthetic symbols [{symbols}] (or the user's series) and indicators [\"rsi_14\", \"macd_12_26_9\", \"bb_20_2\", \"zscore_20\"]; look at the last values.\n\
         4. Call signals_generate with the rule {rule} and report which symbols fire on the last bars.\n\
         5. Call signals_rank with components {score} and top_n 3; report the long and short lists with their scores.\n\
         Say which backend ran and that the bars are synthetic when they are."
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_resource_reads_and_the_prompt_renders_or_names_the_argument() {
        for r in resources() {
            assert!(read(&r.uri).expect("readable").text.starts_with("# "));
        }
        assert!(read("gpu-signals://nope").is_err());
        let mut args = BTreeMap::new();
        let e = render("signals_screen", &args).expect_err("symbols");
        assert_eq!(e.field.as_deref(), Some("symbols"));
        args.insert("symbols".to_string(), "AAA, BBB".to_string());
        assert!(
            render("signals_screen", &args)
                .unwrap()
                .contains("crosses_above")
        );
        args.insert("style".to_string(), "mean_reversion".to_string());
        assert!(
            render("signals_screen", &args)
                .unwrap()
                .contains("zscore_20")
        );
        args.insert("style".to_string(), "astrology".to_string());
        assert_eq!(
            render("signals_screen", &args)
                .unwrap_err()
                .field
                .as_deref(),
            Some("style")
        );
        assert!(render("nope", &args).is_err());
    }
}
