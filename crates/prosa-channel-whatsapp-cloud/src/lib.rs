//! WhatsApp Business Cloud API (Meta Graph API) adapter: pure translation, no storage.
//!
//! Inbox settings (JSON):
//! - `app_secret`: the Meta app secret; inbound `X-Hub-Signature-256` is checked against it.
//! - `verify_token`: answered in the `GET hub.challenge` handshake.
//! - `access_token`, `phone_number_id`: for sending and media download.
//! - `base_url` (default `https://graph.facebook.com`), `api_version` (default `v23.0`).
//! - `fallback_template`: optional; a template name (string) or `{"name", "language",
//!   "body_text_param": bool}` sent instead of free text outside the 24-hour window.
//! - `list_button_label` (default `Ver opções`), `media_hosts` (extra hosts media URLs may point
//!   to, default `["lookaside.fbsbx.com"]`).
//!
//! Attachments of inbound media carry `url = "whatsapp-media:<media id>"`; the server downloads
//! them with [`download_media`].

pub mod media;
pub mod send;

#[cfg(feature = "fake")]
pub mod fake;

use async_trait::async_trait;
use jiff::Timestamp;
use prosa_channel::signature::{secrets_equal, verify_sha256_header};
use prosa_channel::*;
use prosa_domain::message::{Attachment, Location, MessageContent};
use prosa_domain::model::{ChannelKind, DeliveryStatus};
use serde_json::Value;

pub use media::{MediaError, MediaFile, MediaLimits, download_media, media_id_from_url};

pub const SIGNATURE_HEADER: &str = "x-hub-signature-256";
pub const DEFAULT_BASE_URL: &str = "https://graph.facebook.com";
pub const DEFAULT_API_VERSION: &str = "v23.0";
/// Prefix of [`Attachment::url`] for media still held by Meta.
pub const MEDIA_URL_PREFIX: &str = "whatsapp-media:";

/// The WhatsApp Cloud API adapter. Stateless: all per-inbox data comes from the settings.
#[derive(Debug, Clone, Default)]
pub struct WhatsAppCloudChannel;

impl WhatsAppCloudChannel {
    pub fn new() -> WhatsAppCloudChannel {
        WhatsAppCloudChannel
    }
}

pub(crate) fn setting<'a>(settings: &'a Value, key: &str) -> Option<&'a str> {
    settings
        .get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

pub(crate) fn base_url(settings: &Value) -> String {
    setting(settings, "base_url")
        .unwrap_or(DEFAULT_BASE_URL)
        .trim_end_matches('/')
        .to_owned()
}

pub(crate) fn api_version(settings: &Value) -> &str {
    setting(settings, "api_version").unwrap_or(DEFAULT_API_VERSION)
}

/// Meta's `GET` subscription handshake, shared by WhatsApp, Messenger and Instagram.
pub fn meta_handshake(
    verify_token: Option<&str>,
    query: Option<&str>,
) -> Result<String, VerifyError> {
    let expected = verify_token.ok_or_else(|| VerifyError::Misconfigured("verify_token".into()))?;
    let mut mode = None;
    let mut token = None;
    let mut challenge = None;
    for (k, v) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        match k.as_ref() {
            "hub.mode" => mode = Some(v.into_owned()),
            "hub.verify_token" => token = Some(v.into_owned()),
            "hub.challenge" => challenge = Some(v.into_owned()),
            _ => {}
        }
    }
    let (Some(mode), Some(token), Some(challenge)) = (mode, token, challenge) else {
        return Err(VerifyError::Missing);
    };
    if mode != "subscribe" || !secrets_equal(&token, expected) {
        return Err(VerifyError::Mismatch);
    }
    Ok(challenge)
}

/// Checks `X-Hub-Signature-256` over the raw body with the app secret.
pub fn verify_meta_signature(
    app_secret: Option<&str>,
    request: &InboundRequest<'_>,
) -> Result<(), VerifyError> {
    let secret = app_secret.ok_or_else(|| VerifyError::Misconfigured("app_secret".into()))?;
    let header = request
        .headers
        .get(SIGNATURE_HEADER)
        .and_then(|h| h.to_str().ok())
        .ok_or(VerifyError::Missing)?;
    if verify_sha256_header(secret.as_bytes(), request.body, header) {
        Ok(())
    } else {
        Err(VerifyError::Mismatch)
    }
}

/// The `metadata.phone_number_id`s a notification is for, so the server can route one Meta
/// callback URL to the right inbox before verifying it with that inbox's app secret.
pub fn phone_number_ids(body: &[u8]) -> Vec<String> {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return Vec::new();
    };
    let mut ids = Vec::new();
    for entry in v
        .get("entry")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        for change in entry
            .get("changes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(id) = change
                .pointer("/value/metadata/phone_number_id")
                .and_then(Value::as_str)
                && !ids.iter().any(|i| i == id)
            {
                ids.push(id.to_owned());
            }
        }
    }
    ids
}

