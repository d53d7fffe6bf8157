//! Polymarket order signing: the EIP-712 `Order` of the CTF Exchange (and
//! the Neg-Risk CTF Exchange), amounts computed as the official client
//! computes them, the L1 `ClobAuth` signature, and the CTF `redeemPositions`
//! calldata for settlement. Matches py-clob-client byte for byte (see
//! `fixtures/` and `tests/signing_fixtures.rs`).

use alloy_primitives::{Address, B256, U256, keccak256};
use alloy_sol_types::{Eip712Domain, SolCall, SolStruct, eip712_domain, sol};
use k256::ecdsa::SigningKey;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::Serialize;

use crate::error::{PolymarketError, Result};
use crate::types::{SIZE_DECIMALS, Side, TickSize};

sol! {
    /// The CTF Exchange's order, field for field.
    #[derive(Debug, PartialEq)]
    struct Order {
        uint256 salt;
        address maker;
        address signer;
        address taker;
        uint256 tokenId;
        uint256 makerAmount;
        uint256 takerAmount;
        uint256 expiration;
        uint256 nonce;
        uint256 feeRateBps;
        uint8 side;
        uint8 signatureType;
    }

    /// ConditionalTokens.redeemPositions.
    function redeemPositions(address collateralToken, bytes32 parentCollectionId, bytes32 conditionId, uint256[] indexSets);
}

/// Polygon mainnet.
pub const POLYGON: u64 = 137;
/// CTF Exchange on Polygon.
pub const EXCHANGE: &str = "0x4bFb41d5B3570DeFd03C39a9A4D8dE6Bd8B8982E";
/// Neg-Risk CTF Exchange on Polygon.
pub const NEG_RISK_EXCHANGE: &str = "0xC5d563A36AE78145C45a50134d48A1215220f80a";
/// USDC.e collateral on Polygon.
pub const COLLATERAL: &str = "0x2791Bca1f2de4661ED88A30C99A7a9449Aa84174";
/// Gnosis ConditionalTokens (CTF) on Polygon.
pub const CONDITIONAL_TOKENS: &str = "0x4D97DCd97eC945f40cF65F87097ACe5EA0476045";
/// What the L1 `ClobAuth` message attests.
pub const CLOB_AUTH_MESSAGE: &str = "This message attests that I control the given wallet";

/// Who signs: an EOA, or an EOA owning a Polymarket proxy or Gnosis safe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum SignatureType {
    /// 0: the EOA holds the funds.
    Eoa = 0,
    /// 1: a Polymarket proxy wallet (email / Magic login) holds them.
    PolyProxy = 1,
    /// 2: a Polymarket Gnosis safe holds them.
    PolyGnosisSafe = 2,
}

impl SignatureType {
    /// From 0, 1 or 2.
    pub fn from_u8(v: u8) -> Result<Self> {
        match v {
            0 => Ok(Self::Eoa),
            1 => Ok(Self::PolyProxy),
            2 => Ok(Self::PolyGnosisSafe),
            _ => Err(PolymarketError::invalid(
                "signature_type",
                "must be 0 (EOA), 1 (POLY_PROXY) or 2 (POLY_GNOSIS_SAFE)",
            )),
        }
    }
}

/// A private key and its address.
#[derive(Clone)]
pub struct Wallet {
    key: SigningKey,
    address: Address,
}

impl std::fmt::Debug for Wallet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the key.
        f.debug_struct("Wallet")
            .field("address", &self.address)
            .finish()
    }
}

impl Wallet {
    /// From a hex private key (with or without `0x`).
    pub fn from_hex(text: &str) -> Result<Self> {
        let bytes = hex::decode(text.trim().trim_start_matches("0x"))
            .map_err(|_| PolymarketError::Config("private key is not hex".into()))?;
        let key = SigningKey::from_slice(&bytes).map_err(|_| {
            PolymarketError::Config("private key is not a valid secp256k1 key".into())
        })?;
        let point = key.verifying_key().to_encoded_point(false);
        let hash = keccak256(&point.as_bytes()[1..]);
        let address = Address::from_slice(&hash[12..]);
        Ok(Self { key, address })
    }

    /// The wallet's address.
    pub fn address(&self) -> Address {
        self.address
    }

    /// Signs a 32-byte digest: `r ‖ s ‖ v` with `v` = 27 or 28, as eth_account does.
    pub fn sign_hash(&self, hash: B256) -> Result<[u8; 65]> {
        let (sig, recid) = self
            .key
            .sign_prehash_recoverable(hash.as_slice())
            .map_err(|e| PolymarketError::Config(format!("signing failed: {e}")))?;
        let mut out = [0u8; 65];
        out[..64].copy_from_slice(&sig.to_bytes());
        out[64] = 27 + recid.to_byte();
        Ok(out)
    }
}

/// The exchange an order is signed for.
pub fn exchange_address(neg_risk: bool) -> Address {
    let text = if neg_risk {
        NEG_RISK_EXCHANGE
    } else {
        EXCHANGE
    };
    text.parse().unwrap_or(Address::ZERO)
}

