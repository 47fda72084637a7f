//! Facebook Messenger and Instagram messaging: one Meta app webhook (`object: "page"` or
//! `"instagram"`), the Send API, 24-hour window and the `HUMAN_AGENT` tag.
//!
//! Inbox settings (JSON): `app_secret`, `verify_token`, `page_access_token` (or `access_token`),
//! `page_id` (the Page id, or the IG account id; routes entries and is the send path),
//! `base_url` (default `https://graph.facebook.com`; `https://graph.instagram.com` for
//! "Instagram API with Instagram Login"), `api_version` (default `v23.0`).
//!
//! Routing: one Meta callback URL serves every Page and IG account of the app. The server reads
//! [`route_keys`] (object + `entry.id`) to pick the inbox, verifies with that inbox's app secret,
//! and `parse` keeps only entries for the inbox's `page_id`. [`parse_routed`] gives each item's
//! account id. Echoes (`is_echo`) and `standby` copies yield nothing. Read/delivery watermarks
//! without message ids are exposed by [`watermarks`].

pub mod send;

#[cfg(feature = "fake")]
pub mod fake;

use async_trait::async_trait;
use jiff::Timestamp;
use prosa_channel::*;
use prosa_channel_whatsapp_cloud::{meta_handshake, verify_meta_signature};
use prosa_domain::message::{Attachment, Location, MessageContent};
use prosa_domain::model::{ChannelKind, DeliveryStatus};
use serde_json::{Value, json};

pub const DEFAULT_BASE_URL: &str = "https://graph.facebook.com";
pub const DEFAULT_API_VERSION: &str = "v23.0";

/// Messenger or Instagram: same wire format, different [`ChannelKind`] and webhook `object`.
#[derive(Debug, Clone)]
pub struct MetaMessagingChannel {
    kind: ChannelKind,
}

impl MetaMessagingChannel {
    pub fn messenger() -> MetaMessagingChannel {
        MetaMessagingChannel {
            kind: ChannelKind::Messenger,
        }
    }
    pub fn instagram() -> MetaMessagingChannel {
        MetaMessagingChannel {
            kind: ChannelKind::Instagram,
        }
    }
    /// The webhook `object` this adapter reads.
    pub fn object(&self) -> &'static str {
        if self.kind == ChannelKind::Instagram {
            "instagram"
        } else {
            "page"
        }
    }
}

pub(crate) fn setting<'a>(settings: &'a Value, key: &str) -> Option<&'a str> {
    settings
        .get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

fn str_of<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer).and_then(Value::as_str)
}

/// Object and account id of each entry of a webhook body: `("page", "<page id>")` or
/// `("instagram", "<ig account id>")`.
pub fn route_keys(body: &[u8]) -> Vec<(String, String)> {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return Vec::new();
    };
    let object = v
        .get("object")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let mut keys: Vec<(String, String)> = Vec::new();
    for e in v
        .get("entry")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let id = match e.get("id") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => continue,
        };
        if !keys.iter().any(|(o, i)| *o == object && *i == id) {
            keys.push((object.clone(), id));
        }
    }
    keys
}

/// An item and the Page/IG account it arrived for.
#[derive(Debug, Clone, PartialEq)]
pub struct RoutedItem {
    pub object: String,
    pub account_id: String,
    pub item: InboundItem,
}

/// A delivery or read watermark: every message sent to `sender` before `watermark` reached that state.
#[derive(Debug, Clone, PartialEq)]
pub struct Watermark {
    pub account_id: String,
    pub sender: String,
    pub status: DeliveryStatus,
    pub watermark: Timestamp,
}

fn ms(v: Option<&Value>) -> Option<Timestamp> {
    v.and_then(Value::as_i64)
        .and_then(|m| Timestamp::from_millisecond(m).ok())
}

