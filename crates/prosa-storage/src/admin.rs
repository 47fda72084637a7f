//! Administration data: categories, rating rules, service-hours rules and closed dates, canned
//! responses, rating requests and answers, and the notifications rating rules create.
//!
//! Rules are stored as plain rows here; `prosa-rules` (in the server) validates and evaluates
//! them.

use crate::events::{EventScope, append_event};
use crate::*;
use prosa_domain::event::DomainEvent;
use prosa_domain::{CategoryId, ConversationId, NotificationId, RatingRuleId, UserId};

/// A conversation category.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Category {
    pub id: CategoryId,
    pub name: String,
    pub active: bool,
    pub position: i64,
    /// How many conversations carry it.
    pub conversations: i64,
}

/// A rating rule as stored.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RatingRuleRecord {
    pub id: RatingRuleId,
    pub description: String,
    pub scores: Vec<u8>,
    pub operators: Vec<UserId>,
    pub active: bool,
}

/// A rating rule to write (already validated).
#[derive(Debug, Clone)]
pub struct RatingRuleInput {
    pub description: String,
    pub scores: Vec<u8>,
    pub operators: Vec<UserId>,
    pub active: bool,
}

/// A service-hours rule as stored: `weekdays` is the comma separated ids (`mon,tue`),
/// `intervals` pairs of `HH:MM`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ServiceHoursRecord {
    pub id: i64,
    pub description: String,
    pub weekdays: String,
    pub intervals: Vec<(String, String)>,
    pub inbox_ids: Vec<i64>,
    pub active: bool,
}

/// A date the queue is closed (`YYYY-MM-DD`).
#[derive(Debug, Clone, serde::Serialize)]
pub struct ClosedDay {
    pub day: String,
    pub description: Option<String>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct CannedResponse {
    pub id: i64,
    pub shortcut: String,
    pub content: String,
}

/// A notification for one operator.
#[derive(Debug, Clone, serde::Serialize)]
pub struct NotificationRecord {
    pub id: NotificationId,
    pub user_id: UserId,
    pub kind: String,
    pub conversation_id: Option<ConversationId>,
    pub rating_rule_id: Option<RatingRuleId>,
    pub score: Option<u8>,
    /// The rule's description when it fired, and anything else the creator put.
    pub payload: serde_json::Value,
    pub treated_at: Option<Timestamp>,
    pub treated_by: Option<UserId>,
    pub treatment_note: Option<String>,
    pub created_at: Timestamp,
}

/// A notification to create.
#[derive(Debug, Clone)]
pub struct NewNotification {
    pub user_id: UserId,
    pub rating_rule_id: Option<RatingRuleId>,
    pub description: String,
}

/// Filters of the notification and rating lists. `None` = no filter.
#[derive(Debug, Clone, Default)]
pub struct RatingFilter {
    pub min_score: Option<u8>,
    pub max_score: Option<u8>,
    pub rule_id: Option<RatingRuleId>,
    pub treated: Option<bool>,
    /// Answered (or notified) at or after.
    pub from: Option<Timestamp>,
    /// Answered (or notified) before.
    pub to: Option<Timestamp>,
    /// Only this user's notifications.
    pub user_id: Option<UserId>,
    pub limit: i64,
}

/// A rated conversation.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RatingRecord {
    pub conversation_id: ConversationId,
    pub score: u8,
    pub comment: Option<String>,
    pub answered_at: Timestamp,
    pub notifications: i64,
    pub untreated: i64,
}

/// A rating request not answered yet.
#[derive(Debug, Clone)]
pub struct PendingRating {
    pub conversation_id: ConversationId,
    pub requested_at: Timestamp,
    pub expires_at: Timestamp,
    pub reasked: bool,
}

const NOTIFICATION_COLUMNS: &str = "notification_id, user_id, kind, conversation_id, rating_rule_id, score, payload, treated_at, treated_by, treatment_note, created_at";

type NotificationRow = (
    i64,
    i64,
    String,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    String,
    Option<i64>,
    Option<i64>,
    Option<String>,
    i64,
);

