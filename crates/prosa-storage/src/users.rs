//! Users, teams, sessions and API tokens.

use crate::rows::{USER_COLUMNS, UserRow};
use crate::*;
use prosa_domain::model::{Presence, Role, Team, User};
use prosa_domain::{TeamId, UserId};

/// A user to create. The password arrives already hashed (argon2id, by the server).
#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: String,
    pub name: String,
    pub password_hash: String,
    pub role: Role,
}

/// A session found by its token hash.
#[derive(Debug, Clone)]
pub struct SessionRecord {
    pub user: User,
    pub csrf_token: String,
    pub expires_at: Timestamp,
}

/// An `api_token` row as read: id, name, hint, user, revoked, created, last used.
pub(crate) type ApiTokenRow = (i64, String, String, Option<i64>, bool, i64, Option<i64>);

/// An integration's API token (the secret itself is never stored).
#[derive(Debug, Clone, serde::Serialize)]
pub struct ApiToken {
    pub id: prosa_domain::ApiTokenId,
    pub name: String,
    /// The first characters, to tell tokens apart.
    pub hint: String,
    /// The user the token acts as; `None` for an integration token.
    pub user_id: Option<UserId>,
    pub revoked: bool,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
}

impl Store {
    async fn team_ids_of(&self, user_id: i64) -> Result<Vec<TeamId>> {
        let rows: Vec<(i64,)> = on_read!(self, pool => {
            sqlx::query_as("SELECT team_id FROM team_member WHERE user_id = $1 ORDER BY team_id").bind(user_id).fetch_all(pool).await?
        });
        Ok(rows.into_iter().map(|(t,)| TeamId(t)).collect())
    }

    pub async fn create_user(&self, user: &NewUser) -> Result<UserId> {
        let now = now_ms();
        let email = user.email.trim().to_lowercase();
        let id: (i64,) = in_tx!(self, tx, _pg => {
            sqlx::query_as("INSERT INTO app_user (email, name, password_hash, role, active, presence, created_at, updated_at) VALUES ($1, $2, $3, $4, TRUE, 'offline', $5, $5) RETURNING user_id")
                .bind(&email).bind(&user.name).bind(&user.password_hash).bind(user.role.as_str()).bind(now)
                .fetch_one(&mut *tx).await?
        });
        Ok(UserId(id.0))
    }

    pub async fn count_users(&self) -> Result<i64> {
        let n: (i64,) = on_read!(self, pool => { sqlx::query_as("SELECT COUNT(*) FROM app_user").fetch_one(pool).await? });
        Ok(n.0)
    }

