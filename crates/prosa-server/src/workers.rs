//! Background work: turning stored inbound items into messages, and delivering the outbox.
//! Both are driven by the database, so a crash or a restart loses nothing: what was stored is
//! processed, what was queued is sent.

use crate::state::AppState;
use jiff::Timestamp;
use prosa_channel::{InboundItem, OutboundFile, OutboundMessage, SendContext, SendError};
use prosa_domain::model::{ConversationStatus, Inbox};
use prosa_storage::inbound::{IncomingItem, IncomingMessage, PendingInbound, Processed, Routing};
use prosa_storage::outbox::OutboxJob;
use std::collections::HashMap;
use std::time::Duration;
use tokio::task::JoinSet;

/// Attempts after which an inbound item that keeps failing is set aside.
const INBOUND_MAX_ATTEMPTS: i64 = 10;

/// Messages processed in one transaction. Bounded so that an acknowledgement waiting for the
/// single SQLite writer never waits long behind the processor.
const INBOUND_CHUNK: usize = 32;

pub async fn run_inbound(state: AppState) {
    loop {
        let batch = match state.store.pending_inbound(200).await {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(error = %e, "reading inbound items");
                Vec::new()
            }
        };
        let busy = !batch.is_empty();
        if !process_batch(&state, batch).await {
            return;
        }
        if busy {
            continue;
        }
        tokio::select! {
            _ = state.store.signals.inbound.notified() => {}
            _ = tokio::time::sleep(Duration::from_secs(2)) => {}
            _ = state.shutdown.wait() => return,
        }
    }
}

/// A stored message ready for batch processing.
struct Prepared {
    pending: PendingInbound,
    inbox: Inbox,
    incoming: IncomingMessage,
    has_media: bool,
    /// Telegram button presses are answered after storing.
    callback: Option<InboundItem>,
}

/// Processes pending items in order: runs of messages in chunks of [`INBOUND_CHUNK`] per
/// transaction, anything else one by one. Returns false when shutting down. When the database
/// is unavailable the round ends there and what follows is read again, so the order is kept.
async fn process_batch(state: &AppState, batch: Vec<PendingInbound>) -> bool {
    let mut inboxes: HashMap<prosa_domain::InboxId, Inbox> = HashMap::new();
    let mut chunk: Vec<Prepared> = Vec::with_capacity(INBOUND_CHUNK);
    for pending in batch {
        let prepared = match serde_json::from_str::<InboundItem>(&pending.item) {
            Ok(InboundItem::Message(m)) => {
                let inbox = match inboxes.get(&pending.inbox_id) {
                    Some(i) => Some(i.clone()),
                    None => match state.store.inbox_by_id(pending.inbox_id).await {
                        Ok(i) => {
                            inboxes.insert(i.id, i.clone());
                            Some(i)
                        }
                        // Reported by the one-by-one path below.
                        Err(_) => None,
                    },
                };
                inbox.map(|inbox| {
                    let callback = (inbox.kind == prosa_domain::model::ChannelKind::Telegram)
                        .then(|| InboundItem::Message(m.clone()));
                    Prepared {
                        has_media: m.content.attachments.iter().any(|a| a.url.is_some()),
                        incoming: incoming_of(m),
                        inbox,
                        pending: pending.clone(),
                        callback,
                    }
                })
            }
            _ => None,
        };
        match prepared {
            Some(p) => {
                chunk.push(p);
                if chunk.len() >= INBOUND_CHUNK
                    && !process_chunk(state, std::mem::take(&mut chunk)).await
                {
                    return !state.shutdown.is_triggered();
                }
            }
            None => {
                if !process_chunk(state, std::mem::take(&mut chunk)).await {
                    return !state.shutdown.is_triggered();
                }
                process_one(state, &pending).await;
            }
        }
        if state.shutdown.is_triggered() {
            return false;
        }
    }
    process_chunk(state, chunk).await;
    true
}

