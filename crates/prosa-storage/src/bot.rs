//! The bot's bookkeeping: which conversations have messages it has not answered, a lease per
//! turn, and applying a turn's result in one transaction.

use crate::conversations::scope_of;
use crate::events::append_event;
use crate::*;
use prosa_domain::event::DomainEvent;
use prosa_domain::message::{Message, MessageContent};
use prosa_domain::model::ConversationStatus;
use prosa_domain::*;

/// What a bot turn decided, applied atomically.
#[derive(Debug, Clone, Default)]
pub struct BotTurnResult {
    /// The last incoming message the turn answered.
    pub cursor: i64,
    pub state: serde_json::Value,
    pub replies: Vec<MessageContent>,
    /// Hand the conversation to the human queue (optionally to a team).
    pub hand_off: Option<Option<TeamId>>,
    /// Close it with this category.
    pub close_category: Option<CategoryId>,
    /// Link the contact to what they proved (document, ERP subscriber id).
    pub link: Option<(Option<String>, String)>,
}

impl Store {
    /// Conversations owned by the bot with incoming messages it has not answered.
    pub async fn bot_pending(&self, limit: i64) -> Result<Vec<ConversationId>> {
        let rows: Vec<(i64,)> = on_read!(self, pool => {
            sqlx::query_as(
                "SELECT c.conversation_id FROM conversation c WHERE c.status = 'bot' AND EXISTS (SELECT 1 FROM message m \
                 WHERE m.conversation_id = c.conversation_id AND m.direction = 'incoming' AND m.message_id > c.bot_cursor) \
                 AND (c.bot_lock_until IS NULL OR c.bot_lock_until < $1) ORDER BY c.conversation_id LIMIT $2",
            )
            .bind(now_ms()).bind(limit).fetch_all(pool).await?
        });
        Ok(rows.into_iter().map(|(id,)| ConversationId(id)).collect())
    }

    /// Takes a conversation's turn for `lease`; false when another worker has it.
    pub async fn claim_bot_turn(
        &self,
        id: ConversationId,
        lease: std::time::Duration,
    ) -> Result<bool> {
        let now = now_ms();
        let n = in_tx!(self, tx, _pg => {
            sqlx::query("UPDATE conversation SET bot_lock_until = $1 WHERE conversation_id = $2 AND status = 'bot' AND (bot_lock_until IS NULL OR bot_lock_until < $3)")
                .bind(now + lease.as_millis() as i64).bind(id.0).bind(now).execute(&mut *tx).await?.rows_affected()
        });
        Ok(n == 1)
    }

    /// The bot's saved state, its cursor and the incoming messages after it.
    pub async fn bot_turn_input(
        &self,
        id: ConversationId,
    ) -> Result<(Option<serde_json::Value>, i64, Vec<Message>)> {
        let (state, cursor): (Option<String>, i64) = on_read!(self, pool => {
            sqlx::query_as("SELECT bot_state, bot_cursor FROM conversation WHERE conversation_id = $1").bind(id.0).fetch_one(pool).await?
        });
        let messages = self
            .list_messages(id, None, Some(MessageId(cursor)), 50)
            .await?;
        let incoming = messages
            .into_iter()
            .filter(|m| m.direction == prosa_domain::model::Direction::Incoming)
            .collect();
        Ok((
            state.and_then(|s| serde_json::from_str(&s).ok()),
            cursor,
            incoming,
        ))
    }

