//! Sends against the local fake Send API.

use jiff::{SignedDuration, Timestamp};
use prosa_channel::{ChannelAdapter, OutboundMessage, SendContext, SendError};
use prosa_channel_messenger::MetaMessagingChannel;
use prosa_channel_messenger::fake::{Canned, FakeMeta, PAGE_TOKEN};
use prosa_domain::message::{Attachment, MessageContent, MessageOption};
use prosa_domain::{ConversationId, MessageId};
use serde_json::json;
use std::time::Duration;

const PSID: &str = "6543210987654321";

fn msg(content: MessageContent, hours_ago: i64, from_human: bool) -> OutboundMessage {
    OutboundMessage {
        message_id: MessageId(1),
        conversation_id: ConversationId(1),
        to: PSID.into(),
        to_meta: None,
        content,
        from_human,
        last_incoming_at: Some(Timestamp::now() - SignedDuration::from_hours(hours_ago)),
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

fn ctx(fake: &FakeMeta) -> SendContext {
    SendContext {
        http: reqwest::Client::new(),
        settings: fake.settings(),
    }
}

#[tokio::test]
async fn quick_replies_numbered_text_and_attachments() {
    let fake = FakeMeta::start().await;
    let a = MetaMessagingChannel::messenger();
    let r = a
        .send(
            &ctx(&fake),
            &msg(
                MessageContent::text("Escolha").with_options(opts(13)),
                1,
                false,
            ),
        )
        .await
        .unwrap();
    assert_eq!(r.provider_message_id.as_deref(), Some("m_FAKE1"));
    a.send(
        &ctx(&fake),
        &msg(
            MessageContent::text("Escolha").with_options(opts(14)),
            1,
            false,
        ),
    )
    .await
    .unwrap();
    let mut doc = MessageContent::text("Sua fatura");
    doc.attachments.push(Attachment {
        kind: "document".into(),
        file_name: None,
        mime_type: None,
        stored_path: None,
        url: Some("https://erp.example.com/f.pdf".into()),
        size: None,
    });
    a.send(&ctx(&fake), &msg(doc, 1, false)).await.unwrap();
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 4);
    assert!(reqs.iter().all(|r| r.path == "/v23.0/1234567890/messages"
        && r.header("authorization") == Some(&format!("Bearer {PAGE_TOKEN}"))));
    let q = reqs[0].json();
    assert_eq!(q["messaging_type"], "RESPONSE");
    assert_eq!(q["recipient"], json!({"id": PSID}));
    assert_eq!(q["message"]["quick_replies"].as_array().unwrap().len(), 13);
    assert_eq!(
        q["message"]["quick_replies"][0],
        json!({"content_type": "text", "title": "Opção 0", "payload": "opt:0"})
    );
    let n = reqs[1].json();
    assert!(n["message"].get("quick_replies").is_none());
    assert!(
        n["message"]["text"]
            .as_str()
            .unwrap()
            .contains("14. Opção 13")
    );
    assert_eq!(
        reqs[2].json()["message"],
        json!({"attachment": {"type": "file", "payload": {"url": "https://erp.example.com/f.pdf", "is_reusable": true}}})
    );
    assert_eq!(reqs[3].json()["message"], json!({"text": "Sua fatura"}));
}

#[tokio::test]
async fn windows_and_human_agent_tag() {
    let fake = FakeMeta::start().await;
    fake.set_last_user_message(PSID, Timestamp::now() - SignedDuration::from_hours(30));
    let a = MetaMessagingChannel::instagram();
    // The bot, after 24 h: refused before calling Meta.
    assert_eq!(
        a.send(&ctx(&fake), &msg(MessageContent::text("oi"), 30, false))
            .await,
        Err(SendError::NeedsTemplate)
    );
    assert!(fake.requests().is_empty());
    // A person, within 7 days: HUMAN_AGENT tag, accepted by the fake's window check.
    a.send(
        &ctx(&fake),
        &msg(MessageContent::text("Oi, aqui é a Ana"), 30, true),
    )
    .await
    .unwrap();
    let b = fake.requests()[0].json();
    assert_eq!(b["messaging_type"], "MESSAGE_TAG");
    assert_eq!(b["tag"], "HUMAN_AGENT");
    // After 7 days even a person is refused.
    assert_eq!(
        a.send(&ctx(&fake), &msg(MessageContent::text("oi"), 24 * 8, true))
            .await,
        Err(SendError::NeedsTemplate)
    );
    // If our clock and Meta's disagree, Meta's window error still maps to NeedsTemplate.
    fake.push(Canned::graph_error(
        400,
        10,
        2018278,
        "(#10) This message is sent outside of allowed window.",
    ));
    assert_eq!(
        a.send(&ctx(&fake), &msg(MessageContent::text("oi"), 1, false))
            .await,
        Err(SendError::NeedsTemplate)
    );
}

#[tokio::test]
async fn errors_map_to_the_taxonomy() {
    let fake = FakeMeta::start().await;
    let a = MetaMessagingChannel::messenger();
    let m = msg(MessageContent::text("oi"), 1, false);
    fake.push(Canned::graph_error(
        400,
        551,
        1545041,
        "This person isn't available right now.",
    ));
    assert!(matches!(
        a.send(&ctx(&fake), &m).await,
        Err(SendError::Unreachable(_))
    ));
    fake.push(
        Canned::graph_error(
            400,
            613,
            0,
            "Calls to this api have exceeded the rate limit.",
        )
        .with_header("retry-after", "20"),
    );
    assert!(
        matches!(a.send(&ctx(&fake), &m).await, Err(SendError::RetryLater { retry_after: Some(d), .. }) if d == Duration::from_secs(20))
    );
    let mut expired = ctx(&fake);
    expired.settings["page_access_token"] = json!("old");
    assert!(matches!(
        a.send(&expired, &m).await,
        Err(SendError::Credentials(_))
    ));
    fake.push(Canned::graph_error(400, 100, 0, "(#100) Invalid parameter"));
    assert!(matches!(
        a.send(&ctx(&fake), &m).await,
        Err(SendError::Invalid(_))
    ));
}

fn with_file(hours_ago: i64, from_human: bool, mime: &str, bytes: &[u8]) -> OutboundMessage {
    let mut content = MessageContent::default();
    content.attachments.push(Attachment {
        kind: "document".into(),
        file_name: Some("fatura março.pdf".into()),
        mime_type: Some(mime.into()),
        stored_path: Some("media/upload-x.pdf".into()),
        url: None,
        size: Some(bytes.len() as u64),
    });
    let mut m = msg(content, hours_ago, from_human);
    m.files.push(prosa_channel::OutboundFile {
        attachment: 0,
        file_name: "fatura março.pdf".into(),
        mime_type: mime.into(),
        bytes: bytes.to_vec().into(),
    });
    m
}

#[tokio::test]
async fn files_follow_the_windows_and_instagram_types() {
    let fake = FakeMeta::start().await;
    let a = MetaMessagingChannel::messenger();
    fake.set_last_user_message(PSID, Timestamp::now() - SignedDuration::from_hours(30));
    // A person, 30 hours on: the file goes with the HUMAN_AGENT tag.
    a.send(
        &ctx(&fake),
        &with_file(30, true, "application/pdf", b"%PDF-1.4"),
    )
    .await
    .unwrap();
    let u = fake.uploads().pop().unwrap();
    assert_eq!(u.fields["messaging_type"], "MESSAGE_TAG");
    assert_eq!(u.fields["tag"], "HUMAN_AGENT");
    assert_eq!(u.bytes, b"%PDF-1.4");
    assert_eq!(u.file_name.as_deref(), Some("fatura_marco.pdf"));
    // The bot, or past 7 days: a template would be needed; nothing is uploaded.
    for (hours, human) in [(30, false), (24 * 8, true)] {
        assert_eq!(
            a.send(
                &ctx(&fake),
                &with_file(hours, human, "application/pdf", b"%PDF-1.4")
            )
            .await,
            Err(SendError::NeedsTemplate)
        );
    }
    assert_eq!(fake.uploads().len(), 1);
    // Instagram takes no WebP: refused before any call.
    let before = fake.requests().len();
    let r = MetaMessagingChannel::instagram()
        .send(
            &ctx(&fake),
            &with_file(1, true, "image/webp", b"RIFF....WEBP"),
        )
        .await;
    assert!(
        matches!(r, Err(SendError::Invalid(ref e)) if e.contains("Instagram")),
        "{r:?}"
    );
    assert_eq!(fake.requests().len(), before);
}
