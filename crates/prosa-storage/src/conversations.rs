//! Conversations, contacts and messages.

use crate::events::{EventScope, append_event};
use crate::rows::*;
use crate::*;
use prosa_domain::event::DomainEvent;
use prosa_domain::message::{Message, MessageContent};
use prosa_domain::model::{AuthorKind, ChannelKind, Contact, Conversation, ConversationStatus};
use prosa_domain::*;

/// The event scope of a conversation, read inside a transaction.
macro_rules! scope_of {
    ($tx:ident, $conversation_id:expr) => {{
        let row: Option<(String, Option<i64>, Option<i64>)> = sqlx::query_as(
            "SELECT status, assignee_id, team_id FROM conversation WHERE conversation_id = $1",
        )
        .bind($conversation_id)
        .fetch_optional(&mut *$tx)
        .await?;
        match row {
            None => $crate::events::EventScope::default(),
            Some((status, assignee, team)) => $crate::events::EventScope {
                status: status.parse().ok(),
                assignee_id: assignee.map(prosa_domain::UserId),
                team_id: team.map(prosa_domain::TeamId),
                user_id: None,
            },
        }
    }};
}
pub(crate) use scope_of;

/// Inside a transaction: an outgoing public message written by `$author` (`'bot'`, `'system'`)
/// with its outbox row and its `MessageCreated` event. Evaluates to the message id. The caller
/// notifies the outbox after the commit (`pg_notify` is sent here on PostgreSQL).
macro_rules! enqueue_reply {
    ($tx:ident, $pg:ident, $conversation_id:expr, $inbox_id:expr, $author:expr, $content_json:expr, $now:expr) => {{
        let conversation_id: prosa_domain::ConversationId = $conversation_id;
        let inbox_id: i64 = $inbox_id;
        let now: i64 = $now;
        let (mid,): (i64,) = sqlx::query_as(
            "INSERT INTO message (conversation_id, inbox_id, direction, author_kind, private, content, delivery_status, sent_at, created_at, updated_at) \
             VALUES ($1, $2, 'outgoing', $3, FALSE, $4, 'queued', $5, $5, $5) RETURNING message_id",
        )
        .bind(conversation_id.0).bind(inbox_id).bind($author).bind($content_json).bind(now)
        .fetch_one(&mut *$tx).await?;
        sqlx::query("INSERT INTO outbox (message_id, inbox_id, conversation_id, status, attempts, next_attempt_at, created_at, updated_at) VALUES ($1, $2, $3, 'pending', 0, $4, $4, $4)")
            .bind(mid).bind(inbox_id).bind(conversation_id.0).bind(now).execute(&mut *$tx).await?;
        let scope = $crate::conversations::scope_of!($tx, conversation_id.0);
        $crate::events::append_event!($tx, $pg, &prosa_domain::event::DomainEvent::MessageCreated { conversation_id, message_id: prosa_domain::MessageId(mid) }, scope);
        if $pg {
            sqlx::query("SELECT pg_notify('prosa_outbox', '')").execute(&mut *$tx).await?;
        }
        prosa_domain::MessageId(mid)
    }};
}
pub(crate) use enqueue_reply;

/// Which conversations to list. Every field narrows the list.
#[derive(Debug, Clone, Default)]
pub struct ConversationFilter {
    pub status: Option<ConversationStatus>,
    pub inbox_id: Option<InboxId>,
    pub assignee_id: Option<UserId>,
    pub team_id: Option<TeamId>,
    pub contact_id: Option<ContactId>,
    /// Only ids below this (paging, newest first).
    pub before: Option<ConversationId>,
    pub limit: i64,
}

/// A message to add from Prosa's side (operator, bot or system).
#[derive(Debug, Clone)]
pub struct NewOutgoing {
    pub conversation_id: ConversationId,
    pub author_kind: AuthorKind,
    pub author_id: Option<UserId>,
    /// A private note: stored and shown to operators, never queued for sending.
    pub private: bool,
    pub content: MessageContent,
    /// The sender's own id for this message; a repeat with the same id returns the first.
    pub client_id: Option<String>,
}

/// What to deliver for one outbox item.
#[derive(Debug, Clone)]
pub struct DeliveryTarget {
    pub inbox_id: InboxId,
    pub kind: ChannelKind,
    pub settings: serde_json::Value,
    pub external_id: String,
    pub identity_meta: Option<serde_json::Value>,
    pub last_incoming_at: Option<Timestamp>,
}

