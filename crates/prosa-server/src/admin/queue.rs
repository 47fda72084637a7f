//! Whether the human queue is open now, per inbox, read at the rules' clock: what the panel
//! shows above the waiting queue ("Fila fechada — abre segunda-feira às 08:00").

use super::{load_schedule, schedule_status};
use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

/// The queue of one inbox.
#[derive(Debug, Serialize, ToSchema)]
pub struct InboxQueueStatus {
    pub inbox_id: String,
    pub name: String,
    pub open: bool,
    /// When it opens next, in pt-BR ("segunda-feira às 08:00"); `null` when open.
    pub next_opening: Option<String>,
}

/// The queue of every active inbox.
#[derive(Debug, Serialize, ToSchema)]
pub struct QueueStatus {
    /// The instant the rules were evaluated at (RFC 3339).
    pub now: String,
    /// Whether the queue of at least one inbox is open.
    pub open: bool,
    pub inboxes: Vec<InboxQueueStatus>,
}

/// The status of every active inbox's queue at the rules' clock.
pub async fn queue_statuses(state: &AppState) -> Result<QueueStatus, ApiError> {
    let schedule = load_schedule(state).await?;
    let now = state.clock.now();
    let inboxes: Vec<InboxQueueStatus> = state
        .store
        .list_inboxes()
        .await?
        .into_iter()
        .filter(|i| i.active)
        .map(|i| {
            let (open, next_opening) = schedule_status(&schedule, i.id, now);
            InboxQueueStatus {
                inbox_id: i.id.0.to_string(),
                name: i.name,
                open,
                next_opening,
            }
        })
        .collect();
    Ok(QueueStatus {
        now: now.to_string(),
        open: inboxes.is_empty() || inboxes.iter().any(|i| i.open),
        inboxes,
    })
}

#[utoipa::path(get, path = "/api/v1/service-hours/queue", responses((status = 200, body = QueueStatus)), tag = "administration")]
pub async fn queue_status_all(
    State(state): State<AppState>,
    Authenticated(_who): Authenticated,
) -> Result<Json<QueueStatus>, ApiError> {
    Ok(Json(queue_statuses(&state).await?))
}
