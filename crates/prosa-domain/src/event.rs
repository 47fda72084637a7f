//! Domain events. Each state change appends one to the event log in the same transaction;
//! the log's id is the cursor that WebSocket clients resume from.

use crate::ids::*;
use crate::model::ConversationStatus;
use serde::{Deserialize, Serialize};

/// What happened. Past tense.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DomainEvent {
    ConversationCreated {
        conversation_id: ConversationId,
    },
    ConversationUpdated {
        conversation_id: ConversationId,
    },
    MessageCreated {
        conversation_id: ConversationId,
        message_id: MessageId,
    },
    MessageStatusChanged {
        conversation_id: ConversationId,
        message_id: MessageId,
    },
    NotificationCreated {
        notification_id: NotificationId,
        user_id: UserId,
    },
    UserUpdated {
        user_id: UserId,
    },
    Typing {
        conversation_id: ConversationId,
        author: String,
    },
}

impl DomainEvent {
    pub fn kind(&self) -> &'static str {
        match self {
            DomainEvent::ConversationCreated { .. } => "conversation_created",
            DomainEvent::ConversationUpdated { .. } => "conversation_updated",
            DomainEvent::MessageCreated { .. } => "message_created",
            DomainEvent::MessageStatusChanged { .. } => "message_status_changed",
            DomainEvent::NotificationCreated { .. } => "notification_created",
            DomainEvent::UserUpdated { .. } => "user_updated",
            DomainEvent::Typing { .. } => "typing",
        }
    }

    pub fn conversation_id(&self) -> Option<ConversationId> {
        match self {
            DomainEvent::ConversationCreated { conversation_id }
            | DomainEvent::ConversationUpdated { conversation_id }
            | DomainEvent::MessageCreated {
                conversation_id, ..
            }
            | DomainEvent::MessageStatusChanged {
                conversation_id, ..
            }
            | DomainEvent::Typing {
                conversation_id, ..
            } => Some(*conversation_id),
            DomainEvent::NotificationCreated { .. } | DomainEvent::UserUpdated { .. } => None,
        }
    }
}

/// An event as stored, with what is needed to decide who may see it without a query.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredEvent {
    pub id: EventId,
    pub event: DomainEvent,
    /// The conversation's owner and team when the event was written.
    pub status: Option<ConversationStatus>,
    pub assignee_id: Option<UserId>,
    pub team_id: Option<TeamId>,
    /// For user-addressed events (notifications): only this user sees it.
    pub user_id: Option<UserId>,
    pub created_at: jiff::Timestamp,
}
