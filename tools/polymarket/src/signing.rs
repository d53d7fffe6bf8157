//! Polymarket order signing for **CLOB V2** (live since 2026-04-28; V1
//! orders are refused by production): the 11-field EIP-712 `Order` of the
//! V2 CTF Exchange, the V2 Neg-Risk exchange and Exchange V3 (markets
//! addressed by position id), amounts computed as the official client
//! computes them, the four signature types (EOA, POLY_PROXY,
//! POLY_GNOSIS_SAFE and POLY_1271 smart-contract wallets), and the L1
//! `ClobAuth` signature (still domain version "1").
//!
//! Built against `py-clob-client-v2` 1.2.1 (PyPI) and
//! <https://docs.polymarket.com/v2-migration>; `fixtures/` holds orders
//! signed by that client and `tests/signing_fixtures.rs` checks ours equal
//! them byte for byte. No V1 order is produced anywhere: no documented
//! endpoint accepts one.

use alloy_primitives::{Address, B256, U256, keccak256};
use alloy_sol_types::{Eip712Domain, SolStruct, SolValue, sol};
use nt_evm::EvmKey;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use crate::error::{PolymarketError, Result};
use crate::types::{SIZE_DECIMALS, Side, TickSize};

sol! {
    /// The V2/V3 CTF Exchange's order, field for field (`expiration`
    /// travels in the API body but is not signed).
    #[derive(Debug, PartialEq)]
    struct Order {
        uint256 salt;
        address maker;
        address signer;
        uint256 tokenId;
        uint256 makerAmount;
        uint256 takerAmount;
        uint8 side;
        uint8 signatureType;
        uint256 timestamp;
        bytes32 metadata;
        bytes32 builder;
    }
}

/// Polygon mainnet.
pub const POLYGON: u64 = 137;
/// The exchanges' EIP-712 domain name.
pub const EXCHANGE_DOMAIN_NAME: &str = "Polymarket CTF Exchange";
/// V2 CTF Exchange on Polygon.
pub const EXCHANGE_V2: &str = "0xE111180000d2663C0091e4f400237545B87B996B";
/// V2 Neg-Risk CTF Exchange on Polygon.
pub const NEG_RISK_EXCHANGE_V2: &str = "0xe2222d279d744050d28e00520010520000310F59";
/// Exchange V3 on Polygon (orders by position id).
pub const EXCHANGE_V3: &str = "0xe3333700cA9d93003F00f0F71f8515005F6c00Aa";
/// What the L1 `ClobAuth` message attests.
pub const CLOB_AUTH_MESSAGE: &str = "This message attests that I control the given wallet";
/// The `Order` type string (also what a POLY_1271 signature carries).
pub const ORDER_TYPE: &str = "Order(uint256 salt,address maker,address signer,uint256 tokenId,uint256 makerAmount,uint256 takerAmount,uint8 side,uint8 signatureType,uint256 timestamp,bytes32 metadata,bytes32 builder)";

/// Who signs and who holds the funds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum SignatureType {
    /// 0: the EOA holds the funds and signs.
    Eoa = 0,
    /// 1: a Polymarket proxy wallet (email / Magic login) holds them; its EOA signs.
    PolyProxy = 1,
    /// 2: a Polymarket Gnosis safe holds them; its owner EOA signs.
    PolyGnosisSafe = 2,
    /// 3: a smart-contract wallet (EIP-1271) holds them and is the order's
    /// signer; an owner key signs the wrapped (ERC-7739) digest.
    Poly1271 = 3,
}

impl SignatureType {
    /// From 0, 1, 2 or 3.
    pub fn from_u8(v: u8) -> Result<Self> {
        match v {
            0 => Ok(Self::Eoa),
            1 => Ok(Self::PolyProxy),
            2 => Ok(Self::PolyGnosisSafe),
            3 => Ok(Self::Poly1271),
            _ => Err(PolymarketError::invalid(
                "signature_type",
                "must be 0 (EOA), 1 (POLY_PROXY), 2 (POLY_GNOSIS_SAFE) or 3 (POLY_1271)",
            )),
        }
    }
}

