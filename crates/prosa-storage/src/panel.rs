//! The operator panel's reads and claims: categories, the live list of open conversations, the
//! race-free take of a waiting conversation, operator load and presence.

use crate::events::{EventScope, append_event};
use crate::rows::*;
use crate::*;
use prosa_domain::event::DomainEvent;
use prosa_domain::model::{Conversation, Presence};
use prosa_domain::*;

/// A closing category ("Resolvido", "Não resolvido", reasons for contact).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Category {
    pub id: CategoryId,
    pub name: String,
    pub active: bool,
    pub position: i64,
}

/// A conversation with what a list shows beside it.
#[derive(Debug, Clone)]
pub struct PanelRow {
    pub conversation: Conversation,
    pub contact_name: Option<String>,
    pub contact_phone: Option<String>,
    pub inbox_name: String,
    pub channel_kind: String,
    pub assignee_name: Option<String>,
}

impl Store {
    /// Categories in display order; inactive ones only when asked.
    pub async fn list_categories(&self, include_inactive: bool) -> Result<Vec<Category>> {
        let rows: Vec<(i64, String, bool, i64)> = on_read!(self, pool => {
            sqlx::query_as("SELECT category_id, name, active, position FROM category WHERE ($1 OR active) ORDER BY position, name")
                .bind(include_inactive).fetch_all(pool).await?
        });
        Ok(rows
            .into_iter()
            .map(|(id, name, active, position)| Category {
                id: CategoryId(id),
                name,
                active,
                position,
            })
            .collect())
    }

    pub async fn create_category(&self, name: &str, position: i64) -> Result<CategoryId> {
        let now = now_ms();
        let id: (i64,) = in_tx!(self, tx, _pg => {
            sqlx::query_as("INSERT INTO category (name, active, position, created_at, updated_at) VALUES ($1, TRUE, $2, $3, $3) RETURNING category_id")
                .bind(name.trim()).bind(position).bind(now).fetch_one(&mut *tx).await?
        });
        Ok(CategoryId(id.0))
    }

