//! Messenger and Instagram through the real server, against the Meta fake: every inbound
//! shape, receipts, outbound within the Send API's limits, the 24-hour window and the
//! HUMAN_AGENT tag, error mapping, forgeries; and the one app webhook (`/webhooks/meta`) that
//! routes Messenger, Instagram and WhatsApp Cloud entries to their inboxes.

mod support;

use prosa_channel_messenger::fake::{APP_SECRET, Canned, FakeMeta, IG_ACCOUNT_ID, PAGE_ID};
use prosa_domain::message::{Attachment, MessageContent};
use prosa_domain::model::AuthorKind;
use serde_json::{Value, json};
use support::channels::{ChannelApp, Webhook, by_provider_id, start};

const T0: i64 = 1_764_500_000_000;
const PSID: &str = "psid-7001";

fn event(sender: &str, at: i64, kind: &str, body: Value) -> Value {
    json!({"sender": {"id": sender}, "recipient": {"id": PAGE_ID}, "timestamp": at, kind: body})
}

fn page_body(entries: Vec<(&str, Vec<Value>)>) -> Vec<u8> {
    let entry: Vec<Value> = entries
        .into_iter()
        .map(|(id, messaging)| json!({"id": id, "time": T0, "messaging": messaging}))
        .collect();
    json!({"object": "page", "entry": entry})
        .to_string()
        .into_bytes()
}

fn sent_at_ms(m: &Value) -> i64 {
    m["sent_at"]
        .as_str()
        .expect("sent_at")
        .parse::<jiff::Timestamp>()
        .expect("timestamp")
        .as_millisecond()
}

fn sends(meta: &FakeMeta) -> Vec<Value> {
    meta.requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/messages"))
        .map(|r| r.json())
        .collect()
}

fn meta_forgeries(body: &[u8]) -> Vec<(&'static str, Vec<(&'static str, String)>)> {
    vec![
        ("no signature", vec![]),
        (
            "garbage signature",
            vec![("x-hub-signature-256", "sha256=00".to_owned())],
        ),
        (
            "signed with another secret",
            vec![("x-hub-signature-256", support::sign("outro-segredo", body))],
        ),
        (
            "legacy SHA-1 header only",
            vec![("x-hub-signature", "sha1=0123456789abcdef".to_owned())],
        ),
    ]
}

async fn media_stored(app: &ChannelApp, conv: &str, mid: &str) -> Value {
    app.until(&format!("the media of {mid} stored"), || async {
        let msgs = app.messages(conv).await;
        let m = by_provider_id(&msgs, mid).clone();
        m["attachments"][0]["stored_path"]
            .as_str()
            .is_some()
            .then_some(m)
    })
    .await
}

