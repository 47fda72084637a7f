//! The outbox: messages waiting to be delivered, claimed by workers with a lease so that each
//! is sent by one worker at a time across instances.
//!
//! Per conversation the outbox is a queue: an item is claimed only when no earlier item of its
//! conversation is still pending or in flight (so a chat receives messages in the order they
//! were written, also while an earlier one waits for a retry), and not before the
//! conversation's pace allows (`outbox_pace.not_before`, set in the transaction that records a
//! send, e.g. one second later for a Telegram chat). Both are read in the claim's own query, so
//! they hold across any number of instances on PostgreSQL; other conversations are not slowed.

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
    pub conversation_id: ConversationId,
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
        let rows: Vec<(i64, i64, i64, i64, i64, String)> = in_tx!(self, tx, pg => {
            let lock = if pg { " FOR UPDATE SKIP LOCKED" } else { "" };
            // A lease that ran out means a worker died mid-send: the provider may have the
            // message, so the resend is flagged and carries the same idempotency key.
            // Only the head of each conversation's queue is claimable, and only once the
            // conversation's pace allows: an earlier item still pending or in flight (in this
            // statement's snapshot, which a concurrent claim's or send's commit changes
            // atomically) keeps the later ones waiting.
            let sql = format!(
                "UPDATE outbox SET status = 'in_flight', attempts = attempts + 1, locked_until = $1, updated_at = $2, \
                 last_error = CASE WHEN status = 'in_flight' THEN 'lease expired: resent with the same idempotency key' ELSE last_error END \
                 WHERE outbox_id IN (SELECT o.outbox_id FROM outbox o WHERE ((o.status = 'pending' AND o.next_attempt_at <= $2) \
                 OR (o.status = 'in_flight' AND o.locked_until < $2)) \
                 AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.conversation_id = o.conversation_id AND e.outbox_id < o.outbox_id AND e.status IN ('pending', 'in_flight')) \
                 AND NOT EXISTS (SELECT 1 FROM outbox_pace p WHERE p.conversation_id = o.conversation_id AND p.not_before > $2) \
                 ORDER BY o.next_attempt_at, o.outbox_id LIMIT $3{lock}) \
                 RETURNING outbox_id, message_id, inbox_id, conversation_id, attempts, COALESCE(last_error, '')"
            );
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(until).bind(now).bind(limit).fetch_all(&mut *tx).await?
        });
        Ok(rows
            .into_iter()
            .map(
                |(id, message, inbox, conversation, attempts, err)| OutboxJob {
                    id: OutboxId(id),
                    message_id: MessageId(message),
                    inbox_id: InboxId(inbox),
                    conversation_id: ConversationId(conversation),
                    attempts,
                    resumed: err.starts_with("lease expired"),
                },
            )
            .collect())
    }

    /// The provider took it: the item is done and the message `sent` (unless a status already
    /// moved it further).
    pub async fn complete_outbox(
        &self,
        job: &OutboxJob,
        provider_message_id: Option<&str>,
    ) -> Result<()> {
        self.complete_outbox_paced(job, provider_message_id, None)
            .await
    }

    /// [`Store::complete_outbox`], and the conversation's next item is not claimed before
    /// `pace` from now (the channel's minimum spacing between two messages to one chat).
    pub async fn complete_outbox_paced(
        &self,
        job: &OutboxJob,
        provider_message_id: Option<&str>,
        pace: Option<std::time::Duration>,
    ) -> Result<()> {
        self.finish_outbox(
            job,
            OutboxStatus::Sent,
            DeliveryStatus::Sent,
            None,
            provider_message_id,
            pace,
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
        pace: Option<std::time::Duration>,
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
            if let Some(pace) = pace.filter(|p| !p.is_zero()) {
                // Never moves the pace back (a late report of an earlier send).
                let not_before = now + i64::try_from(pace.as_millis()).unwrap_or(i64::MAX / 2);
                sqlx::query("INSERT INTO outbox_pace (conversation_id, not_before) VALUES ($1, $2) ON CONFLICT (conversation_id) DO UPDATE \
                     SET not_before = CASE WHEN excluded.not_before > outbox_pace.not_before THEN excluded.not_before ELSE outbox_pace.not_before END")
                    .bind(job.conversation_id.0).bind(not_before).execute(&mut *tx).await?;
            }
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

    /// The soonest time an item may become claimable, so the worker can sleep until then: over
    /// the head of each conversation's queue, its next attempt (not before the conversation's
    /// pace) when pending, its lease end when in flight. Items behind an unfinished one are not
    /// due (the worker is woken when that one finishes).
    pub async fn next_outbox_due(&self) -> Result<Option<Timestamp>> {
        let row: (Option<i64>,) = on_read!(self, pool => {
            sqlx::query_as("SELECT MIN(CASE WHEN o.status = 'pending' THEN \
                 (CASE WHEN COALESCE(p.not_before, 0) > o.next_attempt_at THEN p.not_before ELSE o.next_attempt_at END) \
                 ELSE o.locked_until END) \
                 FROM outbox o LEFT JOIN outbox_pace p ON p.conversation_id = o.conversation_id \
                 WHERE o.status IN ('pending', 'in_flight') \
                 AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.conversation_id = o.conversation_id AND e.outbox_id < o.outbox_id AND e.status IN ('pending', 'in_flight'))")
                .fetch_one(pool).await?
        });
        Ok(row.0.map(ts))
    }

    /// Drops pace records that no longer hold anything back (maintenance).
    pub async fn prune_outbox_pace(&self, now: Timestamp) -> Result<u64> {
        let n = in_tx!(self, tx, _pg => {
            sqlx::query("DELETE FROM outbox_pace WHERE not_before < $1").bind(ms(now)).execute(&mut *tx).await?.rows_affected()
        });
        Ok(n)
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
