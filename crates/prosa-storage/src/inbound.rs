//! The inbound road: store verified items (deduplicated) before acknowledging, then turn each
//! into a message in a conversation, exactly once.

use crate::events::{EventScope, append_event};
use crate::*;
use prosa_domain::event::DomainEvent;
use prosa_domain::message::MessageContent;
use prosa_domain::model::{ConversationStatus, DeliveryStatus};
use prosa_domain::phone::phone_key;
use prosa_domain::*;

/// Whether a stored item was new.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    New(InboundEventId),
    Duplicate,
}

/// An item to store at acknowledgement time.
#[derive(Debug, Clone)]
pub struct NewInbound<'a> {
    pub dedupe_key: &'a str,
    /// The normalized item as JSON.
    pub item: &'a str,
    /// The raw request body, as received.
    pub raw: &'a str,
}

/// A stored item waiting to be processed.
#[derive(Debug, Clone)]
pub struct PendingInbound {
    pub id: InboundEventId,
    pub inbox_id: InboxId,
    pub item: String,
    pub attempts: i64,
}

/// An incoming message, in storage terms.
#[derive(Debug, Clone)]
pub struct IncomingMessage {
    pub external_id: String,
    pub name: Option<String>,
    pub phone: Option<String>,
    pub identity_meta: Option<serde_json::Value>,
    pub provider_message_id: String,
    pub content: MessageContent,
    pub sent_at: Timestamp,
}

/// Where a new conversation starts.
#[derive(Debug, Clone, Copy)]
pub struct Routing {
    pub status: ConversationStatus,
    pub team_id: Option<TeamId>,
}

/// What processing an incoming message did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Processed {
    Message {
        conversation_id: ConversationId,
        message_id: MessageId,
        new_conversation: bool,
        status: ConversationStatus,
        /// The message went to a resolved conversation awaiting the subscriber's score (no
        /// unresolved conversation existed): the caller reads it as the rating answer.
        rating_answer: bool,
    },
    /// Another worker had already processed it.
    AlreadyDone,
}

