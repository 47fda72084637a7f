//! The automatic-assignment worker. It is woken whenever something assignment depends on
//! changes — a conversation enters the queue, an operator goes online, an operator frees a slot
//! (close, transfer, return), the policy changes — through the event log that every instance
//! follows, so a change made on another instance wakes this one too. The choice itself is made
//! in the database (`Store::auto_assign_one`), so instances never disagree.

use crate::state::AppState;
use prosa_domain::event::DomainEvent;
use std::time::Duration;

/// Whether an event can make a waiting conversation assignable.
pub fn wakes_assignment(event: &DomainEvent) -> bool {
    matches!(
        event,
        DomainEvent::ConversationCreated { .. }
            | DomainEvent::ConversationUpdated { .. }
            | DomainEvent::UserUpdated { .. }
    )
}

pub async fn run(state: AppState) {
    loop {
        match state.store.auto_assign_all(500).await {
            Ok(made) => {
                for a in made {
                    tracing::info!(
                        conversation = a.conversation_id.0,
                        user = a.user_id.0,
                        "conversation assigned automatically"
                    );
                }
            }
            Err(e) => tracing::warn!(error = %e, "automatic assignment"),
        }
        tokio::select! {
            _ = state.store.signals.assign.notified() => {}
            // A safety net (a limit or a membership changed without an event).
            _ = tokio::time::sleep(Duration::from_secs(10)) => {}
            _ = state.shutdown.wait() => return,
        }
    }
}
