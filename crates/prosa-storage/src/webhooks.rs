//! Webhook plumbing shared by inboxes: routing keys of one provider app webhook (which inbox
//! owns a Meta Page, Instagram account or WhatsApp phone number), verified content no inbox
//! could use, and read/delivery watermarks (Messenger's receipts name a time, not a message).

use crate::events::append_event;
use crate::*;
use prosa_domain::event::DomainEvent;
use prosa_domain::model::{ChannelKind, DeliveryStatus};
use prosa_domain::*;

/// The routing key an inbox's settings give it on a shared app webhook: `(webhook object,
/// account id)`. `None` for kinds that have their own webhook URL only.
pub fn route_of(kind: ChannelKind, settings: &serde_json::Value) -> Option<(&'static str, String)> {
    let (object, field) = match kind {
        ChannelKind::Messenger => ("page", "page_id"),
        ChannelKind::Instagram => ("instagram", "page_id"),
        ChannelKind::WhatsappCloud => ("whatsapp_business_account", "phone_number_id"),
        _ => return None,
    };
    let key = match settings.get(field)? {
        serde_json::Value::String(s) => s.trim().to_owned(),
        serde_json::Value::Number(n) => n.to_string(),
        _ => return None,
    };
    (!key.is_empty()).then_some((object, key))
}

/// Verified webhook content that reached no message: kept for inspection.
#[derive(Debug, Clone)]
pub struct NewUnhandled<'a> {
    pub inbox_id: Option<InboxId>,
    pub kind: ChannelKind,
    pub route_key: Option<&'a str>,
    pub reason: &'a str,
    pub raw: &'a str,
}

/// A stored [`NewUnhandled`].
#[derive(Debug, Clone, serde::Serialize)]
pub struct Unhandled {
    pub id: i64,
    pub inbox_id: Option<InboxId>,
    pub kind: String,
    pub route_key: Option<String>,
    pub reason: String,
    pub received_at: Timestamp,
}

impl Store {
    /// The inbox that owns a routing key, if any.
    pub async fn inbox_for_route(&self, object: &str, key: &str) -> Result<Option<InboxId>> {
        let row: Option<(i64,)> = on_read!(self, pool => {
            sqlx::query_as("SELECT inbox_id FROM inbox_route WHERE route_kind = $1 AND route_key = $2")
                .bind(object).bind(key).fetch_optional(pool).await?
        });
        Ok(row.map(|(id,)| InboxId(id)))
    }

    /// Records verified content no inbox could use.
    pub async fn record_unhandled_webhook(&self, u: &NewUnhandled<'_>) -> Result<()> {
        let now = now_ms();
        in_tx!(self, tx, _pg => {
            sqlx::query("INSERT INTO webhook_unhandled (inbox_id, channel_kind, route_key, reason, raw, received_at) VALUES ($1, $2, $3, $4, $5, $6)")
                .bind(u.inbox_id.map(|i| i.0)).bind(u.kind.as_str()).bind(u.route_key).bind(u.reason).bind(u.raw).bind(now)
                .execute(&mut *tx).await?;
        });
        Ok(())
    }

    /// The latest unhandled webhook content, newest first.
    pub async fn unhandled_webhooks(&self, limit: i64) -> Result<Vec<Unhandled>> {
        type Row = (i64, Option<i64>, String, Option<String>, String, i64);
        let rows: Vec<Row> = on_read!(self, pool => {
            sqlx::query_as("SELECT webhook_unhandled_id, inbox_id, channel_kind, route_key, reason, received_at FROM webhook_unhandled ORDER BY webhook_unhandled_id DESC LIMIT $1")
                .bind(limit).fetch_all(pool).await?
        });
        Ok(rows
            .into_iter()
            .map(|(id, inbox, kind, route_key, reason, at)| Unhandled {
                id,
                inbox_id: inbox.map(InboxId),
                kind,
                route_key,
                reason,
                received_at: ts(at),
            })
            .collect())
    }

    /// Applies a watermark receipt: every outgoing message of the identity's conversations in
    /// this inbox created up to `up_to` reaches `status` (only forward), and the stored item is
    /// marked processed. Returns the messages that changed.
    pub async fn process_watermark(
        &self,
        event: InboundEventId,
        inbox: InboxId,
        external_id: &str,
        status: DeliveryStatus,
        up_to: Timestamp,
    ) -> Result<Vec<MessageId>> {
        let now = now_ms();
        let out = in_tx!(self, tx, pg => {
            sqlx::query("UPDATE inbound_event SET processed_at = $1 WHERE inbound_event_id = $2 AND processed_at IS NULL").bind(now).bind(event.0).execute(&mut *tx).await?;
            let rows: Vec<(i64, i64, Option<String>)> = sqlx::query_as(
                "SELECT m.message_id, m.conversation_id, m.delivery_status FROM message m \
                 JOIN conversation c ON c.conversation_id = m.conversation_id \
                 JOIN contact_identity i ON i.contact_identity_id = c.contact_identity_id \
                 WHERE i.inbox_id = $1 AND i.external_id = $2 AND m.direction = 'outgoing' AND m.private = FALSE \
                 AND m.provider_message_id IS NOT NULL AND m.created_at <= $3 ORDER BY m.message_id")
                .bind(inbox.0).bind(external_id).bind(ms(up_to)).fetch_all(&mut *tx).await?;
            let mut changed = Vec::new();
            for (message_id, conversation_id, current) in rows {
                let current: DeliveryStatus = current.as_deref().and_then(|s| s.parse().ok()).unwrap_or(DeliveryStatus::Queued);
                // A failed message was not delivered, whatever the watermark says.
                if current == DeliveryStatus::Failed {
                    continue;
                }
                let next = current.advance(status);
                if next != current {
                    sqlx::query("UPDATE message SET delivery_status = $1, updated_at = $2 WHERE message_id = $3")
                        .bind(next.as_str()).bind(now).bind(message_id).execute(&mut *tx).await?;
                    let scope = crate::conversations::scope_of!(tx, conversation_id);
                    append_event!(tx, pg, &DomainEvent::MessageStatusChanged { conversation_id: ConversationId(conversation_id), message_id: MessageId(message_id) }, scope);
                    changed.push(MessageId(message_id));
                }
            }
            changed
        });
        Ok(out)
    }
}
