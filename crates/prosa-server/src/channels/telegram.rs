//! Telegram wiring: `setWebhook` when an inbox is saved, callback answers, long polling.

use crate::state::AppState;
use prosa_domain::InboxId;
use prosa_domain::model::{ChannelKind, Inbox};
use serde_json::Value;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn polling(inbox: &Inbox) -> bool {
    inbox.settings.get("mode").and_then(Value::as_str) == Some("polling")
}

/// After a Telegram inbox is created or updated: registers the webhook (with the secret token)
/// when `public_url` is configured, or removes it in polling mode. A failure is recorded as the
/// inbox's last error and returned.
pub async fn setup_inbox(state: &AppState, inbox: &Inbox) -> Result<(), String> {
    if inbox.kind != ChannelKind::Telegram || !inbox.active {
        return Ok(());
    }
    let result = if polling(inbox) {
        prosa_channel_telegram::api::delete_webhook(&state.http, &inbox.settings, false).await
    } else if let Some(base) = &state.config.public_url {
        let url = format!(
            "{}/webhooks/telegram/{}",
            base.trim_end_matches('/'),
            inbox.id.0
        );
        let secret = inbox
            .settings
            .get("secret_token")
            .and_then(Value::as_str)
            .unwrap_or_default();
        prosa_channel_telegram::api::set_webhook(
            &state.http,
            &inbox.settings,
            &url,
            secret,
            Some(&[
                "message",
                "edited_message",
                "callback_query",
                "my_chat_member",
            ]),
        )
        .await
    } else {
        return Ok(());
    };
    match result {
        Ok(()) => Ok(()),
        Err(e) => {
            let msg = format!("telegram: {e}");
            tracing::warn!(inbox_id = inbox.id.0, error = %msg, "telegram setup failed");
            let _ = state.store.record_inbox_error(inbox.id, &msg).await;
            Err(msg)
        }
    }
}

/// Best effort: stops the spinner on the subscriber's button.
pub async fn answer_callback(state: &AppState, inbox: &Inbox, item: &prosa_channel::InboundItem) {
    let Some(id) = prosa_channel_telegram::callback_query_id(item) else {
        return;
    };
    if let Err(e) =
        prosa_channel_telegram::api::answer_callback_query(&state.http, &inbox.settings, id, None)
            .await
    {
        tracing::info!(inbox_id = inbox.id.0, error = %e, "answerCallbackQuery failed");
    }
}

fn offset_key(id: InboxId) -> String {
    format!("telegram.offset.{}", id.0)
}

/// Long polling for Telegram inboxes with `"mode": "polling"`: one task per inbox, started
/// and stopped as inboxes change (checked every few seconds).
pub async fn run_polling(state: AppState) {
    let running: Arc<Mutex<HashSet<i64>>> = Arc::default();
    loop {
        if let Ok(inboxes) = state.store.list_inboxes().await {
            for inbox in inboxes {
                if inbox.kind != ChannelKind::Telegram || !inbox.active || !polling(&inbox) {
                    continue;
                }
                let fresh = running.lock().expect("poll set").insert(inbox.id.0);
                if fresh {
                    let state = state.clone();
                    let running = running.clone();
                    tokio::spawn(async move {
                        poll_inbox(&state, inbox.id).await;
                        running.lock().expect("poll set").remove(&inbox.id.0);
                    });
                }
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(2)) => {}
            _ = state.shutdown.wait() => return,
        }
    }
}

async fn poll_inbox(state: &AppState, id: InboxId) {
    let mut failures = 0u32;
    loop {
        if state.shutdown.is_triggered() {
            return;
        }
        let Ok(inbox) = state.store.inbox_by_id(id).await else {
            return;
        };
        if !inbox.active || !polling(&inbox) {
            return;
        }
        let offset = state
            .store
            .setting(&offset_key(id))
            .await
            .ok()
            .flatten()
            .and_then(|v| v.as_i64());
        let timeout = 25;
        let got = tokio::select! {
            r = prosa_channel_telegram::api::get_updates(&state.http, &inbox.settings, offset, timeout) => r,
            _ = state.shutdown.wait() => return,
        };
        match got {
            Ok(updates) => {
                failures = 0;
                let mut max = offset.map(|o| o - 1);
                for update in &updates {
                    let uid = update.get("update_id").and_then(Value::as_i64);
                    match prosa_channel_telegram::parse_update(update) {
                        Ok(items) => {
                            let raw = update.to_string();
                            if let Err(e) = super::store_items(state, &inbox, &items, &raw).await {
                                // Not confirmed: fetched again next time.
                                tracing::warn!(error = %e, "storing polled telegram update");
                                break;
                            }
                        }
                        Err(e) => tracing::info!(error = %e, "unreadable telegram update skipped"),
                    }
                    if let Some(u) = uid {
                        max = Some(max.map_or(u, |m: i64| m.max(u)));
                    }
                }
                if let Some(m) = max
                    && Some(m + 1) != offset
                {
                    let _ = state
                        .store
                        .put_setting(&offset_key(id), &Value::from(m + 1))
                        .await;
                }
                if updates.is_empty() {
                    // A real long poll already waited; a server answering at once must not spin.
                    tokio::time::sleep(Duration::from_millis(300)).await;
                }
            }
            Err(e) => {
                failures += 1;
                let _ = state
                    .store
                    .record_inbox_error(id, &format!("telegram getUpdates: {e}"))
                    .await;
                let wait = Duration::from_millis(500 * u64::from(failures.min(60)));
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = state.shutdown.wait() => return,
                }
            }
        }
    }
}