/// Processes a run of messages in one transaction; if that fails (other than the database
/// being unavailable), one by one so that a bad item fails alone. On SQLite a run gives way to
/// waiting webhooks after a few items and goes on in the next transaction. Returns false when
/// the database is unavailable: the rest stays pending and the round ends, so the order holds.
async fn process_chunk(state: &AppState, mut chunk: Vec<Prepared>) -> bool {
    while !chunk.is_empty() {
        let items: Vec<IncomingItem<'_>> = chunk
            .iter()
            .map(|p| IncomingItem {
                event: p.pending.id,
                inbox: p.inbox.id,
                message: &p.incoming,
                routing: routing_for(&p.inbox),
            })
            .collect();
        match state.store.process_incoming_messages(&items).await {
            Ok(results) => {
                drop(items);
                let rest = chunk.split_off(results.len());
                for (p, processed) in chunk.into_iter().zip(results) {
                    let result =
                        after_message(state, &p.inbox, processed, p.has_media, &p.incoming).await;
                    if let Some(item) = &p.callback {
                        crate::channels::telegram::answer_callback(state, &p.inbox, item).await;
                    }
                    if let Err(e) = result {
                        record_failure(state, &p.pending, e).await;
                    }
                }
                chunk = rest;
            }
            Err(e) if e.is_unavailable() => {
                // Left pending: the next round tries again, from this item on.
                tracing::warn!(error = %e, "processing inbound items: database unavailable");
                return false;
            }
            Err(e) => {
                tracing::debug!(error = %e, "inbound chunk failed; processing its items one by one");
                drop(items);
                for p in chunk {
                    process_one(state, &p.pending).await;
                }
                return true;
            }
        }
    }
    true
}

async fn process_one(state: &AppState, item: &PendingInbound) {
    if let Err(e) = process_inbound(state, item).await {
        record_failure(state, item, e).await;
    }
}

async fn record_failure(state: &AppState, item: &PendingInbound, e: anyhow::Error) {
    let give_up = item.attempts + 1 >= INBOUND_MAX_ATTEMPTS;
    tracing::warn!(inbound_event_id = item.id.0, error = %e, give_up, "processing inbound item failed");
    if let Err(e) = state
        .store
        .fail_inbound(item.id, &format!("{e:#}"), give_up)
        .await
    {
        tracing::warn!(error = %e, "recording inbound failure");
    }
}

fn incoming_of(m: prosa_channel::InboundMessage) -> IncomingMessage {
    IncomingMessage {
        external_id: m.from.external_id,
        name: m.from.name,
        phone: m.from.phone,
        identity_meta: m.from.meta,
        provider_message_id: m.provider_message_id,
        content: m.content,
        sent_at: m.sent_at.unwrap_or_else(Timestamp::now),
    }
}

/// Where a new conversation of this inbox starts.
pub fn routing_for(inbox: &Inbox) -> Routing {
    // The bot serves first when it is enabled on the inbox; otherwise the human queue.
    let status = if inbox.bot_enabled {
        ConversationStatus::Bot
    } else {
        ConversationStatus::Waiting
    };
    Routing {
        status,
        team_id: inbox.team_id,
    }
}

async fn process_inbound(state: &AppState, pending: &PendingInbound) -> anyhow::Result<()> {
    let item: InboundItem = serde_json::from_str(&pending.item)?;
    let inbox = state.store.inbox_by_id(pending.inbox_id).await?;
    // A button press is answered once it is stored (the client's spinner stops then), and also
    // when storing failed, so the person is not left waiting; a retry answers again, harmlessly.
    let callback = (inbox.kind == prosa_domain::model::ChannelKind::Telegram).then(|| item.clone());
    let result = store_inbound(state, pending, &inbox, item).await;
    if let Some(item) = callback {
        crate::channels::telegram::answer_callback(state, &inbox, &item).await;
    }
    result
}