fn notification(r: NotificationRow) -> NotificationRecord {
    NotificationRecord {
        id: NotificationId(r.0),
        user_id: UserId(r.1),
        kind: r.2,
        conversation_id: r.3.map(ConversationId),
        rating_rule_id: r.4.map(RatingRuleId),
        score: r.5.and_then(|s| u8::try_from(s).ok()),
        payload: serde_json::from_str(&r.6).unwrap_or(serde_json::Value::Null),
        treated_at: r.7.map(ts),
        treated_by: r.8.map(UserId),
        treatment_note: r.9,
        created_at: ts(r.10),
    }
}

fn conflict_is(e: &StorageError, needle: &str) -> bool {
    matches!(e, StorageError::Conflict { constraint } if constraint.contains(needle))
}

/// Whether a write failed because the name/shortcut is already taken.
pub fn is_duplicate(e: &StorageError) -> bool {
    conflict_is(e, "UNIQUE") || conflict_is(e, "_key") || conflict_is(e, "unique")
}

impl Store {
    // ------------------------------------------------------------------ categories

    pub async fn list_categories_admin(&self) -> Result<Vec<Category>> {
        let rows: Vec<(i64, String, bool, i64, i64)> = on_read!(self, pool => {
            sqlx::query_as("SELECT c.category_id, c.name, c.active, c.position, (SELECT COUNT(*) FROM conversation v WHERE v.category_id = c.category_id) FROM category c ORDER BY c.position, c.name")
                .fetch_all(pool).await?
        });
        Ok(rows
            .into_iter()
            .map(|(id, name, active, position, n)| Category {
                id: CategoryId(id),
                name,
                active,
                position,
                conversations: n,
            })
            .collect())
    }

    pub async fn category_by_id(&self, id: CategoryId) -> Result<Category> {
        self.list_categories_admin()
            .await?
            .into_iter()
            .find(|c| c.id == id)
            .ok_or(StorageError::NotFound)
    }

    /// A new category, placed last. A taken name is a [`StorageError::Conflict`].
    pub async fn append_category(&self, name: &str) -> Result<CategoryId> {
        let now = now_ms();
        let id: (i64,) = in_tx!(self, tx, _pg => {
            sqlx::query_as("INSERT INTO category (name, active, position, created_at, updated_at) VALUES ($1, TRUE, (SELECT COALESCE(MAX(position), 0) + 1 FROM category), $2, $2) RETURNING category_id")
                .bind(name.trim()).bind(now).fetch_one(&mut *tx).await?
        });
        Ok(CategoryId(id.0))
    }

    pub async fn update_category(
        &self,
        id: CategoryId,
        name: &str,
        active: bool,
        position: i64,
    ) -> Result<()> {
        let now = now_ms();
        in_tx!(self, tx, _pg => {
            let done = sqlx::query("UPDATE category SET name = $1, active = $2, position = $3, updated_at = $4 WHERE category_id = $5")
                .bind(name.trim()).bind(active).bind(position).bind(now).bind(id.0).execute(&mut *tx).await?;
            if done.rows_affected() == 0 { return Err(StorageError::NotFound); }
        });
        Ok(())
    }

    /// Deletes a category no conversation carries. `Ok(false)` when one does (deactivate it
    /// instead); `NotFound` when there is none.
    pub async fn delete_category(&self, id: CategoryId) -> Result<bool> {
        let deleted = in_tx!(self, tx, _pg => {
            let used: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM conversation WHERE category_id = $1").bind(id.0).fetch_one(&mut *tx).await?;
            if used.0 > 0 {
                false
            } else {
                let done = sqlx::query("DELETE FROM category WHERE category_id = $1").bind(id.0).execute(&mut *tx).await?;
                if done.rows_affected() == 0 { return Err(StorageError::NotFound); }
                true
            }
        });
        Ok(deleted)
    }

    // ------------------------------------------------------------------ rating rules