/// A private key and its address (the shared [`EvmKey`]); `Debug` never
/// prints the key.
#[derive(Clone, Debug)]
pub struct Wallet {
    key: EvmKey,
}

impl Wallet {
    /// From a hex private key (with or without `0x`).
    pub fn from_hex(text: &str) -> Result<Self> {
        let key = EvmKey::from_hex(text).map_err(|e| PolymarketError::Config(e.to_string()))?;
        Ok(Self { key })
    }

    /// The wallet's address.
    pub fn address(&self) -> Address {
        self.key.address()
    }

    /// Signs a 32-byte digest: `r ‖ s ‖ v` with `v` = 27 or 28, as eth_account does.
    pub fn sign_hash(&self, hash: B256) -> Result<[u8; 65]> {
        let sig = self
            .key
            .sign_hash(hash)
            .map_err(|e| PolymarketError::Config(e.to_string()))?;
        Ok(sig.to_rsv())
    }
}

impl AsRef<EvmKey> for Wallet {
    fn as_ref(&self) -> &EvmKey {
        &self.key
    }
}

/// Which exchange contract an order is signed for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Exchange {
    /// The V2 CTF Exchange (binary markets), domain version "2".
    CtfV2,
    /// The V2 Neg-Risk CTF Exchange, domain version "2".
    NegRiskV2,
    /// Exchange V3 (orders addressed by position id), domain version "3".
    V3,
}

impl Exchange {
    /// The exchange the official client routes to: V3 for a position id,
    /// otherwise the V2 exchange of the market's kind.
    pub fn route(by_position: bool, neg_risk: bool) -> Self {
        match (by_position, neg_risk) {
            (true, _) => Exchange::V3,
            (false, true) => Exchange::NegRiskV2,
            (false, false) => Exchange::CtfV2,
        }
    }

    /// The contract's address on Polygon.
    pub fn address(self) -> Address {
        let text = match self {
            Exchange::CtfV2 => EXCHANGE_V2,
            Exchange::NegRiskV2 => NEG_RISK_EXCHANGE_V2,
            Exchange::V3 => EXCHANGE_V3,
        };
        text.parse().unwrap_or(Address::ZERO)
    }

    /// The EIP-712 domain version.
    pub fn domain_version(self) -> &'static str {
        match self {
            Exchange::V3 => "3",
            _ => "2",
        }
    }

    /// The EIP-712 domain on `chain_id`.
    pub fn domain(self, chain_id: u64) -> Eip712Domain {
        Eip712Domain::new(
            Some(EXCHANGE_DOMAIN_NAME.into()),
            Some(self.domain_version().into()),
            Some(U256::from(chain_id)),
            Some(self.address()),
            None,
        )
    }
}

/// A limit order (size in shares) or a market order (a BUY spends an
/// amount of pUSD, a SELL sells shares), which round differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderKind {
    /// `size` is shares; the price rounds to the nearest tick decimal.
    Limit,
    /// `size` is pUSD to spend (BUY) or shares to sell (SELL); the price
    /// rounds down (V2).
    Market,
}

/// What to sign, in the caller's units.
#[derive(Debug, Clone)]
pub struct OrderRequest {
    /// Token id, or position id when `by_position` (decimal uint256).
    pub asset_id: String,
    /// The asset is a position id: Exchange V3.
    pub by_position: bool,
    /// Buy or sell.
    pub side: Side,
    /// Limit price (worst price for a market order).
    pub price: Decimal,
    /// Shares (limit), or pUSD / shares (market, see [`OrderKind`]).
    pub size: Decimal,
    /// Limit or market rounding.
    pub kind: OrderKind,
    /// Market tick size.
    pub tick: TickSize,
    /// Market is neg-risk (the V2 Neg-Risk exchange).
    pub neg_risk: bool,
    /// Expiration (unix seconds), 0 for none; sent, not signed.
    pub expiration: u64,
    /// Salt.
    pub salt: u64,
    /// Creation time in milliseconds (signed).
    pub timestamp_ms: u64,
    /// Signature type.
    pub signature_type: SignatureType,
    /// The funding wallet (proxy, safe or 1271 wallet); the signer when `None`.
    pub funder: Option<Address>,
    /// Builder code (zero when none).
    pub builder: B256,
    /// Order metadata (zero when none).
    pub metadata: B256,
}

