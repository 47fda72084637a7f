//! Periodic clean-up: the event log beyond its retention, expired login-failure records,
//! outbox pace records that hold nothing back any more, and one-time secrets of saves whose
//! page was never opened.

use crate::state::AppState;
use jiff::{SignedDuration, Timestamp};
use std::time::Duration;

/// How often the clean-up runs.
const INTERVAL: Duration = Duration::from_secs(3600);

/// How often one-time secrets waiting to be shown are checked: often enough that none outlives
/// its ten minutes by much.
const SECRETS_INTERVAL: Duration = Duration::from_secs(120);

/// Runs [`prune_once`] a minute after start (the event reader has found its place by then)
/// and then hourly until shutdown; [`expire_secrets`] every two minutes.
pub async fn run(state: AppState) {
    let mut full = tokio::time::Instant::now() + Duration::from_secs(60);
    let mut secrets = tokio::time::Instant::now() + SECRETS_INTERVAL;
    loop {
        tokio::select! {
            _ = tokio::time::sleep_until(full.min(secrets)) => {}
            _ = state.shutdown.wait() => return,
        }
        let now = tokio::time::Instant::now();
        if now >= full {
            if let Err(e) = prune_once(&state, Timestamp::now()).await {
                tracing::warn!(error = %e, "periodic clean-up failed");
            }
            full = now + INTERVAL;
            secrets = now + SECRETS_INTERVAL;
        } else {
            if let Err(e) = expire_secrets(&state, Timestamp::now()).await {
                tracing::warn!(error = %e, "expiring one-time secrets failed");
            }
            secrets = now + SECRETS_INTERVAL;
        }
    }
}

/// Removes the one-time secrets of saves (shown once on the inbox page right after saving)
/// that nobody came to see within their ten minutes.
pub async fn expire_secrets(state: &AppState, now: Timestamp) -> anyhow::Result<u64> {
    let n = crate::admin::pages::inboxes::expire_flashes(state, now).await?;
    if n > 0 {
        tracing::info!(count = n, "expired one-time secrets never shown");
    }
    Ok(n)
}

/// Drops events older than the retention that this instance's live reader has already passed
/// (a client whose cursor is older than the oldest kept event reloads once, see `ws.rs`), and
/// login failures older than the throttling window, outbox pace records in the past, queue
/// stays older than the event retention and expired one-time secrets. Returns the number of events dropped.
pub async fn prune_once(state: &AppState, now: Timestamp) -> anyhow::Result<u64> {
    let retention = SignedDuration::from_hours(i64::from(state.config.event_retention_days) * 24);
    let cursor = state.hub.cursor();
    let events = state
        .store
        .prune_events_behind(now - retention, cursor)
        .await?;
    if events > 0 {
        tracing::info!(events, "pruned old events");
    }
    let window = SignedDuration::from_secs(state.config.login_throttle.window_secs as i64);
    state.store.prune_login_failures(now - window).await?;
    state.store.prune_outbox_pace(now).await?;
    state.store.prune_queue_stays(now - retention).await?;
    expire_secrets(state, now).await?;
    Ok(events)
}
