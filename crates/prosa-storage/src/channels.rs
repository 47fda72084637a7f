//! Queries the channel wiring needs (website chat visitors, operators online).

use crate::*;
use prosa_domain::*;

impl Store {
    /// The conversations (any status) of one contact identity of an inbox, oldest first.
    pub async fn identity_conversations(
        &self,
        inbox: InboxId,
        external_id: &str,
    ) -> Result<Vec<ConversationId>> {
        let rows: Vec<(i64,)> = on_read!(self, pool => {
            sqlx::query_as("SELECT c.conversation_id FROM conversation c JOIN contact_identity i ON i.contact_identity_id = c.contact_identity_id WHERE i.inbox_id = $1 AND i.external_id = $2 ORDER BY c.conversation_id")
                .bind(inbox.0).bind(external_id).fetch_all(pool).await?
        });
        Ok(rows.into_iter().map(|(id,)| ConversationId(id)).collect())
    }

    /// How many active operators are online now.
    pub async fn count_online_operators(&self) -> Result<i64> {
        let (n,): (i64,) = on_read!(self, pool => {
            sqlx::query_as("SELECT COUNT(*) FROM app_user WHERE active = TRUE AND presence = 'online'")
                .fetch_one(pool).await?
        });
        Ok(n)
    }
}

impl Store {
    /// Replaces a message's content (used to record where a downloaded attachment was kept).
    pub async fn set_message_content(
        &self,
        id: MessageId,
        content: &prosa_domain::message::MessageContent,
    ) -> Result<()> {
        let text = serde_json::to_string(content).expect("invariant: content serializes");
        let now = now_ms();
        in_tx!(self, tx, _pg => {
            sqlx::query("UPDATE message SET content = $1, updated_at = $2 WHERE message_id = $3")
                .bind(&text).bind(now).bind(id.0).execute(&mut *tx).await?;
        });
        Ok(())
    }
}