/// A signed order, serialised as the `order` object of the CLOB's
/// `POST /order` body (the official client's `order_to_json_v2`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SignedOrder {
    /// Salt (a JSON number).
    pub salt: u64,
    /// Maker (funder), checksummed.
    pub maker: String,
    /// Signer, checksummed.
    pub signer: String,
    /// Token (or position) id.
    pub token_id: String,
    /// Maker amount (6-decimal units).
    pub maker_amount: String,
    /// Taker amount (6-decimal units).
    pub taker_amount: String,
    /// `BUY` or `SELL`.
    pub side: Side,
    /// Expiration (unix seconds, 0 for none).
    pub expiration: String,
    /// 0 to 3 (a JSON number).
    pub signature_type: u8,
    /// Creation time in milliseconds.
    pub timestamp: String,
    /// bytes32 metadata, `0x` + 64 hex.
    pub metadata: String,
    /// bytes32 builder code, `0x` + 64 hex.
    pub builder: String,
    /// The signature, `0x` + hex (65 bytes, or the wrapped 1271 form).
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

/// The official client's amount rule: keep `x` if it has at most `dp`
/// decimals, else round up at `dp + 4` and, if still longer, down at `dp`.
fn fit_amount(x: Decimal, dp: u32) -> Decimal {
    let mut x = x;
    if x.normalize().scale() > dp {
        x = round_up(x, dp + 4);
        if x.normalize().scale() > dp {
            x = round_down(x, dp);
        }
    }
    x
}

/// Maker and taker amounts (6-decimal units) of a limit order, as
/// `get_order_amounts` computes them: price to the tick's decimals
/// (nearest), shares down to 2 decimals, the pUSD leg by [`fit_amount`].
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
    let usdc = fit_amount(shares * raw_price, tick.amount_decimals());
    match side {
        Side::Buy => Ok((to_units(usdc)?, to_units(shares)?)),
        Side::Sell => Ok((to_units(shares)?, to_units(usdc)?)),
    }
}

/// Maker and taker amounts of a market order, as
/// `get_market_order_amounts` computes them: the price rounds **down** to
/// the tick's decimals (V2); a BUY spends `amount` pUSD (2 decimals) for
/// `amount / price` shares, a SELL sells `amount` shares.
pub fn market_order_amounts(
    side: Side,
    amount: Decimal,
    price: Decimal,
    tick: TickSize,
) -> Result<(U256, U256)> {
    let raw_price = round_down(price, tick.price_decimals());
    if raw_price <= Decimal::ZERO {
        return Err(PolymarketError::invalid("price", "price rounds to zero"));
    }
    let maker = round_down(amount, SIZE_DECIMALS);
    if maker <= Decimal::ZERO {
        return Err(PolymarketError::invalid("size", "amount rounds to zero"));
    }
    let other = match side {
        Side::Buy => maker / raw_price,
        Side::Sell => maker * raw_price,
    };
    let taker = fit_amount(other, tick.amount_decimals());
    Ok((to_units(maker)?, to_units(taker)?))
}

