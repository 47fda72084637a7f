//! Replies through the fake connector: token caching, request shape, egress and errors.

use prosa_channel::egress::EgressPolicy;
use prosa_channel::{ChannelAdapter, InboundItem, OutboundMessage, SendContext, SendError};
use prosa_channel_botframework::fake::{APP_ID, FakeBotFramework};
use prosa_channel_botframework::{BotFrameworkChannel, parse_activity};
use prosa_domain::message::{MessageContent, MessageOption};
use prosa_domain::{ConversationId, MessageId};
use serde_json::json;
use std::time::Duration;

fn adapter(allow_loopback: bool) -> BotFrameworkChannel {
    let hosts = if allow_loopback {
        vec!["127.0.0.1".to_owned()]
    } else {
        Vec::new()
    };
    BotFrameworkChannel::new(
        reqwest::Client::new(),
        EgressPolicy {
            allowed_private_hosts: hosts,
        },
    )
}

/// An outbound message to the sender of an inbound activity from `service_url`.
fn reply_to(service_url: &str, content: MessageContent) -> OutboundMessage {
    let body = json!({"type": "message", "id": "in1", "serviceUrl": service_url, "channelId": "webchat", "from": {"id": "u1", "name": "Ana"},
        "conversation": {"id": "conv/1"}, "recipient": {"id": "bot1", "name": "Prosa"}, "text": "oi"});
    let InboundItem::Message(m) = parse_activity(body.to_string().as_bytes())
        .unwrap()
        .remove(0)
    else {
        panic!()
    };
    OutboundMessage {
        message_id: MessageId(1),
        conversation_id: ConversationId(1),
        to: m.from.external_id,
        to_meta: m.from.meta,
        content,
        from_human: false,
        last_incoming_at: None,
        files: Vec::new(),
    }
}

#[tokio::test]
async fn reply_with_suggested_actions_and_cached_token() {
    let fake = FakeBotFramework::start().await;
    let ctx = SendContext {
        http: reqwest::Client::new(),
        settings: fake.settings(),
    };
    let a = adapter(true);
    let options = vec![
        MessageOption {
            id: "menu:boleto".into(),
            label: "Segunda via".into(),
        },
        MessageOption {
            id: "menu:suporte".into(),
            label: "Suporte".into(),
        },
    ];
    let r = a
        .send(
            &ctx,
            &reply_to(
                &fake.service_url(),
                MessageContent::text("Escolha").with_options(options),
            ),
        )
        .await
        .unwrap();
    assert_eq!(r.provider_message_id.as_deref(), Some("1764500000001"));
    a.send(
        &ctx,
        &reply_to(&fake.service_url(), MessageContent::text("de novo")),
    )
    .await
    .unwrap();
    assert_eq!(fake.token_requests(), 1, "token cached until expiry");
    let reqs = fake.requests();
    let token_req = reqs.iter().find(|r| r.path.ends_with("/token")).unwrap();
    let form = String::from_utf8(token_req.body.clone()).unwrap();
    assert!(
        form.contains("grant_type=client_credentials")
            && form.contains(&format!("client_id={APP_ID}"))
            && form.contains("scope=https%3A%2F%2Fapi.botframework.com%2F.default"),
        "{form}"
    );
    let posts: Vec<_> = reqs
        .iter()
        .filter(|r| r.path.ends_with("/activities"))
        .collect();
    assert_eq!(
        posts[0].path,
        "/connector/v3/conversations/conv%2F1/activities"
    );
    assert_eq!(
        posts[0].headers.get("authorization").unwrap(),
        "Bearer fake-access-token-1"
    );
    let b = posts[0].json();
    assert_eq!(b["type"], "message");
    assert_eq!(b["from"], json!({"id": "bot1", "name": "Prosa"}));
    assert_eq!(b["recipient"], json!({"id": "u1", "name": "Ana"}));
    assert_eq!(b["conversation"], json!({"id": "conv/1"}));
    assert_eq!(b["suggestedActions"]["to"], json!(["u1"]));
    assert_eq!(
        b["suggestedActions"]["actions"][0],
        json!({"type": "messageBack", "title": "Segunda via", "text": "Segunda via", "displayText": "Segunda via", "value": {"option_id": "menu:boleto"}})
    );
}