/// The EIP-712 domain of the (Neg-Risk) CTF Exchange.
pub fn exchange_domain(chain_id: u64, neg_risk: bool) -> Eip712Domain {
    eip712_domain! {
        name: "Polymarket CTF Exchange",
        version: "1",
        chain_id: chain_id,
        verifying_contract: exchange_address(neg_risk),
    }
}

/// What to sign, in the caller's units.
#[derive(Debug, Clone)]
pub struct OrderRequest {
    /// Token id (decimal uint256).
    pub token_id: String,
    /// Buy or sell.
    pub side: Side,
    /// Limit price.
    pub price: Decimal,
    /// Size in shares.
    pub size: Decimal,
    /// Market tick size.
    pub tick: TickSize,
    /// Market is neg-risk (signs for the Neg-Risk exchange).
    pub neg_risk: bool,
    /// Fee rate in bps.
    pub fee_rate_bps: u64,
    /// Exchange nonce (on-chain cancellation).
    pub nonce: u64,
    /// Expiration (unix seconds), 0 for none.
    pub expiration: u64,
    /// Salt.
    pub salt: u64,
    /// Signature type.
    pub signature_type: SignatureType,
    /// The funding wallet (proxy/safe); the signer when `None`.
    pub funder: Option<Address>,
    /// Taker (zero address for a public order).
    pub taker: Address,
}

/// A signed order, serialised as the CLOB's `POST /order` body expects
/// (and as py-clob-client's `SignedOrder.dict()` writes it).
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SignedOrder {
    /// Salt (a JSON number).
    pub salt: u64,
    /// Maker (funder), checksummed.
    pub maker: String,
    /// Signer, checksummed.
    pub signer: String,
    /// Taker, checksummed.
    pub taker: String,
    /// Token id.
    pub token_id: String,
    /// Maker amount (6-decimal units).
    pub maker_amount: String,
    /// Taker amount (6-decimal units).
    pub taker_amount: String,
    /// Expiration.
    pub expiration: String,
    /// Nonce.
    pub nonce: String,
    /// Fee rate bps.
    pub fee_rate_bps: String,
    /// `BUY` or `SELL`.
    pub side: Side,
    /// 0, 1 or 2 (a JSON number).
    pub signature_type: u8,
    /// `0x` + 65-byte signature hex.
    pub signature: String,
}

fn round_down(x: Decimal, dp: u32) -> Decimal {
    x.round_dp_with_strategy(dp, RoundingStrategy::ToZero)
}

fn round_up(x: Decimal, dp: u32) -> Decimal {
    x.round_dp_with_strategy(dp, RoundingStrategy::AwayFromZero)
}

fn to_units(x: Decimal) -> Result<U256> {
    let units = (x * Decimal::from(1_000_000))
        .round_dp_with_strategy(0, RoundingStrategy::MidpointNearestEven);
    let text = units.normalize().to_string();
    text.parse::<U256>()
        .map_err(|_| PolymarketError::invalid("size", format!("amount {x} does not fit an order")))
}

/// Maker and taker amounts in 6-decimal units, as py-clob-client's
/// `get_order_amounts` computes them: price rounded to the tick, size
/// down to 2 decimals, the USDC leg to `tick decimals + 2`.
pub fn order_amounts(
    side: Side,
    size: Decimal,
    price: Decimal,
    tick: TickSize,
) -> Result<(U256, U256)> {
    let raw_price =
        price.round_dp_with_strategy(tick.price_decimals(), RoundingStrategy::MidpointNearestEven);
    let shares = round_down(size, SIZE_DECIMALS);
    if shares <= Decimal::ZERO {
        return Err(PolymarketError::invalid(
            "size",
            "size rounds to zero shares",
        ));
    }
    let amount_dp = tick.amount_decimals();
    let mut usdc = shares * raw_price;
    if usdc.normalize().scale() > amount_dp {
        usdc = round_up(usdc, amount_dp + 4);
        if usdc.normalize().scale() > amount_dp {
            usdc = round_down(usdc, amount_dp);
        }
    }
    match side {
        Side::Buy => Ok((to_units(usdc)?, to_units(shares)?)),
        Side::Sell => Ok((to_units(shares)?, to_units(usdc)?)),
    }
}

/// Builds the EIP-712 `Order` for `req` signed by `wallet`.
pub fn build_order(wallet: &Wallet, req: &OrderRequest) -> Result<Order> {
    req.tick.check_price("price", req.price)?;
    let token_id: U256 = req
        .token_id
        .trim()
        .parse()
        .map_err(|_| PolymarketError::invalid("token_id", "must be a decimal uint256"))?;
    let (maker_amount, taker_amount) = order_amounts(req.side, req.size, req.price, req.tick)?;
    Ok(Order {
        salt: U256::from(req.salt),
        maker: req.funder.unwrap_or(wallet.address()),
        signer: wallet.address(),
        taker: req.taker,
        tokenId: token_id,
        makerAmount: maker_amount,
        takerAmount: taker_amount,
        expiration: U256::from(req.expiration),
        nonce: U256::from(req.nonce),
        feeRateBps: U256::from(req.fee_rate_bps),
        side: match req.side {
            Side::Buy => 0,
            Side::Sell => 1,
        },
        signatureType: req.signature_type as u8,
    })
}

