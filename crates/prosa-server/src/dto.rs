//! Our API's wire shapes (REST and WebSocket). Separate from domain types so that the wire
//! changes only on purpose.

use jiff::Timestamp;
use prosa_domain::message::{Attachment, Message, MessageContent, MessageOption};
use prosa_domain::model::*;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MessageDto {
    pub id: String,
    pub conversation_id: String,
    /// `incoming` or `outgoing`.
    pub direction: String,
    /// `contact`, `agent`, `bot` or `system`.
    pub author: String,
    pub author_id: Option<String>,
    /// A private note, never sent to the subscriber.
    pub private: bool,
    pub text: Option<String>,
    #[schema(value_type = Vec<Object>)]
    pub options: Vec<MessageOption>,
    pub selected_option: Option<String>,
    #[schema(value_type = Vec<Object>)]
    pub attachments: Vec<Attachment>,
    /// A shared location (latitude, longitude, name).
    #[schema(value_type = Option<Object>)]
    pub location: Option<prosa_domain::message::Location>,
    pub unsupported: Option<String>,
    pub provider_message_id: Option<String>,
    /// `queued`, `sent`, `delivered`, `read` or `failed` (outgoing public messages).
    pub delivery_status: Option<String>,
    pub delivery_error: Option<String>,
    #[schema(value_type = String)]
    pub sent_at: Timestamp,
    #[schema(value_type = String)]
    pub created_at: Timestamp,
}