async fn store_inbound(
    state: &AppState,
    pending: &PendingInbound,
    inbox: &Inbox,
    item: InboundItem,
) -> anyhow::Result<()> {
    match item {
        InboundItem::Message(m) => {
            let has_media = m.content.attachments.iter().any(|a| a.url.is_some());
            let incoming = incoming_of(m);
            let processed = state
                .store
                .process_incoming_message(pending.id, inbox.id, &incoming, routing_for(inbox))
                .await?;
            after_message(state, inbox, processed, has_media, &incoming).await?;
        }
        InboundItem::Status(s) => {
            state
                .store
                .process_status_update(
                    pending.id,
                    inbox.id,
                    &s.provider_message_id,
                    s.status,
                    s.error.as_deref(),
                )
                .await?;
        }
        InboundItem::Watermark(w) => {
            state
                .store
                .process_watermark(pending.id, inbox.id, &w.external_id, w.status, w.up_to)
                .await?;
        }
    }
    Ok(())
}

/// What follows a processed message, after its commit: media download, the bot's wake-up,
/// metrics, a rating answer.
async fn after_message(
    state: &AppState,
    inbox: &Inbox,
    processed: Processed,
    has_media: bool,
    incoming: &IncomingMessage,
) -> anyhow::Result<()> {
    let Processed::Message {
        conversation_id,
        message_id,
        rating_answer,
        status,
        ..
    } = processed
    else {
        return Ok(());
    };
    if has_media {
        // In the background: a slow provider must not hold other conversations up.
        let (state, inbox) = (state.clone(), inbox.clone());
        tokio::spawn(async move {
            crate::channels::media::download_for(&state, &inbox, message_id).await;
        });
    }
    if status == ConversationStatus::Bot {
        state.store.signals.bot.notify_one();
    }
    state
        .metrics
        .messages_in
        .get_or_create(&crate::metrics::Metrics::channel(inbox.kind))
        .inc();
    if rating_answer {
        rating_answer_for(state, inbox, conversation_id, &incoming.content).await?;
    }
    Ok(())
}

/// A message that reached a resolved conversation awaiting its score: recorded as the rating
/// (or re-asked once). When it is not taken as an answer, the conversation goes back to the
/// inbox's queue so that the message is not left unseen.
async fn rating_answer_for(
    state: &AppState,
    inbox: &Inbox,
    conversation_id: prosa_domain::ConversationId,
    content: &prosa_domain::message::MessageContent,
) -> anyhow::Result<()> {
    if crate::admin::maybe_rating_answer(state, conversation_id, content).await? {
        return Ok(());
    }
    let routing = routing_for(inbox);
    state
        .store
        .set_conversation_owner(
            conversation_id,
            &prosa_storage::conversations::OwnerChange {
                status: routing.status,
                assignee_id: None,
                set_team: routing.team_id.is_some(),
                team_id: routing.team_id,
                category_id: None,
            },
        )
        .await?;
    Ok(())
}

/// The delay before attempt `attempts + 1`: exponential from the base, capped, with ±20%
/// jitter; a provider's retry-after is honoured when longer.
pub fn backoff(
    config: &crate::config::OutboxConfig,
    attempts: i64,
    retry_after: Option<Duration>,
    jitter: f64,
) -> Duration {
    let exp = attempts.clamp(1, 30) as u32 - 1;
    let base = config
        .base_delay_ms
        .saturating_mul(1u64 << exp.min(20))
        .min(config.max_delay_ms);
    let jittered = (base as f64 * (0.8 + 0.4 * jitter.clamp(0.0, 1.0))) as u64;
    let d = Duration::from_millis(jittered.max(1));
    match retry_after {
        Some(r) if r > d => r,
        _ => d,
    }
}