/// The EIP-712 digest of `order` for the given exchange.
pub fn order_hash(order: &Order, chain_id: u64, neg_risk: bool) -> B256 {
    order.eip712_signing_hash(&exchange_domain(chain_id, neg_risk))
}

/// Builds and signs an order.
pub fn sign_order(wallet: &Wallet, req: &OrderRequest, chain_id: u64) -> Result<SignedOrder> {
    let order = build_order(wallet, req)?;
    let sig = wallet.sign_hash(order_hash(&order, chain_id, req.neg_risk))?;
    Ok(SignedOrder {
        salt: req.salt,
        maker: order.maker.to_checksum(None),
        signer: order.signer.to_checksum(None),
        taker: order.taker.to_checksum(None),
        token_id: order.tokenId.to_string(),
        maker_amount: order.makerAmount.to_string(),
        taker_amount: order.takerAmount.to_string(),
        expiration: order.expiration.to_string(),
        nonce: order.nonce.to_string(),
        fee_rate_bps: order.feeRateBps.to_string(),
        side: req.side,
        signature_type: req.signature_type as u8,
        signature: format!("0x{}", hex::encode(sig)),
    })
}

/// The L1 `ClobAuth` signature (`POLY_SIGNATURE` of L1 headers, used to
/// create or derive API credentials).
pub fn sign_clob_auth(
    wallet: &Wallet,
    chain_id: u64,
    timestamp: u64,
    nonce: u64,
) -> Result<String> {
    let domain = eip712_domain! {
        name: "ClobAuthDomain",
        version: "1",
        chain_id: chain_id,
    };
    let type_hash =
        keccak256("ClobAuth(address address,string timestamp,uint256 nonce,string message)");
    let mut enc = Vec::with_capacity(160);
    enc.extend_from_slice(type_hash.as_slice());
    enc.extend_from_slice(B256::left_padding_from(wallet.address().as_slice()).as_slice());
    enc.extend_from_slice(keccak256(timestamp.to_string()).as_slice());
    enc.extend_from_slice(&U256::from(nonce).to_be_bytes::<32>());
    enc.extend_from_slice(keccak256(CLOB_AUTH_MESSAGE).as_slice());
    let struct_hash = keccak256(&enc);
    let mut digest = Vec::with_capacity(66);
    digest.extend_from_slice(&[0x19, 0x01]);
    digest.extend_from_slice(domain.separator().as_slice());
    digest.extend_from_slice(struct_hash.as_slice());
    let sig = wallet.sign_hash(keccak256(&digest))?;
    Ok(format!("0x{}", hex::encode(sig)))
}

/// Calldata for `ConditionalTokens.redeemPositions(USDC, 0x0, conditionId, [1, 2])`,
/// which pays out a resolved binary market's winning tokens.
pub fn redeem_calldata(condition_id: &str) -> Result<String> {
    let id: B256 = condition_id.trim().parse().map_err(|_| {
        PolymarketError::invalid("market", "condition id must be 0x + 64 hex digits")
    })?;
    let call = redeemPositionsCall {
        collateralToken: COLLATERAL.parse().unwrap_or(Address::ZERO),
        parentCollectionId: B256::ZERO,
        conditionId: id,
        indexSets: vec![U256::from(1), U256::from(2)],
    };
    Ok(format!("0x{}", hex::encode(call.abi_encode())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn amounts_follow_the_official_rounding() {
        let (m, t) = order_amounts(Side::Buy, dec!(100), dec!(0.57), TickSize::T0_01).expect("a");
        assert_eq!(
            (m, t),
            (U256::from(57_000_000u64), U256::from(100_000_000u64))
        );
        let (m, t) =
            order_amounts(Side::Sell, dec!(55.559), dec!(0.123), TickSize::T0_001).expect("a");
        assert_eq!(
            (m, t),
            (U256::from(55_550_000u64), U256::from(6_832_650u64))
        );
        assert!(order_amounts(Side::Buy, dec!(0.001), dec!(0.5), TickSize::T0_01).is_err());
    }

    #[test]
    fn redeem_calldata_has_the_selector_and_index_sets() {
        let id = format!("0x{}", "ab".repeat(32));
        let data = redeem_calldata(&id).expect("calldata");
        // keccak("redeemPositions(address,bytes32,bytes32,uint256[])")[..4]
        assert!(data.starts_with("0x01b7037c"), "{data}");
        assert!(data.contains(&"ab".repeat(32)));
        assert!(redeem_calldata("0x12").is_err());
    }

    #[test]
    fn debug_never_prints_the_key() {
        let w =
            Wallet::from_hex("0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")
                .expect("key");
        let text = format!("{w:?}");
        assert!(!text.contains("4c0883a6"));
        assert!(Wallet::from_hex("zz").is_err());
    }
}
