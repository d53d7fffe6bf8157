//! The E2B REST API client (control plane, `https://api.e2b.app`, auth by
//! the `X-API-Key` header), over `nt-venue-http` (pacing, retries on
//! 429/5xx, breaker). Endpoints as in E2B's `spec/openapi.yml`:
//!
//! - sandboxes: `POST /sandboxes` (`templateID`, `timeout`, `metadata`,
//!   `envVars`), `GET /sandboxes`, `GET /sandboxes/{id}`,
//!   `DELETE /sandboxes/{id}`, `POST /sandboxes/{id}/timeout`;
//! - templates (v2 build flow): `POST /v2/templates` (`alias`, `cpuCount`,
//!   `memoryMB`) answering `templateID` and `buildID`,
//!   `POST /v2/templates/{templateID}/builds/{buildID}` (`fromImage`,
//!   `steps`, `startCmd`, `readyCmd`), and
//!   `GET /templates/{templateID}/builds/{buildID}/status?logsOffset=N`.

use std::collections::BTreeMap;
use std::time::Duration;

use nt_venue_http::{Answer, Policy, VenueClient};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::E2bError;

/// A sandbox as E2B describes it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RemoteSandbox {
    /// E2B sandbox id.
    #[serde(rename = "sandboxID")]
    pub sandbox_id: String,
    /// Template id.
    #[serde(rename = "templateID", default)]
    pub template_id: String,
    /// Token for the in-sandbox daemon, when the sandbox is secured.
    #[serde(default)]
    pub envd_access_token: Option<String>,
    /// Sandbox domain, when not the default.
    #[serde(default)]
    pub domain: Option<String>,
    /// When it ends (RFC 3339), in list and detail answers.
    #[serde(default)]
    pub end_at: Option<String>,
    /// Labels.
    #[serde(default)]
    pub metadata: Option<BTreeMap<String, String>>,
}

/// The E2B control-plane client.
pub struct E2bApi {
    http: VenueClient,
    base: String,
    key: String,
}

impl std::fmt::Debug for E2bApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("E2bApi")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

fn check(answer: Answer, what: &str) -> Result<Answer, E2bError> {
    if answer.is_success() {
        Ok(answer)
    } else {
        Err(E2bError::Upstream(format!(
            "{what}: HTTP {}: {}",
            answer.status,
            answer.message()
        )))
    }
}

fn parse<T: for<'de> Deserialize<'de>>(answer: &Answer, what: &str) -> Result<T, E2bError> {
    answer.json().map_err(|e| {
        E2bError::Upstream(format!(
            "{what}: unexpected answer ({e}): {}",
            answer.text().chars().take(200).collect::<String>()
        ))
    })
}

impl E2bApi {
    /// A client for `base` (no trailing slash) with `key`.
    pub fn new(base: &str, key: &str) -> Result<Self, E2bError> {
        let policy = Policy {
            timeout: Duration::from_secs(30),
            ..Policy::default()
        };
        Ok(Self {
            http: VenueClient::new("e2b", policy)?,
            base: base.trim_end_matches('/').to_string(),
            key: key.to_string(),
        })
    }

    async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Answer, E2bError> {
        let url = format!("{}{path}", self.base);
        Ok(self
            .http
            .send(|c| {
                let rb = match method {
                    "POST" => c.post(&url),
                    "DELETE" => c.delete(&url),
                    _ => c.get(&url),
                }
                .header("X-API-Key", &self.key);
                match body {
                    Some(b) => rb.json(b),
                    None => rb,
                }
            })
            .await?)
    }

    /// `POST /sandboxes`.
    pub async fn create_sandbox(
        &self,
        template_id: &str,
        timeout_secs: u64,
        metadata: &BTreeMap<String, String>,
        env: &BTreeMap<String, String>,
    ) -> Result<RemoteSandbox, E2bError> {
        let body = json!({
            "templateID": template_id,
            "timeout": timeout_secs,
            "metadata": metadata,
            "envVars": env,
            "secure": true,
        });
        let a = check(
            self.call("POST", "/sandboxes", Some(&body)).await?,
            "create sandbox",
        )?;
        parse(&a, "create sandbox")
    }

    /// `GET /sandboxes`.
    pub async fn list_sandboxes(&self) -> Result<Vec<RemoteSandbox>, E2bError> {
        let a = check(
            self.call("GET", "/sandboxes", None).await?,
            "list sandboxes",
        )?;
        parse(&a, "list sandboxes")
    }

    /// `GET /sandboxes/{id}`; `None` when E2B no longer has it.
    pub async fn get_sandbox(&self, id: &str) -> Result<Option<RemoteSandbox>, E2bError> {
        let a = self.call("GET", &format!("/sandboxes/{id}"), None).await?;
        if a.status == 404 {
            return Ok(None);
        }
        parse(&check(a, "get sandbox")?, "get sandbox").map(Some)
    }

    /// `DELETE /sandboxes/{id}` (a sandbox already gone counts as killed).
    pub async fn kill_sandbox(&self, id: &str) -> Result<(), E2bError> {
        let a = self
            .call("DELETE", &format!("/sandboxes/{id}"), None)
            .await?;
        if a.status == 404 {
            return Ok(());
        }
        check(a, "kill sandbox").map(|_| ())
    }

    /// `POST /sandboxes/{id}/timeout`.
    pub async fn set_timeout(&self, id: &str, timeout_secs: u64) -> Result<(), E2bError> {
        let body = json!({ "timeout": timeout_secs });
        check(
            self.call("POST", &format!("/sandboxes/{id}/timeout"), Some(&body))
                .await?,
            "set timeout",
        )
        .map(|_| ())
    }

    /// `POST /v2/templates`: returns (templateID, buildID).
    pub async fn request_build(&self, body: &Value) -> Result<(String, String), E2bError> {
        #[derive(Deserialize)]
        struct Created {
            #[serde(rename = "templateID")]
            template_id: String,
            #[serde(rename = "buildID")]
            build_id: String,
        }
        let a = check(
            self.call("POST", "/v2/templates", Some(body)).await?,
            "request build",
        )?;
        let c: Created = parse(&a, "request build")?;
        Ok((c.template_id, c.build_id))
    }

    /// `POST /v2/templates/{templateID}/builds/{buildID}`.
    pub async fn start_build(
        &self,
        template_id: &str,
        build_id: &str,
        body: &Value,
    ) -> Result<(), E2bError> {
        let path = format!("/v2/templates/{template_id}/builds/{build_id}");
        check(self.call("POST", &path, Some(body)).await?, "start build").map(|_| ())
    }

    /// `GET /templates/{templateID}/builds/{buildID}/status`: the status
    /// (`waiting`, `building`, `ready`, `error`) and the log lines from `offset`.
    pub async fn build_status(
        &self,
        template_id: &str,
        build_id: &str,
        offset: usize,
    ) -> Result<(String, Vec<String>), E2bError> {
        #[derive(Deserialize)]
        struct Status {
            status: String,
            #[serde(default)]
            logs: Vec<String>,
        }
        let path = format!("/templates/{template_id}/builds/{build_id}/status?logsOffset={offset}");
        let a = check(self.call("GET", &path, None).await?, "build status")?;
        let s: Status = parse(&a, "build status")?;
        Ok((s.status, s.logs))
    }
}
