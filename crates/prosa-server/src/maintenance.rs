//! Periodic clean-up: the event log beyond its retention, expired login-failure records, and
//! outbox pace records that hold nothing back any more.

use crate::state::AppState;
use jiff::{SignedDuration, Timestamp};
use std::time::Duration;

/// How often the clean-up runs.
const INTERVAL: Duration = Duration::from_secs(3600);

/// Runs [`prune_once`] a minute after start (the event reader has found its place by then)
/// and then hourly until shutdown.
pub async fn run(state: AppState) {
    let mut wait = Duration::from_secs(60);
    loop {
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = state.shutdown.wait() => return,
        }
        if let Err(e) = prune_once(&state, Timestamp::now()).await {
            tracing::warn!(error = %e, "periodic clean-up failed");
        }
        wait = INTERVAL;
    }
}

/// Drops events older than the retention that this instance's live reader has already passed
/// (a client whose cursor is older than the oldest kept event reloads once, see `ws.rs`), and
/// login failures older than the throttling window. Returns the number of events dropped.
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
    Ok(events)
}
