//! WhatsApp through Evolution API v2 (self-hosted WhatsApp Web gateway, Baileys).
//!
//! Inbox settings (JSON):
//! - `base_url` (the Evolution server, required), `api_key` (instance token or global key,
//!   sent as `apikey`), `instance` (instance name).
//! - Webhook authentication (Evolution does not sign): `webhook_jwt_key` (Evolution's
//!   `headers.jwt_key`: `Authorization: Bearer <HS256 JWT>` with `app: "evolution"`,
//!   `action: "webhook"`, `exp`), and/or `webhook_token` checked in the header named by
//!   `webhook_header` (default `x-webhook-token`), set through the instance's `webhook.headers`.
//!   At least one is required; both are checked when both are set.
//! - `interactive` (default `false`): send buttons/lists; otherwise options go as a numbered
//!   text menu (WhatsApp Web buttons are fragile, see channels.md §2.6).
//!
//! Inbound: `MESSAGES_UPSERT` (own `fromMe` echoes, groups, broadcasts and newsletters ignored),
//! `MESSAGES_UPDATE` statuses for our sends. `@lid` senders are keyed by the phone JID in
//! `key.remoteJidAlt` (or `key.senderPn`) when present. `CONNECTION_UPDATE` and `QRCODE_UPDATED`
//! yield no item: read them with [`parse_instance_event`]. Media attachments carry
//! `url = "evolution-media:<key id>"` (or the S3 `mediaUrl`); fetch them with [`download_media`].

pub mod client;
pub mod jwt;

#[cfg(feature = "fake")]
pub mod fake;

use async_trait::async_trait;
use jiff::Timestamp;
use prosa_channel::signature::secrets_equal;
use prosa_channel::*;
use prosa_domain::message::{Attachment, Location, MessageContent};
use prosa_domain::model::{ChannelKind, DeliveryStatus};
use serde_json::{Value, json};

pub use client::{
    ConnectInfo, CreatedInstance, MediaFile, connect, connection_state, create_instance,
    download_media, media_key_from_url, set_webhook,
};

pub const DEFAULT_WEBHOOK_HEADER: &str = "x-webhook-token";
/// Prefix of [`Attachment::url`] for media fetched with `getBase64FromMediaMessage` (the message key id).
pub const MEDIA_URL_PREFIX: &str = "evolution-media:";

#[derive(Debug, Clone, Default)]
pub struct EvolutionChannel;

impl EvolutionChannel {
    pub fn new() -> EvolutionChannel {
        EvolutionChannel
    }
}

pub(crate) fn setting<'a>(settings: &'a Value, key: &str) -> Option<&'a str> {
    settings
        .get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

fn str_of<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// `messages.upsert` / `MESSAGES_UPSERT` / `messages-upsert` → `MESSAGES_UPSERT`.
pub fn normalise_event(name: &str) -> String {
    name.trim().to_ascii_uppercase().replace(['.', '-'], "_")
}

/// A connection event for the inbox's status screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InstanceEvent {
    /// `state`: `open`, `connecting`, `close` or `refused`.
    Connection {
        instance: String,
        state: String,
        status_reason: Option<i64>,
        wuid: Option<String>,
        profile_name: Option<String>,
    },
    /// A new QR code to scan (`base64` is a `data:image/png;base64,...` URL).
    QrCode {
        instance: String,
        base64: Option<String>,
        code: Option<String>,
        pairing_code: Option<String>,
    },
    /// Evolution gave up issuing QR codes; the operator must reconnect.
    QrLimitReached { instance: String, message: String },
}