#[tokio::test]
async fn messenger_inbound_every_shape_forgeries_and_receipts() {
    let app = start().await;
    let meta = FakeMeta::start().await;
    let id = app.inbox("messenger", meta.settings()).await;
    let hook = Webhook::meta(app.webhook_url("meta", &id), APP_SECRET);

    // One batched body: every shape a subscriber can send, an echo of our own message, and an
    // entry of another Page (not this inbox's).
    let body = page_body(vec![
        (
            PAGE_ID,
            vec![
                event(
                    PSID,
                    T0,
                    "message",
                    json!({"mid": "m_text", "text": "Oi, minha internet caiu"}),
                ),
                event(
                    PSID,
                    T0 + 1000,
                    "message",
                    json!({"mid": "m_qr", "text": "2ª via", "quick_reply": {"payload": "boleto"}}),
                ),
                event(
                    PSID,
                    T0 + 2000,
                    "postback",
                    json!({"mid": "m_pb", "title": "Falar com atendente", "payload": "humano"}),
                ),
                event(
                    PSID,
                    T0 + 3000,
                    "message",
                    json!({"mid": "m_img", "attachments": [{"type": "image", "payload": {"url": meta.media_url("foto.jpg")}}]}),
                ),
                event(
                    PSID,
                    T0 + 4000,
                    "message",
                    json!({"mid": "m_doc", "attachments": [{"type": "file", "payload": {"url": meta.media_url("contrato.pdf")}}]}),
                ),
                event(
                    PSID,
                    T0 + 5000,
                    "message",
                    json!({"mid": "m_audio", "attachments": [{"type": "audio", "payload": {"url": meta.media_url("audio.mp4")}}]}),
                ),
                event(
                    PSID,
                    T0 + 6000,
                    "message",
                    json!({"mid": "m_loc", "attachments": [{"type": "location", "title": "Casa", "payload": {"coordinates": {"lat": -27.5954, "long": -48.548}}}]}),
                ),
                event(
                    PSID,
                    T0 + 7000,
                    "message",
                    json!({"mid": "m_reel", "attachments": [{"type": "ig_reel", "payload": {"reel_video_id": "1"}}]}),
                ),
                event(
                    PSID,
                    T0 + 8000,
                    "reaction",
                    json!({"mid": "m_text", "action": "react", "reaction": "love", "emoji": "❤"}),
                ),
                json!({"sender": {"id": PAGE_ID}, "recipient": {"id": PSID}, "timestamp": T0 + 9000,
                    "message": {"mid": "m_echo", "is_echo": true, "app_id": 1, "text": "eco da página"}}),
            ],
        ),
        (
            "5555555555",
            vec![event(
                "psid-outra",
                T0,
                "message",
                json!({"mid": "m_other_page", "text": "outra página"}),
            )],
        ),
    ]);

    hook.assert_refused(&app, &body, &meta_forgeries(&body))
        .await;
    assert!(
        app.metric("prosa_webhook_rejected_total{channel=\"messenger\"}")
            .await
            >= 4.0
    );
    // Delivered, then replayed (Meta retries): one copy of each.
    let first = hook.post(&app.http, &body).await;
    assert_eq!(first.status, 200);
    assert_eq!(first.body, "EVENT_RECEIVED");
    hook.deliver_twice(&app, "messenger", &body).await;

    let conv = app.one_conversation().await;
    let msgs = app.settled_messages(&conv).await;
    assert_eq!(
        app.conversations().await.len(),
        1,
        "only this Page's subscriber"
    );
    assert_eq!(msgs.len(), 9, "{msgs:#?}");
    assert!(msgs.iter().all(|m| m["direction"] == "incoming"));
    assert!(!msgs.iter().any(|m| m["provider_message_id"] == "m_echo"));
    assert!(
        !msgs
            .iter()
            .any(|m| m["provider_message_id"] == "m_other_page")
    );

    let text = by_provider_id(&msgs, "m_text");
    assert_eq!(text["text"], "Oi, minha internet caiu");
    assert_eq!(sent_at_ms(text), T0, "the provider's timestamp is kept");
    let qr = by_provider_id(&msgs, "m_qr");
    assert_eq!(
        (&qr["selected_option"], &qr["text"]),
        (&json!("boleto"), &json!("2ª via"))
    );
    assert_eq!(sent_at_ms(qr), T0 + 1000);
    let pb = by_provider_id(&msgs, "m_pb");
    assert_eq!(pb["selected_option"], "humano");
    assert_eq!(pb["text"], "Falar com atendente");
    let loc = by_provider_id(&msgs, "m_loc");
    assert_eq!(loc["location"]["latitude"], -27.5954);
    assert_eq!(loc["location"]["name"], "Casa");
    assert_eq!(
        by_provider_id(&msgs, "m_reel")["unsupported"],
        "attachment.ig_reel"
    );
    assert!(by_provider_id(&msgs, "m_reel")["text"].is_null());
    let reaction = msgs
        .iter()
        .find(|m| m["unsupported"] == "reaction")
        .expect("the reaction, shown as unsupported");
    assert_eq!(sent_at_ms(reaction), T0 + 8000);

    // Media: downloaded from the attachment URL and served to operators.
    for (mid, kind, name) in [
        ("m_img", "image", "foto.jpg"),
        ("m_doc", "document", "contrato.pdf"),
        ("m_audio", "audio", "audio.mp4"),
    ] {
        let m = media_stored(&app, &conv, mid).await;
        assert_eq!(m["attachments"][0]["kind"], kind);
        let (status, bytes) = app
            .get_bytes(&format!(
                "/api/v1/attachments/{}/0",
                m["id"].as_str().unwrap()
            ))
            .await;
        assert_eq!(status, 200);
        assert_eq!(bytes, FakeMeta::media_bytes(name), "{mid}");
    }
    let doc = media_stored(&app, &conv, "m_doc").await;
    assert_eq!(doc["attachments"][0]["mime_type"], "application/pdf");

    // Receipts: a delivery naming our message ids, then a read watermark.
    let out1 = app.send(&conv, json!({"text": "Vamos verificar."})).await;
    let out2 = app.send(&conv, json!({"text": "Um momento."})).await;
    let m1 = app.until_status(&conv, &out1, "sent").await;
    app.until_status(&conv, &out2, "sent").await;
    let mid1 = m1["provider_message_id"].as_str().unwrap().to_owned();
    let now = jiff::Timestamp::now().as_millisecond();
    let delivery = page_body(vec![(
        PAGE_ID,
        vec![event(
            PSID,
            now,
            "delivery",
            json!({"mids": [mid1], "watermark": now}),
        )],
    )]);
    assert_eq!(hook.post(&app.http, &delivery).await.status, 200);
    app.until_status(&conv, &out1, "delivered").await;
    let read = page_body(vec![(
        PAGE_ID,
        vec![event(
            PSID,
            now + 10,
            "read",
            json!({"watermark": now + 10}),
        )],
    )]);
    assert_eq!(hook.post(&app.http, &read).await.status, 200);
    app.until_status(&conv, &out1, "read").await;
    app.until_status(&conv, &out2, "read").await;
    // A late delivery receipt does not move a read message back.
    assert_eq!(hook.post(&app.http, &delivery).await.status, 200);
    app.drained().await;
    assert_eq!(app.message(&conv, &out1).await["delivery_status"], "read");

    // A verified body Prosa cannot read: 200 (Meta would retry for days), kept, and shown on
    // the inbox's health.
    let broken =
        br#"{"object":"page","entry":[{"id":"1234567890","messaging":[{"message":{"mid":"x"}}]}]}"#;
    let a = hook.post(&app.http, broken).await;
    assert_eq!(a.status, 200, "{}", a.body);
    let unhandled = app.store().unhandled_webhooks(10).await.unwrap();
    assert!(unhandled[0].reason.contains("sender.id"), "{unhandled:?}");
    let health = app.get(&format!("/api/v1/inboxes/{id}")).await["health"].clone();
    assert!(
        health["last_error"]
            .as_str()
            .unwrap_or("")
            .contains("unreadable"),
        "{health}"
    );
    // Counted: this body, and the entry for a Page no inbox owns in each of the three
    // deliveries above (kept as unhandled, as on the app's URL).
    assert_eq!(
        unhandled
            .iter()
            .filter(|u| u.route_key.as_deref() == Some("5555555555"))
            .count(),
        3
    );
    assert_eq!(
        app.metric("prosa_webhook_unhandled_total{channel=\"messenger\"}")
            .await,
        4.0
    );
    app.stop().await;
}