    pub async fn list_rating_rules(&self) -> Result<Vec<RatingRuleRecord>> {
        let rows: Vec<(i64, String, String, bool)> = on_read!(self, pool => {
            sqlx::query_as("SELECT rating_rule_id, description, scores, active FROM rating_rule ORDER BY rating_rule_id").fetch_all(pool).await?
        });
        let users: Vec<(i64, i64)> = on_read!(self, pool => {
            sqlx::query_as("SELECT rating_rule_id, user_id FROM rating_rule_user ORDER BY user_id").fetch_all(pool).await?
        });
        rows.into_iter()
            .map(|(id, description, scores, active)| {
                Ok(RatingRuleRecord {
                    id: RatingRuleId(id),
                    description,
                    scores: serde_json::from_str(&scores)
                        .map_err(|e| StorageError::Corrupt(format!("rating_rule {id}: {e}")))?,
                    operators: users
                        .iter()
                        .filter(|(r, _)| *r == id)
                        .map(|(_, u)| UserId(*u))
                        .collect(),
                    active,
                })
            })
            .collect()
    }

    pub async fn rating_rule_by_id(&self, id: RatingRuleId) -> Result<RatingRuleRecord> {
        self.list_rating_rules()
            .await?
            .into_iter()
            .find(|r| r.id == id)
            .ok_or(StorageError::NotFound)
    }

    pub async fn create_rating_rule(&self, rule: &RatingRuleInput) -> Result<RatingRuleId> {
        let now = now_ms();
        let scores = serde_json::to_string(&rule.scores).expect("invariant: numbers serialize");
        let id = in_tx!(self, tx, _pg => {
            let id: (i64,) = sqlx::query_as("INSERT INTO rating_rule (description, scores, active, created_at, updated_at) VALUES ($1, $2, $3, $4, $4) RETURNING rating_rule_id")
                .bind(&rule.description).bind(&scores).bind(rule.active).bind(now).fetch_one(&mut *tx).await?;
            for u in &rule.operators {
                sqlx::query("INSERT INTO rating_rule_user (rating_rule_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING").bind(id.0).bind(u.0).execute(&mut *tx).await?;
            }
            id.0
        });
        Ok(RatingRuleId(id))
    }

    /// Replaces a rule. Notifications already created keep their own description.
    pub async fn update_rating_rule(&self, id: RatingRuleId, rule: &RatingRuleInput) -> Result<()> {
        let now = now_ms();
        let scores = serde_json::to_string(&rule.scores).expect("invariant: numbers serialize");
        in_tx!(self, tx, _pg => {
            let done = sqlx::query("UPDATE rating_rule SET description = $1, scores = $2, active = $3, updated_at = $4 WHERE rating_rule_id = $5")
                .bind(&rule.description).bind(&scores).bind(rule.active).bind(now).bind(id.0).execute(&mut *tx).await?;
            if done.rows_affected() == 0 { return Err(StorageError::NotFound); }
            sqlx::query("DELETE FROM rating_rule_user WHERE rating_rule_id = $1").bind(id.0).execute(&mut *tx).await?;
            for u in &rule.operators {
                sqlx::query("INSERT INTO rating_rule_user (rating_rule_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING").bind(id.0).bind(u.0).execute(&mut *tx).await?;
            }
        });
        Ok(())
    }

    pub async fn delete_rating_rule(&self, id: RatingRuleId) -> Result<()> {
        in_tx!(self, tx, _pg => {
            let done = sqlx::query("DELETE FROM rating_rule WHERE rating_rule_id = $1").bind(id.0).execute(&mut *tx).await?;
            if done.rows_affected() == 0 { return Err(StorageError::NotFound); }
        });
        Ok(())
    }

    // ------------------------------------------------------------------ service hours

