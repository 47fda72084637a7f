//! The website chat's queue line: while the visitor's conversation waits for a person, the
//! widget shows its place and an estimated wait above the composer ("Você é o 3º da fila ·
//! espera estimada ~4 min"), or that the queue is closed by the service hours; when an
//! operator takes the conversation it shows "Um atendente entrou na conversa".
//!
//! Nothing here is kept but what this socket last sent: every line is read from the database
//! (the conversation, its queue, the queue's recent stays, the service hours) when an event of
//! the log may have changed it. The visitor's socket already follows the event log through the
//! hub, which on PostgreSQL also carries the events of other instances, so a take on any
//! instance moves the line of every visitor behind on every instance. Sent as a `queue` frame,
//! never stored as a message: the bot's "Você está na posição…" messages (every channel) stay.

use crate::state::AppState;
use prosa_domain::event::{DomainEvent, StoredEvent};
use prosa_domain::model::ConversationStatus;
use prosa_domain::queue::{ESTIMATE_WINDOW_MS, estimate_wait_ms};
use prosa_domain::{ConversationId, TeamId};
use serde_json::{Value, json};
use std::collections::HashSet;

/// "~4 min", "~1 h 30 min": an estimate, rounded to what a person reads.
pub fn describe_wait(ms: i64) -> String {
    let mins = ((ms + 30_000) / 60_000).max(1);
    if mins < 60 {
        return format!("~{mins} min");
    }
    // Beyond an hour, to the nearest 5 minutes.
    let fives = (mins + 2) / 5 * 5;
    let (h, m) = (fives / 60, fives % 60);
    if m == 0 {
        format!("~{h} h")
    } else {
        format!("~{h} h {m} min")
    }
}

/// The line's text while waiting.
pub fn waiting_text(
    position: i64,
    estimate_ms: Option<i64>,
    open: bool,
    next_opening: Option<&str>,
) -> String {
    if !open {
        return match next_opening {
            Some(next) => {
                format!(
                    "Fora do horário de atendimento · abre {next} · você é o {position}º da fila"
                )
            }
            None => format!("Fora do horário de atendimento · você é o {position}º da fila"),
        };
    }
    match estimate_ms {
        Some(ms) => format!(
            "Você é o {position}º da fila · espera estimada {}",
            describe_wait(ms)
        ),
        None => format!("Você é o {position}º da fila"),
    }
}

pub const SERVED_TEXT: &str = "Um atendente entrou na conversa";

/// What one visitor socket knows of its queue line.
#[derive(Debug, Default)]
pub struct QueueWatch {
    /// The visitor's conversation the line is about (their latest).
    conversation: Option<ConversationId>,
    /// Whether it was waiting at the last look, in which queue, behind whom.
    waiting: bool,
    team: Option<TeamId>,
    ahead: HashSet<ConversationId>,
    /// The last frame sent.
    last: Option<Value>,
}

impl QueueWatch {
    pub fn waiting(&self) -> bool {
        self.waiting
    }

    /// Whether `event` may change the line: a change of the visitor's conversation, of one
    /// ahead of it (taken, closed, moved to another team), or of any conversation of its queue
    /// other than the bot's (one transferred in may come ahead; one leaving from behind changes
    /// the queue's pace, hence the estimate).
    pub fn concerns(&self, event: &StoredEvent) -> bool {
        let cid = match &event.event {
            DomainEvent::ConversationCreated { conversation_id }
            | DomainEvent::ConversationUpdated { conversation_id } => *conversation_id,
            _ => return false,
        };
        if Some(cid) == self.conversation {
            return true;
        }
        self.waiting
            && (self.ahead.contains(&cid)
                || (event.status != Some(ConversationStatus::Bot) && event.team_id == self.team))
    }

    /// Reads the line of `conversation` (the visitor's latest) now; returns the frame to send
    /// when it differs from the last one sent.
    pub async fn update(
        &mut self,
        state: &AppState,
        conversation: Option<ConversationId>,
    ) -> anyhow::Result<Option<Value>> {
        if conversation != self.conversation {
            // Another conversation: what was shown for the old one no longer holds.
            self.conversation = conversation;
            self.waiting = false;
        }
        let Some(id) = conversation else {
            return Ok(None);
        };
        let c = state.store.conversation_by_id(id).await?;
        let was_waiting = self.waiting;
        let frame = if c.status == ConversationStatus::Waiting {
            let queue = state.store.queue_of(c.team_id).await?;
            match queue.iter().position(|(q, _)| *q == id) {
                Some(index) => {
                    self.waiting = true;
                    self.team = c.team_id;
                    self.ahead = queue[..index].iter().map(|(q, _)| *q).collect();
                    let position = index as i64 + 1;
                    let now = jiff::Timestamp::now().as_millisecond();
                    let ended: Vec<(i64, i64)> = state
                        .store
                        .queue_stays_since(c.team_id, now - ESTIMATE_WINDOW_MS)
                        .await?
                        .iter()
                        .map(|s| (s.waiting_since, s.left_at))
                        .collect();
                    let since: Vec<i64> = queue.iter().map(|(_, s)| *s).collect();
                    let estimate = estimate_wait_ms(position, &ended, &since, now);
                    let (open, next) = crate::admin::queue_status(state, c.inbox_id).await;
                    let estimate = estimate.filter(|_| open);
                    Some(json!({
                        "type": "queue",
                        "state": "waiting",
                        "position": position,
                        // Whole minutes: the line changes when what it says changes.
                        "estimated_wait_minutes": estimate.map(|ms| ((ms + 30_000) / 60_000).max(1)),
                        "open": open,
                        "next_opening": next,
                        "text": waiting_text(position, estimate, open, next.as_deref()),
                    }))
                }
                None => self.left(was_waiting, c.status),
            }
        } else {
            self.left(was_waiting, c.status)
        };
        let Some(frame) = frame else {
            return Ok(None);
        };
        if self.last.as_ref() == Some(&frame) {
            return Ok(None);
        }
        self.last = Some(frame.clone());
        Ok(Some(frame))
    }

