//! Automatic assignment: waiting conversations go, oldest first, to an online operator of the
//! conversation's team (or any operator when it has no team) who is below their limit of
//! simultaneous conversations, in round-robin order.
//!
//! Everything the choice depends on lives in the database: the policy (`team.auto_assign`,
//! `team.max_conversations`, the `assignment` setting for conversations without a team), each
//! operator's limit (`app_user.max_conversations`) and the round-robin order
//! (`app_user.assigned_turn`, higher = assigned more recently). On PostgreSQL every assignment
//! runs under one transaction-scoped advisory lock, so instances choosing at the same time see
//! each other's loads and turns; the waiting conversation is locked with `SKIP LOCKED` and taken
//! with a conditional update, so a manual take racing with it wins or loses cleanly.

use crate::events::append_event;
use crate::*;
use prosa_domain::event::DomainEvent;
use prosa_domain::{ConversationId, TeamId, UserId};

/// The setting that holds the policy for conversations without a team.
pub const GLOBAL_SETTING: &str = "assignment";

/// The policy of conversations without a team.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct GlobalAssignment {
    pub enabled: bool,
    /// Caps every operator's own limit for these conversations.
    pub max_conversations: Option<i64>,
}

/// A team's assignment policy.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TeamAssignment {
    pub team_id: TeamId,
    pub name: String,
    pub auto_assign: bool,
    /// Caps each member's own limit inside this team; `None` = the member's limit.
    pub max_conversations: Option<i64>,
}

/// One automatic assignment that was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Assigned {
    pub conversation_id: ConversationId,
    pub user_id: UserId,
}

impl Store {
    pub async fn global_assignment(&self) -> Result<GlobalAssignment> {
        Ok(self
            .setting(GLOBAL_SETTING)
            .await?
            .and_then(|v| serde_json::from_value(v).ok())
            .unwrap_or_default())
    }

    pub async fn set_global_assignment(&self, policy: &GlobalAssignment) -> Result<()> {
        self.put_setting(
            GLOBAL_SETTING,
            &serde_json::to_value(policy).expect("invariant: policy serializes"),
        )
        .await?;
        // Enabling may make waiting conversations assignable at once.
        self.signals.assign.notify_one();
        Ok(())
    }

    pub async fn team_assignments(&self) -> Result<Vec<TeamAssignment>> {
        let rows: Vec<(i64, String, bool, Option<i64>)> = on_read!(self, pool => {
            sqlx::query_as("SELECT team_id, name, auto_assign, max_conversations FROM team ORDER BY name")
                .fetch_all(pool).await?
        });
        Ok(rows
            .into_iter()
            .map(|(id, name, auto_assign, max)| TeamAssignment {
                team_id: TeamId(id),
                name,
                auto_assign,
                max_conversations: max,
            })
            .collect())
    }

    /// [`StorageError::NotFound`] for an unknown team.
    pub async fn set_team_assignment(
        &self,
        team: TeamId,
        auto_assign: bool,
        max_conversations: Option<i64>,
    ) -> Result<()> {
        let now = now_ms();
        in_tx!(self, tx, _pg => {
            let done = sqlx::query("UPDATE team SET auto_assign = $1, max_conversations = $2, updated_at = $3 WHERE team_id = $4")
                .bind(auto_assign).bind(max_conversations).bind(now).bind(team.0).execute(&mut *tx).await?;
            if done.rows_affected() == 0 { return Err(StorageError::NotFound); }
        });
        self.signals.assign.notify_one();
        Ok(())
    }

    /// Each active person's limit of simultaneous conversations.
    pub async fn max_conversations(&self) -> Result<Vec<(UserId, i64)>> {
        let rows: Vec<(i64, i64)> = on_read!(self, pool => {
            sqlx::query_as("SELECT user_id, max_conversations FROM app_user ORDER BY user_id").fetch_all(pool).await?
        });
        Ok(rows.into_iter().map(|(u, n)| (UserId(u), n)).collect())
    }

    /// [`StorageError::NotFound`] for an unknown user.
    pub async fn set_max_conversations(&self, user: UserId, max: i64) -> Result<()> {
        let now = now_ms();
        in_tx!(self, tx, _pg => {
            let done = sqlx::query("UPDATE app_user SET max_conversations = $1, updated_at = $2 WHERE user_id = $3")
                .bind(max).bind(now).bind(user.0).execute(&mut *tx).await?;
            if done.rows_affected() == 0 { return Err(StorageError::NotFound); }
        });
        self.signals.assign.notify_one();
        Ok(())
    }

