//! Media download in two steps: `GET /{media-id}` for a short-lived URL, then `GET <url>` with
//! the same bearer token. The token is only ever sent to the configured base host or to the
//! configured media hosts (default Meta's `lookaside.fbsbx.com`), over https unless the host is
//! the configured base host itself. Size- and time-limited; redirects are not followed.

use crate::{MEDIA_URL_PREFIX, api_version, base_url, setting};
use serde_json::Value;
use std::time::Duration;

#[derive(Debug, Clone, Copy)]
pub struct MediaLimits {
    pub max_bytes: u64,
    pub timeout: Duration,
}

impl Default for MediaLimits {
    fn default() -> MediaLimits {
        MediaLimits {
            max_bytes: 16 * 1024 * 1024,
            timeout: Duration::from_secs(30),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaFile {
    pub bytes: Vec<u8>,
    pub mime_type: Option<String>,
    /// Meta's declared SHA-256 (hex); already checked against the bytes when present.
    pub sha256: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MediaError {
    #[error("inbox is not configured: {0}")]
    Misconfigured(&'static str),
    #[error("media URL refused: {0}")]
    Refused(String),
    #[error("media larger than {0} bytes")]
    TooLarge(u64),
    #[error("provider answered {0}")]
    Status(u16),
    #[error("media does not match its sha256")]
    Checksum,
    #[error("transport: {0}")]
    Transport(String),
}

/// The media id in an attachment URL written by the parser (`whatsapp-media:<id>`).
pub fn media_id_from_url(url: &str) -> Option<&str> {
    url.strip_prefix(MEDIA_URL_PREFIX).filter(|id| {
        !id.is_empty()
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    })
}

fn allowed_url(settings: &Value, raw: &str) -> Result<url::Url, MediaError> {
    let url = url::Url::parse(raw).map_err(|e| MediaError::Refused(e.to_string()))?;
    let base =
        url::Url::parse(&base_url(settings)).map_err(|_| MediaError::Misconfigured("base_url"))?;
    let same_origin = url.scheme() == base.scheme()
        && url.host_str() == base.host_str()
        && url.port_or_known_default() == base.port_or_known_default();
    if same_origin {
        return Ok(url);
    }
    let host = url.host_str().unwrap_or("").to_ascii_lowercase();
    let media_hosts: Vec<String> = match settings.get("media_hosts").and_then(Value::as_array) {
        Some(a) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_ascii_lowercase)
            .collect(),
        None => vec!["lookaside.fbsbx.com".into()],
    };
    if url.scheme() == "https" && media_hosts.contains(&host) {
        return Ok(url);
    }
    Err(MediaError::Refused(format!(
        "host {host} is not the provider's"
    )))
}

async fn get_limited(
    client: &reqwest::Client,
    url: url::Url,
    token: &str,
    limits: MediaLimits,
) -> Result<(Vec<u8>, Option<String>), MediaError> {
    let mut response = client
        .get(url)
        .bearer_auth(token)
        .timeout(limits.timeout)
        .send()
        .await
        .map_err(|e| MediaError::Transport(e.to_string()))?;
    if !response.status().is_success() {
        return Err(MediaError::Status(response.status().as_u16()));
    }
    if response
        .content_length()
        .is_some_and(|l| l > limits.max_bytes)
    {
        return Err(MediaError::TooLarge(limits.max_bytes));
    }
    let mime = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut bytes = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| MediaError::Transport(e.to_string()))?
    {
        if bytes.len() as u64 + chunk.len() as u64 > limits.max_bytes {
            return Err(MediaError::TooLarge(limits.max_bytes));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok((bytes, mime))
}

/// Downloads a media object by id with the inbox's token.
pub async fn download_media(
    settings: &Value,
    media_id: &str,
    limits: MediaLimits,
) -> Result<MediaFile, MediaError> {
    let token =
        setting(settings, "access_token").ok_or(MediaError::Misconfigured("access_token"))?;
    if media_id.is_empty()
        || !media_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(MediaError::Refused("bad media id".into()));
    }
    // Own client: never follow redirects with the bearer token.
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(limits.timeout)
        .build()
        .map_err(|e| MediaError::Transport(e.to_string()))?;
    let mut meta_url = format!(
        "{}/{}/{}",
        base_url(settings),
        api_version(settings),
        media_id
    );
    if let Some(pnid) = setting(settings, "phone_number_id") {
        meta_url.push_str(&format!("?phone_number_id={pnid}"));
    }
    let meta_url = allowed_url(settings, &meta_url)?;
    let (meta, _) = get_limited(
        &client,
        meta_url,
        token,
        MediaLimits {
            max_bytes: 64 * 1024,
            ..limits
        },
    )
    .await?;
    let meta: Value = serde_json::from_slice(&meta)
        .map_err(|_| MediaError::Transport("media metadata is not JSON".into()))?;
    if meta
        .get("file_size")
        .and_then(Value::as_u64)
        .is_some_and(|s| s > limits.max_bytes)
    {
        return Err(MediaError::TooLarge(limits.max_bytes));
    }
    let raw_url = meta
        .get("url")
        .and_then(Value::as_str)
        .ok_or_else(|| MediaError::Transport("media metadata has no url".into()))?;
    let url = allowed_url(settings, raw_url)?;
    let (bytes, header_mime) = get_limited(&client, url, token, limits).await?;
    let sha256 = meta
        .get("sha256")
        .and_then(Value::as_str)
        .map(str::to_owned);
    if let Some(expected) = &sha256 {
        use sha2::Digest;
        let got = hex::encode(sha2::Sha256::digest(&bytes));
        // Meta documents hex; some payloads carry base64. Only a hex mismatch is an error.
        if expected.len() == 64
            && expected.chars().all(|c| c.is_ascii_hexdigit())
            && !got.eq_ignore_ascii_case(expected)
        {
            return Err(MediaError::Checksum);
        }
    }
    let mime_type = meta
        .get("mime_type")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or(header_mime);
    Ok(MediaFile {
        bytes,
        mime_type,
        sha256,
    })
}
