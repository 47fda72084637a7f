//! Inbound JWT validation (Connector → bot).

use crate::{BotFrameworkChannel, DEFAULT_ISSUER, DEFAULT_OPENID_METADATA_URL, setting};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use prosa_channel::{InboundRequest, VerifyError};
use serde_json::Value;
use std::time::{Duration, Instant};

/// Clock skew allowed on `exp` and `nbf`.
pub const LEEWAY_SECS: i64 = 300;
/// Keys are refetched at least this often.
pub const KEY_TTL: Duration = Duration::from_secs(24 * 3600);
/// An unknown `kid` forces a refetch at most this often.
pub const FORCED_REFRESH_INTERVAL: Duration = Duration::from_secs(300);

#[derive(Debug, Clone)]
pub struct Jwk {
    pub kid: String,
    pub n: Vec<u8>,
    pub e: Vec<u8>,
    pub endorsements: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct KeyCache {
    pub keys: Vec<Jwk>,
    pub fetched_at: Instant,
    pub last_forced: Option<Instant>,
}

/// The OpenID metadata or keys could not be read: a transient failure, answered 503 so the
/// Connector retries (not 401, which would drop the activity).
fn unavailable(what: &str, e: impl std::fmt::Display) -> VerifyError {
    VerifyError::Unavailable(format!("{what}: {e}"))
}

async fn get_json(http: &reqwest::Client, url: &str) -> Result<Value, VerifyError> {
    let r = http
        .get(url)
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .map_err(|e| unavailable(url, e))?;
    if !r.status().is_success() {
        return Err(unavailable(url, r.status()));
    }
    let bytes = r.bytes().await.map_err(|e| unavailable(url, e))?;
    if bytes.len() > 1024 * 1024 {
        return Err(unavailable(url, "document too large"));
    }
    serde_json::from_slice(&bytes).map_err(|e| unavailable(url, e))
}

/// Fetches the OpenID metadata, then its JWKS.
pub async fn fetch_keys(
    http: &reqwest::Client,
    metadata_url: &str,
) -> Result<Vec<Jwk>, VerifyError> {
    let meta = get_json(http, metadata_url).await?;
    let jwks_uri = meta
        .get("jwks_uri")
        .and_then(Value::as_str)
        .ok_or_else(|| unavailable("jwks_uri", "missing"))?;
    let jwks = get_json(http, jwks_uri).await?;
    let keys = jwks
        .get("keys")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|k| k.get("kty").and_then(Value::as_str) == Some("RSA"))
        .filter_map(|k| {
            Some(Jwk {
                kid: k.get("kid")?.as_str()?.to_owned(),
                n: URL_SAFE_NO_PAD
                    .decode(k.get("n")?.as_str()?.trim_end_matches('='))
                    .ok()?,
                e: URL_SAFE_NO_PAD
                    .decode(k.get("e")?.as_str()?.trim_end_matches('='))
                    .ok()?,
                endorsements: k
                    .get("endorsements")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect(),
            })
        })
        .collect();
    Ok(keys)
}

fn decode_json(part: &str) -> Result<Value, VerifyError> {
    URL_SAFE_NO_PAD
        .decode(part)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or(VerifyError::Mismatch)
}

fn normalise_url(u: &str) -> String {
    u.trim().trim_end_matches('/').to_ascii_lowercase()
}

/// Checks the claims of a token whose signature is valid.
pub fn check_claims(
    claims: &Value,
    issuer: &str,
    app_id: &str,
    service_url: &str,
    now: i64,
) -> Result<(), VerifyError> {
    if claims.get("iss").and_then(Value::as_str) != Some(issuer) {
        return Err(VerifyError::Mismatch);
    }
    let aud_ok = match claims.get("aud") {
        Some(Value::String(a)) => a == app_id,
        Some(Value::Array(a)) => a.iter().any(|x| x.as_str() == Some(app_id)),
        _ => false,
    };
    if !aud_ok {
        return Err(VerifyError::Mismatch);
    }
    let exp = claims
        .get("exp")
        .and_then(Value::as_i64)
        .ok_or(VerifyError::Expired)?;
    if now > exp + LEEWAY_SECS {
        return Err(VerifyError::Expired);
    }
    if claims
        .get("nbf")
        .and_then(Value::as_i64)
        .is_some_and(|nbf| now + LEEWAY_SECS < nbf)
    {
        return Err(VerifyError::Expired);
    }
    let claimed = claims
        .get("serviceurl")
        .or_else(|| claims.get("serviceUrl"))
        .and_then(Value::as_str)
        .ok_or(VerifyError::Mismatch)?;
    if normalise_url(claimed) != normalise_url(service_url) {
        return Err(VerifyError::Mismatch);
    }
    Ok(())
}

