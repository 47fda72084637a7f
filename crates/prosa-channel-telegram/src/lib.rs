//! Telegram Bot API adapter: pure translation, no storage.
//!
//! Inbox settings (JSON): `bot_token`, `secret_token` (the webhook's `X-Telegram-Bot-Api-Secret-Token`,
//! 1–256 chars of `[A-Za-z0-9_-]`), `base_url` (default `https://api.telegram.org`).
//!
//! - Dedupe: `provider_message_id` is the `update_id` (also for callbacks and edits).
//! - `external_id` is the chat id (what `sendMessage` needs); identity meta holds `chat_id`,
//!   `user_id`, `username` and, on messages, `message_id`.
//! - Callback queries become a message with `selected_option` = the callback data and
//!   `text` = the pressed button's label; the server must then call [`answer_callback_query`]
//!   with [`callback_query_id`] (or [`callback_query_ids`] on the raw body), or the client keeps a spinner.
//! - Option ids longer than 64 bytes are sent as `~<32 hex>` ([`callback_data_for`]); map a
//!   selection back with [`resolve_option`].
//! - Media attachments carry `url = "telegram-file:<file_id>"`; see [`api::get_file`].

pub mod api;
pub mod rate;

#[cfg(feature = "fake")]
pub mod fake;

use async_trait::async_trait;
use jiff::Timestamp;
use prosa_channel::signature::secrets_equal;
use prosa_channel::*;
use prosa_domain::message::{Attachment, Location, MessageContent, MessageOption};
use prosa_domain::model::ChannelKind;
use serde_json::{Value, json};

pub use api::{
    Poller, TelegramError, answer_callback_query, delete_webhook, get_file, get_updates,
    set_webhook,
};
pub use rate::chat_pace;

pub const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";
pub const DEFAULT_BASE_URL: &str = "https://api.telegram.org";
pub const FILE_URL_PREFIX: &str = "telegram-file:";
pub const MAX_CALLBACK_DATA: usize = 64;

#[derive(Debug, Clone, Default)]
pub struct TelegramChannel;

impl TelegramChannel {
    pub fn new() -> TelegramChannel {
        TelegramChannel
    }
}

pub(crate) fn setting<'a>(settings: &'a Value, key: &str) -> Option<&'a str> {
    settings
        .get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// The `callback_data` for an option id: the id itself when it fits in 64 bytes (and does
/// not start with `~`), otherwise `~` plus 32 hex characters of its SHA-256.
pub fn callback_data_for(id: &str) -> String {
    if !id.is_empty() && id.len() <= MAX_CALLBACK_DATA && !id.starts_with('~') {
        return id.to_owned();
    }
    use sha2::Digest;
    let digest = hex::encode(sha2::Sha256::digest(id.as_bytes()));
    format!("~{}", &digest[..32])
}

/// The offered option a callback's data designates.
pub fn resolve_option<'a>(
    selected: &str,
    options: &'a [MessageOption],
) -> Option<&'a MessageOption> {
    options
        .iter()
        .find(|o| callback_data_for(&o.id) == selected)
}

fn str_of<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer).and_then(Value::as_str)
}

fn file_attachment(kind: &str, f: &Value) -> Attachment {
    Attachment {
        kind: kind.to_owned(),
        file_name: str_of(f, "/file_name").map(str::to_owned),
        mime_type: str_of(f, "/mime_type").map(str::to_owned),
        stored_path: None,
        url: str_of(f, "/file_id").map(|id| format!("{FILE_URL_PREFIX}{id}")),
        size: f.get("file_size").and_then(Value::as_u64),
    }
}

