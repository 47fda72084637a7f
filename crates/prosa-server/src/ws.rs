//! The panel's one WebSocket: every event the user may see, in order, resumable from a cursor.

use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::hub::{Frame, catch_up};
use crate::state::AppState;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use prosa_domain::EventId;
use prosa_domain::model::Viewer;
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;
use tokio::sync::broadcast::error::RecvError;

#[derive(Debug, Deserialize)]
pub struct WsQuery {
    /// The id of the last event the client has; events after it are sent first.
    pub since: Option<i64>,
}

pub async fn upgrade(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    Query(q): Query<WsQuery>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    // A browser page from another site must not ride the session cookie.
    if let Some(origin) = headers.get("origin").and_then(|v| v.to_str().ok()) {
        let host = headers
            .get("host")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if origin.split("://").nth(1) != Some(host) {
            return Err(ApiError::Forbidden);
        }
    }
    let viewer = who.viewer(state.config.team_visibility);
    Ok(ws
        .max_message_size(64 * 1024)
        .on_upgrade(move |socket| serve(state, viewer, q.since.map(EventId), socket)))
}

async fn send(socket: &mut WebSocket, text: &str) -> bool {
    send_shared(socket, text.to_owned().into()).await
}

/// Sends a frame's bytes without copying them (they are shared by every socket).
async fn send_shared(socket: &mut WebSocket, text: axum::extract::ws::Utf8Bytes) -> bool {
    socket.send(Message::Text(text)).await.is_ok()
}

async fn send_catch_up(
    state: &AppState,
    socket: &mut WebSocket,
    viewer: &Viewer,
    cursor: &mut EventId,
) -> bool {
    loop {
        let frames: Vec<Frame> = match catch_up(&state.store, *cursor, viewer, 500).await {
            Ok(f) => f,
            Err(_) => return false,
        };
        let n = frames.len();
        for f in frames {
            *cursor = f.event.id;
            if !send_shared(socket, f.text).await {
                return false;
            }
        }
        if n < 500 {
            return true;
        }
    }
}

async fn serve(state: AppState, viewer: Viewer, since: Option<EventId>, mut socket: WebSocket) {
    state.metrics.ws_clients.inc();
    let mut live = state.hub.subscribe();
    let mut cursor = match since {
        Some(c) => {
            let first = state.store.first_event_id().await.unwrap_or(EventId(0));
            if first.0 > 0 && c.0 + 1 < first.0 {
                // Too old to replay: the client reloads once, then follows from now.
                let _ = send(&mut socket, &json!({"v": 1, "type": "reload"}).to_string()).await;
                state.store.last_event_id().await.unwrap_or(c)
            } else {
                c
            }
        }
        None => state.store.last_event_id().await.unwrap_or(EventId(0)),
    };
    let ok = send_catch_up(&state, &mut socket, &viewer, &mut cursor).await
        && send(
            &mut socket,
            &json!({"v": 1, "type": "hello", "cursor": cursor.0}).to_string(),
        )
        .await;
    if ok {
        loop {
            tokio::select! {
                frame = live.recv() => match frame {
                    Ok(frame) => {
                        let frame: Arc<Frame> = frame;
                        if frame.event.id <= cursor { continue; }
                        cursor = frame.event.id;
                        if frame.visible_to(&viewer) && !send_shared(&mut socket, frame.text.clone()).await { break; }
                    }
                    Err(RecvError::Lagged(_)) => {
                        if !send_catch_up(&state, &mut socket, &viewer, &mut cursor).await { break; }
                    }
                    Err(RecvError::Closed) => break,
                },
                incoming = socket.recv() => match incoming {
                    Some(Ok(Message::Text(t))) => {
                        if t.as_str().contains("\"ping\"") && !send(&mut socket, "{\"v\":1,\"type\":\"pong\"}").await { break; }
                    }
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                    Some(Ok(_)) => {}
                },
                _ = state.shutdown.wait() => break,
            }
        }
    }
    state.metrics.ws_clients.dec();
}
