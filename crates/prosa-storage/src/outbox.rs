//! The outbox: messages waiting to be delivered, claimed by workers with a lease so that each
//! is sent by one worker at a time across instances.

use crate::conversations::scope_of;
use crate::events::append_event;
use crate::*;
use prosa_domain::event::DomainEvent;
use prosa_domain::model::{DeliveryStatus, OutboxStatus};
use prosa_domain::*;

/// A claimed item.
#[derive(Debug, Clone)]
pub struct OutboxJob {
    pub id: OutboxId,
    pub message_id: MessageId,
    pub inbox_id: InboxId,
    /// Attempts including this one.
    pub attempts: i64,
    /// Whether an earlier attempt's lease ran out (the process died mid-send): the provider may
    /// already have it, so the send carries the same idempotency key.
    pub resumed: bool,
}

/// An outbox row for listings (dead letters).
#[derive(Debug, Clone, serde::Serialize)]
pub struct OutboxEntry {
    pub id: OutboxId,
    pub message_id: MessageId,
    pub inbox_id: InboxId,
    pub status: OutboxStatus,
    pub attempts: i64,
    pub next_attempt_at: Timestamp,
    pub last_error: Option<String>,
}

/// Counts per status.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct OutboxStats {
    pub pending: i64,
    pub in_flight: i64,
    pub sent: i64,
    pub dead: i64,
}

impl Store {
    /// Claims up to `limit` due items for `lease`. PostgreSQL uses `FOR UPDATE SKIP LOCKED` so
    /// concurrent instances take disjoint items; SQLite has a single writer.
    pub async fn claim_outbox(
        &self,
        now: Timestamp,
        lease: std::time::Duration,
        limit: i64,
    ) -> Result<Vec<OutboxJob>> {
        let now = ms(now);
        let until = now + lease.as_millis() as i64;
        let rows: Vec<(i64, i64, i64, i64, String)> = in_tx!(self, tx, pg => {
            let lock = if pg { " FOR UPDATE SKIP LOCKED" } else { "" };
            // A lease that ran out means a worker died mid-send: the provider may have the
            // message, so the resend is flagged and carries the same idempotency key.
            let sql = format!(
                "UPDATE outbox SET status = 'in_flight', attempts = attempts + 1, locked_until = $1, updated_at = $2, \
                 last_error = CASE WHEN status = 'in_flight' THEN 'lease expired: resent with the same idempotency key' ELSE last_error END \
                 WHERE outbox_id IN (SELECT outbox_id FROM outbox WHERE (status = 'pending' AND next_attempt_at <= $2) \
                 OR (status = 'in_flight' AND locked_until < $2) ORDER BY next_attempt_at, outbox_id LIMIT $3{lock}) \
                 RETURNING outbox_id, message_id, inbox_id, attempts, COALESCE(last_error, '')"
            );
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(until).bind(now).bind(limit).fetch_all(&mut *tx).await?
        });
        Ok(rows
            .into_iter()
            .map(|(id, message, inbox, attempts, err)| OutboxJob {
                id: OutboxId(id),
                message_id: MessageId(message),
                inbox_id: InboxId(inbox),
                attempts,
                resumed: err.starts_with("lease expired"),
            })
            .collect())
    }

    /// The provider took it: the item is done and the message `sent` (unless a status already
    /// moved it further).
    pub async fn complete_outbox(
        &self,
        job: &OutboxJob,
        provider_message_id: Option<&str>,
    ) -> Result<()> {
        self.finish_outbox(
            job,
            OutboxStatus::Sent,
            DeliveryStatus::Sent,
            None,
            provider_message_id,
        )
        .await
    }

    /// Gives up: dead letter, and the message is marked failed with the reason. A worker whose
    /// lease ran out (another claimed the item since) changes nothing.
    pub async fn dead_letter_outbox(&self, job: &OutboxJob, error: &str) -> Result<()> {
        self.finish_outbox(
            job,
            OutboxStatus::Dead,
            DeliveryStatus::Failed,
            Some(error),
            None,
        )
        .await
    }