/// Maps a Telegram `Message` to content.
pub fn message_content(m: &Value) -> MessageContent {
    let mut c = MessageContent {
        text: str_of(m, "/text")
            .or_else(|| str_of(m, "/caption"))
            .map(str::to_owned),
        ..MessageContent::default()
    };
    if let Some(sizes) = m.get("photo").and_then(Value::as_array) {
        // Smallest first: keep the largest.
        if let Some(largest) = sizes.last() {
            let mut a = file_attachment("image", largest);
            a.mime_type.get_or_insert_with(|| "image/jpeg".into());
            c.attachments.push(a);
        }
    }
    for (field, kind) in [
        ("voice", "audio"),
        ("audio", "audio"),
        ("video", "video"),
        ("video_note", "video"),
        ("document", "document"),
        ("sticker", "sticker"),
        ("animation", "video"),
    ] {
        if let Some(f) = m.get(field) {
            if field == "document" && m.get("animation").is_some() {
                continue;
            }
            c.attachments.push(file_attachment(kind, f));
        }
    }
    if let Some(l) = m.get("location")
        && let (Some(latitude), Some(longitude)) = (
            l.get("latitude").and_then(Value::as_f64),
            l.get("longitude").and_then(Value::as_f64),
        )
    {
        let name = str_of(m, "/venue/title").map(str::to_owned);
        c.location = Some(Location {
            latitude,
            longitude,
            name,
        });
    }
    if let Some(ct) = m.get("contact") {
        let name = [str_of(ct, "/first_name"), str_of(ct, "/last_name")]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        c.text = Some(format!(
            "[contato] {}: {}",
            name,
            str_of(ct, "/phone_number").unwrap_or("")
        ));
    }
    if c.text.is_none() && c.attachments.is_empty() && c.location.is_none() {
        let known = [
            "message_id",
            "from",
            "chat",
            "date",
            "sender_chat",
            "message_thread_id",
            "reply_to_message",
            "entities",
            "edit_date",
            "forward_origin",
            "is_topic_message",
        ];
        let kind = m
            .as_object()
            .and_then(|o| o.keys().find(|k| !known.contains(&k.as_str())).cloned())
            .unwrap_or_else(|| "unknown".into());
        c.unsupported = Some(kind);
    }
    c
}

fn contact_of(m: &Value, from: Option<&Value>) -> Option<ExternalContact> {
    let chat_id = m
        .pointer("/chat/id")
        .and_then(Value::as_i64)
        .or_else(|| from.and_then(|f| f.get("id")).and_then(Value::as_i64))?;
    let user = from.or_else(|| m.get("from"));
    let name = user
        .map(|u| {
            [str_of(u, "/first_name"), str_of(u, "/last_name")]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ")
        })
        .filter(|n| !n.is_empty())
        .or_else(|| str_of(m, "/chat/title").map(str::to_owned));
    let user_id = user.and_then(|u| u.get("id")).and_then(Value::as_i64);
    // A shared contact of the sender themself gives the phone.
    let phone = m
        .get("contact")
        .filter(|c| {
            c.get("user_id").and_then(Value::as_i64).is_some()
                && c.get("user_id").and_then(Value::as_i64) == user_id
        })
        .and_then(|c| str_of(c, "/phone_number"))
        .map(|p| {
            if p.starts_with('+') {
                p.to_owned()
            } else {
                format!("+{p}")
            }
        });
    let mut meta = json!({"chat_id": chat_id});
    if let Some(u) = user_id {
        meta["user_id"] = json!(u);
    }
    if let Some(u) = user.and_then(|u| str_of(u, "/username")) {
        meta["username"] = json!(u);
    }
    if let Some(id) = m.get("message_id").and_then(Value::as_i64) {
        meta["message_id"] = json!(id);
    }
    Some(ExternalContact {
        external_id: chat_id.to_string(),
        name,
        phone,
        meta: Some(meta),
    })
}

