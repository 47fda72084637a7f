//! API tokens of integrations: list (never the secret) and revoke. Creating one is
//! `POST /api/v1/tokens` in `api.rs`.

use crate::auth::Admin;
use crate::error::ApiError;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use prosa_domain::ApiTokenId;
use prosa_storage::AuditEntry;
use prosa_storage::users::ApiToken;
use serde::Serialize;
use utoipa::ToSchema;

/// An API token as listed: its secret is shown only once, when it is created.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiTokenDto {
    pub id: String,
    pub name: String,
    /// The first characters of the token, to tell tokens apart.
    pub hint: String,
    /// The user the token acts as; `null` for an integration token (administrator scope,
    /// automated messages).
    pub user_id: Option<String>,
    pub revoked: bool,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339; recorded at most once a minute.
    pub last_used_at: Option<String>,
}

impl From<&ApiToken> for ApiTokenDto {
    fn from(t: &ApiToken) -> ApiTokenDto {
        ApiTokenDto {
            id: t.id.0.to_string(),
            name: t.name.clone(),
            hint: t.hint.clone(),
            user_id: t.user_id.map(|u| u.0.to_string()),
            revoked: t.revoked,
            created_at: t.created_at.to_string(),
            last_used_at: t.last_used_at.map(|t| t.to_string()),
        }
    }
}

#[utoipa::path(get, path = "/api/v1/tokens", responses((status = 200, body = [ApiTokenDto]), (status = 403)), tag = "operations")]
pub async fn token_list(
    State(state): State<AppState>,
    Admin(_who): Admin,
) -> Result<Json<Vec<ApiTokenDto>>, ApiError> {
    let tokens = state.store.list_api_tokens().await?;
    Ok(Json(tokens.iter().map(ApiTokenDto::from).collect()))
}

#[utoipa::path(delete, path = "/api/v1/tokens/{id}", params(("id" = String, Path, description = "The token's id")), responses((status = 204, description = "Revoked (also when it already was)"), (status = 404), (status = 403)), tag = "operations")]
pub async fn token_revoke(
    State(state): State<AppState>,
    Admin(who): Admin,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id: i64 = id.parse().map_err(|_| ApiError::NotFound)?;
    let token = state.store.revoke_api_token(ApiTokenId(id)).await?;
    if !token.revoked {
        state
            .store
            .record_audit(&AuditEntry {
                actor_user_id: who.user_id(),
                actor: who.actor(),
                action: "token.revoke".into(),
                target: format!("token:{id}"),
                detail: serde_json::json!({"name": token.name}),
            })
            .await?;
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