pub async fn run_outbox(state: AppState) {
    let config = state.config.outbox.clone();
    let lease = Duration::from_secs(config.lease_secs);
    let mut running: JoinSet<()> = JoinSet::new();
    loop {
        let free = config.concurrency.saturating_sub(running.len());
        if free > 0 && !state.shutdown.is_triggered() {
            match state
                .store
                .claim_outbox(Timestamp::now(), lease, free as i64)
                .await
            {
                Ok(jobs) => {
                    let claimed = jobs.len();
                    for job in jobs {
                        let state = state.clone();
                        running.spawn(async move { deliver(&state, job).await });
                    }
                    if claimed == free {
                        // More may be due: claim again once a slot frees.
                        if let Some(r) = running.join_next().await {
                            log_join(r);
                        }
                        continue;
                    }
                }
                Err(e) => tracing::warn!(error = %e, "claiming outbox items"),
            }
        }
        let wait = match state.store.next_outbox_due().await {
            Ok(Some(due)) => {
                let ms = due.as_millisecond() - Timestamp::now().as_millisecond();
                Duration::from_millis(ms.clamp(5, 5_000) as u64)
            }
            _ => Duration::from_secs(5),
        };
        tokio::select! {
            _ = state.store.signals.outbox.notified() => {}
            Some(r) = running.join_next(), if !running.is_empty() => log_join(r),
            _ = tokio::time::sleep(wait) => {}
            _ = state.shutdown.wait() => {
                // Let sends in progress finish so their results are recorded.
                while let Some(r) = running.join_next().await { log_join(r); }
                return;
            }
        }
    }
}

fn log_join(r: Result<(), tokio::task::JoinError>) {
    if let Err(e) = r {
        tracing::error!(error = %e, "outbox delivery task failed");
    }
}

async fn deliver(state: &AppState, job: OutboxJob) {
    if let Err(e) = try_deliver(state, &job).await {
        // Storage trouble: the lease runs out and the item is claimed again.
        tracing::warn!(outbox_id = job.id.0, error = %e, "outbox delivery could not be recorded");
    }
}

async fn try_deliver(state: &AppState, job: &OutboxJob) -> anyhow::Result<()> {
    let message = state.store.message_by_id(job.message_id).await?;
    let target = state.store.delivery_target(message.conversation_id).await?;
    let label = crate::metrics::Metrics::channel(target.kind);
    let Some(adapter) = state.channels.get(target.kind) else {
        state
            .store
            .dead_letter_outbox(job, &format!("no adapter for channel {}", target.kind))
            .await?;
        state.metrics.dead_letters.inc();
        return Ok(());
    };
    let mut outbound = OutboundMessage {
        message_id: message.id,
        conversation_id: message.conversation_id,
        to: target.external_id.clone(),
        to_meta: target.identity_meta.clone(),
        content: message.content.clone(),
        from_human: message.author_kind == prosa_domain::model::AuthorKind::Agent,
        last_incoming_at: target.last_incoming_at,
        files: Vec::new(),
    };
    let ctx = SendContext {
        http: state.http.clone(),
        settings: target.settings.clone(),
    };
    let timeout = Duration::from_millis(state.config.outbox.send_timeout_ms);
    // The website chat serves kept files itself; every provider gets their bytes.
    let files = if target.kind == prosa_domain::model::ChannelKind::WebChat {
        Ok(Vec::new())
    } else {
        outbound_files(state, &message.content).await
    };
    let result = match files {
        // A file that cannot be read will not appear by retrying: the message fails, visibly.
        Err(e) => Err(e),
        Ok(files) => {
            outbound.files = files;
            match tokio::time::timeout(timeout, adapter.send(&ctx, &outbound)).await {
                Ok(r) => r,
                Err(_) => Err(SendError::RetryLater {
                    retry_after: None,
                    detail: "timeout".into(),
                }),
            }
        }
    };
    match result {
        Ok(receipt) => {
            // The channel's spacing per chat (Telegram) is kept in the database with the send.
            let pace = adapter.pace(&target.external_id);
            state
                .store
                .complete_outbox_paced(job, receipt.provider_message_id.as_deref(), pace)
                .await?;
            state.metrics.messages_out.get_or_create(&label).inc();
        }
        Err(e) => {
            state
                .metrics
                .send_failures
                .get_or_create(&crate::metrics::SendFailureLabel {
                    channel: label.channel.clone(),
                    reason: e.label().into(),
                })
                .inc();
            let max = i64::from(state.config.outbox.max_attempts);
            if e.is_retryable() && job.attempts < max {
                let retry_after = match &e {
                    SendError::RetryLater { retry_after, .. } => *retry_after,
                    _ => None,
                };
                let delay = backoff(
                    &state.config.outbox,
                    job.attempts,
                    retry_after,
                    rand::random::<f64>(),
                );
                let next = Timestamp::now()
                    + jiff::SignedDuration::try_from(delay)
                        .unwrap_or(jiff::SignedDuration::from_secs(60));
                tracing::info!(outbox_id = job.id.0, attempts = job.attempts, delay_ms = delay.as_millis() as u64, error = %e, "send failed; will retry");
                state.store.retry_outbox(job, next, &e.to_string()).await?;
                state.metrics.outbox_retries.inc();
            } else {
                tracing::warn!(outbox_id = job.id.0, attempts = job.attempts, error = %e, "send failed; dead letter");
                // Shown on the message: the operator must send a template instead.
                let detail = match &e {
                    SendError::NeedsTemplate => format!("needs template: {e}"),
                    _ => e.to_string(),
                };
                state.store.dead_letter_outbox(job, &detail).await?;
                state
                    .store
                    .record_inbox_error(target.inbox_id, &detail)
                    .await?;
                state.metrics.dead_letters.inc();
            }
        }
    }
    Ok(())
}