/// Builds the EIP-712 `Order` for `req` signed by `wallet`.
pub fn build_order(wallet: &Wallet, req: &OrderRequest) -> Result<Order> {
    req.tick.check_price("price", req.price)?;
    let field = if req.by_position {
        "position_id"
    } else {
        "token_id"
    };
    let token_id: U256 = req
        .asset_id
        .trim()
        .parse()
        .map_err(|_| PolymarketError::invalid(field, "must be a decimal uint256"))?;
    let (maker_amount, taker_amount) = match req.kind {
        OrderKind::Limit => order_amounts(req.side, req.size, req.price, req.tick)?,
        OrderKind::Market => market_order_amounts(req.side, req.size, req.price, req.tick)?,
    };
    let maker = req.funder.unwrap_or(wallet.address());
    let signer = match req.signature_type {
        SignatureType::Poly1271 => req.funder.ok_or_else(|| {
            PolymarketError::invalid(
                "funder",
                "POLY_1271 orders need the smart-contract wallet's address as funder",
            )
        })?,
        _ => wallet.address(),
    };
    Ok(Order {
        salt: U256::from(req.salt),
        maker,
        signer,
        tokenId: token_id,
        makerAmount: maker_amount,
        takerAmount: taker_amount,
        side: match req.side {
            Side::Buy => 0,
            Side::Sell => 1,
        },
        signatureType: req.signature_type as u8,
        timestamp: U256::from(req.timestamp_ms),
        metadata: req.metadata,
        builder: req.builder,
    })
}

/// The EIP-712 digest of `order` for `exchange`.
pub fn order_hash(order: &Order, chain_id: u64, exchange: Exchange) -> B256 {
    order.eip712_signing_hash(&exchange.domain(chain_id))
}

/// The ERC-7739 `TypedDataSign` digest a POLY_1271 owner key signs: the
/// order's struct hash nested in the deposit wallet's domain (name
/// "DepositWallet", version "1", the wallet as verifying contract).
fn poly_1271_digest(app: B256, contents: B256, chain_id: u64, wallet: Address) -> B256 {
    let sign_type = format!(
        "TypedDataSign(Order contents,string name,string version,uint256 chainId,address verifyingContract,bytes32 salt){ORDER_TYPE}"
    );
    let sign_struct = keccak256(
        (
            keccak256(sign_type.as_bytes()),
            contents,
            keccak256("DepositWallet"),
            keccak256("1"),
            U256::from(chain_id),
            wallet,
            B256::ZERO,
        )
            .abi_encode(),
    );
    let mut digest = Vec::with_capacity(66);
    digest.extend_from_slice(&[0x19, 0x01]);
    digest.extend_from_slice(app.as_slice());
    digest.extend_from_slice(sign_struct.as_slice());
    keccak256(&digest)
}

/// The POLY_1271 signature: the owner key signs the ERC-7739
/// `TypedDataSign` digest of the order under the deposit wallet's domain,
/// and the signature carries the app domain separator, the order's struct
/// hash, the type string and its length, as the official client builds it.
fn poly_1271_signature(
    wallet: &Wallet,
    order: &Order,
    chain_id: u64,
    exchange: Exchange,
) -> Result<Vec<u8>> {
    let app_separator = exchange.domain(chain_id).separator();
    let contents = order.eip712_hash_struct();
    let digest = poly_1271_digest(app_separator, contents, chain_id, order.signer);
    let inner = wallet.sign_hash(digest)?;
    let len = u16::try_from(ORDER_TYPE.len()).unwrap_or(u16::MAX);
    let mut out = Vec::with_capacity(65 + 64 + ORDER_TYPE.len() + 2);
    out.extend_from_slice(&inner);
    out.extend_from_slice(app_separator.as_slice());
    out.extend_from_slice(contents.as_slice());
    out.extend_from_slice(ORDER_TYPE.as_bytes());
    out.extend_from_slice(&len.to_be_bytes());
    Ok(out)
}

