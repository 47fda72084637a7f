//! Runs the bot on conversations it owns: reads the messages it has not answered, plays the
//! turn (NLU + ERP through `prosa-bot`), and applies the result in one transaction. Driven by
//! the database (a cursor per conversation), so a restart continues where it stopped.

use crate::state::AppState;
use async_trait::async_trait;
use prosa_bot::{
    AttemptLedger, Bot, BotAction, BotContext, BotInput, BotState, ChannelInfo, KnownContact,
    Understand, Understanding,
};
use prosa_domain::ConversationId;
use prosa_domain::model::ChannelKind;
use prosa_storage::Store;
use prosa_storage::bot::BotTurnResult;
use std::sync::Arc;
use std::time::Duration;

/// The built-in NLU as the bot's `Understand`.
pub struct NluUnderstanding(pub Arc<prosa_nlu::Nlu>);

impl Understand for NluUnderstanding {
    fn classify(&self, text: &str) -> Understanding {
        let c = self.0.classify(text);
        Understanding {
            intent: c.intent.as_str().to_owned(),
            confidence: c.confidence,
            entities: c
                .entities
                .into_iter()
                .map(|e| prosa_bot::Entity {
                    kind: e.kind.as_str().to_owned(),
                    value: e.value,
                    valid: e.valid.unwrap_or(true),
                })
                .collect(),
        }
    }
}

/// Confirmation failures counted in the database, over the last 24 hours.
struct Ledger(Store);

#[async_trait]
impl AttemptLedger for Ledger {
    async fn failed_attempts(&self, subject: &str) -> u32 {
        let since = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(24);
        self.0
            .verification_failures(subject, since)
            .await
            .unwrap_or(u32::MAX)
    }
}

/// How many options a channel shows as buttons.
fn max_options(kind: ChannelKind) -> usize {
    match kind {
        ChannelKind::WhatsappCloud => 10,
        ChannelKind::Messenger | ChannelKind::Instagram => 13,
        ChannelKind::Telegram
        | ChannelKind::BotFramework
        | ChannelKind::WebChat
        | ChannelKind::Api => 10,
        ChannelKind::WhatsappEvolution => 0,
    }
}

pub async fn run(state: AppState, nlu: Arc<prosa_nlu::Nlu>) {
    let understand = NluUnderstanding(nlu);
    loop {
        let pending = state.store.bot_pending(50).await.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "reading bot work");
            Vec::new()
        });
        // The administrator's texts and settings, read again for every batch of turns: a
        // change applies from the next turn on, on every instance.
        let bot = if pending.is_empty() {
            None
        } else {
            match crate::admin::bot_texts::load_bot(&state).await {
                Ok(b) => Some(b),
                Err(e) => {
                    tracing::warn!(error = %e, "reading the bot's texts and settings");
                    None
                }
            }
        };
        if let Some(bot) = &bot {
            for id in &pending {
                if let Err(e) = turn(&state, bot, &understand, *id).await {
                    tracing::warn!(conversation_id = id.0, error = %format!("{e:#}"), "bot turn failed");
                    let _ = state.store.release_bot_turn(*id).await;
                }
            }
        }
        if !pending.is_empty() && bot.is_some() {
            continue;
        }
        tokio::select! {
            _ = state.store.signals.bot.notified() => {}
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
            _ = state.shutdown.wait() => return,
        }
    }
}

async fn turn(
    state: &AppState,
    bot: &Bot,
    understand: &NluUnderstanding,
    id: ConversationId,
) -> anyhow::Result<()> {
    if !state
        .store
        .claim_bot_turn(id, Duration::from_secs(60))
        .await?
    {
        return Ok(());
    }
    let conversation = state.store.conversation_by_id(id).await?;
    let inbox = state.store.inbox_by_id(conversation.inbox_id).await?;
    let contact = state.store.contact_by_id(conversation.contact_id).await?;
    let (saved, mut cursor, incoming) = state.store.bot_turn_input(id).await?;
    let mut bot_state: BotState = saved
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default();
    let ledger = Ledger(state.store.clone());
    let mut result = BotTurnResult::default();
    let (queue_open, next_opening) = crate::queue_status(state, inbox.id).await;
    let ctx = BotContext {
        erp: &*state.erp,
        understand,
        attempts: &ledger,
        channel: ChannelInfo {
            name: inbox.kind.as_str().to_owned(),
            max_options: max_options(inbox.kind),
        },
        contact: KnownContact {
            phone: contact.phone.as_deref().map(prosa_domain::phone::digits),
            erp_subscriber_id: contact.erp_subscriber_id.clone(),
            document: contact.document.clone(),
        },
        queue_open,
        next_opening,
        now: state.clock.now(),
    };
    for message in incoming {
        cursor = message.id.0;
        let t = bot
            .handle(
                &mut bot_state,
                BotInput::from_content(&message.content),
                &ctx,
            )
            .await;
        result.replies.extend(t.replies);
        let mut stop = false;
        for action in t.actions {
            match action {
                BotAction::LinkContact {
                    document,
                    erp_subscriber_id,
                } => result.link = Some((document, erp_subscriber_id)),
                BotAction::RecordVerificationFailure { subject } => {
                    state.store.record_verification_failure(&subject).await?
                }
                BotAction::HandOff { .. } => {
                    result.hand_off = Some(None);
                    stop = true;
                }
                BotAction::Close { category } => {
                    result.close_category = Some(state.store.category_named(&category).await?);
                    stop = true;
                }
                BotAction::RequestRating => {
                    result.replies.push(crate::rating_request());
                    crate::admin::request_rating(state, id).await?;
                }
                other => tracing::info!(conversation_id = id.0, action = %other, "bot action"),
            }
        }
        if stop || t.handoff || t.done {
            break;
        }
    }
    result.cursor = cursor;
    result.state = serde_json::to_value(&bot_state)?;
    state.store.apply_bot_turn(id, &result).await?;
    Ok(())
}
