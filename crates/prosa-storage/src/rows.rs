//! Row shapes shared by both backends and their conversion into domain types.

use crate::{StorageError, ts};
use prosa_domain::message::{Message, MessageContent};
use prosa_domain::model::*;
use prosa_domain::*;

fn parse<T: std::str::FromStr>(what: &str, s: &str) -> Result<T, StorageError> {
    s.parse()
        .map_err(|_| StorageError::Corrupt(format!("{what}: {s:?}")))
}

#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    pub user_id: i64,
    pub email: String,
    pub name: String,
    pub role: String,
    pub active: bool,
    pub presence: String,
    pub pause_reason: Option<String>,
    pub created_at: i64,
}

pub(crate) const USER_COLUMNS: &str =
    "user_id, email, name, role, active, presence, pause_reason, created_at";

impl UserRow {
    pub fn into_user(self, team_ids: Vec<TeamId>) -> Result<User, StorageError> {
        Ok(User {
            id: UserId(self.user_id),
            email: self.email,
            name: self.name,
            role: parse("role", &self.role)?,
            active: self.active,
            presence: parse("presence", &self.presence)?,
            pause_reason: self.pause_reason,
            team_ids,
            created_at: ts(self.created_at),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct InboxRow {
    pub inbox_id: i64,
    pub name: String,
    pub channel_kind: String,
    pub settings: String,
    pub team_id: Option<i64>,
    pub bot_enabled: bool,
    pub active: bool,
    pub created_at: i64,
}

pub(crate) const INBOX_COLUMNS: &str =
    "inbox_id, name, channel_kind, settings, team_id, bot_enabled, active, created_at";

impl TryFrom<InboxRow> for Inbox {
    type Error = StorageError;
    fn try_from(r: InboxRow) -> Result<Inbox, StorageError> {
        Ok(Inbox {
            id: InboxId(r.inbox_id),
            name: r.name,
            kind: parse("channel_kind", &r.channel_kind)?,
            settings: serde_json::from_str(&r.settings)
                .map_err(|e| StorageError::Corrupt(format!("inbox settings: {e}")))?,
            team_id: r.team_id.map(TeamId),
            bot_enabled: r.bot_enabled,
            active: r.active,
            created_at: ts(r.created_at),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct ConversationRow {
    pub conversation_id: i64,
    pub inbox_id: i64,
    pub contact_id: i64,
    pub contact_identity_id: i64,
    pub status: String,
    pub assignee_id: Option<i64>,
    pub team_id: Option<i64>,
    pub category_id: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub first_response_at: Option<i64>,
    pub waiting_since: Option<i64>,
    pub resolved_at: Option<i64>,
    pub last_message_at: Option<i64>,
}

pub(crate) const CONVERSATION_COLUMNS: &str = "conversation_id, inbox_id, contact_id, contact_identity_id, status, assignee_id, team_id, \
     category_id, created_at, updated_at, first_response_at, waiting_since, resolved_at, last_message_at";

impl TryFrom<ConversationRow> for Conversation {
    type Error = StorageError;
    fn try_from(r: ConversationRow) -> Result<Conversation, StorageError> {
        Ok(Conversation {
            id: ConversationId(r.conversation_id),
            inbox_id: InboxId(r.inbox_id),
            contact_id: ContactId(r.contact_id),
            contact_identity_id: ContactIdentityId(r.contact_identity_id),
            status: parse("status", &r.status)?,
            assignee_id: r.assignee_id.map(UserId),
            team_id: r.team_id.map(TeamId),
            category_id: r.category_id.map(CategoryId),
            created_at: ts(r.created_at),
            updated_at: ts(r.updated_at),
            first_response_at: r.first_response_at.map(ts),
            waiting_since: r.waiting_since.map(ts),
            resolved_at: r.resolved_at.map(ts),
            last_message_at: r.last_message_at.map(ts),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct MessageRow {
    pub message_id: i64,
    pub conversation_id: i64,
    pub inbox_id: i64,
    pub direction: String,
    pub author_kind: String,
    pub author_id: Option<i64>,
    pub private: bool,
    pub content: String,
    pub provider_message_id: Option<String>,
    pub delivery_status: Option<String>,
    pub delivery_error: Option<String>,
    pub sent_at: i64,
    pub created_at: i64,
}

pub(crate) const MESSAGE_COLUMNS: &str = "message_id, conversation_id, inbox_id, direction, author_kind, author_id, private, content, \
     provider_message_id, delivery_status, delivery_error, sent_at, created_at";

impl TryFrom<MessageRow> for Message {
    type Error = StorageError;
    fn try_from(r: MessageRow) -> Result<Message, StorageError> {
        let content: MessageContent = serde_json::from_str(&r.content)
            .map_err(|e| StorageError::Corrupt(format!("message content: {e}")))?;
        Ok(Message {
            id: MessageId(r.message_id),
            conversation_id: ConversationId(r.conversation_id),
            inbox_id: InboxId(r.inbox_id),
            direction: parse("direction", &r.direction)?,
            author_kind: parse("author_kind", &r.author_kind)?,
            author_id: r.author_id.map(UserId),
            private: r.private,
            content,
            provider_message_id: r.provider_message_id,
            delivery_status: r
                .delivery_status
                .as_deref()
                .map(|s| parse("delivery_status", s))
                .transpose()?,
            delivery_error: r.delivery_error,
            sent_at: ts(r.sent_at),
            created_at: ts(r.created_at),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct ContactRow {
    pub contact_id: i64,
    pub name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub document: Option<String>,
    pub erp_subscriber_id: Option<String>,
    pub created_at: i64,
}

pub(crate) const CONTACT_COLUMNS: &str =
    "contact_id, name, phone, email, document, erp_subscriber_id, created_at";

impl From<ContactRow> for Contact {
    fn from(r: ContactRow) -> Contact {
        Contact {
            id: ContactId(r.contact_id),
            name: r.name,
            phone: r.phone,
            email: r.email,
            document: r.document,
            erp_subscriber_id: r.erp_subscriber_id,
            created_at: ts(r.created_at),
        }
    }
}
