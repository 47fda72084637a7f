//! Sends and instance calls against the local fake Evolution.

use prosa_channel::{ChannelAdapter, OutboundMessage, SendContext, SendError};
use prosa_channel_evolution::fake::{API_KEY, Canned, FakeEvolution, INSTANCE};
use prosa_channel_evolution::{
    EvolutionChannel, connect, connection_state, create_instance, download_media,
    media_key_from_url, set_webhook,
};
use prosa_domain::message::{Attachment, MessageContent, MessageOption};
use prosa_domain::{ConversationId, MessageId};
use serde_json::json;

fn msg(to: &str, content: MessageContent) -> OutboundMessage {
    OutboundMessage {
        message_id: MessageId(1),
        conversation_id: ConversationId(1),
        to: to.into(),
        to_meta: None,
        content,
        from_human: false,
        last_incoming_at: None,
        files: Vec::new(),
    }
}

fn opts(n: usize) -> Vec<MessageOption> {
    (0..n)
        .map(|i| MessageOption {
            id: format!("opt:{i}"),
            label: format!("Opção {i}"),
        })
        .collect()
}

#[tokio::test]
async fn text_numbered_menu_buttons_list_and_media() {
    let fake = FakeEvolution::start().await;
    let plain = SendContext {
        http: reqwest::Client::new(),
        settings: fake.settings(),
    };
    let mut interactive = plain.clone();
    interactive.settings["interactive"] = json!(true);
    let a = EvolutionChannel;
    let r = a
        .send(&plain, &msg("5548988887777", MessageContent::text("oi")))
        .await
        .unwrap();
    assert_eq!(r.provider_message_id.as_deref(), Some("3EB0FAKE1"));
    a.send(
        &plain,
        &msg(
            "5548988887777",
            MessageContent::text("Menu").with_options(opts(3)),
        ),
    )
    .await
    .unwrap();
    a.send(
        &interactive,
        &msg(
            "5548988887777",
            MessageContent::text("Menu").with_options(opts(3)),
        ),
    )
    .await
    .unwrap();
    a.send(
        &interactive,
        &msg(
            "5548988887777",
            MessageContent::text("Menu").with_options(opts(8)),
        ),
    )
    .await
    .unwrap();
    a.send(
        &interactive,
        &msg(
            "5548988887777",
            MessageContent::text("Menu").with_options(opts(12)),
        ),
    )
    .await
    .unwrap();
    let mut doc = MessageContent::text("Sua fatura");
    doc.attachments.push(Attachment {
        kind: "document".into(),
        file_name: Some("fatura.pdf".into()),
        mime_type: Some("application/pdf".into()),
        stored_path: None,
        url: Some("https://erp.example.com/f.pdf".into()),
        size: None,
    });
    a.send(&plain, &msg("187654321099999@lid", doc))
        .await
        .unwrap();
    let reqs = fake.requests();
    let paths: Vec<&str> = reqs.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/message/sendText/provedor-principal",
            "/message/sendText/provedor-principal",
            "/message/sendButtons/provedor-principal",
            "/message/sendList/provedor-principal",
            "/message/sendText/provedor-principal",
            "/message/sendMedia/provedor-principal"
        ]
    );
    assert!(
        reqs.iter()
            .all(|r| r.headers.get("apikey").unwrap() == API_KEY)
    );
    assert_eq!(
        reqs[0].json(),
        json!({"number": "5548988887777", "text": "oi"})
    );
    assert!(
        reqs[1].json()["text"]
            .as_str()
            .unwrap()
            .contains("1. Opção 0\n2. Opção 1\n3. Opção 2")
    );
    assert_eq!(
        reqs[2].json()["buttons"][0],
        json!({"type": "reply", "displayText": "Opção 0", "id": "opt:0"})
    );
    assert_eq!(
        reqs[3].json()["sections"][0]["rows"]
            .as_array()
            .unwrap()
            .len(),
        8
    );
    assert!(
        reqs[4].json()["text"]
            .as_str()
            .unwrap()
            .contains("12. Opção 11")
    );
    assert_eq!(
        reqs[5].json(),
        json!({"number": "187654321099999@lid", "mediatype": "document", "mimetype": "application/pdf", "fileName": "fatura.pdf", "media": "https://erp.example.com/f.pdf", "caption": "Sua fatura"})
    );
}

