//! Telling waiting subscribers their place in the human queue ("você está na posição 3 da
//! fila"). A conversation's place is first come first served among the waiting conversations
//! of its team (those of no team form one queue). What was told, when and for which stay in the
//! queue is kept on the conversation, and telling is a conditional update in the transaction
//! that queues the message, so any number of instances may run the worker: exactly one tells.
//! Each stay that ends is kept in `queue_stay` (written by a trigger on the status change), the
//! history the website chat's waiting-time estimate is computed from.

use crate::conversations::enqueue_reply;
use crate::*;
use prosa_domain::message::MessageContent;
use prosa_domain::*;

/// A waiting conversation and its place in its queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuePlace {
    pub conversation_id: ConversationId,
    pub inbox_id: InboxId,
    /// 1 = next to be served.
    pub position: i64,
    /// Since when it waits (ms); identifies this stay in the queue.
    pub waiting_since: i64,
    /// The position told during this stay, if any.
    pub told_position: Option<i64>,
    /// When it was told (ms).
    pub told_at: Option<i64>,
}

/// A stay in the queue that ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueStay {
    pub conversation_id: ConversationId,
    /// When it entered the queue (ms).
    pub waiting_since: i64,
    /// When it left (ms).
    pub left_at: i64,
}

impl Store {
    /// The waiting conversations of one queue (a team's; `None` = the conversations of no
    /// team), first come first: the conversation and since when it waits (ms).
    pub async fn queue_of(&self, team: Option<TeamId>) -> Result<Vec<(ConversationId, i64)>> {
        let rows: Vec<(i64, i64)> = on_read!(self, pool => {
            sqlx::query_as(
                "SELECT conversation_id, waiting_since FROM conversation \
                 WHERE status = 'waiting' AND waiting_since IS NOT NULL AND COALESCE(team_id, 0) = $1 \
                 ORDER BY waiting_since, conversation_id",
            )
            .bind(team.map_or(0, |t| t.0))
            .fetch_all(pool).await?
        });
        Ok(rows
            .into_iter()
            .map(|(id, since)| (ConversationId(id), since))
            .collect())
    }

    /// The stays in one queue (as in [`Store::queue_of`]) that ended at or after `since` (ms),
    /// oldest first.
    pub async fn queue_stays_since(
        &self,
        team: Option<TeamId>,
        since: i64,
    ) -> Result<Vec<QueueStay>> {
        let rows: Vec<(i64, i64, i64)> = on_read!(self, pool => {
            sqlx::query_as(
                "SELECT conversation_id, waiting_since, left_at FROM queue_stay \
                 WHERE left_at >= $1 AND COALESCE(team_id, 0) = $2 ORDER BY left_at, queue_stay_id",
            )
            .bind(since)
            .bind(team.map_or(0, |t| t.0))
            .fetch_all(pool).await?
        });
        Ok(rows
            .into_iter()
            .map(|(id, waiting_since, left_at)| QueueStay {
                conversation_id: ConversationId(id),
                waiting_since,
                left_at,
            })
            .collect())
    }

    /// Drops stays that ended before `before` (kept as long as the event log; the estimate
    /// only reads the last hours). Returns how many were dropped.
    pub async fn prune_queue_stays(&self, before: Timestamp) -> Result<u64> {
        let n = in_tx!(self, tx, _pg => {
            sqlx::query("DELETE FROM queue_stay WHERE left_at < $1").bind(ms(before)).execute(&mut *tx).await?.rows_affected()
        });
        Ok(n)
    }

    /// Every waiting conversation with its place, in queue order.
    pub async fn queue_places(&self) -> Result<Vec<QueuePlace>> {
        type Row = (i64, i64, i64, i64, Option<i64>, Option<i64>, Option<i64>);
        let rows: Vec<Row> = on_read!(self, pool => {
            sqlx::query_as(
                "SELECT conversation_id, inbox_id, waiting_since, \
                 ROW_NUMBER() OVER (PARTITION BY COALESCE(team_id, 0) ORDER BY waiting_since, conversation_id), \
                 queue_told_position, queue_told_at, queue_told_for \
                 FROM conversation WHERE status = 'waiting' AND waiting_since IS NOT NULL \
                 ORDER BY waiting_since, conversation_id",
            )
            .fetch_all(pool).await?
        });
        Ok(rows
            .into_iter()
            .map(|(id, inbox, since, position, told, told_at, told_for)| {
                let this_stay = told_for == Some(since);
                QueuePlace {
                    conversation_id: ConversationId(id),
                    inbox_id: InboxId(inbox),
                    position,
                    waiting_since: since,
                    told_position: if this_stay { told } else { None },
                    told_at: if this_stay { told_at } else { None },
                }
            })
            .collect())
    }

    /// Tells `place`'s subscriber `position` with `reply` (through the outbox) if the
    /// conversation is still waiting in the same stay and nobody told it anything newer than
    /// what `place` read. False when another instance did it first or it left the queue.
    pub async fn tell_queue_place(
        &self,
        place: &QueuePlace,
        position: i64,
        reply: &MessageContent,
    ) -> Result<bool> {
        let now = now_ms();
        let content = serde_json::to_string(reply).expect("invariant: content serializes");
        let id = place.conversation_id;
        let done = in_tx!(self, tx, pg => {
            let n = sqlx::query(
                "UPDATE conversation SET queue_told_position = $1, queue_told_at = $2, queue_told_for = $3 \
                 WHERE conversation_id = $4 AND status = 'waiting' AND waiting_since = $3 \
                 AND ((queue_told_for IS NULL OR queue_told_for <> $3) AND $5 IS NULL \
                      OR queue_told_for = $3 AND queue_told_position = $5)",
            )
            .bind(position).bind(now).bind(place.waiting_since).bind(id.0).bind(place.told_position)
            .execute(&mut *tx).await?.rows_affected();
            if n == 1 {
                enqueue_reply!(tx, pg, id, place.inbox_id.0, "system", &content, now);
            }
            n == 1
        });
        if done {
            self.signals.outbox.notify_one();
        }
        Ok(done)
    }
}