    /// Makes at most one automatic assignment: the oldest waiting conversation under an enabled
    /// policy that has an eligible operator goes to the one whose turn it is. `None` when
    /// nothing can be assigned now.
    pub async fn auto_assign_one(&self) -> Result<Option<Assigned>> {
        let global = self.global_assignment().await?;
        // Most wake-ups find nothing to assign: answer those from a reader, without taking the
        // (single, on SQLite) writer.
        let any: Option<(i64,)> = on_read!(self, pool => {
            sqlx::query_as(
                "SELECT c.conversation_id FROM conversation c LEFT JOIN team t ON t.team_id = c.team_id \
                 WHERE c.status = 'waiting' AND ((c.team_id IS NULL AND $1) OR (c.team_id IS NOT NULL AND t.auto_assign)) LIMIT 1",
            )
            .bind(global.enabled).fetch_optional(pool).await?
        });
        if any.is_none() {
            return Ok(None);
        }
        let now = now_ms();
        let out = in_tx!(self, tx, pg => {
            if pg {
                sqlx::query("SELECT pg_advisory_xact_lock(727275)").execute(&mut *tx).await?;
            }
            let lock = if pg { " FOR UPDATE OF c SKIP LOCKED" } else { "" };
            let sql = format!(
                "SELECT c.conversation_id, COALESCE(c.team_id, 0), t.max_conversations FROM conversation c \
                 LEFT JOIN team t ON t.team_id = c.team_id \
                 WHERE c.status = 'waiting' AND ((c.team_id IS NULL AND $1) OR (c.team_id IS NOT NULL AND t.auto_assign)) \
                 ORDER BY c.waiting_since, c.conversation_id LIMIT 500{lock}"
            );
            let candidates: Vec<(i64, i64, Option<i64>)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(global.enabled).fetch_all(&mut *tx).await?;
            let mut made = None;
            for (conversation, team, team_max) in candidates {
                let cap = if team == 0 { global.max_conversations } else { team_max };
                let operator: Option<(i64,)> = sqlx::query_as(
                    "SELECT u.user_id FROM app_user u \
                     WHERE u.active AND u.presence = 'online' AND u.role IN ('agent', 'supervisor') \
                     AND ($1 = 0 OR EXISTS (SELECT 1 FROM team_member m WHERE m.user_id = u.user_id AND m.team_id = $1)) \
                     AND (SELECT COUNT(*) FROM conversation o WHERE o.status = 'open' AND o.assignee_id = u.user_id) \
                         < CASE WHEN $2 < u.max_conversations THEN $2 ELSE u.max_conversations END \
                     ORDER BY COALESCE(u.assigned_turn, 0), u.user_id LIMIT 1",
                )
                .bind(team).bind(cap.unwrap_or(i64::MAX)).fetch_optional(&mut *tx).await?;
                let Some((user,)) = operator else { continue };
                let done = sqlx::query(
                    "UPDATE conversation SET status = 'open', assignee_id = $1, waiting_since = NULL, updated_at = $2 \
                     WHERE conversation_id = $3 AND status = 'waiting'",
                )
                .bind(user).bind(now).bind(conversation).execute(&mut *tx).await?;
                if done.rows_affected() != 1 {
                    continue;
                }
                sqlx::query("UPDATE app_user SET assigned_turn = (SELECT COALESCE(MAX(assigned_turn), 0) + 1 FROM app_user) WHERE user_id = $1")
                    .bind(user).execute(&mut *tx).await?;
                sqlx::query("INSERT INTO audit_log (actor_user_id, actor, action, target, detail, created_at) VALUES (NULL, 'system', 'conversation.auto_assign', $1, $2, $3)")
                    .bind(format!("conversation:{conversation}"))
                    .bind(serde_json::json!({"user_id": user, "team_id": (team != 0).then_some(team)}).to_string())
                    .bind(now).execute(&mut *tx).await?;
                let scope: crate::events::EventScope = crate::conversations::scope_of!(tx, conversation);
                append_event!(tx, pg, &DomainEvent::ConversationUpdated { conversation_id: ConversationId(conversation) }, scope);
                made = Some(Assigned { conversation_id: ConversationId(conversation), user_id: UserId(user) });
                break;
            }
            made
        });
        Ok(out)
    }

    /// Assigns until nothing more can be assigned (at most `max` times); returns what was made.
    pub async fn auto_assign_all(&self, max: usize) -> Result<Vec<Assigned>> {
        let mut made = Vec::new();
        while made.len() < max {
            match self.auto_assign_one().await? {
                Some(a) => made.push(a),
                None => break,
            }
        }
        Ok(made)
    }
}