    async fn finish_outbox(
        &self,
        job: &OutboxJob,
        status: OutboxStatus,
        delivery: DeliveryStatus,
        error: Option<&str>,
        provider_id: Option<&str>,
    ) -> Result<()> {
        let now = now_ms();
        // Only the current lease holder (same attempt, still in flight) may give up on an item: a
        // stale worker must not fail a message another worker is sending. A success is recorded
        // whoever reports it (the provider has the message).
        let guard = status != OutboxStatus::Sent;
        in_tx!(self, tx, pg => {
            let done = sqlx::query("UPDATE outbox SET status = $1, locked_until = NULL, last_error = $2, updated_at = $3 WHERE outbox_id = $4 \
                 AND (NOT $5 OR (status = 'in_flight' AND attempts = $6))")
                .bind(status.as_str()).bind(error).bind(now).bind(job.id.0).bind(guard).bind(job.attempts).execute(&mut *tx).await?;
            if done.rows_affected() == 0 { return Ok(()); }
            let (conversation_id, current): (i64, Option<String>) = sqlx::query_as("SELECT conversation_id, delivery_status FROM message WHERE message_id = $1")
                .bind(job.message_id.0).fetch_one(&mut *tx).await?;
            let current: DeliveryStatus = current.as_deref().and_then(|s| s.parse().ok()).unwrap_or(DeliveryStatus::Queued);
            let next = current.advance(delivery);
            sqlx::query("UPDATE message SET delivery_status = $1, delivery_error = COALESCE($2, delivery_error), provider_message_id = COALESCE($3, provider_message_id), updated_at = $4 WHERE message_id = $5")
                .bind(next.as_str()).bind(error).bind(provider_id).bind(now).bind(job.message_id.0).execute(&mut *tx).await?;
            let scope = scope_of!(tx, conversation_id);
            append_event!(tx, pg, &DomainEvent::MessageStatusChanged { conversation_id: ConversationId(conversation_id), message_id: job.message_id }, scope);
        });
        Ok(())
    }

    /// After a restart of the only instance (SQLite), items this process had in flight can be
    /// taken again at once instead of when their lease runs out. They are still flagged as
    /// resumed, since the provider may have them.
    pub async fn recover_outbox_leases(&self) -> Result<u64> {
        let n = in_tx!(self, tx, _pg => {
            sqlx::query("UPDATE outbox SET locked_until = 0 WHERE status = 'in_flight'").execute(&mut *tx).await?.rows_affected()
        });
        Ok(n)
    }

    /// Schedules another attempt. A worker whose lease ran out (another claimed the item since)
    /// changes nothing: putting the item back to pending would send it a third time.
    pub async fn retry_outbox(
        &self,
        job: &OutboxJob,
        next_attempt_at: Timestamp,
        error: &str,
    ) -> Result<()> {
        let now = now_ms();
        in_tx!(self, tx, _pg => {
            sqlx::query("UPDATE outbox SET status = 'pending', locked_until = NULL, next_attempt_at = $1, last_error = $2, updated_at = $3 \
                 WHERE outbox_id = $4 AND status = 'in_flight' AND attempts = $5")
                .bind(ms(next_attempt_at)).bind(error).bind(now).bind(job.id.0).bind(job.attempts).execute(&mut *tx).await?;
        });
        Ok(())
    }

    pub async fn outbox_stats(&self) -> Result<OutboxStats> {
        let rows: Vec<(String, i64)> = on_read!(self, pool => {
            sqlx::query_as("SELECT status, COUNT(*) FROM outbox GROUP BY status").fetch_all(pool).await?
        });
        let mut s = OutboxStats::default();
        for (status, n) in rows {
            match status.as_str() {
                "pending" => s.pending = n,
                "in_flight" => s.in_flight = n,
                "sent" => s.sent = n,
                "dead" => s.dead = n,
                _ => {}
            }
        }
        Ok(s)
    }

    /// The soonest pending attempt, so the worker can sleep until then.
    pub async fn next_outbox_due(&self) -> Result<Option<Timestamp>> {
        let row: (Option<i64>,) = on_read!(self, pool => {
            sqlx::query_as("SELECT MIN(CASE WHEN status = 'pending' THEN next_attempt_at ELSE locked_until END) FROM outbox WHERE status IN ('pending', 'in_flight')").fetch_one(pool).await?
        });
        Ok(row.0.map(ts))
    }

    pub async fn list_outbox(
        &self,
        status: Option<OutboxStatus>,
        limit: i64,
    ) -> Result<Vec<OutboxEntry>> {
        type Row = (i64, i64, i64, String, i64, i64, Option<String>);
        let rows: Vec<Row> = on_read!(self, pool => {
            sqlx::query_as("SELECT outbox_id, message_id, inbox_id, status, attempts, next_attempt_at, last_error FROM outbox WHERE ($1 IS NULL OR status = $1) ORDER BY outbox_id DESC LIMIT $2")
                .bind(status.map(|s| s.as_str())).bind(limit.clamp(1, 500)).fetch_all(pool).await?
        });
        rows.into_iter()
            .map(|(id, m, i, s, a, n, e)| {
                Ok(OutboxEntry {
                    id: OutboxId(id),
                    message_id: MessageId(m),
                    inbox_id: InboxId(i),
                    status: s
                        .parse()
                        .map_err(|_| StorageError::Corrupt(format!("outbox status {s}")))?,
                    attempts: a,
                    next_attempt_at: ts(n),
                    last_error: e,
                })
            })
            .collect()
    }
}
