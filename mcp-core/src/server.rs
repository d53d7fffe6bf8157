//! The rmcp `ServerHandler` over a resolved [`Runtime`]: tools, resources and
//! prompts of the manifest, with scopes, the trading gate, rate limits,
//! deadlines (and hand-over to jobs), progress, cancellation and the audit log
//! applied to every call.

use std::collections::BTreeMap;
use std::sync::Arc;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, GetPromptRequestParams,
    GetPromptResponse, GetPromptResult, Implementation, ListPromptsResult, ListResourcesResult,
    ListToolsResult, PaginatedRequestParams, Prompt, PromptArgument, PromptMessage,
    ReadResourceRequestParams, ReadResourceResponse, ReadResourceResult, Resource,
    ResourceContents, Role, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::bundle::{Caller, Scope, ToolCtx, ToolOutput, VenueMode};
use crate::error::{ToolError, ToolErrorKind};
use crate::jobs::NewJob;
use crate::manifest::OnDeadline;
use crate::middleware::audit::{self, CallRow, CallRowSlot, OwnedAuditEntry};
use crate::progress::Progress;
use crate::registry::{Runtime, ServedTool};

/// Which transport a server instance answers on; decides who the caller is
/// when a request carries no authenticated identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// Local stdio: the trusted user, every scope.
    Stdio,
    /// HTTP: the caller set by the auth middleware, else nobody.
    Http,
}

/// The MCP server for one session (cheap: it shares the [`Runtime`]).
#[derive(Clone)]
pub struct McpServer {
    rt: Arc<Runtime>,
    transport: Transport,
}

impl McpServer {
    /// A server over `rt` for `transport`.
    pub fn new(rt: Arc<Runtime>, transport: Transport) -> Self {
        Self { rt, transport }
    }

