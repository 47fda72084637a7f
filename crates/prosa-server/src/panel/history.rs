//! Earlier conversations of the same subscriber, beside the chat. Whoever may see a
//! conversation serves this subscriber, so they may read the subscriber's earlier
//! conversations too (read-only); private notes of an earlier conversation are shown only to
//! someone who may see that conversation itself.

use crate::api::visible_conversation;
use crate::auth::Authenticated;
use crate::dto::MessageDto;
use crate::error::ApiError;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use prosa_domain::*;
use prosa_storage::conversations::ConversationFilter;
use serde::Serialize;
use utoipa::ToSchema;

/// How many earlier conversations are listed, and messages shown of one.
const EARLIER_LIMIT: i64 = 20;
const EARLIER_MESSAGES: i64 = 500;

#[derive(Debug, Serialize, ToSchema)]
pub struct EarlierConversationDto {
    pub id: String,
    /// `bot`, `waiting`, `open` or `resolved`.
    pub status: String,
    pub inbox_name: String,
    /// The closing category, if it was closed with one.
    pub category: Option<String>,
    #[schema(value_type = String)]
    pub created_at: jiff::Timestamp,
    #[schema(value_type = Option<String>)]
    pub resolved_at: Option<jiff::Timestamp>,
}

#[utoipa::path(get, path = "/api/v1/conversations/{id}/earlier", responses((status = 200, body = Vec<EarlierConversationDto>), (status = 404)), tag = "panel")]
pub async fn earlier(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    Path(id): Path<String>,
) -> Result<Json<Vec<EarlierConversationDto>>, ApiError> {
    let c = visible_conversation(&state, &who, &id).await?;
    let list = state
        .store
        .list_conversations(&ConversationFilter {
            contact_id: Some(c.contact_id),
            before: Some(c.id),
            limit: EARLIER_LIMIT,
            ..Default::default()
        })
        .await?;
    let inboxes = state.store.list_inboxes().await?;
    let categories = state.store.list_categories(true).await?;
    Ok(Json(
        list.iter()
            .map(|e| EarlierConversationDto {
                id: e.id.0.to_string(),
                status: e.status.as_str().into(),
                inbox_name: inboxes
                    .iter()
                    .find(|i| i.id == e.inbox_id)
                    .map(|i| i.name.clone())
                    .unwrap_or_default(),
                category: e.category_id.and_then(|cat| {
                    categories
                        .iter()
                        .find(|x| x.id == cat)
                        .map(|x| x.name.clone())
                }),
                created_at: e.created_at,
                resolved_at: e.resolved_at,
            })
            .collect(),
    ))
}

#[utoipa::path(get, path = "/api/v1/conversations/{id}/earlier/{earlier_id}/messages", responses((status = 200, body = Vec<MessageDto>), (status = 404)), tag = "panel")]
pub async fn earlier_messages(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    Path((id, earlier_id)): Path<(String, String)>,
) -> Result<Json<Vec<MessageDto>>, ApiError> {
    let c = visible_conversation(&state, &who, &id).await?;
    let eid = ConversationId(earlier_id.trim().parse().map_err(|_| ApiError::NotFound)?);
    let e = state
        .store
        .conversation_by_id(eid)
        .await
        .map_err(|_| ApiError::NotFound)?;
    // Only an earlier conversation of the same subscriber.
    if e.contact_id != c.contact_id || e.id >= c.id {
        return Err(ApiError::NotFound);
    }
    let notes =
        who.viewer(state.config.team_visibility)
            .may_see(e.status, e.assignee_id, e.team_id);
    let list = state
        .store
        .list_messages(e.id, None, None, EARLIER_MESSAGES)
        .await?;
    Ok(Json(
        list.iter()
            .filter(|m| notes || !m.private)
            .map(MessageDto::from)
            .collect(),
    ))
}
