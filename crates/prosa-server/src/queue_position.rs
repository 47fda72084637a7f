//! Telling waiting subscribers their place in the human queue: after `queue_position_delay_secs`
//! in the queue the subscriber gets the `queue_position` text ("Você está na posição 3 da
//! fila…"), and again, at most every `queue_position_interval_secs`, while the place improves.
//! Both are bot settings the administrator edits. Durable and correct across instances: what
//! was told is kept on the conversation and telling is a conditional update
//! (`Store::tell_queue_place`), so a restart or several instances never tell twice.

use crate::admin::bot_texts::load_bot;
use crate::state::AppState;
use prosa_domain::message::MessageContent;
use prosa_storage::queue::QueuePlace;
use std::time::Duration;

/// Whether `place` is due to be told its position at `now_ms`.
pub fn due(place: &QueuePlace, settings: &prosa_bot::BotSettings, now_ms: i64) -> bool {
    let delay = settings.queue_position_delay_secs as i64 * 1000;
    let interval = settings.queue_position_interval_secs as i64 * 1000;
    if delay == 0 {
        return false;
    }
    match (place.told_position, place.told_at) {
        (None, _) => now_ms - place.waiting_since >= delay,
        (Some(told), Some(at)) => interval > 0 && place.position < told && now_ms - at >= interval,
        (Some(_), None) => false,
    }
}

/// One pass: tells every waiting subscriber that is due. Returns how many were told.
pub async fn pass(state: &AppState) -> anyhow::Result<usize> {
    let bot = load_bot(state).await?;
    if bot.settings.queue_position_delay_secs == 0 {
        return Ok(0);
    }
    let now = jiff::Timestamp::now().as_millisecond();
    let mut told = 0;
    for place in state.store.queue_places().await? {
        if !due(&place, &bot.settings, now) {
            continue;
        }
        let text = prosa_bot::util::render(
            &bot.texts.queue_position,
            &[
                ("posicao", &place.position.to_string()),
                ("empresa", &bot.settings.company_name),
            ],
        );
        if state
            .store
            .tell_queue_place(&place, place.position, &MessageContent::text(text))
            .await?
        {
            told += 1;
        }
    }
    Ok(told)
}

pub async fn run(state: AppState) {
    loop {
        let wait = match pass(&state).await {
            Ok(_) => Duration::from_secs(1),
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), "queue position pass failed");
                Duration::from_secs(5)
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = state.shutdown.wait() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prosa_domain::{ConversationId, InboxId};

    fn place(position: i64, told: Option<(i64, i64)>) -> QueuePlace {
        QueuePlace {
            conversation_id: ConversationId(1),
            inbox_id: InboxId(1),
            position,
            waiting_since: 1_000_000,
            told_position: told.map(|t| t.0),
            told_at: told.map(|t| t.1),
        }
    }

    #[test]
    fn when_a_place_is_told() {
        let mut s = prosa_bot::BotSettings::default();
        s.queue_position_delay_secs = 10;
        s.queue_position_interval_secs = 120;
        let start = 1_000_000;
        // (place, now, due)
        let cases = [
            (place(3, None), start + 9_999, false),
            (place(3, None), start + 10_000, true),
            (place(3, Some((3, start + 10_000))), start + 500_000, false),
            (place(2, Some((3, start + 10_000))), start + 129_999, false),
            (place(2, Some((3, start + 10_000))), start + 130_000, true),
            (place(4, Some((3, start + 10_000))), start + 500_000, false),
        ];
        for (p, now, want) in cases {
            assert_eq!(due(&p, &s, now), want, "{p:?} at {now}");
        }
        s.queue_position_interval_secs = 0;
        assert!(!due(&place(1, Some((3, start))), &s, start + 10_000_000));
        s.queue_position_delay_secs = 0;
        assert!(!due(&place(1, None), &s, start + 10_000_000));
    }
}