/// Reads a `CONNECTION_UPDATE` or `QRCODE_UPDATED` body; `None` for other events.
pub fn parse_instance_event(body: &[u8]) -> Option<InstanceEvent> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let event = normalise_event(v.get("event")?.as_str()?);
    let instance = str_of(&v, "/instance").unwrap_or("").to_owned();
    let data = v.get("data")?;
    match event.as_str() {
        "CONNECTION_UPDATE" => Some(InstanceEvent::Connection {
            instance,
            state: str_of(data, "/state")?.to_owned(),
            status_reason: data.get("statusReason").and_then(Value::as_i64),
            wuid: str_of(data, "/wuid").map(str::to_owned),
            profile_name: str_of(data, "/profileName").map(str::to_owned),
        }),
        "QRCODE_UPDATED" => match data.get("qrcode") {
            Some(q) => Some(InstanceEvent::QrCode {
                instance,
                base64: str_of(q, "/base64").map(str::to_owned),
                code: str_of(q, "/code").map(str::to_owned),
                pairing_code: str_of(q, "/pairingCode").map(str::to_owned),
            }),
            None => Some(InstanceEvent::QrLimitReached {
                instance,
                message: str_of(data, "/message")
                    .unwrap_or("QR code limit reached")
                    .to_owned(),
            }),
        },
        _ => None,
    }
}

fn timestamp(v: Option<&Value>) -> Option<Timestamp> {
    let secs = match v? {
        Value::Number(n) => n.as_i64()?,
        Value::String(s) => s.parse().ok()?,
        // protobuf Long: {low, high, unsigned}
        Value::Object(o) => {
            o.get("low")?.as_i64()? + (o.get("high").and_then(Value::as_i64).unwrap_or(0) << 32)
        }
        _ => return None,
    };
    Timestamp::from_second(secs).ok()
}

fn media(kind: &str, m: &Value, key_id: &str, media_url: Option<&str>) -> Attachment {
    Attachment {
        kind: kind.to_owned(),
        file_name: str_of(m, "/fileName")
            .or_else(|| str_of(m, "/title"))
            .map(str::to_owned),
        mime_type: str_of(m, "/mimetype").map(str::to_owned),
        stored_path: None,
        url: Some(
            media_url
                .map(str::to_owned)
                .unwrap_or_else(|| format!("{MEDIA_URL_PREFIX}{key_id}")),
        ),
        size: m.get("fileLength").and_then(|l| {
            l.as_u64()
                .or_else(|| l.as_str().and_then(|s| s.parse().ok()))
        }),
    }
}

/// Maps a Baileys `message` object to content.
pub fn message_content(
    message: &Value,
    message_type: Option<&str>,
    key_id: &str,
) -> MessageContent {
    let mut c = MessageContent::default();
    let media_url = str_of(message, "/mediaUrl");
    if let Some(t) =
        str_of(message, "/conversation").or_else(|| str_of(message, "/extendedTextMessage/text"))
    {
        c.text = Some(t.to_owned());
    } else if let Some(b) = message.get("buttonsResponseMessage") {
        c.selected_option = str_of(b, "/selectedButtonId").map(str::to_owned);
        c.text = str_of(b, "/selectedDisplayText").map(str::to_owned);
    } else if let Some(l) = message.get("listResponseMessage") {
        c.selected_option = str_of(l, "/singleSelectReply/selectedRowId").map(str::to_owned);
        c.text = str_of(l, "/title").map(str::to_owned);
    } else if let Some(t) = message.get("templateButtonReplyMessage") {
        c.selected_option = str_of(t, "/selectedId").map(str::to_owned);
        c.text = str_of(t, "/selectedDisplayText").map(str::to_owned);
    } else if let Some(l) = message
        .get("locationMessage")
        .or_else(|| message.get("liveLocationMessage"))
    {
        if let (Some(latitude), Some(longitude)) = (
            l.get("degreesLatitude").and_then(Value::as_f64),
            l.get("degreesLongitude").and_then(Value::as_f64),
        ) {
            c.location = Some(Location {
                latitude,
                longitude,
                name: str_of(l, "/name").map(str::to_owned),
            });
            c.text = str_of(l, "/address").map(str::to_owned);
        }
    } else if let Some(ct) = message.get("contactMessage") {
        let name = str_of(ct, "/displayName").unwrap_or("?");
        let phone = str_of(ct, "/vcard")
            .and_then(|v| {
                v.lines()
                    .find(|l| l.starts_with("TEL"))
                    .and_then(|l| l.rsplit(':').next())
            })
            .unwrap_or("");
        c.text = Some(format!("[contato] {name}: {phone}"));
    } else {
        let doc = message
            .get("documentWithCaptionMessage")
            .and_then(|d| d.pointer("/message/documentMessage"));
        for (field, kind) in [
            ("imageMessage", "image"),
            ("videoMessage", "video"),
            ("audioMessage", "audio"),
            ("documentMessage", "document"),
            ("stickerMessage", "sticker"),
        ] {
            let m = if field == "documentMessage" {
                message.get(field).or(doc)
            } else {
                message.get(field)
            };
            if let Some(m) = m {
                c.text = str_of(m, "/caption").map(str::to_owned);
                c.attachments.push(media(kind, m, key_id, media_url));
                break;
            }
        }
    }
    if c.text.is_none()
        && c.selected_option.is_none()
        && c.attachments.is_empty()
        && c.location.is_none()
    {
        let kind = message_type
            .map(str::to_owned)
            .or_else(|| {
                message.as_object().and_then(|o| {
                    o.keys()
                        .find(|k| {
                            !matches!(k.as_str(), "messageContextInfo" | "base64" | "mediaUrl")
                        })
                        .cloned()
                })
            })
            .unwrap_or_else(|| "unknown".into());
        c.unsupported = Some(kind);
    }
    c
}