#[tokio::test]
async fn errors_map_to_the_taxonomy() {
    let fake = FakeEvolution::start().await;
    let ctx = SendContext {
        http: reqwest::Client::new(),
        settings: fake.settings(),
    };
    let a = EvolutionChannel;
    assert!(matches!(
        a.send(&ctx, &msg("000012345", MessageContent::text("oi")))
            .await,
        Err(SendError::Unreachable(_))
    ));
    let mut bad_key = ctx.clone();
    bad_key.settings["api_key"] = json!("wrong");
    assert!(matches!(
        a.send(&bad_key, &msg("5548988887777", MessageContent::text("oi")))
            .await,
        Err(SendError::Credentials(_))
    ));
    let mut bad_instance = ctx.clone();
    bad_instance.settings["instance"] = json!("sumiu");
    assert!(matches!(
        a.send(
            &bad_instance,
            &msg("5548988887777", MessageContent::text("oi"))
        )
        .await,
        Err(SendError::Credentials(_))
    ));
    fake.push(Canned::error(500, json!(["Connection Closed"])));
    assert!(matches!(
        a.send(&ctx, &msg("5548988887777", MessageContent::text("oi")))
            .await,
        Err(SendError::RetryLater { .. })
    ));
    fake.push(Canned::error(400, json!(["text is required"])));
    assert!(matches!(
        a.send(&ctx, &msg("5548988887777", MessageContent::text("oi")))
            .await,
        Err(SendError::Invalid(_))
    ));
}

#[tokio::test]
async fn instance_lifecycle() {
    let fake = FakeEvolution::start().await;
    let http = reqwest::Client::new();
    let s = fake.settings();
    let created = create_instance(
        &http,
        &s,
        INSTANCE,
        "https://prosa.example.com/webhooks/evolution/3",
        json!({"x-webhook-token": "t"}),
    )
    .await
    .unwrap();
    assert_eq!(created.token.as_deref(), Some("instance-token-fake"));
    assert_eq!(
        created.qr_base64.as_deref(),
        Some(prosa_channel_evolution::fake::QR_DATA_URL)
    );
    let body = fake.requests()[0].json();
    assert_eq!(body["integration"], "WHATSAPP-BAILEYS");
    assert_eq!(body["webhook"]["headers"], json!({"x-webhook-token": "t"}));
    assert_eq!(connection_state(&http, &s).await.unwrap(), "connecting");
    let info = connect(&http, &s, Some("+55 48 99999-0000")).await.unwrap();
    assert_eq!(info.pairing_code.as_deref(), Some("ABCD1234"));
    assert_eq!(
        fake.requests().last().unwrap().query.as_deref(),
        Some("number=5548999990000")
    );
    fake.set_state("open");
    assert_eq!(
        connect(&http, &s, None).await.unwrap().state.as_deref(),
        Some("open")
    );
    assert_eq!(connection_state(&http, &s).await.unwrap(), "open");
    set_webhook(
        &http,
        &s,
        "https://prosa.example.com/webhooks/evolution/3",
        json!({"x-webhook-token": "t"}),
    )
    .await
    .unwrap();
    assert_eq!(
        fake.requests().last().unwrap().path,
        "/webhook/set/provedor-principal"
    );
}

#[tokio::test]
async fn media_download_with_limit() {
    let fake = FakeEvolution::start().await;
    let http = reqwest::Client::new();
    let s = fake.settings();
    let key = media_key_from_url("evolution-media:3EB0A1B2C3D4E5F60004").unwrap();
    let f = download_media(&http, &s, key, 1024).await.unwrap();
    assert_eq!(f.bytes, b"fake-media-3EB0A1B2C3D4E5F60004");
    assert_eq!(f.mime_type.as_deref(), Some("image/jpeg"));
    let r = fake.requests().pop().unwrap();
    assert_eq!(r.path, "/chat/getBase64FromMediaMessage/provedor-principal");
    assert_eq!(
        r.json(),
        json!({"message": {"key": {"id": "3EB0A1B2C3D4E5F60004"}}, "convertToMp4": false})
    );
    assert!(matches!(
        download_media(&http, &s, key, 8).await,
        Err(SendError::Invalid(_))
    ));
    assert!(media_key_from_url("evolution-media:../x").is_none());
}