/// The bytes of every attachment Prosa keeps under the data folder (`media/<name>`), for the
/// adapter to upload. A file missing, unreadable or over the upload limit is an invalid request.
async fn outbound_files(
    state: &AppState,
    content: &prosa_domain::message::MessageContent,
) -> Result<Vec<OutboundFile>, SendError> {
    let mut files = Vec::new();
    for (i, a) in content.attachments.iter().enumerate() {
        let Some(stored) = a.stored_path.as_deref() else {
            continue;
        };
        let label = a.file_name.as_deref().unwrap_or(stored);
        let name = stored
            .strip_prefix("media/")
            .filter(|n| !n.is_empty() && !n.contains('/') && !n.contains('\\') && !n.contains(".."))
            .ok_or_else(|| SendError::Invalid(format!("attachment {label}: bad stored path")))?;
        let bytes = tokio::fs::read(state.config.data_dir.join("media").join(name))
            .await
            .map_err(|e| SendError::Invalid(format!("attachment file {label} unreadable: {e}")))?;
        if bytes.len() > crate::channels::webchat::files::MAX_FILE_BYTES {
            return Err(SendError::Invalid(format!(
                "attachment {label} is larger than the upload limit"
            )));
        }
        let mime_type = a
            .mime_type
            .clone()
            .or_else(|| crate::channels::webchat::files::sniff(&bytes).map(|s| s.1.to_owned()))
            .unwrap_or_else(|| "application/octet-stream".into());
        files.push(OutboundFile {
            attachment: i,
            file_name: a.file_name.clone().unwrap_or_else(|| name.to_owned()),
            mime_type,
            bytes: bytes.into(),
        });
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_caps_and_honours_retry_after() {
        let c = crate::config::OutboxConfig {
            base_delay_ms: 1000,
            max_delay_ms: 60_000,
            ..Default::default()
        };
        let mid = 0.5; // no jitter at the middle
        let cases = [
            (1, 1000),
            (2, 2000),
            (3, 4000),
            (6, 32_000),
            (7, 60_000),
            (30, 60_000),
        ];
        for (attempts, want) in cases {
            assert_eq!(
                backoff(&c, attempts, None, mid).as_millis() as u64,
                want,
                "attempt {attempts}"
            );
        }
        assert_eq!(backoff(&c, 1, None, 0.0).as_millis(), 800);
        assert_eq!(backoff(&c, 1, None, 1.0).as_millis(), 1200);
        assert_eq!(
            backoff(&c, 1, Some(Duration::from_secs(30)), mid),
            Duration::from_secs(30)
        );
        assert_eq!(
            backoff(&c, 7, Some(Duration::from_secs(1)), mid),
            Duration::from_secs(60)
        );
    }
}
