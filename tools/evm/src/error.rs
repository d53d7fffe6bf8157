//! Errors of the Ethereum plumbing.

/// What can go wrong with a key or a signature.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EvmError {
    /// The private key text is not hex.
    #[error("private key is not hex")]
    KeyNotHex,
    /// The bytes are not a valid secp256k1 private key.
    #[error("private key is not a valid secp256k1 key")]
    KeyInvalid,
    /// Signing failed.
    #[error("signing failed: {0}")]
    Signing(String),
}
