//! Live events for panel clients. One reader task per instance follows the event log (woken by
//! this instance's commits, by PostgreSQL NOTIFY from other instances, and by a slow tick as a
//! safety net), turns each event into a wire frame once, and broadcasts it to the WebSockets of
//! this instance, which filter by what their user may see.

use crate::dto::{ConversationDto, MessageDto};
use prosa_domain::EventId;
use prosa_domain::event::{DomainEvent, StoredEvent};
use prosa_domain::model::Viewer;
use prosa_storage::Store;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;

/// An event ready to send: who may see it and its frame.
#[derive(Debug)]
pub struct Frame {
    pub event: StoredEvent,
    /// Serialized once; every socket that sends it shares the same bytes.
    pub text: axum::extract::ws::Utf8Bytes,
}

impl Frame {
    pub fn visible_to(&self, viewer: &Viewer) -> bool {
        if let Some(user) = self.event.user_id {
            return viewer.user_id == Some(user);
        }
        match self.event.status {
            Some(status) => viewer.may_see(status, self.event.assignee_id, self.event.team_id),
            None => viewer.role.sees_everything(),
        }
    }
}

#[derive(Clone)]
pub struct EventHub {
    tx: broadcast::Sender<Arc<Frame>>,
    /// The id of the last event the reader has passed (what pruning must not go beyond).
    cursor: Arc<std::sync::atomic::AtomicI64>,
}

impl Default for EventHub {
    fn default() -> EventHub {
        // A client further behind than this is dropped and resumes from its cursor.
        let (tx, _) = broadcast::channel(4096);
        EventHub {
            tx,
            cursor: Arc::default(),
        }
    }
}

impl EventHub {
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Frame>> {
        self.tx.subscribe()
    }

    /// The last event the reader has passed; 0 before it started.
    pub fn cursor(&self) -> EventId {
        EventId(self.cursor.load(std::sync::atomic::Ordering::Acquire))
    }

    fn set_cursor(&self, id: EventId) {
        self.cursor
            .store(id.0, std::sync::atomic::Ordering::Release);
    }
}

/// Builds the wire frame of an event, reading what the client needs to show it.
pub async fn frame_for(store: &Store, event: StoredEvent) -> Frame {
    let mut body = json!({"v": 1, "id": event.id.0, "type": event.event.kind()});
    if let Some(c) = event.event.conversation_id() {
        body["conversation_id"] = json!(c.0.to_string());
    }
    match &event.event {
        DomainEvent::MessageCreated { message_id, .. }
        | DomainEvent::MessageStatusChanged { message_id, .. } => {
            if let Ok(m) = store.message_by_id(*message_id).await {
                body["message"] = json!(MessageDto::from(&m));
            }
        }
        DomainEvent::ConversationCreated { conversation_id }
        | DomainEvent::ConversationUpdated { conversation_id } => {
            if let Ok(c) = store.conversation_by_id(*conversation_id).await {
                body["conversation"] = json!(ConversationDto::from(&c));
            }
        }
        DomainEvent::NotificationCreated {
            notification_id, ..
        } => body["notification_id"] = json!(notification_id.0.to_string()),
        DomainEvent::UserUpdated { user_id } => body["user_id"] = json!(user_id.0.to_string()),
        DomainEvent::Typing { author, .. } => body["author"] = json!(author),
    }
    Frame {
        text: body.to_string().into(),
        event,
    }
}

/// Follows the event log from its current end and broadcasts each event once.
pub async fn run_reader(
    store: Store,
    hub: EventHub,
    shutdown: crate::state::tokio_util_shutdown::Shutdown,
) {
    let mut cursor = loop {
        match store.last_event_id().await {
            Ok(id) => break id,
            Err(e) => {
                tracing::warn!(error = %e, "event reader cannot start yet");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    _ = shutdown.wait() => return,
                }
            }
        }
    };
    hub.set_cursor(cursor);
    loop {
        match store.events_after(cursor, 500).await {
            Ok(events) => {
                let full = events.len() == 500;
                for e in events {
                    cursor = e.id;
                    if crate::panel::assign::wakes_assignment(&e.event) {
                        store.signals.assign.notify_one();
                    }
                    // Nobody listening: no frame to build. A client that subscribes from now on
                    // reads this event from the log when it catches up (it subscribes first).
                    if hub.tx.receiver_count() == 0 {
                        continue;
                    }
                    let frame = frame_for(&store, e).await;
                    let _ = hub.tx.send(Arc::new(frame));
                }
                hub.set_cursor(cursor);
                if full {
                    continue;
                }
            }
            Err(e) => tracing::warn!(error = %e, "reading events"),
        }
        tokio::select! {
            _ = store.signals.events.notified() => {}
            _ = tokio::time::sleep(Duration::from_millis(1000)) => {}
            _ = shutdown.wait() => return,
        }
    }
}

/// On PostgreSQL, turns NOTIFY from any instance into this instance's wake-ups.
pub async fn run_pg_listener(store: Store, shutdown: crate::state::tokio_util_shutdown::Shutdown) {
    let Some(pool) = store.pg_pool().cloned() else {
        return;
    };
    loop {
        let mut listener = match sqlx::postgres::PgListener::connect_with(&pool).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "LISTEN connection failed; retrying");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
                    _ = shutdown.wait() => return,
                }
            }
        };
        if let Err(e) = listener
            .listen_all(["prosa_events", "prosa_outbox", "prosa_inbound"])
            .await
        {
            tracing::warn!(error = %e, "LISTEN failed; retrying");
            continue;
        }
        // Anything missed while disconnected is picked up by re-reading.
        store.signals.events.notify_one();
        store.signals.outbox.notify_one();
        store.signals.inbound.notify_one();
        loop {
            tokio::select! {
                n = listener.recv() => match n {
                    Ok(n) => match n.channel() {
                        "prosa_events" => store.signals.events.notify_one(),
                        "prosa_outbox" => store.signals.outbox.notify_one(),
                        "prosa_inbound" => store.signals.inbound.notify_one(),
                        _ => {}
                    },
                    Err(e) => {
                        tracing::warn!(error = %e, "LISTEN connection lost; reconnecting");
                        break;
                    }
                },
                _ = shutdown.wait() => return,
            }
        }
    }
}

/// Events after `cursor` the viewer may see, for a client catching up.
pub async fn catch_up(
    store: &Store,
    cursor: EventId,
    viewer: &Viewer,
    limit: i64,
) -> prosa_storage::Result<Vec<Frame>> {
    let events = store.events_after(cursor, limit).await?;
    let mut out = Vec::with_capacity(events.len());
    for e in events {
        let f = frame_for(store, e).await;
        if f.visible_to(viewer) {
            out.push(f);
        } else {
            // Keep the cursor moving for the client: an empty frame with only the id.
            out.push(Frame {
                text: json!({"v": 1, "id": f.event.id.0, "type": "skip"})
                    .to_string()
                    .into(),
                event: f.event,
            });
        }
    }
    Ok(out)
}
