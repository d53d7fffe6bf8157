//! The contract between the runtime and a tool bundle: [`ToolBundle`], the
//! specs a bundle declares, the [`ToolCtx`] a call receives and the
//! [`ToolOutput`] it answers with.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::clock::Clock;
use crate::error::ToolError;
use crate::progress::Progress;
use crate::route::ToolRouter;
pub use crate::schema::{InputSchema, input_schema_for};
use crate::store::{Migration, Store};

pub use tokio_util::sync::CancellationToken;

/// What a caller must hold to use a tool. Over stdio the caller holds all of
/// them (trusted local use); over HTTP with JWT auth they come from the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Read market data, state and analytics.
    Read,
    /// Move money: place/cancel orders, transfer, bet. Also gated by live-trading config.
    Trade,
    /// Operate the server: jobs of others, configuration, destructive maintenance.
    Admin,
}

impl Scope {
    /// The scope's name as it appears in tokens and manifests.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Trade => "trade",
            Scope::Admin => "admin",
        }
    }
}

/// One tool a bundle offers: its name, what it does, the schema of its input
/// (generated from the same type that parses it) and how it is guarded.
#[derive(Debug, Clone)]
pub struct ToolSpec {
    /// Tool name as the agent sees it (before manifest renames).
    pub name: String,
    /// What the tool does and when to use it.
    pub description: String,
    /// JSON Schema of the input object (generated on first use, or cached).
    pub input_schema: InputSchema,
    /// Scope the caller needs.
    pub scope: Scope,
    /// Default deadline; the manifest may override it.
    pub deadline: Option<Duration>,
    /// The tool only reads (MCP `readOnlyHint`).
    pub read_only: bool,
    /// Calling twice with the same input has no extra effect (MCP `idempotentHint`).
    pub idempotent: bool,
    /// The tool computes for long on the CPU (an optimiser, a search): the
    /// runtime runs it on a blocking thread, off the async workers.
    pub cpu_heavy: bool,
}

impl ToolSpec {
    /// A read-only tool whose input is `I` (its JSON Schema is generated from `I`).
    pub fn new<I: JsonSchema>(name: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            description: description.into(),
            input_schema: InputSchema::of::<I>(),
            scope: Scope::Read,
            deadline: None,
            read_only: true,
            idempotent: true,
            cpu_heavy: false,
        }
    }

    /// Marks the tool as moving money: `trade` scope, not read-only. Idempotency
    /// stays as declared (orders with a client id are idempotent).
    pub fn trade(mut self) -> Self {
        self.scope = Scope::Trade;
        self.read_only = false;
        self
    }

    /// Marks the tool as changing state without moving money (`read` scope).
    pub fn writes(mut self) -> Self {
        self.read_only = false;
        self
    }

    /// Marks the tool as an operator tool (`admin` scope).
    pub fn admin(mut self) -> Self {
        self.scope = Scope::Admin;
        self
    }

    /// Declares that repeating the call has a further effect.
    pub fn not_idempotent(mut self) -> Self {
        self.idempotent = false;
        self
    }

    /// Sets the default deadline.
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// Declares the tool CPU-heavy (run on a blocking thread by the runtime).
    pub fn cpu_heavy(mut self) -> Self {
        self.cpu_heavy = true;
        self
    }
}

/// An input type for tools that take no arguments.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoArgs {}

/// Parses tool arguments into the tool's typed input. A mismatch names the
/// field (as a JSON path) and the serde reason, e.g. "invalid argument
/// `limit`: invalid type: string \"ten\", expected u32".
pub fn parse_args<T: DeserializeOwned>(args: Value) -> Result<T, ToolError> {
    let args = if args.is_null() {
        Value::Object(Map::new())
    } else {
        args
    };
    serde_path_to_error::deserialize(args).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner().to_string();
        // serde reports a missing field at the parent path; name the field itself.
        let (field, rule) = match missing_field_name(&inner) {
            Some(name) if path == "." => (name.to_string(), inner.clone()),
            Some(name) => (format!("{path}.{name}"), inner.clone()),
            None if path == "." => ("(arguments)".to_string(), inner.clone()),
            None => (path, inner.clone()),
        };
        ToolError::invalid(field, rule)
    })
}

