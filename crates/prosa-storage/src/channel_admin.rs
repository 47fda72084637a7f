//! Channel administration: every inbox's health in one read (last message in, last error,
//! outbox items waiting and dead), and typing events throttled per conversation and side.

use crate::events::{EventScope, append_event};
use crate::*;
use prosa_domain::InboxId;
use prosa_domain::event::DomainEvent;
use std::collections::HashMap;

/// What the inbox list shows about a channel.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct InboxStatus {
    pub last_inbound_at: Option<Timestamp>,
    pub last_error: Option<String>,
    pub last_error_at: Option<Timestamp>,
    /// Outgoing messages that gave up (dead letters).
    pub dead_letters: i64,
    /// Outgoing messages waiting or being sent.
    pub outbox_pending: i64,
}

/// How many recent events the typing throttle looks at (bounds its cost).
const TYPING_WINDOW: i64 = 500;

impl Store {
    /// The health of every inbox, by id.
    pub async fn inbox_statuses(&self) -> Result<HashMap<InboxId, InboxStatus>> {
        type Row = (i64, Option<i64>, Option<String>, Option<i64>, i64, i64);
        let rows: Vec<Row> = on_read!(self, pool => {
            sqlx::query_as(
                "SELECT i.inbox_id, i.last_inbound_at, i.last_error, i.last_error_at, \
                 (SELECT COUNT(*) FROM outbox o WHERE o.inbox_id = i.inbox_id AND o.status = 'dead'), \
                 (SELECT COUNT(*) FROM outbox o WHERE o.inbox_id = i.inbox_id AND o.status IN ('pending', 'in_flight')) \
                 FROM inbox i",
            )
            .fetch_all(pool)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(|(id, inbound, error, error_at, dead, pending)| {
                (
                    InboxId(id),
                    InboxStatus {
                        last_inbound_at: inbound.map(ts),
                        last_error: error,
                        last_error_at: error_at.map(ts),
                        dead_letters: dead,
                        outbox_pending: pending,
                    },
                )
            })
            .collect())
    }

    /// Removes the settings whose key starts with `prefix` and that were last written before
    /// `before` (one-time values nobody came to read). Returns how many.
    pub async fn expire_settings(&self, prefix: &str, before: jiff::Timestamp) -> Result<u64> {
        let pattern = format!(
            "{}%",
            prefix
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        let n = in_tx!(self, tx, _pg => {
            sqlx::query("DELETE FROM setting WHERE key LIKE $1 ESCAPE '\\' AND updated_at < $2")
                .bind(&pattern).bind(ms(before)).execute(&mut *tx).await?.rows_affected()
        });
        Ok(n)
    }

    /// Reads and removes a setting at once (one-time values such as a page's flash message).
    pub async fn take_setting(&self, key: &str) -> Result<Option<serde_json::Value>> {
        let row: Option<(String,)> = in_tx!(self, tx, _pg => {
            sqlx::query_as("DELETE FROM setting WHERE key = $1 RETURNING value")
                .bind(key)
                .fetch_optional(&mut *tx)
                .await?
        });
        Ok(row.and_then(|(v,)| serde_json::from_str(&v).ok()))
    }

    /// Records a typing event unless the same event (same conversation and author) was
    /// recorded less than `min_gap_ms` ago. Returns whether it was recorded.
    pub async fn publish_typing(
        &self,
        event: &DomainEvent,
        scope: EventScope,
        min_gap_ms: i64,
    ) -> Result<bool> {
        let payload = serde_json::to_string(event).expect("invariant: events serialize");
        let since = now_ms() - min_gap_ms;
        let recorded = in_tx!(self, tx, pg => {
            let recent: Option<(i64,)> = sqlx::query_as(
                "SELECT e.event_id FROM (SELECT event_id, kind, payload, created_at FROM domain_event \
                 ORDER BY event_id DESC LIMIT $1) e WHERE e.kind = 'typing' AND e.payload = $2 AND e.created_at > $3 LIMIT 1",
            )
            .bind(TYPING_WINDOW)
            .bind(&payload)
            .bind(since)
            .fetch_optional(&mut *tx)
            .await?;
            if recent.is_some() {
                false
            } else {
                append_event!(tx, pg, event, scope);
                true
            }
        });
        Ok(recorded)
    }
}