    pub async fn list_service_hours(&self) -> Result<Vec<ServiceHoursRecord>> {
        type Row = (
            i64,
            String,
            String,
            i64,
            i64,
            Option<String>,
            Option<String>,
            bool,
        );
        let rows: Vec<Row> = on_read!(self, pool => {
            sqlx::query_as("SELECT service_hours_rule_id, description, weekdays, start_minute, end_minute, intervals, inbox_ids, active FROM service_hours_rule ORDER BY service_hours_rule_id").fetch_all(pool).await?
        });
        Ok(rows
            .into_iter()
            .map(
                |(id, description, weekdays, start, end, intervals, inboxes, active)| {
                    let hhmm = |m: i64| format!("{:02}:{:02}", m / 60, m % 60);
                    let intervals = intervals
                        .and_then(|t| serde_json::from_str::<Vec<(String, String)>>(&t).ok())
                        .unwrap_or_else(|| vec![(hhmm(start), hhmm(end))]);
                    ServiceHoursRecord {
                        id,
                        description,
                        weekdays,
                        intervals,
                        inbox_ids: inboxes
                            .and_then(|t| serde_json::from_str(&t).ok())
                            .unwrap_or_default(),
                        active,
                    }
                },
            )
            .collect())
    }

    /// Creates (`id` None) or replaces a rule; returns its id. `first_minutes` fills the legacy
    /// single-interval columns.
    pub async fn save_service_hours(
        &self,
        id: Option<i64>,
        rule: &ServiceHoursRecord,
        first_minutes: (i64, i64),
    ) -> Result<i64> {
        let now = now_ms();
        let intervals =
            serde_json::to_string(&rule.intervals).expect("invariant: strings serialize");
        let inboxes = (!rule.inbox_ids.is_empty())
            .then(|| serde_json::to_string(&rule.inbox_ids).expect("invariant: numbers serialize"));
        let id = in_tx!(self, tx, _pg => {
            match id {
                None => {
                    let r: (i64,) = sqlx::query_as("INSERT INTO service_hours_rule (description, weekdays, start_minute, end_minute, intervals, inbox_ids, active, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING service_hours_rule_id")
                        .bind(&rule.description).bind(&rule.weekdays).bind(first_minutes.0).bind(first_minutes.1).bind(&intervals).bind(&inboxes).bind(rule.active).bind(now)
                        .fetch_one(&mut *tx).await?;
                    r.0
                }
                Some(id) => {
                    let done = sqlx::query("UPDATE service_hours_rule SET description = $1, weekdays = $2, start_minute = $3, end_minute = $4, intervals = $5, inbox_ids = $6, active = $7, updated_at = $8 WHERE service_hours_rule_id = $9")
                        .bind(&rule.description).bind(&rule.weekdays).bind(first_minutes.0).bind(first_minutes.1).bind(&intervals).bind(&inboxes).bind(rule.active).bind(now).bind(id)
                        .execute(&mut *tx).await?;
                    if done.rows_affected() == 0 { return Err(StorageError::NotFound); }
                    id
                }
            }
        });
        Ok(id)
    }

    pub async fn delete_service_hours(&self, id: i64) -> Result<()> {
        in_tx!(self, tx, _pg => {
            let done = sqlx::query("DELETE FROM service_hours_rule WHERE service_hours_rule_id = $1").bind(id).execute(&mut *tx).await?;
            if done.rows_affected() == 0 { return Err(StorageError::NotFound); }
        });
        Ok(())
    }

    pub async fn list_closed_dates(&self) -> Result<Vec<ClosedDay>> {
        let rows: Vec<(String, String)> = on_read!(self, pool => {
            sqlx::query_as("SELECT day, description FROM closed_date ORDER BY day").fetch_all(pool).await?
        });
        Ok(rows
            .into_iter()
            .map(|(day, d)| ClosedDay {
                day,
                description: (!d.is_empty()).then_some(d),
            })
            .collect())
    }

    /// Adds a closed date; a repeated date is a [`StorageError::Conflict`].
    pub async fn add_closed_date(&self, day: &str, description: Option<&str>) -> Result<()> {
        let now = now_ms();
        in_tx!(self, tx, _pg => {
            sqlx::query("INSERT INTO closed_date (day, description, created_at) VALUES ($1, $2, $3)")
                .bind(day).bind(description.unwrap_or("")).bind(now).execute(&mut *tx).await?;
        });
        Ok(())
    }