fn missing_field_name(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("missing field `")?;
    rest.split('`').next()
}

/// What a tool answers: text for the agent to read and the same facts as
/// structured JSON (`structuredContent`).
#[derive(Debug, Clone)]
pub struct ToolOutput {
    /// Human-readable summary.
    pub text: String,
    /// Machine-readable result; always a JSON object.
    pub structured: Value,
    /// Pictures that go with the answer (charts), sent as MCP image content
    /// after the text, because people would rather look than read.
    pub images: Vec<ToolImage>,
}

/// An image in a tool's answer: its MIME type and its bytes, base64-encoded
/// as MCP image content carries them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ToolImage {
    /// `image/png`, `image/svg+xml`, ...
    pub mime_type: String,
    /// The bytes, standard base64.
    pub data: String,
}

impl ToolImage {
    /// An image of type `mime_type` from its raw bytes.
    pub fn new(mime_type: impl Into<String>, bytes: &[u8]) -> Self {
        use base64::Engine as _;
        Self {
            mime_type: mime_type.into(),
            data: base64::engine::general_purpose::STANDARD.encode(bytes),
        }
    }
}

impl ToolOutput {
    /// An answer with a text summary and a serializable structured body.
    pub fn new(text: impl Into<String>, structured: impl Serialize) -> Self {
        let structured = match serde_json::to_value(structured) {
            Ok(Value::Object(map)) => Value::Object(map),
            Ok(other) => serde_json::json!({ "result": other }),
            Err(err) => serde_json::json!({ "serialization_error": err.to_string() }),
        };
        Self {
            text: text.into(),
            structured,
            images: Vec::new(),
        }
    }

    /// Adds an image (a chart) to the answer.
    pub fn with_image(mut self, image: ToolImage) -> Self {
        self.images.push(image);
        self
    }

    /// An answer from a named venue: the text starts with `venue: NAME` and
    /// the structured body (an object) gains a `venue` field, so an agent
    /// always sees whether the real venue or a stand-in answered.
    pub fn from_venue(venue: &str, text: impl AsRef<str>, mut body: Value) -> Self {
        if let Value::Object(map) = &mut body {
            map.insert("venue".into(), Value::String(venue.to_string()));
        }
        Self::new(format!("venue: {venue}\n{}", text.as_ref()), body)
    }
}

/// Whether a venue a bundle talks to is the real one or an embedded stand-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VenueMode {
    /// The real outside service with real money.
    Live,
    /// A paper account at a real or simulated venue.
    Paper,
    /// The embedded simulated venue.
    Simulated,
}

/// A venue a bundle currently uses, as reported by `server_info`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VenueStatus {
    /// Venue name (`polymarket`, `questrade`, `paper`, ...).
    pub name: String,
    /// Live, paper or simulated.
    pub mode: VenueMode,
}

/// An MCP resource a bundle publishes: reference an agent can read.
#[derive(Debug, Clone)]
pub struct ResourceSpec {
    /// Resource URI (`polymarket://glossary`).
    pub uri: String,
    /// Short name.
    pub name: String,
    /// What it contains.
    pub description: String,
    /// MIME type of its text.
    pub mime_type: String,
}

/// The text of a resource read.
#[derive(Debug, Clone)]
pub struct ResourceText {
    /// MIME type.
    pub mime_type: String,
    /// The content.
    pub text: String,
}

/// A prompt argument.
#[derive(Debug, Clone)]
pub struct PromptArg {
    /// Argument name.
    pub name: String,
    /// What to pass.
    pub description: String,
    /// Must be given.
    pub required: bool,
}

