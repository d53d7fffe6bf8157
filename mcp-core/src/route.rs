//! The typed tool table: a [`Route`] binds one tool's [`ToolSpec`], its typed
//! input and its handler in one value, so a tool's name can never drift from
//! its dispatch and the runtime parses arguments once (the idea of rmcp's
//! `ToolRoute` and `Parameters<P>`).
//!
//! A bundle writes its handlers as plain async functions over its own state,
//!
//! ```ignore
//! async fn place(b: Arc<Brokers>, input: PlaceOrderInput, ctx: ToolCtx) -> Result<ToolOutput, ToolError>
//! ```
//!
//! lists them with [`route`] (`route::<PlaceOrderInput, _>("broker_place_order", "...", place).trade()`),
//! and binds the list to its state with [`ToolRouter::new`].

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::bundle::{ToolCtx, ToolOutput, ToolSpec, parse_args};
use crate::error::ToolError;

/// The future a tool call runs.
pub type CallFuture = Pin<Box<dyn Future<Output = Result<ToolOutput, ToolError>> + Send>>;

/// A tool handler over state `S` taking input `I`: any
/// `Fn(Arc<S>, I, ToolCtx) -> impl Future<Output = Result<ToolOutput, ToolError>>`.
pub trait Handler<S, I>: Send + Sync + 'static {
    /// Runs the handler.
    fn call(&self, state: Arc<S>, input: I, ctx: ToolCtx) -> CallFuture;
}

impl<S, I, F, Fut> Handler<S, I> for F
where
    F: Fn(Arc<S>, I, ToolCtx) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<ToolOutput, ToolError>> + Send + 'static,
{
    fn call(&self, state: Arc<S>, input: I, ctx: ToolCtx) -> CallFuture {
        Box::pin(self(state, input, ctx))
    }
}

type StateHandler<S> = Arc<dyn Fn(Arc<S>, Value, ToolCtx) -> CallFuture + Send + Sync>;

/// One tool of a bundle before it is bound to the bundle's state: its spec and
/// a handler that parses the arguments into the handler's input type.
pub struct Route<S> {
    spec: ToolSpec,
    handler: StateHandler<S>,
}

/// A route for the tool `name`: its input schema is generated from `I`, the
/// same type the arguments are parsed into before `handler` runs. The tool is
/// read-only until marked otherwise ([`Route::trade`], [`Route::writes`], ...).
pub fn route<I, S>(
    name: impl Into<String>,
    description: impl Into<String>,
    handler: impl Handler<S, I>,
) -> Route<S>
where
    I: DeserializeOwned + JsonSchema + Send + 'static,
    S: Send + Sync + 'static,
{
    let handler = Arc::new(handler);
    Route {
        spec: ToolSpec::new::<I>(name, description),
        handler: Arc::new(move |state: Arc<S>, args: Value, ctx: ToolCtx| {
            match parse_args::<I>(args) {
                Ok(input) => handler.call(state, input, ctx),
                Err(err) => Box::pin(std::future::ready(Err(err))),
            }
        }),
    }
}

impl<S: Send + Sync + 'static> Route<S> {
    /// The tool's spec.
    pub fn spec(&self) -> &ToolSpec {
        &self.spec
    }

    /// Changes the spec with `f` (any [`ToolSpec`] builder method).
    pub fn with_spec(mut self, f: impl FnOnce(ToolSpec) -> ToolSpec) -> Self {
        self.spec = f(self.spec);
        self
    }

    /// Moves money: `trade` scope, not read-only (see [`ToolSpec::trade`]).
    pub fn trade(self) -> Self {
        self.with_spec(ToolSpec::trade)
    }

    /// Changes state without moving money (see [`ToolSpec::writes`]).
    pub fn writes(self) -> Self {
        self.with_spec(ToolSpec::writes)
    }

    /// An operator tool (`admin` scope).
    pub fn admin(self) -> Self {
        self.with_spec(ToolSpec::admin)
    }

    /// Repeating the call has a further effect.
    pub fn not_idempotent(self) -> Self {
        self.with_spec(ToolSpec::not_idempotent)
    }

    /// Sets the default deadline.
    pub fn deadline(self, deadline: std::time::Duration) -> Self {
        self.with_spec(|s| s.deadline(deadline))
    }

    /// Declares the tool CPU-heavy: the runtime runs it on a blocking thread,
    /// off the async workers, so it can never stall other calls.
    pub fn cpu_heavy(self) -> Self {
        self.with_spec(ToolSpec::cpu_heavy)
    }

    /// Binds the route to the bundle's state.
    pub fn bind(self, state: Arc<S>) -> ToolRoute {
        let handler = self.handler;
        ToolRoute {
            spec: self.spec,
            handler: Arc::new(move |args, ctx| handler(state.clone(), args, ctx)),
        }
    }
}

type BoundHandler = Arc<dyn Fn(Value, ToolCtx) -> CallFuture + Send + Sync>;