impl BotFrameworkChannel {
    async fn key_for(&self, metadata_url: &str, kid: &str) -> Result<Jwk, VerifyError> {
        let mut caches = self.keys.lock().await;
        let now = Instant::now();
        let stale = caches
            .get(metadata_url)
            .is_none_or(|c| now.duration_since(c.fetched_at) > KEY_TTL);
        if stale {
            let keys = fetch_keys(&self.http, metadata_url).await?;
            let last_forced = caches.get(metadata_url).and_then(|c| c.last_forced);
            caches.insert(
                metadata_url.to_owned(),
                KeyCache {
                    keys,
                    fetched_at: now,
                    last_forced,
                },
            );
        }
        let cache = caches
            .get_mut(metadata_url)
            .expect("invariant: inserted above");
        if let Some(k) = cache.keys.iter().find(|k| k.kid == kid) {
            return Ok(k.clone());
        }
        // Unknown kid: keys may have rotated. Refetch, but not more than every few minutes.
        if cache
            .last_forced
            .is_some_and(|t| now.duration_since(t) < FORCED_REFRESH_INTERVAL)
            || stale
        {
            return Err(VerifyError::Mismatch);
        }
        cache.last_forced = Some(now);
        let keys = fetch_keys(&self.http, metadata_url).await?;
        cache.keys = keys;
        cache.fetched_at = now;
        cache
            .keys
            .iter()
            .find(|k| k.kid == kid)
            .cloned()
            .ok_or(VerifyError::Mismatch)
    }

    /// Full inbound check at `now` (Unix seconds).
    pub async fn verify_request(
        &self,
        settings: &Value,
        request: &InboundRequest<'_>,
        now: i64,
    ) -> Result<(), VerifyError> {
        let app_id = setting(settings, "app_id")
            .ok_or_else(|| VerifyError::Misconfigured("app_id".into()))?;
        let metadata_url =
            setting(settings, "openid_metadata_url").unwrap_or(DEFAULT_OPENID_METADATA_URL);
        let issuer = setting(settings, "issuer").unwrap_or(DEFAULT_ISSUER);
        let auth = request
            .headers
            .get("authorization")
            .and_then(|h| h.to_str().ok())
            .ok_or(VerifyError::Missing)?;
        let token = auth
            .strip_prefix("Bearer ")
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(VerifyError::Missing)?;
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(VerifyError::Mismatch);
        };
        let header = decode_json(h)?;
        if header.get("alg").and_then(Value::as_str) != Some("RS256") {
            return Err(VerifyError::Mismatch);
        }
        let kid = header
            .get("kid")
            .and_then(Value::as_str)
            .ok_or(VerifyError::Mismatch)?;
        let sig = URL_SAFE_NO_PAD
            .decode(s)
            .map_err(|_| VerifyError::Mismatch)?;
        // The activity's serviceUrl and channelId are bound to the token: read them (only them).
        let activity: Value =
            serde_json::from_slice(request.body).map_err(|_| VerifyError::Mismatch)?;
        let service_url = activity
            .get("serviceUrl")
            .and_then(Value::as_str)
            .ok_or(VerifyError::Mismatch)?;
        let channel_id = activity
            .get("channelId")
            .and_then(Value::as_str)
            .ok_or(VerifyError::Mismatch)?;
        let key = self.key_for(metadata_url, kid).await?;
        let public = ring::signature::RsaPublicKeyComponents {
            n: &key.n,
            e: &key.e,
        };
        public
            .verify(
                &ring::signature::RSA_PKCS1_2048_8192_SHA256,
                format!("{h}.{p}").as_bytes(),
                &sig,
            )
            .map_err(|_| VerifyError::Mismatch)?;
        let claims = decode_json(p)?;
        check_claims(&claims, issuer, app_id, service_url, now)?;
        if !key.endorsements.iter().any(|e| e == channel_id) {
            return Err(VerifyError::Mismatch);
        }
        Ok(())
    }
}