/// Reads one `Update`. Kinds without a subscriber message (`my_chat_member`, `poll`...) yield no
/// item; unknown kinds carrying a chat yield an `unsupported` message.
pub fn parse_update(v: &Value) -> Result<Vec<InboundItem>, ParseError> {
    let update_id = v
        .get("update_id")
        .and_then(Value::as_i64)
        .ok_or_else(|| ParseError::new("update_id", "is required and must be an integer"))?;
    let id = update_id.to_string();
    let ts = |m: &Value| {
        m.get("date")
            .and_then(Value::as_i64)
            .filter(|d| *d > 0)
            .and_then(|d| Timestamp::from_second(d).ok())
    };
    for field in [
        "message",
        "edited_message",
        "business_message",
        "edited_business_message",
    ] {
        if let Some(m) = v.get(field) {
            let mut from = contact_of(m, None)
                .ok_or_else(|| ParseError::new(format!("{field}.chat.id"), "is required"))?;
            if field.starts_with("edited")
                && let Some(meta) = from.meta.as_mut()
            {
                meta["edited"] = json!(true);
            }
            return Ok(vec![InboundItem::Message(InboundMessage {
                provider_message_id: id,
                from,
                content: message_content(m),
                sent_at: ts(m),
            })]);
        }
    }
    if let Some(q) = v.get("callback_query") {
        let query_id =
            str_of(q, "/id").ok_or_else(|| ParseError::new("callback_query.id", "is required"))?;
        let user = q
            .get("from")
            .ok_or_else(|| ParseError::new("callback_query.from", "is required"))?;
        let msg = q.get("message").cloned().unwrap_or(Value::Null);
        let mut from = contact_of(&msg, Some(user))
            .ok_or_else(|| ParseError::new("callback_query.from.id", "is required"))?;
        if let Some(meta) = from.meta.as_mut() {
            meta["callback_query_id"] = json!(query_id);
        }
        let data = str_of(q, "/data").map(str::to_owned);
        let label = data.as_deref().and_then(|d| {
            msg.pointer("/reply_markup/inline_keyboard")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_array)
                .flatten()
                .find(|b| str_of(b, "/callback_data") == Some(d))
                .and_then(|b| str_of(b, "/text"))
                .map(str::to_owned)
        });
        let content = match data {
            Some(d) => MessageContent {
                text: label,
                selected_option: Some(d),
                ..MessageContent::default()
            },
            None => MessageContent {
                unsupported: Some("callback_query.game".into()),
                ..MessageContent::default()
            },
        };
        return Ok(vec![InboundItem::Message(InboundMessage {
            provider_message_id: id,
            from,
            content,
            sent_at: None,
        })]);
    }
    let kind = v
        .as_object()
        .and_then(|o| o.keys().find(|k| k.as_str() != "update_id").cloned())
        .unwrap_or_else(|| "empty".into());
    if matches!(
        kind.as_str(),
        "my_chat_member"
            | "chat_member"
            | "chat_join_request"
            | "poll"
            | "poll_answer"
            | "message_reaction_count"
    ) {
        tracing::debug!(kind, "telegram: update without a subscriber message");
        return Ok(Vec::new());
    }
    let inner = v.get(&kind).cloned().unwrap_or(Value::Null);
    match contact_of(&inner, inner.get("from")) {
        Some(from) => Ok(vec![InboundItem::Message(InboundMessage {
            provider_message_id: id,
            from,
            content: MessageContent {
                unsupported: Some(kind),
                ..MessageContent::default()
            },
            sent_at: ts(&inner),
        })]),
        None => Ok(Vec::new()),
    }
}

/// Reads a webhook body (one `Update`).
pub fn parse_body(body: &[u8]) -> Result<Vec<InboundItem>, ParseError> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| ParseError::new("body", format!("malformed JSON: {e}")))?;
    parse_update(&v)
}

/// A private chat's block state changed (`my_chat_member`): `blocked = true` when the subscriber
/// blocked the bot (mark the identity unreachable), `false` when they unblocked it.
pub fn chat_block_change(body: &[u8]) -> Option<(i64, bool)> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let m = v.get("my_chat_member")?;
    if str_of(m, "/chat/type") != Some("private") {
        return None;
    }
    let chat = m.pointer("/chat/id").and_then(Value::as_i64)?;
    match str_of(m, "/new_chat_member/status")? {
        "kicked" => Some((chat, true)),
        "member" => Some((chat, false)),
        _ => None,
    }
}

/// The callback query id an inbound item carries, to pass to [`answer_callback_query`].
pub fn callback_query_id(item: &InboundItem) -> Option<&str> {
    match item {
        InboundItem::Message(m) => m.from.meta.as_ref()?.get("callback_query_id")?.as_str(),
        InboundItem::Status(_) | InboundItem::Watermark(_) => None,
    }
}

/// The callback query ids in a raw webhook body.
pub fn callback_query_ids(body: &[u8]) -> Vec<String> {
    parse_body(body)
        .unwrap_or_default()
        .iter()
        .filter_map(callback_query_id)
        .map(str::to_owned)
        .collect()
}

#[async_trait]
impl ChannelAdapter for TelegramChannel {
    fn kind(&self) -> ChannelKind {
        ChannelKind::Telegram
    }

    async fn verify(
        &self,
        settings: &Value,
        request: &InboundRequest<'_>,
    ) -> Result<(), VerifyError> {
        let expected = setting(settings, "secret_token")
            .ok_or_else(|| VerifyError::Misconfigured("secret_token".into()))?;
        let given = request
            .headers
            .get(SECRET_HEADER)
            .and_then(|h| h.to_str().ok())
            .ok_or(VerifyError::Missing)?;
        if secrets_equal(given, expected) {
            Ok(())
        } else {
            Err(VerifyError::Mismatch)
        }
    }

    fn parse(
        &self,
        _settings: &Value,
        request: &InboundRequest<'_>,
    ) -> Result<Vec<InboundItem>, ParseError> {
        parse_body(request.body)
    }

    /// About one message per second per private chat, 20 per minute per group.
    fn pace(&self, to: &str) -> Option<std::time::Duration> {
        Some(chat_pace(to))
    }

    async fn send(
        &self,
        ctx: &SendContext,
        message: &OutboundMessage,
    ) -> Result<SendReceipt, SendError> {
        api::send(ctx, message).await
    }
}
