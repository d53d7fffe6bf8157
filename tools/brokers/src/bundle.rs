//! [`BrokersBundle`]: the brokers tools over MCP, as one typed route table
//! (the handlers live in `tools/`, one file per family).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use nt_mcp_core::bundle::{
    BundleSettings, PromptSpec, ResourceSpec, ResourceText, ToolCtx, VenueMode, VenueStatus,
};
use nt_mcp_core::{Migration, NewBundle, ToolBundle, ToolError, ToolRouter};
use tokio::sync::OnceCell;

use crate::broker::Broker;
use crate::compliance::RulesCache;
use crate::config::decimal_setting;
use crate::error::{BrokersError, Result};
use crate::paper::{PAPER, PaperBroker, PaperConfig};

/// The brokers bundle: the paper broker always (one shared account, plus
/// one per caller when the runtime gives calls an account), and each real
/// broker whose credentials are configured.
pub struct BrokersBundle {
    paper_cfg: PaperConfig,
    real: Vec<Arc<dyn Broker>>,
    paper: OnceCell<Arc<PaperBroker>>,
    accounts: Mutex<HashMap<String, Arc<PaperBroker>>>,
    rules: RulesCache,
    valet: nt_valet::Valet,
}

impl BrokersBundle {
    /// Builds the bundle from its manifest section and the environment:
    /// `[bundle_config.brokers]` may set `paper_account_id`, `paper_seed`,
    /// `slippage_bps`, `commission_per_share`, `min_commission`,
    /// `starting_cash_cad`, `starting_cash_usd`, the paper account's kill
    /// rule (`kill_max_drawdown`, `kill_max_period_loss`,
    /// `kill_max_consecutive_losses`, or `NT_KILL_*`), the Bank of Canada
    /// Valet URL for daily FX rates (`boc_valet_url` or `BOC_VALET_URL`) and
    /// each real broker's base URLs; credentials come from the environment (`OANDA_API_TOKEN` +
    /// `OANDA_ACCOUNT_ID`, `QUESTRADE_REFRESH_TOKEN`, `ALPACA_API_KEY_ID` +
    /// `ALPACA_API_SECRET_KEY`, `TRADIER_ACCESS_TOKEN`). With none set, only the
    /// paper broker runs.
    pub fn new(settings: &BundleSettings) -> Result<Self> {
        let mut cfg = PaperConfig::default();
        if let Some(id) = settings.string("paper_account_id", "") {
            cfg.account_id = id;
        }
        if let Some(seed) = settings.integer("paper_seed", "").map_err(|e| {
            BrokersError::Config(format!("bundle_config.brokers.{}: {}", e.key, e.reason))
        })? {
            cfg.market.seed = seed as u64;
        }
        if let Some(v) = decimal_setting(settings, "slippage_bps", "")? {
            cfg.slippage_bps = v;
        }
        if let Some(v) = decimal_setting(settings, "commission_per_share", "")? {
            cfg.commission_per_share = v;
        }
        if let Some(v) = decimal_setting(settings, "min_commission", "")? {
            cfg.min_commission = v;
        }
        if let Some(v) = decimal_setting(settings, "starting_cash_cad", "")? {
            cfg.starting_cash.insert("CAD".into(), v);
        }
        if let Some(v) = decimal_setting(settings, "starting_cash_usd", "")? {
            cfg.starting_cash.insert("USD".into(), v);
        }
        cfg.kill_rule = crate::compliance::kill_rule_from(settings)?;
        let mut real: Vec<Arc<dyn Broker>> = Vec::new();
        if let Some(oanda) = crate::oanda::OandaClient::from_settings(settings)? {
            real.push(Arc::new(oanda));
        }
        if let Some(questrade) = crate::questrade::QuestradeClient::from_settings(settings)? {
            real.push(Arc::new(questrade));
        }
        if let Some(alpaca) = crate::alpaca::AlpacaClient::from_settings(settings)? {
            real.push(Arc::new(alpaca));
        }
        if let Some(tradier) = crate::tradier::TradierClient::from_settings(settings)? {
            real.push(Arc::new(tradier));
        }
        if let Some(ibkr) = crate::ibkr::IbkrClient::from_settings(settings)? {
            real.push(Arc::new(ibkr));
        }
        let mut bundle = Self::with_parts(cfg, real);
        if let Some(base) = settings.string("boc_valet_url", "BOC_VALET_URL") {
            bundle = bundle.with_valet_base(&base)?;
        }
        Ok(bundle)
    }

    fn with_parts(paper_cfg: PaperConfig, real: Vec<Arc<dyn Broker>>) -> Self {
        Self {
            paper_cfg,
            real,
            paper: OnceCell::new(),
            accounts: Mutex::new(HashMap::new()),
            rules: RulesCache::default(),
            valet: nt_valet::Valet::new(nt_valet::DEFAULT_BASE)
                .expect("the Bank of Canada's own URL is valid"),
        }
    }

    /// Fetches the Bank of Canada's daily rates from `base` instead of the
    /// Bank's host (`boc_valet_url` / `BOC_VALET_URL`; a fake in tests).
    pub fn with_valet_base(mut self, base: &str) -> Result<Self> {
        self.valet = nt_valet::Valet::new(base)
            .map_err(|e| BrokersError::Config(format!("boc_valet_url: {e}")))?;
        Ok(self)
    }