fn unix_string(v: Option<&Value>) -> Option<Timestamp> {
    let secs = match v? {
        Value::String(s) => s.trim().parse::<i64>().ok()?,
        Value::Number(n) => n.as_i64()?,
        _ => return None,
    };
    Timestamp::from_second(secs).ok()
}

fn str_of<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer).and_then(Value::as_str)
}

fn owned(v: &Value, pointer: &str) -> Option<String> {
    str_of(v, pointer).map(str::to_owned)
}

fn media_attachment(kind: &str, m: &Value) -> Attachment {
    let file_name = owned(m, "/filename");
    let url = str_of(m, "/id")
        .map(|id| format!("{MEDIA_URL_PREFIX}{id}"))
        .or_else(|| owned(m, "/link"));
    Attachment {
        kind: kind.to_owned(),
        file_name,
        mime_type: owned(m, "/mime_type"),
        stored_path: None,
        url,
        size: m.get("file_size").and_then(Value::as_u64),
    }
}

/// Maps one `messages[]` element to content.
pub fn message_content(m: &Value) -> MessageContent {
    let kind = m.get("type").and_then(Value::as_str).unwrap_or("unknown");
    let mut c = MessageContent::default();
    match kind {
        "text" => c.text = owned(m, "/text/body"),
        "interactive" => match str_of(m, "/interactive/type") {
            Some(t @ ("button_reply" | "list_reply")) => {
                c.selected_option = owned(m, &format!("/interactive/{t}/id"));
                c.text = owned(m, &format!("/interactive/{t}/title"));
            }
            Some(other) => c.unsupported = Some(format!("interactive.{other}")),
            None => c.unsupported = Some("interactive".into()),
        },
        "button" => {
            c.selected_option = owned(m, "/button/payload");
            c.text = owned(m, "/button/text");
        }
        "image" | "audio" | "video" | "document" | "sticker" => {
            let media = m.get(kind).cloned().unwrap_or(Value::Null);
            c.text = owned(&media, "/caption");
            c.attachments.push(media_attachment(kind, &media));
        }
        "location" => {
            let lat = m.pointer("/location/latitude").and_then(Value::as_f64);
            let lon = m.pointer("/location/longitude").and_then(Value::as_f64);
            match (lat, lon) {
                (Some(latitude), Some(longitude)) => {
                    c.location = Some(Location {
                        latitude,
                        longitude,
                        name: owned(m, "/location/name"),
                    });
                    c.text = owned(m, "/location/address");
                }
                _ => c.unsupported = Some("location".into()),
            }
        }
        "contacts" => {
            let lines: Vec<String> = m
                .get("contacts")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|ct| {
                    let name = str_of(ct, "/name/formatted_name").unwrap_or("?");
                    let phones: Vec<&str> = ct
                        .get("phones")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(|p| p.get("phone").and_then(Value::as_str))
                        .collect();
                    format!("{name}: {}", phones.join(", "))
                })
                .collect();
            if lines.is_empty() {
                c.unsupported = Some("contacts".into());
            } else {
                c.text = Some(format!("[contato] {}", lines.join("; ")));
            }
        }
        other => c.unsupported = Some(other.to_owned()),
    }
    c
}

fn status_of(s: &str) -> Option<DeliveryStatus> {
    match s {
        "sent" => Some(DeliveryStatus::Sent),
        "delivered" => Some(DeliveryStatus::Delivered),
        "read" => Some(DeliveryStatus::Read),
        "failed" => Some(DeliveryStatus::Failed),
        _ => None,
    }
}

fn status_error(s: &Value) -> Option<String> {
    let errors = s.get("errors").and_then(Value::as_array)?;
    let parts: Vec<String> = errors
        .iter()
        .map(|e| {
            let code = e
                .get("code")
                .map(|c| c.to_string())
                .unwrap_or_else(|| "?".into());
            let title = str_of(e, "/title")
                .or_else(|| str_of(e, "/message"))
                .unwrap_or("");
            let details = str_of(e, "/error_data/details")
                .map(|d| format!(" ({d})"))
                .unwrap_or_default();
            format!("{code} {title}{details}").trim().to_owned()
        })
        .collect();
    if parts.is_empty() {
        None
    } else {
        Some(parts.join("; "))
    }
}

