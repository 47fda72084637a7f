//! The bot's inactivity timeout: conversations the bot owns where the subscriber stopped
//! answering get a warning, then are closed. Each step is a conditional update in one
//! transaction (status still `bot`, no turn in progress, no unanswered message, still idle), so
//! any number of instances may run the worker: exactly one of them applies each step.

use crate::conversations::{enqueue_reply, scope_of};
use crate::events::append_event;
use crate::*;
use prosa_domain::event::DomainEvent;
use prosa_domain::message::MessageContent;
use prosa_domain::*;

/// Which idle step a conversation is due for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdleStep {
    /// Idle since before `idle_before`, not warned yet.
    Warn { idle_before: Timestamp },
    /// Warned before `warned_before` (or, without warnings, idle since before `idle_before`).
    Close {
        warned_before: Option<Timestamp>,
        idle_before: Timestamp,
    },
}

/// The SQL condition of a step (`$1` = the cut-off, `$2` = now) on table `conversation`.
fn condition(step: IdleStep) -> (String, i64) {
    const BASE: &str = "conversation.status = 'bot' AND (conversation.bot_lock_until IS NULL OR conversation.bot_lock_until < $2) \
         AND NOT EXISTS (SELECT 1 FROM message m WHERE m.conversation_id = conversation.conversation_id \
         AND m.direction = 'incoming' AND m.message_id > conversation.bot_cursor)";
    let (extra, cut) = match step {
        IdleStep::Warn { idle_before } => (
            "conversation.bot_warned_at IS NULL AND COALESCE(conversation.last_message_at, conversation.created_at) < $1",
            ms(idle_before),
        ),
        IdleStep::Close {
            warned_before: Some(w),
            ..
        } => (
            "conversation.bot_warned_at IS NOT NULL AND conversation.bot_warned_at < $1",
            ms(w),
        ),
        IdleStep::Close {
            warned_before: None,
            idle_before,
        } => (
            "COALESCE(conversation.last_message_at, conversation.created_at) < $1",
            ms(idle_before),
        ),
    };
    (format!("{BASE} AND {extra}"), cut)
}

impl Store {
    /// Conversations due for a step, oldest first.
    pub async fn idle_bot_conversations(
        &self,
        step: IdleStep,
        limit: i64,
    ) -> Result<Vec<ConversationId>> {
        let (cond, cut) = condition(step);
        let sql = format!(
            "SELECT conversation.conversation_id FROM conversation WHERE {cond} ORDER BY conversation.conversation_id LIMIT $3"
        );
        let rows: Vec<(i64,)> = on_read!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(cut).bind(now_ms()).bind(limit).fetch_all(pool).await?
        });
        Ok(rows.into_iter().map(|(id,)| ConversationId(id)).collect())
    }

    /// Applies a step to one conversation if it is still due: sends `reply` (through the
    /// outbox) and, for [`IdleStep::Close`], resolves it with `category`. False when another
    /// instance did it first or the subscriber answered meanwhile.
    pub async fn apply_idle_step(
        &self,
        id: ConversationId,
        step: IdleStep,
        reply: &MessageContent,
        category: Option<CategoryId>,
    ) -> Result<bool> {
        let (cond, cut) = condition(step);
        let now = now_ms();
        let set = match step {
            IdleStep::Warn { .. } => {
                "bot_warned_at = $3, last_message_at = $3, updated_at = $3, category_id = COALESCE($5, category_id)"
            }
            IdleStep::Close { .. } => {
                "status = 'resolved', category_id = COALESCE($5, category_id), resolved_at = $3, waiting_since = NULL, \
                 bot_lock_until = NULL, last_message_at = $3, updated_at = $3"
            }
        };
        let sql = format!(
            "UPDATE conversation SET {set} WHERE conversation.conversation_id = $4 AND {cond}"
        );
        let content = serde_json::to_string(reply).expect("invariant: content serializes");
        let done = in_tx!(self, tx, pg => {
            let n = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(cut).bind(now).bind(now).bind(id.0).bind(category.map(|c| c.0))
                .execute(&mut *tx).await?.rows_affected();
            if n == 1 {
                let (inbox_id,): (i64,) = sqlx::query_as("SELECT inbox_id FROM conversation WHERE conversation_id = $1")
                    .bind(id.0).fetch_one(&mut *tx).await?;
                enqueue_reply!(tx, pg, id, inbox_id, "bot", &content, now);
                if matches!(step, IdleStep::Close { .. }) {
                    let scope = scope_of!(tx, id.0);
                    append_event!(tx, pg, &DomainEvent::ConversationUpdated { conversation_id: id }, scope);
                }
            }
            n == 1
        });
        if done {
            self.signals.outbox.notify_one();
        }
        Ok(done)
    }
}