/// The processing of one stored message inside a write transaction (`$tx`, `$pg` as bound by
/// `in_tx!`): evaluates to [`Processed`]; a failure returns from the enclosing function, which
/// rolls the transaction back.
macro_rules! process_message {
    ($tx:ident, $pg:ident, $now:expr, $event:expr, $inbox:expr, $msg:expr, $routing:expr) => {{
        let now: i64 = $now;
        let event: InboundEventId = $event;
        let inbox: InboxId = $inbox;
        let msg: &IncomingMessage = $msg;
        let routing: Routing = $routing;
        let content = serde_json::to_string(&msg.content).expect("invariant: content serializes");
        let key = msg.phone.as_deref().and_then(phone_key);
        let meta = msg.identity_meta.as_ref().map(|m| m.to_string());
        let pg = $pg;
        let claimed = sqlx::query("UPDATE inbound_event SET processed_at = $1 WHERE inbound_event_id = $2 AND processed_at IS NULL")
            .bind(now).bind(event.0).execute(&mut *$tx).await?;
        if claimed.rows_affected() == 0 {
            Processed::AlreadyDone
        } else {
            // The identity: by external id, else (ninth digit) by the phone's key in this inbox.
            let mut identity: Option<(i64, i64)> = sqlx::query_as("SELECT contact_identity_id, contact_id FROM contact_identity WHERE inbox_id = $1 AND external_id = $2")
                .bind(inbox.0).bind(&msg.external_id).fetch_optional(&mut *$tx).await?;
            if identity.is_none() && let Some(k) = &key {
                identity = sqlx::query_as("SELECT i.contact_identity_id, i.contact_id FROM contact_identity i JOIN contact c ON c.contact_id = i.contact_id WHERE i.inbox_id = $1 AND c.phone_key = $2 ORDER BY i.contact_identity_id LIMIT 1")
                    .bind(inbox.0).bind(k).fetch_optional(&mut *$tx).await?;
            }
            let (identity_id, contact_id) = match identity {
                Some(found) => {
                    if let Some(m) = &meta {
                        sqlx::query("UPDATE contact_identity SET meta = $1, updated_at = $2 WHERE contact_identity_id = $3").bind(m).bind(now).bind(found.0).execute(&mut *$tx).await?;
                    }
                    // Fill a missing name from the provider's profile.
                    if let Some(name) = &msg.name {
                        sqlx::query("UPDATE contact SET name = $1, updated_at = $2 WHERE contact_id = $3 AND name IS NULL").bind(name).bind(now).bind(found.1).execute(&mut *$tx).await?;
                    }
                    found
                }
                None => {
                    let (contact_id,): (i64,) = sqlx::query_as("INSERT INTO contact (name, phone, phone_key, created_at, updated_at) VALUES ($1, $2, $3, $4, $4) RETURNING contact_id")
                        .bind(&msg.name).bind(&msg.phone).bind(&key).bind(now).fetch_one(&mut *$tx).await?;
                    let (identity_id,): (i64,) = sqlx::query_as("INSERT INTO contact_identity (inbox_id, contact_id, external_id, meta, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5) RETURNING contact_identity_id")
                        .bind(inbox.0).bind(contact_id).bind(&msg.external_id).bind(&meta).bind(now).fetch_one(&mut *$tx).await?;
                    (identity_id, contact_id)
                }
            };
            let open: Option<(i64, String, Option<i64>, Option<i64>)> = sqlx::query_as("SELECT conversation_id, status, assignee_id, team_id FROM conversation WHERE contact_identity_id = $1 AND status <> 'resolved'")
                .bind(identity_id).fetch_optional(&mut *$tx).await?;
            // No unresolved conversation: a resolved one still awaiting its rating (asked,
            // unanswered, unexpired) receives the message as the answer.
            let rated: Option<(i64, String, Option<i64>, Option<i64>)> = if open.is_none() {
                sqlx::query_as("SELECT c.conversation_id, c.status, c.assignee_id, c.team_id FROM conversation c JOIN rating r ON r.conversation_id = c.conversation_id \
                                WHERE c.contact_identity_id = $1 AND c.status = 'resolved' AND r.score IS NULL AND r.expires_at > $2 ORDER BY r.requested_at DESC, c.conversation_id DESC LIMIT 1")
                    .bind(identity_id).bind(now).fetch_optional(&mut *$tx).await?
            } else {
                None
            };
            let rating_answer = rated.is_some();
            let sent_at = ms(msg.sent_at);
            let (conversation_id, status, assignee, team, new_conversation) = match open.or(rated) {
                Some((id, status, assignee, team)) => {
                    let status: ConversationStatus = status.parse().map_err(|_| StorageError::Corrupt("status".into()))?;
                    (id, status, assignee, team, false)
                }
                None => {
                    let waiting = (routing.status == ConversationStatus::Waiting).then_some(now);
                    let (id,): (i64,) = sqlx::query_as("INSERT INTO conversation (inbox_id, contact_id, contact_identity_id, status, team_id, created_at, updated_at, waiting_since) VALUES ($1, $2, $3, $4, $5, $6, $6, $7) RETURNING conversation_id")
                        .bind(inbox.0).bind(contact_id).bind(identity_id).bind(routing.status.as_str()).bind(routing.team_id.map(|t| t.0)).bind(now).bind(waiting)
                        .fetch_one(&mut *$tx).await?;
                    (id, routing.status, None, routing.team_id.map(|t| t.0), true)
                }
            };
            let (message_id,): (i64,) = sqlx::query_as(
                "INSERT INTO message (conversation_id, inbox_id, direction, author_kind, private, content, provider_message_id, sent_at, created_at, updated_at) \
                 VALUES ($1, $2, 'incoming', 'contact', FALSE, $3, $4, $5, $6, $6) RETURNING message_id",
            )
            .bind(conversation_id).bind(inbox.0).bind(&content).bind(&msg.provider_message_id).bind(sent_at).bind(now)
            .fetch_one(&mut *$tx).await?;
            sqlx::query("UPDATE conversation SET last_message_at = $1, last_incoming_at = $1, updated_at = $2 WHERE conversation_id = $3")
                .bind(sent_at.max(now)).bind(now).bind(conversation_id).execute(&mut *$tx).await?;
            let scope = EventScope { status: Some(status), assignee_id: assignee.map(UserId), team_id: team.map(TeamId), user_id: None };
            let conversation_id = ConversationId(conversation_id);
            if new_conversation {
                append_event!($tx, pg, &DomainEvent::ConversationCreated { conversation_id }, scope);
            }
            append_event!($tx, pg, &DomainEvent::MessageCreated { conversation_id, message_id: MessageId(message_id) }, scope);
            Processed::Message { conversation_id, message_id: MessageId(message_id), new_conversation, status, rating_answer }
        }
    }};
}