#[tokio::test]
async fn messenger_outbound_limits_window_and_errors() {
    let app = start().await;
    let meta = FakeMeta::start().await;
    let id = app.inbox("messenger", meta.settings()).await;
    let hook = Webhook::meta(app.webhook_url("meta", &id), APP_SECRET);
    let now = jiff::Timestamp::now().as_millisecond();
    let hello = page_body(vec![(
        PAGE_ID,
        vec![event(
            PSID,
            now,
            "message",
            json!({"mid": "m_hello", "text": "Oi"}),
        )],
    )]);
    assert_eq!(hook.post(&app.http, &hello).await.status, 200);
    let conv = app.one_conversation().await;

    // Options within the limits: quick replies (at most 13, titles up to 20 characters).
    let options = |n: usize| -> Vec<Value> {
        (1..=n)
            .map(|i| json!({"id": format!("op{i}"), "label": format!("Opção {i}")}))
            .collect()
    };
    let out = app
        .send(
            &conv,
            json!({"text": "Como posso ajudar?", "options": options(13)}),
        )
        .await;
    app.until_status(&conv, &out, "sent").await;
    let body = sends(&meta).pop().unwrap();
    assert_eq!(body["messaging_type"], "RESPONSE", "{body}");
    assert_eq!(body["recipient"]["id"], PSID);
    let qr = body["message"]["quick_replies"].as_array().unwrap();
    assert_eq!(qr.len(), 13);
    assert_eq!(qr[0]["payload"], "op1");
    assert_eq!(qr[12]["title"], "Opção 13");

    // Too many options, or a label too long for a quick reply: a numbered text menu.
    let out = app
        .send(
            &conv,
            json!({"text": "Escolha o plano:", "options": options(14)}),
        )
        .await;
    app.until_status(&conv, &out, "sent").await;
    let body = sends(&meta).pop().unwrap();
    assert!(body["message"].get("quick_replies").is_none(), "{body}");
    let text = body["message"]["text"].as_str().unwrap();
    assert!(text.starts_with("Escolha o plano:"), "{text}");
    assert!(text.contains("\n14. Opção 14"), "{text}");
    let out = app
        .send(&conv, json!({"text": "Escolha:", "options": [
            {"id": "a", "label": "Uma opção com um nome comprido demais"}, {"id": "b", "label": "Curta"}]}))
        .await;
    app.until_status(&conv, &out, "sent").await;
    let body = sends(&meta).pop().unwrap();
    assert!(body["message"].get("quick_replies").is_none(), "{body}");
    assert!(
        body["message"]["text"]
            .as_str()
            .unwrap()
            .contains("1. Uma opção com um nome comprido demais")
    );

    // A document (the invoice PDF the bot sends): a file attachment, then its text.
    let before = sends(&meta).len();
    let mut invoice = MessageContent::text("Segue a sua fatura.");
    invoice.attachments.push(Attachment {
        kind: "document".into(),
        file_name: Some("fatura-123.pdf".into()),
        mime_type: Some("application/pdf".into()),
        stored_path: None,
        url: Some("https://erp.example.net/faturas/123.pdf".into()),
        size: None,
    });
    let doc = app.send_as(&conv, AuthorKind::Bot, invoice).await;
    app.until_status(&conv, &doc, "sent").await;
    let bodies = sends(&meta);
    assert_eq!(bodies.len(), before + 2);
    assert_eq!(bodies[before]["message"]["attachment"]["type"], "file");
    assert_eq!(
        bodies[before]["message"]["attachment"]["payload"]["url"],
        "https://erp.example.net/faturas/123.pdf"
    );
    assert_eq!(bodies[before + 1]["message"]["text"], "Segue a sua fatura.");

    // 429 with retry-after: retried, then sent.
    meta.push(
        Canned::graph_error(429, 4, 0, "(#4) Application request limit reached")
            .with_header("retry-after", "0"),
    );
    let out = app.send(&conv, json!({"text": "Depois do limite"})).await;
    app.until_status(&conv, &out, "sent").await;
    let attempts = sends(&meta)
        .iter()
        .filter(|b| b["message"]["text"] == "Depois do limite")
        .count();
    assert_eq!(attempts, 2);
    assert!(
        app.metric("prosa_send_failures_total{channel=\"messenger\",reason=\"retry_later\"}")
            .await
            >= 1.0
    );

    // After 24 hours: the bot may not write; a person may, with the HUMAN_AGENT tag (7 days).
    app.age_last_incoming(&conv, 25).await;
    meta.set_last_user_message(
        PSID,
        jiff::Timestamp::now() - jiff::SignedDuration::from_hours(25),
    );
    let before = sends(&meta).len();
    let bot = app
        .send_as(
            &conv,
            AuthorKind::Bot,
            MessageContent::text("Lembrete automático"),
        )
        .await;
    let m = app.until_status(&conv, &bot, "failed").await;
    assert!(
        m["delivery_error"]
            .as_str()
            .unwrap()
            .contains("needs template"),
        "{m}"
    );
    assert_eq!(sends(&meta).len(), before, "refused before calling Meta");
    // (API tokens without a user write as the system; an operator's message is a person's.)
    let human = app
        .send_as(
            &conv,
            AuthorKind::Agent,
            MessageContent::text("Oi, sou a Ana do suporte."),
        )
        .await;
    app.until_status(&conv, &human, "sent").await;
    let body = sends(&meta).pop().unwrap();
    assert_eq!(body["messaging_type"], "MESSAGE_TAG", "{body}");
    assert_eq!(body["tag"], "HUMAN_AGENT");
    app.age_last_incoming(&conv, 24 * 8).await;
    let late = app
        .send_as(
            &conv,
            AuthorKind::Agent,
            MessageContent::text("Ainda está aí?"),
        )
        .await;
    let m = app.until_status(&conv, &late, "failed").await;
    assert!(
        m["delivery_error"]
            .as_str()
            .unwrap()
            .contains("needs template")
    );
    // Meta's own refusal (its clock says the window closed) maps the same way.
    app.age_last_incoming(&conv, 0).await;
    meta.push(Canned::graph_error(
        400,
        10,
        2018278,
        "(#10) This message is sent outside of allowed window.",
    ));
    let refused = app.send(&conv, json!({"text": "Fora da janela"})).await;
    let m = app.until_status(&conv, &refused, "failed").await;
    assert!(
        m["delivery_error"]
            .as_str()
            .unwrap()
            .contains("needs template")
    );

    // An expired Page token: failed at once, credentials broken, on the message, the inbox
    // and the metrics.
    meta.push(Canned::graph_error(
        401,
        190,
        463,
        "Error validating access token: Session has expired",
    ));
    let out = app
        .send(&conv, json!({"text": "Com o token vencido"}))
        .await;
    let m = app.until_status(&conv, &out, "failed").await;
    assert!(
        m["delivery_error"]
            .as_str()
            .unwrap()
            .contains("credentials"),
        "{m}"
    );
    assert_eq!(
        app.metric("prosa_send_failures_total{channel=\"messenger\",reason=\"credentials\"}")
            .await,
        1.0
    );
    let health = app.get(&format!("/api/v1/inboxes/{id}")).await["health"].clone();
    assert!(
        health["last_error"]
            .as_str()
            .unwrap_or("")
            .contains("credentials"),
        "{health}"
    );
    // A blocked recipient: unreachable.
    meta.push(Canned::graph_error(
        400,
        551,
        1545041,
        "This person isn't available right now.",
    ));
    let out = app.send(&conv, json!({"text": "Bloqueado"})).await;
    let m = app.until_status(&conv, &out, "failed").await;
    assert!(
        m["delivery_error"]
            .as_str()
            .unwrap()
            .contains("unreachable"),
        "{m}"
    );
    app.stop().await;
}