    /// Every unresolved conversation (bot, waiting, open), oldest first by waiting or creation
    /// time, with the contact's and inbox's names. The caller filters by what its user may see.
    pub async fn list_active_conversations(&self, limit: i64) -> Result<Vec<PanelRow>> {
        let sql = format!(
            "SELECT {CONVERSATION_COLUMNS}, \
             (SELECT ct.name FROM contact ct WHERE ct.contact_id = conversation.contact_id) AS contact_name, \
             (SELECT ct.phone FROM contact ct WHERE ct.contact_id = conversation.contact_id) AS contact_phone, \
             (SELECT i.name FROM inbox i WHERE i.inbox_id = conversation.inbox_id) AS inbox_name, \
             (SELECT i.channel_kind FROM inbox i WHERE i.inbox_id = conversation.inbox_id) AS channel_kind, \
             (SELECT u.name FROM app_user u WHERE u.user_id = conversation.assignee_id) AS assignee_name \
             FROM conversation WHERE status <> 'resolved' \
             ORDER BY COALESCE(waiting_since, created_at), conversation_id LIMIT $1"
        );
        let limit = limit.clamp(1, 2000);
        on_read!(self, pool => {
            use sqlx::{FromRow, Row};
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(limit).fetch_all(pool).await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                out.push(PanelRow {
                    conversation: ConversationRow::from_row(r)?.try_into()?,
                    contact_name: r.try_get("contact_name")?,
                    contact_phone: r.try_get("contact_phone")?,
                    inbox_name: r.try_get::<Option<String>, _>("inbox_name")?.unwrap_or_default(),
                    channel_kind: r.try_get::<Option<String>, _>("channel_kind")?.unwrap_or_default(),
                    assignee_name: r.try_get("assignee_name")?,
                });
            }
            Ok(out)
        })
    }

    /// Gives the oldest waiting conversation the user may take to them. The claim is one
    /// conditional UPDATE (`status = 'waiting'`): of two operators racing for the same
    /// conversation exactly one changes the row; the other moves on to the next one.
    /// `all_teams` lets supervisors take from every team's queue.
    pub async fn take_next_waiting(
        &self,
        user: UserId,
        all_teams: bool,
    ) -> Result<Option<Conversation>> {
        for _ in 0..8 {
            let candidate: Option<(i64,)> = on_read!(self, pool => {
                sqlx::query_as(
                    "SELECT conversation_id FROM conversation WHERE status = 'waiting' \
                     AND ($2 OR team_id IS NULL OR team_id IN (SELECT team_id FROM team_member WHERE user_id = $1)) \
                     ORDER BY waiting_since, conversation_id LIMIT 1",
                )
                .bind(user.0).bind(all_teams).fetch_optional(pool).await?
            });
            let Some((id,)) = candidate else {
                return Ok(None);
            };
            match self.claim(ConversationId(id), user, false).await {
                Ok(c) => return Ok(Some(c)),
                Err(StorageError::Conflict { .. }) => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(None)
    }

    /// Gives a chosen conversation to the user: from the queue, or (`takeover`, supervisors)
    /// from the bot or another operator. [`StorageError::Conflict`] when someone else was faster
    /// or the conversation is resolved.
    pub async fn claim(
        &self,
        id: ConversationId,
        user: UserId,
        takeover: bool,
    ) -> Result<Conversation> {
        let now = now_ms();
        in_tx!(self, tx, pg => {
            let done = sqlx::query(
                "UPDATE conversation SET status = 'open', assignee_id = $1, waiting_since = NULL, updated_at = $2 \
                 WHERE conversation_id = $3 AND (status = 'waiting' OR ($4 AND status <> 'resolved'))",
            )
            .bind(user.0).bind(now).bind(id.0).bind(takeover)
            .execute(&mut *tx).await?;
            if done.rows_affected() != 1 {
                return Err(StorageError::Conflict { constraint: "conversation_not_waiting".into() });
            }
            let scope: EventScope = crate::conversations::scope_of!(tx, id.0);
            append_event!(tx, pg, &DomainEvent::ConversationUpdated { conversation_id: id }, scope);
        });
        self.conversation_by_id(id).await
    }

    /// How many open conversations each operator holds.
    pub async fn operator_loads(&self) -> Result<Vec<(UserId, i64)>> {
        let rows: Vec<(i64, i64)> = on_read!(self, pool => {
            sqlx::query_as("SELECT assignee_id, COUNT(*) FROM conversation WHERE status = 'open' AND assignee_id IS NOT NULL GROUP BY assignee_id")
                .fetch_all(pool).await?
        });
        Ok(rows.into_iter().map(|(u, n)| (UserId(u), n)).collect())
    }

    /// Sets an operator's presence and tells live supervision pages.
    pub async fn set_presence_live(
        &self,
        id: UserId,
        presence: Presence,
        reason: Option<&str>,
    ) -> Result<()> {
        let now = now_ms();
        in_tx!(self, tx, pg => {
            let done = sqlx::query("UPDATE app_user SET presence = $1, pause_reason = $2, updated_at = $3 WHERE user_id = $4")
                .bind(presence.as_str()).bind(reason).bind(now).bind(id.0).execute(&mut *tx).await?;
            if done.rows_affected() == 0 { return Err(StorageError::NotFound); }
            append_event!(tx, pg, &DomainEvent::UserUpdated { user_id: id }, EventScope::default());
        });
        Ok(())
    }

    /// Records that the subscriber was asked for a rating (answered later by the rating flow).
    pub async fn record_rating_request(
        &self,
        conversation: ConversationId,
        expires_at: Timestamp,
    ) -> Result<()> {
        let now = now_ms();
        in_tx!(self, tx, _pg => {
            sqlx::query(
                "INSERT INTO rating (conversation_id, requested_at, expires_at, created_at, updated_at) VALUES ($1, $2, $3, $2, $2) \
                 ON CONFLICT (conversation_id) DO UPDATE SET requested_at = excluded.requested_at, expires_at = excluded.expires_at, updated_at = excluded.updated_at",
            )
            .bind(conversation.0).bind(now).bind(ms(expires_at)).execute(&mut *tx).await?;
        });
        Ok(())
    }
}