/// Items a processing run on SQLite does before it may give way to waiting webhooks.
pub const YIELD_AFTER: usize = 2;

/// One stored message to process in a batch.
#[derive(Debug, Clone, Copy)]
pub struct IncomingItem<'a> {
    pub event: InboundEventId,
    pub inbox: InboxId,
    pub message: &'a IncomingMessage,
    pub routing: Routing,
}

impl Store {
    /// Items not processed yet, oldest first.
    pub async fn pending_inbound(&self, limit: i64) -> Result<Vec<PendingInbound>> {
        let rows: Vec<(i64, i64, String, i64)> = on_read!(self, pool => {
            sqlx::query_as("SELECT inbound_event_id, inbox_id, item, attempts FROM inbound_event WHERE processed_at IS NULL ORDER BY inbound_event_id LIMIT $1")
                .bind(limit).fetch_all(pool).await?
        });
        Ok(rows
            .into_iter()
            .map(|(id, inbox, item, attempts)| PendingInbound {
                id: InboundEventId(id),
                inbox_id: InboxId(inbox),
                item,
                attempts,
            })
            .collect())
    }

    pub async fn count_pending_inbound(&self) -> Result<i64> {
        let n: (i64,) = on_read!(self, pool => { sqlx::query_as("SELECT COUNT(*) FROM inbound_event WHERE processed_at IS NULL").fetch_one(pool).await? });
        Ok(n.0)
    }

    /// Records a processing failure; after too many the item is set aside (processed with an
    /// error) so it cannot block the queue. The raw payload stays for inspection.
    pub async fn fail_inbound(&self, id: InboundEventId, error: &str, give_up: bool) -> Result<()> {
        let now = now_ms();
        in_tx!(self, tx, _pg => {
            sqlx::query("UPDATE inbound_event SET attempts = attempts + 1, last_error = $1, processed_at = CASE WHEN $2 THEN $3 ELSE processed_at END WHERE inbound_event_id = $4")
                .bind(error).bind(give_up).bind(now).bind(id.0).execute(&mut *tx).await?;
        });
        Ok(())
    }

    /// Marks an item done without effect (an ignored shape).
    pub async fn skip_inbound(&self, id: InboundEventId) -> Result<()> {
        let now = now_ms();
        in_tx!(self, tx, _pg => {
            sqlx::query("UPDATE inbound_event SET processed_at = $1 WHERE inbound_event_id = $2 AND processed_at IS NULL").bind(now).bind(id.0).execute(&mut *tx).await?;
        });
        Ok(())
    }

    /// Turns a stored item into a message: finds or creates the contact, its identity in the
    /// inbox and the open conversation, adds the message and its events, and marks the item
    /// processed — all in one transaction, so a crash leaves either all or nothing.
    pub async fn process_incoming_message(
        &self,
        event: InboundEventId,
        inbox: InboxId,
        msg: &IncomingMessage,
        routing: Routing,
    ) -> Result<Processed> {
        let now = now_ms();
        let out = in_tx!(self, tx, pg => {
            process_message!(tx, pg, now, event, inbox, msg, routing)
        });
        Ok(out)
    }