    pub async fn delete_closed_date(&self, day: &str) -> Result<()> {
        in_tx!(self, tx, _pg => {
            let done = sqlx::query("DELETE FROM closed_date WHERE day = $1").bind(day).execute(&mut *tx).await?;
            if done.rows_affected() == 0 { return Err(StorageError::NotFound); }
        });
        Ok(())
    }

    // ------------------------------------------------------------------ canned responses

    pub async fn list_canned_responses(&self) -> Result<Vec<CannedResponse>> {
        let rows: Vec<(i64, String, String)> = on_read!(self, pool => {
            sqlx::query_as("SELECT canned_response_id, shortcut, content FROM canned_response ORDER BY shortcut").fetch_all(pool).await?
        });
        Ok(rows
            .into_iter()
            .map(|(id, shortcut, content)| CannedResponse {
                id,
                shortcut,
                content,
            })
            .collect())
    }

    /// Creates (`id` None) or replaces; a taken shortcut is a [`StorageError::Conflict`].
    pub async fn save_canned_response(
        &self,
        id: Option<i64>,
        shortcut: &str,
        content: &str,
    ) -> Result<i64> {
        let now = now_ms();
        let id = in_tx!(self, tx, _pg => {
            match id {
                None => {
                    let r: (i64,) = sqlx::query_as("INSERT INTO canned_response (shortcut, content, created_at, updated_at) VALUES ($1, $2, $3, $3) RETURNING canned_response_id")
                        .bind(shortcut).bind(content).bind(now).fetch_one(&mut *tx).await?;
                    r.0
                }
                Some(id) => {
                    let done = sqlx::query("UPDATE canned_response SET shortcut = $1, content = $2, updated_at = $3 WHERE canned_response_id = $4")
                        .bind(shortcut).bind(content).bind(now).bind(id).execute(&mut *tx).await?;
                    if done.rows_affected() == 0 { return Err(StorageError::NotFound); }
                    id
                }
            }
        });
        Ok(id)
    }

    pub async fn delete_canned_response(&self, id: i64) -> Result<()> {
        in_tx!(self, tx, _pg => {
            let done = sqlx::query("DELETE FROM canned_response WHERE canned_response_id = $1").bind(id).execute(&mut *tx).await?;
            if done.rows_affected() == 0 { return Err(StorageError::NotFound); }
        });
        Ok(())
    }

    // ------------------------------------------------------------------ ratings

    /// Records that the subscriber was asked for a score (replacing an older unanswered ask).
    pub async fn request_rating(
        &self,
        conversation: ConversationId,
        expires_at: Timestamp,
    ) -> Result<()> {
        let now = now_ms();
        in_tx!(self, tx, _pg => {
            sqlx::query("INSERT INTO rating (conversation_id, score, comment, requested_at, answered_at, expires_at, reasked, created_at, updated_at) VALUES ($1, NULL, NULL, $2, NULL, $3, FALSE, $2, $2) \
                         ON CONFLICT (conversation_id) DO UPDATE SET requested_at = excluded.requested_at, expires_at = excluded.expires_at, reasked = FALSE, updated_at = excluded.updated_at WHERE rating.score IS NULL")
                .bind(conversation.0).bind(now).bind(ms(expires_at)).execute(&mut *tx).await?;
        });
        Ok(())
    }

    /// The unanswered, unexpired request of a conversation.
    pub async fn pending_rating(
        &self,
        conversation: ConversationId,
        now: Timestamp,
    ) -> Result<Option<PendingRating>> {
        let row: Option<(i64, i64, bool)> = on_read!(self, pool => {
            sqlx::query_as("SELECT requested_at, expires_at, reasked FROM rating WHERE conversation_id = $1 AND score IS NULL AND expires_at > $2")
                .bind(conversation.0).bind(ms(now)).fetch_optional(pool).await?
        });
        Ok(row.map(|(req, exp, reasked)| PendingRating {
            conversation_id: conversation,
            requested_at: ts(req),
            expires_at: ts(exp),
            reasked,
        }))
    }