/// A required prompt argument, trimmed; an invalid-input error naming it
/// when it is missing or blank.
pub fn prompt_arg<'a>(
    args: &'a BTreeMap<String, String>,
    name: &str,
) -> Result<&'a str, ToolError> {
    args.get(name)
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| ToolError::invalid(name, "required"))
}

/// An MCP prompt a bundle publishes: a workflow template.
#[derive(Debug, Clone)]
pub struct PromptSpec {
    /// Prompt name.
    pub name: String,
    /// What the workflow does.
    pub description: String,
    /// Its arguments.
    pub arguments: Vec<PromptArg>,
}

/// Who is calling, as far as the runtime knows.
#[derive(Debug, Clone, Serialize)]
pub struct Caller {
    /// `stdio` for local use, the token subject over HTTP, `anonymous` for HTTP without auth.
    pub id: String,
    /// Scopes held.
    pub scopes: Vec<Scope>,
}

impl Caller {
    /// The trusted local caller (stdio): every scope.
    pub fn local() -> Self {
        Self {
            id: "stdio".into(),
            scopes: vec![Scope::Read, Scope::Trade, Scope::Admin],
        }
    }

    /// Whether the caller holds `scope`.
    pub fn has(&self, scope: Scope) -> bool {
        self.scopes.contains(&scope)
    }
}

/// Everything a tool call may use: storage, time, progress reporting,
/// cancellation, who is calling and under which variant.
#[derive(Clone)]
pub struct ToolCtx {
    /// The database.
    pub store: Store,
    /// The clock (real, or fixed in tests).
    pub clock: Arc<dyn Clock>,
    /// Progress reporting to the client and to the job record.
    pub progress: Progress,
    /// Cancelled when the client cancels or the job is cancelled.
    pub cancel: CancellationToken,
    /// The caller.
    pub caller: Caller,
    /// Name of the variant serving this call.
    pub variant: Arc<str>,
    /// Whether live-venue trading is enabled for this server.
    pub live_trading: bool,
    /// The bundle's own name of the tool being called (for audit rows).
    pub tool: Arc<str>,
    /// SHA-256 of the call's canonical arguments (for audit rows).
    pub args_digest: Arc<str>,
    /// The account this call acts for: `None` for the shared default
    /// account, or the caller's own name when the manifest sets
    /// `[accounts] per_caller = true` (paper broker account, local CLOB
    /// wallet, fantasy identity are then kept apart per caller).
    pub account: Option<Arc<str>>,
}

impl ToolCtx {
    /// A context over `store` for the trusted local caller, with the system
    /// clock, recorded progress and a fresh cancellation token (in-process
    /// callers and tests; the server builds its own per call).
    pub fn new(store: Store) -> Self {
        Self {
            store,
            clock: Arc::new(crate::clock::SystemClock),
            progress: Progress::recording(),
            cancel: CancellationToken::new(),
            caller: Caller::local(),
            variant: Arc::from("local"),
            live_trading: false,
            tool: Arc::from(""),
            args_digest: Arc::from(""),
            account: None,
        }
    }

    /// The same context with another clock.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The same context with another caller.
    pub fn with_caller(mut self, caller: Caller) -> Self {
        self.caller = caller;
        self
    }

    /// The same context with live trading on or off.
    pub fn with_live_trading(mut self, live: bool) -> Self {
        self.live_trading = live;
        self
    }

    /// The same context acting for `account` (per-caller accounts).
    pub fn with_account(mut self, account: impl Into<Arc<str>>) -> Self {
        self.account = Some(account.into());
        self
    }

    /// The account name to key per-caller state by: the caller's own account,
    /// or `shared` (the name a bundle may replace with its own default).
    pub fn account_or<'a>(&'a self, shared: &'a str) -> &'a str {
        self.account.as_deref().unwrap_or(shared)
    }

    /// Fails with `Cancelled` once the call has been cancelled; long loops call it.
    pub fn check_cancelled(&self) -> Result<(), ToolError> {
        if self.cancel.is_cancelled() {
            Err(ToolError::cancelled())
        } else {
            Ok(())
        }
    }

