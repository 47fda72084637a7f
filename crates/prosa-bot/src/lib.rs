//! The bot's dialogue engine ("atendimento automático").
//!
//! A pure-ish engine: [`Bot::handle`] takes the conversation's [`BotState`] (the server stores it
//! as JSON), one [`BotInput`] and a [`BotContext`] (ERP, classifier, channel, known contact,
//! service hours, attempt ledger) and returns a [`BotTurn`]: replies to send and [`BotAction`]s
//! for the server. It identifies the subscriber (channel phone, remembered link or CPF/CNPJ),
//! confirms identity with data the ERP has (never echoed), understands the request (menus
//! first, then the [`Understand`] classifier), acts in the ERP and hands off when needed.
//!
//! ```no_run
//! # async fn f(erp: &dyn prosa_erp::Erp) {
//! use prosa_bot::*;
//! let bot = Bot::new(BotTexts::default(), BotSettings::default());
//! let mut state = BotState::default();
//! let ctx = BotContext {
//!     erp,
//!     understand: &KeywordUnderstanding,
//!     attempts: &(),
//!     channel: ChannelInfo { name: "whatsapp".into(), max_options: 10 },
//!     contact: KnownContact { phone: Some("5511987654321".into()), ..Default::default() },
//!     queue_open: true,
//!     next_opening: None,
//!     now: jiff::Timestamp::now(),
//! };
//! let turn = bot.handle(&mut state, BotInput::text("quero a segunda via"), &ctx).await;
//! # let _ = turn; }
//! ```

mod engine;
pub mod texts;
pub mod types;
pub mod understand;
pub mod util;

pub use engine::Bot;
pub use texts::BotTexts;
pub use types::*;
pub use understand::{Entity, KeywordUnderstanding, Understand, Understanding, intents};
