//! Sends and Bot API calls against the local fake.

use prosa_channel::{ChannelAdapter, OutboundMessage, SendContext, SendError};
use prosa_channel_telegram::fake::{BOT_TOKEN, Canned, FakeTelegram};
use prosa_channel_telegram::{
    Poller, TelegramChannel, answer_callback_query, get_file, parse_update, set_webhook,
};
use prosa_domain::message::{Attachment, MessageContent, MessageOption};
use prosa_domain::{ConversationId, MessageId};
use serde_json::json;
use std::time::Duration;

fn msg(content: MessageContent) -> OutboundMessage {
    OutboundMessage {
        message_id: MessageId(1),
        conversation_id: ConversationId(1),
        to: "5123456789".into(),
        to_meta: None,
        content,
        from_human: false,
        last_incoming_at: None,
        files: Vec::new(),
    }
}

fn ctx(fake: &FakeTelegram) -> SendContext {
    SendContext {
        http: reqwest::Client::new(),
        settings: fake.settings(),
    }
}

#[tokio::test]
async fn text_and_inline_keyboard() {
    let fake = FakeTelegram::start().await;
    let r = TelegramChannel
        .send(&ctx(&fake), &msg(MessageContent::text("oi")))
        .await
        .unwrap();
    assert_eq!(r.provider_message_id.as_deref(), Some("5123456789:101"));
    let long_id = "segunda-via:contrato-000123456:fatura-2026-11:vencimento-2026-12-10:ç";
    assert!(long_id.len() > 64);
    let options = vec![
        MessageOption {
            id: "menu:boleto".into(),
            label: "Segunda via".into(),
        },
        MessageOption {
            id: long_id.into(),
            label: "Fatura de novembro".into(),
        },
    ];
    TelegramChannel
        .send(
            &ctx(&fake),
            &msg(MessageContent::text("Escolha").with_options(options)),
        )
        .await
        .unwrap();
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0].path, format!("/bot{BOT_TOKEN}/sendMessage"));
    assert_eq!(
        reqs[0].json(),
        json!({"chat_id": 5123456789i64, "text": "oi"})
    );
    let kb = &reqs[1].json()["reply_markup"]["inline_keyboard"];
    assert_eq!(
        kb[0],
        json!([{"text": "Segunda via", "callback_data": "menu:boleto"}])
    );
    let data = kb[1][0]["callback_data"].as_str().unwrap();
    assert!(data.len() <= 64 && data.starts_with('~'));
}

#[tokio::test]
async fn long_text_is_split_and_documents_use_send_document() {
    let fake = FakeTelegram::start().await;
    TelegramChannel
        .send(&ctx(&fake), &msg(MessageContent::text("a".repeat(5000))))
        .await
        .unwrap();
    let mut content = MessageContent::text("Sua fatura");
    content.attachments.push(Attachment {
        kind: "document".into(),
        file_name: Some("fatura.pdf".into()),
        mime_type: None,
        stored_path: None,
        url: Some("https://erp.example.com/f.pdf".into()),
        size: None,
    });
    TelegramChannel
        .send(&ctx(&fake), &msg(content))
        .await
        .unwrap();
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 3);
    assert_eq!(reqs[0].json()["text"].as_str().unwrap().len(), 4096);
    assert_eq!(reqs[1].json()["text"].as_str().unwrap().len(), 904);
    assert_eq!(reqs[2].api_method.as_deref(), Some("sendDocument"));
    assert_eq!(
        reqs[2].json(),
        json!({"chat_id": 5123456789i64, "document": "https://erp.example.com/f.pdf", "caption": "Sua fatura"})
    );
}