fn attachment_content(a: &Value, c: &mut MessageContent) {
    let kind = a.get("type").and_then(Value::as_str).unwrap_or("unknown");
    let url = str_of(a, "/payload/url").map(str::to_owned);
    let mapped = match kind {
        "image" => Some("image"),
        "video" => Some("video"),
        "audio" => Some("audio"),
        "file" => Some("document"),
        _ => None,
    };
    if kind == "location"
        && let (Some(latitude), Some(longitude)) = (
            a.pointer("/payload/coordinates/lat")
                .and_then(Value::as_f64),
            a.pointer("/payload/coordinates/long")
                .and_then(Value::as_f64),
        )
    {
        c.location = Some(Location {
            latitude,
            longitude,
            name: str_of(a, "/title").map(str::to_owned),
        });
        return;
    }
    match (mapped, url) {
        (Some(k), Some(url)) => c.attachments.push(Attachment {
            kind: if a.pointer("/payload/sticker_id").is_some() {
                "sticker".into()
            } else {
                k.into()
            },
            file_name: str_of(a, "/payload/title")
                .or_else(|| str_of(a, "/title"))
                .map(str::to_owned),
            mime_type: None,
            stored_path: None,
            url: Some(url),
            size: None,
        }),
        _ => {
            if c.unsupported.is_none() {
                c.unsupported = Some(format!("attachment.{kind}"));
            }
        }
    }
}

/// Maps a `message` object (not an echo) to content.
pub fn message_content(m: &Value) -> MessageContent {
    let mut c = MessageContent {
        text: str_of(m, "/text").map(str::to_owned),
        selected_option: str_of(m, "/quick_reply/payload").map(str::to_owned),
        ..MessageContent::default()
    };
    for a in m
        .get("attachments")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        attachment_content(a, &mut c);
    }
    // Text wins over an unsupported attachment (story replies, shares carry text too).
    if c.text.is_some() && c.attachments.is_empty() && c.location.is_none() {
        c.unsupported = None;
    }
    if c.text.is_none()
        && c.attachments.is_empty()
        && c.location.is_none()
        && c.unsupported.is_none()
    {
        c.unsupported = Some("message".into());
    }
    c
}

struct Parsed {
    object: String,
    items: Vec<RoutedItem>,
    watermarks: Vec<Watermark>,
}

fn parse_all(body: &[u8]) -> Result<Parsed, ParseError> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| ParseError::new("body", format!("malformed JSON: {e}")))?;
    let object = v
        .get("object")
        .and_then(Value::as_str)
        .ok_or_else(|| ParseError::new("object", "is required"))?
        .to_owned();
    let entries = v
        .get("entry")
        .and_then(Value::as_array)
        .ok_or_else(|| ParseError::new("entry", "must be an array"))?;
    let mut out = Parsed {
        object: object.clone(),
        items: Vec::new(),
        watermarks: Vec::new(),
    };
    for (ei, entry) in entries.iter().enumerate() {
        let account_id = match entry.get("id") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => return Err(ParseError::new(format!("entry[{ei}].id"), "is required")),
        };
        if entry.get("standby").is_some() {
            tracing::debug!(
                account_id,
                "meta: standby events ignored (another app owns the thread)"
            );
        }
        for (mi, ev) in entry
            .get("messaging")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let path = format!("entry[{ei}].messaging[{mi}]");
            let sender = str_of(ev, "/sender/id")
                .ok_or_else(|| ParseError::new(format!("{path}.sender.id"), "is required"))?
                .to_owned();
            let at = ms(ev.get("timestamp"));
            let contact = || ExternalContact {
                external_id: sender.clone(),
                name: None,
                phone: None,
                meta: Some(json!({"object": object, "account_id": account_id})),
            };
            let mut push = |item: InboundItem| {
                out.items.push(RoutedItem {
                    object: object.clone(),
                    account_id: account_id.clone(),
                    item,
                })
            };
            if let Some(m) = ev.get("message") {
                if m.get("is_echo").and_then(Value::as_bool) == Some(true) {
                    continue;
                }
                let mid = str_of(m, "/mid")
                    .ok_or_else(|| ParseError::new(format!("{path}.message.mid"), "is required"))?;
                push(InboundItem::Message(InboundMessage {
                    provider_message_id: mid.to_owned(),
                    from: contact(),
                    content: message_content(m),
                    sent_at: at,
                }));
            } else if let Some(p) = ev.get("postback") {
                let id = str_of(p, "/mid").map(str::to_owned).unwrap_or_else(|| {
                    format!(
                        "postback:{sender}:{}",
                        ev.get("timestamp").cloned().unwrap_or(Value::Null)
                    )
                });
                let content = MessageContent {
                    text: str_of(p, "/title").map(str::to_owned),
                    selected_option: str_of(p, "/payload").map(str::to_owned),
                    ..MessageContent::default()
                };
                push(InboundItem::Message(InboundMessage {
                    provider_message_id: id,
                    from: contact(),
                    content,
                    sent_at: at,
                }));
            } else if let Some(d) = ev.get("delivery") {
                for mid in d
                    .get("mids")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                {
                    push(InboundItem::Status(StatusUpdate {
                        provider_message_id: mid.to_owned(),
                        status: DeliveryStatus::Delivered,
                        error: None,
                        at,
                    }));
                }
                if let Some(w) = ms(d.get("watermark")) {
                    out.watermarks.push(Watermark {
                        account_id: account_id.clone(),
                        sender: sender.clone(),
                        status: DeliveryStatus::Delivered,
                        watermark: w,
                    });
                }
            } else if let Some(r) = ev.get("read") {
                if let Some(mid) = str_of(r, "/mid") {
                    push(InboundItem::Status(StatusUpdate {
                        provider_message_id: mid.to_owned(),
                        status: DeliveryStatus::Read,
                        error: None,
                        at,
                    }));
                }
                if let Some(w) = ms(r.get("watermark")) {
                    out.watermarks.push(Watermark {
                        account_id: account_id.clone(),
                        sender: sender.clone(),
                        status: DeliveryStatus::Read,
                        watermark: w,
                    });
                }
            } else if let Some(r) = ev.get("reaction") {
                let mid = str_of(r, "/mid").unwrap_or("");
                let action = str_of(r, "/action").unwrap_or("react");
                let id = format!(
                    "reaction:{mid}:{sender}:{action}:{}",
                    ev.get("timestamp").cloned().unwrap_or(Value::Null)
                );
                push(InboundItem::Message(InboundMessage {
                    provider_message_id: id,
                    from: contact(),
                    content: MessageContent {
                        unsupported: Some("reaction".into()),
                        ..MessageContent::default()
                    },
                    sent_at: at,
                }));
            } else {
                tracing::debug!(
                    path,
                    "meta: messaging event without a subscriber message ignored"
                );
            }
        }
    }
    Ok(out)
}

