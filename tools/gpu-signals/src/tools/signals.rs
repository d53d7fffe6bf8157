//! `signals_generate` (crossovers, breakouts, mean reversion, rules as
//! data) and `signals_rank` (composite scores, top-N long/short).

use std::sync::Arc;

use nt_mcp_core::{Route, ToolCtx, ToolError, ToolOutput, route};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{DataInput, Precision, check_last_n, default_last_n, load};
use crate::GpuSignalsBundle;
use crate::backend::BackendChoice;
use crate::batch::Field;
use crate::cuda::DeviceReal;
use crate::indicators::{Indicator, SeriesRef};
use crate::signals::{self, Compiled, Normalize, Rule, Workspace};

pub(crate) fn routes() -> Vec<Route<GpuSignalsBundle>> {
    vec![
        route(
            "signals_generate",
            "Trading signals per symbol: crossovers of two series (ema_12 over ema_26), Donchian breakouts, z-score mean-reversion entries and exits, and rules given as data ({\"all\": [{\"left\": \"rsi_14\", \"op\": \"<\", \"right\": 30}, ...]}). Reports each signal's value at the last bar and the bars it fired on within the last `last_n` bars. Indicators run on CUDA when available.",
            generate,
        )
        .cpu_heavy(),
        route(
            "signals_rank",
            "Rank symbols by a composite score (weighted sum of indicator outputs, each a cross-sectional z-score by default) at the last bar or a given one: top N long (best first) and bottom N short (worst first), with every component's value.",
            rank,
        )
        .cpu_heavy(),
    ]
}

/// One signal to generate.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum SignalSpec {
    /// +1 when `fast` crosses above `slow`, -1 below.
    Crossover {
        /// A series name (ema_12, close).
        fast: String,
        /// A series name (ema_26, sma_50).
        slow: String,
    },
    /// +1 when the close breaks above the highest high of the `period` bars before, -1 below the lowest low.
    Breakout {
        /// Channel length in bars (1-10000).
        period: usize,
    },
    /// Long at zscore <= -entry until >= -exit; short at >= entry until <= exit.
    MeanReversion {
        /// Z-score window (2-10000, default 20).
        #[serde(default = "twenty")]
        period: usize,
        /// Entry threshold (default 2).
        #[serde(default = "two")]
        entry: f64,
        /// Exit threshold (default 0.5).
        #[serde(default = "half")]
        exit: f64,
    },
    /// A rule given as data; true bars fire.
    Rule {
        /// A label for the answer.
        name: Option<String>,
        /// The rule.
        rule: Rule,
    },
}

fn twenty() -> usize {
    20
}
fn two() -> f64 {
    2.0
}
fn half() -> f64 {
    0.5
}

/// Input of `signals_generate`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct GenerateInput {
    /// The bars.
    pub data: DataInput,
    /// The signals (1-16).
    pub signals: Vec<SignalSpec>,
    /// Bars to report firings from, the most recent (1-1000, default 5).
    #[serde(default = "default_last_n")]
    pub last_n: usize,
    /// f64 (default) or f32 storage.
    #[serde(default)]
    pub precision: Precision,
    /// auto (default), cpu or cuda: where the indicators run.
    #[serde(default)]
    pub backend: BackendChoice,
}

enum Plan {
    Cross(SeriesRef, SeriesRef),
    Breakout(usize),
    Mean(Indicator, f64, f64),
    Rule(Compiled),
}

fn need(needs: &mut Vec<Indicator>, r: &SeriesRef) {
    if let SeriesRef::Output { indicator, .. } = r
        && !needs.contains(indicator)
    {
        needs.push(*indicator);
    }
}

