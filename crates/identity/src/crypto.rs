//! RS256 verification through `ring` inside `jsonwebtoken`.
//!
//! `jsonwebtoken`'s RustCrypto backend verifies RS256 with the `rsa` crate (about
//! 140 µs per RSA-2048 signature here); `ring` does the same check several times
//! faster. Verification matters on a token's first request (later requests hit the
//! verified-token cache) and against floods of forged tokens, each of which costs a
//! signature check. [`install`] registers, once per process, a `jsonwebtoken`
//! crypto provider that is the RustCrypto one except for RS256 with an RSA public
//! key, which goes to `ring` (PKCS#1 v1.5, SHA-256, moduli of 2048 to 8192 bits:
//! shorter keys are refused). If another provider was installed first, that one
//! stays in force; verification is then slower, not different.

use jsonwebtoken::crypto::{CryptoProvider, JwtVerifier, rust_crypto};
use jsonwebtoken::{Algorithm, DecodingKey, DecodingKeyKind, signature};
use std::sync::OnceLock;

struct RingRs256 {
    n: Vec<u8>,
    e: Vec<u8>,
}

impl signature::Verifier<Vec<u8>> for RingRs256 {
    fn verify(&self, msg: &[u8], sig: &Vec<u8>) -> Result<(), signature::Error> {
        ring::signature::RsaPublicKeyComponents {
            n: &self.n,
            e: &self.e,
        }
        .verify(&ring::signature::RSA_PKCS1_2048_8192_SHA256, msg, sig)
        .map_err(|_| signature::Error::new())
    }
}

impl JwtVerifier for RingRs256 {
    fn algorithm(&self) -> Algorithm {
        Algorithm::RS256
    }
}

fn strip_zeros(b: &[u8]) -> Vec<u8> {
    let first = b.iter().position(|x| *x != 0).unwrap_or(b.len());
    b[first..].to_vec()
}

fn verifier(
    alg: &Algorithm,
    key: &DecodingKey,
) -> jsonwebtoken::errors::Result<Box<dyn JwtVerifier>> {
    if *alg == Algorithm::RS256
        && let DecodingKeyKind::RsaModulusExponent { n, e } = key.kind()
    {
        return Ok(Box::new(RingRs256 {
            n: strip_zeros(n),
            e: strip_zeros(e),
        }));
    }
    (rust_crypto::DEFAULT_PROVIDER.verifier_factory)(alg, key)
}

/// Installs the provider (idempotent; see the module docs).
pub(crate) fn install() {
    static PROVIDER: OnceLock<CryptoProvider> = OnceLock::new();
    let p = PROVIDER.get_or_init(|| CryptoProvider {
        signer_factory: rust_crypto::DEFAULT_PROVIDER.signer_factory,
        verifier_factory: verifier,
        key_utils: rust_crypto::DEFAULT_PROVIDER.key_utils.clone(),
    });
    let _ = p.install_default();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_and_rustcrypto_agree() {
        install();
        let k = crate::keys::generate(2048).unwrap();
        let s = crate::keys::Signer::from_pkcs8(&k.kid, &k.pkcs8).unwrap();
        let token = s.sign(&serde_json::json!({"a": 1})).unwrap();
        let (msg, sig) = token.rsplit_once('.').unwrap();
        let key = DecodingKey::from_rsa_raw_components(&k.n, &k.e);
        for v in [
            verifier(&Algorithm::RS256, &key).unwrap(),
            (rust_crypto::DEFAULT_PROVIDER.verifier_factory)(&Algorithm::RS256, &key).unwrap(),
        ] {
            assert!(
                jsonwebtoken::crypto::verify(sig, msg.as_bytes(), &key, Algorithm::RS256).unwrap()
            );
            use base64::Engine;
            let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(sig)
                .unwrap();
            assert!(v.verify(msg.as_bytes(), &raw).is_ok());
            assert!(v.verify(b"other message", &raw).is_err());
        }
        // A leading zero on the modulus (seen in some JWKS) is tolerated.
        let mut n0 = vec![0u8];
        n0.extend_from_slice(&k.n);
        let key0 = DecodingKey::from_rsa_raw_components(&n0, &k.e);
        let v = verifier(&Algorithm::RS256, &key0).unwrap();
        use base64::Engine;
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(sig)
            .unwrap();
        assert!(v.verify(msg.as_bytes(), &raw).is_ok());
    }
}