    /// Marks the one re-ask of a pending request as done.
    pub async fn mark_rating_reasked(&self, conversation: ConversationId) -> Result<()> {
        let now = now_ms();
        in_tx!(self, tx, _pg => {
            sqlx::query("UPDATE rating SET reasked = TRUE, updated_at = $1 WHERE conversation_id = $2 AND score IS NULL").bind(now).bind(conversation.0).execute(&mut *tx).await?;
        });
        Ok(())
    }

    /// Gives up on a pending request (the subscriber answered something else twice).
    pub async fn close_rating_request(&self, conversation: ConversationId) -> Result<()> {
        let now = now_ms();
        in_tx!(self, tx, _pg => {
            sqlx::query("UPDATE rating SET expires_at = $1, updated_at = $1 WHERE conversation_id = $2 AND score IS NULL").bind(now).bind(conversation.0).execute(&mut *tx).await?;
        });
        Ok(())
    }

    /// Stores a score and, in the same transaction, the notifications it fires, each with a
    /// `notification_created` event addressed to its user. Returns the notifications' ids.
    pub async fn record_rating(
        &self,
        conversation: ConversationId,
        score: u8,
        comment: Option<&str>,
        notifications: &[NewNotification],
    ) -> Result<Vec<NotificationId>> {
        let now = now_ms();
        let ids = in_tx!(self, tx, pg => {
            sqlx::query("INSERT INTO rating (conversation_id, score, comment, requested_at, answered_at, expires_at, reasked, created_at, updated_at) VALUES ($1, $2, $3, $4, $4, $4, FALSE, $4, $4) \
                         ON CONFLICT (conversation_id) DO UPDATE SET score = excluded.score, comment = excluded.comment, answered_at = excluded.answered_at, updated_at = excluded.updated_at")
                .bind(conversation.0).bind(i64::from(score)).bind(comment).bind(now).execute(&mut *tx).await?;
            let mut ids = Vec::new();
            for n in notifications {
                let payload = serde_json::json!({"description": n.description, "score": score}).to_string();
                let id: (i64,) = sqlx::query_as("INSERT INTO notification (user_id, kind, conversation_id, payload, rating_rule_id, score, created_at, updated_at) VALUES ($1, 'rating', $2, $3, $4, $5, $6, $6) RETURNING notification_id")
                    .bind(n.user_id.0).bind(conversation.0).bind(&payload).bind(n.rating_rule_id.map(|r| r.0)).bind(i64::from(score)).bind(now)
                    .fetch_one(&mut *tx).await?;
                let event = DomainEvent::NotificationCreated { notification_id: NotificationId(id.0), user_id: n.user_id };
                append_event!(tx, pg, &event, EventScope { user_id: Some(n.user_id), ..EventScope::default() });
                ids.push(NotificationId(id.0));
            }
            ids
        });
        Ok(ids)
    }