#[tokio::test]
async fn errors_map_to_the_taxonomy() {
    let fake = FakeTelegram::start().await;
    let m = msg(MessageContent::text("oi"));
    fake.push(Canned::too_many_requests(17));
    assert_eq!(
        TelegramChannel.send(&ctx(&fake), &m).await,
        Err(SendError::RetryLater {
            retry_after: Some(Duration::from_secs(17)),
            detail: "429 Too Many Requests: retry after 17".into()
        })
    );
    fake.push(Canned::blocked());
    assert!(matches!(
        TelegramChannel.send(&ctx(&fake), &m).await,
        Err(SendError::Unreachable(_))
    ));
    let mut bad = ctx(&fake);
    bad.settings["bot_token"] = json!("999:wrong");
    assert!(matches!(
        TelegramChannel.send(&bad, &m).await,
        Err(SendError::Credentials(_))
    ));
    fake.push(Canned::error(400, "Bad Request: chat not found"));
    assert!(matches!(
        TelegramChannel.send(&ctx(&fake), &m).await,
        Err(SendError::Unreachable(_))
    ));
    fake.push(Canned::error(500, "Internal Server Error"));
    assert!(matches!(
        TelegramChannel.send(&ctx(&fake), &m).await,
        Err(SendError::RetryLater { .. })
    ));
}

#[tokio::test]
async fn webhook_polling_callbacks_and_files() {
    let fake = FakeTelegram::start().await;
    let http = reqwest::Client::new();
    let s = fake.settings();
    // Long polling: updates are confirmed by the next call's offset.
    fake.queue_update(json!({"update_id": 10, "message": {"message_id": 1, "date": 1, "chat": {"id": 5, "type": "private"}, "text": "a"}}));
    fake.queue_update(json!({"update_id": 11, "message": {"message_id": 2, "date": 2, "chat": {"id": 5, "type": "private"}, "text": "b"}}));
    let mut poller = Poller::new();
    let first = poller.poll(&http, &s, 0).await.unwrap();
    assert_eq!(first.len(), 2);
    assert_eq!(parse_update(&first[1]).unwrap()[0].dedupe_key(), "11");
    assert_eq!(poller.offset, Some(12));
    assert_eq!(
        fake.pending_updates(),
        2,
        "not confirmed until the next poll"
    );
    assert!(poller.poll(&http, &s, 0).await.unwrap().is_empty());
    assert_eq!(fake.pending_updates(), 0);
    let polls: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|r| r.api_method.as_deref() == Some("getUpdates"))
        .collect();
    assert_eq!(polls[0].json(), json!({"timeout": 0, "limit": 100}));
    assert_eq!(polls[1].json()["offset"], 12);
    // setWebhook carries the secret; bad secrets are refused locally.
    set_webhook(
        &http,
        &s,
        "https://prosa.example.com/webhooks/telegram/1",
        "abc_DEF-123",
        Some(&["message", "callback_query"]),
    )
    .await
    .unwrap();
    assert_eq!(
        fake.webhook().unwrap(),
        json!({"url": "https://prosa.example.com/webhooks/telegram/1", "secret_token": "abc_DEF-123", "allowed_updates": ["message", "callback_query"]})
    );
    assert!(matches!(
        set_webhook(&http, &s, "https://x", "bad secret!", None).await,
        Err(SendError::Invalid(_))
    ));
    // With a webhook set, getUpdates conflicts.
    assert!(poller.poll(&http, &s, 0).await.is_err());
    answer_callback_query(&http, &s, "4382bfdwdsb323b2d9", Some("Ok"))
        .await
        .unwrap();
    let last = fake.requests().pop().unwrap();
    assert_eq!(last.api_method.as_deref(), Some("answerCallbackQuery"));
    assert_eq!(
        last.json(),
        json!({"callback_query_id": "4382bfdwdsb323b2d9", "text": "Ok"})
    );
    let bytes = get_file(&http, &s, "AgAC-large", 1024, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(bytes, b"fake-file:photos/AgAC-large.jpg");
    assert!(
        get_file(&http, &s, "AgAC-large", 10, Duration::from_secs(5))
            .await
            .is_err()
    );
}
