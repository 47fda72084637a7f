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
    let inbox = state.store.inbox_for_webhook(InboxId(id)).await?;
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
        return Ok(refusal(&state, inbox.kind, Some(inbox.id), &e));
    }
    if inbox.kind == ChannelKind::WhatsappEvolution {
        crate::channels::pairing::on_webhook(&state, &inbox, &body).await;
    }
    // A Meta app posts every Page, account and number it has to the URL it was given: the
    // entries of the app's other inboxes go to them, as on `/webhooks/meta`.
    if crate::channels::meta::is_meta(inbox.kind) {
        let secret = inbox
            .settings
            .get("app_secret")
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default();
        let inboxes = crate::channels::meta::meta_inboxes(&state).await?;
        crate::channels::meta::route_verified(&state, &headers, &body, secret, &inboxes).await?;
        state
            .metrics
            .webhook_latency
            .observe(started.elapsed().as_secs_f64());
        return Ok((StatusCode::OK, adapter.ack_body()).into_response());
    }
    let raw = String::from_utf8_lossy(&body);
    let items = match adapter.parse(&inbox.settings, &request) {
        Ok(items) => items,
        // The API channel's callers are the ISP's own systems: they get the field at fault.
        Err(e) if inbox.kind == ChannelKind::Api => {
            state.metrics.webhook_rejected.get_or_create(&label).inc();
            return Err(ApiError::invalid(e.field, e.problem));
        }
        // A provider retries anything but 200 (Meta for days): a verified body Prosa cannot
        // read is kept for inspection, shown as the inbox's last error, and acknowledged.
        Err(e) => {
            unhandled(&state, &inbox, None, &format!("unreadable body: {e}"), &raw).await?;
            Vec::new()
        }
    };
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

/// The answer to a request that failed verification: 401 (forged or expired), 403 (the inbox
/// cannot verify this kind of request), or 503 when verification is impossible right now (a
/// provider key endpoint down) so that the provider retries.
pub fn refusal(
    state: &AppState,
    kind: ChannelKind,
    inbox: Option<InboxId>,
    e: &VerifyError,
) -> Response {
    let label = crate::metrics::Metrics::channel(kind);
    let (status, code) = match e {
        VerifyError::Unavailable(_) => {
            state
                .metrics
                .webhook_unavailable
                .get_or_create(&label)
                .inc();
            tracing::warn!(inbox_id = inbox.map(|i| i.0), reason = %e, "webhook not verifiable now; the provider will retry");
            let mut r = (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"error": "unavailable", "message": e.to_string()})),
            )
                .into_response();
            r.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static("30"),
            );
            return r;
        }
        VerifyError::Misconfigured(_) => (StatusCode::FORBIDDEN, "forbidden"),
        _ => (StatusCode::UNAUTHORIZED, "unauthorized"),
    };
    state.metrics.webhook_rejected.get_or_create(&label).inc();
    tracing::info!(inbox_id = inbox.map(|i| i.0), reason = %e, "webhook refused");
    (
        status,
        Json(json!({"error": code, "message": e.to_string()})),
    )
        .into_response()
}

/// Records verified content that reached no message (kept, counted, logged, and shown as the
/// inbox's last error when there is an inbox).
pub async fn unhandled(
    state: &AppState,
    inbox: &prosa_domain::model::Inbox,
    route_key: Option<&str>,
    reason: &str,
    raw: &str,
) -> Result<(), ApiError> {
    tracing::warn!(
        inbox_id = inbox.id.0,
        reason,
        "webhook content not usable; kept and acknowledged"
    );
    state
        .metrics
        .webhook_unhandled
        .get_or_create(&crate::metrics::Metrics::channel(inbox.kind))
        .inc();
    state
        .store
        .record_unhandled_webhook(&prosa_storage::webhooks::NewUnhandled {
            inbox_id: Some(inbox.id),
            kind: inbox.kind,
            route_key,
            reason,
            raw,
        })
        .await?;
    state.store.record_inbox_error(inbox.id, reason).await?;
    Ok(())
}