    /// Appends the audit row of a state change this call makes, through
    /// `exec` (the transaction that makes the change, so both commit or
    /// neither): time, variant, caller, tool and argument digest come from
    /// the call; `outcome` names what happened (`order_placed`), `detail`
    /// says what changed (never secrets).
    pub async fn audit<'e, E>(
        &self,
        exec: E,
        outcome: &str,
        detail: &impl Serialize,
    ) -> Result<(), sqlx::Error>
    where
        E: sqlx::Executor<'e, Database = sqlx::Any>,
    {
        let detail = serde_json::to_string(detail).unwrap_or_default();
        crate::middleware::audit::append(
            exec,
            &crate::middleware::audit::AuditEntry {
                at_ms: self.clock.now_ms(),
                variant: &self.variant,
                tool: &self.tool,
                caller: &self.caller.id,
                args_digest: &self.args_digest,
                outcome,
                detail: Some(&detail),
            },
        )
        .await
    }
}

pub use crate::settings::BundleSettings;

/// A group of tools (plus resources and prompts) the runtime can host.
///
/// Its tools are one typed table ([`ToolBundle::routes`]): each route binds a
/// spec, its input type and its handler, so names cannot drift from dispatch.
#[async_trait::async_trait]
pub trait ToolBundle: Send + Sync + 'static {
    /// Bundle name as manifests refer to it (`polymarket`).
    fn name(&self) -> &'static str;

    /// The bundle's route table, bound to the bundle itself. Called once at
    /// start (and by in-process callers such as tests).
    fn routes(self: Arc<Self>) -> ToolRouter;

    /// Database migrations the bundle needs, applied at start.
    fn migrations(&self) -> Vec<Migration> {
        Vec::new()
    }

    /// The venues it talks to and whether each is live.
    fn venues(&self) -> Vec<VenueStatus> {
        Vec::new()
    }

    /// Resources it publishes.
    fn resources(&self) -> Vec<ResourceSpec> {
        Vec::new()
    }

    /// Reads one of its resources.
    async fn read_resource(&self, uri: &str, _ctx: ToolCtx) -> Result<ResourceText, ToolError> {
        Err(ToolError::not_found(format!("no resource {uri}")))
    }

    /// Prompts it publishes.
    fn prompts(&self) -> Vec<PromptSpec> {
        Vec::new()
    }

    /// Renders a prompt into its message text (one user message).
    fn render_prompt(
        &self,
        name: &str,
        _args: &BTreeMap<String, String>,
    ) -> Result<String, ToolError> {
        Err(ToolError::not_found(format!("no prompt {name}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize, JsonSchema)]
    #[allow(dead_code)]
    struct Order {
        symbol: String,
        qty: u32,
        limit: Option<Leg>,
    }

    #[derive(Debug, Deserialize, JsonSchema)]
    #[allow(dead_code)]
    struct Leg {
        price: f64,
    }

    #[test]
    fn bad_type_names_the_field_and_expected_type() {
        let err = parse_args::<Order>(serde_json::json!({"symbol": "AAPL", "qty": "ten"}))
            .expect_err("must fail");
        assert_eq!(err.field.as_deref(), Some("qty"));
        assert!(err.message.contains("expected u32"), "{}", err.message);
    }

    #[test]
    fn missing_field_is_named_with_its_path() {
        let err = parse_args::<Order>(serde_json::json!({"qty": 1})).expect_err("must fail");
        assert_eq!(err.field.as_deref(), Some("symbol"));
        let err = parse_args::<Order>(serde_json::json!({"symbol": "X", "qty": 1, "limit": {}}))
            .expect_err("must fail");
        assert_eq!(err.field.as_deref(), Some("limit.price"));
    }

    #[test]
    fn schema_is_an_object_schema() {
        let schema = input_schema_for::<Order>();
        assert_eq!(schema.get("type"), Some(&Value::String("object".into())));
        assert!(schema.get("properties").is_some());
        assert!(!schema.contains_key("$schema"));
    }
}
