//! The route table: sandbox tools ([`sandbox`]), the agent runner
//! ([`agent`]) and template tools ([`template`]); [`common`] holds the
//! run-with-progress helper they share.

use std::sync::Arc;

use nt_mcp_core::ToolRouter;

use crate::bundle::E2bBundle;

pub mod agent;
pub mod common;
pub mod sandbox;
pub mod template;

/// Every route of the bundle.
pub fn routes(b: Arc<E2bBundle>) -> ToolRouter {
    sandbox::routes(b.clone())
        .merge(agent::routes(b.clone()))
        .merge(template::routes(b))
}
