//! Evolution's webhook JWT (`headers.jwt_key`): HS256, payload `{iat, exp, app: "evolution",
//! action: "webhook"}`. Only HS256 is accepted; the signature is compared in constant time.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use prosa_channel::VerifyError;
use serde_json::{Value, json};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// Clock skew allowed on `exp`/`iat`, seconds.
pub const LEEWAY: i64 = 60;

fn mac(key: &[u8], input: &[u8]) -> Vec<u8> {
    let mut m =
        Hmac::<Sha256>::new_from_slice(key).expect("invariant: HMAC accepts any key length");
    m.update(input);
    m.finalize().into_bytes().to_vec()
}

/// Verifies a token at `now` (Unix seconds).
pub fn verify_evolution_jwt(key: &[u8], token: &str, now: i64) -> Result<(), VerifyError> {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(VerifyError::Mismatch);
    };
    let header: Value = URL_SAFE_NO_PAD
        .decode(h)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or(VerifyError::Mismatch)?;
    if header.get("alg").and_then(Value::as_str) != Some("HS256") {
        return Err(VerifyError::Mismatch);
    }
    let sig = URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|_| VerifyError::Mismatch)?;
    let expected = mac(key, format!("{h}.{p}").as_bytes());
    if !bool::from(expected.ct_eq(&sig)) {
        return Err(VerifyError::Mismatch);
    }
    let claims: Value = URL_SAFE_NO_PAD
        .decode(p)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or(VerifyError::Mismatch)?;
    let exp = claims
        .get("exp")
        .and_then(Value::as_i64)
        .ok_or(VerifyError::Expired)?;
    if now > exp + LEEWAY {
        return Err(VerifyError::Expired);
    }
    if claims
        .get("iat")
        .and_then(Value::as_i64)
        .is_some_and(|iat| iat > now + LEEWAY)
    {
        return Err(VerifyError::Expired);
    }
    if claims.get("app").and_then(Value::as_str) != Some("evolution")
        || claims.get("action").and_then(Value::as_str) != Some("webhook")
    {
        return Err(VerifyError::Mismatch);
    }
    Ok(())
}

/// Mints a token as Evolution does (for fakes and tests).
pub fn sign_evolution_jwt(key: &[u8], iat: i64, exp: i64) -> String {
    let h = URL_SAFE_NO_PAD.encode(json!({"alg": "HS256", "typ": "JWT"}).to_string());
    let p = URL_SAFE_NO_PAD.encode(
        json!({"iat": iat, "exp": exp, "app": "evolution", "action": "webhook"}).to_string(),
    );
    let s = URL_SAFE_NO_PAD.encode(mac(key, format!("{h}.{p}").as_bytes()));
    format!("{h}.{p}.{s}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jwt_cases() {
        let now = 1_764_500_000;
        let good = sign_evolution_jwt(b"k", now, now + 600);
        assert_eq!(verify_evolution_jwt(b"k", &good, now), Ok(()));
        assert_eq!(
            verify_evolution_jwt(b"other", &good, now),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            verify_evolution_jwt(b"k", &good, now + 700),
            Err(VerifyError::Expired)
        );
        assert_eq!(
            verify_evolution_jwt(b"k", &sign_evolution_jwt(b"k", now + 3600, now + 4200), now),
            Err(VerifyError::Expired)
        );
        // alg none, with the signature stripped.
        let parts: Vec<&str> = good.split('.').collect();
        let none = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#),
            parts[1]
        );
        assert_eq!(
            verify_evolution_jwt(b"k", &none, now),
            Err(VerifyError::Mismatch)
        );
        // Tampered payload.
        let p = URL_SAFE_NO_PAD.encode(
            json!({"iat": now, "exp": now + 99999, "app": "evolution", "action": "webhook"})
                .to_string(),
        );
        assert_eq!(
            verify_evolution_jwt(b"k", &format!("{}.{}.{}", parts[0], p, parts[2]), now),
            Err(VerifyError::Mismatch)
        );
        // Wrong app/action.
        let h = parts[0];
        let p = URL_SAFE_NO_PAD.encode(
            json!({"iat": now, "exp": now + 600, "app": "other", "action": "webhook"}).to_string(),
        );
        let s = URL_SAFE_NO_PAD.encode(mac(b"k", format!("{h}.{p}").as_bytes()));
        assert_eq!(
            verify_evolution_jwt(b"k", &format!("{h}.{p}.{s}"), now),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            verify_evolution_jwt(b"k", "a.b", now),
            Err(VerifyError::Mismatch)
        );
    }
}
