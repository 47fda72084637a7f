//! Administration of people and order: changing a user's name, role and teams (one
//! transaction, with a `user_updated` event so live pages refresh), renaming a team, and
//! putting the categories in a new order.

use crate::events::{EventScope, append_event};
use crate::*;
use prosa_domain::event::DomainEvent;
use prosa_domain::model::Role;
use prosa_domain::{CategoryId, TeamId, UserId};

/// What an administrator may change of a user (the e-mail stays: it is the login).
#[derive(Debug, Clone)]
pub struct UserChange {
    pub name: String,
    pub role: Role,
    /// The user's teams after the change (replaces the current ones).
    pub team_ids: Vec<TeamId>,
}

impl Store {
    /// Changes a user's name, role and teams. `NotFound` when there is no such user; an
    /// unknown team is a [`StorageError::Conflict`] (foreign key).
    pub async fn update_user(&self, id: UserId, change: &UserChange) -> Result<()> {
        let now = now_ms();
        in_tx!(self, tx, pg => {
            let done = sqlx::query("UPDATE app_user SET name = $1, role = $2, updated_at = $3 WHERE user_id = $4")
                .bind(change.name.trim()).bind(change.role.as_str()).bind(now).bind(id.0)
                .execute(&mut *tx).await?;
            if done.rows_affected() == 0 { return Err(StorageError::NotFound); }
            sqlx::query("DELETE FROM team_member WHERE user_id = $1").bind(id.0).execute(&mut *tx).await?;
            for t in &change.team_ids {
                sqlx::query("INSERT INTO team_member (team_id, user_id, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
                    .bind(t.0).bind(id.0).bind(now).execute(&mut *tx).await?;
            }
            append_event!(tx, pg, &DomainEvent::UserUpdated { user_id: id }, EventScope::default());
        });
        Ok(())
    }

    /// Renames a team. `NotFound` when there is none; a taken name is a
    /// [`StorageError::Conflict`].
    pub async fn rename_team(&self, id: TeamId, name: &str) -> Result<()> {
        let now = now_ms();
        in_tx!(self, tx, _pg => {
            let done = sqlx::query("UPDATE team SET name = $1, updated_at = $2 WHERE team_id = $3")
                .bind(name.trim()).bind(now).bind(id.0).execute(&mut *tx).await?;
            if done.rows_affected() == 0 { return Err(StorageError::NotFound); }
        });
        Ok(())
    }

    /// Puts the categories in this order (positions 1, 2, 3…), in one transaction. Categories
    /// not listed keep their position after the listed ones.
    pub async fn reorder_categories(&self, order: &[CategoryId]) -> Result<()> {
        let now = now_ms();
        let n = i64::try_from(order.len()).unwrap_or(i64::MAX);
        in_tx!(self, tx, _pg => {
            for (i, id) in order.iter().enumerate() {
                let position = i64::try_from(i).unwrap_or(i64::MAX - 1) + 1;
                let done = sqlx::query("UPDATE category SET position = $1, updated_at = $2 WHERE category_id = $3")
                    .bind(position).bind(now).bind(id.0).execute(&mut *tx).await?;
                if done.rows_affected() == 0 { return Err(StorageError::NotFound); }
            }
            let listed: Vec<i64> = order.iter().map(|c| c.0).collect();
            let rest: Vec<(i64,)> = sqlx::query_as("SELECT category_id FROM category ORDER BY position, name")
                .fetch_all(&mut *tx).await?;
            let mut next = n;
            for (id,) in rest.into_iter().filter(|(id,)| !listed.contains(id)) {
                next += 1;
                sqlx::query("UPDATE category SET position = $1, updated_at = $2 WHERE category_id = $3")
                    .bind(next).bind(now).bind(id).execute(&mut *tx).await?;
            }
        });
        Ok(())
    }
}
