//! The bundle type: [`SyndicateBundle`] and its route table (handlers in
//! `tools/<family>.rs`). Syndicate state lives in the database only.

use std::sync::Arc;

use async_trait::async_trait;
use nt_mcp_core::bundle::{BundleSettings, ToolBundle};
use nt_mcp_core::{Migration, NewBundle, ToolRouter};

use crate::error::SyndicateError;

/// The syndicate bundle (`syndicate`).
#[derive(Debug, Default)]
pub struct SyndicateBundle;

impl NewBundle for SyndicateBundle {
    const NAME: &'static str = "syndicate";
    type Error = SyndicateError;

    fn from_settings(settings: &BundleSettings) -> Result<Self, Self::Error> {
        if let Some(key) = settings.table.keys().next() {
            return Err(SyndicateError::invalid(
                format!("bundle_config.syndicate.{key}"),
                "unknown setting (the syndicate bundle has none; rules are per syndicate)",
            ));
        }
        Ok(Self)
    }
}

#[async_trait]
impl ToolBundle for SyndicateBundle {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn routes(self: Arc<Self>) -> ToolRouter {
        ToolRouter::new(self, crate::tools::routes())
    }

    fn migrations(&self) -> Vec<Migration> {
        crate::store::migrations()
    }
}