#[tokio::test]
async fn short_lived_and_revoked_tokens_are_renewed() {
    let fake = FakeBotFramework::start().await;
    let ctx = SendContext {
        http: reqwest::Client::new(),
        settings: fake.settings(),
    };
    let a = adapter(true);
    fake.set_token_lifetime(60); // below the 5 min margin: never reused
    a.send(
        &ctx,
        &reply_to(&fake.service_url(), MessageContent::text("1")),
    )
    .await
    .unwrap();
    a.send(
        &ctx,
        &reply_to(&fake.service_url(), MessageContent::text("2")),
    )
    .await
    .unwrap();
    assert_eq!(fake.token_requests(), 2);
    fake.set_token_lifetime(3600);
    a.send(
        &ctx,
        &reply_to(&fake.service_url(), MessageContent::text("3")),
    )
    .await
    .unwrap();
    fake.revoke_tokens();
    a.send(
        &ctx,
        &reply_to(&fake.service_url(), MessageContent::text("4")),
    )
    .await
    .unwrap();
    assert_eq!(fake.token_requests(), 4, "a 401 fetches a fresh token once");
}

#[tokio::test]
async fn egress_and_errors() {
    let fake = FakeBotFramework::start().await;
    let ctx = SendContext {
        http: reqwest::Client::new(),
        settings: fake.settings(),
    };
    // A serviceUrl on loopback is refused unless allowed, before any token is requested.
    let r = adapter(false)
        .send(
            &ctx,
            &reply_to(&fake.service_url(), MessageContent::text("oi")),
        )
        .await;
    assert!(matches!(r, Err(SendError::Invalid(_))), "{r:?}");
    assert_eq!(fake.token_requests(), 0);
    let a = adapter(true);
    let mut bad = ctx.clone();
    bad.settings["app_password"] = json!("wrong");
    assert!(matches!(
        a.send(
            &bad,
            &reply_to(&fake.service_url(), MessageContent::text("oi"))
        )
        .await,
        Err(SendError::Credentials(_))
    ));
    a.send(
        &ctx,
        &reply_to(&fake.service_url(), MessageContent::text("warm")),
    )
    .await
    .unwrap();
    fake.push(
        429,
        json!({"error": {"code": "Throttled", "message": "slow down"}}),
        &[("retry-after", "3")],
    );
    assert_eq!(
        a.send(
            &ctx,
            &reply_to(&fake.service_url(), MessageContent::text("oi"))
        )
        .await,
        Err(SendError::RetryLater {
            retry_after: Some(Duration::from_secs(3)),
            detail: "connector answered 429 Too Many Requests Throttled".into()
        })
    );
    fake.push(
        404,
        json!({"error": {"code": "ConversationNotFound", "message": "x"}}),
        &[],
    );
    assert!(matches!(
        a.send(
            &ctx,
            &reply_to(&fake.service_url(), MessageContent::text("oi"))
        )
        .await,
        Err(SendError::Unreachable(_))
    ));
    fake.push(
        400,
        json!({"error": {"code": "BadSyntax", "message": "x"}}),
        &[],
    );
    assert!(matches!(
        a.send(
            &ctx,
            &reply_to(&fake.service_url(), MessageContent::text("oi"))
        )
        .await,
        Err(SendError::Invalid(_))
    ));
    let mut no_meta = reply_to(&fake.service_url(), MessageContent::text("oi"));
    no_meta.to_meta = None;
    assert!(matches!(
        a.send(&ctx, &no_meta).await,
        Err(SendError::Invalid(_))
    ));
}
