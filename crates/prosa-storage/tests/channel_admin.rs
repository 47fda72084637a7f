//! Channel administration storage (`channel_admin`): inbox health with dead letters, and the
//! typing throttle. Runs on SQLite, and on PostgreSQL when `PROSA_TEST_POSTGRES_URL` is set.

use jiff::Timestamp;
use prosa_domain::event::DomainEvent;
use prosa_domain::message::MessageContent;
use prosa_domain::model::{AuthorKind, ChannelKind, ConversationStatus};
use prosa_domain::*;
use prosa_storage::conversations::NewOutgoing;
use prosa_storage::events::EventScope;
use prosa_storage::inbound::{IncomingMessage, NewInbound, Processed, Routing, Stored};
use prosa_storage::inboxes::NewInbox;
use prosa_storage::{Store, StoreOptions};
use std::time::Duration;

async fn stores() -> Vec<Store> {
    let dir = std::env::temp_dir().join(format!("prosa-chadmin-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut out = vec![
        Store::open(&StoreOptions::new(format!(
            "sqlite://{}/prosa.db",
            dir.display()
        )))
        .await
        .unwrap(),
    ];
    if let Some(base) = std::env::var("PROSA_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())
    {
        let name = format!("prosa_chadmin_{}", uuid::Uuid::new_v4().simple());
        let admin = sqlx::PgPool::connect(&base).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&admin)
            .await
            .unwrap();
        admin.close().await;
        let url = format!("{}/{name}", base.rsplit_once('/').unwrap().0);
        out.push(Store::open(&StoreOptions::new(url)).await.unwrap());
    }
    out
}

async fn conversation(s: &Store, inbox: InboxId) -> ConversationId {
    let got = s
        .store_inbound(
            inbox,
            &[NewInbound {
                dedupe_key: "msg:1",
                item: "{}",
                raw: "{}",
            }],
        )
        .await
        .unwrap();
    let [Stored::New(event)] = got[..] else {
        panic!("{got:?}")
    };
    let msg = IncomingMessage {
        external_id: "5511987654321".into(),
        name: None,
        phone: Some("5511987654321".into()),
        identity_meta: None,
        provider_message_id: "wamid.1".into(),
        content: MessageContent::text("oi"),
        sent_at: Timestamp::now(),
    };
    let routing = Routing {
        status: ConversationStatus::Waiting,
        team_id: None,
    };
    match s
        .process_incoming_message(event, inbox, &msg, routing)
        .await
        .unwrap()
    {
        Processed::Message {
            conversation_id, ..
        } => conversation_id,
        Processed::AlreadyDone => panic!("already done"),
    }
}

#[tokio::test]
async fn inbox_statuses_count_dead_letters_per_inbox() {
    for s in stores().await {
        let new = |name: &str| NewInbox {
            name: name.into(),
            kind: ChannelKind::Api,
            settings: serde_json::json!({"secret": "s"}),
            team_id: None,
            bot_enabled: false,
        };
        let a = s.create_inbox(&new("A")).await.unwrap();
        let b = s.create_inbox(&new("B")).await.unwrap();
        let conv = conversation(&s, a).await;
        let out = |t: &str| NewOutgoing {
            conversation_id: conv,
            author_kind: AuthorKind::Agent,
            author_id: None,
            private: false,
            content: MessageContent::text(t),
            client_id: None,
        };
        s.create_outgoing_message(&out("1")).await.unwrap();
        s.create_outgoing_message(&out("2")).await.unwrap();
        let jobs = s
            .claim_outbox(
                Timestamp::now() + Duration::from_secs(1),
                Duration::from_secs(60),
                1,
            )
            .await
            .unwrap();
        s.dead_letter_outbox(&jobs[0], "401 token expirado")
            .await
            .unwrap();
        s.record_inbox_error(a, "401 token expirado").await.unwrap();

        let all = s.inbox_statuses().await.unwrap();
        let sa = &all[&a];
        assert_eq!((sa.dead_letters, sa.outbox_pending), (1, 1));
        assert_eq!(sa.last_error.as_deref(), Some("401 token expirado"));
        assert!(sa.last_error_at.is_some() && sa.last_inbound_at.is_some());
        assert_eq!(all[&b], Default::default());
        s.close().await;
    }
}

#[tokio::test]
async fn typing_is_throttled_per_conversation_and_author() {
    for s in stores().await {
        let inbox = s
            .create_inbox(&NewInbox {
                name: "Site".into(),
                kind: ChannelKind::WebChat,
                settings: serde_json::json!({}),
                team_id: None,
                bot_enabled: false,
            })
            .await
            .unwrap();
        let conv = conversation(&s, inbox).await;
        let typing = |author: &str| DomainEvent::Typing {
            conversation_id: conv,
            author: author.into(),
        };
        let scope = EventScope {
            status: Some(ConversationStatus::Waiting),
            ..EventScope::default()
        };
        let before = s.last_event_id().await.unwrap();
        assert!(
            s.publish_typing(&typing("contact"), scope, 60_000)
                .await
                .unwrap()
        );
        assert!(
            !s.publish_typing(&typing("contact"), scope, 60_000)
                .await
                .unwrap()
        );
        // The other side, and no throttle, are recorded.
        assert!(
            s.publish_typing(&typing("agent"), scope, 60_000)
                .await
                .unwrap()
        );
        assert!(
            s.publish_typing(&typing("contact"), scope, 0)
                .await
                .unwrap()
        );
        let events = s.events_after(before, 10).await.unwrap();
        assert_eq!(events.len(), 3);
        assert!(events.iter().all(|e| e.event.kind() == "typing"));
        s.close().await;
    }
}

#[tokio::test]
async fn take_setting_reads_once() {
    for s in stores().await {
        s.put_setting("flash.x", &serde_json::json!({"a": 1}))
            .await
            .unwrap();
        assert_eq!(
            s.take_setting("flash.x").await.unwrap(),
            Some(serde_json::json!({"a": 1}))
        );
        assert_eq!(s.take_setting("flash.x").await.unwrap(), None);
        assert_eq!(s.setting("flash.x").await.unwrap(), None);
        s.close().await;
    }
}
