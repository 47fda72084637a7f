//! A per-chat send pacer (Telegram: about 1 message/s per chat). Pure: the caller passes the
//! clock, holds the struct (e.g. in a mutex) and sleeps for the returned delay. The global
//! ~25 messages/s bot limit is left to the outbox worker's concurrency.

use std::collections::HashMap;
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct ChatRateLimiter {
    per_chat: Duration,
    next_chat: HashMap<String, Instant>,
}

impl Default for ChatRateLimiter {
    fn default() -> ChatRateLimiter {
        ChatRateLimiter::new(Duration::from_secs(1))
    }
}

impl ChatRateLimiter {
    /// `per_chat`: minimum spacing between two sends in one chat.
    pub fn new(per_chat: Duration) -> ChatRateLimiter {
        ChatRateLimiter {
            per_chat,
            next_chat: HashMap::new(),
        }
    }

    /// Reserves the next slot for `chat` and returns how long to wait before sending.
    pub fn reserve(&mut self, chat: &str, now: Instant) -> Duration {
        let at = self.next_chat.get(chat).copied().unwrap_or(now).max(now);
        self.next_chat.insert(chat.to_owned(), at + self.per_chat);
        if self.next_chat.len() > 10_000 {
            self.next_chat.retain(|_, t| *t > now);
        }
        at - now
    }

    /// Delays a chat after a 429 `retry_after`.
    pub fn back_off(&mut self, chat: &str, now: Instant, retry_after: Duration) {
        let until = now + retry_after;
        let e = self.next_chat.entry(chat.to_owned()).or_insert(until);
        *e = (*e).max(until);
    }

    /// Drops chats whose slot is in the past (call now and then).
    pub fn prune(&mut self, now: Instant) {
        self.next_chat.retain(|_, t| *t > now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spacing_per_chat_and_global() {
        let t0 = Instant::now();
        let mut r = ChatRateLimiter::default();
        assert_eq!(r.reserve("a", t0), Duration::ZERO);
        assert_eq!(r.reserve("a", t0), Duration::from_secs(1));
        assert_eq!(r.reserve("a", t0), Duration::from_secs(2));
        // Another chat is independent.
        assert_eq!(r.reserve("b", t0), Duration::ZERO);
        assert_eq!(
            r.reserve("a", t0 + Duration::from_millis(2500)),
            Duration::from_millis(500)
        );
        let t5 = t0 + Duration::from_secs(5);
        assert_eq!(r.reserve("a", t5), Duration::ZERO);
        r.back_off("c", t5, Duration::from_secs(7));
        assert_eq!(r.reserve("c", t5), Duration::from_secs(7));
        r.prune(t0 + Duration::from_secs(100));
        assert!(r.next_chat.is_empty());
    }
}