    fn caller(&self, context: &RequestContext<RoleServer>) -> Caller {
        let from_http = context
            .extensions
            .get::<http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<Caller>().cloned());
        match (self.transport, from_http) {
            (_, Some(caller)) => caller,
            (Transport::Stdio, None) => self.rt.stdio_caller.clone(),
            (Transport::Http, None) => Caller {
                id: "unauthenticated".into(),
                scopes: Vec::new(),
            },
        }
    }

    fn ctx(&self, caller: Caller, cancel: CancellationToken, progress: Progress) -> ToolCtx {
        ToolCtx {
            store: self.rt.store.clone(),
            clock: self.rt.clock.clone(),
            progress,
            cancel,
            account: self.rt.account_for(&caller),
            caller,
            variant: self.rt.variant.clone(),
            live_trading: self.rt.live_trading,
            tool: Arc::from(""),
            args_digest: Arc::from(""),
        }
    }

    /// Checks scope, trading gate and rate limit before a call runs.
    async fn admit(&self, tool: &ServedTool, caller: &Caller) -> Result<(), ToolError> {
        if !caller.has(tool.spec.scope) {
            return Err(ToolError::refused(format!(
                "`{}` needs the `{}` scope; caller `{}` holds [{}]",
                tool.served_name,
                tool.spec.scope.as_str(),
                caller.id,
                caller
                    .scopes
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
            .with_hint("use a token that carries this scope"));
        }
        if tool.spec.scope == Scope::Trade && !self.rt.live_trading {
            let live: Vec<String> = tool
                .bundle
                .venues()
                .into_iter()
                .filter(|v| v.mode == VenueMode::Live)
                .map(|v| v.name)
                .collect();
            if !live.is_empty() {
                return Err(ToolError::refused(format!(
                    "`{}` would trade on the live venue {} and live trading is disabled",
                    tool.served_name,
                    live.join(", ")
                ))
                .with_hint(
                    "to allow real-money trading set `[trading] live = true` in the manifest, \
                     or start the server with --live-trading (or NT_LIVE_TRADING=1); \
                     remove the venue credentials to trade on the simulated venue instead",
                ));
            }
        }
        if let Err(wait) = self.rt.rate_limiter.check(&caller.id).await {
            return Err(ToolError::new(
                ToolErrorKind::RateLimited,
                format!(
                    "rate limit of {} calls per minute reached",
                    self.rt.manifest.limits.calls_per_minute
                ),
            )
            .with_hint(format!("retry in {:.1} s", wait.as_secs_f64())));
        }
        Ok(())
    }

    /// Runs an admitted call under its deadline. Returns the answer, or a job
    /// id when the call outlived its deadline in a job-on-deadline variant.
    async fn run(
        &self,
        tool: &ServedTool,
        args: Value,
        caller: Caller,
        args_digest: &str,
        context: &RequestContext<RoleServer>,
        call_row: Option<CallRowSlot>,
    ) -> Result<Outcome, ToolError> {
        let cancel = CancellationToken::new();
        let progress = match context.meta.get_progress_token() {
            Some(token) => Progress::to_client(context.peer.clone(), token),
            None => Progress::recording(),
        };
        let mut ctx = self.ctx(caller.clone(), cancel.clone(), progress.clone());
        ctx.tool = Arc::from(tool.spec.name.as_str());
        ctx.args_digest = Arc::from(args_digest);
        let call = tool.route.call(args, ctx);
        let call: futures::future::BoxFuture<'static, _> = match call_row {
            Some(slot) => Box::pin(audit::with_call_row(slot, call)),
            None => Box::pin(call),
        };
        let mut handle = if tool.spec.cpu_heavy {
            // Off the async workers: a long search must never stall other
            // calls; it polls `ctx.cancel` to stop when asked.
            let runtime = tokio::runtime::Handle::current();
            tokio::task::spawn_blocking(move || runtime.block_on(call))
        } else {
            tokio::spawn(call)
        };
        let sleep = tokio::time::sleep(tool.deadline);
        tokio::pin!(sleep);
        tokio::select! {
            joined = &mut handle => match joined {
                Ok(result) => result.map(Outcome::Done),
                Err(join) => {
                    tracing::error!(tool = %tool.served_name, error = %join, "tool task failed");
                    Err(ToolError::internal(format!("`{}` crashed; the session is still usable", tool.served_name)))
                }
            },
            () = context.ct.cancelled() => {
                cancel.cancel();
                if tokio::time::timeout(std::time::Duration::from_secs(1), &mut handle).await.is_err() {
                    handle.abort();
                }
                Err(ToolError::cancelled())
            }
            () = &mut sleep => match self.rt.manifest.limits.on_deadline {
                OnDeadline::Error => {
                    cancel.cancel();
                    handle.abort();
                    Err(ToolError::new(
                        ToolErrorKind::DeadlineExceeded,
                        format!("`{}` passed its deadline of {} s and was stopped", tool.served_name, tool.deadline.as_secs_f64()),
                    ).with_hint("use the timeout-tolerant variant, where such calls continue as jobs, or raise the deadline in the manifest's [tools.deadlines]"))
                }
                OnDeadline::Job => {
                    progress.detach_client();
                    let id = self.rt.jobs.adopt(NewJob {
                        tool: tool.served_name.clone(),
                        caller: caller.id.clone(),
                        args_digest: args_digest.to_string(),
                        handle,
                        cancel,
                        progress,
                    }).await?;
                    Ok(Outcome::Job(id))
                }
            },
        }
    }

    /// The audit row of a call by `caller` to `tool`.
    fn entry(
        &self,
        tool: &ServedTool,
        caller: &str,
        args_digest: &str,
        outcome: String,
    ) -> OwnedAuditEntry {
        OwnedAuditEntry {
            at_ms: self.rt.clock.now_ms(),
            variant: self.rt.manifest.name.clone(),
            tool: tool.served_name.clone(),
            caller: caller.to_string(),
            args_digest: args_digest.to_string(),
            outcome,
            detail: None,
        }
    }

    /// Writes the call's audit row: trade-scope calls answer only once it is
    /// committed (a successful call whose state change committed the row
    /// with itself, through `call_row`, is done); other calls queue it for
    /// the group-commit writer.
    async fn audit(
        &self,
        tool: &ServedTool,
        caller: &str,
        args_digest: &str,
        outcome: String,
        call_row: Option<CallRowSlot>,
    ) {
        if let Some(slot) = call_row {
            let mut row = audit::lock(&slot);
            if outcome == "ok" && matches!(*row, CallRow::Written) {
                return;
            }
            if matches!(*row, CallRow::Waiting(_)) {
                *row = CallRow::Closed;
            }
        }
        let wait = tool.spec.scope == Scope::Trade;
        let entry = self.entry(tool, caller, args_digest, outcome);
        let tool = tool.served_name.as_str();
        let written = if wait {
            self.rt.audit.record(entry).await
        } else {
            self.rt.audit.enqueue(entry).await
        };
        if let Err(err) = written {
            tracing::error!(tool, error = %err, "could not write the audit row");
        }
    }
}

