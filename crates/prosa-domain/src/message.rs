//! Message content and the stored message.

use crate::ids::*;
use crate::model::{AuthorKind, DeliveryStatus, Direction};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// A choice offered to the subscriber (button, list row, quick reply, inline key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageOption {
    pub id: String,
    pub label: String,
}

/// A file attached to a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// `image`, `audio`, `video`, `document`, `sticker`.
    pub kind: String,
    pub file_name: Option<String>,
    pub mime_type: Option<String>,
    /// Where Prosa keeps the file (a path under the data folder) once downloaded.
    pub stored_path: Option<String>,
    /// A URL the file can be fetched from (the invoice PDF, a provider media id).
    pub url: Option<String>,
    pub size: Option<u64>,
}

/// What a message carries. Every field is optional so that unknown provider shapes are still
/// stored (as `unsupported`) rather than rejected.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MessageContent {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Options offered with an outgoing message.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<MessageOption>,
    /// The option a subscriber picked (button or list answer), when the channel says so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selected_option: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Attachment>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    /// Set when the provider sent a type Prosa does not understand; holds the type name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unsupported: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Location {
    pub latitude: f64,
    pub longitude: f64,
    pub name: Option<String>,
}

impl MessageContent {
    pub fn text(text: impl Into<String>) -> MessageContent {
        MessageContent {
            text: Some(text.into()),
            ..MessageContent::default()
        }
    }

    pub fn with_options(mut self, options: Vec<MessageOption>) -> MessageContent {
        self.options = options;
        self
    }

    /// A one-line preview for lists and notifications.
    pub fn preview(&self) -> String {
        if let Some(t) = &self.text {
            return t.chars().take(120).collect();
        }
        if let Some(a) = self.attachments.first() {
            return format!("[{}]", a.kind);
        }
        if self.location.is_some() {
            return "[localização]".to_owned();
        }
        if let Some(u) = &self.unsupported {
            return format!("[mensagem não suportada: {u}]");
        }
        String::new()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Message {
    pub id: MessageId,
    pub conversation_id: ConversationId,
    pub inbox_id: InboxId,
    pub direction: Direction,
    pub author_kind: AuthorKind,
    pub author_id: Option<UserId>,
    /// A private note: operators only, never sent to the subscriber.
    pub private: bool,
    pub content: MessageContent,
    pub provider_message_id: Option<String>,
    pub delivery_status: Option<DeliveryStatus>,
    pub delivery_error: Option<String>,
    /// When the provider says the message was sent (incoming) or when Prosa created it.
    pub sent_at: Timestamp,
    pub created_at: Timestamp,
}
