//! Sends against the local fake: exact request shapes and error mapping.

use jiff::{SignedDuration, Timestamp};
use prosa_channel::{ChannelAdapter, OutboundMessage, SendContext, SendError};
use prosa_channel_whatsapp_cloud::fake::{Canned, FakeWhatsApp, TOKEN};
use prosa_channel_whatsapp_cloud::{
    MediaError, MediaLimits, WhatsAppCloudChannel, download_media, media_id_from_url,
};
use prosa_domain::message::{Attachment, MessageContent, MessageOption};
use prosa_domain::{ConversationId, MessageId};
use serde_json::json;
use std::time::Duration;

fn msg(content: MessageContent, last_incoming_hours_ago: Option<i64>) -> OutboundMessage {
    OutboundMessage {
        message_id: MessageId(1),
        conversation_id: ConversationId(1),
        to: "5548988887777".into(),
        to_meta: None,
        content,
        from_human: false,
        last_incoming_at: last_incoming_hours_ago
            .map(|h| Timestamp::now() - SignedDuration::from_hours(h)),
        files: Vec::new(),
    }
}

fn opts(n: usize, label: &str) -> Vec<MessageOption> {
    (0..n)
        .map(|i| MessageOption {
            id: format!("opt:{i}"),
            label: format!("{label}{i}"),
        })
        .collect()
}

fn ctx(fake: &FakeWhatsApp) -> SendContext {
    SendContext {
        http: reqwest::Client::new(),
        settings: fake.settings(),
    }
}

#[tokio::test]
async fn text_buttons_list_and_numbered_menu() {
    let fake = FakeWhatsApp::start().await;
    let a = WhatsAppCloudChannel;
    let r = a
        .send(&ctx(&fake), &msg(MessageContent::text("oi"), Some(1)))
        .await
        .unwrap();
    assert_eq!(r.provider_message_id.as_deref(), Some("wamid.FAKE1"));
    a.send(
        &ctx(&fake),
        &msg(
            MessageContent::text("Escolha").with_options(opts(3, "Opção ")),
            Some(1),
        ),
    )
    .await
    .unwrap();
    a.send(
        &ctx(&fake),
        &msg(
            MessageContent::text("Escolha").with_options(opts(10, "Plano ")),
            Some(1),
        ),
    )
    .await
    .unwrap();
    a.send(
        &ctx(&fake),
        &msg(
            MessageContent::text("Escolha").with_options(opts(11, "Plano ")),
            Some(1),
        ),
    )
    .await
    .unwrap();
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 4);
    for r in &reqs {
        assert_eq!(r.method, "POST");
        assert_eq!(r.path, "/v23.0/106540352242922/messages");
        assert_eq!(
            r.header("authorization"),
            Some(format!("Bearer {TOKEN}").as_str())
        );
    }
    assert_eq!(
        reqs[0].json(),
        json!({"messaging_product":"whatsapp","recipient_type":"individual","to":"5548988887777","type":"text","text":{"body":"oi","preview_url":false}})
    );
    let b = reqs[1].json();
    assert_eq!(b["interactive"]["type"], "button");
    assert_eq!(
        b["interactive"]["action"]["buttons"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert_eq!(
        b["interactive"]["action"]["buttons"][0],
        json!({"type":"reply","reply":{"id":"opt:0","title":"Opção 0"}})
    );
    let l = reqs[2].json();
    assert_eq!(l["interactive"]["type"], "list");
    assert_eq!(
        l["interactive"]["action"]["sections"][0]["rows"]
            .as_array()
            .unwrap()
            .len(),
        10
    );
    assert_eq!(l["interactive"]["action"]["button"], "Ver opções");
    let n = reqs[3].json();
    assert_eq!(n["type"], "text");
    let body = n["text"]["body"].as_str().unwrap();
    assert!(body.starts_with("Escolha\n\n1. Plano 0\n"), "{body}");
    assert!(body.contains("11. Plano 10"));
}

#[tokio::test]
async fn document_by_link_with_caption() {
    let fake = FakeWhatsApp::start().await;
    let mut content = MessageContent::text("Sua fatura");
    content.attachments.push(Attachment {
        kind: "document".into(),
        file_name: Some("fatura.pdf".into()),
        mime_type: Some("application/pdf".into()),
        stored_path: None,
        url: Some("https://erp.example.com/f/1.pdf".into()),
        size: None,
    });
    WhatsAppCloudChannel
        .send(&ctx(&fake), &msg(content, Some(2)))
        .await
        .unwrap();
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 1, "caption carries the text: one request");
    assert_eq!(
        reqs[0].json()["document"],
        json!({"link":"https://erp.example.com/f/1.pdf","caption":"Sua fatura","filename":"fatura.pdf"})
    );
}