enum Outcome {
    Done(ToolOutput),
    Job(String),
}

fn success(output: ToolOutput) -> CallToolResult {
    let mut result = CallToolResult::structured(output.structured);
    result.content = vec![ContentBlock::text(output.text)];
    result.content.extend(
        output
            .images
            .into_iter()
            .map(|img| ContentBlock::image(img.data, img.mime_type)),
    );
    result
}

fn failure(err: &ToolError) -> CallToolResult {
    let value = serde_json::json!({ "error": err });
    let mut result = CallToolResult::structured_error(value);
    result.content = vec![ContentBlock::text(err.to_text())];
    result
}

impl ServerHandler for McpServer {
    fn get_info(&self) -> ServerConfig {
        let manifest = &self.rt.manifest;
        let mut implementation =
            Implementation::new("neural-trader-mcp", env!("CARGO_PKG_VERSION"));
        implementation = implementation.with_title(
            manifest
                .title
                .clone()
                .unwrap_or_else(|| format!("Neural Trader ({})", manifest.name)),
        );
        let mut config = ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_resources()
                .enable_prompts()
                .build(),
        )
        .with_server_info(implementation);
        if let Some(instructions) = &manifest.instructions {
            config = config.with_instructions(instructions.clone());
        }
        config
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        Ok(ListToolsResult::with_all_items(
            self.rt.tool_list.as_ref().clone(),
        ))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.rt.tool_list.iter().find(|t| t.name == name).cloned()
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let name = request.name.to_string();
        let Some(tool) = self.rt.tool(&name) else {
            return Err(McpError::invalid_params(
                format!("unknown tool `{name}`; tools/list shows the tools of this server"),
                None,
            ));
        };
        // The database opens in the background at start: the first calls
        // wait for it; a database that could not open fails every call.
        if let Err(err) = self.rt.ready().await {
            return Ok(failure(&ToolError::internal(err.to_string()).with_hint(
                "check the --db / NT_DB URL and that the database is reachable; restart the server",
            ))
            .into());
        }
        let args = request.arguments.map(Value::Object).unwrap_or(Value::Null);
        let digest = audit::args_digest(&args);
        let caller = self.caller(&context);
        // A trade-scope call's row may commit with the state change that
        // completes it (`WriteTx::record_call`).
        let call_row = (tool.spec.scope == Scope::Trade).then(|| {
            let entry = self.entry(tool, &caller.id, &digest, "ok".to_string());
            Arc::new(std::sync::Mutex::new(CallRow::Waiting(entry)))
        });
        let result = match self.admit(tool, &caller).await {
            Ok(()) => {
                self.run(
                    tool,
                    args,
                    caller.clone(),
                    &digest,
                    &context,
                    call_row.clone(),
                )
                .await
            }
            Err(err) => Err(err),
        };
        let (answer, outcome) = match result {
            Ok(Outcome::Done(output)) => (success(output), "ok".to_string()),
            Ok(Outcome::Job(id)) => {
                let text = format!(
                    "`{}` passed its deadline of {} s and continues as background job {id}; \
                     poll it with job_status {{\"job_id\": \"{id}\"}} (add wait_ms to wait), \
                     stop it with job_cancel",
                    tool.served_name,
                    tool.deadline.as_secs_f64()
                );
                let structured = serde_json::json!({"job_id": id, "status": "running", "tool": tool.served_name});
                (
                    success(ToolOutput::new(text, structured)),
                    format!("job:{id}"),
                )
            }
            Err(err) => (failure(&err), format!("error:{}", err.kind.as_str())),
        };
        self.audit(tool, &caller.id, &digest, outcome, call_row)
            .await;
        Ok(answer.into())
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, McpError> {
        let items = self
            .rt
            .resources
            .iter()
            .map(|(spec, _)| {
                Resource::new(spec.uri.clone(), spec.name.clone())
                    .with_description(spec.description.clone())
                    .with_mime_type(spec.mime_type.clone())
            })
            .collect();
        Ok(ListResourcesResult::with_all_items(items))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        let uri = request.uri.clone();
        let Some((_, bundle)) = self.rt.resources.iter().find(|(spec, _)| spec.uri == uri) else {
            return Err(McpError::resource_not_found(
                format!("no resource `{uri}`; resources/list shows them"),
                None,
            ));
        };
        let caller = self.caller(&context);
        if !caller.has(Scope::Read) {
            return Err(McpError::invalid_request(
                "reading resources needs the `read` scope",
                None,
            ));
        }
        if let Err(err) = self.rt.ready().await {
            return Err(McpError::internal_error(err.to_string(), None));
        }
        let ctx = self.ctx(caller, context.ct.clone(), Progress::recording());
        match bundle.read_resource(&uri, ctx).await {
            Ok(text) => {
                let mut contents = ResourceContents::text(text.text, uri);
                if let ResourceContents::TextResourceContents { mime_type, .. } = &mut contents {
                    *mime_type = Some(text.mime_type);
                }
                Ok(ReadResourceResult::new(vec![contents]).into())
            }
            Err(err) => Err(McpError::internal_error(err.to_text(), None)),
        }
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, McpError> {
        let items = self
            .rt
            .prompts
            .iter()
            .map(|(spec, _)| {
                let args = spec
                    .arguments
                    .iter()
                    .map(|a| {
                        PromptArgument::new(a.name.clone())
                            .with_description(a.description.clone())
                            .with_required(a.required)
                    })
                    .collect();
                Prompt::new(
                    spec.name.clone(),
                    Some(spec.description.clone()),
                    Some(args),
                )
            })
            .collect();
        Ok(ListPromptsResult::with_all_items(items))
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, McpError> {
        let Some((spec, bundle)) = self.rt.prompts.iter().find(|(s, _)| s.name == request.name)
        else {
            return Err(McpError::invalid_params(
                format!("no prompt `{}`; prompts/list shows them", request.name),
                None,
            ));
        };
        let args: BTreeMap<String, String> = request
            .arguments
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| {
                let text = match v {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                (k, text)
            })
            .collect();
        for arg in spec.arguments.iter().filter(|a| a.required) {
            if !args.contains_key(&arg.name) {
                return Err(McpError::invalid_params(
                    format!("prompt `{}` needs the argument `{}`", spec.name, arg.name),
                    None,
                ));
            }
        }
        let text = bundle
            .render_prompt(&spec.name, &args)
            .map_err(|err| McpError::invalid_params(err.to_text(), None))?;
        Ok(
            GetPromptResult::new(vec![PromptMessage::new_text(Role::User, text)])
                .with_description(spec.description.clone())
                .into(),
        )
    }
}
