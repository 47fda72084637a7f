//! The bot's inactivity timeout: where the subscriber stopped answering the bot, first the
//! warning text ("você ainda está aí?"), then the `timeout` text and the conversation closed
//! with the timeout category. Durable and correct across instances: the state is in the
//! database (`bot_warned_at`, `last_message_at`) and each step is a conditional update
//! (`Store::apply_idle_step`), so a restart or several instances never warn or close twice.

use crate::admin::bot_texts::load_bot;
use crate::state::AppState;
use jiff::{SignedDuration, Timestamp};
use prosa_domain::message::MessageContent;
use prosa_storage::inactivity::IdleStep;
use std::time::Duration;

/// How long the worker sleeps between passes for these settings: a quarter of the shortest
/// interval, between 200 ms and 2 s (so a change of the settings is seen within 2 s; a pass
/// is two indexed queries when nothing is due).
pub fn tick(settings: &prosa_bot::BotSettings) -> Duration {
    let shortest = match settings.inactivity_warning_secs {
        0 => settings.inactivity_timeout_secs,
        w => w.min(settings.inactivity_timeout_secs),
    };
    Duration::from_millis((shortest * 1000 / 4).clamp(200, 2_000))
}

fn say(bot: &prosa_bot::Bot, text: &str) -> MessageContent {
    MessageContent::text(prosa_bot::util::render(
        text,
        &[("empresa", &bot.settings.company_name)],
    ))
}

/// One pass: warns and closes what is due. Returns (warned, closed).
pub async fn pass(state: &AppState) -> anyhow::Result<(usize, usize)> {
    let bot = load_bot(state).await?;
    let s = &bot.settings;
    let now = Timestamp::now();
    let secs = |n: u64| SignedDuration::from_secs(n as i64);
    let timeout = s.inactivity_timeout_secs.max(1);
    let warning = if s.inactivity_warning_secs < timeout {
        s.inactivity_warning_secs
    } else {
        0
    };
    let (mut warned, mut closed) = (0, 0);
    let close = IdleStep::Close {
        warned_before: (warning > 0).then(|| now - secs(timeout - warning)),
        idle_before: now - secs(timeout),
    };
    let ids = state.store.idle_bot_conversations(close, 100).await?;
    if !ids.is_empty() {
        let category = state.store.category_named(&s.category_timeout).await?;
        let reply = say(&bot, &bot.texts.timeout);
        for id in ids {
            if state
                .store
                .apply_idle_step(id, close, &reply, Some(category))
                .await?
            {
                tracing::info!(
                    conversation_id = id.0,
                    "bot conversation closed for inactivity"
                );
                closed += 1;
            }
        }
    }
    if warning > 0 {
        let warn = IdleStep::Warn {
            idle_before: now - secs(warning),
        };
        let reply = say(&bot, &bot.texts.inactivity_warning);
        for id in state.store.idle_bot_conversations(warn, 100).await? {
            if state.store.apply_idle_step(id, warn, &reply, None).await? {
                warned += 1;
            }
        }
    }
    Ok((warned, closed))
}

pub async fn run(state: AppState) {
    loop {
        let wait = match pass(&state).await {
            Ok(_) => match load_bot(&state).await {
                Ok(bot) => tick(&bot.settings),
                Err(_) => Duration::from_secs(5),
            },
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), "bot inactivity pass failed");
                Duration::from_secs(5)
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = state.shutdown.wait() => return,
        }
    }
}