    /// Not (or no longer) waiting: an operator took it, or the line goes away.
    fn left(&mut self, was_waiting: bool, status: ConversationStatus) -> Option<Value> {
        self.waiting = false;
        self.team = None;
        self.ahead.clear();
        if !was_waiting {
            // A new socket says so once: a widget that reconnects may still show an old line.
            return self
                .last
                .is_none()
                .then(|| json!({"type": "queue", "state": "none"}));
        }
        Some(if status == ConversationStatus::Open {
            json!({"type": "queue", "state": "served", "text": SERVED_TEXT})
        } else {
            json!({"type": "queue", "state": "none"})
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_read_as_people_say_them() {
        let min = 60_000;
        let cases = [
            (0, "~1 min"),
            (29_000, "~1 min"),
            (3 * min + 40_000, "~4 min"),
            (59 * min, "~59 min"),
            (60 * min, "~1 h"),
            (92 * min, "~1 h 30 min"),
            (118 * min, "~2 h"),
        ];
        for (ms, want) in cases {
            assert_eq!(describe_wait(ms), want, "{ms}");
        }
    }

    #[test]
    fn the_line_in_each_case() {
        assert_eq!(
            waiting_text(3, Some(4 * 60_000), true, None),
            "Você é o 3º da fila · espera estimada ~4 min"
        );
        assert_eq!(waiting_text(1, None, true, None), "Você é o 1º da fila");
        assert_eq!(
            waiting_text(2, None, false, Some("segunda-feira às 08:00")),
            "Fora do horário de atendimento · abre segunda-feira às 08:00 · você é o 2º da fila"
        );
        assert_eq!(
            waiting_text(2, None, false, None),
            "Fora do horário de atendimento · você é o 2º da fila"
        );
    }

    fn event(
        kind: DomainEvent,
        status: Option<ConversationStatus>,
        team: Option<i64>,
    ) -> StoredEvent {
        StoredEvent {
            id: prosa_domain::EventId(1),
            event: kind,
            status,
            assignee_id: None,
            team_id: team.map(TeamId),
            user_id: None,
            created_at: jiff::Timestamp::UNIX_EPOCH,
        }
    }

    #[test]
    fn which_events_may_move_the_line() {
        let updated = |c| DomainEvent::ConversationUpdated {
            conversation_id: ConversationId(c),
        };
        let w = QueueWatch {
            conversation: Some(ConversationId(10)),
            waiting: true,
            team: Some(TeamId(2)),
            ahead: [ConversationId(7)].into_iter().collect(),
            last: None,
        };
        use ConversationStatus::*;
        // Its own conversation, one ahead (taken), one waiting in the same queue.
        assert!(w.concerns(&event(updated(10), Some(Open), Some(2))));
        assert!(w.concerns(&event(updated(7), Some(Open), Some(2))));
        assert!(w.concerns(&event(updated(8), Some(Waiting), Some(2))));
        // One behind taken: the pace changed.
        assert!(w.concerns(&event(updated(12), Some(Open), Some(2))));
        // Another queue, the bot's conversations, messages: no.
        assert!(!w.concerns(&event(updated(8), Some(Waiting), Some(3))));
        assert!(!w.concerns(&event(updated(12), Some(Open), None)));
        assert!(!w.concerns(&event(updated(13), Some(Bot), Some(2))));
        assert!(!w.concerns(&event(
            DomainEvent::MessageCreated {
                conversation_id: ConversationId(7),
                message_id: prosa_domain::MessageId(1)
            },
            Some(Waiting),
            Some(2)
        )));
        // Not waiting: only its own conversation.
        let idle = QueueWatch {
            conversation: Some(ConversationId(10)),
            ..QueueWatch::default()
        };
        assert!(idle.concerns(&event(updated(10), Some(Waiting), None)));
        assert!(!idle.concerns(&event(updated(8), Some(Waiting), None)));
    }
}
