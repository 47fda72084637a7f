//! WhatsApp through Evolution API through the real server, against the Evolution fake: every
//! inbound shape (batched, echoes, groups, other instances, @lid senders), statuses, media
//! download, outbound text / buttons / lists / numbered menus / documents, error mapping, and
//! forged or expired webhook credentials.

mod support;

use prosa_channel_evolution::fake::{Canned, FakeEvolution, INSTANCE, WEBHOOK_TOKEN};
use prosa_domain::message::{Attachment, MessageContent};
use prosa_domain::model::AuthorKind;
use serde_json::{Value, json};
use support::channels::{ChannelApp, Webhook, by_provider_id, start};

const NUMBER: &str = "5548999990001";
const TS: i64 = 1_764_500_000;

fn upsert(id: &str, message: Value, message_type: &str, at: i64) -> Value {
    json!({"key": {"remoteJid": format!("{NUMBER}@s.whatsapp.net"), "fromMe": false, "id": id},
        "pushName": "Cliente Evolution", "message": message, "messageType": message_type,
        "messageTimestamp": at, "source": "android"})
}

fn token_hook(url: String) -> Webhook {
    Webhook::evolution(url)
}

fn sends(evo: &FakeEvolution, action: &str) -> Vec<Value> {
    evo.requests()
        .into_iter()
        .filter(|r| r.path == format!("/message/{action}/{INSTANCE}"))
        .map(|r| r.json())
        .collect()
}

async fn conversation_of(app: &ChannelApp, external: &str) -> String {
    app.until("the contact's conversation", || async {
        for c in app.conversations().await {
            let contact = app
                .get(&format!(
                    "/api/v1/contacts/{}",
                    c["contact_id"].as_str().unwrap()
                ))
                .await;
            if contact["phone"].as_str().unwrap_or("").contains(external) {
                return Some(c["id"].as_str().unwrap().to_owned());
            }
        }
        None
    })
    .await
}

