//! Signing keys: RSA key generation, the `kid` (RFC 7638 thumbprint), RS256 signing
//! and the public JWK set.
//!
//! Keys are generated with the `rsa` crate (a one-off, local operation) and stored as
//! PKCS#8. Signing uses `ring`, whose RSA private-key operation is constant-time; the
//! `rsa` crate's is not (RUSTSEC-2023-0071), and signing is the operation a remote
//! caller can repeat and time. Verification needs only the public key and goes
//! through `jsonwebtoken`.

use crate::error::{IdentityError, Result};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use jsonwebtoken::DecodingKey;
use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// A freshly generated key in its stored form.
pub(crate) struct NewKey {
    pub kid: String,
    pub pkcs8: Vec<u8>,
    pub n: Vec<u8>,
    pub e: Vec<u8>,
}

pub(crate) fn generate(bits: usize) -> Result<NewKey> {
    use rsa::pkcs8::EncodePrivateKey;
    use rsa::traits::PublicKeyParts;
    let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, bits)
        .map_err(|e| IdentityError::KeyGeneration(e.to_string()))?;
    let pkcs8 = key
        .to_pkcs8_der()
        .map_err(|e| IdentityError::KeyGeneration(e.to_string()))?
        .as_bytes()
        .to_vec();
    let n = key.n().to_bytes_be();
    let e = key.e().to_bytes_be();
    Ok(NewKey {
        kid: thumbprint(&n, &e),
        pkcs8,
        n,
        e,
    })
}

/// RFC 7638 JWK thumbprint (SHA-256, base64url): the key's `kid`.
pub(crate) fn thumbprint(n: &[u8], e: &[u8]) -> String {
    let canonical = format!(
        r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
        B64URL.encode(e),
        B64URL.encode(n)
    );
    B64URL.encode(Sha256::digest(canonical.as_bytes()))
}

/// The key new tokens are signed with.
pub(crate) struct Signer {
    pub kid: String,
    pair: RsaKeyPair,
}

impl Signer {
    pub fn from_pkcs8(kid: &str, pkcs8: &[u8]) -> Result<Self> {
        let pair = RsaKeyPair::from_pkcs8(pkcs8).map_err(|e| IdentityError::BadStoredKey {
            kid: kid.to_owned(),
            reason: e.to_string(),
        })?;
        Ok(Signer {
            kid: kid.to_owned(),
            pair,
        })
    }

    /// A compact JWS (RS256) over `claims`, with `typ`, `alg` and `kid` in the header.
    pub fn sign(&self, claims: &serde_json::Value) -> Result<String> {
        let header = serde_json::json!({"typ": "JWT", "alg": "RS256", "kid": self.kid});
        let mut out = B64URL.encode(header.to_string());
        out.push('.');
        out.push_str(&B64URL.encode(claims.to_string()));
        let mut sig = vec![0u8; self.pair.public().modulus_len()];
        self.pair
            .sign(
                &RSA_PKCS1_SHA256,
                &ring::rand::SystemRandom::new(),
                out.as_bytes(),
                &mut sig,
            )
            .map_err(|e| IdentityError::Signing(e.to_string()))?;
        out.push('.');
        out.push_str(&B64URL.encode(sig));
        Ok(out)
    }
}

/// A public key that verifies tokens.
pub(crate) struct VerifyKey {
    pub n: Vec<u8>,
    pub e: Vec<u8>,
    pub decoding: DecodingKey,
    /// Unix time the key stopped signing; `None` for the active key.
    pub retired_at: Option<i64>,
}

/// The keys in force: one signer and every key whose tokens may still be alive.
pub(crate) struct KeyRing {
    /// `keys_version` in the database when this ring was loaded.
    pub version: i64,
    pub signer: Signer,
    pub verify: HashMap<String, VerifyKey>,
}

impl KeyRing {
    /// The JWK set document (`{"keys":[...]}`), active key first.
    pub fn jwks(&self) -> serde_json::Value {
        let mut keys: Vec<(&String, &VerifyKey)> = self.verify.iter().collect();
        keys.sort_by_key(|(kid, k)| (**kid != self.signer.kid, k.retired_at.map(|t| -t)));
        let keys: Vec<serde_json::Value> = keys
            .into_iter()
            .map(|(kid, k)| {
                serde_json::json!({
                    "kty": "RSA",
                    "use": "sig",
                    "alg": "RS256",
                    "kid": kid,
                    "n": B64URL.encode(&k.n),
                    "e": B64URL.encode(&k.e),
                })
            })
            .collect();
        serde_json::json!({ "keys": keys })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_key_signs_and_verifies() {
        let k = generate(2048).unwrap();
        assert_eq!(k.kid, thumbprint(&k.n, &k.e));
        assert_eq!(k.kid.len(), 43);
        let s = Signer::from_pkcs8(&k.kid, &k.pkcs8).unwrap();
        let now = jsonwebtoken::get_current_timestamp();
        let token = s
            .sign(&serde_json::json!({"aud": "a", "iss": "i", "exp": now + 60}))
            .unwrap();
        let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
        v.set_audience(&["a"]);
        v.set_issuer(&["i"]);
        let key = DecodingKey::from_rsa_raw_components(&k.n, &k.e);
        let data = jsonwebtoken::decode::<serde_json::Value>(&token, &key, &v).unwrap();
        assert_eq!(data.header.kid.as_deref(), Some(k.kid.as_str()));
        // A different key does not verify it.
        let other = generate(2048).unwrap();
        let key = DecodingKey::from_rsa_raw_components(&other.n, &other.e);
        assert!(jsonwebtoken::decode::<serde_json::Value>(&token, &key, &v).is_err());
    }
}