fn digits_of_jid(jid: &str) -> Option<String> {
    let user = jid.split('@').next()?.split(':').next()?;
    (!user.is_empty() && user.chars().all(|c| c.is_ascii_digit())).then(|| user.to_owned())
}

/// Which JID identifies the sender: the phone JID when Evolution gives one for an `@lid` chat.
pub fn sender_jids(key: &Value) -> (String, Option<String>) {
    let remote = str_of(key, "/remoteJid").unwrap_or("").to_owned();
    let lid_mode = remote.ends_with("@lid") || str_of(key, "/addressingMode") == Some("lid");
    if lid_mode {
        let alt = str_of(key, "/remoteJidAlt")
            .or_else(|| str_of(key, "/senderPn"))
            .filter(|j| j.ends_with("@s.whatsapp.net"));
        if let Some(alt) = alt {
            return (alt.to_owned(), Some(remote));
        }
        return (remote, None);
    }
    (remote, None)
}

fn upsert_item(
    data: &Value,
    instance: &str,
    path: &str,
) -> Result<Option<InboundItem>, ParseError> {
    let key = data
        .get("key")
        .ok_or_else(|| ParseError::new(format!("{path}.key"), "is required"))?;
    let id = str_of(key, "/id")
        .ok_or_else(|| ParseError::new(format!("{path}.key.id"), "is required"))?;
    let remote = str_of(key, "/remoteJid")
        .ok_or_else(|| ParseError::new(format!("{path}.key.remoteJid"), "is required"))?;
    if key.get("fromMe").and_then(Value::as_bool) == Some(true) {
        return Ok(None);
    }
    if remote.ends_with("@g.us")
        || remote.ends_with("@broadcast")
        || remote.ends_with("@newsletter")
    {
        return Ok(None);
    }
    let (jid, lid) = sender_jids(key);
    let phone_digits = digits_of_jid(&jid).filter(|_| jid.ends_with("@s.whatsapp.net"));
    let external_id = phone_digits.clone().unwrap_or_else(|| jid.clone());
    let mut meta = json!({"instance": instance, "remote_jid": jid});
    if let Some(l) = lid {
        meta["lid"] = json!(l);
    }
    let message = data.get("message").cloned().unwrap_or(Value::Null);
    Ok(Some(InboundItem::Message(InboundMessage {
        provider_message_id: id.to_owned(),
        from: ExternalContact {
            external_id,
            name: str_of(data, "/pushName").map(str::to_owned),
            phone: phone_digits.map(|d| format!("+{d}")),
            meta: Some(meta),
        },
        content: message_content(&message, str_of(data, "/messageType"), id),
        sent_at: timestamp(data.get("messageTimestamp")),
    })))
}