/// Builds and signs an order for the exchange the request routes to.
pub fn sign_order(wallet: &Wallet, req: &OrderRequest, chain_id: u64) -> Result<SignedOrder> {
    let order = build_order(wallet, req)?;
    let exchange = Exchange::route(req.by_position, req.neg_risk);
    let sig = match req.signature_type {
        SignatureType::Poly1271 => poly_1271_signature(wallet, &order, chain_id, exchange)?,
        _ => wallet
            .sign_hash(order_hash(&order, chain_id, exchange))?
            .to_vec(),
    };
    Ok(SignedOrder {
        salt: req.salt,
        maker: order.maker.to_checksum(None),
        signer: order.signer.to_checksum(None),
        token_id: order.tokenId.to_string(),
        maker_amount: order.makerAmount.to_string(),
        taker_amount: order.takerAmount.to_string(),
        side: req.side,
        expiration: req.expiration.to_string(),
        signature_type: req.signature_type as u8,
        timestamp: req.timestamp_ms.to_string(),
        metadata: order.metadata.to_string(),
        builder: order.builder.to_string(),
        signature: format!("0x{}", hex::encode(sig)),
    })
}

fn address_of(key: &k256::ecdsa::VerifyingKey) -> Address {
    let point = key.to_encoded_point(false);
    Address::from_slice(&keccak256(&point.as_bytes()[1..])[12..])
}

fn recover(hash: B256, sig: &[u8]) -> Result<Address> {
    let bad = || PolymarketError::invalid("signature", "not a 65-byte r || s || v signature");
    if sig.len() < 65 {
        return Err(bad());
    }
    let signature = k256::ecdsa::Signature::from_slice(&sig[..64]).map_err(|_| bad())?;
    let v = sig[64].checked_sub(27).ok_or_else(bad)?;
    let recid = k256::ecdsa::RecoveryId::from_byte(v).ok_or_else(bad)?;
    let key = k256::ecdsa::VerifyingKey::recover_from_prehash(hash.as_slice(), &signature, recid)
        .map_err(|_| bad())?;
    Ok(address_of(&key))
}

/// Rebuilds the EIP-712 `Order` from its posted form.
pub fn order_from_signed(order: &SignedOrder) -> Result<Order> {
    let n = |field: &str, text: &str| -> Result<U256> {
        text.parse()
            .map_err(|_| PolymarketError::invalid(field, "not a decimal uint256"))
    };
    let a = |field: &str, text: &str| -> Result<Address> {
        text.parse()
            .map_err(|_| PolymarketError::invalid(field, "not an address"))
    };
    Ok(Order {
        salt: U256::from(order.salt),
        maker: a("maker", &order.maker)?,
        signer: a("signer", &order.signer)?,
        tokenId: n("tokenId", &order.token_id)?,
        makerAmount: n("makerAmount", &order.maker_amount)?,
        takerAmount: n("takerAmount", &order.taker_amount)?,
        side: match order.side {
            Side::Buy => 0,
            Side::Sell => 1,
        },
        signatureType: order.signature_type,
        timestamp: n("timestamp", &order.timestamp)?,
        metadata: parse_bytes32("metadata", &order.metadata)?,
        builder: parse_bytes32("builder", &order.builder)?,
    })
}

/// Checks a signed order as the exchange would: an EOA, proxy or safe
/// order's signature must recover to its `signer` under `exchange`'s
/// domain; a POLY_1271 signature must carry this order's struct hash and
/// the exchange's domain separator (the wallet contract checks the rest
/// on chain). Returns the address that signed.
pub fn verify_order(order: &SignedOrder, chain_id: u64, exchange: Exchange) -> Result<Address> {
    let built = order_from_signed(order)?;
    let sig = hex::decode(order.signature.trim_start_matches("0x"))
        .map_err(|_| PolymarketError::invalid("signature", "not hex"))?;
    if order.signature_type == SignatureType::Poly1271 as u8 {
        let app = exchange.domain(chain_id).separator();
        let contents = built.eip712_hash_struct();
        if sig.len() != 65 + 64 + ORDER_TYPE.len() + 2
            || sig[65..97] != app[..]
            || sig[97..129] != contents[..]
        {
            return Err(PolymarketError::invalid(
                "signature",
                "the POLY_1271 signature does not wrap this order for this exchange",
            ));
        }
        let digest = poly_1271_digest(app, contents, chain_id, built.signer);
        return recover(digest, &sig[..65]);
    }
    let who = recover(order_hash(&built, chain_id, exchange), &sig)?;
    if who != built.signer {
        return Err(PolymarketError::invalid(
            "signature",
            format!(
                "signed by {who}, not by the order's signer {} for this exchange",
                built.signer
            ),
        ));
    }
    Ok(who)
}

