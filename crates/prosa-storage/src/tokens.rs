//! API tokens: listing (never the secret) and revocation. Creation and lookup are in `users`.

use crate::users::{ApiToken, ApiTokenRow};
use crate::*;
use prosa_domain::ApiTokenId;

/// How often a token's "last used" time is written: at most once a minute per token, so that
/// a busy integration does not turn every request into a write.
const LAST_USED_RESOLUTION_MS: i64 = 60_000;

impl Store {
    /// Every token, newest first, revoked ones included (marked).
    pub async fn list_api_tokens(&self) -> Result<Vec<ApiToken>> {
        let rows: Vec<ApiTokenRow> = on_read!(self, pool => {
            sqlx::query_as("SELECT api_token_id, name, hint, user_id, revoked, created_at, last_used_at FROM api_token ORDER BY api_token_id DESC")
                .fetch_all(pool).await?
        });
        Ok(rows
            .into_iter()
            .map(|(id, name, hint, user, revoked, at, used)| ApiToken {
                id: ApiTokenId(id),
                name,
                hint,
                user_id: user.map(prosa_domain::UserId),
                revoked,
                created_at: ts(at),
                last_used_at: used.map(ts),
            })
            .collect())
    }

    /// Revokes a token: requests with it are refused from now on. Returns the token as it was;
    /// revoking twice is harmless. `NotFound` when there is no such token.
    pub async fn revoke_api_token(&self, id: ApiTokenId) -> Result<ApiToken> {
        let now = now_ms();
        let row: Option<ApiTokenRow> = in_tx!(self, tx, _pg => {
            let row = sqlx::query_as("SELECT api_token_id, name, hint, user_id, revoked, created_at, last_used_at FROM api_token WHERE api_token_id = $1")
                .bind(id.0).fetch_optional(&mut *tx).await?;
            sqlx::query("UPDATE api_token SET revoked = TRUE, updated_at = $1 WHERE api_token_id = $2 AND NOT revoked")
                .bind(now).bind(id.0).execute(&mut *tx).await?;
            row
        });
        let (id, name, hint, user, revoked, at, used) = row.ok_or(StorageError::NotFound)?;
        Ok(ApiToken {
            id: ApiTokenId(id),
            name,
            hint,
            user_id: user.map(prosa_domain::UserId),
            revoked,
            created_at: ts(at),
            last_used_at: used.map(ts),
        })
    }

    /// Records that a token was just used, unless that was recorded less than a minute ago.
    pub async fn touch_api_token(&self, token: &ApiToken) -> Result<()> {
        let now = now_ms();
        if token
            .last_used_at
            .is_some_and(|t| now - ms(t) < LAST_USED_RESOLUTION_MS)
        {
            return Ok(());
        }
        in_tx!(self, tx, _pg => {
            sqlx::query("UPDATE api_token SET last_used_at = $1 WHERE api_token_id = $2 AND (last_used_at IS NULL OR last_used_at < $3)")
                .bind(now).bind(token.id.0).bind(now - LAST_USED_RESOLUTION_MS).execute(&mut *tx).await?;
        });
        Ok(())
    }
}