#[tokio::test]
async fn evolution_inbound_every_shape_statuses_and_forgeries() {
    let app = start().await;
    let evo = FakeEvolution::start().await;
    let id = app.inbox("whatsapp_evolution", evo.settings()).await;
    let hook = token_hook(app.webhook_url("evolution", &id));

    // One MESSAGES_UPSERT carrying a batch of every shape.
    let batch = FakeEvolution::event(
        "messages.upsert",
        json!([
            upsert("EV_TEXT", json!({"conversation": "Oi, estou sem internet"}), "conversation", TS),
            upsert("EV_EXT", json!({"extendedTextMessage": {"text": "Veja https://speedtest.net"}}), "extendedTextMessage", TS + 1),
            upsert("EV_BTN", json!({"buttonsResponseMessage": {"selectedButtonId": "boleto", "selectedDisplayText": "2ª via"}}), "buttonsResponseMessage", TS + 2),
            upsert("EV_LIST", json!({"listResponseMessage": {"title": "Suporte técnico", "singleSelectReply": {"selectedRowId": "suporte"}}}), "listResponseMessage", TS + 3),
            upsert("EV_IMG", json!({"imageMessage": {"mimetype": "image/jpeg", "caption": "Foto do roteador", "fileLength": "2048"}}), "imageMessage", TS + 4),
            upsert("EV_DOC", json!({"documentMessage": {"mimetype": "application/pdf", "fileName": "comprovante.pdf"}}), "documentMessage", TS + 5),
            upsert("EV_AUDIO", json!({"audioMessage": {"mimetype": "audio/ogg; codecs=opus", "ptt": true}}), "audioMessage", TS + 6),
            upsert("EV_LOC", json!({"locationMessage": {"degreesLatitude": -27.5954, "degreesLongitude": -48.548, "name": "Casa", "address": "Rua das Flores, 123"}}), "locationMessage", TS + 7),
            upsert("EV_CONTACT", json!({"contactMessage": {"displayName": "Maria", "vcard": "BEGIN:VCARD\nVERSION:3.0\nFN:Maria\nTEL;type=CELL;waid=5548988887777:+55 48 98888-7777\nEND:VCARD"}}), "contactMessage", TS + 8),
            upsert("EV_POLL", json!({"pollCreationMessageV3": {"name": "Qual horário?"}}), "pollCreationMessageV3", TS + 9),
            // Our own message echoed, a group, a status broadcast: ignored.
            {"key": {"remoteJid": format!("{NUMBER}@s.whatsapp.net"), "fromMe": true, "id": "EV_ECHO"}, "message": {"conversation": "eco"}, "messageType": "conversation", "messageTimestamp": TS},
            {"key": {"remoteJid": "120363000000000000@g.us", "fromMe": false, "id": "EV_GROUP", "participant": "5548911112222@s.whatsapp.net"}, "message": {"conversation": "no grupo"}, "messageType": "conversation", "messageTimestamp": TS},
            {"key": {"remoteJid": "status@broadcast", "fromMe": false, "id": "EV_STATUS"}, "message": {"conversation": "status"}, "messageType": "conversation", "messageTimestamp": TS}
        ]),
    );
    let forgeries: Vec<(&str, Vec<(&str, String)>)> = vec![
        ("no token", vec![]),
        (
            "wrong token",
            vec![("x-webhook-token", "adivinhado".to_owned())],
        ),
        (
            "token in another header",
            vec![("authorization", format!("Bearer {WEBHOOK_TOKEN}"))],
        ),
    ];
    hook.assert_refused(&app, &batch, &forgeries).await;
    hook.deliver_twice(&app, "whatsapp_evolution", &batch).await;
    // An event of another instance sent to this inbox: acknowledged, ignored.
    let other = json!({"event": "messages.upsert", "instance": "outra-instancia",
        "data": upsert("EV_OTHER", json!({"conversation": "de outra instância"}), "conversation", TS)})
    .to_string()
    .into_bytes();
    assert_eq!(hook.post(&app.http, &other).await.status, 200);
    // Connection events carry no message.
    let conn = FakeEvolution::event(
        "connection.update",
        json!({"instance": INSTANCE, "state": "open", "statusReason": 200}),
    );
    assert_eq!(hook.post(&app.http, &conn).await.status, 200);

    let conv = app.one_conversation().await;
    let msgs = app.settled_messages(&conv).await;
    assert_eq!(app.conversations().await.len(), 1);
    assert_eq!(msgs.len(), 10, "{msgs:#?}");
    let text = by_provider_id(&msgs, "EV_TEXT");
    assert_eq!(text["text"], "Oi, estou sem internet");
    assert_eq!(
        text["sent_at"]
            .as_str()
            .unwrap()
            .parse::<jiff::Timestamp>()
            .unwrap()
            .as_second(),
        TS,
        "the provider's timestamp is kept"
    );
    assert_eq!(
        by_provider_id(&msgs, "EV_EXT")["text"],
        "Veja https://speedtest.net"
    );
    let btn = by_provider_id(&msgs, "EV_BTN");
    assert_eq!(
        (&btn["selected_option"], &btn["text"]),
        (&json!("boleto"), &json!("2ª via"))
    );
    assert_eq!(
        by_provider_id(&msgs, "EV_LIST")["selected_option"],
        "suporte"
    );
    let loc = by_provider_id(&msgs, "EV_LOC");
    assert_eq!(loc["location"]["longitude"], -48.548);
    assert_eq!(loc["text"], "Rua das Flores, 123");
    assert_eq!(
        by_provider_id(&msgs, "EV_CONTACT")["text"],
        "[contato] Maria: +55 48 98888-7777"
    );
    assert_eq!(
        by_provider_id(&msgs, "EV_POLL")["unsupported"],
        "pollCreationMessageV3"
    );
    let contacts = app.get("/api/v1/contacts").await;
    assert_eq!(contacts[0]["phone"], format!("+{NUMBER}"));
    assert_eq!(contacts[0]["name"], "Cliente Evolution");

    // Media: fetched through getBase64FromMediaMessage and served to operators.
    for (mid, kind) in [
        ("EV_IMG", "image"),
        ("EV_DOC", "document"),
        ("EV_AUDIO", "audio"),
    ] {
        let m = app
            .until(&format!("{mid} stored"), || async {
                let msgs = app.messages(&conv).await;
                let m = by_provider_id(&msgs, mid).clone();
                m["attachments"][0]["stored_path"]
                    .as_str()
                    .is_some()
                    .then_some(m)
            })
            .await;
        assert_eq!(m["attachments"][0]["kind"], kind);
        let (status, bytes) = app
            .get_bytes(&format!(
                "/api/v1/attachments/{}/0",
                m["id"].as_str().unwrap()
            ))
            .await;
        assert_eq!(status, 200);
        assert_eq!(bytes, format!("fake-media-{mid}").into_bytes());
    }
    assert_eq!(
        by_provider_id(&app.messages(&conv).await, "EV_IMG")["text"],
        "Foto do roteador"
    );

    // An @lid sender whose phone number comes in remoteJidAlt: the same contact.
    let lid = FakeEvolution::event(
        "messages.upsert",
        json!({"key": {"remoteJid": "112233445566778@lid", "remoteJidAlt": format!("{NUMBER}@s.whatsapp.net"), "addressingMode": "lid", "fromMe": false, "id": "EV_LID"},
            "pushName": "Cliente Evolution", "message": {"conversation": "Pelo LID"}, "messageType": "conversation", "messageTimestamp": TS + 20}),
    );
    assert_eq!(hook.post(&app.http, &lid).await.status, 200);
    let msgs = app.settled_messages(&conv).await;
    assert_eq!(by_provider_id(&msgs, "EV_LID")["text"], "Pelo LID");
    assert_eq!(app.conversations().await.len(), 1);

    // Statuses of our sends, applied only forward; ERROR marks the message failed.
    let out1 = app.send(&conv, json!({"text": "Vamos verificar."})).await;
    let m1 = app.until_status(&conv, &out1, "sent").await;
    let key1 = m1["provider_message_id"].as_str().unwrap().to_owned();
    let out2 = app
        .send(&conv, json!({"text": "Reinicie o roteador."}))
        .await;
    let m2 = app.until_status(&conv, &out2, "sent").await;
    let key2 = m2["provider_message_id"].as_str().unwrap().to_owned();
    let update = |key: &str, status: &str| {
        FakeEvolution::event(
            "messages.update",
            json!({"keyId": key, "remoteJid": format!("{NUMBER}@s.whatsapp.net"), "fromMe": true,
                "status": status, "instanceId": "0b9c-fake", "messageId": "cm-1"}),
        )
    };
    for s in ["READ", "DELIVERY_ACK"] {
        assert_eq!(hook.post(&app.http, &update(&key1, s)).await.status, 200);
    }
    assert_eq!(
        hook.post(&app.http, &update(&key2, "ERROR")).await.status,
        200
    );
    app.until_status(&conv, &out1, "read").await;
    app.until_status(&conv, &out2, "failed").await;
    app.drained().await;
    assert_eq!(app.message(&conv, &out1).await["delivery_status"], "read");
    assert!(
        app.message(&conv, &out2).await["delivery_error"]
            .as_str()
            .unwrap()
            .contains("ERROR")
    );
    app.stop().await;
}

