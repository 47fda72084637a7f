//! The domain event log: appended in the same transaction as each change, read by every
//! instance to feed its live clients.

use crate::*;
use prosa_domain::event::{DomainEvent, StoredEvent};
use prosa_domain::model::ConversationStatus;
use prosa_domain::{EventId, TeamId, UserId};

/// Who may see an event, copied from the conversation at the time of writing.
#[derive(Debug, Clone, Copy, Default)]
pub struct EventScope {
    pub status: Option<ConversationStatus>,
    pub assignee_id: Option<UserId>,
    pub team_id: Option<TeamId>,
    pub user_id: Option<UserId>,
}

/// Appends an event inside a transaction. On PostgreSQL a transaction-scoped advisory lock
/// makes event ids commit in increasing order, so readers that resume "after id N" miss nothing.
macro_rules! append_event {
    ($tx:ident, $pg:ident, $event:expr, $scope:expr) => {{
        let event: &prosa_domain::event::DomainEvent = $event;
        let scope: $crate::events::EventScope = $scope;
        if $pg {
            sqlx::query("SELECT pg_advisory_xact_lock(727274)").execute(&mut *$tx).await?;
        }
        let payload = serde_json::to_string(event).expect("invariant: events serialize");
        sqlx::query(
            "INSERT INTO domain_event (kind, payload, conversation_id, status, assignee_id, team_id, user_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(event.kind())
        .bind(payload)
        .bind(event.conversation_id().map(|c| c.0))
        .bind(scope.status.map(|s| s.as_str()))
        .bind(scope.assignee_id.map(|u| u.0))
        .bind(scope.team_id.map(|t| t.0))
        .bind(scope.user_id.map(|u| u.0))
        .bind($crate::now_ms())
        .execute(&mut *$tx)
        .await?;
        if $pg {
            sqlx::query("SELECT pg_notify('prosa_events', '')").execute(&mut *$tx).await?;
        }
    }};
}
pub(crate) use append_event;

impl Store {
    /// Events after a cursor, oldest first.
    pub async fn events_after(&self, after: EventId, limit: i64) -> Result<Vec<StoredEvent>> {
        type Row = (
            i64,
            String,
            Option<String>,
            Option<i64>,
            Option<i64>,
            Option<i64>,
            i64,
        );
        let rows: Vec<Row> = on_read!(self, pool => {
            sqlx::query_as("SELECT event_id, payload, status, assignee_id, team_id, user_id, created_at FROM domain_event WHERE event_id > $1 ORDER BY event_id LIMIT $2")
                .bind(after.0).bind(limit).fetch_all(pool).await?
        });
        rows.into_iter()
            .map(|(id, payload, status, assignee, team, user, at)| {
                Ok(StoredEvent {
                    id: EventId(id),
                    event: serde_json::from_str::<DomainEvent>(&payload)
                        .map_err(|e| StorageError::Corrupt(format!("event {id}: {e}")))?,
                    status: status.and_then(|s| s.parse().ok()),
                    assignee_id: assignee.map(UserId),
                    team_id: team.map(TeamId),
                    user_id: user.map(UserId),
                    created_at: ts(at),
                })
            })
            .collect()
    }

    /// The newest event id (0 when none): where a new live client starts.
    pub async fn last_event_id(&self) -> Result<EventId> {
        let row: (Option<i64>,) = on_read!(self, pool => { sqlx::query_as("SELECT MAX(event_id) FROM domain_event").fetch_one(pool).await? });
        Ok(EventId(row.0.unwrap_or(0)))
    }

    /// The oldest event id still kept (0 when none): a client whose cursor is older must reload.
    pub async fn first_event_id(&self) -> Result<EventId> {
        let row: (Option<i64>,) = on_read!(self, pool => { sqlx::query_as("SELECT MIN(event_id) FROM domain_event").fetch_one(pool).await? });
        Ok(EventId(row.0.unwrap_or(0)))
    }

    /// Records an ephemeral event (typing) that changes no other data.
    pub async fn publish_event(&self, event: &DomainEvent, scope: EventScope) -> Result<()> {
        in_tx!(self, tx, pg => { append_event!(tx, pg, event, scope); });
        Ok(())
    }

    /// Drops events older than `keep` (the reconnection window).
    pub async fn prune_events(&self, older_than: Timestamp) -> Result<u64> {
        let n = in_tx!(self, tx, _pg => {
            sqlx::query("DELETE FROM domain_event WHERE created_at < $1").bind(ms(older_than)).execute(&mut *tx).await?.rows_affected()
        });
        Ok(n)
    }

    /// Drops events older than `older_than` whose id is at most `cursor` (the position of a
    /// live reader that still has to pass the newer ones).
    pub async fn prune_events_behind(&self, older_than: Timestamp, cursor: EventId) -> Result<u64> {
        let n = in_tx!(self, tx, _pg => {
            sqlx::query("DELETE FROM domain_event WHERE created_at < $1 AND event_id <= $2")
                .bind(ms(older_than)).bind(cursor.0).execute(&mut *tx).await?.rows_affected()
        });
        Ok(n)
    }
}
