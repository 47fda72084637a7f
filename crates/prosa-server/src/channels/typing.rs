//! Typing indicators: the visitor typing in the website chat shows "digitando…" in the panel,
//! an operator typing shows "Atendente digitando…" in the widget. They travel as `typing`
//! events of the conversation (never as messages), at most one per side every
//! [`MIN_GAP_MS`] per conversation, whatever the clients send.

use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use prosa_domain::event::DomainEvent;
use prosa_domain::model::{Conversation, ConversationStatus};
use prosa_storage::events::EventScope;

/// The shortest gap between two typing events of one side of a conversation.
pub const MIN_GAP_MS: i64 = 2_000;

/// The author of the visitor's typing events.
pub const CONTACT: &str = "contact";
/// The author of operators' typing events.
pub const AGENT: &str = "agent";

/// Records a typing event for a conversation that is not resolved. Returns whether it was
/// recorded (false when throttled or resolved).
pub async fn publish(
    state: &AppState,
    c: &Conversation,
    author: &str,
) -> Result<bool, prosa_storage::StorageError> {
    if c.status == ConversationStatus::Resolved {
        return Ok(false);
    }
    state
        .store
        .publish_typing(
            &DomainEvent::Typing {
                conversation_id: c.id,
                author: author.to_owned(),
            },
            EventScope {
                status: Some(c.status),
                assignee_id: c.assignee_id,
                team_id: c.team_id,
                user_id: None,
            },
            MIN_GAP_MS,
        )
        .await
}

/// `POST /api/v1/conversations/{id}/typing`: the operator is typing a reply. Answers 202 when
/// the event went out and 204 when it was absorbed by the throttle.
#[utoipa::path(post, path = "/api/v1/conversations/{id}/typing", responses((status = 202), (status = 204), (status = 404), (status = 422)), tag = "conversations")]
pub async fn operator_typing(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let c = crate::api::visible_conversation(&state, &who, &id).await?;
    if c.status == ConversationStatus::Resolved {
        return Err(ApiError::invalid("status", "the conversation is resolved"));
    }
    Ok(if publish(&state, &c, AGENT).await? {
        StatusCode::ACCEPTED
    } else {
        StatusCode::NO_CONTENT
    })
}