/// A route bound to its bundle's state: what the runtime serves.
#[derive(Clone)]
pub struct ToolRoute {
    /// The tool's spec (the bundle's own name; the manifest may rename it).
    pub spec: ToolSpec,
    handler: BoundHandler,
}

impl ToolRoute {
    /// Parses `args` into the tool's input and runs the handler. A parse
    /// failure is an `invalid_input` error naming the field.
    pub fn call(&self, args: Value, ctx: ToolCtx) -> CallFuture {
        (self.handler)(args, ctx)
    }
}

impl std::fmt::Debug for ToolRoute {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ToolRoute")
            .field("name", &self.spec.name)
            .finish_non_exhaustive()
    }
}

/// A bundle's table of bound routes, in listing order.
#[derive(Clone, Debug, Default)]
pub struct ToolRouter {
    routes: Vec<ToolRoute>,
}

impl ToolRouter {
    /// Binds `routes` to `state`. Panics on a repeated tool name: that is a
    /// bug in the bundle's table, caught by its first test.
    pub fn new<S: Send + Sync + 'static>(
        state: Arc<S>,
        routes: impl IntoIterator<Item = Route<S>>,
    ) -> Self {
        let mut router = Self::default();
        for route in routes {
            router.push(route.bind(state.clone()));
        }
        router
    }

    /// Adds a bound route. Panics on a repeated tool name.
    pub fn push(&mut self, route: ToolRoute) {
        assert!(
            self.get(&route.spec.name).is_none(),
            "tool `{}` is routed twice",
            route.spec.name
        );
        self.routes.push(route);
    }

    /// Appends another table (a second family of the same bundle).
    pub fn merge(mut self, other: ToolRouter) -> Self {
        for route in other.routes {
            self.push(route);
        }
        self
    }

    /// The route of tool `name`.
    pub fn get(&self, name: &str) -> Option<&ToolRoute> {
        self.routes.iter().find(|r| r.spec.name == name)
    }

    /// The specs, in listing order.
    pub fn specs(&self) -> Vec<ToolSpec> {
        self.routes.iter().map(|r| r.spec.clone()).collect()
    }

    /// The routes, in listing order.
    pub fn routes(&self) -> &[ToolRoute] {
        &self.routes
    }

    /// Calls tool `name` (tests and in-process callers; the server goes
    /// through its own index). An unknown name is `not_found`.
    pub async fn call(
        &self,
        name: &str,
        args: Value,
        mut ctx: ToolCtx,
    ) -> Result<ToolOutput, ToolError> {
        let route = self
            .get(name)
            .ok_or_else(|| ToolError::not_found(format!("unknown tool `{name}`")))?;
        ctx.tool = Arc::from(name);
        route.call(args, ctx).await
    }
}

impl IntoIterator for ToolRouter {
    type Item = ToolRoute;
    type IntoIter = std::vec::IntoIter<ToolRoute>;

    fn into_iter(self) -> Self::IntoIter {
        self.routes.into_iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;
    use serde::Deserialize;

    struct Counter {
        base: i64,
    }

    #[derive(Deserialize, JsonSchema)]
    #[serde(deny_unknown_fields)]
    struct AddInput {
        n: i64,
    }

    async fn add(
        state: Arc<Counter>,
        input: AddInput,
        _ctx: ToolCtx,
    ) -> Result<ToolOutput, ToolError> {
        let sum = state.base + input.n;
        Ok(ToolOutput::new(
            format!("{sum}"),
            serde_json::json!({ "sum": sum }),
        ))
    }

    async fn router() -> (ToolRouter, ToolCtx) {
        let store = Store::open("sqlite::memory:").await.expect("store");
        let router = ToolRouter::new(
            Arc::new(Counter { base: 40 }),
            [route("add", "adds n to the base", add).writes()],
        );
        (router, ToolCtx::new(store))
    }

    #[tokio::test]
    async fn a_route_parses_its_typed_input_once_and_runs_the_handler() {
        let (router, ctx) = router().await;
        let out = router
            .call("add", serde_json::json!({"n": 2}), ctx.clone())
            .await
            .expect("call");
        assert_eq!(out.structured["sum"], 42);
        let spec = &router.routes()[0].spec;
        assert_eq!(spec.name, "add");
        assert!(!spec.read_only);
        assert!(spec.input_schema.get()["properties"]["n"].is_object());
        let err = router
            .call("add", serde_json::json!({"n": "two"}), ctx.clone())
            .await
            .expect_err("bad type");
        assert_eq!(err.field.as_deref(), Some("n"));
        let err = router
            .call("nope", serde_json::json!({}), ctx)
            .await
            .expect_err("unknown");
        assert_eq!(err.kind, crate::ToolErrorKind::NotFound);
    }

    #[test]
    #[should_panic(expected = "routed twice")]
    fn a_name_routed_twice_is_a_bug() {
        let _ = ToolRouter::new(
            Arc::new(Counter { base: 0 }),
            [route("add", "a", add), route("add", "b", add)],
        );
    }
}