async fn generate(
    b: Arc<GpuSignalsBundle>,
    input: GenerateInput,
    _ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    check_last_n(input.last_n)?;
    if input.signals.is_empty() || input.signals.len() > 16 {
        return Err(ToolError::invalid("signals", "give 1-16 signals"));
    }
    let mut needs = Vec::new();
    let mut plans = Vec::new();
    for (i, s) in input.signals.iter().enumerate() {
        let f = |x: &str| format!("signals[{i}].{x}");
        plans.push(match s {
            SignalSpec::Crossover { fast, slow } => {
                let a = SeriesRef::parse(&f("fast"), fast)?;
                let c = SeriesRef::parse(&f("slow"), slow)?;
                need(&mut needs, &a);
                need(&mut needs, &c);
                (
                    format!("crossover({}, {})", a.name(), c.name()),
                    Plan::Cross(a, c),
                )
            }
            SignalSpec::Breakout { period } => {
                if !(1..=10_000).contains(period) {
                    return Err(ToolError::invalid(f("period"), "must be 1-10000"));
                }
                (format!("breakout_{period}"), Plan::Breakout(*period))
            }
            SignalSpec::MeanReversion {
                period,
                entry,
                exit,
            } => {
                let z = Indicator::Zscore { period: *period };
                z.check(&f("period"))?;
                if !(entry.is_finite() && *entry > 0.0 && exit.is_finite() && *exit < *entry) {
                    return Err(ToolError::invalid(
                        f("entry"),
                        "entry must be a positive number above exit",
                    ));
                }
                if !needs.contains(&z) {
                    needs.push(z);
                }
                (
                    format!("mean_reversion({}, {entry}, {exit})", z.name()),
                    Plan::Mean(z, *entry, *exit),
                )
            }
            SignalSpec::Rule { name, rule } => {
                let c = rule.compile(&f("rule"), &mut needs)?;
                (
                    name.clone().unwrap_or_else(|| format!("rule_{i}")),
                    Plan::Rule(c),
                )
            }
        });
    }
    match input.precision {
        Precision::F64 => gen_run::<f64>(&b, &input, &needs, &plans).await,
        Precision::F32 => gen_run::<f32>(&b, &input, &needs, &plans).await,
    }
}

async fn gen_run<T: DeviceReal>(
    b: &GpuSignalsBundle,
    input: &GenerateInput,
    needs: &[Indicator],
    plans: &[(String, Plan)],
) -> Result<ToolOutput, ToolError> {
    let loaded = load::<T>(&input.data).await?;
    let batch = &loaded.batch;
    let (values, backend, seconds) = if needs.is_empty() {
        (Vec::new(), None, 0.0)
    } else {
        let c = b.engine.compute(batch, needs, input.backend, "signals")?;
        (c.values, Some(c.backend), c.seconds)
    };
    let ws = Workspace::new(batch, values);
    let nb = batch.n_bars;
    let from = nb.saturating_sub(input.last_n);
    let mut rows = Vec::new();
    let mut fired_total = 0usize;
    for (s, sym) in loaded.symbols.iter().enumerate() {
        let mut sigs = Vec::new();
        for (name, plan) in plans {
            let (series, extra): (Vec<i8>, Value) = match plan {
                Plan::Cross(a, c) => (
                    signals::crossovers(&ws.series(a, s), &ws.series(c, s)),
                    Value::Null,
                ),
                Plan::Breakout(n) => {
                    let g = |f| ws.series(&SeriesRef::Field(f), s);
                    (
                        signals::breakouts(&g(Field::High), &g(Field::Low), &g(Field::Close), *n),
                        Value::Null,
                    )
                }
                Plan::Mean(z, entry, exit) => {
                    let zs = ws.series(
                        &SeriesRef::Output {
                            indicator: *z,
                            output: 0,
                        },
                        s,
                    );
                    let (pos, events) = signals::mean_reversion(&zs, *entry, *exit);
                    let recent: Vec<_> = events.into_iter().filter(|e| e.bar >= from).collect();
                    (pos, json!({"events": recent, "zscore_last": zs.last()}))
                }
                Plan::Rule(c) => (
                    c.eval(&ws, s).into_iter().map(i8::from).collect(),
                    Value::Null,
                ),
            };
            let fired: Vec<Value> = (from..nb)
                .filter(|&t| series[t] != 0 && !matches!(plan, Plan::Mean(..)))
                .map(|t| json!({"bar": t, "value": series[t]}))
                .collect();
            fired_total += fired.len();
            let mut v = json!({"signal": name, "last": series.last(), "fired": fired});
            if !extra.is_null() {
                v["detail"] = extra;
            }
            sigs.push(v);
        }
        rows.push(json!({"symbol": sym, "signals": sigs}));
    }
    let text = format!(
        "{} signal(s) over {} symbol(s) x {} bars; {} firing(s) in the last {} bar(s); indicators on {}; bars from {}",
        plans.len(),
        batch.n_symbols,
        nb,
        fired_total,
        nb - from,
        backend.map_or("none needed", |b| b.name()),
        loaded.source
    );
    Ok(ToolOutput::new(
        text,
        json!({
            "backend": backend, "precision": T::NAME, "source": loaded.source,
            "n_bars": nb, "from_bar": from, "seconds": seconds, "symbols": rows,
        }),
    ))
}

/// One component of the composite score.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Component {
    /// A series name (rsi_14, macd_12_26_9.hist, zscore_20, close).
    pub series: String,
    /// Its weight (negative to favour low values).
    pub weight: f64,
}