/// Reads a Cloud API notification. With `only_phone_number_id`, changes for other numbers are
/// skipped (one Meta app may serve several numbers).
pub fn parse_notification(
    body: &[u8],
    only_phone_number_id: Option<&str>,
) -> Result<Vec<InboundItem>, ParseError> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| ParseError::new("body", format!("malformed JSON: {e}")))?;
    let entries = v
        .get("entry")
        .and_then(Value::as_array)
        .ok_or_else(|| ParseError::new("entry", "must be an array"))?;
    let mut items = Vec::new();
    for (ei, entry) in entries.iter().enumerate() {
        for (ci, change) in entry
            .get("changes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let Some(value) = change.get("value") else {
                continue;
            };
            if change
                .get("field")
                .and_then(Value::as_str)
                .is_some_and(|f| f != "messages")
            {
                continue;
            }
            if let (Some(want), Some(got)) = (
                only_phone_number_id,
                str_of(value, "/metadata/phone_number_id"),
            ) && want != got
            {
                continue;
            }
            let contacts = value
                .get("contacts")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            for (mi, m) in value
                .get("messages")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                let path = format!("entry[{ei}].changes[{ci}].value.messages[{mi}]");
                let id = str_of(m, "/id")
                    .filter(|s| !s.is_empty())
                    .ok_or_else(|| ParseError::new(format!("{path}.id"), "is required"))?;
                let from = str_of(m, "/from")
                    .filter(|s| !s.is_empty())
                    .ok_or_else(|| ParseError::new(format!("{path}.from"), "is required"))?;
                let contact = contacts
                    .iter()
                    .find(|c| str_of(c, "/wa_id") == Some(from))
                    .or(if contacts.len() == 1 {
                        contacts.first()
                    } else {
                        None
                    });
                let name = contact.and_then(|c| owned(c, "/profile/name"));
                let wa_id = contact.and_then(|c| owned(c, "/wa_id"));
                let phone_source = wa_id.as_deref().unwrap_or(from);
                let phone = phone_source
                    .chars()
                    .all(|c| c.is_ascii_digit())
                    .then(|| format!("+{phone_source}"));
                let mut meta = serde_json::Map::new();
                if let Some(w) = &wa_id {
                    meta.insert("wa_id".into(), Value::String(w.clone()));
                }
                if let Some(ctx) = str_of(m, "/context/id") {
                    meta.insert("context_id".into(), Value::String(ctx.to_owned()));
                }
                items.push(InboundItem::Message(InboundMessage {
                    provider_message_id: id.to_owned(),
                    from: ExternalContact {
                        external_id: from.to_owned(),
                        name,
                        phone,
                        meta: if meta.is_empty() {
                            None
                        } else {
                            Some(Value::Object(meta))
                        },
                    },
                    content: message_content(m),
                    sent_at: unix_string(m.get("timestamp")),
                }));
            }
            for (si, s) in value
                .get("statuses")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                let path = format!("entry[{ei}].changes[{ci}].value.statuses[{si}]");
                let id = str_of(s, "/id")
                    .ok_or_else(|| ParseError::new(format!("{path}.id"), "is required"))?;
                let raw = str_of(s, "/status").unwrap_or("");
                let Some(status) = status_of(raw) else {
                    tracing::debug!(status = raw, "whatsapp: ignoring unknown status");
                    continue;
                };
                items.push(InboundItem::Status(StatusUpdate {
                    provider_message_id: id.to_owned(),
                    status,
                    error: status_error(s),
                    at: unix_string(s.get("timestamp")),
                }));
            }
            if let Some(errors) = value.get("errors").and_then(Value::as_array) {
                for e in errors {
                    let code = e.get("code").map(Value::to_string).unwrap_or_default();
                    let title = str_of(e, "/title").unwrap_or("");
                    tracing::warn!(code, title, "whatsapp: system error notification");
                }
            }
        }
    }
    Ok(items)
}

#[async_trait]
impl ChannelAdapter for WhatsAppCloudChannel {
    fn kind(&self) -> ChannelKind {
        ChannelKind::WhatsappCloud
    }

    async fn verify(
        &self,
        settings: &Value,
        request: &InboundRequest<'_>,
    ) -> Result<(), VerifyError> {
        verify_meta_signature(setting(settings, "app_secret"), request)
    }

    fn parse(
        &self,
        settings: &Value,
        request: &InboundRequest<'_>,
    ) -> Result<Vec<InboundItem>, ParseError> {
        parse_notification(request.body, setting(settings, "phone_number_id"))
    }

    fn handshake(
        &self,
        settings: &Value,
        query: Option<&str>,
    ) -> Option<Result<String, VerifyError>> {
        Some(meta_handshake(setting(settings, "verify_token"), query))
    }

    async fn send(
        &self,
        ctx: &SendContext,
        message: &OutboundMessage,
    ) -> Result<SendReceipt, SendError> {
        send::send(ctx, message, Timestamp::now()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handshake_cases() {
        let ok = meta_handshake(
            Some("tok"),
            Some("hub.mode=subscribe&hub.verify_token=tok&hub.challenge=123"),
        );
        assert_eq!(ok, Ok("123".into()));
        assert_eq!(
            meta_handshake(
                Some("tok"),
                Some("hub.mode=subscribe&hub.verify_token=bad&hub.challenge=1")
            ),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            meta_handshake(
                Some("tok"),
                Some("hub.mode=unsubscribe&hub.verify_token=tok&hub.challenge=1")
            ),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(meta_handshake(Some("tok"), None), Err(VerifyError::Missing));
        assert!(matches!(
            meta_handshake(None, Some("hub.mode=subscribe")),
            Err(VerifyError::Misconfigured(_))
        ));
    }
}