#[tokio::test]
async fn evolution_jwt_webhook_credentials() {
    let app = start().await;
    let evo = FakeEvolution::start().await;
    let key = "chave-jwt-da-evolution-123";
    let mut settings = evo.settings();
    settings.as_object_mut().unwrap().remove("webhook_token");
    settings["webhook_jwt_key"] = json!(key);
    let id = app.inbox("whatsapp_evolution", settings).await;
    let now = jiff::Timestamp::now().as_second();
    let hook = Webhook::new(app.webhook_url("evolution", &id), move |_| {
        let t = prosa_channel_evolution::jwt::sign_evolution_jwt(key.as_bytes(), now, now + 600);
        vec![("authorization".to_owned(), format!("Bearer {t}"))]
    });
    let body = FakeEvolution::text_event(NUMBER, "EVJ1", "Oi com JWT");
    let sign = |k: &str, iat: i64, exp: i64| {
        format!(
            "Bearer {}",
            prosa_channel_evolution::jwt::sign_evolution_jwt(k.as_bytes(), iat, exp)
        )
    };
    let forgeries: Vec<(&str, Vec<(&str, String)>)> = vec![
        ("no token", vec![]),
        (
            "another key",
            vec![("authorization", sign("outra-chave", now, now + 600))],
        ),
        (
            "expired",
            vec![("authorization", sign(key, now - 7200, now - 3600))],
        ),
        (
            "issued in the future",
            vec![("authorization", sign(key, now + 3600, now + 4200))],
        ),
        (
            "not a JWT",
            vec![("authorization", "Bearer abc".to_owned())],
        ),
    ];
    hook.assert_refused(&app, &body, &forgeries).await;
    // A replay of a valid request: acknowledged, stored once.
    hook.deliver_twice(&app, "whatsapp_evolution", &body).await;
    let conv = app.one_conversation().await;
    assert_eq!(app.settled_messages(&conv).await.len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn evolution_outbound_menus_documents_and_errors() {
    let app = start().await;
    let evo = FakeEvolution::start().await;
    let id = app.inbox("whatsapp_evolution", evo.settings()).await;
    let hook = token_hook(app.webhook_url("evolution", &id));
    let hello = FakeEvolution::text_event(NUMBER, "EVO_HELLO", "Oi");
    assert_eq!(hook.post(&app.http, &hello).await.status, 200);
    let conv = app.one_conversation().await;
    let options = |n: usize| -> Vec<Value> {
        (1..=n)
            .map(|i| json!({"id": format!("op{i}"), "label": format!("Opção {i}")}))
            .collect()
    };

    // Buttons are off by default (WhatsApp Web buttons are fragile): a numbered text menu.
    let out = app
        .send(
            &conv,
            json!({"text": "Como posso ajudar?", "options": options(2)}),
        )
        .await;
    let m = app.until_status(&conv, &out, "sent").await;
    assert!(
        m["provider_message_id"]
            .as_str()
            .unwrap()
            .starts_with("3EB0FAKE")
    );
    let text = sends(&evo, "sendText").pop().unwrap();
    assert_eq!(text["number"], NUMBER);
    let t = text["text"].as_str().unwrap();
    assert!(t.contains("1. Opção 1\n2. Opção 2"), "{t}");

    // A document: sendMedia with the file's URL, name and the text as caption.
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
    let media = sends(&evo, "sendMedia").pop().unwrap();
    assert_eq!(media["mediatype"], "document");
    assert_eq!(media["fileName"], "fatura-123.pdf");
    assert_eq!(media["caption"], "Segue a sua fatura.");
    assert_eq!(media["media"], "https://erp.example.net/faturas/123.pdf");

    // With buttons on: up to 3 buttons, up to 10 list rows, beyond that the numbered menu.
    let mut settings = evo.settings();
    settings["kind"] = json!("whatsapp_evolution");
    settings["interactive"] = json!(true);
    let (status, v) = app
        .put(
            &format!("/api/v1/inboxes/{id}"),
            json!({"name": "Evolution", "channel": settings}),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    for (n, action) in [(3, "sendButtons"), (10, "sendList"), (11, "sendText")] {
        let out = app
            .send(
                &conv,
                json!({"text": format!("{n} opções"), "options": options(n)}),
            )
            .await;
        app.until_status(&conv, &out, "sent").await;
        let body = sends(&evo, action)
            .pop()
            .unwrap_or_else(|| panic!("{action}"));
        match action {
            "sendButtons" => assert_eq!(body["buttons"].as_array().unwrap().len(), 3),
            "sendList" => assert_eq!(body["sections"][0]["rows"].as_array().unwrap().len(), 10),
            _ => assert!(body["text"].as_str().unwrap().contains("11. Opção 11")),
        }
    }

    // A 5xx: retried, then sent.
    evo.push(Canned::error(500, json!(["Internal Server Error"])));
    let out = app.send(&conv, json!({"text": "Depois da falha"})).await;
    app.until_status(&conv, &out, "sent").await;
    assert_eq!(
        sends(&evo, "sendText")
            .iter()
            .filter(|b| b["text"] == "Depois da falha")
            .count(),
        2
    );
    // Too many requests (429 with Retry-After, Evolution's error shape): retried after the
    // time asked, then sent; twice in a row without a hint: backoff, then sent.
    evo.push(Canned::too_many_requests(Some(1)));
    let out = app.send(&conv, json!({"text": "Depois do limite"})).await;
    let m = app.until_status(&conv, &out, "sent").await;
    assert!(m["delivery_error"].is_null(), "{m}");
    let tries: Vec<std::time::Instant> = evo
        .requests()
        .iter()
        .filter(|r| r.path.contains("sendText") && r.json()["text"] == "Depois do limite")
        .map(|r| r.at)
        .collect();
    assert_eq!(tries.len(), 2);
    let gap = tries[1].duration_since(tries[0]);
    assert!(
        gap >= std::time::Duration::from_millis(990),
        "retried after {gap:?}"
    );
    evo.push(Canned::too_many_requests(None));
    evo.push(Canned::too_many_requests(None));
    let out = app.send(&conv, json!({"text": "Limite de novo"})).await;
    app.until_status(&conv, &out, "sent").await;
    assert_eq!(
        sends(&evo, "sendText")
            .iter()
            .filter(|b| b["text"] == "Limite de novo")
            .count(),
        3
    );
    assert_eq!(
        app.metric(
            "prosa_send_failures_total{channel=\"whatsapp_evolution\",reason=\"retry_later\"}"
        )
        .await,
        4.0,
        "the 500 and three 429s"
    );

    // A wrong API key: credentials broken, on the message and in the metrics.
    evo.push(Canned::error(401, json!("Unauthorized")));
    let out = app.send(&conv, json!({"text": "Chave errada"})).await;
    let m = app.until_status(&conv, &out, "failed").await;
    assert!(
        m["delivery_error"]
            .as_str()
            .unwrap()
            .contains("credentials"),
        "{m}"
    );
    assert_eq!(
        app.metric(
            "prosa_send_failures_total{channel=\"whatsapp_evolution\",reason=\"credentials\"}"
        )
        .await,
        1.0
    );

    // A number that is not on WhatsApp: unreachable.
    let ghost = FakeEvolution::text_event("0000123456", "EVO_GHOST", "Oi");
    assert_eq!(hook.post(&app.http, &ghost).await.status, 200);
    let ghost_conv = conversation_of(&app, "0000123456").await;
    let out = app.send(&ghost_conv, json!({"text": "Olá?"})).await;
    let m = app.until_status(&ghost_conv, &out, "failed").await;
    assert!(
        m["delivery_error"]
            .as_str()
            .unwrap()
            .contains("unreachable"),
        "{m}"
    );
    app.stop().await;
}