#[tokio::test]
async fn window_closed_needs_template_or_sends_the_fallback() {
    let fake = FakeWhatsApp::start().await;
    let a = WhatsAppCloudChannel;
    assert_eq!(
        a.send(&ctx(&fake), &msg(MessageContent::text("oi"), Some(25)))
            .await,
        Err(SendError::NeedsTemplate)
    );
    assert_eq!(
        a.send(&ctx(&fake), &msg(MessageContent::text("oi"), None))
            .await,
        Err(SendError::NeedsTemplate)
    );
    assert!(fake.requests().is_empty(), "refused before calling Meta");
    let mut c = ctx(&fake);
    c.settings["fallback_template"] =
        json!({"name": "retomar_atendimento", "language": "pt_BR", "body_text_param": true});
    a.send(
        &c,
        &msg(MessageContent::text("Sua fatura venceu"), Some(30)),
    )
    .await
    .unwrap();
    let t = fake.requests()[0].json();
    assert_eq!(t["type"], "template");
    assert_eq!(
        t["template"],
        json!({"name":"retomar_atendimento","language":{"code":"pt_BR"},"components":[{"type":"body","parameters":[{"type":"text","text":"Sua fatura venceu"}]}]})
    );
}

#[tokio::test]
async fn provider_errors_map_to_the_taxonomy() {
    let fake = FakeWhatsApp::start().await;
    let a = WhatsAppCloudChannel;
    let m = msg(MessageContent::text("oi"), Some(1));
    fake.push(Canned::graph_error(400, 131047, "Re-engagement message"));
    assert_eq!(a.send(&ctx(&fake), &m).await, Err(SendError::NeedsTemplate));
    fake.push(Canned::graph_error(429, 130429, "Rate limit hit").with_header("retry-after", "12"));
    assert!(
        matches!(a.send(&ctx(&fake), &m).await, Err(SendError::RetryLater { retry_after: Some(d), .. }) if d == Duration::from_secs(12))
    );
    fake.push(Canned::graph_error(400, 131056, "pair rate"));
    assert!(
        matches!(a.send(&ctx(&fake), &m).await, Err(SendError::RetryLater { retry_after: Some(d), .. }) if d == Duration::from_secs(6))
    );
    fake.push(Canned::graph_error(400, 80007, "WABA rate limit"));
    assert!(matches!(
        a.send(&ctx(&fake), &m).await,
        Err(SendError::RetryLater { .. })
    ));
    fake.push(Canned::graph_error(400, 131026, "Message undeliverable"));
    assert!(matches!(
        a.send(&ctx(&fake), &m).await,
        Err(SendError::Unreachable(_))
    ));
    fake.push(Canned::graph_error(
        401,
        190,
        "Error validating access token: Session has expired",
    ));
    assert!(matches!(
        a.send(&ctx(&fake), &m).await,
        Err(SendError::Credentials(_))
    ));
    fake.push(Canned::graph_error(400, 100, "Invalid parameter"));
    assert!(matches!(
        a.send(&ctx(&fake), &m).await,
        Err(SendError::Invalid(_))
    ));
    fake.push(Canned {
        status: 502,
        headers: vec![],
        body: "bad gateway".into(),
    });
    assert!(matches!(
        a.send(&ctx(&fake), &m).await,
        Err(SendError::RetryLater { .. })
    ));
    // A wrong token is rejected by the fake with 190.
    let mut c = ctx(&fake);
    c.settings["access_token"] = json!("expired");
    assert!(matches!(
        a.send(&c, &m).await,
        Err(SendError::Credentials(_))
    ));
    // Unreachable provider: retry.
    c.settings["base_url"] = json!("http://127.0.0.1:9");
    assert!(matches!(
        a.send(&c, &m).await,
        Err(SendError::RetryLater { .. })
    ));
}

#[tokio::test]
async fn media_download_two_steps_with_limits() {
    let fake = FakeWhatsApp::start().await;
    let settings = fake.settings();
    let id = media_id_from_url("whatsapp-media:1003383421387256").unwrap();
    let file = download_media(&settings, id, MediaLimits::default())
        .await
        .unwrap();
    assert_eq!(file.bytes, b"fake-media-1003383421387256");
    assert_eq!(file.mime_type.as_deref(), Some("image/jpeg"));
    let reqs = fake.requests();
    assert_eq!(reqs[0].path, "/v23.0/1003383421387256");
    assert_eq!(
        reqs[0].query.as_deref(),
        Some("phone_number_id=106540352242922")
    );
    assert_eq!(reqs[1].path, "/media-bin/1003383421387256");
    assert!(
        reqs.iter()
            .all(|r| r.header("authorization") == Some("Bearer test-token"))
    );
    // Too large.
    let small = MediaLimits {
        max_bytes: 5,
        timeout: Duration::from_secs(5),
    };
    assert_eq!(
        download_media(&settings, id, small).await,
        Err(MediaError::TooLarge(5))
    );
    // A media URL on another host never gets the token.
    fake.push(Canned::json(
        200,
        json!({"url": "http://169.254.169.254/latest/meta-data", "id": "1"}),
    ));
    assert!(matches!(
        download_media(&settings, "1", MediaLimits::default()).await,
        Err(MediaError::Refused(_))
    ));
    let n = fake.requests().len();
    fake.push(Canned::json(
        200,
        json!({"url": "https://evil.example.com/x", "id": "1"}),
    ));
    assert!(matches!(
        download_media(&settings, "1", MediaLimits::default()).await,
        Err(MediaError::Refused(_))
    ));
    assert_eq!(fake.requests().len(), n + 1);
    // Ids are opaque but must not inject paths.
    assert!(media_id_from_url("whatsapp-media:../../x").is_none());
    assert!(matches!(
        download_media(&settings, "../x", MediaLimits::default()).await,
        Err(MediaError::Refused(_))
    ));
}