fn update_item(data: &Value) -> Option<InboundItem> {
    if data
        .get("fromMe")
        .or_else(|| data.pointer("/key/fromMe"))
        .and_then(Value::as_bool)
        == Some(false)
    {
        return None;
    }
    let id = str_of(data, "/keyId").or_else(|| str_of(data, "/key/id"))?;
    let raw = str_of(data, "/status").or_else(|| str_of(data, "/update/status"))?;
    let status = match raw {
        "SERVER_ACK" => DeliveryStatus::Sent,
        "DELIVERY_ACK" => DeliveryStatus::Delivered,
        "READ" | "PLAYED" => DeliveryStatus::Read,
        "ERROR" => DeliveryStatus::Failed,
        _ => return None,
    };
    Some(InboundItem::Status(StatusUpdate {
        provider_message_id: id.to_owned(),
        status,
        error: (status == DeliveryStatus::Failed).then(|| "ERROR".to_owned()),
        at: timestamp(data.get("datetime")).or_else(|| {
            data.get("datetime")
                .and_then(Value::as_i64)
                .and_then(|ms| Timestamp::from_millisecond(ms).ok())
        }),
    }))
}

/// Reads a webhook body. `only_instance` skips events of other instances.
pub fn parse_body(
    body: &[u8],
    only_instance: Option<&str>,
) -> Result<Vec<InboundItem>, ParseError> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| ParseError::new("body", format!("malformed JSON: {e}")))?;
    let event = normalise_event(
        v.get("event")
            .and_then(Value::as_str)
            .ok_or_else(|| ParseError::new("event", "is required"))?,
    );
    let instance = str_of(&v, "/instance").unwrap_or("");
    if let Some(want) = only_instance
        && want != instance
    {
        tracing::warn!(instance, "evolution: event for another instance ignored");
        return Ok(Vec::new());
    }
    let data = v
        .get("data")
        .ok_or_else(|| ParseError::new("data", "is required"))?;
    let list: Vec<&Value> = match data {
        Value::Array(a) => a.iter().collect(),
        Value::Object(o) if o.get("messages").is_some_and(Value::is_array) => {
            o["messages"].as_array().into_iter().flatten().collect()
        }
        other => vec![other],
    };
    let mut items = Vec::new();
    match event.as_str() {
        "MESSAGES_UPSERT" | "MESSAGES_SET" => {
            for (i, d) in list.iter().enumerate() {
                let path = if data.is_object() && list.len() == 1 {
                    "data".to_owned()
                } else {
                    format!("data[{i}]")
                };
                if let Some(item) = upsert_item(d, instance, &path)? {
                    items.push(item);
                }
            }
        }
        "MESSAGES_UPDATE" => items.extend(list.iter().filter_map(|d| update_item(d))),
        _ => tracing::debug!(event, "evolution: event without items"),
    }
    Ok(items)
}

#[async_trait]
impl ChannelAdapter for EvolutionChannel {
    fn kind(&self) -> ChannelKind {
        ChannelKind::WhatsappEvolution
    }

    async fn verify(
        &self,
        settings: &Value,
        request: &InboundRequest<'_>,
    ) -> Result<(), VerifyError> {
        let jwt_key = setting(settings, "webhook_jwt_key");
        let token = setting(settings, "webhook_token");
        if jwt_key.is_none() && token.is_none() {
            return Err(VerifyError::Misconfigured(
                "webhook_token or webhook_jwt_key".into(),
            ));
        }
        if let Some(key) = jwt_key {
            let auth = request
                .headers
                .get("authorization")
                .and_then(|h| h.to_str().ok())
                .ok_or(VerifyError::Missing)?;
            let bearer = auth.strip_prefix("Bearer ").ok_or(VerifyError::Missing)?;
            jwt::verify_evolution_jwt(key.as_bytes(), bearer.trim(), Timestamp::now().as_second())?;
        }
        if let Some(expected) = token {
            let header = setting(settings, "webhook_header").unwrap_or(DEFAULT_WEBHOOK_HEADER);
            let given = request
                .headers
                .get(header)
                .and_then(|h| h.to_str().ok())
                .ok_or(VerifyError::Missing)?;
            if !secrets_equal(given, expected) {
                return Err(VerifyError::Mismatch);
            }
        }
        Ok(())
    }

    fn parse(
        &self,
        settings: &Value,
        request: &InboundRequest<'_>,
    ) -> Result<Vec<InboundItem>, ParseError> {
        parse_body(request.body, setting(settings, "instance"))
    }

    async fn send(
        &self,
        ctx: &SendContext,
        message: &OutboundMessage,
    ) -> Result<SendReceipt, SendError> {
        client::send(ctx, message).await
    }
}
