//! Inboxes: configured entry points, one channel each.

use crate::rows::{INBOX_COLUMNS, InboxRow};
use crate::*;
use prosa_domain::model::{ChannelKind, Inbox};
use prosa_domain::{InboxId, TeamId};

#[derive(Debug, Clone)]
pub struct NewInbox {
    pub name: String,
    pub kind: ChannelKind,
    pub settings: serde_json::Value,
    pub team_id: Option<TeamId>,
    pub bot_enabled: bool,
}

/// When the channel last worked and last failed.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct InboxHealth {
    pub last_inbound_at: Option<Timestamp>,
    pub last_error: Option<String>,
    pub last_error_at: Option<Timestamp>,
}

/// How long an inbox read for a webhook is reused. A change made on this instance is seen at
/// once (the entry is dropped); another instance's change within this time.
pub const INBOX_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(1);

/// Inboxes by id with the time they were read: a webhook burst to one inbox reads it once a
/// second instead of once a request.
#[derive(Debug, Default)]
pub(crate) struct InboxCache {
    entries: std::sync::Mutex<std::collections::HashMap<i64, (std::time::Instant, Inbox)>>,
}

impl InboxCache {
    fn get(&self, id: InboxId) -> Option<Inbox> {
        let entries = self
            .entries
            .lock()
            .expect("invariant: cache lock not poisoned");
        entries
            .get(&id.0)
            .filter(|(at, _)| at.elapsed() < INBOX_CACHE_TTL)
            .map(|(_, inbox)| inbox.clone())
    }

    fn put(&self, inbox: &Inbox) {
        let mut entries = self
            .entries
            .lock()
            .expect("invariant: cache lock not poisoned");
        // Bounded: inboxes are few; a flood of unknown ids never gets here (not found).
        if entries.len() > 4096 {
            entries.clear();
        }
        entries.insert(inbox.id.0, (std::time::Instant::now(), inbox.clone()));
    }

    fn forget(&self, id: InboxId) {
        self.entries
            .lock()
            .expect("invariant: cache lock not poisoned")
            .remove(&id.0);
    }
}

impl Store {
    /// The inbox for an inbound request: read at most once per [`INBOX_CACHE_TTL`] per inbox
    /// on this instance (a change made elsewhere applies here within that time).
    pub async fn inbox_for_webhook(&self, id: InboxId) -> Result<Inbox> {
        if let Some(inbox) = self.inbox_cache.get(id) {
            return Ok(inbox);
        }
        let inbox = self.inbox_by_id(id).await?;
        self.inbox_cache.put(&inbox);
        Ok(inbox)
    }

    pub async fn create_inbox(&self, inbox: &NewInbox) -> Result<InboxId> {
        let now = now_ms();
        let settings = inbox.settings.to_string();
        let id: (i64,) = in_tx!(self, tx, _pg => {
            let id: (i64,) = sqlx::query_as("INSERT INTO inbox (name, channel_kind, settings, team_id, bot_enabled, active, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, TRUE, $6, $6) RETURNING inbox_id")
                .bind(inbox.name.trim()).bind(inbox.kind.as_str()).bind(&settings).bind(inbox.team_id.map(|t| t.0)).bind(inbox.bot_enabled).bind(now)
                .fetch_one(&mut *tx).await?;
            if let Some((object, key)) = crate::webhooks::route_of(inbox.kind, &inbox.settings) {
                sqlx::query("INSERT INTO inbox_route (route_kind, route_key, inbox_id) VALUES ($1, $2, $3)").bind(object).bind(&key).bind(id.0).execute(&mut *tx).await?;
            }
            id
        });
        Ok(InboxId(id.0))
    }

    pub async fn inbox_by_id(&self, id: InboxId) -> Result<Inbox> {
        let sql = format!("SELECT {INBOX_COLUMNS} FROM inbox WHERE inbox_id = $1");
        let row: InboxRow = on_read!(self, pool => { sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id.0).fetch_one(pool).await? });
        row.try_into()
    }

    pub async fn list_inboxes(&self) -> Result<Vec<Inbox>> {
        let sql = format!("SELECT {INBOX_COLUMNS} FROM inbox ORDER BY inbox_id");
        let rows: Vec<InboxRow> = on_read!(self, pool => { sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(pool).await? });
        rows.into_iter().map(Inbox::try_from).collect()
    }

    pub async fn update_inbox(&self, id: InboxId, inbox: &NewInbox, active: bool) -> Result<()> {
        let now = now_ms();
        let settings = inbox.settings.to_string();
        self.inbox_cache.forget(id);
        in_tx!(self, tx, _pg => {
            let done = sqlx::query("UPDATE inbox SET name = $1, settings = $2, team_id = $3, bot_enabled = $4, active = $5, updated_at = $6 WHERE inbox_id = $7")
                .bind(inbox.name.trim()).bind(&settings).bind(inbox.team_id.map(|t| t.0)).bind(inbox.bot_enabled).bind(active).bind(now).bind(id.0)
                .execute(&mut *tx).await?;
            if done.rows_affected() == 0 { return Err(StorageError::NotFound); }
            sqlx::query("DELETE FROM inbox_route WHERE inbox_id = $1").bind(id.0).execute(&mut *tx).await?;
            if let Some((object, key)) = crate::webhooks::route_of(inbox.kind, &inbox.settings) {
                sqlx::query("INSERT INTO inbox_route (route_kind, route_key, inbox_id) VALUES ($1, $2, $3)").bind(object).bind(&key).bind(id.0).execute(&mut *tx).await?;
            }
        });
        // Also after the commit: a webhook that read the old row meanwhile must not keep it.
        self.inbox_cache.forget(id);
        Ok(())
    }

    pub async fn record_inbox_error(&self, id: InboxId, error: &str) -> Result<()> {
        let now = now_ms();
        in_tx!(self, tx, _pg => {
            sqlx::query("UPDATE inbox SET last_error = $1, last_error_at = $2 WHERE inbox_id = $3").bind(error).bind(now).bind(id.0).execute(&mut *tx).await?;
        });
        Ok(())
    }

    pub async fn inbox_health(&self, id: InboxId) -> Result<InboxHealth> {
        let row: (Option<i64>, Option<String>, Option<i64>) = on_read!(self, pool => {
            sqlx::query_as("SELECT last_inbound_at, last_error, last_error_at FROM inbox WHERE inbox_id = $1").bind(id.0).fetch_one(pool).await?
        });
        Ok(InboxHealth {
            last_inbound_at: row.0.map(ts),
            last_error: row.1,
            last_error_at: row.2.map(ts),
        })
    }
}