    /// The Bank of Canada Valet client (`tax_load_fx_rates` with
    /// `bank_of_canada`).
    pub(crate) fn valet(&self) -> &nt_valet::Valet {
        &self.valet
    }

    /// A bundle with only the paper broker, configured by `cfg`.
    pub fn paper_only(cfg: PaperConfig) -> Self {
        Self::with_parts(cfg, Vec::new())
    }

    /// Adds a broker (a real client, or a test double).
    pub fn with_broker(mut self, broker: Arc<dyn Broker>) -> Self {
        self.real.push(broker);
        self
    }

    /// The configured real brokers.
    pub(crate) fn real(&self) -> &[Arc<dyn Broker>] {
        &self.real
    }

    /// The compliance rules cache the order tools read through.
    pub(crate) fn rules(&self) -> &RulesCache {
        &self.rules
    }

    /// The paper account id of per-caller account `name`: the shared
    /// account's id, a slash, the name.
    pub fn caller_account_id(&self, name: &str) -> String {
        format!("{}/{name}", self.paper_cfg.account_id)
    }

    /// The paper broker of the call's account: the shared one when
    /// `ctx.account` is `None`, else the caller's own (created on first
    /// use with the shared account's starting cash), so positions, cash,
    /// orders and fills never mix between callers.
    pub(crate) async fn paper(
        &self,
        ctx: &ToolCtx,
    ) -> std::result::Result<Arc<PaperBroker>, ToolError> {
        let Some(name) = ctx.account.as_deref() else {
            return Ok(self
                .paper
                .get_or_init(|| async {
                    Arc::new(PaperBroker::new(
                        ctx.store.clone(),
                        ctx.clock.clone(),
                        self.paper_cfg.clone(),
                    ))
                })
                .await
                .clone());
        };
        let name = name.trim();
        if name.is_empty() || name.len() > 200 {
            return Err(ToolError::invalid("account", "must be 1 to 200 characters"));
        }
        let mut accounts = self.accounts.lock().unwrap_or_else(|e| e.into_inner());
        let broker = accounts.entry(name.to_string()).or_insert_with(|| {
            let mut cfg = self.paper_cfg.clone();
            cfg.account_id = self.caller_account_id(name);
            Arc::new(PaperBroker::new(ctx.store.clone(), ctx.clock.clone(), cfg))
        });
        Ok(broker.clone())
    }

    /// The broker named `name` (the call's paper account when omitted).
    pub(crate) async fn pick(
        &self,
        ctx: &ToolCtx,
        name: Option<&str>,
    ) -> std::result::Result<Arc<dyn Broker>, ToolError> {
        let name = name
            .map(|n| n.trim().to_ascii_lowercase())
            .filter(|n| !n.is_empty());
        match name.as_deref() {
            None | Some(PAPER) => Ok(self.paper(ctx).await? as Arc<dyn Broker>),
            Some(n) => self
                .real
                .iter()
                .find(|b| b.venue() == n)
                .inspect(|b| b.attach_store(&ctx.store))
                .cloned()
                .ok_or_else(|| {
                    let mut known = vec![PAPER.to_string()];
                    known.extend(self.real.iter().map(|b| b.venue().to_string()));
                    ToolError::invalid(
                        "broker",
                        format!(
                            "no broker `{n}` is configured; configured: {}",
                            known.join(", ")
                        ),
                    )
                }),
        }
    }
}

impl NewBundle for BrokersBundle {
    const NAME: &'static str = "brokers";
    type Error = BrokersError;

    fn from_settings(settings: &BundleSettings) -> Result<Self> {
        Self::new(settings)
    }
}

#[async_trait]
impl ToolBundle for BrokersBundle {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn routes(self: Arc<Self>) -> ToolRouter {
        use crate::tools::{account, compliance, market_data, orders, tax, watch};
        let mut table = market_data::routes();
        table.extend(account::routes());
        table.extend(orders::routes());
        table.extend(watch::routes());
        table.extend(compliance::routes());
        table.extend(tax::routes());
        ToolRouter::new(self, table)
    }

    fn resources(&self) -> Vec<ResourceSpec> {
        crate::guide::resources()
    }

    async fn read_resource(
        &self,
        uri: &str,
        _ctx: ToolCtx,
    ) -> std::result::Result<ResourceText, ToolError> {
        crate::guide::read(uri)
    }

    fn prompts(&self) -> Vec<PromptSpec> {
        crate::guide::prompts()
    }

    fn render_prompt(
        &self,
        name: &str,
        args: &BTreeMap<String, String>,
    ) -> std::result::Result<String, ToolError> {
        crate::guide::render(name, args)
    }

    fn migrations(&self) -> Vec<Migration> {
        crate::migrations()
    }

    fn venues(&self) -> Vec<VenueStatus> {
        let mut v = vec![VenueStatus {
            name: PAPER.into(),
            mode: VenueMode::Paper,
        }];
        v.extend(self.real.iter().map(|b| VenueStatus {
            name: b.venue().to_string(),
            mode: b.mode(),
        }));
        v
    }
}