impl Store {
    pub async fn conversation_by_id(&self, id: ConversationId) -> Result<Conversation> {
        let sql =
            format!("SELECT {CONVERSATION_COLUMNS} FROM conversation WHERE conversation_id = $1");
        let row: ConversationRow = on_read!(self, pool => { sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id.0).fetch_one(pool).await? });
        row.try_into()
    }

    pub async fn list_conversations(
        &self,
        filter: &ConversationFilter,
    ) -> Result<Vec<Conversation>> {
        let sql = format!(
            "SELECT {CONVERSATION_COLUMNS} FROM conversation WHERE ($1 IS NULL OR status = $1) AND ($2 IS NULL OR inbox_id = $2) \
             AND ($3 IS NULL OR assignee_id = $3) AND ($4 IS NULL OR team_id = $4) AND ($5 IS NULL OR contact_id = $5) \
             AND ($6 IS NULL OR conversation_id < $6) ORDER BY conversation_id DESC LIMIT $7"
        );
        let limit = if filter.limit <= 0 {
            50
        } else {
            filter.limit.min(500)
        };
        let rows: Vec<ConversationRow> = on_read!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(filter.status.map(|s| s.as_str()))
                .bind(filter.inbox_id.map(|i| i.0))
                .bind(filter.assignee_id.map(|i| i.0))
                .bind(filter.team_id.map(|i| i.0))
                .bind(filter.contact_id.map(|i| i.0))
                .bind(filter.before.map(|i| i.0))
                .bind(limit)
                .fetch_all(pool).await?
        });
        rows.into_iter().map(Conversation::try_from).collect()
    }

    pub async fn contact_by_id(&self, id: ContactId) -> Result<Contact> {
        let sql = format!("SELECT {CONTACT_COLUMNS} FROM contact WHERE contact_id = $1");
        let row: ContactRow = on_read!(self, pool => { sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id.0).fetch_one(pool).await? });
        Ok(row.into())
    }

    pub async fn list_contacts(
        &self,
        before: Option<ContactId>,
        limit: i64,
    ) -> Result<Vec<Contact>> {
        let sql = format!(
            "SELECT {CONTACT_COLUMNS} FROM contact WHERE ($1 IS NULL OR contact_id < $1) ORDER BY contact_id DESC LIMIT $2"
        );
        let rows: Vec<ContactRow> = on_read!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(before.map(|c| c.0)).bind(limit.clamp(1, 500)).fetch_all(pool).await?
        });
        Ok(rows.into_iter().map(Contact::from).collect())
    }

    /// Messages of a conversation in order. `before` pages backwards (newest page first, each
    /// page in ascending order); `after` reads what came since.
    pub async fn list_messages(
        &self,
        conversation: ConversationId,
        before: Option<MessageId>,
        after: Option<MessageId>,
        limit: i64,
    ) -> Result<Vec<Message>> {
        let limit = limit.clamp(1, 500);
        let rows: Vec<MessageRow> = if let Some(after) = after {
            let sql = format!(
                "SELECT {MESSAGE_COLUMNS} FROM message WHERE conversation_id = $1 AND message_id > $2 ORDER BY message_id LIMIT $3"
            );
            on_read!(self, pool => { sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(conversation.0).bind(after.0).bind(limit).fetch_all(pool).await? })
        } else {
            let sql = format!(
                "SELECT {MESSAGE_COLUMNS} FROM message WHERE conversation_id = $1 AND ($2 IS NULL OR message_id < $2) ORDER BY message_id DESC LIMIT $3"
            );
            let mut rows: Vec<MessageRow> = on_read!(self, pool => { sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(conversation.0).bind(before.map(|m| m.0)).bind(limit).fetch_all(pool).await? });
            rows.reverse();
            rows
        };
        rows.into_iter().map(Message::try_from).collect()
    }

    pub async fn message_by_id(&self, id: MessageId) -> Result<Message> {
        let sql = format!("SELECT {MESSAGE_COLUMNS} FROM message WHERE message_id = $1");
        let row: MessageRow = on_read!(self, pool => { sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id.0).fetch_one(pool).await? });
        row.try_into()
    }

    /// Adds a message from Prosa's side. A public one is queued in the outbox in the same
    /// transaction; a private note is not. Returns the message id (the first one's for a
    /// repeated `client_id`).
    pub async fn create_outgoing_message(&self, new: &NewOutgoing) -> Result<MessageId> {
        let now = now_ms();
        let content = serde_json::to_string(&new.content).expect("invariant: content serializes");
        let id = in_tx!(self, tx, pg => {
            let existing: Option<(i64,)> = match &new.client_id {
                Some(cid) => sqlx::query_as("SELECT message_id FROM message WHERE conversation_id = $1 AND client_id = $2")
                    .bind(new.conversation_id.0).bind(cid).fetch_optional(&mut *tx).await?,
                None => None,
            };
            match existing {
                Some((id,)) => MessageId(id),
                None => {
                    let conv: (i64, String) = sqlx::query_as("SELECT inbox_id, status FROM conversation WHERE conversation_id = $1")
                        .bind(new.conversation_id.0).fetch_one(&mut *tx).await?;
                    let delivery = (!new.private).then_some("queued");
                    let (id,): (i64,) = sqlx::query_as(
                        "INSERT INTO message (conversation_id, inbox_id, direction, author_kind, author_id, private, content, client_id, delivery_status, sent_at, created_at, updated_at) \
                         VALUES ($1, $2, 'outgoing', $3, $4, $5, $6, $7, $8, $9, $9, $9) RETURNING message_id",
                    )
                    .bind(new.conversation_id.0).bind(conv.0).bind(new.author_kind.as_str()).bind(new.author_id.map(|u| u.0)).bind(new.private)
                    .bind(&content).bind(&new.client_id).bind(delivery).bind(now)
                    .fetch_one(&mut *tx).await?;
                    if !new.private {
                        sqlx::query("INSERT INTO outbox (message_id, inbox_id, conversation_id, status, attempts, next_attempt_at, created_at, updated_at) VALUES ($1, $2, $3, 'pending', 0, $4, $4, $4)")
                            .bind(id).bind(conv.0).bind(new.conversation_id.0).bind(now).execute(&mut *tx).await?;
                        if pg {
                            sqlx::query("SELECT pg_notify('prosa_outbox', '')").execute(&mut *tx).await?;
                        }
                    }
                    let first_response = new.author_kind == AuthorKind::Agent && !new.private;
                    sqlx::query("UPDATE conversation SET last_message_at = $1, updated_at = $1, first_response_at = CASE WHEN $2 AND first_response_at IS NULL THEN $1 ELSE first_response_at END WHERE conversation_id = $3")
                        .bind(now).bind(first_response).bind(new.conversation_id.0).execute(&mut *tx).await?;
                    let scope: EventScope = scope_of!(tx, new.conversation_id.0);
                    append_event!(tx, pg, &DomainEvent::MessageCreated { conversation_id: new.conversation_id, message_id: MessageId(id) }, scope);
                    MessageId(id)
                }
            }
        });
        if !new.private {
            self.signals.outbox.notify_one();
        }
        Ok(id)
    }

    /// Where and to whom a conversation's messages go.
    pub async fn delivery_target(&self, conversation: ConversationId) -> Result<DeliveryTarget> {
        let row: (i64, String, String, String, Option<String>, Option<i64>) = on_read!(self, pool => {
            sqlx::query_as(
                "SELECT i.inbox_id, i.channel_kind, i.settings, ci.external_id, ci.meta, c.last_incoming_at FROM conversation c \
                 JOIN inbox i ON i.inbox_id = c.inbox_id JOIN contact_identity ci ON ci.contact_identity_id = c.contact_identity_id \
                 WHERE c.conversation_id = $1",
            )
            .bind(conversation.0).fetch_one(pool).await?
        });
        Ok(DeliveryTarget {
            inbox_id: InboxId(row.0),
            kind: row
                .1
                .parse()
                .map_err(|_| StorageError::Corrupt(format!("channel kind {}", row.1)))?,
            settings: serde_json::from_str(&row.2)
                .map_err(|e| StorageError::Corrupt(e.to_string()))?,
            external_id: row.3,
            identity_meta: row.4.and_then(|m| serde_json::from_str(&m).ok()),
            last_incoming_at: row.5.map(ts),
        })
    }

    /// Changes who owns a conversation (queue, operator, bot, resolved) and records the event.
    pub async fn set_conversation_owner(
        &self,
        id: ConversationId,
        change: &OwnerChange,
    ) -> Result<Conversation> {
        let now = now_ms();
        in_tx!(self, tx, pg => {
            let (status, assignee) = match change.status {
                ConversationStatus::Open => (ConversationStatus::Open, change.assignee_id.map(|u| u.0)),
                other => (other, None),
            };
            let waiting = (status == ConversationStatus::Waiting).then_some(now);
            let resolved = (status == ConversationStatus::Resolved).then_some(now);
            let done = sqlx::query(
                "UPDATE conversation SET status = $1, assignee_id = $2, team_id = CASE WHEN $3 THEN $4 ELSE team_id END, \
                 category_id = COALESCE($5, category_id), waiting_since = CASE WHEN $1 = 'waiting' THEN COALESCE(waiting_since, $6) ELSE NULL END, \
                 resolved_at = $7, updated_at = $8 WHERE conversation_id = $9",
            )
            .bind(status.as_str()).bind(assignee).bind(change.set_team).bind(change.team_id.map(|t| t.0))
            .bind(change.category_id.map(|c| c.0)).bind(waiting).bind(resolved).bind(now).bind(id.0)
            .execute(&mut *tx).await?;
            if done.rows_affected() == 0 { return Err(StorageError::NotFound); }
            let scope: EventScope = scope_of!(tx, id.0);
            append_event!(tx, pg, &DomainEvent::ConversationUpdated { conversation_id: id }, scope);
        });
        self.conversation_by_id(id).await
    }
}

/// A change of owner. `set_team` says whether `team_id` replaces the team (`None` clears it).
#[derive(Debug, Clone)]
pub struct OwnerChange {
    pub status: ConversationStatus,
    pub assignee_id: Option<UserId>,
    pub set_team: bool,
    pub team_id: Option<TeamId>,
    pub category_id: Option<CategoryId>,
}
