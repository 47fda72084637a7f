//! Files an operator sends from the panel (`POST /api/v1/conversations/{id}/attachments`) reach
//! the subscriber on every provider channel: the outbox worker reads the kept file and each
//! adapter uploads the bytes to its provider's fake, in the provider's documented format. For
//! every kind: a PNG with a caption and a PDF arrive with the right bytes, type, name and
//! caption; the message shows as sent; a provider 429 is retried. Plus: a kept file that went
//! missing fails visibly, types a channel cannot carry are refused up front (422), and the
//! 24-hour window applies as it does to text.

mod support;

use base64::Engine;
use prosa_domain::message::{Attachment, MessageContent};
use prosa_domain::model::AuthorKind;
use serde_json::{Value, json};
use support::channels::{ChannelApp, Webhook, start, start_with};

/// A real 1×1 PNG.
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89\0\0\0\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\0\x05\0\x01\xff\x89\x99=\x1d\0\0\0\0IEND\xaeB`\x82";
const PDF: &[u8] = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n";
const GIF: &[u8] = b"GIF89a\x01\0\x01\0\x80\0\0\0\0\0\xff\xff\xff!\xf9\x04\x01\0\0\0\0,\0\0\0\0\x01\0\x01\0\0\x02\x02D\x01\0;";
const WEBP: &[u8] =
    b"RIFF\x1a\0\0\0WEBPVP8L\x0d\0\0\0\x2f\0\0\0\x10\x07\x10\x11\x11\x88\x88\xfe\x07\0";
const CAPTION: &str = "Segue o comprovante 👍";

fn b64(s: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .expect("base64")
}

/// The server, with no queue-position messages: only the operator's files reach the fakes.
async fn quiet(app: ChannelApp) -> ChannelApp {
    let (status, body) = app
        .put(
            "/api/v1/bot/settings",
            json!({"queue_position_delay_secs": 0}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    app
}

/// Uploads a file and waits until its message is sent; returns the message id.
async fn send_file(app: &ChannelApp, conv: &str, bytes: &[u8], query: &[(&str, &str)]) -> String {
    let (status, m) = app.attach(conv, bytes, query).await;
    assert_eq!(status, 201, "{m}");
    let id = m["id"].as_str().expect("id").to_owned();
    app.until_status(conv, &id, "sent").await;
    id
}

/// A message with a kept file that is not (or no longer) in the data folder.
async fn lost_file(app: &ChannelApp, conv: &str) -> String {
    let id = app
        .send_as(
            conv,
            AuthorKind::Agent,
            MessageContent {
                attachments: vec![Attachment {
                    kind: "image".into(),
                    file_name: Some("sumiu.png".into()),
                    mime_type: Some("image/png".into()),
                    stored_path: Some("media/upload-que-sumiu.png".into()),
                    url: None,
                    size: Some(10),
                }],
                ..MessageContent::default()
            },
        )
        .await;
    app.until_status(conv, &id, "failed").await;
    let m = app.message(conv, &id).await;
    assert!(
        m["delivery_error"]
            .as_str()
            .unwrap()
            .contains("sumiu.png unreadable"),
        "{m}"
    );
    id
}

// ------------------------------------------------------------------ WhatsApp Cloud

#[tokio::test]
async fn whatsapp_cloud_uploads_media_then_sends_it_by_id() {
    use prosa_channel_whatsapp_cloud::fake::{APP_SECRET, Canned, FakeWhatsApp};
    let app = quiet(start().await).await;
    let wa = FakeWhatsApp::start().await;
    let id = app.inbox("whatsapp_cloud", wa.settings()).await;
    let hook = Webhook::meta(app.webhook_url("whatsapp", &id), APP_SECRET);
    let hello = FakeWhatsApp::text_notification("5548988887777", "wamid.IN1", "Oi");
    assert_eq!(hook.post(&app.http, &hello).await.status, 200);
    let conv = app.one_conversation().await;

    let png = send_file(
        &app,
        &conv,
        PNG,
        &[("name", "comprovante.png"), ("caption", CAPTION)],
    )
    .await;
    let uploads = wa.uploads();
    assert_eq!(uploads.len(), 1);
    assert_eq!(uploads[0].bytes, PNG);
    assert_eq!(uploads[0].mime_type, "image/png");
    assert_eq!(uploads[0].part_type.as_deref(), Some("image/png"));
    assert_eq!(uploads[0].file_name.as_deref(), Some("comprovante.png"));
    let media_post = wa
        .requests()
        .into_iter()
        .find(|r| r.path.ends_with("/media"))
        .unwrap();
    assert_eq!(media_post.path, "/v23.0/106540352242922/media");
    assert_eq!(
        media_post.header("authorization"),
        Some("Bearer test-token")
    );
    let sent = |n: usize| {
        wa.requests()
            .into_iter()
            .filter(|r| r.path.ends_with("/messages"))
            .nth(n)
            .unwrap()
            .json()
    };
    let m = sent(0);
    assert_eq!(m["type"], "image");
    assert_eq!(m["to"], "5548988887777");
    assert_eq!(m["image"], json!({"id": uploads[0].id, "caption": CAPTION}));
    // Delivery receipts move the message on, as for text.
    let wamid = app.message(&conv, &png).await["provider_message_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let delivered = FakeWhatsApp::status_notification(&wamid, "delivered", None);
    assert_eq!(hook.post(&app.http, &delivered).await.status, 200);
    app.until_status(&conv, &png, "delivered").await;

    // Throttled on the upload: retried after the provider's Retry-After, then sent.
    wa.push(Canned::graph_error(429, 130429, "Rate limit hit").with_header("retry-after", "1"));
    send_file(&app, &conv, PDF, &[("name", "fatura março.pdf")]).await;
    assert_eq!(wa.uploads()[1].bytes, PDF);
    assert_eq!(wa.uploads()[1].mime_type, "application/pdf");
    let m = sent(1);
    assert_eq!(m["type"], "document");
    assert_eq!(
        m["document"],
        json!({"id": wa.uploads()[1].id, "filename": "fatura março.pdf"})
    );
    let media_posts = wa
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/media"))
        .count();
    assert_eq!(media_posts, 3, "the throttled upload was not retried");

    // A caption longer than WhatsApp's 1024 characters follows the file as its own text.
    let long = "a".repeat(1500);
    send_file(&app, &conv, PDF, &[("caption", long.as_str())]).await;
    assert!(sent(2)["document"].get("caption").is_none());
    assert_eq!(sent(3)["text"]["body"], long.as_str());

    // Types WhatsApp cannot show are refused before anything is stored or sent.
    for (bytes, what) in [(GIF, "gif"), (WEBP, "webp")] {
        let (status, body) = app.attach(&conv, bytes, &[]).await;
        assert_eq!(status, 422, "{what}: {body}");
        assert_eq!(body["field"], "file");
    }

    lost_file(&app, &conv).await;

    // Outside the 24-hour window a file needs the subscriber to write first.
    app.age_last_incoming(&conv, 25).await;
    let (status, m) = app.attach(&conv, PNG, &[]).await;
    assert_eq!(status, 201);
    let late = m["id"].as_str().unwrap();
    let m = app.until_status(&conv, late, "failed").await;
    assert!(
        m["delivery_error"]
            .as_str()
            .unwrap()
            .contains("needs template"),
        "{m}"
    );
    assert_eq!(
        wa.uploads().len(),
        3,
        "nothing is uploaded outside the window"
    );
    app.stop().await;
}

// ------------------------------------------------------------------ Telegram

#[tokio::test]
async fn telegram_sends_photos_and_documents_as_multipart() {
    use prosa_channel_telegram::fake::{Canned, FakeTelegram, SECRET_TOKEN};
    let tg = FakeTelegram::start().await;
    let app =
        quiet(start_with(|c| c.public_url = Some("https://prosa.example.net".into())).await).await;
    let id = app.inbox("telegram", tg.settings()).await;
    let url = app.webhook_url("telegram", &id);
    let hello = FakeTelegram::text_update(5001, 777, "Oi");
    let r = FakeTelegram::deliver(&app.http, &url, &hello, Some(SECRET_TOKEN))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let conv = app.one_conversation().await;

    let png = send_file(
        &app,
        &conv,
        PNG,
        &[("name", "comprovante.png"), ("caption", CAPTION)],
    )
    .await;
    let u = &tg.uploads()[0];
    assert_eq!(u.method, "sendPhoto");
    assert_eq!(u.field, "photo");
    assert_eq!(u.bytes, PNG);
    assert_eq!(u.content_type.as_deref(), Some("image/png"));
    assert_eq!(u.file_name.as_deref(), Some("comprovante.png"));
    assert_eq!(u.fields["chat_id"], 777);
    assert_eq!(u.fields["caption"], CAPTION);
    assert!(
        app.message(&conv, &png).await["provider_message_id"]
            .as_str()
            .unwrap()
            .starts_with("777:")
    );

    tg.push(Canned::too_many_requests(1));
    send_file(&app, &conv, PDF, &[("name", "fatura março.pdf")]).await;
    let u = &tg.uploads()[1];
    assert_eq!(u.method, "sendDocument");
    assert_eq!(u.field, "document");
    assert_eq!(u.bytes, PDF);
    assert_eq!(u.content_type.as_deref(), Some("application/pdf"));
    assert_eq!(u.file_name.as_deref(), Some("fatura março.pdf"));
    assert!(u.fields.get("caption").is_none());
    let attempts = tg
        .requests()
        .iter()
        .filter(|r| r.api_method.as_deref() == Some("sendDocument"))
        .count();
    assert_eq!(attempts, 2, "the throttled send was not retried");

    // GIFs go as documents (Telegram still animates them); a caption over 1024 characters
    // follows as a message of its own.
    let long = "b".repeat(1100);
    send_file(&app, &conv, GIF, &[("caption", long.as_str())]).await;
    let u = &tg.uploads()[2];
    assert_eq!(
        (u.method.as_str(), u.bytes.as_slice()),
        ("sendDocument", GIF)
    );
    assert!(u.fields.get("caption").is_none());
    let last = tg.requests().pop().unwrap();
    assert_eq!(last.api_method.as_deref(), Some("sendMessage"));
    assert_eq!(last.json()["text"], long.as_str());

    // Blocked by the subscriber: unreachable, not retried.
    tg.push(Canned::blocked());
    let (_, m) = app.attach(&conv, PNG, &[]).await;
    let m = app
        .until_status(&conv, m["id"].as_str().unwrap(), "failed")
        .await;
    assert!(
        m["delivery_error"].as_str().unwrap().contains("blocked"),
        "{m}"
    );

    lost_file(&app, &conv).await;
    app.stop().await;
}

// ------------------------------------------------------------------ Messenger and Instagram

#[tokio::test]
async fn messenger_uploads_with_the_send_api_and_instagram_through_attachment_ids() {
    use prosa_channel_messenger::fake::{APP_SECRET, Canned, FakeMeta, IG_ACCOUNT_ID, PAGE_ID};
    let app = quiet(start().await).await;
    let meta = FakeMeta::start().await;
    let messenger = app.inbox("messenger", meta.settings()).await;
    let hook = Webhook::meta(app.webhook_url("meta", &messenger), APP_SECRET);
    let hello = FakeMeta::text_event("page", PAGE_ID, "psid-1", "m_in1", "Oi");
    assert_eq!(hook.post(&app.http, &hello).await.status, 200);
    let conv = app.one_conversation().await;

    send_file(
        &app,
        &conv,
        PNG,
        &[("name", "comprovante.png"), ("caption", CAPTION)],
    )
    .await;
    let u = &meta.uploads()[0];
    assert_eq!(u.endpoint, "messages");
    assert_eq!(u.bytes, PNG);
    assert_eq!(u.content_type.as_deref(), Some("image/png"));
    assert_eq!(u.file_name.as_deref(), Some("comprovante.png"));
    assert_eq!(u.fields["recipient"], json!({"id": "psid-1"}));
    assert_eq!(u.fields["messaging_type"], "RESPONSE");
    assert_eq!(
        u.fields["message"],
        json!({"attachment": {"type": "image", "payload": {"is_reusable": true}}})
    );
    // Messenger attachments carry no caption: the text follows as a message.
    let last = meta.requests().pop().unwrap();
    assert_eq!(last.json()["message"], json!({"text": CAPTION}));

    meta.push(
        Canned::graph_error(
            429,
            613,
            0,
            "Calls to this api have exceeded the rate limit.",
        )
        .with_header("retry-after", "1"),
    );
    send_file(&app, &conv, PDF, &[("name", "fatura março.pdf")]).await;
    let u = &meta.uploads()[1];
    assert_eq!(u.bytes, PDF);
    assert_eq!(u.fields["message"]["attachment"]["type"], "file");
    // Meta refuses names that are not ASCII.
    assert_eq!(u.file_name.as_deref(), Some("fatura_marco.pdf"));
    let posts = meta
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/messages"))
        .count();
    assert_eq!(posts, 4, "hello text + png + throttled pdf + retried pdf");
    lost_file(&app, &conv).await;

    // Instagram: upload first (platform=instagram), then send the attachment id.
    let mut settings = meta.settings();
    settings["page_id"] = json!(IG_ACCOUNT_ID);
    let instagram = app.inbox("instagram", settings).await;
    let ig_hook = Webhook::meta(app.webhook_url("meta", &instagram), APP_SECRET);
    let hello = FakeMeta::text_event("instagram", IG_ACCOUNT_ID, "igsid-1", "m_ig1", "Oi");
    assert_eq!(ig_hook.post(&app.http, &hello).await.status, 200);
    let ig_conv = app
        .until("the instagram conversation", || async {
            app.conversations()
                .await
                .into_iter()
                .find(|c| c["id"].as_str() != Some(conv.as_str()))
                .map(|c| c["id"].as_str().unwrap().to_owned())
        })
        .await;
    for (bytes, name, kind) in [(PNG, "foto.png", "image"), (PDF, "contrato.pdf", "file")] {
        send_file(&app, &ig_conv, bytes, &[("name", name)]).await;
        let u = meta.uploads().pop().unwrap();
        assert_eq!(u.endpoint, "message_attachments");
        assert_eq!(u.fields["platform"], "instagram");
        assert_eq!(u.fields["message"]["attachment"]["type"], kind);
        assert_eq!(
            (u.bytes.as_slice(), u.file_name.as_deref()),
            (bytes, Some(name))
        );
        let sent = meta.requests().pop().unwrap();
        assert_eq!(sent.path, format!("/v23.0/{IG_ACCOUNT_ID}/messages"));
        assert_eq!(
            sent.json()["message"],
            json!({"attachment": {"type": kind, "payload": {"attachment_id": u.attachment_id}}})
        );
        assert_eq!(sent.json()["recipient"]["id"], "igsid-1");
    }
    // Instagram takes no WebP: refused up front.
    let (status, body) = app.attach(&ig_conv, WEBP, &[]).await;
    assert_eq!(status, 422, "{body}");
    assert!(body.to_string().contains("Instagram"), "{body}");

    // Past the 24-hour window a file from the API (not a person) needs a template, as text.
    app.age_last_incoming(&ig_conv, 30).await;
    let (_, m) = app.attach(&ig_conv, PNG, &[]).await;
    let m = app
        .until_status(&ig_conv, m["id"].as_str().unwrap(), "failed")
        .await;
    assert!(
        m["delivery_error"]
            .as_str()
            .unwrap()
            .contains("needs template"),
        "{m}"
    );
    app.stop().await;
}

// ------------------------------------------------------------------ Evolution

#[tokio::test]
async fn evolution_sends_media_as_base64() {
    use prosa_channel_evolution::fake::{Canned, FakeEvolution, INSTANCE};
    let app = quiet(start().await).await;
    let evo = FakeEvolution::start().await;
    let id = app.inbox("whatsapp_evolution", evo.settings()).await;
    let hook = Webhook::evolution(app.webhook_url("evolution", &id));
    let hello = FakeEvolution::text_event("5548988887777", "3EB0IN1", "Oi");
    assert_eq!(hook.post(&app.http, &hello).await.status, 200);
    let conv = app.one_conversation().await;
    let media = || -> Vec<Value> {
        evo.requests()
            .into_iter()
            .filter(|r| r.path == format!("/message/sendMedia/{INSTANCE}"))
            .map(|r| r.json())
            .collect()
    };

    send_file(
        &app,
        &conv,
        PNG,
        &[("name", "comprovante.png"), ("caption", CAPTION)],
    )
    .await;
    let b = media().pop().unwrap();
    assert_eq!(b["number"], "5548988887777");
    assert_eq!(b["mediatype"], "image");
    assert_eq!(b["mimetype"], "image/png");
    assert_eq!(b["fileName"], "comprovante.png");
    assert_eq!(b["caption"], CAPTION);
    assert_eq!(b64(b["media"].as_str().unwrap()), PNG);

    evo.push(Canned::too_many_requests(Some(1)));
    send_file(&app, &conv, PDF, &[("name", "fatura março.pdf")]).await;
    let all = media();
    assert_eq!(all.len(), 3, "the throttled send was not retried");
    let b = all.last().unwrap();
    assert_eq!(b["mediatype"], "document");
    assert_eq!(b["mimetype"], "application/pdf");
    assert_eq!(b["fileName"], "fatura março.pdf");
    assert!(b.get("caption").is_none());
    let recorded = evo.requests().pop().unwrap();
    assert_eq!(recorded.media_bytes().unwrap(), PDF);

    // A bad instance key: the credentials, not a retry.
    evo.push(Canned::error(401, json!("Unauthorized")));
    let (_, m) = app.attach(&conv, PNG, &[]).await;
    let m = app
        .until_status(&conv, m["id"].as_str().unwrap(), "failed")
        .await;
    assert!(
        m["delivery_error"]
            .as_str()
            .unwrap()
            .contains("credentials"),
        "{m}"
    );

    lost_file(&app, &conv).await;
    app.stop().await;
}

// ------------------------------------------------------------------ Bot Framework

#[tokio::test]
async fn botframework_sends_files_inline_as_data_uris() {
    use prosa_channel_botframework::fake::FakeBotFramework;
    let app = quiet(start().await).await;
    let bf = FakeBotFramework::start().await;
    let id = app.inbox("bot_framework", bf.settings()).await;
    let hook = Webhook::bot_framework(app.webhook_url("botframework", &id));
    let hello = bf
        .text_activity("act-1", "user-1", "Oi")
        .to_string()
        .into_bytes();
    assert_eq!(hook.post(&app.http, &hello).await.status, 200);
    let conv = app.one_conversation().await;
    let activities = || -> Vec<prosa_channel_botframework::fake::Recorded> {
        bf.requests()
            .into_iter()
            .filter(|r| r.method == "POST" && r.path.ends_with("/activities"))
            .collect()
    };

    send_file(
        &app,
        &conv,
        PNG,
        &[("name", "comprovante.png"), ("caption", CAPTION)],
    )
    .await;
    let a = activities().pop().unwrap();
    assert_eq!(a.json()["text"], CAPTION);
    assert_eq!(a.json()["recipient"]["id"], "user-1");
    assert_eq!(
        a.inline_files(),
        [(
            "image/png".to_owned(),
            Some("comprovante.png".to_owned()),
            PNG.to_vec()
        )]
    );

    bf.push(
        429,
        json!({"error": {"code": "TooManyRequests", "message": "slow down"}}),
        &[("retry-after", "1")],
    );
    send_file(&app, &conv, PDF, &[("name", "fatura março.pdf")]).await;
    let all = activities();
    assert_eq!(all.len(), 3, "the throttled send was not retried");
    assert_eq!(
        all[2].inline_files(),
        [(
            "application/pdf".to_owned(),
            Some("fatura março.pdf".to_owned()),
            PDF.to_vec()
        )]
    );
    lost_file(&app, &conv).await;
    app.stop().await;
}

// ------------------------------------------------------------------ API channel

#[tokio::test]
async fn api_channel_callbacks_carry_the_file_bytes() {
    let (cb, callback_url) = support::Callback::start().await;
    let app = quiet(start().await).await;
    let id = app
        .inbox(
            "api",
            json!({"secret": "segredo", "callback_url": callback_url}),
        )
        .await;
    let hook = Webhook::new(app.webhook_url("api", &id), |body| {
        vec![(
            "x-prosa-signature".to_owned(),
            support::sign("segredo", body),
        )]
    });
    let hello = json!({"message_id": "1", "from": {"id": "ana"}, "text": "Oi"});
    assert_eq!(
        hook.post(&app.http, hello.to_string().as_bytes())
            .await
            .status,
        200
    );
    let conv = app.one_conversation().await;

    send_file(
        &app,
        &conv,
        PNG,
        &[("name", "comprovante.png"), ("caption", CAPTION)],
    )
    .await;
    let body = cb.bodies().pop().unwrap();
    assert_eq!(body["text"], CAPTION);
    assert_eq!(body["to"], "ana");
    let a = &body["attachments"][0];
    assert_eq!(a["kind"], "image");
    assert_eq!(a["file_name"], "comprovante.png");
    assert_eq!(a["mime_type"], "image/png");
    assert_eq!(a["size"], PNG.len());
    assert_eq!(a["url"], Value::Null);
    assert_eq!(b64(a["data_base64"].as_str().unwrap()), PNG);
    // The callback is signed over the body that carries the bytes.
    let (headers, _) = cb.received.lock().unwrap().last().cloned().unwrap();
    assert!(
        headers["x-prosa-signature"]
            .to_str()
            .unwrap()
            .starts_with("sha256=")
    );

    cb.answers
        .lock()
        .unwrap()
        .push(reqwest::StatusCode::TOO_MANY_REQUESTS);
    send_file(&app, &conv, PDF, &[("name", "fatura março.pdf")]).await;
    let body = cb.bodies().pop().unwrap();
    assert_eq!(body["attachments"][0]["kind"], "document");
    assert_eq!(body["attachments"][0]["file_name"], "fatura março.pdf");
    assert_eq!(
        b64(body["attachments"][0]["data_base64"].as_str().unwrap()),
        PDF
    );
    assert_eq!(cb.answers.lock().unwrap().len(), 0, "the 429 was not met");
    lost_file(&app, &conv).await;
    app.stop().await;
}