/// Input of `signals_rank`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RankInput {
    /// The bars.
    pub data: DataInput,
    /// The score's components (1-16).
    pub components: Vec<Component>,
    /// zscore (default: each component standardised across symbols) or none.
    #[serde(default)]
    pub normalize: Normalize,
    /// How many symbols long and short (1-1000, default 5).
    #[serde(default = "five")]
    pub top_n: usize,
    /// The bar to rank at (default the last).
    pub bar: Option<usize>,
    /// f64 (default) or f32 storage.
    #[serde(default)]
    pub precision: Precision,
    /// auto (default), cpu or cuda.
    #[serde(default)]
    pub backend: BackendChoice,
}

fn five() -> usize {
    5
}

async fn rank(
    b: Arc<GpuSignalsBundle>,
    input: RankInput,
    _ctx: ToolCtx,
) -> Result<ToolOutput, ToolError> {
    if input.components.is_empty() || input.components.len() > 16 {
        return Err(ToolError::invalid("components", "give 1-16 components"));
    }
    if !(1..=1000).contains(&input.top_n) {
        return Err(ToolError::invalid("top_n", "must be 1-1000"));
    }
    let mut needs = Vec::new();
    let mut refs = Vec::new();
    for (i, c) in input.components.iter().enumerate() {
        let r = SeriesRef::parse(&format!("components[{i}].series"), &c.series)?;
        if !c.weight.is_finite() {
            return Err(ToolError::invalid(
                format!("components[{i}].weight"),
                "must be a finite number",
            ));
        }
        need(&mut needs, &r);
        refs.push(r);
    }
    match input.precision {
        Precision::F64 => rank_run::<f64>(&b, &input, &needs, &refs).await,
        Precision::F32 => rank_run::<f32>(&b, &input, &needs, &refs).await,
    }
}

async fn rank_run<T: DeviceReal>(
    b: &GpuSignalsBundle,
    input: &RankInput,
    needs: &[Indicator],
    refs: &[SeriesRef],
) -> Result<ToolOutput, ToolError> {
    let loaded = load::<T>(&input.data).await?;
    let batch = &loaded.batch;
    let bar = input.bar.unwrap_or(batch.n_bars - 1);
    if bar >= batch.n_bars {
        return Err(ToolError::invalid(
            "bar",
            format!("must be below {}", batch.n_bars),
        ));
    }
    let (values, backend) = if needs.is_empty() {
        (Vec::new(), None)
    } else {
        let c = b
            .engine
            .compute(batch, needs, input.backend, "components")?;
        (c.values, Some(c.backend))
    };
    let ws = Workspace::new(batch, values);
    // Only the ranked bar is needed: one-bar series per symbol.
    let comps: Vec<Vec<Vec<f64>>> = refs
        .iter()
        .map(|r| {
            (0..batch.n_symbols)
                .map(|s| vec![ws.series(r, s)[bar]])
                .collect()
        })
        .collect();
    let weights: Vec<f64> = input.components.iter().map(|c| c.weight).collect();
    let scores: Vec<f64> = signals::composite(&comps, &weights, input.normalize)
        .into_iter()
        .map(|s| s[0])
        .collect();
    let (long, short) = signals::rank(&scores, input.top_n);
    let entry = |i: usize| {
        let parts: serde_json::Map<String, Value> = refs
            .iter()
            .zip(&comps)
            .map(|(r, c)| (r.name(), json!(c[i][0])))
            .collect();
        json!({"symbol": loaded.symbols[i], "score": scores[i], "components": parts})
    };
    let long: Vec<Value> = long.into_iter().map(entry).collect();
    let short: Vec<Value> = short.into_iter().map(entry).collect();
    let unranked = scores.iter().filter(|s| !s.is_finite()).count();
    let name = |v: &Vec<Value>| {
        v.iter()
            .map(|e| e["symbol"].as_str().unwrap_or_default().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let text = format!(
        "ranked {} symbol(s) at bar {bar}: long [{}], short [{}]{}; bars from {}",
        batch.n_symbols - unranked,
        name(&long),
        name(&short),
        if unranked > 0 {
            format!("; {unranked} without a score (warm-up)")
        } else {
            String::new()
        },
        loaded.source
    );
    Ok(ToolOutput::new(
        text,
        json!({
            "backend": backend, "precision": T::NAME, "source": loaded.source, "bar": bar,
            "normalize": input.normalize, "long": long, "short": short, "unranked": unranked,
        }),
    ))
}
