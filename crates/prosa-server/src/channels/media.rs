//! Inbound media: downloaded by the inbound worker (size- and time-limited, through the
//! provider's API) into `data_dir/media/`, then served to operators who may see the
//! conversation at `GET /api/v1/attachments/{message_id}/{index}`.

use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use prosa_domain::MessageId;
use prosa_domain::message::Message;
use prosa_domain::model::{ChannelKind, Inbox};
use std::time::Duration;

const MAX_BYTES: u64 = 16 * 1024 * 1024;
const TIMEOUT: Duration = Duration::from_secs(30);

async fn fetch(
    state: &AppState,
    inbox: &Inbox,
    url: &str,
) -> Result<(Vec<u8>, Option<String>), String> {
    match inbox.kind {
        ChannelKind::WhatsappCloud => {
            let id = prosa_channel_whatsapp_cloud::media_id_from_url(url)
                .ok_or("not a media reference")?;
            let f = prosa_channel_whatsapp_cloud::download_media(
                &inbox.settings,
                id,
                prosa_channel_whatsapp_cloud::MediaLimits {
                    max_bytes: MAX_BYTES,
                    timeout: TIMEOUT,
                },
            )
            .await
            .map_err(|e| e.to_string())?;
            Ok((f.bytes, f.mime_type))
        }
        ChannelKind::Telegram => {
            let id = url
                .strip_prefix(prosa_channel_telegram::FILE_URL_PREFIX)
                .ok_or("not a file reference")?;
            let bytes = prosa_channel_telegram::api::get_file(
                &state.http,
                &inbox.settings,
                id,
                MAX_BYTES,
                TIMEOUT,
            )
            .await
            .map_err(|e| e.to_string())?;
            Ok((bytes, None))
        }
        ChannelKind::WhatsappEvolution => {
            let key = prosa_channel_evolution::client::media_key_from_url(url)
                .ok_or("not a media reference")?;
            let f = prosa_channel_evolution::client::download_media(
                &state.http,
                &inbox.settings,
                key,
                MAX_BYTES as usize,
            )
            .await
            .map_err(|e| e.to_string())?;
            Ok((f.bytes, f.mime_type))
        }
        // Meta's attachment URLs (signed CDN links) and Bot Framework content URLs are
        // fetched as they are, after the egress policy: they come from a payload.
        ChannelKind::Messenger | ChannelKind::Instagram | ChannelKind::BotFramework => {
            download_url(state, url).await
        }
        _ => Err("no media download for this channel".into()),
    }
}

/// GETs a media URL found in a payload: egress-checked (no private targets unless allowed),
/// no redirects, size- and time-limited.
async fn download_url(state: &AppState, url: &str) -> Result<(Vec<u8>, Option<String>), String> {
    let policy = prosa_channel::egress::EgressPolicy {
        allowed_private_hosts: state.config.egress.allowed_private_hosts.clone(),
    };
    let url = policy.check(url).await.map_err(|e| e.to_string())?;
    let mut response = state
        .http
        .get(url)
        .timeout(TIMEOUT)
        .send()
        .await
        .map_err(|e| format!("download failed: {e}"))?;
    if !response.status().is_success() {
        return Err(format!("download answered {}", response.status()));
    }
    if response.content_length().is_some_and(|n| n > MAX_BYTES) {
        return Err(format!("media larger than {MAX_BYTES} bytes"));
    }
    let mime = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut bytes = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| format!("download failed: {e}"))?
    {
        if (bytes.len() + chunk.len()) as u64 > MAX_BYTES {
            return Err(format!("media larger than {MAX_BYTES} bytes"));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok((bytes, mime))
}

/// Downloads the provider media of a stored incoming message; best effort (a failure leaves
/// the attachment without `stored_path`).
pub async fn download_for(state: &AppState, inbox: &Inbox, message_id: MessageId) {
    let Ok(mut message) = state.store.message_by_id(message_id).await else {
        return;
    };
    let mut changed = false;
    for (i, a) in message.content.attachments.iter_mut().enumerate() {
        if a.stored_path.is_some() {
            continue;
        }
        let Some(url) = a.url.clone() else { continue };
        match fetch(state, inbox, &url).await {
            Ok((bytes, mime)) => {
                let dir = state.config.data_dir.join("media");
                if let Err(e) = tokio::fs::create_dir_all(&dir).await {
                    tracing::warn!(error = %e, "creating the media folder");
                    return;
                }
                let name = format!("{}-{}-{}", message_id.0, i, crate::auth::random_token());
                if let Err(e) = tokio::fs::write(dir.join(&name), &bytes).await {
                    tracing::warn!(error = %e, "writing media");
                    return;
                }
                a.stored_path = Some(format!("media/{name}"));
                a.size = Some(bytes.len() as u64);
                if a.mime_type.is_none() {
                    a.mime_type = mime;
                }
                changed = true;
            }
            Err(e) => tracing::info!(message_id = message_id.0, error = %e, "media not downloaded"),
        }
    }
    if changed
        && let Err(e) = state
            .store
            .set_message_content(message.id, &message.content)
            .await
    {
        tracing::warn!(error = %e, "recording downloaded media");
    }
}

fn safe_type(mime: Option<&str>) -> String {
    match mime {
        Some(m)
            if m.len() < 100
                && m.split('/').count() == 2
                && m.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "/.+-;= ".contains(c)) =>
        {
            m.to_owned()
        }
        _ => "application/octet-stream".into(),
    }
}

/// `GET /api/v1/attachments/{message_id}/{index}`.
pub async fn serve(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    Path((message_id, index)): Path<(String, usize)>,
) -> Result<Response, ApiError> {
    let id: i64 = message_id.parse().map_err(|_| ApiError::NotFound)?;
    let message: Message = state.store.message_by_id(MessageId(id)).await?;
    let c = state
        .store
        .conversation_by_id(message.conversation_id)
        .await?;
    let viewer = who.viewer(state.config.team_visibility);
    if !viewer.may_see(c.status, c.assignee_id, c.team_id) {
        return Err(ApiError::NotFound);
    }
    let a = message
        .content
        .attachments
        .get(index)
        .ok_or(ApiError::NotFound)?;
    let rel = a.stored_path.as_deref().ok_or(ApiError::NotFound)?;
    let name = rel.strip_prefix("media/").ok_or(ApiError::NotFound)?;
    if name.contains('/') || name.contains("..") {
        return Err(ApiError::NotFound);
    }
    let bytes = tokio::fs::read(state.config.data_dir.join("media").join(name))
        .await
        .map_err(|_| ApiError::NotFound)?;
    let file_name: String = a
        .file_name
        .as_deref()
        .unwrap_or("anexo")
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "._- ".contains(*c))
        .take(100)
        .collect();
    Ok((
        [
            (header::CONTENT_TYPE, safe_type(a.mime_type.as_deref())),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"{}\"",
                    if file_name.is_empty() {
                        "anexo".into()
                    } else {
                        file_name
                    }
                ),
            ),
            (header::CACHE_CONTROL, "private, no-store".to_owned()),
        ],
        bytes,
    )
        .into_response())
}
