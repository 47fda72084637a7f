//! HMAC-SHA256 signatures over raw bytes, compared in constant time.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// Hex HMAC-SHA256 of `body` under `secret`.
pub fn hmac_sha256_hex(secret: &[u8], body: &[u8]) -> String {
    let mut mac =
        HmacSha256::new_from_slice(secret).expect("invariant: HMAC accepts any key length");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// Checks a `sha256=<hex>` header value against the body. Constant time in the signature.
pub fn verify_sha256_header(secret: &[u8], body: &[u8], header: &str) -> bool {
    let Some(hex_sig) = header.trim().strip_prefix("sha256=") else {
        return false;
    };
    let Ok(given) = hex::decode(hex_sig) else {
        return false;
    };
    let mut mac =
        HmacSha256::new_from_slice(secret).expect("invariant: HMAC accepts any key length");
    mac.update(body);
    let expected = mac.finalize().into_bytes();
    expected.as_slice().ct_eq(&given).into()
}

/// Constant-time comparison of two secrets (tokens in headers).
pub fn secrets_equal(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_round_trip_and_forgeries() {
        let body = br#"{"message_id":"1"}"#;
        let sig = format!("sha256={}", hmac_sha256_hex(b"s3cret", body));
        assert!(verify_sha256_header(b"s3cret", body, &sig));
        assert!(!verify_sha256_header(b"other", body, &sig));
        assert!(!verify_sha256_header(
            b"s3cret",
            br#"{"message_id":"2"}"#,
            &sig
        ));
        assert!(!verify_sha256_header(b"s3cret", body, "sha256=zz"));
        assert!(!verify_sha256_header(b"s3cret", body, &sig[7..]));
        assert!(!verify_sha256_header(b"s3cret", body, ""));
        // RFC 4231 test case 2.
        assert_eq!(
            hmac_sha256_hex(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert!(secrets_equal("abc", "abc"));
        assert!(!secrets_equal("abc", "abd"));
    }
}