    /// Applies a turn: state and cursor, replies queued in the outbox, owner change, contact
    /// link — all or nothing, so a crash mid-turn replays the turn rather than half of it.
    pub async fn apply_bot_turn(&self, id: ConversationId, turn: &BotTurnResult) -> Result<()> {
        let now = now_ms();
        let state = turn.state.to_string();
        in_tx!(self, tx, pg => {
            let (inbox_id, contact_id, team_id): (i64, i64, Option<i64>) = sqlx::query_as("SELECT inbox_id, contact_id, team_id FROM conversation WHERE conversation_id = $1")
                .bind(id.0).fetch_one(&mut *tx).await?;
            sqlx::query("UPDATE conversation SET bot_state = $1, bot_cursor = $2, bot_lock_until = NULL, bot_warned_at = NULL, updated_at = $3 WHERE conversation_id = $4")
                .bind(&state).bind(turn.cursor).bind(now).bind(id.0).execute(&mut *tx).await?;
            for reply in &turn.replies {
                let content = serde_json::to_string(reply).expect("invariant: content serializes");
                let (mid,): (i64,) = sqlx::query_as(
                    "INSERT INTO message (conversation_id, inbox_id, direction, author_kind, private, content, delivery_status, sent_at, created_at, updated_at) \
                     VALUES ($1, $2, 'outgoing', 'bot', FALSE, $3, 'queued', $4, $4, $4) RETURNING message_id",
                )
                .bind(id.0).bind(inbox_id).bind(&content).bind(now).fetch_one(&mut *tx).await?;
                sqlx::query("INSERT INTO outbox (message_id, inbox_id, conversation_id, status, attempts, next_attempt_at, created_at, updated_at) VALUES ($1, $2, $3, 'pending', 0, $4, $4, $4)")
                    .bind(mid).bind(inbox_id).bind(id.0).bind(now).execute(&mut *tx).await?;
                let scope = scope_of!(tx, id.0);
                append_event!(tx, pg, &DomainEvent::MessageCreated { conversation_id: id, message_id: MessageId(mid) }, scope);
            }
            if !turn.replies.is_empty() {
                sqlx::query("UPDATE conversation SET last_message_at = $1 WHERE conversation_id = $2").bind(now).bind(id.0).execute(&mut *tx).await?;
                if pg {
                    sqlx::query("SELECT pg_notify('prosa_outbox', '')").execute(&mut *tx).await?;
                }
            }
            if let Some((document, erp_id)) = &turn.link {
                sqlx::query("UPDATE contact SET document = COALESCE($1, document), erp_subscriber_id = $2, updated_at = $3 WHERE contact_id = $4")
                    .bind(document).bind(erp_id).bind(now).bind(contact_id).execute(&mut *tx).await?;
            }
            let change = if let Some(category) = turn.close_category {
                Some((ConversationStatus::Resolved, team_id, Some(category.0)))
            } else {
                turn.hand_off.map(|team| (ConversationStatus::Waiting, team.map(|t| t.0).or(team_id), None))
            };
            if let Some((status, team, category)) = change {
                let waiting = (status == ConversationStatus::Waiting).then_some(now);
                let resolved = (status == ConversationStatus::Resolved).then_some(now);
                sqlx::query("UPDATE conversation SET status = $1, team_id = $2, category_id = COALESCE($3, category_id), waiting_since = $4, resolved_at = $5, updated_at = $6 WHERE conversation_id = $7")
                    .bind(status.as_str()).bind(team).bind(category).bind(waiting).bind(resolved).bind(now).bind(id.0).execute(&mut *tx).await?;
                let scope = scope_of!(tx, id.0);
                append_event!(tx, pg, &DomainEvent::ConversationUpdated { conversation_id: id }, scope);
            }
        });
        if !turn.replies.is_empty() {
            self.signals.outbox.notify_one();
        }
        Ok(())
    }

    /// Releases a turn without applying it (the bot failed; it is retried after the lease).
    pub async fn release_bot_turn(&self, id: ConversationId) -> Result<()> {
        in_tx!(self, tx, _pg => {
            sqlx::query("UPDATE conversation SET bot_lock_until = NULL WHERE conversation_id = $1").bind(id.0).execute(&mut *tx).await?;
        });
        Ok(())
    }

    /// A category by name, created when missing (the bot's own categories).
    pub async fn category_named(&self, name: &str) -> Result<CategoryId> {
        let now = now_ms();
        let id: (i64,) = in_tx!(self, tx, _pg => {
            sqlx::query("INSERT INTO category (name, active, position, created_at, updated_at) VALUES ($1, TRUE, 100, $2, $2) ON CONFLICT (name) DO NOTHING")
                .bind(name).bind(now).execute(&mut *tx).await?;
            sqlx::query_as("SELECT category_id FROM category WHERE name = $1").bind(name).fetch_one(&mut *tx).await?
        });
        Ok(CategoryId(id.0))
    }

    /// Counts a wrong confirmation answer against a subject.
    pub async fn record_verification_failure(&self, subject: &str) -> Result<()> {
        let now = now_ms();
        in_tx!(self, tx, _pg => {
            sqlx::query("INSERT INTO verification_failure (subject, created_at) VALUES ($1, $2)").bind(subject).bind(now).execute(&mut *tx).await?;
        });
        Ok(())
    }

    /// Wrong confirmation answers for a subject since `since`, across sessions and channels.
    pub async fn verification_failures(&self, subject: &str, since: Timestamp) -> Result<u32> {
        let n: (i64,) = on_read!(self, pool => {
            sqlx::query_as("SELECT COUNT(*) FROM verification_failure WHERE subject = $1 AND created_at >= $2").bind(subject).bind(ms(since)).fetch_one(pool).await?
        });
        Ok(n.0 as u32)
    }
}
