//! Microsoft Bot Framework (Bot Connector protocol: Teams, Web Chat, Direct Line).
//!
//! Inbox settings (JSON):
//! - `app_id`, `app_password`: the bot's Microsoft App ID and secret.
//! - `openid_metadata_url` (default `https://login.botframework.com/v1/.well-known/openidconfiguration`),
//!   `issuer` (default `https://api.botframework.com`), `token_url` (default the multi-tenant
//!   `https://login.microsoftonline.com/botframework.com/oauth2/v2.0/token`), `token_scope`
//!   (default `https://api.botframework.com/.default`).
//!
//! Inbound: `Authorization: Bearer <JWT>` checked against the OpenID metadata and JWKS (cached
//! 24 h, refreshed early for an unknown `kid` at most every 5 minutes): RS256 only, known `kid`,
//! issuer, audience = app id, `exp`/`nbf` with 5 min leeway, the key's endorsements containing the
//! activity's `channelId`, and the `serviceurl` claim equal to the activity's `serviceUrl`.
//! Identity meta stores `service_url`, `conversation_id`, `channel_id`, `bot` and `user`.
//! Outbound: client-credentials token (cached until 5 min before expiry), `POST
//! {serviceUrl}/v3/conversations/{id}/activities`; the serviceUrl must pass the egress policy.

pub mod auth;
pub mod send;

#[cfg(feature = "fake")]
pub mod fake;

use async_trait::async_trait;
use prosa_channel::egress::EgressPolicy;
use prosa_channel::*;
use prosa_domain::message::{Attachment, MessageContent};
use prosa_domain::model::ChannelKind;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::Mutex;

pub const DEFAULT_OPENID_METADATA_URL: &str =
    "https://login.botframework.com/v1/.well-known/openidconfiguration";
pub const DEFAULT_ISSUER: &str = "https://api.botframework.com";
pub const DEFAULT_TOKEN_URL: &str =
    "https://login.microsoftonline.com/botframework.com/oauth2/v2.0/token";
pub const DEFAULT_TOKEN_SCOPE: &str = "https://api.botframework.com/.default";

/// The adapter. Holds caches (JWKS per metadata URL, tokens per app id), not per-inbox config.
#[derive(Clone)]
pub struct BotFrameworkChannel {
    http: reqwest::Client,
    egress: EgressPolicy,
    keys: Arc<Mutex<HashMap<String, auth::KeyCache>>>,
    tokens: Arc<Mutex<HashMap<(String, String), send::CachedToken>>>,
}

impl BotFrameworkChannel {
    /// `http` is used for OpenID metadata/JWKS fetches (inbound verification).
    pub fn new(http: reqwest::Client, egress: EgressPolicy) -> BotFrameworkChannel {
        BotFrameworkChannel {
            http,
            egress,
            keys: Arc::default(),
            tokens: Arc::default(),
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
    v.pointer(pointer)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

fn selected_from_value(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Object(o) => ["option_id", "id", "option"]
            .iter()
            .find_map(|k| o.get(*k).and_then(Value::as_str))
            .map(str::to_owned),
        _ => None,
    }
}

fn attachment_kind(content_type: &str) -> &'static str {
    if content_type.starts_with("image/") {
        "image"
    } else if content_type.starts_with("audio/") {
        "audio"
    } else if content_type.starts_with("video/") {
        "video"
    } else {
        "document"
    }
}

/// Reads an Activity. `conversationUpdate` and `typing` yield nothing; other non-message types
/// become `unsupported` messages.
pub fn parse_activity(body: &[u8]) -> Result<Vec<InboundItem>, ParseError> {
    let a: Value = serde_json::from_slice(body)
        .map_err(|e| ParseError::new("body", format!("malformed JSON: {e}")))?;
    let kind = str_of(&a, "/type").ok_or_else(|| ParseError::new("type", "is required"))?;
    if matches!(kind, "conversationUpdate" | "typing" | "installationUpdate") {
        return Ok(Vec::new());
    }
    let id = str_of(&a, "/id").ok_or_else(|| ParseError::new("id", "is required"))?;
    let channel =
        str_of(&a, "/channelId").ok_or_else(|| ParseError::new("channelId", "is required"))?;
    let service_url =
        str_of(&a, "/serviceUrl").ok_or_else(|| ParseError::new("serviceUrl", "is required"))?;
    let conversation = str_of(&a, "/conversation/id")
        .ok_or_else(|| ParseError::new("conversation.id", "is required"))?;
    let from_id =
        str_of(&a, "/from/id").ok_or_else(|| ParseError::new("from.id", "is required"))?;
    let mut meta = json!({
        "service_url": service_url, "conversation_id": conversation, "channel_id": channel,
        "bot": a.get("recipient").cloned().unwrap_or(Value::Null),
        "user": {"id": from_id, "name": a.pointer("/from/name").cloned().unwrap_or(Value::Null)},
    });
    if let Some(t) = str_of(&a, "/conversation/tenantId") {
        meta["tenant_id"] = json!(t);
    }
    let mut content = MessageContent::default();
    if kind == "message" {
        content.text = str_of(&a, "/text").map(str::to_owned);
        content.selected_option = a.get("value").and_then(selected_from_value);
        for at in a
            .get("attachments")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let ct = str_of(at, "/contentType").unwrap_or("application/octet-stream");
            if let Some(url) = str_of(at, "/contentUrl") {
                content.attachments.push(Attachment {
                    kind: attachment_kind(ct).into(),
                    file_name: str_of(at, "/name").map(str::to_owned),
                    mime_type: Some(ct.to_owned()),
                    stored_path: None,
                    url: Some(url.to_owned()),
                    size: None,
                });
            }
        }
        if content.text.is_none()
            && content.selected_option.is_none()
            && content.attachments.is_empty()
        {
            content.unsupported = Some("message.card".into());
        }
    } else {
        content.unsupported = Some(kind.to_owned());
    }
    Ok(vec![InboundItem::Message(InboundMessage {
        provider_message_id: format!("{channel}:{conversation}:{id}"),
        from: ExternalContact {
            external_id: from_id.to_owned(),
            name: str_of(&a, "/from/name").map(str::to_owned),
            phone: None,
            meta: Some(meta),
        },
        content,
        sent_at: str_of(&a, "/timestamp").and_then(|t| t.parse().ok()),
    })])
}

#[async_trait]
impl ChannelAdapter for BotFrameworkChannel {
    fn kind(&self) -> ChannelKind {
        ChannelKind::BotFramework
    }

    async fn verify(
        &self,
        settings: &Value,
        request: &InboundRequest<'_>,
    ) -> Result<(), VerifyError> {
        self.verify_request(settings, request, jiff::Timestamp::now().as_second())
            .await
    }

    fn parse(
        &self,
        _settings: &Value,
        request: &InboundRequest<'_>,
    ) -> Result<Vec<InboundItem>, ParseError> {
        parse_activity(request.body)
    }

    async fn send(
        &self,
        ctx: &SendContext,
        message: &OutboundMessage,
    ) -> Result<SendReceipt, SendError> {
        self.send_activity(ctx, message).await
    }
}