/// Parses a bytes32 argument (`0x` + up to 64 hex digits, left-padded),
/// naming `field` on failure; empty means zero.
pub fn parse_bytes32(field: &str, text: &str) -> Result<B256> {
    let t = text.trim().trim_start_matches("0x");
    if t.is_empty() {
        return Ok(B256::ZERO);
    }
    if t.len() > 64 || !t.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(PolymarketError::invalid(
            field,
            "must be 0x followed by at most 64 hex digits (bytes32)",
        ));
    }
    let padded = format!("{t:0>64}");
    padded
        .parse()
        .map_err(|_| PolymarketError::invalid(field, "not a bytes32"))
}

/// The L1 `ClobAuth` signature (`POLY_SIGNATURE` of L1 headers, used to
/// create or derive API credentials). Its domain stays version "1" in V2.
pub fn sign_clob_auth(
    wallet: &Wallet,
    chain_id: u64,
    timestamp: u64,
    nonce: u64,
) -> Result<String> {
    let domain = Eip712Domain::new(
        Some("ClobAuthDomain".into()),
        Some("1".into()),
        Some(U256::from(chain_id)),
        None,
        None,
    );
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
    fn market_buy_rounds_the_price_down_and_divides() {
        // $10 at 0.3333 with tick 0.01: V2 rounds the price down to 0.33;
        // 10 / 0.33 = 30.303030..., ceil at 8 dp = 30.30303031, floor at 4 = 30.3030.
        let (m, t) =
            market_order_amounts(Side::Buy, dec!(10), dec!(0.3333), TickSize::T0_01).expect("a");
        assert_eq!(
            (m, t),
            (U256::from(10_000_000u64), U256::from(30_303_000u64))
        );
    }

    #[test]
    fn exchange_routing_and_domains() {
        assert_eq!(Exchange::route(true, true), Exchange::V3);
        assert_eq!(Exchange::route(false, true), Exchange::NegRiskV2);
        assert_eq!(Exchange::V3.domain_version(), "3");
        assert_eq!(Exchange::CtfV2.domain_version(), "2");
        assert_ne!(Exchange::CtfV2.address(), Address::ZERO);
    }

    #[test]
    fn poly_1271_needs_a_funder() {
        let w =
            Wallet::from_hex("0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")
                .expect("key");
        let req = OrderRequest {
            asset_id: "1".into(),
            by_position: false,
            side: Side::Buy,
            price: dec!(0.5),
            size: dec!(10),
            kind: OrderKind::Limit,
            tick: TickSize::T0_01,
            neg_risk: false,
            expiration: 0,
            salt: 1,
            timestamp_ms: 1,
            signature_type: SignatureType::Poly1271,
            funder: None,
            builder: B256::ZERO,
            metadata: B256::ZERO,
        };
        let err = build_order(&w, &req).expect_err("no funder");
        assert!(err.to_string().contains("funder"), "{err}");
    }

    #[test]
    fn bytes32_arguments_are_checked() {
        assert_eq!(parse_bytes32("builder", "").expect("zero"), B256::ZERO);
        assert_eq!(
            parse_bytes32("builder", "0x01").expect("one"),
            B256::with_last_byte(1)
        );
        assert!(parse_bytes32("builder", "0xzz").is_err());
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