    /// Processes several stored messages, in order, in one transaction: all or nothing. The
    /// inbound worker uses it to keep up with the ingest rate; when it fails, the worker
    /// processes the items one by one to isolate the bad one.
    ///
    /// Returns one result per item for a prefix of `items`: on SQLite the run stops early (after
    /// at least [`YIELD_AFTER`] items) when inbound webhooks are waiting for the single writer,
    /// so that their acknowledgement does not wait for the whole run; the items not returned
    /// stay pending, to be processed next, in order.
    pub async fn process_incoming_messages(
        &self,
        items: &[IncomingItem<'_>],
    ) -> Result<Vec<Processed>> {
        let now = now_ms();
        let out = in_tx!(self, tx, pg => {
            // PostgreSQL: the event-order lock once for the whole run and one NOTIFY at the
            // end, instead of a round trip for each per event (the lock is held to the commit
            // either way).
            if pg {
                sqlx::query("SELECT pg_advisory_xact_lock(727274)").execute(&mut *tx).await?;
            }
            let per_event = false;
            let mut out = Vec::with_capacity(items.len());
            for it in items {
                // SQLite has one writer: when webhooks are waiting to store (their
                // acknowledgement waits for the commit), stop here and let them in; the rest
                // stays pending for the next round.
                if !pg && out.len() >= YIELD_AFTER && self.ingest_waiting() {
                    break;
                }
                out.push(process_message!(tx, per_event, now, it.event, it.inbox, it.message, it.routing));
            }
            if pg && out.iter().any(|p| matches!(p, Processed::Message { .. })) {
                sqlx::query("SELECT pg_notify('prosa_events', '')").execute(&mut *tx).await?;
            }
            out
        });
        Ok(out)
    }

    /// Applies a provider's delivery status to the message it names, only forward
    /// (see [`DeliveryStatus::advance`]), and marks the item processed.
    pub async fn process_status_update(
        &self,
        event: InboundEventId,
        inbox: InboxId,
        provider_message_id: &str,
        status: DeliveryStatus,
        error: Option<&str>,
    ) -> Result<Option<MessageId>> {
        let now = now_ms();
        let out = in_tx!(self, tx, pg => {
            sqlx::query("UPDATE inbound_event SET processed_at = $1 WHERE inbound_event_id = $2 AND processed_at IS NULL").bind(now).bind(event.0).execute(&mut *tx).await?;
            let row: Option<(i64, i64, Option<String>)> = sqlx::query_as("SELECT message_id, conversation_id, delivery_status FROM message WHERE inbox_id = $1 AND direction = 'outgoing' AND provider_message_id = $2")
                .bind(inbox.0).bind(provider_message_id).fetch_optional(&mut *tx).await?;
            match row {
                None => None,
                Some((message_id, conversation_id, current)) => {
                    let current: DeliveryStatus = current.as_deref().and_then(|s| s.parse().ok()).unwrap_or(DeliveryStatus::Queued);
                    let next = current.advance(status);
                    if next != current {
                        sqlx::query("UPDATE message SET delivery_status = $1, delivery_error = COALESCE($2, delivery_error), updated_at = $3 WHERE message_id = $4")
                            .bind(next.as_str()).bind(error).bind(now).bind(message_id).execute(&mut *tx).await?;
                        let scope = crate::conversations::scope_of!(tx, conversation_id);
                        append_event!(tx, pg, &DomainEvent::MessageStatusChanged { conversation_id: ConversationId(conversation_id), message_id: MessageId(message_id) }, scope);
                    }
                    Some(MessageId(message_id))
                }
            }
        });
        Ok(out)
    }
}