    /// Rated conversations, newest first.
    pub async fn list_ratings(&self, f: &RatingFilter) -> Result<Vec<RatingRecord>> {
        let limit = if f.limit <= 0 { 100 } else { f.limit.min(500) };
        type Row = (i64, i64, Option<String>, i64, i64, i64);
        let rows: Vec<Row> = on_read!(self, pool => {
            sqlx::query_as(
                "SELECT r.conversation_id, r.score, r.comment, r.answered_at, \
                   (SELECT COUNT(*) FROM notification n WHERE n.conversation_id = r.conversation_id AND n.kind = 'rating'), \
                   (SELECT COUNT(*) FROM notification n WHERE n.conversation_id = r.conversation_id AND n.kind = 'rating' AND n.treated_at IS NULL) \
                 FROM rating r WHERE r.score IS NOT NULL \
                   AND ($1 IS NULL OR r.score >= $1) AND ($2 IS NULL OR r.score <= $2) \
                   AND ($3 IS NULL OR r.answered_at >= $3) AND ($4 IS NULL OR r.answered_at < $4) \
                   AND ($5 IS NULL OR EXISTS (SELECT 1 FROM notification n WHERE n.conversation_id = r.conversation_id AND n.rating_rule_id = $5)) \
                   AND ($6 IS NULL OR EXISTS (SELECT 1 FROM notification n WHERE n.conversation_id = r.conversation_id AND n.kind = 'rating' AND (n.treated_at IS NOT NULL) = $6)) \
                 ORDER BY r.answered_at DESC, r.conversation_id DESC LIMIT $7")
                .bind(f.min_score.map(i64::from)).bind(f.max_score.map(i64::from))
                .bind(f.from.map(ms)).bind(f.to.map(ms))
                .bind(f.rule_id.map(|r| r.0)).bind(f.treated).bind(limit)
                .fetch_all(pool).await?
        });
        Ok(rows
            .into_iter()
            .map(|(c, s, comment, at, n, u)| RatingRecord {
                conversation_id: ConversationId(c),
                score: u8::try_from(s).unwrap_or(0),
                comment,
                answered_at: ts(at),
                notifications: n,
                untreated: u,
            })
            .collect())
    }

    // ------------------------------------------------------------------ notifications

    /// Notifications, newest first, filtered (`user_id` none = everyone's).
    pub async fn list_notifications(&self, f: &RatingFilter) -> Result<Vec<NotificationRecord>> {
        let limit = if f.limit <= 0 { 100 } else { f.limit.min(500) };
        let sql = format!(
            "SELECT {NOTIFICATION_COLUMNS} FROM notification WHERE ($1 IS NULL OR user_id = $1) \
               AND ($2 IS NULL OR score >= $2) AND ($3 IS NULL OR score <= $3) \
               AND ($4 IS NULL OR created_at >= $4) AND ($5 IS NULL OR created_at < $5) \
               AND ($6 IS NULL OR rating_rule_id = $6) AND ($7 IS NULL OR (treated_at IS NOT NULL) = $7) \
             ORDER BY notification_id DESC LIMIT $8"
        );
        let rows: Vec<NotificationRow> = on_read!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(f.user_id.map(|u| u.0))
                .bind(f.min_score.map(i64::from)).bind(f.max_score.map(i64::from))
                .bind(f.from.map(ms)).bind(f.to.map(ms))
                .bind(f.rule_id.map(|r| r.0)).bind(f.treated).bind(limit)
                .fetch_all(pool).await?
        });
        Ok(rows.into_iter().map(notification).collect())
    }

    pub async fn notification_by_id(&self, id: NotificationId) -> Result<NotificationRecord> {
        let sql =
            format!("SELECT {NOTIFICATION_COLUMNS} FROM notification WHERE notification_id = $1");
        let row: NotificationRow = on_read!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id.0).fetch_one(pool).await?
        });
        Ok(notification(row))
    }

    pub async fn count_untreated_notifications(&self, user: UserId) -> Result<i64> {
        let n: (i64,) = on_read!(self, pool => {
            sqlx::query_as("SELECT COUNT(*) FROM notification WHERE user_id = $1 AND treated_at IS NULL").bind(user.0).fetch_one(pool).await?
        });
        Ok(n.0)
    }

    /// Marks a notification treated with what the operator found.
    pub async fn treat_notification(
        &self,
        id: NotificationId,
        by: UserId,
        note: &str,
    ) -> Result<()> {
        let now = now_ms();
        in_tx!(self, tx, _pg => {
            let done = sqlx::query("UPDATE notification SET treated_at = $1, treated_by = $2, treatment_note = $3, updated_at = $1 WHERE notification_id = $4")
                .bind(now).bind(by.0).bind(note).bind(id.0).execute(&mut *tx).await?;
            if done.rows_affected() == 0 { return Err(StorageError::NotFound); }
        });
        Ok(())
    }
}