impl From<&Message> for MessageDto {
    fn from(m: &Message) -> MessageDto {
        let MessageContent {
            text,
            options,
            selected_option,
            attachments,
            location,
            unsupported,
        } = m.content.clone();
        MessageDto {
            id: m.id.0.to_string(),
            conversation_id: m.conversation_id.0.to_string(),
            direction: m.direction.as_str().to_owned(),
            author: m.author_kind.as_str().to_owned(),
            author_id: m.author_id.map(|u| u.0.to_string()),
            private: m.private,
            text,
            options,
            selected_option,
            attachments,
            location,
            unsupported,
            provider_message_id: m.provider_message_id.clone(),
            delivery_status: m.delivery_status.map(|s| s.as_str().to_owned()),
            delivery_error: m.delivery_error.clone(),
            sent_at: m.sent_at,
            created_at: m.created_at,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConversationDto {
    pub id: String,
    pub inbox_id: String,
    pub contact_id: String,
    /// `bot`, `waiting`, `open` or `resolved`.
    pub status: String,
    pub assignee_id: Option<String>,
    pub team_id: Option<String>,
    pub category_id: Option<String>,
    #[schema(value_type = String)]
    pub created_at: Timestamp,
    #[schema(value_type = Option<String>)]
    pub waiting_since: Option<Timestamp>,
    #[schema(value_type = Option<String>)]
    pub first_response_at: Option<Timestamp>,
    #[schema(value_type = Option<String>)]
    pub resolved_at: Option<Timestamp>,
    #[schema(value_type = Option<String>)]
    pub last_message_at: Option<Timestamp>,
}

impl From<&Conversation> for ConversationDto {
    fn from(c: &Conversation) -> ConversationDto {
        ConversationDto {
            id: c.id.0.to_string(),
            inbox_id: c.inbox_id.0.to_string(),
            contact_id: c.contact_id.0.to_string(),
            status: c.status.as_str().to_owned(),
            assignee_id: c.assignee_id.map(|u| u.0.to_string()),
            team_id: c.team_id.map(|t| t.0.to_string()),
            category_id: c.category_id.map(|t| t.0.to_string()),
            created_at: c.created_at,
            waiting_since: c.waiting_since,
            first_response_at: c.first_response_at,
            resolved_at: c.resolved_at,
            last_message_at: c.last_message_at,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InboxDto {
    pub id: String,
    pub name: String,
    pub channel: ChannelDto,
    pub team_id: Option<String>,
    pub bot_enabled: bool,
    pub active: bool,
    /// Where the provider must send webhooks.
    pub webhook_url: String,
    #[schema(value_type = String)]
    pub created_at: Timestamp,
}

/// The channel's settings with every secret replaced by a hint.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChannelDto {
    pub kind: String,
    #[schema(value_type = Object)]
    #[serde(flatten)]
    pub settings: serde_json::Map<String, serde_json::Value>,
}

/// Setting names that hold secrets: never returned, only a masked hint.
pub const SECRET_SETTINGS: &[&str] = &[
    "secret",
    "token",
    "access_token",
    "app_secret",
    "verify_token",
    "api_key",
    "app_password",
    "password",
    "bot_token",
    "page_access_token",
    "secret_token",
    "webhook_jwt_key",
    "webhook_token",
    "identity_secret",
];

pub fn masked_settings(settings: &serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
    let mut out = serde_json::Map::new();
    if let serde_json::Value::Object(map) = settings {
        for (k, v) in map {
            if SECRET_SETTINGS.contains(&k.as_str()) {
                let hint = v.as_str().map(|s| {
                    format!(
                        "…{}",
                        s.chars()
                            .rev()
                            .take(2)
                            .collect::<Vec<_>>()
                            .into_iter()
                            .rev()
                            .collect::<String>()
                    )
                });
                out.insert(
                    format!("{k}_set"),
                    serde_json::json!(v.as_str().is_some_and(|s| !s.is_empty())),
                );
                if let Some(h) = hint
                    && v.as_str().is_some_and(|s| s.len() >= 12)
                {
                    out.insert(format!("{k}_hint"), serde_json::json!(h));
                }
            } else {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    out
}

pub fn inbox_dto(inbox: &Inbox, public_base: &str) -> InboxDto {
    InboxDto {
        id: inbox.id.0.to_string(),
        name: inbox.name.clone(),
        channel: ChannelDto {
            kind: inbox.kind.as_str().to_owned(),
            settings: masked_settings(&inbox.settings),
        },
        team_id: inbox.team_id.map(|t| t.0.to_string()),
        bot_enabled: inbox.bot_enabled,
        active: inbox.active,
        webhook_url: format!(
            "{}/webhooks/{}/{}",
            public_base.trim_end_matches('/'),
            webhook_segment(inbox.kind),
            inbox.id.0
        ),
        created_at: inbox.created_at,
    }
}

/// The path segment of a channel kind's webhook.
pub fn webhook_segment(kind: ChannelKind) -> &'static str {
    match kind {
        ChannelKind::Api => "api",
        ChannelKind::WhatsappCloud => "whatsapp",
        ChannelKind::WhatsappEvolution => "evolution",
        ChannelKind::Telegram => "telegram",
        ChannelKind::Messenger | ChannelKind::Instagram => "meta",
        ChannelKind::BotFramework => "botframework",
        ChannelKind::WebChat => "webchat",
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ContactDto {
    pub id: String,
    pub name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    /// CPF/CNPJ masked (`***.982.247-**`).
    pub document: Option<String>,
    #[schema(value_type = String)]
    pub created_at: Timestamp,
}

impl From<&Contact> for ContactDto {
    fn from(c: &Contact) -> ContactDto {
        ContactDto {
            id: c.id.0.to_string(),
            name: c.name.clone(),
            phone: c.phone.clone(),
            email: c.email.clone(),
            document: c.document.as_deref().map(|d| {
                prosa_br::Document::parse(d)
                    .map(|d| d.masked())
                    .unwrap_or_else(|_| "***".into())
            }),
            created_at: c.created_at,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UserDto {
    pub id: String,
    pub email: String,
    pub name: String,
    /// `agent`, `supervisor` or `admin`.
    pub role: String,
    pub active: bool,
    pub presence: String,
    pub pause_reason: Option<String>,
    pub team_ids: Vec<String>,
}

impl From<&User> for UserDto {
    fn from(u: &User) -> UserDto {
        UserDto {
            id: u.id.0.to_string(),
            email: u.email.clone(),
            name: u.name.clone(),
            role: u.role.as_str().to_owned(),
            active: u.active,
            presence: u.presence.as_str().to_owned(),
            pause_reason: u.pause_reason.clone(),
            team_ids: u.team_ids.iter().map(|t| t.0.to_string()).collect(),
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TeamDto {
    pub id: String,
    pub name: String,
}
