//! Shared-webhook storage (routing keys, unhandled content, watermark receipts) on SQLite and,
//! when `PROSA_TEST_POSTGRES_URL` is set, on a fresh PostgreSQL database.

use jiff::{SignedDuration, Timestamp};
use prosa_domain::message::MessageContent;
use prosa_domain::model::{AuthorKind, ChannelKind, ConversationStatus, DeliveryStatus};
use prosa_storage::conversations::NewOutgoing;
use prosa_storage::inbound::{IncomingMessage, NewInbound, Routing, Stored};
use prosa_storage::inboxes::NewInbox;
use prosa_storage::webhooks::{NewUnhandled, route_of};
use prosa_storage::{StorageError, Store, StoreOptions};
use serde_json::json;
use std::time::Duration;

async fn stores() -> Vec<Store> {
    let dir = std::env::temp_dir().join(format!("prosa-webhooks-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut out = vec![
        Store::open(&StoreOptions::new(format!(
            "sqlite://{}/t.db",
            dir.display()
        )))
        .await
        .unwrap(),
    ];
    if let Some(base) = std::env::var("PROSA_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
    {
        let name = format!("prosa_wh_{}", uuid::Uuid::new_v4().simple());
        let admin = sqlx::PgPool::connect(&base).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&admin)
            .await
            .unwrap();
        admin.close().await;
        let (head, _) = base.split('?').next().unwrap().rsplit_once('/').unwrap();
        let url = format!("{head}/{name}");
        out.push(Store::open(&StoreOptions::new(url)).await.unwrap());
    }
    out
}

fn inbox(kind: ChannelKind, settings: serde_json::Value) -> NewInbox {
    NewInbox {
        name: "caixa".into(),
        kind,
        settings,
        team_id: None,
        bot_enabled: false,
    }
}

#[tokio::test]
async fn routes_follow_the_inbox_and_are_unique() {
    assert_eq!(
        route_of(ChannelKind::Instagram, &json!({"page_id": "178"})),
        Some(("instagram", "178".to_owned()))
    );
    assert_eq!(
        route_of(ChannelKind::WhatsappCloud, &json!({"phone_number_id": 106})),
        Some(("whatsapp_business_account", "106".to_owned()))
    );
    assert_eq!(
        route_of(ChannelKind::Telegram, &json!({"page_id": "1"})),
        None
    );
    assert_eq!(
        route_of(ChannelKind::Messenger, &json!({"page_id": " "})),
        None
    );
    for s in stores().await {
        let a = s
            .create_inbox(&inbox(ChannelKind::Messenger, json!({"page_id": "111"})))
            .await
            .unwrap();
        // The same id as an Instagram account is another key.
        let b = s
            .create_inbox(&inbox(ChannelKind::Instagram, json!({"page_id": "111"})))
            .await
            .unwrap();
        assert_eq!(s.inbox_for_route("page", "111").await.unwrap(), Some(a));
        assert_eq!(
            s.inbox_for_route("instagram", "111").await.unwrap(),
            Some(b)
        );
        // One Page, one inbox: the second is refused and not created.
        let before = s.list_inboxes().await.unwrap().len();
        let e = s
            .create_inbox(&inbox(ChannelKind::Messenger, json!({"page_id": "111"})))
            .await
            .unwrap_err();
        assert!(matches!(e, StorageError::Conflict { .. }), "{e:?}");
        assert_eq!(s.list_inboxes().await.unwrap().len(), before);
        // Editing moves the key; the old one is free again.
        s.update_inbox(
            a,
            &inbox(ChannelKind::Messenger, json!({"page_id": "222"})),
            true,
        )
        .await
        .unwrap();
        assert_eq!(s.inbox_for_route("page", "111").await.unwrap(), None);
        assert_eq!(s.inbox_for_route("page", "222").await.unwrap(), Some(a));
        let c = s
            .create_inbox(&inbox(ChannelKind::Messenger, json!({"page_id": "111"})))
            .await
            .unwrap();
        assert_eq!(s.inbox_for_route("page", "111").await.unwrap(), Some(c));

        s.record_unhandled_webhook(&NewUnhandled {
            inbox_id: None,
            kind: ChannelKind::Messenger,
            route_key: Some("999"),
            reason: "no inbox for page 999",
            raw: "{}",
        })
        .await
        .unwrap();
        s.record_unhandled_webhook(&NewUnhandled {
            inbox_id: Some(a),
            kind: ChannelKind::Messenger,
            route_key: None,
            reason: "unreadable body",
            raw: "{",
        })
        .await
        .unwrap();
        let u = s.unhandled_webhooks(10).await.unwrap();
        assert_eq!(u.len(), 2);
        assert_eq!(
            (u[0].inbox_id, u[0].reason.as_str()),
            (Some(a), "unreadable body")
        );
        assert_eq!(u[1].route_key.as_deref(), Some("999"));
        s.close().await;
    }
}

#[tokio::test]
async fn watermarks_advance_earlier_outgoing_messages_only() {
    for s in stores().await {
        let id = s
            .create_inbox(&inbox(ChannelKind::Messenger, json!({"page_id": "1"})))
            .await
            .unwrap();
        let store_one = |key: &'static str| {
            let s = &s;
            async move {
                match s
                    .store_inbound(
                        id,
                        &[NewInbound {
                            dedupe_key: key,
                            item: "{}",
                            raw: "{}",
                        }],
                    )
                    .await
                    .unwrap()[0]
                {
                    Stored::New(e) => e,
                    Stored::Duplicate => panic!("duplicate"),
                }
            }
        };
        let ev = store_one("m1").await;
        let msg = IncomingMessage {
            external_id: "psid-1".into(),
            name: None,
            phone: None,
            identity_meta: None,
            provider_message_id: "m1".into(),
            content: MessageContent::text("Oi"),
            sent_at: Timestamp::now(),
        };
        let routing = Routing {
            status: ConversationStatus::Waiting,
            team_id: None,
        };
        let conv = match s
            .process_incoming_message(ev, id, &msg, routing)
            .await
            .unwrap()
        {
            prosa_storage::inbound::Processed::Message {
                conversation_id, ..
            } => conversation_id,
            other => panic!("{other:?}"),
        };
        let out = |text: &str| NewOutgoing {
            conversation_id: conv,
            author_kind: AuthorKind::Agent,
            author_id: None,
            private: false,
            content: MessageContent::text(text),
            client_id: None,
        };
        let m1 = s.create_outgoing_message(&out("um")).await.unwrap();
        let m2 = s.create_outgoing_message(&out("dois")).await.unwrap();
        // One conversation's items are claimed one at a time, in order.
        for pid in ["mid.1", "mid.2"] {
            let jobs = s
                .claim_outbox(
                    Timestamp::now() + SignedDuration::from_secs(5),
                    Duration::from_secs(60),
                    10,
                )
                .await
                .unwrap();
            assert_eq!(jobs.len(), 1);
            s.complete_outbox(&jobs[0], Some(pid)).await.unwrap();
        }
        // A read watermark before the messages existed changes nothing.
        let ev = store_one("w0").await;
        let early = Timestamp::now() - SignedDuration::from_hours(1);
        assert!(
            s.process_watermark(ev, id, "psid-1", DeliveryStatus::Read, early)
                .await
                .unwrap()
                .is_empty()
        );
        // Another person's watermark neither.
        let ev = store_one("w1").await;
        let later = Timestamp::now() + SignedDuration::from_secs(1);
        assert!(
            s.process_watermark(ev, id, "psid-2", DeliveryStatus::Read, later)
                .await
                .unwrap()
                .is_empty()
        );
        let ev = store_one("w2").await;
        let changed = s
            .process_watermark(ev, id, "psid-1", DeliveryStatus::Read, later)
            .await
            .unwrap();
        assert_eq!(changed, vec![m1, m2]);
        for m in [m1, m2] {
            assert_eq!(
                s.message_by_id(m).await.unwrap().delivery_status,
                Some(DeliveryStatus::Read)
            );
        }
        // A late delivery watermark does not move them back; the items are processed.
        let ev = store_one("w3").await;
        assert!(
            s.process_watermark(ev, id, "psid-1", DeliveryStatus::Delivered, later)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(s.count_pending_inbound().await.unwrap(), 0);
        s.close().await;
    }
}