/// Every item with its account id, for all entries.
pub fn parse_routed(body: &[u8]) -> Result<Vec<RoutedItem>, ParseError> {
    parse_all(body).map(|p| p.items)
}

/// Delivery/read watermarks in a body (events that name no message id).
pub fn watermarks(body: &[u8]) -> Vec<Watermark> {
    parse_all(body).map(|p| p.watermarks).unwrap_or_default()
}

#[async_trait]
impl ChannelAdapter for MetaMessagingChannel {
    fn kind(&self) -> ChannelKind {
        self.kind
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
        let page = setting(settings, "page_id");
        let parsed = parse_all(request.body)?;
        let mine = |object: &str, account: &str| {
            object == self.object() && page.is_none_or(|p| p == account)
        };
        let mut items: Vec<InboundItem> = parsed
            .items
            .into_iter()
            .filter(|r| mine(&r.object, &r.account_id))
            .map(|r| r.item)
            .collect();
        // Receipts that name no message (Messenger's watermarks) apply to everything sent
        // to that person up to their time.
        items.extend(
            parsed
                .watermarks
                .into_iter()
                .filter(|w| mine(&parsed.object, &w.account_id))
                .map(|w| {
                    InboundItem::Watermark(WatermarkUpdate {
                        external_id: w.sender,
                        status: w.status,
                        up_to: w.watermark,
                    })
                }),
        );
        Ok(items)
    }

    fn handshake(
        &self,
        settings: &Value,
        query: Option<&str>,
    ) -> Option<Result<String, VerifyError>> {
        Some(meta_handshake(setting(settings, "verify_token"), query))
    }

    fn ack_body(&self) -> &'static str {
        "EVENT_RECEIVED"
    }

    async fn send(
        &self,
        ctx: &SendContext,
        message: &OutboundMessage,
    ) -> Result<SendReceipt, SendError> {
        send::send(
            ctx,
            message,
            Timestamp::now(),
            self.kind == ChannelKind::Instagram,
        )
        .await
    }
}
