//! Telegram's flood limits, as the spacing the outbox keeps between two messages to one chat
//! (the outbox stores it in the database, so it holds across instances). The Bot FAQ: about
//! one message per second in a private chat (short bursts are tolerated, then 429
//! `retry_after`), at most 20 messages per minute in a group. Group and supergroup chat ids are
//! negative; private chats (users) positive. The bot-wide ~30 messages/s is left to the outbox
//! worker's concurrency and to `retry_after`.

use std::time::Duration;

/// Spacing between two messages to a private chat.
pub const PRIVATE_CHAT_PACE: Duration = Duration::from_secs(1);
/// Spacing between two messages to a group (20 per minute).
pub const GROUP_CHAT_PACE: Duration = Duration::from_secs(3);

/// The spacing for messages to `chat_id` (a chat id or `@channelusername`).
pub fn chat_pace(chat_id: &str) -> Duration {
    let chat = chat_id.trim();
    if chat.starts_with('-') || chat.starts_with('@') {
        GROUP_CHAT_PACE
    } else {
        PRIVATE_CHAT_PACE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_chats_one_per_second_groups_twenty_per_minute() {
        assert_eq!(chat_pace("777"), Duration::from_secs(1));
        assert_eq!(chat_pace("-1001234567890"), Duration::from_secs(3));
        assert_eq!(chat_pace("-4242"), Duration::from_secs(3));
        assert_eq!(chat_pace("@canal_do_provedor"), Duration::from_secs(3));
    }
}