    pub async fn user_by_id(&self, id: UserId) -> Result<User> {
        let sql = format!("SELECT {USER_COLUMNS} FROM app_user WHERE user_id = $1");
        let row: UserRow = on_read!(self, pool => { sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id.0).fetch_one(pool).await? });
        let teams = self.team_ids_of(row.user_id).await?;
        row.into_user(teams)
    }

    /// The user and their password hash, for login.
    pub async fn user_credentials(&self, email: &str) -> Result<Option<(User, String)>> {
        let email = email.trim().to_lowercase();
        let sql = format!("SELECT {USER_COLUMNS}, password_hash FROM app_user WHERE email = $1");
        let row: Option<(UserRow, String)> = on_read!(self, pool => {
            match sqlx::query(sqlx::AssertSqlSafe(sql)).bind(&email).fetch_optional(pool).await? {
                None => None,
                Some(r) => {
                    use sqlx::{FromRow, Row};
                    let hash: String = r.try_get("password_hash")?;
                    Some((UserRow::from_row(&r)?, hash))
                }
            }
        });
        match row {
            None => Ok(None),
            Some((r, hash)) => {
                let teams = self.team_ids_of(r.user_id).await?;
                Ok(Some((r.into_user(teams)?, hash)))
            }
        }
    }

    pub async fn list_users(&self) -> Result<Vec<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM app_user ORDER BY name, user_id");
        let rows: Vec<UserRow> = on_read!(self, pool => { sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(pool).await? });
        let members: Vec<(i64, i64)> = on_read!(self, pool => {
            sqlx::query_as("SELECT user_id, team_id FROM team_member ORDER BY team_id").fetch_all(pool).await?
        });
        rows.into_iter()
            .map(|r| {
                let teams = members
                    .iter()
                    .filter(|(u, _)| *u == r.user_id)
                    .map(|(_, t)| TeamId(*t))
                    .collect();
                r.into_user(teams)
            })
            .collect()
    }

    pub async fn set_user_password(&self, id: UserId, password_hash: &str) -> Result<()> {
        let now = now_ms();
        in_tx!(self, tx, _pg => {
            let done = sqlx::query("UPDATE app_user SET password_hash = $1, updated_at = $2 WHERE user_id = $3")
                .bind(password_hash).bind(now).bind(id.0).execute(&mut *tx).await?;
            if done.rows_affected() == 0 { return Err(StorageError::NotFound); }
            // A new password ends every session of that user.
            sqlx::query("DELETE FROM user_session WHERE user_id = $1").bind(id.0).execute(&mut *tx).await?;
        });
        Ok(())
    }

    pub async fn set_user_active(&self, id: UserId, active: bool) -> Result<()> {
        let now = now_ms();
        in_tx!(self, tx, _pg => {
            sqlx::query("UPDATE app_user SET active = $1, updated_at = $2 WHERE user_id = $3").bind(active).bind(now).bind(id.0).execute(&mut *tx).await?;
            if !active {
                sqlx::query("DELETE FROM user_session WHERE user_id = $1").bind(id.0).execute(&mut *tx).await?;
            }
        });
        Ok(())
    }

    pub async fn set_presence(
        &self,
        id: UserId,
        presence: Presence,
        reason: Option<&str>,
    ) -> Result<()> {
        let now = now_ms();
        in_tx!(self, tx, _pg => {
            sqlx::query("UPDATE app_user SET presence = $1, pause_reason = $2, updated_at = $3 WHERE user_id = $4")
                .bind(presence.as_str()).bind(reason).bind(now).bind(id.0).execute(&mut *tx).await?;
        });
        Ok(())
    }

    pub async fn create_team(&self, name: &str) -> Result<TeamId> {
        let now = now_ms();
        let id: (i64,) = in_tx!(self, tx, _pg => {
            sqlx::query_as("INSERT INTO team (name, created_at, updated_at) VALUES ($1, $2, $2) RETURNING team_id")
                .bind(name.trim()).bind(now).fetch_one(&mut *tx).await?
        });
        Ok(TeamId(id.0))
    }

    pub async fn list_teams(&self) -> Result<Vec<Team>> {
        let rows: Vec<(i64, String, i64)> = on_read!(self, pool => {
            sqlx::query_as("SELECT team_id, name, created_at FROM team ORDER BY name").fetch_all(pool).await?
        });
        Ok(rows
            .into_iter()
            .map(|(id, name, at)| Team {
                id: TeamId(id),
                name,
                created_at: ts(at),
            })
            .collect())
    }

    pub async fn add_team_member(&self, team: TeamId, user: UserId) -> Result<()> {
        let now = now_ms();
        in_tx!(self, tx, _pg => {
            sqlx::query("INSERT INTO team_member (team_id, user_id, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
                .bind(team.0).bind(user.0).bind(now).execute(&mut *tx).await?;
        });
        Ok(())
    }

    pub async fn create_session(
        &self,
        token_hash: &str,
        user: UserId,
        csrf_token: &str,
        expires_at: Timestamp,
    ) -> Result<()> {
        let now = now_ms();
        in_tx!(self, tx, _pg => {
            sqlx::query("INSERT INTO user_session (token_hash, user_id, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
                .bind(token_hash).bind(user.0).bind(csrf_token).bind(now).bind(ms(expires_at)).execute(&mut *tx).await?;
            // Expired sessions are swept as new ones are made.
            sqlx::query("DELETE FROM user_session WHERE expires_at < $1").bind(now).execute(&mut *tx).await?;
        });
        Ok(())
    }

    /// The active user behind a session that has not expired.
    pub async fn session(&self, token_hash: &str) -> Result<Option<SessionRecord>> {
        let row: Option<(i64, String, i64)> = on_read!(self, pool => {
            sqlx::query_as("SELECT s.user_id, s.csrf_token, s.expires_at FROM user_session s JOIN app_user u ON u.user_id = s.user_id WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.active")
                .bind(token_hash).bind(now_ms()).fetch_optional(pool).await?
        });
        let Some((uid, csrf_token, exp)) = row else {
            return Ok(None);
        };
        let user = self.user_by_id(UserId(uid)).await?;
        Ok(Some(SessionRecord {
            user,
            csrf_token,
            expires_at: ts(exp),
        }))
    }

    pub async fn delete_session(&self, token_hash: &str) -> Result<()> {
        in_tx!(self, tx, _pg => {
            sqlx::query("DELETE FROM user_session WHERE token_hash = $1").bind(token_hash).execute(&mut *tx).await?;
        });
        Ok(())
    }

    /// An integration token (acting as no user).
    pub async fn create_api_token(
        &self,
        name: &str,
        token_hash: &str,
        hint: &str,
        created_by: Option<UserId>,
    ) -> Result<prosa_domain::ApiTokenId> {
        self.create_api_token_as(name, token_hash, hint, created_by, None)
            .await
    }

    /// A token that acts as `user` when given (`NotFound` when there is no such user).
    pub async fn create_api_token_as(
        &self,
        name: &str,
        token_hash: &str,
        hint: &str,
        created_by: Option<UserId>,
        user: Option<UserId>,
    ) -> Result<prosa_domain::ApiTokenId> {
        let now = now_ms();
        let id: (i64,) = in_tx!(self, tx, _pg => {
            if let Some(u) = user {
                let found: Option<(i64,)> = sqlx::query_as("SELECT user_id FROM app_user WHERE user_id = $1")
                    .bind(u.0).fetch_optional(&mut *tx).await?;
                if found.is_none() {
                    return Err(StorageError::NotFound);
                }
            }
            sqlx::query_as("INSERT INTO api_token (name, token_hash, hint, created_by, user_id, revoked, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, FALSE, $6, $6) RETURNING api_token_id")
                .bind(name).bind(token_hash).bind(hint).bind(created_by.map(|u| u.0)).bind(user.map(|u| u.0)).bind(now).fetch_one(&mut *tx).await?
        });
        Ok(prosa_domain::ApiTokenId(id.0))
    }

    /// The token behind a hash, when not revoked.
    pub async fn api_token_by_hash(&self, token_hash: &str) -> Result<Option<ApiToken>> {
        let row: Option<ApiTokenRow> = on_read!(self, pool => {
            sqlx::query_as("SELECT api_token_id, name, hint, user_id, revoked, created_at, last_used_at FROM api_token WHERE token_hash = $1 AND NOT revoked")
                .bind(token_hash).fetch_optional(pool).await?
        });
        Ok(
            row.map(|(id, name, hint, user, revoked, at, used)| ApiToken {
                id: prosa_domain::ApiTokenId(id),
                name,
                hint,
                user_id: user.map(UserId),
                revoked,
                created_at: ts(at),
                last_used_at: used.map(ts),
            }),
        )
    }
}