#[tokio::test]
async fn instagram_inbound_receipts_and_quick_replies() {
    let app = start().await;
    let meta = FakeMeta::start().await;
    let mut settings = meta.settings();
    settings["page_id"] = json!(IG_ACCOUNT_ID);
    let id = app.inbox("instagram", settings).await;
    let hook = Webhook::meta(app.webhook_url("meta", &id), APP_SECRET);
    let ig = |messaging: Vec<Value>| -> Vec<u8> {
        json!({"object": "instagram", "entry": [{"id": IG_ACCOUNT_ID, "time": T0, "messaging": messaging}]})
            .to_string()
            .into_bytes()
    };
    let igsid = "igsid-42";
    let ev = |at: i64, kind: &str, body: Value| json!({"sender": {"id": igsid}, "recipient": {"id": IG_ACCOUNT_ID}, "timestamp": at, kind: body});
    let body = ig(vec![
        ev(
            T0,
            "message",
            json!({"mid": "ig_text", "text": "Olá! Vi o anúncio do plano de 500 mega"}),
        ),
        ev(
            T0 + 1000,
            "message",
            json!({"mid": "ig_qr", "text": "Sim", "quick_reply": {"payload": "sim"}}),
        ),
        ev(
            T0 + 2000,
            "message",
            json!({"mid": "ig_img", "attachments": [{"type": "image", "payload": {"url": meta.media_url("print.jpg")}}]}),
        ),
        ev(
            T0 + 3000,
            "message",
            json!({"mid": "ig_story", "attachments": [{"type": "story_mention", "payload": {"url": meta.media_url("story.mp4")}}]}),
        ),
        json!({"sender": {"id": IG_ACCOUNT_ID}, "recipient": {"id": igsid}, "timestamp": T0 + 4000,
            "message": {"mid": "ig_echo", "is_echo": true, "text": "eco"}}),
    ]);
    hook.assert_refused(&app, &body, &meta_forgeries(&body))
        .await;
    // A Messenger-shaped body is not this inbox's.
    let page = page_body(vec![(
        IG_ACCOUNT_ID,
        vec![event(
            igsid,
            T0,
            "message",
            json!({"mid": "pg_1", "text": "página"}),
        )],
    )]);
    assert_eq!(hook.post(&app.http, &page).await.status, 200);
    hook.deliver_twice(&app, "instagram", &body).await;
    let conv = app.one_conversation().await;
    let msgs = app.settled_messages(&conv).await;
    assert_eq!(msgs.len(), 4, "{msgs:#?}");
    assert_eq!(by_provider_id(&msgs, "ig_qr")["selected_option"], "sim");
    assert_eq!(sent_at_ms(by_provider_id(&msgs, "ig_qr")), T0 + 1000);
    assert_eq!(
        by_provider_id(&msgs, "ig_story")["unsupported"],
        "attachment.story_mention"
    );
    let img = media_stored(&app, &conv, "ig_img").await;
    let (_, bytes) = app
        .get_bytes(&format!(
            "/api/v1/attachments/{}/0",
            img["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(bytes, FakeMeta::media_bytes("print.jpg"));

    // Quick replies, sent to the Instagram account's endpoint; Instagram's read names the mid.
    let out = app
        .send(&conv, json!({"text": "Quer assinar?", "options": [{"id": "sim", "label": "Sim"}, {"id": "nao", "label": "Não"}]}))
        .await;
    let m = app.until_status(&conv, &out, "sent").await;
    let sent = meta
        .requests()
        .into_iter()
        .rfind(|r| r.path.ends_with("/messages"))
        .unwrap();
    assert_eq!(sent.path, format!("/v23.0/{IG_ACCOUNT_ID}/messages"));
    assert_eq!(sent.json()["message"]["quick_replies"][1]["payload"], "nao");
    let mid = m["provider_message_id"].as_str().unwrap();
    let seen = ig(vec![ev(
        jiff::Timestamp::now().as_millisecond(),
        "read",
        json!({"mid": mid}),
    )]);
    assert_eq!(hook.post(&app.http, &seen).await.status, 200);
    app.until_status(&conv, &out, "read").await;
    app.stop().await;
}

#[tokio::test]
async fn one_meta_app_webhook_routes_pages_accounts_and_numbers() {
    use prosa_channel_whatsapp_cloud::fake::FakeWhatsApp;
    let app = start().await;
    let meta = FakeMeta::start().await;
    let wa = FakeWhatsApp::start().await;
    let messenger = app.inbox("messenger", meta.settings()).await;
    let mut ig_settings = meta.settings();
    ig_settings["page_id"] = json!(IG_ACCOUNT_ID);
    let instagram = app.inbox("instagram", ig_settings).await;
    let whatsapp = app.inbox("whatsapp_cloud", wa.settings()).await;
    let url = format!("{}/webhooks/meta", app.base);

    // One Page, one inbox.
    let (status, v) = app
        .post(
            "/api/v1/inboxes",
            json!({"name": "De novo", "channel": {"kind": "messenger", "app_secret": "x", "verify_token": "y",
                "page_id": PAGE_ID, "page_access_token": "z"}}),
        )
        .await;
    assert_eq!(status, 422, "{v}");
    assert_eq!(v["field"], "channel.page_id");

    // The handshake with the app's verify token.
    let get = |token: &str| {
        app.http.get(format!(
            "{url}?hub.mode=subscribe&hub.verify_token={token}&hub.challenge=1158201444"
        ))
    };
    let r = get(prosa_channel_messenger::fake::VERIFY_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "1158201444");
    assert_eq!(get("errado").send().await.unwrap().status(), 403);

    let hook = Webhook::meta(url.clone(), APP_SECRET);
    // A batch for this app's Page and for a Page no inbox owns.
    let body = page_body(vec![
        (
            PAGE_ID,
            vec![event(
                PSID,
                T0,
                "message",
                json!({"mid": "app_m1", "text": "Pela página"}),
            )],
        ),
        (
            "999000999",
            vec![event(
                "psid-x",
                T0,
                "message",
                json!({"mid": "app_m2", "text": "Página desconhecida"}),
            )],
        ),
    ]);
    hook.assert_refused(&app, &body, &meta_forgeries(&body))
        .await;
    let a = hook.post(&app.http, &body).await;
    assert_eq!((a.status, a.body.as_str()), (200, "EVENT_RECEIVED"));
    let ig = json!({"object": "instagram", "entry": [{"id": IG_ACCOUNT_ID, "time": T0, "messaging": [
        {"sender": {"id": "igsid-1"}, "recipient": {"id": IG_ACCOUNT_ID}, "timestamp": T0, "message": {"mid": "app_ig1", "text": "Pelo Instagram"}}]}]})
    .to_string()
    .into_bytes();
    assert_eq!(hook.post(&app.http, &ig).await.status, 200);
    // WhatsApp Cloud numbers of another app (its own secret) on the same URL.
    let wa_hook = Webhook::meta(url.clone(), prosa_channel_whatsapp_cloud::fake::APP_SECRET);
    let wa_body = FakeWhatsApp::text_notification("5548988887777", "wamid.APP1", "Pelo WhatsApp");
    assert_eq!(wa_hook.post(&app.http, &wa_body).await.status, 200);
    // That app's secret cannot write into this app's Page inbox.
    let cross = page_body(vec![(
        PAGE_ID,
        vec![event(
            PSID,
            T0,
            "message",
            json!({"mid": "app_cross", "text": "De outro app"}),
        )],
    )]);
    assert_eq!(wa_hook.post(&app.http, &cross).await.status, 200);
    app.drained().await;

    let in_inbox = |inbox: String| {
        let app = &app;
        async move {
            let convs = app
                .get(&format!("/api/v1/conversations?inbox_id={inbox}"))
                .await;
            let conv = convs[0]["id"].as_str().expect("a conversation").to_owned();
            app.messages(&conv)
                .await
                .iter()
                .map(|m| m["text"].as_str().unwrap_or("").to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(in_inbox(messenger.clone()).await, ["Pela página"]);
    assert_eq!(in_inbox(instagram).await, ["Pelo Instagram"]);
    assert_eq!(in_inbox(whatsapp).await, ["Pelo WhatsApp"]);
    assert_eq!(app.conversations().await.len(), 3);

    // The unknown Page and the cross-app entry: kept, counted, acknowledged.
    let unhandled = app.store().unhandled_webhooks(10).await.unwrap();
    let keys: Vec<_> = unhandled
        .iter()
        .filter_map(|u| u.route_key.clone())
        .collect();
    assert!(keys.contains(&"999000999".to_owned()), "{unhandled:?}");
    assert!(keys.contains(&PAGE_ID.to_owned()), "{unhandled:?}");
    assert_eq!(
        app.metric("prosa_webhook_unhandled_total{channel=\"messenger\"}")
            .await,
        2.0
    );
    // A replay through the app URL is deduplicated like on the inbox URL.
    hook.deliver_twice(&app, "messenger", &body).await;
    // The inbox URL still works.
    let own = page_body(vec![(
        PAGE_ID,
        vec![event(
            PSID,
            T0 + 5,
            "message",
            json!({"mid": "own_1", "text": "Pela URL da caixa"}),
        )],
    )]);
    let own_hook = Webhook::meta(app.webhook_url("meta", &messenger), APP_SECRET);
    assert_eq!(own_hook.post(&app.http, &own).await.status, 200);
    app.drained().await;
    assert_eq!(in_inbox(messenger.clone()).await.len(), 2);

    // Editing the inbox moves its route.
    let mut moved = meta.settings();
    moved["page_id"] = json!("777000777");
    moved["kind"] = json!("messenger");
    let (status, v) = app
        .put(
            &format!("/api/v1/inboxes/{messenger}"),
            json!({"name": "Página nova", "channel": moved}),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        app.store()
            .inbox_for_route("page", "777000777")
            .await
            .unwrap()
            .map(|i| i.0.to_string()),
        Some(messenger.clone())
    );
    assert_eq!(
        app.store().inbox_for_route("page", PAGE_ID).await.unwrap(),
        None
    );
    app.stop().await;
}

/// A Meta app posts all its Pages, accounts and numbers to the URL it was given, even when that
/// is one inbox's own URL: entries for the app's other inboxes reach them (as on
/// `/webhooks/meta`), entries for ids no inbox owns, or for an inbox of another app, are kept as
/// unhandled and acknowledged.
#[tokio::test]
async fn per_inbox_meta_urls_route_entries_of_other_inboxes() {
    use prosa_channel_whatsapp_cloud::fake::{FakeWhatsApp, PHONE_NUMBER_ID};
    let app = start().await;
    let meta = FakeMeta::start().await;
    let wa = FakeWhatsApp::start().await;
    let messenger = app.inbox("messenger", meta.settings()).await;
    let mut second_page = meta.settings();
    second_page["page_id"] = json!("888000888");
    let messenger2 = app.inbox("messenger", second_page).await;
    let mut ig_settings = meta.settings();
    ig_settings["page_id"] = json!(IG_ACCOUNT_ID);
    let instagram = app.inbox("instagram", ig_settings).await;
    let whatsapp = app.inbox("whatsapp_cloud", wa.settings()).await;
    let mut second_number = wa.settings();
    second_number["phone_number_id"] = json!("200000000000002");
    let whatsapp2 = app.inbox("whatsapp_cloud", second_number).await;

    // On the first Page's URL: its own entry, the second Page's, and an unknown Page's.
    let hook = Webhook::meta(app.webhook_url("meta", &messenger), APP_SECRET);
    let message = |mid: &str, text: &str| {
        vec![event(
            PSID,
            T0,
            "message",
            json!({"mid": mid, "text": text}),
        )]
    };
    let body = page_body(vec![
        (PAGE_ID, message("own_p1", "Para a página 1")),
        ("888000888", message("own_p2", "Para a página 2")),
        ("999000999", message("own_px", "Página de ninguém")),
    ]);
    hook.assert_refused(&app, &body, &meta_forgeries(&body))
        .await;
    let a = hook.post(&app.http, &body).await;
    assert_eq!(a.status, 200, "{}", a.body);
    // Instagram entries of the same app, on the Page's URL.
    let ig = json!({"object": "instagram", "entry": [{"id": IG_ACCOUNT_ID, "time": T0, "messaging": [
        {"sender": {"id": "igsid-9"}, "recipient": {"id": IG_ACCOUNT_ID}, "timestamp": T0, "message": {"mid": "own_ig", "text": "Pelo Instagram"}}]}]})
    .to_string()
    .into_bytes();
    assert_eq!(hook.post(&app.http, &ig).await.status, 200);
    // A WhatsApp number of another app (another secret), signed with this app's secret: not
    // written into that inbox.
    let foreign = FakeWhatsApp::text_notification("5548911112222", "wamid.FOREIGN", "Intruso");
    assert_eq!(hook.post(&app.http, &foreign).await.status, 200);

    // On the first number's URL: a change for it and one for the second number.
    let notification = |pnid: &str, wamid: &str, text: &str| -> Value {
        let raw = FakeWhatsApp::text_notification("5548988887777", wamid, text);
        let s = String::from_utf8(raw)
            .unwrap()
            .replace(PHONE_NUMBER_ID, pnid);
        serde_json::from_str(&s).unwrap()
    };
    let mut both = notification(PHONE_NUMBER_ID, "wamid.OWN1", "Para o número 1");
    let other = notification("200000000000002", "wamid.OWN2", "Para o número 2");
    let change = other["entry"][0]["changes"][0].clone();
    both["entry"][0]["changes"]
        .as_array_mut()
        .unwrap()
        .push(change);
    let wa_hook = Webhook::meta(
        app.webhook_url("whatsapp", &whatsapp),
        prosa_channel_whatsapp_cloud::fake::APP_SECRET,
    );
    let wa_body = serde_json::to_vec(&both).unwrap();
    let r = wa_hook
        .post_with(&app.http, &wa_body, &[("x-hub-signature-256", "sha256=00")])
        .await;
    assert_eq!(r.status, 401);
    assert_eq!(wa_hook.post(&app.http, &wa_body).await.status, 200);
    app.drained().await;

    let texts = |inbox: String| {
        let app = &app;
        async move {
            let convs = app
                .get(&format!("/api/v1/conversations?inbox_id={inbox}"))
                .await;
            let mut out = Vec::new();
            for c in convs.as_array().unwrap() {
                for m in app.messages(c["id"].as_str().unwrap()).await {
                    out.push(m["text"].as_str().unwrap_or("").to_owned());
                }
            }
            out
        }
    };
    assert_eq!(texts(messenger).await, ["Para a página 1"]);
    assert_eq!(texts(messenger2).await, ["Para a página 2"]);
    assert_eq!(texts(instagram).await, ["Pelo Instagram"]);
    assert_eq!(texts(whatsapp).await, ["Para o número 1"]);
    assert_eq!(texts(whatsapp2).await, ["Para o número 2"]);
    assert_eq!(app.conversations().await.len(), 5);

    let unhandled = app.store().unhandled_webhooks(10).await.unwrap();
    let keys: Vec<_> = unhandled
        .iter()
        .filter_map(|u| u.route_key.clone())
        .collect();
    assert!(keys.contains(&"999000999".to_owned()), "{unhandled:?}");
    assert!(keys.contains(&PHONE_NUMBER_ID.to_owned()), "{unhandled:?}");
    assert!(
        unhandled.iter().all(|u| u.inbox_id.is_none()),
        "{unhandled:?}"
    );
    // A replay on the inbox URL is deduplicated for every inbox it reached.
    hook.deliver_twice(&app, "messenger", &body).await;
    app.drained().await;
    assert_eq!(app.conversations().await.len(), 5);
    app.stop().await;
}

/// Who writes through the REST API decides how Meta gets the message: a token created for a
/// user writes as that person (Messenger's HUMAN_AGENT tag after 24 h); an integration token
/// without a user writes automated messages (`system`), held to the 24-hour window and never
/// tagged. A token ends with its user; the OpenAPI document says all this.
#[tokio::test]
async fn api_tokens_write_as_their_user_or_as_the_system() {
    let app = start().await;
    let meta = FakeMeta::start().await;
    let inbox = app.inbox("messenger", meta.settings()).await;
    let hook = Webhook::meta(app.webhook_url("meta", &inbox), APP_SECRET);
    let now = jiff::Timestamp::now().as_millisecond();
    let hello = page_body(vec![(
        PAGE_ID,
        vec![event(
            PSID,
            now,
            "message",
            json!({"mid": "tok_1", "text": "Oi"}),
        )],
    )]);
    assert_eq!(hook.post(&app.http, &hello).await.status, 200);
    let conv = app.one_conversation().await;

    // A supervisor, and a token acting as her; an unknown user is refused.
    let (s, ana) = app
        .post(
            "/api/v1/users",
            json!({"email": "ana@provedor.example", "name": "Ana", "role": "supervisor",
                "password": "uma senha comprida 1"}),
        )
        .await;
    assert_eq!(s, 201, "{ana}");
    let ana_id = ana["id"].as_str().unwrap().to_owned();
    let (s, v) = app
        .post(
            "/api/v1/tokens",
            json!({"name": "crm", "user_id": "999999"}),
        )
        .await;
    assert_eq!((s, v["field"].as_str()), (422, Some("user_id")), "{v}");
    let (s, created) = app
        .post(
            "/api/v1/tokens",
            json!({"name": "crm da Ana", "user_id": ana_id}),
        )
        .await;
    assert_eq!(s, 201, "{created}");
    assert_eq!(created["user_id"], ana_id.as_str());
    let ana_token = created["token"].as_str().unwrap().to_owned();
    let listed = app.get("/api/v1/tokens").await;
    let row = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "crm da Ana")
        .unwrap()
        .clone();
    assert_eq!(row["user_id"], ana_id.as_str());
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["user_id"].is_null()),
        "the integration token has no user: {listed}"
    );
    let post_as = |token: String, text: &'static str| {
        let app = &app;
        let conv = conv.clone();
        async move {
            let r = app
                .http
                .post(format!("{}/api/v1/conversations/{conv}/messages", app.base))
                .bearer_auth(token)
                .json(&json!({"text": text}))
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let (_, me) = {
        let r = app
            .http
            .get(format!("{}/api/v1/users/me", app.base))
            .bearer_auth(&ana_token)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json::<Value>().await.unwrap())
    };
    assert_eq!(
        (me["id"].as_str(), me["role"].as_str()),
        (Some(ana_id.as_str()), Some("supervisor")),
        "{me}"
    );

    // After 24 hours without a word from the subscriber.
    app.age_last_incoming(&conv, 25).await;
    meta.set_last_user_message(
        PSID,
        jiff::Timestamp::now() - jiff::SignedDuration::from_hours(25),
    );
    let before = sends(&meta).len();
    let (s, auto) = post_as(app.token.clone(), "Mensagem da integração").await;
    assert_eq!(s, 201, "{auto}");
    assert_eq!(
        (auto["author"].as_str(), &auto["author_id"]),
        (Some("system"), &Value::Null)
    );
    let m = app
        .until_status(&conv, auto["id"].as_str().unwrap(), "failed")
        .await;
    assert!(
        m["delivery_error"]
            .as_str()
            .unwrap()
            .contains("needs template"),
        "{m}"
    );
    assert_eq!(sends(&meta).len(), before, "never sent, never tagged");
    let (s, person) = post_as(ana_token.clone(), "Oi, aqui é a Ana do suporte.").await;
    assert_eq!(s, 201, "{person}");
    assert_eq!(
        (person["author"].as_str(), person["author_id"].as_str()),
        (Some("agent"), Some(ana_id.as_str()))
    );
    app.until_status(&conv, person["id"].as_str().unwrap(), "sent")
        .await;
    let body = sends(&meta).pop().unwrap();
    assert_eq!(body["messaging_type"], "MESSAGE_TAG", "{body}");
    assert_eq!(body["tag"], "HUMAN_AGENT");
    assert_eq!(body["message"]["text"], "Oi, aqui é a Ana do suporte.");

    // The audit trail names the person behind the token.
    let audit = app.get("/api/v1/audit").await;
    assert!(
        audit
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "token.create" && e["detail"]["user_id"] == ana_id.as_str()),
        "{audit}"
    );

    // Ana deactivated: her token stops working.
    let (s, v) = app
        .put(&format!("/api/v1/users/{ana_id}"), json!({"active": false}))
        .await;
    assert_eq!(s, 200, "{v}");
    let (s, _) = post_as(ana_token, "Depois de desativada").await;
    assert_eq!(s, 401);

    // The OpenAPI document tells integrators.
    let doc = app.get("/api/v1/openapi.json").await.to_string();
    assert!(
        doc.contains("HUMAN_AGENT"),
        "the OpenAPI text does not say it"
    );
    let user_id_doc = app.get("/api/v1/openapi.json").await["components"]["schemas"]["TokenInput"]
        ["properties"]["user_id"]["description"]
        .as_str()
        .unwrap_or("")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        user_id_doc.contains("integration token") && user_id_doc.contains("HUMAN_AGENT"),
        "{user_id_doc}"
    );
    app.stop().await;
}
