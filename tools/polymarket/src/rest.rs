//! The CLOB REST client: public market data, and (with API credentials)
//! order posting, cancels, open orders and trades under L2 HMAC auth.
//! Retries 429 and 5xx with exponential backoff (bounded), opens a circuit
//! breaker after repeated failures, and turns Polymarket's `{"error": ...}`
//! bodies into clear [`PolymarketError::Upstream`] messages.

use nt_venue_http::reqwest::Method;
use serde::Serialize;
use serde_json::Value;

use crate::auth::{ApiCreds, api_creds_from, l1_headers, l2_headers};
use crate::book::BookMsg;
use crate::error::{PolymarketError, Result};
use crate::http::Service;
use crate::signing::{SignedOrder, Wallet};
use crate::types::Side;

/// The public CLOB host.
pub const DEFAULT_CLOB_URL: &str = "https://clob.polymarket.com";

/// The `POST /order` body of a V2 order, serialised exactly as
/// py-clob-client-v2 sends it (`order_to_json_v2`, compact JSON, this key
/// order): the signed order, the API key as owner, the order type, and the
/// `deferExec` / `postOnly` flags.
pub fn post_order_body(
    order: &SignedOrder,
    owner: &str,
    order_type: &str,
    post_only: bool,
) -> String {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Body<'a> {
        order: &'a SignedOrder,
        owner: &'a str,
        order_type: &'a str,
        defer_exec: bool,
        post_only: bool,
    }
    serde_json::to_string(&Body {
        order,
        owner,
        order_type,
        defer_exec: false,
        post_only,
    })
    .unwrap_or_default()
}

/// Which balance `/balance-allowance` reports: pUSD collateral, or one
/// outcome token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssetType {
    /// pUSD.
    Collateral,
    /// An outcome token (needs its token id).
    Conditional,
}

impl AssetType {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            AssetType::Collateral => "COLLATERAL",
            AssetType::Conditional => "CONDITIONAL",
        }
    }
}

pub use crate::http::RetryPolicy;

/// Token ids per `POST /books` request.
pub const BOOKS_BATCH: usize = 100;

/// A CLOB REST client.
pub struct ClobClient {
    svc: Service,
    creds: Option<ApiCreds>,
    address: Option<String>,
}

impl std::fmt::Debug for ClobClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClobClient")
            .field("base", &self.svc.base())
            .field("authenticated", &self.creds.is_some())
            .finish()
    }
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn q(pairs: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
    pairs.iter().map(|(k, v)| (*k, (*v).to_string())).collect()
}

impl ClobClient {
    /// A client for `base` (e.g. [`DEFAULT_CLOB_URL`]); `creds` and
    /// `address` enable the authenticated endpoints.
    pub fn new(base: &str, creds: Option<ApiCreds>, address: Option<String>) -> Result<Self> {
        Ok(Self {
            svc: Service::new("CLOB", base)?,
            creds,
            address,
        })
    }

    /// Replaces the retry policy.
    pub fn with_policy(mut self, policy: RetryPolicy) -> Self {
        self.svc.set_policy(policy);
        self
    }

    /// Whether API credentials are set.
    pub fn authenticated(&self) -> bool {
        self.creds.is_some() && self.address.is_some()
    }

    /// The API key in use (never the secret).
    pub fn api_key(&self) -> Option<&str> {
        self.creds.as_ref().map(|c| c.key.as_str())
    }

