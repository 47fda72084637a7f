//! Inbound webhooks: verified on the raw bytes, stored (deduplicated), then acknowledged.

use crate::error::ApiError;
use crate::state::AppState;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use prosa_channel::{InboundRequest, VerifyError};
use prosa_domain::InboxId;
use prosa_domain::model::ChannelKind;
use serde_json::json;
use std::time::Instant;

async fn inbox_for(
    state: &AppState,
    kind_segment: &str,
    inbox_id: &str,
) -> Result<prosa_domain::model::Inbox, ApiError> {
    let id: i64 = inbox_id.parse().map_err(|_| ApiError::NotFound)?;
    let inbox = state.store.inbox_by_id(InboxId(id)).await?;
    if crate::dto::webhook_segment(inbox.kind) != kind_segment || !inbox.active {
        return Err(ApiError::NotFound);
    }
    Ok(inbox)
}

/// `POST /webhooks/{kind}/{inbox_id}`.
pub async fn receive(
    State(state): State<AppState>,
    Path((kind, inbox_id)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    let inbox = inbox_for(&state, &kind, &inbox_id).await?;
    let label = crate::metrics::Metrics::channel(inbox.kind);
    let adapter = state
        .channels
        .get(inbox.kind)
        .ok_or(ApiError::NotFound)?
        .clone();
    let request = InboundRequest {
        headers: &headers,
        query: query.as_deref(),
        body: &body,
    };
    if let Err(e) = adapter.verify(&inbox.settings, &request).await {
        state.metrics.webhook_rejected.get_or_create(&label).inc();
        tracing::info!(inbox_id = inbox.id.0, reason = %e, "webhook refused");
        return Ok(match e {
            VerifyError::Misconfigured(_) => (
                StatusCode::FORBIDDEN,
                Json(json!({"error": "forbidden", "message": e.to_string()})),
            )
                .into_response(),
            _ => (
                StatusCode::UNAUTHORIZED,
                Json(json!({"error": "unauthorized", "message": e.to_string()})),
            )
                .into_response(),
        });
    }
    if inbox.kind == ChannelKind::WhatsappEvolution {
        crate::channels::pairing::on_webhook(&state, &inbox, &body).await;
    }
    let items = adapter.parse(&inbox.settings, &request).map_err(|e| {
        state.metrics.webhook_rejected.get_or_create(&label).inc();
        ApiError::invalid(e.field, e.problem)
    })?;
    let raw = String::from_utf8_lossy(&body);
    crate::channels::store_items(&state, &inbox, &items, &raw).await?;
    state
        .metrics
        .webhook_latency
        .observe(started.elapsed().as_secs_f64());
    Ok(match inbox.kind {
        ChannelKind::Api => Json(json!({"status": "accepted"})).into_response(),
        _ => (StatusCode::OK, adapter.ack_body()).into_response(),
    })
}

/// `GET /webhooks/{kind}/{inbox_id}`: the provider's subscription handshake.
pub async fn handshake(
    State(state): State<AppState>,
    Path((kind, inbox_id)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let inbox = inbox_for(&state, &kind, &inbox_id).await?;
    let adapter = state.channels.get(inbox.kind).ok_or(ApiError::NotFound)?;
    match adapter.handshake(&inbox.settings, query.as_deref()) {
        None => Err(ApiError::NotFound),
        Some(Ok(challenge)) => Ok((StatusCode::OK, challenge).into_response()),
        Some(Err(_)) => Err(ApiError::Forbidden),
    }
}