    async fn request(
        &self,
        method: Method,
        path: &str,
        query: &[(&'static str, String)],
        body: Option<String>,
        auth: bool,
    ) -> Result<Value> {
        if !auth {
            return self
                .svc
                .request(method, path, query, body, &|| Ok(Vec::new()))
                .await;
        }
        let (Some(creds), Some(address)) = (&self.creds, &self.address) else {
            return Err(PolymarketError::Refused(
                "this needs Polymarket API credentials (POLYMARKET_API_KEY, POLYMARKET_API_SECRET, POLYMARKET_API_PASSPHRASE) and POLYMARKET_PRIVATE_KEY".into(),
            ));
        };
        let m = method.as_str().to_string();
        let b = body.clone();
        let headers = move || l2_headers(creds, address, now_secs(), &m, path, b.as_deref());
        self.svc.request(method, path, query, body, &headers).await
    }

    /// `POST /auth/api-key` (L1): creates new API credentials for `wallet`.
    // Doc: https://docs.polymarket.com/developers/CLOB/authentication (L1 headers, create API key)
    pub async fn create_api_key(
        &self,
        wallet: &Wallet,
        chain_id: u64,
        nonce: u64,
    ) -> Result<ApiCreds> {
        let headers = || l1_headers(wallet, chain_id, now_secs(), nonce);
        let v = self
            .svc
            .request(Method::POST, "/auth/api-key", &[], None, &headers)
            .await?;
        api_creds_from(&v)
    }

    /// `GET /auth/derive-api-key` (L1): the existing API credentials for
    /// `wallet` and `nonce`.
    // Doc: https://docs.polymarket.com/developers/CLOB/authentication (L1 headers, derive API key)
    pub async fn derive_api_key(
        &self,
        wallet: &Wallet,
        chain_id: u64,
        nonce: u64,
    ) -> Result<ApiCreds> {
        let headers = || l1_headers(wallet, chain_id, now_secs(), nonce);
        let v = self
            .svc
            .request(Method::GET, "/auth/derive-api-key", &[], None, &headers)
            .await?;
        api_creds_from(&v)
    }

    /// Derives the wallet's API credentials, creating them when none exist
    /// (as the official clients' `create_or_derive_api_creds` do).
    pub async fn create_or_derive_api_key(
        &self,
        wallet: &Wallet,
        chain_id: u64,
        nonce: u64,
    ) -> Result<ApiCreds> {
        match self.derive_api_key(wallet, chain_id, nonce).await {
            Ok(c) => Ok(c),
            Err(derive_err) => self.create_api_key(wallet, chain_id, nonce).await.map_err(
                |create_err| {
                    PolymarketError::Upstream(format!(
                        "could not derive ({derive_err}) or create ({create_err}) API credentials"
                    ))
                },
            ),
        }
    }

    /// `GET /book?token_id=`: one token's book.
    // Doc: https://docs.polymarket.com/api-reference/orderbook/get-order-book-summary
    pub async fn book(&self, token_id: &str) -> Result<BookMsg> {
        let v = self
            .request(
                Method::GET,
                "/book",
                &q(&[("token_id", token_id)]),
                None,
                false,
            )
            .await?;
        serde_json::from_value(v)
            .map_err(|e| PolymarketError::Upstream(format!("bad /book answer: {e}")))
    }

    /// `POST /books` with `[{"token_id": ...}, ...]`: several tokens' books
    /// in one request (public). Asked in chunks of [`BOOKS_BATCH`] ids.
    // Doc: https://docs.polymarket.com/api-reference/orderbook/get-multiple-order-books-summaries-by-request
    // (body: array of {token_id, side?}; answer: array of OrderBookSummary
    // {market, asset_id, timestamp, hash, bids, asks, min_order_size, tick_size, neg_risk})
    pub async fn books(&self, token_ids: &[String]) -> Result<Vec<BookMsg>> {
        let mut out = Vec::with_capacity(token_ids.len());
        for chunk in token_ids.chunks(BOOKS_BATCH) {
            let body: Vec<Value> = chunk
                .iter()
                .map(|t| serde_json::json!({ "token_id": t }))
                .collect();
            let v = self
                .request(
                    Method::POST,
                    "/books",
                    &[],
                    Some(Value::Array(body).to_string()),
                    false,
                )
                .await?;
            let Value::Array(items) = v else {
                return Err(PolymarketError::Upstream(
                    "bad /books answer: not an array".into(),
                ));
            };
            for item in items {
                out.push(
                    serde_json::from_value(item).map_err(|e| {
                        PolymarketError::Upstream(format!("bad /books answer: {e}"))
                    })?,
                );
            }
        }
        Ok(out)
    }

    /// `GET /markets` (one page from `next_cursor`).
    // Doc: https://docs.polymarket.com/developers/CLOB/markets/get-markets
    pub async fn markets(&self, next_cursor: &str) -> Result<Value> {
        self.request(
            Method::GET,
            "/markets",
            &q(&[("next_cursor", next_cursor)]),
            None,
            false,
        )
        .await
    }

    /// `GET /markets/{condition_id}`.
    // Doc: https://docs.polymarket.com/developers/CLOB/markets/get-markets (Market object)
    pub async fn market(&self, condition_id: &str) -> Result<Value> {
        self.request(
            Method::GET,
            &format!("/markets/{condition_id}"),
            &[],
            None,
            false,
        )
        .await
    }

    /// `GET /clob-markets/{condition_id}`: the CLOB V2 market info, with
    /// its tokens (`t`), tick (`mts`), neg-risk flag (`nr`) and platform fee
    /// schedule (`fd`: `{"r": rate, "e": exponent, "to": taker_only}`),
    /// as `py-clob-client-v2` reads it (see [`crate::fees`]).
    pub async fn clob_market(&self, condition_id: &str) -> Result<Value> {
        self.request(
            Method::GET,
            &format!("/clob-markets/{condition_id}"),
            &[],
            None,
            false,
        )
        .await
    }

    /// `GET /markets-by-token/{token_id}`: `{"condition_id": ...}`.
    pub async fn market_by_token(&self, token_id: &str) -> Result<Value> {
        self.request(
            Method::GET,
            &format!("/markets-by-token/{token_id}"),
            &[],
            None,
            false,
        )
        .await
    }

    /// `GET /fees/builder-fees/{builder_code}`:
    /// `{"builder_maker_fee_rate_bps": n, "builder_taker_fee_rate_bps": n}`.
    pub async fn builder_fees(&self, builder_code: &str) -> Result<Value> {
        self.request(
            Method::GET,
            &format!("/fees/builder-fees/{builder_code}"),
            &[],
            None,
            false,
        )
        .await
    }

    /// `GET /midpoint?token_id=`.
    // Doc: https://docs.polymarket.com/api-reference/pricing/get-midpoint-price
    pub async fn midpoint(&self, token_id: &str) -> Result<Value> {
        self.request(
            Method::GET,
            "/midpoint",
            &q(&[("token_id", token_id)]),
            None,
            false,
        )
        .await
    }

    /// `GET /price?token_id=&side=`: `{"price": "0.45"}`, the book's price on that side.
    // Doc: https://docs.polymarket.com/api-reference/market-data/get-market-price
    pub async fn price(&self, token_id: &str, side: Side) -> Result<Value> {
        self.request(
            Method::GET,
            "/price",
            &q(&[("token_id", token_id), ("side", side.as_str())]),
            None,
            false,
        )
        .await
    }

    /// `GET /spread?token_id=`: `{"spread": "0.02"}` (best ask minus best bid).
    // Doc: https://docs.polymarket.com/api-reference/market-data/get-spread
    pub async fn spread(&self, token_id: &str) -> Result<Value> {
        self.request(
            Method::GET,
            "/spread",
            &q(&[("token_id", token_id)]),
            None,
            false,
        )
        .await
    }

    /// `GET /last-trade-price?token_id=`: `{"price": "0.45", "side": "BUY"}`
    /// (`"0.5"` and an empty side when the token never traded).
    // Doc: https://docs.polymarket.com/api-reference/market-data/get-last-trade-price
    pub async fn last_trade_price(&self, token_id: &str) -> Result<Value> {
        self.request(
            Method::GET,
            "/last-trade-price",
            &q(&[("token_id", token_id)]),
            None,
            false,
        )
        .await
    }

    /// `GET /prices-history?market=&interval=[&fidelity=]`: `{"history": [{"t", "p"}]}`.
    // Doc: https://docs.polymarket.com/api-reference/pricing/get-price-history-for-a-traded-token
    pub async fn price_history(
        &self,
        token_id: &str,
        interval: &str,
        fidelity: Option<u32>,
    ) -> Result<Value> {
        let mut query = q(&[("market", token_id), ("interval", interval)]);
        if let Some(f) = fidelity {
            query.push(("fidelity", f.to_string()));
        }
        self.request(Method::GET, "/prices-history", &query, None, false)
            .await
    }

    /// `POST /order` (L2): posts a signed order.
    // Doc: https://docs.polymarket.com/developers/CLOB/orders/create-order
    pub async fn post_order(&self, order: &SignedOrder, order_type: &str) -> Result<Value> {
        let owner = self
            .creds
            .as_ref()
            .map(|c| c.key.clone())
            .unwrap_or_default();
        let body = post_order_body(order, &owner, order_type, false);
        self.request(Method::POST, "/order", &[], Some(body), true)
            .await
    }

    /// `DELETE /order` (L2): cancels one order.
    // Doc: https://docs.polymarket.com/developers/CLOB/orders/cancel-orders
    pub async fn cancel(&self, order_id: &str) -> Result<Value> {
        let body = serde_json::json!({ "orderID": order_id }).to_string();
        self.request(Method::DELETE, "/order", &[], Some(body), true)
            .await
    }

    /// `DELETE /orders` (L2): cancels several orders.
    // Doc: https://docs.polymarket.com/developers/CLOB/orders/cancel-orders
    pub async fn cancel_orders(&self, order_ids: &[String]) -> Result<Value> {
        let body = serde_json::to_string(order_ids).unwrap_or_default();
        self.request(Method::DELETE, "/orders", &[], Some(body), true)
            .await
    }

    /// `DELETE /cancel-all` (L2).
    // Doc: https://docs.polymarket.com/developers/CLOB/orders/cancel-orders
    pub async fn cancel_all(&self) -> Result<Value> {
        self.request(Method::DELETE, "/cancel-all", &[], None, true)
            .await
    }

    /// `DELETE /cancel-market-orders` (L2).
    // Doc: https://docs.polymarket.com/developers/CLOB/orders/cancel-orders
    pub async fn cancel_market(&self, market: &str, asset_id: &str) -> Result<Value> {
        let body = serde_json::json!({ "market": market, "asset_id": asset_id }).to_string();
        self.request(
            Method::DELETE,
            "/cancel-market-orders",
            &[],
            Some(body),
            true,
        )
        .await
    }

    /// `GET /data/orders` (L2): open orders (first page), optionally one market's.
    // Doc: https://docs.polymarket.com/developers/CLOB/orders/get-active-order
    pub async fn open_orders(&self, market: Option<&str>) -> Result<Value> {
        let mut query = q(&[("next_cursor", "MA==")]);
        if let Some(m) = market {
            query.push(("market", m.to_string()));
        }
        self.request(Method::GET, "/data/orders", &query, None, true)
            .await
    }

    /// `GET /balance-allowance` (L2): the balance and exchange allowances
    /// of pUSD or of one outcome token, for the account of
    /// `signature_type` (as py-clob-client-v2 asks). With `refresh`, calls
    /// `GET /balance-allowance/update` instead, which re-reads the chain
    /// (needed after wrapping pUSD or approving).
    // Doc: https://docs.polymarket.com/v2-migration (pUSD balance sync)
    pub async fn balance_allowance(
        &self,
        asset: AssetType,
        token_id: Option<&str>,
        signature_type: u8,
        refresh: bool,
    ) -> Result<Value> {
        let mut query = vec![
            ("asset_type", asset.as_str().to_string()),
            ("signature_type", signature_type.to_string()),
        ];
        if let Some(t) = token_id {
            query.push(("token_id", t.to_string()));
        }
        let path = if refresh {
            "/balance-allowance/update"
        } else {
            "/balance-allowance"
        };
        self.request(Method::GET, path, &query, None, true).await
    }

    /// `GET /data/trades` (L2): the account's trades (first page).
    // Doc: https://docs.polymarket.com/developers/CLOB/trades/trades
    pub async fn trades(&self) -> Result<Value> {
        self.request(
            Method::GET,
            "/data/trades",
            &q(&[("next_cursor", "MA==")]),
            None,
            true,
        )
        .await
    }
}
